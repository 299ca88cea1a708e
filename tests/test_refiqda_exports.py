"""REFI-QDA import of real exports from other programs (../shared/fixtures/refi_qda/,
skipped with a reason when absent): ATLAS.ti 8.4's standard project, ATLAS.ti 23.4's
codebook (and its truncated copy), Taguette's codebook export; variants of the
ATLAS.ti project built here in memory (member case, source paths, CRLF text). Every
document Concord writes is validated against the REFI-QDA XSDs."""

import io
import re
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from lxml import etree

from concord import refiqda
from concord.tsvio import InputError

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "refi_qda"
NS = "{urn:QDA-XML:project:1.0}"


def fixture(name):
    path = FIXTURES / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared fixtures sit beside the clone)")
    return path


def atlas_qde() -> bytes:
    with zipfile.ZipFile(fixture("atlasti_8.4_standard_project.qdpx")) as zf:
        return zf.read("Project.qde")


def archive(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_atlasti_84_standard_project_imports():
    path = fixture("atlasti_8.4_standard_project.qdpx")
    imp = refiqda.import_qdpx(path, "atlas.qdpx")
    codes = {c["name"]: c for c in imp.codebook["codes"]}
    assert len(codes) == 14
    # hierarchy (ATLAS.ti 'Group::code' names), colours and descriptions kept
    assert codes["Coke::diet Coke"]["parent"] == codes["Coke"]["id"] == "COKE"
    assert codes["Coke::diet Coke"]["definition"] == "non sucré"
    assert codes["Coke::diet Coke"]["color"] == "#966450"
    assert codes["cornflakes"]["definition"] == "breakfast cereal made by Kellogg’s"
    assert codes['"rushed"']["id"] == "RUSHED" and "color" not in codes["milk"]
    assert codes["happiness"]["category"] == "Feelings"  # code groups (Sets)
    # the 7 text codings, users mapped to coders
    assert len(imp.spans) == 7
    assert set(imp.spans["coder"]) == {"Friedrich Markgraf"}
    assert set(imp.users.values()) == {"ATLAS.ti", "Friedrich Markgraf", "Sebastian Petrausch"}
    row = imp.spans[imp.spans["code"] == "COKE_DIET_COKE"].iloc[0]
    assert (row.session_id, row.start, row.end) == ("1994 Diet Coke-Diet Coke Break.docx",
                                                    139, 195)
    # the Sources/ folder is empty: each text source reported on its own, by GUID
    missing = [m for k, m in imp.problems if k == "missing_source"]
    assert len(missing) == 6 and imp.texts == {}
    guids = {re.search(r"guid ([0-9A-F-]+)", m).group(1) for m in missing}
    assert len(guids) == 6
    for m in missing:
        assert m.startswith("atlas.qdpx: member Project.qde, <TextSource> #")
        assert "is not in the archive" in m and ".docx" not in m  # names are not echoed
    kinds = [k for k, _ in imp.problems]
    assert kinds.count("non_text_coding") >= 3  # picture, PDF, video codings reported
    # read_qdpx_codings (the workflow) takes them, warning about the rest
    log = io.StringIO()
    spans = refiqda.read_qdpx_codings(path, "Friedrich Markgraf", log=log)
    assert len(spans) == 7 and log.getvalue().count("WARNING") == len(imp.problems)
    with pytest.raises(InputError, match=r"no codings by user 'Someone'"):
        refiqda.read_qdpx_codings(path, "Someone")


def test_member_case_source_paths_and_crlf():
    """The same project with a lower-case member, one internal source present (CRLF
    text), one relative:// and one absolute:// path: the present text comes in with
    offsets converted to LF; the external ones are reported, never read."""
    root = etree.fromstring(atlas_qde())
    srcs = {s.get("guid"): s for s in root.iter(f"{NS}TextSource")}
    mabel = srcs["EC0A7242-65E1-457C-B7D1-310DAE603FAB"]
    simon = srcs["AE5298BE-7C94-4B66-8A9C-51FBE232D2F5"]
    diet = srcs["57C6099B-934F-4C86-90F2-CC6C2F2A3CC3"]
    simon.set("plainTextPath", "relative:///Simon.txt")
    diet.set("plainTextPath", "absolute:///etc/passwd")
    # Simon's text as the archive holds it, CRLF line ends, quotations at CRLF offsets
    sels = simon.findall(f"{NS}PlainTextSelection")
    lf = "".join(chr(97 + i % 26) if i % 50 else "\n" for i in range(1000))
    crlf = lf.replace("\n", "\r\n")
    simon.set("plainTextPath", "internal://simon.txt")
    for sel in sels:
        a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
        sel.set("name", crlf[a:b][:40] + "…")
    members = {"project.qde": etree.tostring(root), "sources/simon.txt": crlf.encode()}
    imp = refiqda.import_qdpx(archive(members), "v.qdpx")
    assert imp.texts == {"Simon.docx": lf}
    assert any("CRLF line ends; selection offsets count them as two" in n for n in imp.notes)
    got = imp.spans[imp.spans["session_id"] == "Simon.docx"]
    assert len(got) == len(sels) == 3
    for r, sel in zip(got.itertuples(), sels):  # the same characters, now LF-counted
        a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
        assert lf[r.start:r.end] == crlf[a:b].replace("\r\n", "\n")
        assert (r.start, r.end) != (a, b)
    external = [m for k, m in imp.problems if k == "external_source"]
    assert len(external) == 1 and "absolute:// path" in external[0] and "passwd" not in \
        external[0]
    assert len(imp.spans) == 7  # every text coding still comes in
    assert mabel.get("guid") in " ".join(m for _, m in imp.problems)
    # offsets already counted on the LF text: detected, left as they are
    for sel in sels:
        a, b = int(sel.get("startPosition")), int(sel.get("endPosition"))
        sel.set("name", lf[a:b][:40] + "…")
    members["project.qde"] = etree.tostring(root)
    imp = refiqda.import_qdpx(archive(members), "v.qdpx")
    assert any("count them as one" in n for n in imp.notes)
    got = imp.spans[imp.spans["session_id"] == "Simon.docx"].sort_values("start")
    assert [(r.start, r.end) for r in got.itertuples()] == sorted(
        (int(s.get("startPosition")), int(s.get("endPosition"))) for s in sels)


def test_qdpx_errors_name_member_and_element():
    with pytest.raises(InputError, match=r"e\.qdpx: no project\.qde member"):
        refiqda.import_qdpx(archive({"other.xml": b"<a/>"}), "e.qdpx")
    cut = atlas_qde()[:5000]
    with pytest.raises(InputError, match=r"e\.qdpx: member Project\.qde: not well-formed XML "
                                         r"at line \d+ .*it breaks inside <Project>/<Sources>/"):
        refiqda.import_qdpx(archive({"Project.qde": cut}), "e.qdpx")
    root = etree.fromstring(atlas_qde())
    sel = next(root.iter(f"{NS}PlainTextSelection"))
    sel.set("startPosition", "x")
    imp = refiqda.import_qdpx(archive({"Project.qde": etree.tostring(root)}), "e.qdpx")
    bad = [m for k, m in imp.problems if k == "bad_position"]
    assert len(bad) == 1 and re.match(r"e\.qdpx: member Project\.qde, <TextSource> #3 "
                                      r"\(guid [0-9A-F-]+\), <PlainTextSelection> #1", bad[0])
    assert len(imp.spans) == 6


def test_atlasti_234_codebook_and_truncated_copy():
    book = refiqda.qdc_to_codebook(fixture("atlasti_win_23.4.0_codebook.qdc").read_bytes(),
                                   "a.qdc")
    assert book["categories"] == ["code group 1"]
    (code,) = book["codes"]
    assert (code["name"], code["definition"], code["color"], code["category"]) == (
        "code1", "description", "#46AA00", "code group 1")
    with pytest.raises(InputError, match=r"t\.qdc: not well-formed XML at line \d+ .*it breaks "
                                         r"inside <CodeBook>/<Codes>.*truncated or damaged"):
        refiqda.qdc_to_codebook(
            fixture("atlasti_win_23.4.0_codebook_truncated.qdc").read_bytes(), "t.qdc")


def test_taguette_codebook():
    book = refiqda.qdc_to_codebook(
        fixture("taguette_codebook_export_expected.qdc").read_bytes(), "tag.qdc")
    assert [(c["id"], c["name"], c["parent"]) for c in book["codes"]] == [
        ("INTERESTING", "interesting", None), ("PEOPLE", "people", None),
        ("INTERESTING_PLACES", "interesting\\places", "INTERESTING")]


def test_exports_validate_against_refi_xsds():
    """What Concord writes -- from its own codebook and from the imported ATLAS.ti
    codes (colours, hierarchy, descriptions) -- is valid REFI-QDA."""
    imp = refiqda.import_qdpx(fixture("atlasti_8.4_standard_project.qdpx"))
    qdc = refiqda.codebook_to_qdc(imp.codebook, "atlas")
    assert refiqda.validate(qdc, "codebook") == []
    back = refiqda.qdc_to_codebook(qdc, "back.qdc")
    assert {(c["id"], c["parent"], c.get("color"), c["definition"]) for c in back["codes"]} \
        == {(c["id"], c["parent"], c.get("color"), c["definition"])
            for c in imp.codebook["codes"]}
    text = "MOD\tHi.\nP01\tCoke, mostly.\n"
    segs = pd.DataFrame([("S-T0001-S01", "S", 4, 7), ("S-T0002-S01", "S", 12, 25)],
                        columns=["segment_id", "session_id", "start", "end"])
    codings = pd.DataFrame([("S-T0002-S01", "ann", "COKE"), ("S-T0002-S01", "ann", "MILK")],
                           columns=["segment_id", "coder", "code"])
    qdpx = refiqda.project_to_qdpx("atlas", "T", imp.codebook, {"S": text}, segs, codings)
    with zipfile.ZipFile(io.BytesIO(qdpx)) as zf:
        assert refiqda.validate(zf.read("project.qde"), "project") == []
    again = refiqda.import_qdpx(qdpx)
    assert again.problems == [] and again.texts == {"S": text}
    assert again.spans.values.tolist() == [["S", 12, 25, "COKE", "ann"],
                                           ["S", 12, 25, "MILK", "ann"]]
