"""A study is a folder: `concord init`, `concord run`, schema defaults, coding in stages
and codings bound to the de-identified text (concord/scaffold.py, concord/stages.py)."""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from concord import cli, refiqda, scaffold, stages, studyconfig
from concord.tsvio import InputError, read_tsv, write_tsv

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "workflow" / "schemas" / "config.schema.yaml"

# Three short hand-written transcripts of three formats (names are invented).
LABELLED = """\
Moderator: Welcome, everyone. Tell me about your week at school.
Hannah Okafor: Honestly we never have enough time to plan lessons. I felt rushed every day.
Tomasz: The deadlines keep moving and there is no time to mark properly.
Moderator: Who helps you when it gets difficult?
Hannah Okafor: My colleagues really supported me when Tomasz was away in Leeds.
Tomasz: The head teacher helped a lot, she was very supportive with the timetable.
"""

WEBVTT = """\
WEBVTT

1
00:00:01.000 --> 00:00:05.000
<v Facilitator>Good morning. What makes the job hard at the moment?</v>

2
00:00:05.500 --> 00:00:12.000
<v Speaker 1>We are always short of time. Marking takes every evening and the deadlines never stop.</v>

3
00:00:12.500 --> 00:00:18.000
<v Priya Raman>I agree. Nobody supported me in my first year and I felt very alone with it.</v>

4
00:00:18.500 --> 00:00:24.000
<v Speaker 1>My mentor helped me a lot though. Without her support I would have left teaching.</v>
"""

DOCX_TURNS = [
    ("Interviewer", "Thank you for coming. How do you support your children with homework?"),
    ("Grace Mbeki", "I help my son every evening but there is never enough time after work."),
    ("Ollie", "The school supported us with a homework club, which helped a great deal."),
    ("Grace Mbeki", "We feel rushed in the mornings and the deadlines for projects are tight."),
]


def write_docx(path: Path, turns) -> None:
    import docx
    doc = docx.Document()
    for label, text in turns:
        p = doc.add_paragraph()
        p.add_run(label).bold = True
        p.add_run(f": {text}")
    doc.save(str(path))


@pytest.fixture()
def transcripts(tmp_path) -> list[Path]:
    src = tmp_path / "raw"
    src.mkdir()
    (src / "teachers_tuesday.txt").write_text(LABELLED, encoding="utf-8")
    (src / "teachers_teams.vtt").write_text(WEBVTT, encoding="utf-8")
    write_docx(src / "parents.docx", DOCX_TURNS)
    return [src / "teachers_tuesday.txt", src / "teachers_teams.vtt", src / "parents.docx"]


NAMES = ["Hannah Okafor", "Tomasz", "Priya Raman", "Speaker 1", "Grace Mbeki", "Ollie"]


def test_init_writes_a_study_folder_and_prints_no_label(tmp_path, transcripts, capsys):
    study = tmp_path / "teachers"
    assert cli.main(["init", str(study), "--transcripts", *map(str, transcripts)]) == 0
    out = capsys.readouterr()
    for label in NAMES + ["Moderator", "Facilitator", "Interviewer"]:
        assert label not in out.out + out.err
    assert "3 session(s)" in out.out and "1 docx, 1 labelled, 1 webvtt" in out.out
    assert "Note: 1 speaker label(s) also occur as words" in out.out  # "... when Tomasz was away"

    for f in ("config/config.yaml", "config/sessions.tsv", "config/participants.tsv",
              "config/codebook.yaml", "config/coders.tsv", ".gitignore", "README.md",
              "restricted/roster.tsv"):
        assert (study / f).is_file(), f
    assert stat.S_IMODE((study / "restricted").stat().st_mode) == 0o700
    assert stat.S_IMODE((study / "restricted" / "roster.tsv").stat().st_mode) == 0o600
    for t in (study / "restricted" / "transcripts").iterdir():
        assert stat.S_IMODE(t.stat().st_mode) == 0o600
    assert "/restricted/" in (study / ".gitignore").read_text()

    sessions = read_tsv(study / "config" / "sessions.tsv")
    assert list(sessions["session_id"]) == ["S01", "S02", "S03"]
    assert list(sessions["format"]) == ["labelled", "webvtt", "docx"]
    for t in sessions["transcript"]:  # copied, renamed: file names may hold names too
        assert t.startswith("restricted/transcripts/S0") and (study / t).is_file()
    roster = read_tsv(study / "restricted" / "roster.tsv")
    assert sorted(roster["speaker_label"]) == sorted(NAMES + ["Moderator", "Facilitator",
                                                              "Interviewer"])
    assert set(roster.loc[roster["speaker_label"].isin(
        ["Moderator", "Facilitator", "Interviewer"]), "participant_id"]) == {"MOD"}
    parts = read_tsv(study / "config" / "participants.tsv")
    assert list(parts["participant_id"]) == ["P01", "P02", "P03", "P04", "P05", "P06"]
    # a label that is a name is the first guess of the name; a generic one is marked
    by_label = dict(zip(roster["speaker_label"], roster["full_name"]))
    assert by_label["Priya Raman"] == "Priya Raman"
    assert by_label["Speaker 1"].startswith("FILL-IN-S02-")
    assert read_tsv(study / "config" / "coders.tsv").empty
    cfg = yaml.safe_load((study / "config" / "config.yaml").read_text())
    assert cfg["study"]["synthetic"] is False and cfg["study"]["id"] == "teachers"
    book = yaml.safe_load((study / "config" / "codebook.yaml").read_text())
    assert all(c["id"].startswith("EXAMPLE_") for c in book["codes"])
    # valid as written: one group (nothing compared between groups) until the user
    # declares more
    assert len(cfg["groups"]) == 1
    studyconfig.validate_config(cfg, SCHEMA, source="config/config.yaml")
    cfg["groups"].append({"id": "group2", "label": "B"})
    studyconfig.validate_config(cfg, SCHEMA)
    # unstated metadata is commented out (reads "not reported"), never placeholder text;
    # the design is written as suggested by the speakers (each of the three sessions has
    # a moderator and two participant speakers: a dyad design)
    assert set(yaml.safe_load((study / "config" / "config.yaml").read_text())["study"]) == {
        "id", "title", "synthetic", "design"}
    assert cfg["study"]["design"] == "dyad" and "Design: dyad (every session has two" in out.out


def test_a_placeholder_left_by_init_stops_the_run_naming_file_line_and_key(tmp_path, transcripts):
    study = tmp_path / "teachers"
    scaffold.init_study(study, transcripts)
    cfg_path, book_path = study / "config" / "config.yaml", study / "config" / "codebook.yaml"
    cfg = studyconfig.validate_config(yaml.safe_load(cfg_path.read_text()), SCHEMA)
    book = yaml.safe_load(book_path.read_text())
    with pytest.raises(InputError) as err:
        studyconfig.check_placeholders(cfg, book, cfg_path, book_path)
    msg = str(err.value)
    lines = cfg_path.read_text().splitlines()
    title_line = next(n for n, t in enumerate(lines, 1) if t.strip().startswith("title:"))
    label_line = next(n for n, t in enumerate(lines, 1) if t.strip().startswith("label:"))
    assert f"{cfg_path}, lines {title_line}, {label_line}: study.title, groups.0.label" in msg
    assert "codes.0.definition, codes.1.definition" in msg and str(book_path) in msg
    # what a user does: state the title and labels, write the codes; uncomment nothing
    cfg_path.write_text(cfg_path.read_text().replace('"TO FILL IN: the study\'s title"', "Time")
                        .replace('"TO FILL IN: group label"', "Teachers"))
    with pytest.raises(InputError) as err:  # the codebook still holds the examples
        studyconfig.check_placeholders(yaml.safe_load(cfg_path.read_text()), book, cfg_path,
                                       book_path)
    assert str(cfg_path) not in str(err.value)
    book_path.write_text(book_path.read_text().replace("TO FILL IN (example code). ", "")
                         .replace("TO FILL IN: codebook title", "Time and support"))
    studyconfig.check_placeholders(yaml.safe_load(cfg_path.read_text()),
                                   yaml.safe_load(book_path.read_text()), cfg_path, book_path)
    # a metadata value left as placeholder text is caught too (older init versions)
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["study"]["recruitment"] = "TO FILL IN: how participants were approached"
    with pytest.raises(InputError, match=r"study\.recruitment"):
        studyconfig.check_placeholders(cfg, yaml.safe_load(book_path.read_text()), "c.yaml",
                                       book_path)


def test_the_checklist_reads_not_reported_for_metadata_init_left_commented_out(tmp_path,
                                                                                 transcripts):
    from concord import manuscript
    study = tmp_path / "teachers"
    scaffold.init_study(study, transcripts)
    cfg = yaml.safe_load((study / "config" / "config.yaml").read_text())
    checklist = yaml.safe_load((REPO / "workflow" / "report" / "coreq.yaml").read_text())
    table = manuscript.checklist_markdown(checklist, cfg)
    rows = {int(r.split("|")[1]): r for r in table.splitlines() if r.startswith("| ")
            and r.split("|")[1].strip().isdigit()}
    for n in (1, 11, 14):  # facilitators, recruitment, setting: commented out by init
        assert rows[n].split("|")[3].strip() == "not reported", rows[n]
    assert "TO FILL IN" not in table


def test_init_refuses_an_existing_study_and_a_missing_file(tmp_path, transcripts):
    study = tmp_path / "s"
    scaffold.init_study(study, transcripts)
    with pytest.raises(InputError, match="already exists"):
        scaffold.init_study(study, transcripts)
    with pytest.raises(InputError, match="not found"):
        scaffold.init_study(tmp_path / "t", [tmp_path / "nope.txt"])
    assert not (tmp_path / "t").exists()  # nothing written on error


def test_run_command_uses_the_study_folder_and_its_config_alone(tmp_path):
    cmd = cli.run_command(tmp_path, ["--dry-run"])
    assert cmd[:3] == [sys.executable, "-m", "snakemake"]
    assert cmd[cmd.index("--directory") + 1] == str(tmp_path.resolve())
    assert cmd[cmd.index("--configfile") + 1] == str(tmp_path.resolve() / "config" / "config.yaml")
    assert cmd[cmd.index("--snakefile") + 1] == str(REPO / "Snakefile")
    assert "--cores" not in cmd
    assert cli.run_command(tmp_path, [])[-2:] == ["--cores", "all"]
    assert cli.run_command(tmp_path, ["-c4"])[-1] == "-c4"


def _minimal():
    return {"study": {"id": "x", "title": "T", "synthetic": False},
            "groups": [{"id": "a", "label": "A"}, {"id": "b", "label": "B"}],
            "sessions": "s.tsv", "participants": "p.tsv", "codebook": "c.yaml"}


def test_schema_fills_every_default_and_names_a_missing_key():
    cfg = studyconfig.validate_config(_minimal(), SCHEMA)
    assert cfg["deidentify"] == {"roster": "restricted/roster.tsv", "keys_dir": "restricted/keys",
                                 "moderator_id": "MOD", "study_lexicon": False,
                                 "gazetteer": [], "names": [],
                                 "replacement": "tags", "date_shift": False,
                                 "review_dir": "restricted/review",
                                 "decisions": "restricted/decisions.tsv",
                                 "allow": "restricted/allow.txt", "deny": "restricted/deny.txt"}
    assert "gold" not in cfg["deidentify"]  # absent = no evaluation, never the demo's file
    assert cfg["code"]["consensus"] == {"method": "majority"} and cfg["code"]["min_overlap"] == 0.5
    assert cfg["code"]["coders"] == ["C1", "C2"]
    assert cfg["agreement"]["thresholds"] == {"reliable": 0.8, "tentative": 0.667}
    assert cfg["concordance"]["coder"] == "consensus"
    assert cfg["concordance"]["saturation"] == {"base": 4, "run": 2, "threshold": 0.05}
    assert cfg["segment"]["unit"] == "sentence" and cfg["manuscript"]["formats"] == ["html", "docx", "pdf"]
    assert "source" not in cfg["manuscript"]  # resolved against the repository (common.smk)
    for key in ("codebook", "sessions", "participants", "groups", "study"):
        cfg = _minimal()
        del cfg[key]
        with pytest.raises(InputError, match=rf"key '{key}' is required"):
            studyconfig.validate_config(cfg, SCHEMA, source="my.yaml")
    cfg = _minimal()
    del cfg["study"]["title"]
    with pytest.raises(InputError, match=r"my.yaml: key 'study.title' is required"):
        studyconfig.validate_config(cfg, SCHEMA, source="my.yaml")


def test_the_demo_config_is_complete_on_its_own():
    cfg = yaml.safe_load((REPO / "config" / "config.yaml").read_text(encoding="utf-8"))
    studyconfig.validate_config(cfg, SCHEMA)


# ------------------------------------------------------------------ binding

TEXT = "MOD: Hello.\nP01: We never have enough time.\n"


def _segments():
    return pd.DataFrame({"segment_id": ["S1-T0002-S01"], "session_id": ["S1"], "start": [17],
                         "end": [44], "participant_id": ["P01"], "speaker_id": ["P01"]})


def test_span_and_qdpx_codings_are_checked_against_the_text_sha(tmp_path):
    cur = {"S1": stages.sha256_text(TEXT)}
    book = yaml.safe_load(scaffold.CODEBOOK_TEMPLATE)
    qdpx = tmp_path / "C1.qdpx"
    qdpx.write_bytes(refiqda.project_to_qdpx("x", "T", book, {"S1": TEXT}, _segments(),
                                             pd.DataFrame([("S1-T0002-S01", "C1", "EXAMPLE_TIME")],
                                                          columns=["segment_id", "coder", "code"])))
    assert refiqda.validate(__import__("zipfile").ZipFile(qdpx).read("project.qde"), "project") == []
    span = pd.DataFrame({"session_id": ["S1"], "start": ["17"], "end": ["30"],
                         "code": ["EXAMPLE_TIME"], stages.SHA_COLUMN: [cur["S1"]]})
    sheet = pd.DataFrame({"coder": ["C1", "C2"], "session_id": ["S1", "S1"],
                          "path": [str(qdpx), "c2.tsv"]})
    tables = {str(qdpx): None, "c2.tsv": span}
    stages.check_bound(sheet, tables, cur)  # same text: fine
    changed = {"S1": stages.sha256_text(TEXT.replace("time", "[NAME-1]"))}
    with pytest.raises(InputError, match=r"the de-identified text of session S1 changed since "
                                         r"coder C1's file was made .*re-export"):
        stages.check_bound(sheet, tables, changed)
    with pytest.raises(InputError, match="coder C2's file"):
        stages.check_bound(sheet.iloc[[1]], tables, changed)
    with pytest.raises(InputError, match=r"c2.tsv, line 1: a span file .* needs a text_sha256"):
        stages.check_bound(sheet.iloc[[1]], {"c2.tsv": span.drop(columns=[stages.SHA_COLUMN])},
                           cur)
    # segment files: checked when they carry the column, accepted without it
    seg = pd.DataFrame({"segment_id": ["S1-T0002-S01"], "code": ["EXAMPLE_TIME"]})
    stages.check_bound(sheet.iloc[[1]], {"c2.tsv": seg}, changed)


def test_qdpx_import_writes_the_text_sha(tmp_path):
    book = yaml.safe_load(scaffold.CODEBOOK_TEMPLATE)
    qdpx = tmp_path / "C1.qdpx"
    qdpx.write_bytes(refiqda.project_to_qdpx(
        "x", "T", book, {"S1": TEXT}, _segments(),
        pd.DataFrame([("S1-T0002-S01", "C1", "EXAMPLE_TIME")], columns=["segment_id", "coder", "code"])))
    out = tmp_path / "c1.tsv"
    assert cli.main(["qdpx", "import", str(qdpx), "--out", str(out)]) == 0
    spans = read_tsv(out)
    assert list(spans[stages.SHA_COLUMN]) == [stages.sha256_text(TEXT)]


# ------------------------------------------------------------------ end to end

def _fill_in(study: Path) -> None:
    """What a user does after init: names in the roster, groups, metadata."""
    roster = read_tsv(study / "restricted" / "roster.tsv")
    roster.loc[roster["speaker_label"] == "Speaker 1", "full_name"] = "Daniel Whitfield"
    roster.loc[roster["speaker_label"] == "Tomasz", "full_name"] = "Tomasz Nowak"
    roster.loc[roster["speaker_label"] == "Moderator", "full_name"] = "Ruth Calloway"
    roster.loc[roster["speaker_label"] == "Facilitator", "full_name"] = "Ruth Calloway"
    roster.loc[roster["speaker_label"] == "Interviewer", "full_name"] = "Ruth Calloway"
    write_tsv(roster, study / "restricted" / "roster.tsv")
    groups = {"S01": "teachers", "S02": "teachers", "S03": "parents"}
    for sheet in ("sessions", "participants"):
        df = read_tsv(study / "config" / f"{sheet}.tsv")
        df["group"] = df["session_id"].map(groups)
        write_tsv(df, study / "config" / f"{sheet}.tsv")
    cfg = yaml.safe_load((study / "config" / "config.yaml").read_text())
    cfg["study"].update(title="Time and support in schools", research_question="What helps?",
                        setting="Two schools, online and in person", dates="2025",
                        recruitment="Staff and parents invited by e-mail",
                        facilitators="One education researcher")
    cfg["groups"] = [{"id": "teachers", "label": "Teachers", "stakeholder": "teachers"},
                     {"id": "parents", "label": "Parents", "stakeholder": "parents"}]
    cfg["agreement"] = {"bootstrap": 50}
    cfg["concordance"] = {"bootstrap": 50, "permutations": 200}
    cfg["manuscript"] = {"formats": ["html"]}
    (study / "config" / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))
    book = study / "config" / "codebook.yaml"  # the example codes, made the study's own
    book.write_text(book.read_text().replace("TO FILL IN (example code). ", "")
                    .replace("TO FILL IN: codebook title", "Time and support"))


def _run(study: Path, *args: str, check: bool = True):
    import subprocess
    env = dict(os.environ, XDG_CACHE_HOME=str(study / ".cache"))
    proc = subprocess.run(cli.run_command(study, ["--cores", "2", *args]), capture_output=True,
                          text=True, env=env, cwd=study)
    if check and proc.returncode != 0:
        raise AssertionError(f"concord run failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}")
    return proc


def _registry(study: Path) -> dict:
    return json.loads((study / "results" / "manuscript" / "numbers.json").read_text())["numbers"]


@pytest.mark.workflow
def test_a_new_study_from_init_to_agreement(tmp_path, transcripts):
    study = tmp_path / "teachers"
    scaffold.init_study(study, transcripts)
    _fill_in(study)

    # stage 1: no human coder yet
    _run(study)
    reg = _registry(study)
    assert reg["agreement.status"]["value"] == "pending"
    assert reg["coding.human_coders"]["value"] == 0
    assert reg["coding.analysis_coder"]["value"] == "machine"
    assert reg["agreement.alpha.mean"]["undefined"].startswith("human coding is pending")
    export = study / "results" / "coding" / "export"
    assert sorted(p.name for p in export.iterdir()) == ["C1.qdpx", "C2.qdpx", "text_sha256.tsv"]
    # a manuscript written for this study: no word of the demo's
    for doc in ("manuscript.html", "supplement.html", "manuscript.qmd"):
        text = (study / "results" / "manuscript" / doc).read_text(encoding="utf-8").lower()
        for word in ("synthetic", "cancer", "simulate"):
            assert word not in text, (doc, word)
    assert "pending" in (study / "results/manuscript/manuscript.qmd").read_text(encoding="utf-8")
    manifest = (study / "results" / "provenance" / "manifest.tsv").read_text()
    for demo in ("resources/demo", "study_a", "study_b", "gold_identifiers", str(REPO / "config")):
        assert demo not in manifest

    # stage 2: two coders code in their QDA program (simulated: QDPX projects with codings)
    machine = pd.concat([read_tsv(p) for p in sorted((study / "results/coding/machine").glob("*.tsv"))])
    segs = pd.concat([read_tsv(study / "results/segments" / f"S0{i}.tsv") for i in (1, 2, 3)])
    texts = {f"S0{i}": (study / "results/deid" / f"S0{i}.txt").read_text() for i in (1, 2, 3)}
    book = yaml.safe_load((study / "config" / "codebook.yaml").read_text())
    (study / "coding").mkdir()
    rows = ["coder\tsession_id\tpath"]
    for coder, drop in (("C1", 0), ("C2", 1)):
        cod = machine[["segment_id", "code"]].iloc[drop:].assign(coder=coder)
        (study / "coding" / f"{coder}.qdpx").write_bytes(
            refiqda.project_to_qdpx("teachers", "T", book, texts, segs, cod, [coder]))
        rows += [f"{coder}\t{s}\tcoding/{coder}.qdpx" for s in texts]
    (study / "config" / "coders.tsv").write_text("\n".join(rows) + "\n")
    before = {p: p.stat().st_mtime_ns for d in ("deid", "segments", "coding/machine",
                                                 "coding/export")
              for p in (study / "results" / d).glob("*.*")}
    _run(study)
    # only coding and what follows was redone
    assert {p: p.stat().st_mtime_ns for p in before} == before
    reg = _registry(study)
    assert reg["agreement.status"]["value"] == "reported"
    assert reg["coding.human_coders"]["value"] == 2
    assert reg["agreement.coders"]["value"] == 2
    assert reg["coding.analysis_coder"]["value"] == "consensus"

    # stage 3: the de-identification changes after coding -> the run stops, no remap
    # (a word the user wants redacted everywhere, as restricted/deny.txt says)
    (study / "restricted" / "deny.txt").write_text("Honestly\tNAME\n", encoding="utf-8")
    proc = _run(study, check=False)
    assert proc.returncode != 0
    log = (study / "logs" / "combine_codings.log").read_text()
    assert "the de-identified text of session S01 changed since coder C1's file was made" in log
    assert "re-export" in log


def test_qdpx_export_reads_only_the_declared_sessions(tmp_path, monkeypatch):
    """A leftover file of another study in results/ is never exported."""
    from concord import segment as seg
    texts = {"S1": "MOD\tHello?\nP01\tWe never have enough time.\n",
             "OLD": "MOD\tHi.\nP09\tAn old study's text.\n"}
    parts = pd.DataFrame({"participant_id": ["P01", "P09"], "session_id": ["S1", "OLD"]})
    for s, text in texts.items():
        write_tsv(seg.segment_text(text, s, "g", parts, abbreviations=[]),
                  tmp_path / "results" / "segments" / f"{s}.tsv")
        (tmp_path / "results" / "deid").mkdir(exist_ok=True)
        (tmp_path / "results" / "deid" / f"{s}.txt").write_text(text)
    write_tsv(pd.DataFrame(columns=["segment_id", "coder", "code"]),
              tmp_path / "results" / "coding" / "codings.tsv")
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("sessions: config/sessions.tsv\n")
    (tmp_path / "config" / "sessions.tsv").write_text(
        "session_id\tgroup\ttranscript\tformat\torder\nS1\tg\tx.txt\tlabelled\t1\n")
    (tmp_path / "config" / "codebook.yaml").write_text(scaffold.CODEBOOK_TEMPLATE)
    monkeypatch.chdir(tmp_path)
    assert cli.main(["qdpx", "export", "--study", "x", "--out", "p.qdpx"]) == 0
    _, got, _ = refiqda.read_qdpx(tmp_path / "p.qdpx")
    assert sorted(got) == ["S1"]
    (tmp_path / "results" / "deid" / "S1.txt").unlink()
    assert cli.main(["qdpx", "export", "--study", "x", "--out", "q.qdpx"]) == 2


def test_init_falls_back_to_multiline_turns_and_names_the_file_on_error(tmp_path):
    ml = tmp_path / "otter.txt"
    ml.write_text("Maria Lopez: I think the time is short.\nAnd we need more help.\n"
                  "Speaker 2 (00:01:02):\nYes, agreed.\n", encoding="utf-8")
    n = scaffold.init_study(tmp_path / "s", [ml])
    assert n["turns"] == 2 and n["formats"] == {"labelled_multiline": 1}
    bad = tmp_path / "bad.txt"
    bad.write_text("hello there\n\nand more\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"bad\.txt, line 1: expected 'Label: text'"):
        scaffold.init_study(tmp_path / "t", [bad])


def test_every_transcript_format_has_a_file_name_for_its_restricted_copy():
    from concord import transcripts
    assert set(scaffold.EXTENSIONS) == set(transcripts.FORMATS)


@pytest.mark.skipif(not (REPO.parent / "shared" / "fixtures" / "transcripts").is_dir(),
                    reason="../shared/fixtures absent (real QMSum meeting transcripts)")
def test_init_takes_real_qmsum_meetings(tmp_path):
    src = REPO.parent / "shared" / "fixtures" / "transcripts"
    files = [src / "qmsum_ES2004a.json", src / "qmsum_Bed003.json"]
    n = scaffold.init_study(tmp_path / "m", files)
    assert n["sessions"] == 2 and n["formats"] == {"qmsum": 2}
    assert (tmp_path / "m" / "restricted" / "transcripts" / "S01.json").is_file()
    # four or more speakers in each meeting: suggested as focus groups, written in the config
    assert n["design"] == "focus_group"
    cfg = yaml.safe_load((tmp_path / "m" / "config" / "config.yaml").read_text(encoding="utf-8"))
    assert cfg["study"]["design"] == "focus_group"


def test_init_takes_lower_case_and_role_labels_as_speakers_to_name(tmp_path):
    """Real interview transcripts label turns 'interviewer:'/'interviewee:' (lower case,
    which the parser does not take as labels on its own) and wrap long turns onto
    continuation lines; a role label is not a name: the roster asks for the name."""
    raw = tmp_path / "Interview 3.txt"
    raw.write_text("interviewee: Thanks. This meeting is being recorded.\n\n"
                   "interviewer: All right. So can we have some background information about "
                   "you? How much\n\nexperience do you have?\n\n"
                   "interviewee: I studied finance. Then I switched to data science.\n\n"
                   "interviewer: Perfect. Thank you.\n", encoding="utf-8")
    n = scaffold.init_study(tmp_path / "s", [raw])
    assert n["formats"] == {"labelled_multiline": 1} and n["turns"] == 4
    assert n["participants"] == 1 and n["facilitators"] == 1
    assert n["unnamed_labels"] == 2 and n["labels_in_text"] == 0  # roles are no identifiers
    # one participant speaker: an interview study, and the config says why
    assert (n["design"], n["design_reason"]) == ("interview",
                                                 "every session has one participant speaker")
    config_text = (tmp_path / "s" / "config" / "config.yaml").read_text(encoding="utf-8")
    assert "  design: interview\n" in config_text
    # with a three-speaker group beside it the study is mixed
    group = tmp_path / "Group 1.txt"
    group.write_text("Moderator: Welcome.\nAnna: Hi.\nBen: Hello.\nCara: Hi all.\n",
                     encoding="utf-8")
    assert scaffold.init_study(tmp_path / "u", [raw, group])["design"] == "mixed"
    roster = read_tsv(tmp_path / "s" / "restricted" / "roster.tsv")
    assert list(roster["participant_id"]) == ["P01", "MOD"]
    assert list(roster["full_name"]) == ["FILL-IN-S01-P01", "FILL-IN-S01-MOD"]
    # prose with colons is not a transcript: the parser's own error, naming the line
    prose = tmp_path / "notes.txt"
    prose.write_text("Notes from the day\nwe met at ten: all good\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"notes\.txt, line 1: expected 'Label: text'"):
        scaffold.init_study(tmp_path / "t", [prose])


FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.mark.skipif(not FIXTURES.is_dir(), reason="../shared/fixtures absent (QualCoder's "
                    "example focus group, vtt.js WebVTT captions)")
def test_init_on_real_qualcoder_and_webvtt_files_asks_for_the_names_of_numbered_labels(tmp_path):
    files = [FIXTURES / "transcripts" / "qualcoder_example_transcript.txt",
             FIXTURES / "webvtt" / "mozilla_vttjs_cycle-collector-talk.vtt",
             FIXTURES / "webvtt" / "taguette_style_note_srt_timestamps.vtt"]
    n = scaffold.init_study(tmp_path / "s", files)
    assert n["formats"] == {"labelled": 1, "webvtt": 2}
    roster = read_tsv(tmp_path / "s" / "restricted" / "roster.tsv")
    by_label = dict(zip(roster["speaker_label"], roster["full_name"]))
    # QualCoder's [id1] and a WebVTT without voices name nobody; voices that are names do
    assert by_label["id1"] == "FILL-IN-S01-P01" and by_label["id3"] == "FILL-IN-S01-P03"
    assert by_label["Unknown speaker"].startswith("FILL-IN-S03-")
    assert by_label["Kyle Huey"] == "Kyle Huey"
    assert n["unnamed_labels"] == 4


@pytest.mark.skipif(not (FIXTURES / "refi_qda").is_dir(),
                    reason="../shared/fixtures/refi_qda absent (ATLAS.ti and Taguette QDC)")
def test_qdc_import_writes_a_study_codebook_that_stops_until_its_gaps_are_filled(tmp_path,
                                                                                  capsys):
    schema = REPO / "workflow" / "schemas" / "codebook.schema.yaml"
    out = tmp_path / "codebook.yaml"
    qdc = FIXTURES / "refi_qda" / "atlasti_win_23.4.0_codebook.qdc"
    assert cli.main(["qdc", "import", str(qdc), "--out", str(out)]) == 0
    assert "1 code(s) in 1 category; 1 value(s) read 'TO FILL IN'" in capsys.readouterr().out
    book = studyconfig.load_codebook(out, schema)  # valid for the run as written
    assert book["categories"] == ["code_group"]
    assert book["codes"] == [{"id": "CODE1", "name": "code1", "category": "code_group",
                              "parent": None, "definition": "description", "patterns": {}}]
    with pytest.raises(InputError, match=r"codebook\.yaml, line 3: title"):
        studyconfig.check_placeholders({}, book, "c.yaml", out)
    # Taguette: no sets, no descriptions, hierarchy in the names
    out2 = tmp_path / "taguette.yaml"
    assert cli.main(["qdc", "import", str(FIXTURES / "refi_qda" /
                                        "taguette_codebook_export_expected.qdc"),
                     "--out", str(out2)]) == 0
    book = studyconfig.load_codebook(out2, schema)
    assert book["categories"] == ["uncategorised"]
    assert [c["parent"] for c in book["codes"]] == [None, None, "INTERESTING"]
    with pytest.raises(InputError, match=r"codes\.0\.definition, codes\.1\.definition, "
                                         r"codes\.2\.definition"):
        studyconfig.check_placeholders({}, book, "c.yaml", out2)
    # a damaged export: the error names the file, exit 2, nothing written
    bad = tmp_path / "bad.yaml"
    assert cli.main(["qdc", "import", str(FIXTURES / "refi_qda" /
                                       "atlasti_win_23.4.0_codebook_truncated.qdc"),
                     "--out", str(bad)]) == 2
    assert "truncated or damaged" in capsys.readouterr().err and not bad.exists()


def test_deid_commands_find_a_study_s_restricted_files_by_the_schema_defaults(tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.yaml").write_text("study: {id: x}\n")
    paths = cli._study_paths(str(tmp_path))
    schema = yaml.safe_load(SCHEMA.read_text())["properties"]["deidentify"]["properties"]
    assert paths["review"] == tmp_path / schema["review_dir"]["default"]
    assert paths["decisions"] == tmp_path / schema["decisions"]["default"]
    assert paths["quarantine"] == tmp_path / "restricted" / "quarantine"
    (tmp_path / "config" / "config.yaml").write_text(
        "deidentify: {keys_dir: private/keys, review_dir: private/review}\n")
    paths = cli._study_paths(str(tmp_path))
    assert paths["review"] == tmp_path / "private" / "review"
    assert paths["quarantine"] == tmp_path / "private" / "quarantine"


@pytest.mark.skipif(not (FIXTURES / "refi_qda").is_dir(),
                    reason="../shared/fixtures/refi_qda absent (ATLAS.ti 8.4 standard project)")
def test_qdpx_import_of_a_project_exported_without_its_sources_names_the_gap(tmp_path, capsys):
    """ATLAS.ti's standard project has codings on text sources whose text is not in the
    archive (Sources/ empty): they cannot be bound to a text, so nothing is written."""
    out = tmp_path / "c1.tsv"
    assert cli.main(["qdpx", "import", str(FIXTURES / "refi_qda" /
                                        "atlasti_8.4_standard_project.qdpx"),
                     "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "concord qdpx import:" in err and "coded source(s) have no text in the archive" in err
    assert "Traceback" not in err and not out.exists()


def test_init_says_how_to_fix_a_pdf_whose_first_line_is_a_title(tmp_path):
    """A MAXQDA PDF export starts with the document's title ("Interview") before the
    first speaker label: the parser's fix ("make the line a '# ' comment") needs a
    text copy, which the message says."""
    import tempfile
    typst = pytest.importorskip("typst")
    with tempfile.TemporaryDirectory() as d:
        (Path(d) / "t.typ").write_text("#set page(width: 12cm, height: 7cm)\nInterview\n\n"
                                       "Dan: So do you use ICE plots?\n\nParticipant: Yes, "
                                       "sometimes.\n", encoding="utf-8")
        (tmp_path / "P1.pdf").write_bytes(typst.compile(str(Path(d) / "t.typ")))
    with pytest.raises(InputError, match=r"P1\.pdf, page 1, line 1: .*'# ' comment \(a PDF "
                                         r"cannot be edited as text: save it as plain text"):
        scaffold.init_study(tmp_path / "s", [tmp_path / "P1.pdf"])
    assert not (tmp_path / "s").exists()
