"""Coded-segment spreadsheets (MAXQDA, NVivo, ATLAS.ti, Dedoose) -> spans -> segments.
The exports are synthetic, written here with each program's documented columns."""

import csv

import openpyxl
import pandas as pd
import pytest

from concord import code
from concord import codedsegments as cs
from concord import segment as seg
from concord.tsvio import InputError

DEID = ("MOD\tWhat matters most to you?\n"
        "P01\tTime with my family. Yes. I want to see my son graduate.\n"
        "P02\tYes. The fatigue is the worst part — honestly, it’s every day.\n"
        "MOD\tThank you.\n")
PARTS = pd.DataFrame({"participant_id": ["P01", "P02"], "session_id": ["A1", "A1"]})
SEGMENTS = seg.segment_text(DEID, "A1", "g", PARTS, abbreviations=["dr"])
CODES = ["FAMILY", "MILESTONES", "SIDE_EFFECTS"]
NAMES = {"FAMILY": "Family", "MILESTONES": "Reaching milestones", "SIDE_EFFECTS": "Side effects"}


def write_csv(path, header, rows, delimiter=","):
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh, delimiter=delimiter)
        w.writerow(header)
        w.writerows(rows)
    return path


def write_xlsx(path, header, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def segments_of(result):
    got = code.spans_to_segments(result.spans[["session_id", "start", "end", "code"]],
                                 SEGMENTS, "x", 0.5)
    return sorted(map(tuple, got[["segment_id", "code"]].values.tolist()))


def test_maxqda_coded_segments_csv(tmp_path):
    # MAXQDA "Export coded segments": Color, Document group, Document name, Code,
    # Beginning, End (paragraphs), Segment, Weight score, Created by ...
    header = ["Color", "Document group", "Document name", "Code", "Beginning", "End",
              "Segment", "Weight score", "Created by"]
    rows = [["#ff0000", "", "A1.txt", "Codes\\Family", "2", "2", "Time with my family.", "0",
             "ann"],
            ["#00ff00", "", "A1.txt", "Reaching milestones", "2", "2",
             "I want to see my son graduate.", "0", "ann"],
            # "Yes." occurs twice: the paragraph (= turn) chooses
            ["#0000ff", "", "A1.txt", "Side effects", "3", "3", "Yes.", "0", "ann"],
            ["#0000ff", "", "A1.txt", "Side effects", "3", "3",
             "The fatigue is the worst part - honestly, it's every day.", "0", "ann"]]
    path = write_csv(tmp_path / "maxqda.csv", header, rows, delimiter=";")
    res = cs.read_coded_segments(path, SEGMENTS, CODES, NAMES)
    assert res.unmatched == []
    assert segments_of(res) == [("A1-T0002-S01", "FAMILY"), ("A1-T0002-S03", "MILESTONES"),
                                ("A1-T0003-S01", "SIDE_EFFECTS"),
                                ("A1-T0003-S02", "SIDE_EFFECTS")]
    last = res.spans.iloc[-1]  # exact offsets into the de-identified text
    assert DEID[last.start:last.end] == "The fatigue is the worst part — honestly, it’s every day."
    assert set(res.spans["coder"]) == {"ann"}


def test_atlasti_quotations_xlsx_multi_codes_and_unmatched(tmp_path):
    # ATLAS.ti Quotation Manager export: ID, Quotation Name, Document, Quotation Content,
    # Codes (one per line), Reference (paragraphs), Created by
    header = ["ID", "Quotation Name", "Document", "Quotation Content", "Codes", "Reference",
              "Created by"]
    rows = [["1:1", "Time with", "A1", "Time with my family. Yes. I want to see my son "
             "graduate.", "Family\nReaching milestones", "2 – 2", "bo"],
            ["1:2", "Yes", "A1", "Yes.", "Family", "", "bo"],              # ambiguous
            ["1:3", "x", "B9.docx", "Time with my family.", "Family", "2 – 2", "bo"],
            ["1:4", "x", "A1", "Something nobody said.", "Family", "", "bo"],
            ["1:5", "x", "A1", "Time with my family.", "Hope\nFamily", "", "bo"],
            ["1:6", "x", "A1", "Time with my fam…", "Family", "", "other"]]
    path = write_xlsx(tmp_path / "atlas.xlsx", header, rows)
    res = cs.read_coded_segments(path, SEGMENTS, CODES, NAMES, coder="bo")
    assert [n for n, _ in res.unmatched] == [3, 4, 5, 6]
    reasons = dict(res.unmatched)
    assert "occurs 2 times" in reasons[3]
    assert "not a session" in reasons[4]
    assert "not in the de-identified text of session A1" in reasons[5]
    assert "1 code(s) not in the codebook" in reasons[6]
    for _, reason in res.unmatched:  # never the transcript text
        assert "family" not in reason.lower() and "Yes" not in reason
    assert segments_of(res) == [("A1-T0002-S01", "FAMILY"), ("A1-T0002-S01", "MILESTONES"),
                                ("A1-T0002-S02", "FAMILY"), ("A1-T0002-S02", "MILESTONES"),
                                ("A1-T0002-S03", "FAMILY"), ("A1-T0002-S03", "MILESTONES")]


def test_dedoose_excerpts_code_columns_and_char_range(tmp_path):
    # Dedoose excerpt export: Media Title, Excerpt Creator, Excerpt Range, Excerpt Copy,
    # Codes Applied Combined, one "Code: X Applied" column per code
    start = DEID.index("Yes.", DEID.index("P02"))
    header = ["Media Title", "Excerpt Creator", "Excerpt Range", "Excerpt Copy",
              "Codes Applied Combined", "Code: Family Applied", "Code: Side effects Applied"]
    rows = [["A1", "cy", f"{start}-{start + 4}", "Yes.", "Side effects", "False", "True"],
            ["A1", "cy", "", "I want to see my son graduate.", "Family", "True", "False"],
            ["A1", "cy", "", "Thank you.", "", "False", "False"]]
    res = cs.read_coded_segments(write_csv(tmp_path / "d.csv", header, rows), SEGMENTS,
                                 CODES, NAMES)
    assert res.unmatched == [(4, "no code applied")]
    assert segments_of(res) == [("A1-T0002-S03", "FAMILY"), ("A1-T0003-S01", "SIDE_EFFECTS")]


def test_nvivo_coded_text_and_bad_tables(tmp_path):
    header = ["Name", "Code", "Coded text"]  # NVivo coding export (file, node, text)
    rows = [["a1", "Side effects", "the fatigue is the worst part — honestly,"]]
    res = cs.read_coded_segments(write_csv(tmp_path / "n.csv", header, rows), SEGMENTS,
                                 CODES, NAMES)
    assert res.unmatched == [] and segments_of(res) == [("A1-T0003-S02", "SIDE_EFFECTS")]
    with pytest.raises(InputError, match=r"b\.csv, row 1: a coded-segments table needs"):
        cs.read_coded_segments(write_csv(tmp_path / "b.csv", ["x", "y"], [["1", "2"]]),
                               SEGMENTS, CODES)
    (tmp_path / "e.csv").write_text("")
    with pytest.raises(InputError, match=r"e\.csv: the table is empty"):
        cs.read_coded_segments(tmp_path / "e.csv", SEGMENTS, CODES)


def test_unmatched_rows_stop_the_coder_file(tmp_path):
    header = ["Document name", "Code", "Segment"]
    rows = [["A1", "Family", "Time with my family."], ["A1", "Family", "Not said."],
            ["A1", "", "Thank you."]]
    res = cs.read_coded_segments(write_csv(tmp_path / "m.csv", header, rows), SEGMENTS,
                                 CODES, NAMES)
    with pytest.raises(InputError, match=r"m\.csv: 1 coded segment row\(s\) match no segment "
                                         r"-- row 3: its text is not in"):
        cs.check_unmatched(res, "m.csv")
    res.unmatched = [(4, "no code applied")]
    spans = cs.check_unmatched(res, "m.csv")
    assert spans.values.tolist() == [["A1", str(DEID.index("Time")),
                                      str(DEID.index("Time") + 20), "FAMILY"]]


def test_combine_codings_script_reads_a_maxqda_xlsx(tmp_path, monkeypatch):
    """The rule script with a coder whose file is a MAXQDA coded-segments XLSX."""
    from pathlib import Path

    from conftest import run_script
    from concord.tsvio import read_tsv, write_tsv

    root = Path(__file__).resolve().parents[1]
    sp = tmp_path / "segments.tsv"
    write_tsv(SEGMENTS, sp)
    write_xlsx(tmp_path / "dee.xlsx", ["Document name", "Code", "Beginning", "End", "Segment",
                                       "Created by"],
               [["A1.txt", "Side effects", 3, 3, "The fatigue is the worst part", "dee"]])
    (tmp_path / "coders.tsv").write_text(f"coder\tsession_id\tpath\ndee\tA1\t"
                                         f"{tmp_path / 'dee.xlsx'}\n")
    machine = tmp_path / "machine.tsv"
    machine.write_text("segment_id\tcode\tevidence\trule\tnegated\n")
    out = {k: str(tmp_path / f"{k}.tsv") for k in ("codings", "coverage")}
    run_script("combine_codings.py", monkeypatch,
               input=dict(machine=[str(machine)], segments=[str(sp)],
                          coders=str(tmp_path / "coders.tsv"),
                          codebook=str(root / "config" / "codebook.yaml")),
               output=out, log=dict(log=str(tmp_path / "log")),
               params=dict(sessions=["A1"], min_overlap=0.5,
                           consensus={"method": "majority"}, unit_roles=["participant"],
                           code_roles={}))
    got = read_tsv(out["codings"])
    assert ("dee", "A1-T0003-S02", "SIDE_EFFECTS") in set(
        zip(got["coder"], got["segment_id"], got["code"]))
