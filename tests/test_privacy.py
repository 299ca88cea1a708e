"""Leak gate, evaluation against gold spans, and the hand-written hold-out set."""

import io
import json
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from conftest import run_script
import yaml

from concord import deidentify as deid
from concord import privacy as pv
from concord.textnorm import fold
from concord.tsvio import InputError
from conftest import REPO, make_study, snakemake

HOLDOUT = REPO / "tests" / "data" / "deid_holdout"

ROSTER = pd.DataFrame(
    [["MOD", "S1", "MODERATOR", "Una Tamura", ""],
     ["P01", "S1", "Ilse", "Ilse Corrigan", "Ilsie"],
     ["P02", "S1", "Val", "Valentina Ruiz", "Val"],
     ["P03", "S1", "Speaker 3", "Hope Mitchell", ""]],
    columns=deid.ROSTER_COLUMNS)
KEYS = [{"session_id": "S1", "entries": [
    {"original": "Dr. Okafor", "replacement": "[NAME-1]", "type": "NAME"},
    {"original": "Okafor", "replacement": "[NAME-1]", "type": "NAME"},
    {"original": "47", "replacement": "[AGE]", "type": "AGE"},
    {"original": "(555) 123-4567", "replacement": "[PHONE]", "type": "PHONE"},
    {"original": "Ilse", "replacement": "P01", "type": "SPEAKER"},
    {"original": "2021", "replacement": "[ID]", "type": "ID"}]}]


def terms():
    return {t.text: t for t in pv.identifiers(ROSTER, KEYS)}


def test_identifiers_cover_roster_and_keys_but_not_ages_or_roles():
    got = terms()
    for name in ["Una Tamura", "Una", "Tamura", "Ilse Corrigan", "Ilsie", "Valentina Ruiz",
                 "Val", "Hope Mitchell", "Mitchell", "Dr. Okafor", "Okafor"]:
        assert got[name].type == "NAME", name
    assert got["(555) 123-4567"].type == "PHONE"
    assert "47" not in got                         # ages: bare numbers are everywhere
    assert "2021" not in got                       # digit-only strings < 5 digits
    assert "MODERATOR" not in got and "Speaker 3" not in got  # role labels
    # a common-word name is checked, but only where written as a name
    assert got["Hope"].cased and not got["Tamura"].cased and not got["Hope Mitchell"].cased


def test_common_words_come_from_word_lists_not_a_hand_list():
    words = ["Hope", "Will", "May", "Bill", "Trust", "Burden", "Chair", "Faith"]
    names = ["Carla", "Edwin", "John", "Okafor", "Szöllössy"]
    assert all(pv.is_common_word(w) for w in words)
    assert not any(pv.is_common_word(n) for n in names)


def _gate(roster=ROSTER, keys=KEYS, **kw):
    excl = kw.pop("excl", None)
    return pv.Gate(pv.identifiers(roster, keys, **kw), excl)


def _found(gate, text):
    return [text[s:e] for s, e, _ in gate.hits(text)]


def _uncased(terms):
    """The matcher's own behaviour, whatever the case rule says about a name."""
    return [pv.Term(t.text, t.type, t.source, False) for t in terms]


def test_matcher_is_folded_word_bounded_and_whitespace_tolerant():
    m = pv.Matcher(_uncased(pv.identifiers(ROSTER, KEYS)))
    text = "UNA  TAMURA said; una's turn. Unable, Valentine, Tamuras, call (555) 123-4567."
    hits = [(text[s:e], m.terms[i].text) for s, e, i in m.finditer(text)]
    assert hits == [("UNA  TAMURA", "Una Tamura"), ("una", "Una"),
                    ("(555) 123-4567", "(555) 123-4567")]


def test_gate_fails_on_a_common_word_name_at_a_sentence_start_not_on_the_word():
    roster = pd.DataFrame([["P01", "S1", "P01", "Hope Hill", "Will"]],
                          columns=deid.ROSTER_COLUMNS)
    gate = _gate(roster, [])
    text = ("Hope here again. I hope so; HOPE is a code. I will go. "
            "Will said it: ask Hope. Hope's turn.")
    assert _found(gate, text) == ["Hope", "Will", "Hope", "Hope"]


def test_gate_folds_apostrophes_and_accents():
    roster = pd.DataFrame([["P01", "S1", "P01", "Niamh O'Brien", ""],
                           ["P02", "S1", "P02", "José Ñúñez", ""]], columns=deid.ROSTER_COLUMNS)
    gate = _gate(roster, [])
    text = "Ask O’Brien or O‘Brien; JOSE NUNEZ and Jose\u00a0Nunez came. Obrien is not it."
    assert _found(gate, text) == ["O’Brien", "O‘Brien", "JOSE NUNEZ", "Jose\u00a0Nunez"]


def test_matcher_fast_path_finds_what_a_word_by_word_scan_finds():
    """Anchors located through set intersection on the folded text == every word
    looked up in turn (the oracle), on text with overlapping and adjacent names; ß
    keeps every offset."""
    m = pv.Matcher(_uncased(pv.identifiers(ROSTER, KEYS)))
    text = ("Una Tamura una tamura Tamura-Una; Dr.  Okafor met Okafor, VAL and Valentina Ruiz "
            "(Ilsie, Ilse Corrigan) at 9; valentina ruizx Una_Tamura unaTamura ")
    folded = pv.fold_keep_length(text)
    oracle = [(w.start(), w.group()) for w in pv._WORD.finditer(folded) if w.group() in m.anchors]
    positions, candidates = m._anchor_positions(folded)
    assert set(positions) <= set(oracle) and len(oracle) == 18
    assert list(m.finditer(text)) == list(m._resolve(folded, oracle, m.anchors))
    found = [text[s:e] for s, e, _ in m.finditer(text)]
    assert found == ["Una Tamura", "una tamura", "Tamura", "Una", "Dr.  Okafor", "Okafor",
                     "VAL", "Valentina Ruiz", "Ilsie", "Ilse Corrigan", "valentina",
                     "Una", "Tamura"]      # "_" separates words; "unaTamura" is one word
    sharp = "Straße: " + text
    assert [sharp[s:e] for s, e, _ in m.finditer(sharp)] == found


CODEBOOK = {"categories": ["humanistic"], "codes": [
    {"id": "TRUST", "name": "Trust in the care team"}, {"id": "BURDEN", "name": "Financial burden"},
    {"id": "HOPE", "name": "Hope"}]}


def test_gate_never_fires_on_code_ids_labels_roles_or_allow_terms():
    roster = pd.DataFrame(
        [["P01", "S1", "P01", "Trust Adeyemi", ""], ["P02", "S1", "P02", "Rowan Burden", ""],
         ["P03", "S1", "P03", "Hope Mitchell", ""], ["T", "S1", "Therapist", "Ann Lee", ""],
         ["C", "S1", "Client", "Bo Stone", ""], ["CH", "S1", "Chair", "Jane Hutt", ""]],
        columns=deid.ROSTER_COLUMNS)
    text = ("| TRUST | Trust in the care team | BURDEN | Financial Burden | Hope |\n"
            "Therapist: fine. Client: yes. Thank you, Chair. The chair said.")
    assert _found(_gate(roster, []), text) == ["Trust", "Burden", "Hope", "Chair"]  # unexcluded
    excl = pv.Exclusions.build(codebook=CODEBOOK, allow=["Chair"], roster=roster)
    assert _found(_gate(roster, [], excl=excl), text) == []
    # ... while the names themselves still fire outside those labels
    leak = "Trust said so. Burden agreed. Rowan Burden too. TRUST Adeyemi"
    assert _found(_gate(roster, [], excl=excl), leak) == ["Trust", "Burden", "Rowan Burden",
                                                           "TRUST Adeyemi"]


def test_gate_skips_the_bibliography_as_rendered_and_the_template(tmp_path):
    roster = pd.DataFrame([["P01", "S1", "P01", "Klaus Meyer", ""],
                           ["P02", "S1", "P02", "Ed Wilson", "Edwin"]], columns=deid.ROSTER_COLUMNS)
    refs = ("Krippendorff, Klaus. 2004. Content Analysis: An Introduction to Its Methodology. "
            "2nd ed. Thousand Oaks, CA: Sage. Wilson, Edwin B. 1927. Probable Inference.")
    html = f'<html><body><p>Text</p><div id="refs"><div class="csl-entry">{refs}</div></div>'
    text = "As Krippendorff, Klaus (2004) put it. " + refs + " Later Klaus told me. Edwin too."
    assert _found(_gate(roster, []), text) == ["Klaus", "Klaus", "Wilson", "Edwin", "Klaus",
                                             "Edwin"]
    excl = pv.Exclusions.build(fixed_files=[REPO / "workflow/report/references.bib"],
                               fixed_texts=[refs])
    assert _found(_gate(roster, [], excl=excl), text) == ["Klaus", "Edwin"]
    # the rendered references come from the HTML output's refs element
    (tmp_path / "m.html").write_text(html, encoding="utf-8")
    assert "Wilson, Edwin B." in pv.rendered_references(tmp_path / "m.html")


def test_decisions_and_deny_terms_are_searched_keep_decisions_are_not(tmp_path):
    (tmp_path / "deny.txt").write_text("# places\nHarbor Falls\tLOCATION\n@hopedelacroix\n")
    (tmp_path / "decisions.tsv").write_text(
        "session_id\ttext\ttype\tdecision\tnote\nS1\tKatie\tNAME\tredact\t\n"
        "*\tWales\tLOCATION\tkeep\tcountry\n")
    decisions = pv.read_decisions(tmp_path / "decisions.tsv")
    key = [{"entries": [{"original": "Wales", "type": "LOCATION"}]}]  # a detector found it
    terms = pv.identifiers(ROSTER, key, pv.read_deny(tmp_path / "deny.txt"), decisions)
    text = "Talk to Katie. Drives in from harbor falls. Follow @hopedelacroix. Wales is fine."
    assert _found(pv.Gate(terms), text) == ["Katie", "harbor falls", "@hopedelacroix", "Wales"]
    gate = pv.Gate(terms, pv.Exclusions.build(decisions=decisions))
    assert _found(gate, text) == ["Katie", "harbor falls", "@hopedelacroix"]
    (tmp_path / "bad.tsv").write_text("session_id\ttext\ttype\tdecision\nS1\tKatie\tNAME\tmaybe\n")
    with pytest.raises(InputError, match=r"bad\.tsv, line 2: column 'decision'") as exc:
        pv.read_decisions(tmp_path / "bad.tsv")
    assert "Katie" not in str(exc.value)


def _scan(path, roster=ROSTER, keys=KEYS):
    return pv.scan_file(path, path.name, _gate(roster, keys))


def test_scan_pdf_reads_the_page_text(tmp_path):
    """A name only in the PDF's text (compressed, glyph-encoded: not in its bytes) is
    found through pypdf's text extraction, with its page."""
    import typst
    roster = pd.DataFrame([["P01", "S1", "P01", "Niamh O'Brien", ""]], columns=deid.ROSTER_COLUMNS)
    (tmp_path / "m.typ").write_text("= Results\n\nA quote: ask O’Brien about it.\n\n#pagebreak()\n"
                                    "Second page, nobody.", encoding="utf-8")
    pdf = typst.compile(str(tmp_path / "m.typ"))
    assert b"Brien" not in pdf
    (tmp_path / "m.pdf").write_bytes(pdf)
    kind, _, hits = _scan(tmp_path / "m.pdf", roster, [])
    assert kind == "pdf"
    assert [(h.member, h.view, h.type, h.context) for h in hits] == [
        ("page 1", "pdf-text", "NAME", "Results A quote: ask [NAME] about it.")]


def test_scan_binary_reads_printable_runs_not_random_bytes(tmp_path):
    noise = bytes(range(128, 256)) * 4
    data = noise + b" Una " + noise + b"\n<< /Author (Interview notes by Una Tamura) >>\n" + noise
    path = tmp_path / "blob.bin"
    path.write_bytes(data)
    kind, _, hits = _scan(path)
    assert kind == "binary-partial"
    assert [(h.view, h.type) for h in hits] == [("printable", "NAME")]


def test_scan_docx_members_joins_runs_and_ignores_xml_names(tmp_path):
    # a name split over two runs, an attribute named w:val (not the alias "Val")
    xml = ('<w:document><w:p><w:r><w:rPr><w:b w:val="true"/></w:rPr><w:t>Met Dr. Oka'
           '</w:t></w:r><w:r><w:t>for</w:t></w:r></w:p></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("word/document.xml", xml)
        z.writestr("word/media/image1.png", b"\x89PNG\r\n\x1a\nTamura")
    (tmp_path / "m.docx").write_bytes(buf.getvalue())
    kind, n, hits = _scan(tmp_path / "m.docx")
    assert kind == "zip" and n == len(xml)
    assert [(h.member, h.view, h.type) for h in hits] == [
        ("word/document.xml", "markup-stripped", "NAME")]


def test_scan_html_text_entities_and_title_attributes_not_data_uris(tmp_path):
    html = ('<p class="val">O&#39;Brien</p><a title="said by Ilsie">x</a>'
            '<img src="data:image/png;base64,AAAA/Tamura+BBBB"/>')
    (tmp_path / "m.html").write_text(html, encoding="utf-8")
    kind, _, hits = _scan(tmp_path / "m.html")
    assert [(h.view, h.offset) for h in hits] == [("attributes", html.index("Ilsie"))]
    (tmp_path / "f.png").write_bytes(b"\x89PNG\r\n\x1a\nUna Tamura")
    assert _scan(tmp_path / "f.png") == ("image", 0, [])


def test_leak_check_reports_file_offset_type_and_a_masked_context(tmp_path):
    res = tmp_path / "results"
    (res / "deid").mkdir(parents=True)
    (res / "deid" / "S1.txt").write_text("P01\tI told ilse corrigan's nurse and Okafor.\n",
                                         encoding="utf-8")
    (res / "clean.tsv").write_text("a\tb\n1\t2\n", encoding="utf-8")
    table, hits = pv.leak_check(res, ROSTER, KEYS)
    assert list(table["file"]) == ["results/clean.tsv", "results/deid/S1.txt"]
    assert list(table["hits"]) == [0, 2]
    assert [(h.file, h.offset, h.type) for h in hits] == [("results/deid/S1.txt", 11, "NAME"),
                                                          ("results/deid/S1.txt", 37, "NAME")]
    assert hits[0].context == "P01 I told [NAME]'s nurse and [NAME]."
    msg = pv.leak_message(hits)
    assert "results/deid/S1.txt" in msg and "character 11" in msg and "NAME" in msg
    assert "[NAME]'s nurse" in msg and "concord deid show-leak" in msg
    assert "ilse" not in msg.lower() and "corrigan" not in msg.lower() and "okafor" not in msg.lower()


def test_scan_follows_symlinks_and_reads_logs(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "notes.txt").write_text("Una Tamura was there\n", encoding="utf-8")
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "linked").symlink_to(outside, target_is_directory=True)
    (tmp_path / "results" / "loop").symlink_to(tmp_path / "results", target_is_directory=True)
    (tmp_path / ".snakemake" / "log").mkdir(parents=True)
    (tmp_path / ".snakemake" / "log" / "run.log").write_text("speaker Ilsie unknown\n")
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "gate.log").write_text("Ilsie\n")
    table, hits = pv.scan_roots(tmp_path, ["results", "logs", ".snakemake/log"], _gate(),
                                exclude=[tmp_path / "logs" / "gate.log"])
    assert sorted({h.file for h in hits}) == [".snakemake/log/run.log",
                                              "results/linked/notes.txt"]


def test_quarantine_moves_leaking_files_and_show_leak_reads_the_original(tmp_path):
    res = tmp_path / "results" / "manuscript"
    res.mkdir(parents=True)
    (res / "m.html").write_text("<p>Thanks to Ilse Corrigan.</p>", encoding="utf-8")
    (res / "clean.txt").write_text("nothing here", encoding="utf-8")
    _, hits = pv.scan_roots(tmp_path, ["results"], _gate())
    moved = pv.quarantine(hits, tmp_path, tmp_path / "restricted" / "quarantine")
    assert moved == {"results/manuscript/m.html": "restricted/quarantine/results/manuscript/m.html"}
    assert not (res / "m.html").exists() and (res / "clean.txt").exists()
    q = tmp_path / "restricted" / "quarantine"
    assert (q.stat().st_mode & 0o777) == 0o700
    assert ((q / "results/manuscript/m.html").stat().st_mode & 0o777) == 0o600
    pv.write_leak_report(hits, moved, tmp_path / "results/privacy/leaks.tsv", q / "leaks.json")
    report = pd.read_csv(tmp_path / "results/privacy/leaks.tsv", sep="\t")
    assert report.loc[0, "context"] == "Thanks to [NAME]." and "Corrigan" not in report.to_csv()
    assert ((q / "leaks.json").stat().st_mode & 0o777) == 0o600
    assert "Thanks to Ilse Corrigan." in pv.show_leak(q / "leaks.json", 1)
    with pytest.raises(InputError, match="leak 2 does not exist"):
        pv.show_leak(q / "leaks.json", 2)


def test_removed_session_data_is_pruned(tmp_path):
    keys = tmp_path / "restricted" / "keys"
    keys.mkdir(parents=True)
    for s in ["S1", "S2", "study_lexicon"]:
        (keys / f"{s}.json").write_text("{}")
    (tmp_path / "restricted" / "review").mkdir()
    (tmp_path / "restricted" / "review" / "S2.tsv").write_text("x")
    res = tmp_path / "results"
    for f in ["deid/S1.txt", "deid/S2.txt", "deid/S2.redactions.tsv", "segments/S2.tsv",
              "deid/summary.tsv", "segments/S22.tsv"]:
        (res / f).parent.mkdir(parents=True, exist_ok=True)
        (res / f).write_text("x")
    removed = pv.prune_removed_sessions(["S1", "S22"], keys, res, tmp_path / "restricted/review")
    assert sorted(Path(p).relative_to(tmp_path).as_posix() for p in removed) == [
        "restricted/keys/S2.json", "restricted/review/S2.tsv", "results/deid/S2.redactions.tsv",
        "results/deid/S2.txt", "results/segments/S2.tsv"]
    assert (keys / "study_lexicon.json").exists() and (res / "segments/S22.tsv").exists()


def _review_study(tmp_path):
    study = tmp_path / "study"
    (study / "restricted" / "review").mkdir(parents=True)
    (study / "restricted" / "review" / "S1.tsv").write_text(
        "\t".join(pv.REVIEW_COLUMNS) + "\n"
        "S1-1\tS1\t4\t0\t4\tHope\tNAME\troster name, common word at sentence start\t"
        "Hope here again.\tredact\n"
        "S1-2\tS1\t9\t10\t15\tTrust\tNAME\troster token equals a code label\t"
        "I trust them. Trust is all.\tkeep\n", encoding="utf-8")
    return study


def test_review_cli_records_decisions_non_interactively(tmp_path, capsys):
    from concord import cli
    study = _review_study(tmp_path)
    assert cli.main(["deid", "review", str(study), "--list"]) == 0
    assert "2 candidate(s) pending of 2" in capsys.readouterr().out
    assert cli.main(["deid", "review", str(study), "--decide", "S1-1=redact"]) == 0
    dec = study / "restricted" / "decisions.tsv"
    assert (dec.stat().st_mode & 0o777) == 0o600
    assert (dec.parent.stat().st_mode & 0o777) == 0o700
    table = pv.read_decisions(dec)
    assert table[["session_id", "text", "type", "decision"]].values.tolist() == [
        ["S1", "Hope", "NAME", "redact"]]
    capsys.readouterr()
    assert cli.main(["deid", "review", str(study), "--list"]) == 0
    assert "1 candidate(s) pending of 2" in capsys.readouterr().out
    # a later decision replaces the earlier; --everywhere records '*'
    assert cli.main(["deid", "review", str(study), "--decide", "S1-2=keep", "--everywhere"]) == 0
    table = pv.read_decisions(dec)
    assert table[["session_id", "text", "decision"]].values.tolist() == [
        ["*", "Trust", "keep"], ["S1", "Hope", "redact"]]
    assert cli.main(["deid", "review", str(study), "--decide", "S9-9=keep"]) == 2
    assert cli.main(["deid", "review", str(study), "--decide", "S1-1=maybe"]) == 2


def test_review_cli_prompts(tmp_path, monkeypatch, capsys):
    from concord import cli
    study = _review_study(tmp_path)
    answers = iter(["x", "k", ""])   # unknown answer asks again; Enter = the suggestion
    monkeypatch.setattr("builtins.input", lambda prompt="": next(answers))
    assert cli.main(["deid", "review", str(study)]) == 0
    out = capsys.readouterr().out
    assert "(1/2) [S1-1] session S1, line 4: NAME 'Hope'" in out and "Hope here again." in out
    table = pv.read_decisions(study / "restricted" / "decisions.tsv")
    assert table[["text", "decision"]].values.tolist() == [["Hope", "keep"], ["Trust", "keep"]]


def test_decision_counts_register_for_the_methods(tmp_path):
    from concord.numbers import Fragment
    decisions = pd.DataFrame([["S1", "Hope", "NAME", "redact", ""], ["*", "Wales", "LOCATION",
                              "keep", ""], ["S2", "Katie", "NAME", "redact", ""]],
                             columns=pv.DECISION_COLUMNS)
    counts = pv.decision_counts(decisions)
    assert counts.values.tolist() == [["LOCATION", 0, 1, 1], ["NAME", 2, 0, 2], ["all", 2, 1, 3]]
    path = tmp_path / "decisions.tsv"
    counts.to_csv(path, sep="\t", index=False)
    frag = Fragment("deid_decisions")
    pv.register_decisions(frag, counts, path)
    assert frag.numbers["deid.review.redact"]["value"] == 2
    assert frag.numbers["deid.review.statement"]["display"] == (
        "A person reviewed 3 uncertain de-identification candidates: 2 redacted, 1 kept as "
        "not identifying.")
    empty = pv.decision_counts(pv.read_decisions(tmp_path / "absent.tsv"))
    assert empty.values.tolist() == [["all", 0, 0, 0]]


def test_evaluate_matching_rule():
    raw = "Dr. Okafor saw Tom Baker on May 3rd in Glenhaven."
    gold = pd.DataFrame([[4, 10, "NAME"], [15, 24, "NAME"], [28, 35, "DATE"],
                         [39, 48, "LOCATION"]], columns=["start", "end", "type"])
    # Okafor exact; Tom Baker only half; the date typed wrong; a false positive "saw"
    spans = [(4, 10, "NAME", "title"), (15, 18, "NAME", "kinship"),
             (28, 35, "ID", "x"), (39, 48, "LOCATION", "x"), (11, 14, "NAME", "x")]
    t = pv.evaluation_table({"g": pv.evaluate(gold, spans, raw)}).set_index("type")
    assert t.loc["NAME", ["gold", "hidden", "redactions", "correct"]].tolist() == [2, 1, 3, 2]
    assert t.loc["DATE", ["hidden", "typed"]].tolist() == [1, 0]
    assert t.loc["ID", ["redactions", "correct", "precision"]].tolist() == [1, 1, 1.0]
    assert t.loc["all", ["gold", "hidden", "redactions", "correct"]].tolist() == [4, 3, 5, 4]
    assert t.loc["all", "recall"] == pytest.approx(0.75)


def test_parse_marked():
    text, gold = pv.parse_marked("I'm [[NAME:Ann]], born [[DATE:May 3rd]].")
    assert text == "I'm Ann, born May 3rd."
    assert [(text[s:e], t) for s, e, t in gold.itertuples(index=False)] == [
        ("Ann", "NAME"), ("May 3rd", "DATE")]


def holdout_table():
    raw, gold = pv.parse_marked((HOLDOUT / "transcript.txt").read_text(encoding="utf-8"))
    roster = deid.load_roster(HOLDOUT / "roster.tsv")
    res = deid.deidentify_session(raw, roster, "H1", source="holdout")
    return pv.evaluation_table({"holdout": pv.evaluate(gold, res.raw_spans, raw)})


def test_holdout_recall_floor():
    """Sentences written by hand in forms the generator never produces. The floors are
    what the detectors measured on this set (not the targets); a drop fails."""
    t = holdout_table().set_index("type")
    assert t.loc["all", "gold"] >= 50
    assert t.loc["all", "recall"] >= HOLDOUT_FLOOR["all"]
    assert t.loc["NAME", "recall"] >= HOLDOUT_FLOOR["NAME"]
    assert t.loc["all", "precision"] >= 0.9


# measured: before any detector change prompted by this set, all 0.71, NAME 0.84;
# after adding address/ZIP/county/holiday/day-of-month/age>89/lowercase-title/
# "named X"/month-as-name detectors, all 0.870 (47/54), NAME 0.920 (23/25)
HOLDOUT_FLOOR = {"all": 0.87, "NAME": 0.92}


def test_evaluation_script_counts_only_and_registers_numbers(tmp_path, monkeypatch):
    """The deidentify script (a shard of one session) counts against the gold spans
    as it de-identifies; deid_evaluation sums the shards' counts."""
    raw, gold = pv.parse_marked((HOLDOUT / "transcript.txt").read_text(encoding="utf-8"))
    (tmp_path / "H1.txt").write_text(raw, encoding="utf-8")
    gold.insert(0, "session_id", "H1")
    gold.to_csv(tmp_path / "gold.tsv", sep="\t", index=False)
    out = tmp_path / "results"
    shard = out / "evaluation" / "H1.tsv"
    run_script("deidentify.py", monkeypatch,
               input=dict(gold=str(tmp_path / "gold.tsv"), transcripts=[str(tmp_path / "H1.txt")],
                          roster=str(HOLDOUT / "roster.tsv")),
               output=dict(texts=[str(out / "H1.txt")], redactions=[str(out / "H1.red.tsv")],
                           key_files=[str(tmp_path / "keys" / "H1.json")], evaluation=str(shard)),
               log=dict(log=str(tmp_path / "deid.log")),
               params=dict(sessions=["H1"], formats=["auto"], moderator_id="MOD", gazetteer=[],
                           names=[], codebook_terms=[], replacement="tags", date_shift=False,
                           study_id="t"))
    counts = pd.read_csv(shard, sep="\t")
    assert list(counts.columns) == pv.COUNT_COLUMNS and set(counts["session_id"]) == {"H1"}
    run_script("deid_evaluation.py", monkeypatch,
               input=dict(gold=str(tmp_path / "gold.tsv"), counts=[str(shard)]),
               output=dict(evaluation=str(out / "evaluation.tsv"),
                           numbers=str(out / "numbers.json")),
               log=dict(log=str(tmp_path / "eval.log")),
               params=dict(sessions=["H1"]))
    table = pd.read_csv(out / "evaluation.tsv", sep="\t").set_index("type")
    assert table.loc["all", "gold"] == len(gold) == 54
    assert table.loc["all", "hidden"] == holdout_table().set_index("type").loc["all", "hidden"]
    reg = json.loads((out / "numbers.json").read_text(encoding="utf-8"))
    assert reg["numbers"]["deid.eval.NAME.recall"]["value"] == table.loc["NAME", "recall"]
    assert "Against 54 gold identifier spans in 1 transcript," in \
        reg["numbers"]["deid.eval.statement"]["display"]
    for f in [shard, out / "evaluation.tsv", out / "numbers.json"]:  # counts only
        body = f.read_text(encoding="utf-8")
        assert "Castellanos" not in body and "Okonkwo" not in body


def test_gold_rows_are_checked_line_by_line(tmp_path):
    path = tmp_path / "gold.tsv"
    path.write_text("session_id\tstart\tend\ttype\nS1\t0\t4\tNAME\nS9\t5\t9\tNAME\n")
    assert len(pv.read_gold(path)) == 2
    with pytest.raises(InputError, match=r"gold.tsv, line 3: session 'S9' is not in the sessions"):
        pv.read_gold(path, ["S1"])
    path.write_text("session_id\tstart\tend\ttype\nS1\t0\t4\tNAME\nS1\tx\t9\tNAME\n")
    with pytest.raises(InputError, match=r"line 3: start/end must be character offsets"):
        pv.read_gold(path, ["S1"])
    path.write_text("session_id\tstart\tend\ttype\nS1\t4\t4\tNAME\n")
    with pytest.raises(InputError, match=r"line 2: start/end must be character offsets"):
        pv.read_gold(path, ["S1"])


# ---------------------------------------------------------------------------
# end to end on the mini study: the gate passes a clean run and fails a leak

@pytest.mark.workflow
def test_leak_gate_fails_the_run_quarantines_and_verify_fails(tmp_path, capsys):
    from concord import cli
    work = make_study(tmp_path / "mini")
    snakemake(work, "results/privacy/leak_check.tsv")
    report = pd.read_csv(work / "results/privacy/leak_check.tsv", sep="\t")
    files = set(report["file"])
    assert {"results/manuscript/manuscript.html", "results/manuscript/manuscript.docx",
            "results/manuscript/manuscript.pdf", "results/manuscript/numbers.json",
            "results/deid/M1.txt", "results/deid/evaluation.tsv"} <= files
    assert (report["hits"] == 0).all()
    assert report.loc[report["file"].str.endswith(".pdf"), "kind"].tolist() == ["pdf", "pdf"]
    assert (report.loc[report["file"].str.endswith(".png"), "kind"] == "image").all()
    numbers = (work / "results/deid/evaluation.numbers.json").read_text(encoding="utf-8")
    assert "not measured" in numbers  # the mini study has no gold spans
    log = (work / "logs/leak_check.log").read_text(encoding="utf-8")
    assert "0 hit(s)" in log and "under logs" in log

    # an author pastes a participant's name into the manuscript (typographic variant of a
    # roster name: "Carla Duarte" folded) and thanks "Ben" at a sentence start
    cfg_path = work / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    qmd = Path(cfg["manuscript"]["source"]).read_text(encoding="utf-8")
    (work / "leaky.qmd").write_text(qmd + "\n\nThanks to carla dúarte for her help. Ben read "
                                    "a draft.\n", encoding="utf-8")
    cfg["manuscript"]["source"] = str(work / "leaky.qmd")
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False), encoding="utf-8")
    proc = snakemake(work, "results/privacy/leak_check.tsv", check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert not (work / "results/privacy/leak_check.tsv").exists()
    log = (work / "logs/leak_check.log").read_text(encoding="utf-8")
    for f in ["manuscript.html", "manuscript.docx", "manuscript.pdf", "manuscript.qmd"]:
        assert f"results/manuscript/{f}" in log
        # moved out of results/ into the restricted quarantine
        assert not (work / "results/manuscript" / f).exists()
        assert (work / "restricted/quarantine/results/manuscript" / f).is_file()
    assert "Thanks to [NAME] for her help. [NAME] read a draft." in log
    assert "[NAME] for her help" in out          # the console shows the failed job's log
    assert "concord deid show-leak" in log
    leaks = pd.read_csv(work / "results/privacy/leaks.tsv", sep="\t")
    assert set(leaks["type"]) == {"NAME"} and "pdf-text" in set(leaks["view"])
    for text in (log, out, leaks.to_csv()):
        assert "duarte" not in text.lower() and "dúarte" not in text.lower()
        assert "Ben read" not in text
    # verify fails while the leak report exists; show-leak shows an original
    capsys.readouterr()
    assert cli.main(["verify", "--root", str(work)]) == 1
    assert "LEAK REPORT: results/privacy/leaks.tsv" in capsys.readouterr().out
    n = int(leaks.loc[leaks["file"] == "results/manuscript/manuscript.pdf", "leak"].iloc[0])
    assert cli.main(["deid", "show-leak", str(n), str(work)]) == 0
    shown = capsys.readouterr().out
    assert f"leak #{n}: NAME in results/manuscript/manuscript.pdf [page" in shown
    assert "carla duarte" in fold(shown)      # the original, for an authorised user


@pytest.mark.workflow
def test_a_failing_run_never_prints_a_roster_name(tmp_path):
    """A speaker label that is not in the roster (a name, as transcripts have them) stops
    the run; neither the console, logs/ nor .snakemake/log/ contains it."""
    work = make_study(tmp_path / "mini")
    t = work / "transcripts" / "M1.txt"
    t.write_text(t.read_text(encoding="utf-8") + "Rosalind Okoro: one more thing.\n",
                 encoding="utf-8")
    proc = snakemake(work, "results/deid/M1.txt", check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    for f in list((work / "logs").rglob("*")) + list((work / ".snakemake" / "log").rglob("*")):
        if f.is_file():
            text += f.read_text(encoding="utf-8", errors="replace")
    assert "speaker label #" in text and "is not in the roster" in text
    assert "Rosalind" not in text and "Okoro" not in text


def _gate_study(tmp_path):
    """A study folder with outputs, as the leak_check rule sees it (cwd = study)."""
    s = tmp_path / "study"
    (s / "restricted" / "keys").mkdir(parents=True)
    (s / "restricted" / "roster.tsv").write_text(
        "participant_id\tsession_id\tspeaker_label\tfull_name\taliases\n"
        "P01\tS1\tFaith\tFaith Hill\t\nP02\tS1\tTherapist\tAnn Lee\t\n", encoding="utf-8")
    for sid in ["S1", "S2"]:   # S2 was removed from the study
        (s / "restricted" / "keys" / f"{sid}.json").write_text(json.dumps(
            {"session_id": sid, "entries": [{"original": "Harbor Falls", "type": "LOCATION"}]}))
    (s / "codebook.yaml").write_text(yaml.safe_dump(CODEBOOK), encoding="utf-8")
    (s / "restricted" / "allow.txt").write_text("Chair\n", encoding="utf-8")
    (s / "template.qmd").write_text("# Faith and milestones\n\nProse.\n", encoding="utf-8")
    for f, text in {"results/deid/S1.txt": "P01\tI have faith. Therapist: ok. TRUST\n",
                    "results/deid/S2.txt": "P09\tFaith Hill here\n",
                    "results/manuscript/m.html": "<h1>Faith and milestones</h1><p>Trust</p>",
                    "results/privacy/leaks.tsv": "stale\n", "logs/x.log": "fine\n"}.items():
        (s / f).parent.mkdir(parents=True, exist_ok=True)
        (s / f).write_text(text, encoding="utf-8")
    return s


def _run_gate(s, monkeypatch):
    monkeypatch.chdir(s)
    run_script("leak_check.py", monkeypatch,
               input=dict(roster="restricted/roster.tsv", key_files=["restricted/keys/S1.json"],
                          documents=["results/manuscript/m.html"], codebook="codebook.yaml",
                          template=["template.qmd"], allow="restricted/allow.txt"),
               output=dict(report="results/privacy/leak_check.tsv"),
               log=dict(log="logs/leak_check.log"),
               params=dict(results_dir="results", roots=["results", "logs", ".snakemake/log"],
                           leaks="results/privacy/leaks.tsv", quarantine="restricted/quarantine",
                           sessions=["S1"], keys_dir="restricted/keys",
                           review_dir="restricted/review"))
    sys.stderr.flush()     # the script's log (the process would close it on exit)


def test_gate_script_prunes_removed_sessions_and_passes_a_clean_study(tmp_path, monkeypatch):
    s = _gate_study(tmp_path)
    _run_gate(s, monkeypatch)
    assert not (s / "results/deid/S2.txt").exists()            # removed session's data
    assert not (s / "restricted/keys/S2.json").exists()
    assert not (s / "results/privacy/leaks.tsv").exists()      # stale report gone
    report = pd.read_csv(s / "results/privacy/leak_check.tsv", sep="\t")
    assert list(report["file"]) == ["results/deid/S1.txt", "results/manuscript/m.html"]
    assert (report["hits"] == 0).all()
    log = (s / "logs/leak_check.log").read_text(encoding="utf-8")
    assert "removed 2 file(s)" in log and "0 hit(s)" in log


def test_gate_script_fails_and_quarantines_on_a_leak(tmp_path, monkeypatch):
    s = _gate_study(tmp_path)
    (s / "results/quotes.tsv").parent.mkdir(exist_ok=True)
    (s / "results/quotes.tsv").write_text("Q1\tFaith here again. Drives in from Harbor Falls.\n")
    with pytest.raises(pv.LeakError) as exc:
        _run_gate(s, monkeypatch)
    msg = str(exc.value)
    assert "[NAME] here again. Drives in from [LOCATION]." in msg
    assert "Faith here" not in msg and "Harbor" not in msg
    assert not (s / "results/quotes.tsv").exists()
    assert (s / "restricted/quarantine/results/quotes.tsv").exists()
    assert not (s / "results/privacy/leak_check.tsv").exists()
    assert len(pd.read_csv(s / "results/privacy/leaks.tsv", sep="\t")) == 2


FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.mark.skipif(not (FIXTURES / "webvtt").is_dir(), reason="../shared/fixtures absent")
def test_a_real_webvtt_voice_not_in_the_roster_is_not_echoed():
    """The W3C spec example (vtt.js fixture): its <v Roger Bingham> voice is not in this
    roster; the error names file, line and the label's ordinal, never the voice."""
    from concord import transcripts as T
    path = FIXTURES / "webvtt" / "mozilla_vttjs_spec-example.vtt"
    with pytest.raises(InputError, match=r"line 4: voice #1 of this file is "
                                         r"not in the roster") as exc:
        T.parse(T.read_raw(path), {"Neil"}, str(path), "webvtt")
    assert "Roger" not in str(exc.value) and "Bingham" not in str(exc.value)


def test_fast_fold_equals_textnorm():
    from concord.textnorm import fold_keep_length
    for s in ["".join(chr(i) for i in range(128)), "O’Brien José Ñúñez Straße ǅ İ ﬁ ‐ \u00a0x"]:
        assert pv.fold_keep_length(s) == fold_keep_length(s)
