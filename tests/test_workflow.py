"""End to end: the real Snakefile on a 2-session study, and bad input stopping it."""

from __future__ import annotations

import hashlib
import json
import re
import stat
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import make_study, snakemake

ROSTER_NAMES = ["Anna", "Kowalski", "Annie", "Ben", "Miller", "Benny", "Carla", "Duarte",
                "Dana", "Whitfield", "Eli", "Brandt", "Fay", "Okonjo", "Sam Rivera"]
PLANTED = ["555-201-3344", "ben.miller@example.org", "June 5th", "Leo", "Okafor"]


def tsv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


def result_files(work: Path) -> list[Path]:
    return sorted(p for p in (work / "results").rglob("*") if p.is_file())


def test_every_stage_writes_its_contract(mini_run):
    out = mini_run / "results"
    for session in ("M1", "M2"):
        deid = (out / "deid" / f"{session}.txt").read_text(encoding="utf-8")
        assert all(re.fullmatch(r"(P\d+|MOD)\t.+", line) for line in deid.splitlines())
        seg = tsv(out / "segments" / f"{session}.tsv")
        assert list(seg.columns) == ["segment_id", "session_id", "turn", "speaker_id",
                                     "participant_id", "group", "start", "end", "text", "role"]
        for row in seg.itertuples():
            assert deid[int(row.start):int(row.end)] == row.text
        assert seg["segment_id"].is_unique
    seg = tsv(out / "segments" / "M1.tsv").set_index("segment_id")
    assert seg.loc["M1-T0002-S02", "speaker_id"] == "P01"
    assert seg.loc["M1-T0001-S01", "participant_id"] == ""
    assert seg.loc["M1-T0001-S01", "role"] == "facilitator"
    assert seg.loc["M1-T0002-S02", "role"] == "participant"

    machine = tsv(out / "coding" / "machine" / "M1.tsv")
    assert {"segment_id", "code", "evidence", "rule"} <= set(machine.columns)
    hope = machine[(machine.segment_id == "M1-T0007-S01") & (machine.code == "HOPE")]
    assert len(hope) == 1 and hope.iloc[0]["negated"] == "true"   # "no hope left"

    codings = tsv(out / "coding" / "codings.tsv")
    assert set(codings.coder) == {"machine", "C1", "C2", "C3", "consensus"}
    consensus = set(map(tuple, codings[codings.coder == "consensus"][["segment_id", "code"]].values))
    # M1: 3 coders, 2 of 3 needed; M2: 2 coders, both needed
    assert ("M1-T0002-S02", "FAMILY") in consensus          # C1, C3
    assert ("M1-T0005-S02", "HOPE") not in consensus        # C2 only
    assert ("M2-T0004-S01", "HOPE") not in consensus        # C1 only of 2

    by_code = tsv(out / "agreement" / "by_code.tsv")
    assert sorted(by_code.code) == ["DAILY_LIFE", "FAMILY", "HOPE"]
    alpha = by_code.set_index("code")["krippendorff_alpha"].astype(float)
    assert (alpha <= 1).all() and alpha["DAILY_LIFE"] > alpha["HOPE"]

    prev = tsv(out / "concordance" / "prevalence.tsv")
    assert len(prev) == 2 * 3
    fam = prev[(prev.group == "patients") & (prev.code == "FAMILY")].iloc[0]
    assert (fam.participants_with, fam.participants) == ("2", "3")   # Anna, Carla of 3
    hope_c = prev[(prev.group == "clinicians") & (prev.code == "HOPE")].iloc[0]
    assert hope_c.participants == "4"  # P07 enrolled but silent still counts
    assert (out / "concordance" / "pairwise.tsv").exists()


def test_numbers_registry_points_at_real_rows(mini_run):
    registry = json.loads((mini_run / "results/manuscript/numbers.json").read_text())
    numbers = registry["numbers"]
    assert len(numbers) > 20
    for key, entry in numbers.items():
        src = mini_run / entry["source"]["file"]
        assert src.exists(), key
        assert hashlib.sha256(src.read_bytes()).hexdigest() == entry["source"]["sha256"], key
        n_lines = len(src.read_bytes().splitlines()) if src.suffix != ".png" else 0
        assert all(1 <= line <= max(n_lines, 1) for line in entry["source"]["lines"]), key
    fam = numbers["prevalence.patients.FAMILY"]
    assert fam["value"] == pytest.approx(2 / 3)
    assert {"M1-T0002-S01", "M1-T0008-S01"} <= set(fam["segments"])


def test_manuscript_renders_numbers_from_the_registry(mini_run):
    registry = json.loads((mini_run / "results/manuscript/numbers.json").read_text())["numbers"]
    html = (mini_run / "results/manuscript/manuscript.html").read_text(encoding="utf-8")
    supp = (mini_run / "results/manuscript/supplement.html").read_text(encoding="utf-8")
    assert "synthetic" in html.lower()
    shown = registry["agreement.alpha.mean"]["display"]
    # the number in the text links to its audit entry in the supplement
    assert 'href="supplement.html#num-agreement.alpha.mean"' in html and shown in html
    assert 'id="num-agreement.alpha.mean"' in supp
    assert "{{<" not in html + supp
    with zipfile.ZipFile(mini_run / "results/manuscript/manuscript.docx") as docx:
        assert "word/document.xml" in docx.namelist()


def test_no_identifier_reaches_results(mini_run):
    for path in result_files(mini_run):
        if path.suffix in (".png", ".pdf"):  # binary; the leak gate rule covers them
            continue
        if path.suffix in (".docx", ".qdpx"):  # zip archives: their XML and text members
            with zipfile.ZipFile(path) as docx:
                text = "\n".join(docx.read(n).decode("utf-8") for n in docx.namelist()
                                 if n.endswith((".xml", ".qde", ".txt")))
        else:
            text = path.read_text(encoding="utf-8")
        for name in ROSTER_NAMES + PLANTED:
            assert not re.search(rf"\b{re.escape(name)}\b", text, re.IGNORECASE), (path, name)
        assert str(mini_run) not in text, (path, "absolute path of the run folder")
    key = mini_run / "restricted" / "keys" / "M1.json"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert "kowalski" in key.read_text(encoding="utf-8").lower()


def test_second_run_does_nothing(mini_run):
    proc = snakemake(mini_run, "--dry-run")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def test_results_are_byte_identical_across_clean_runs(mini_run, tmp_path):
    again = make_study(tmp_path / "mini")
    snakemake(again)
    first = {p.relative_to(mini_run): p.read_bytes() for p in result_files(mini_run)}
    second = {p.relative_to(again): p.read_bytes() for p in result_files(again)}
    assert first.keys() == second.keys()
    differing = [str(p) for p in first if first[p] != second[p]]
    assert differing == []


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new), encoding="utf-8")


@pytest.mark.parametrize("breakage, expected", [
    (lambda w: _edit(w / "sessions.tsv", "transcripts/M2.txt", "transcripts/M9.txt"),
     r"sessions\.tsv, line 3: transcript 'transcripts/M9\.txt' does not exist"),
    (lambda w: _edit(w / "sessions.tsv", "M2\tclinicians", "M2\tsurgeons"),
     r"sessions\.tsv, line 3: group 'surgeons' is not declared"),
    (lambda w: _edit(w / "participants.tsv", "P05\tM2", "p-5\tM2"),
     r"participants\.tsv, line 6: column 'participant_id'"),
    (lambda w: _edit(w / "codebook.yaml", "terms: [hope, hopeful]", "regex: ['(hope']"),
     r"codebook\.yaml: code HOPE: field 'patterns\.regex\[0\]': invalid regular expression"),
    (lambda w: _edit(w / "codebook.yaml", "parent: null", "parent: OPTIMISM"),
     r"codebook\.yaml: code HOPE: field 'parent': unknown code 'OPTIMISM'"),
    (lambda w: _edit(w / "codebook.yaml", "    definition: Hope, optimism or its loss.\n", ""),
     r"codebook\.yaml: code HOPE: field '\(the code entry\)': 'definition' is a required"),
    (lambda w: _edit(w / "config.yaml", "unit: sentence", "unit: paragraph"),
     r"paragraph"),
], ids=["missing-transcript", "unknown-group", "bad-participant-id", "bad-regex",
        "unknown-parent", "missing-definition", "bad-config-value"])
def test_bad_input_stops_before_any_job(tmp_path, breakage, expected):
    work = make_study(tmp_path / "mini")
    breakage(work)
    proc = snakemake(work, check=False)
    assert proc.returncode != 0
    assert re.search(expected, proc.stdout + proc.stderr), proc.stdout + proc.stderr
    assert not (work / "results").exists()


def test_bad_coder_file_names_file_and_line(tmp_path):
    work = make_study(tmp_path / "mini")
    with open(work / "coders" / "C2_M2.tsv", "a", encoding="utf-8") as fh:
        fh.write("M2-T0099-S01\tHOPE\n")
    proc = snakemake(work, check=False)
    assert proc.returncode != 0
    log = (work / "logs" / "combine_codings.log").read_text(encoding="utf-8")
    assert re.search(r"C2_M2\.tsv.*line 6", log), log
    assert not (work / "results" / "coding" / "codings.tsv").exists()


def test_docx_session_gives_the_same_segments_as_its_text_version(mini_run, tmp_path):
    """A session delivered as DOCX (bold speaker, as transcription services do) and
    declared `docx` in sessions.tsv goes through de-identification and segmentation
    and yields the same segments as the same words in the labelled text format."""
    import docx  # python-docx

    work = make_study(tmp_path / "mini")
    doc = docx.Document()
    for line in (work / "transcripts" / "M2.txt").read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        label, text = line.split(": ", 1)
        para = doc.add_paragraph()
        para.add_run(label).bold = True
        para.add_run(" " + text)
    doc.save(work / "transcripts" / "M2.docx")
    _edit(work / "sessions.tsv", "transcripts/M2.txt\tlabelled", "transcripts/M2.docx\tdocx")
    snakemake(work, "results/segments/M2.tsv")
    assert (work / "results/segments/M2.tsv").read_bytes() == \
        (mini_run / "results/segments/M2.tsv").read_bytes()


def test_snakemake_report_carries_the_figures_with_captions(mini_run):
    report = mini_run / "snakemake-report.html"
    snakemake(mini_run, "--report", str(report))
    html = report.read_text(encoding="utf-8")
    for figure in ("alpha_forest.png", "prevalence_heatmap.png", "rank_concordance.png",
                   "category_shares.png", "saturation_curves.png"):
        assert figure in html, figure
    assert "Cumulative code discovery per group" in html
    assert "bootstrap interval: the human coders with each other" in html
