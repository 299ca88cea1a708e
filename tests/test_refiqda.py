"""REFI-QDA: QDC codebook and QDPX project round trips, validated against the
REFI-QDA XML schemas (workflow/schemas/refi-qda/), and bad inputs."""

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from concord import code, refiqda
from concord import segment as seg
from concord.tsvio import InputError

ROOT = Path(__file__).resolve().parents[1]
BOOK = yaml.safe_load((ROOT / "config" / "codebook.yaml").read_text(encoding="utf-8"))

TEXTS = {"S1": "MOD\tWhat matters to you?\nP01\tHope, mostly. And my kids — Émilie is 9.\n"
               "P02\tSide effects. I can't work on chemo days.\n",
         "S2": "MOD\tAnd for you?\nP03\tSurvival data. Then quality of life.\n"}
PARTS = pd.DataFrame({"participant_id": ["P01", "P02", "P03"],
                      "session_id": ["S1", "S1", "S2"]})


def segments():
    return pd.concat([seg.segment_text(TEXTS[s], s, "g", PARTS, abbreviations=["dr"])
                      for s in sorted(TEXTS)], ignore_index=True)


def test_qdc_round_trip_keeps_ids_names_descriptions_hierarchy_guids():
    book = {**BOOK, "codes": [dict(c) for c in BOOK["codes"]]}
    book["codes"][1]["parent"] = book["codes"][0]["id"]  # a hierarchy to keep
    qdc = refiqda.codebook_to_qdc(book, "study_a")
    assert refiqda.validate(qdc, "codebook") == []
    assert qdc == refiqda.codebook_to_qdc(book, "study_a")  # deterministic bytes
    back = refiqda.qdc_to_codebook(qdc)
    assert [c["id"] for c in back["codes"]] == [c["id"] for c in book["codes"]]
    for orig, got in zip(book["codes"], back["codes"]):
        assert got["name"] == orig["name"]
        assert got["definition"] == str(orig["definition"]).strip()
        assert got.get("include") == (str(orig["include"]).strip() if orig.get("include") else None)
        assert got.get("exclude") == (str(orig["exclude"]).strip() if orig.get("exclude") else None)
        assert got.get("examples", []) == [str(e).strip() for e in orig.get("examples") or []]
        assert got["parent"] == (orig.get("parent") or None)
        assert got["category"] == orig["category"]
        assert got["guid"] == refiqda.guid("study_a", "code", orig["id"])
    # the GUID is uuid5 over study + code id: another study, other GUIDs
    assert refiqda.guid("study_b", "code", "HOPE") != refiqda.guid("study_a", "code", "HOPE")
    assert refiqda.guid("study_a", "code", "HOPE") == "%s" % __import__("uuid").uuid5(
        __import__("uuid").NAMESPACE_URL, "concord:study_a:code:HOPE")


def test_qdc_from_another_program_gets_ids_from_names():
    qdc = b"""<?xml version="1.0" encoding="utf-8"?>
<CodeBook xmlns="urn:QDA-XML:codebook:1.0" origin="NVivo">
 <Codes>
  <Code guid="2b6a1d0e-4c1f-4b5e-9a1e-1f0a2b3c4d5e" name="Side effects" isCodable="true">
   <Description>Physical or emotional effects of treatment.</Description>
   <Code guid="3c7b2e1f-5d2a-4c6f-8b2f-2a1b3c4d5e6f" name="Fatigue / tiredness" isCodable="true"/>
  </Code>
 </Codes>
</CodeBook>"""
    assert refiqda.validate(qdc, "codebook") == []
    got = refiqda.qdc_to_codebook(qdc)["codes"]
    assert [(c["id"], c["name"], c["parent"], c["definition"]) for c in got] == [
        ("SIDE_EFFECTS", "Side effects", None, "Physical or emotional effects of treatment."),
        ("FATIGUE_TIREDNESS", "Fatigue / tiredness", "SIDE_EFFECTS", "")]


def test_qdpx_round_trip_codings_back_to_the_same_segments():
    sg = segments()
    for r in sg.itertuples():
        assert TEXTS[r.session_id][r.start:r.end] == r.text
    codings = pd.DataFrame([(sg.segment_id[1], "C1", "HOPE"), (sg.segment_id[1], "C2", "HOPE"),
                            (sg.segment_id[2], "C1", "FAMILY"), (sg.segment_id[4], "C2",
                                                                 "SIDE_EFFECTS"),
                            (sg.segment_id[1], "machine", "HOPE")],
                           columns=["segment_id", "coder", "code"])
    qdpx = refiqda.project_to_qdpx("study_a", "Test", BOOK, TEXTS, sg, codings, ["C1", "C2"])
    assert qdpx == refiqda.project_to_qdpx("study_a", "Test", BOOK, TEXTS, sg, codings,
                                           ["C1", "C2"])  # same bytes
    zf = zipfile.ZipFile(io.BytesIO(qdpx))
    assert refiqda.validate(zf.read("project.qde"), "project") == []
    book, texts, spans = refiqda.read_qdpx(qdpx)
    assert texts == TEXTS  # the de-identified sources travel unchanged
    assert [c["id"] for c in book["codes"]] == [c["id"] for c in BOOK["codes"]]
    assert set(spans["coder"]) == {"C1", "C2"}  # machine not exported
    for coder in ("C1", "C2"):
        mine = spans[spans["coder"] == coder][["session_id", "start", "end", "code"]].astype(str)
        back = code.spans_to_segments(mine, sg, f"{coder}.qdpx", 0.5, "MOD", set(BOOK_IDS))
        want = codings[codings["coder"] == coder][["segment_id", "code"]]
        assert sorted(back.itertuples(index=False, name=None)) == \
            sorted(want.itertuples(index=False, name=None))


BOOK_IDS = [c["id"] for c in BOOK["codes"]]


def test_read_qdpx_codings_filters_by_user(tmp_path):
    sg = segments()
    codings = pd.DataFrame([(sg.segment_id[1], "C1", "HOPE"), (sg.segment_id[4], "C2", "TRUST")],
                           columns=["segment_id", "coder", "code"])
    path = tmp_path / "p.qdpx"
    path.write_bytes(refiqda.project_to_qdpx("s", "T", BOOK, TEXTS, sg, codings))
    got = refiqda.read_qdpx_codings(path, "C2")
    r = sg.set_index("segment_id").loc[sg.segment_id[4]]
    assert got.values.tolist() == [[r.session_id, str(r.start), str(r.end), "TRUST"]]
    with pytest.raises(InputError, match=r"p\.qdpx: no codings by user 'C9'.*C1, C2"):
        refiqda.read_qdpx_codings(path, "C9")


def test_bad_qdc_and_qdpx(tmp_path):
    with pytest.raises(InputError, match=r"x\.qdc: not well-formed XML at line 2.*inside "
                                         r"<CodeBook>/<Codes>"):
        refiqda.qdc_to_codebook(b"<?xml version='1.0'?>\n<CodeBook><Codes>", "x.qdc")
    with pytest.raises(InputError, match=r"x\.qdc: the root element .* expected <CodeBook>"):
        refiqda.qdc_to_codebook(b"<Project xmlns='urn:QDA-XML:project:1.0' name='p'/>", "x.qdc")
    dup = refiqda.codebook_to_qdc({"codes": [{"id": "A", "name": "A", "definition": "d"},
                                             {"id": "A", "name": "B", "definition": "e"}]}, "s")
    with pytest.raises(InputError, match=r"code id\(s\) A occur more than once"):
        refiqda.qdc_to_codebook(dup, "x.qdc")
    bad = tmp_path / "bad.qdpx"
    bad.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"bad\.qdpx: not a QDPX"):
        refiqda.read_qdpx(bad)
    # a coding that refers to a code missing from the project's codebook
    sg = segments()
    codings = pd.DataFrame([(sg.segment_id[1], "C1", "HOPE")],
                           columns=["segment_id", "coder", "code"])
    qdpx = refiqda.project_to_qdpx("s", "T", {"codes": [c for c in BOOK["codes"]
                                                        if c["id"] != "HOPE"]},
                                   TEXTS, sg, codings)
    imp = refiqda.import_qdpx(qdpx, "p.qdpx")
    assert [k for k, _ in imp.problems] == ["dangling_code"]
    assert re.search(r"p\.qdpx: member project\.qde, <TextSource> #1 \(guid [-0-9a-f]+\), "
                     r"<PlainTextSelection> \(guid [-0-9a-f]+\), <Coding> #1 \(guid [-0-9a-f]+\)"
                     r": the coding refers to code", imp.problems[0][1])
    (tmp_path / "p.qdpx").write_bytes(qdpx)
    with pytest.raises(InputError, match=r"p\.qdpx: member project\.qde, .*<Coding> #1.*"
                                         r"not in the project's codebook"):
        refiqda.read_qdpx_codings(tmp_path / "p.qdpx")


def test_combine_codings_script_reads_qdpx_span_and_segment_files(tmp_path, monkeypatch):
    """The rule script with one coder per file kind: a QDPX, a span TSV and a
    segment TSV coding the same segment -> consensus, and machine_evaluation on it."""
    from conftest import run_script
    from concord.tsvio import read_tsv, write_tsv

    sg = segments()
    target = sg[sg["participant_id"] == "P02"].iloc[0]
    sp = tmp_path / "segments.tsv"
    write_tsv(sg, sp)
    codings = pd.DataFrame([(target.segment_id, "ann", "SIDE_EFFECTS")],
                           columns=["segment_id", "coder", "code"])
    (tmp_path / "ann.qdpx").write_bytes(
        refiqda.project_to_qdpx("s", "T", BOOK, TEXTS, sg, codings))
    (tmp_path / "bob.tsv").write_text(
        f"session_id\tstart\tend\tcode\nS1\t{target.start}\t{target.start + 5}\tSIDE_EFFECTS\n")
    (tmp_path / "cy.tsv").write_text(f"segment_id\tcode\n{target.segment_id}\tHOPE\n")
    (tmp_path / "coders.tsv").write_text(
        "coder\tsession_id\tpath\n"
        f"ann\tS1\t{tmp_path / 'ann.qdpx'}\nbob\tS1\t{tmp_path / 'bob.tsv'}\n"
        f"cy\tS1\t{tmp_path / 'cy.tsv'}\n")
    machine = tmp_path / "machine.tsv"
    machine.write_text("segment_id\tcode\tevidence\trule\tnegated\n"
                       f"{target.segment_id}\tSIDE_EFFECTS\tSide effects\tphrase:x\tfalse\n")
    out = {k: str(tmp_path / f"{k}.tsv") for k in ("codings", "coverage")}
    run_script("combine_codings.py", monkeypatch,
               input=dict(machine=[str(machine)], segments=[str(sp)],
                          coders=str(tmp_path / "coders.tsv"),
                          codebook=str(ROOT / "config" / "codebook.yaml")),
               output=out, log=dict(log=str(tmp_path / "log")),
               params=dict(sessions=["S1", "S2"], min_overlap=0.5,
                           consensus={"method": "majority"}, unit_roles=["participant"],
                           code_roles={}))
    got = read_tsv(out["codings"])
    assert sorted(zip(got["coder"], got["segment_id"], got["code"])) == sorted([
        ("ann", target.segment_id, "SIDE_EFFECTS"), ("bob", target.segment_id, "SIDE_EFFECTS"),
        ("consensus", target.segment_id, "SIDE_EFFECTS"), ("cy", target.segment_id, "HOPE"),
        ("machine", target.segment_id, "SIDE_EFFECTS")])
    ev_out = dict(evaluation=str(tmp_path / "ev.tsv"), numbers=str(tmp_path / "n.json"))
    run_script("machine_evaluation.py", monkeypatch,
               input=dict(codings=out["codings"], coverage=out["coverage"], segments=[str(sp)],
                          codebook=str(ROOT / "config" / "codebook.yaml")),
               output=ev_out, log=dict(log=str(tmp_path / "log2")),
               params=dict(analysis_coder="consensus", unit_roles=["participant"], code_roles={}))
    ev = read_tsv(ev_out["evaluation"]).set_index("code")
    assert ev.loc["SIDE_EFFECTS", "f1"] == "1" and ev.loc["overall", "true_positive"] == "1"
    import json
    nums = json.loads(Path(ev_out["numbers"]).read_text())["numbers"]
    assert nums["coding.machine.f1"]["value"] == 1.0
