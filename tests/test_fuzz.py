"""Property-based fuzzing (Hypothesis) of everything that reads a user's file: the
transcript parsers, the sheet and codebook loaders, the coder importers (TSV by
segment or span, REFI-QDA QDPX/QDC). Property: whatever the bytes, the reader
returns or raises :class:`InputError` -- never a bare exception.

The budget is fixed (``derandomize``: the same examples on every run and machine;
``max_examples`` small; no deadline, so load does not decide), so the suite stays
fast and reproducible. Each crash Hypothesis found became an InputError in the
reader and an explicit example here (``@example``)."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import docx
import pandas as pd
import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from concord import refiqda, studyconfig
from concord import transcripts as T
from concord.code import compile_codebook, spans_to_segments
from concord.tsvio import InputError, read_tsv

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "workflow" / "schemas"
MINI = REPO / "tests" / "data" / "mini"
FIXTURES = REPO.parent / "shared" / "fixtures"

# CONCORD_FUZZ_EXAMPLES=2000 hunts longer, with random seeds (not in the suite)
_HUNT = int(os.environ.get("CONCORD_FUZZ_EXAMPLES", "0"))
FUZZ = settings(derandomize=not _HUNT, max_examples=_HUNT or 60, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

# text that looks like a transcript: labels, colons, timestamps, markers, cues, tags
_PIECES = st.sampled_from(["MOD", "P1", "Anna", "Speaker 2", ":", " - ", "\n", "\n\n",
                           "[00:12:31] ", "(inaudible)", "[crosstalk 00:01:02]", "WEBVTT",
                           "00:00:01.000 --> 00:00:04.000", "<v Anna>", "</v>", "NOTE",
                           "# comment", "\r", "\t", " ", "é", "’", "\ufeff", "&amp;", "<b>",
                           "text", "Dr. Okafor", "-->", "1", "\x00"])
TRANSCRIPTS = st.one_of(st.text(max_size=300),
                        st.lists(_PIECES, max_size=40).map("".join))


def _only_input_errors(fn, *args, **kw):
    try:
        return fn(*args, **kw)
    except InputError:
        return None


@FUZZ
@given(raw=TRANSCRIPTS, fmt=st.sampled_from(["auto", "labelled", "labelled_multiline",
                                               "webvtt"]),
       labels=st.sampled_from([None, ["MOD", "Anna", "P1", "Speaker 2"]]))
@example(raw="WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n<v >x", fmt="webvtt", labels=None)
@example(raw="MOD:\n", fmt="labelled", labels=None)
def test_transcript_parsers_raise_only_input_errors(raw, fmt, labels):
    turns = _only_input_errors(T.parse, raw, labels, "fuzz.txt", fmt, log=io.StringIO())
    for t in turns or []:
        assert t.text and t.label and t.line >= 1


def _docx_bytes() -> bytes:
    d = docx.Document()
    for p in ("MOD: Welcome to the group.", "Anna: I hope it works.", "Thanks."):
        d.add_paragraph(p)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


DOCX = _docx_bytes()


@FUZZ
@given(cut=st.integers(0, len(DOCX)), flips=st.lists(st.tuples(st.integers(0, len(DOCX) - 1),
                                                               st.integers(0, 255)),
                                                     max_size=4))
@example(cut=len(DOCX) // 2, flips=[])
def test_damaged_docx_raises_only_input_errors(cut, flips):
    data = bytearray(DOCX[:max(cut, 4)])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    data[:4] = b"PK\x03\x04"
    _only_input_errors(T.parse, bytes(data), ["MOD", "Anna"], "fuzz.docx", "docx",
                       log=io.StringIO())


SHEETS = [("sessions.tsv", "sessions.schema.yaml"), ("participants.tsv",
                                                      "participants.schema.yaml"),
          ("coders.tsv", "coders.schema.yaml"), ("restricted/roster.tsv", "roster.schema.yaml")]
_CELLS = st.one_of(st.text(max_size=12), st.sampled_from(["", "M1", "P01", "patients", "1",
                                                          "-1", "labelled", "MOD", '"', "\\"]))


@FUZZ
@given(which=st.integers(0, len(SHEETS) - 1),
       rows=st.lists(st.lists(_CELLS, max_size=7), max_size=5),
       header_cut=st.integers(0, 6), tail=st.binary(max_size=8))
@example(which=3, rows=[], header_cut=6, tail=b"\xff\xfe")
@example(which=0, rows=[["M1", "patients", "t.txt", "labelled", "x"]], header_cut=6, tail=b"")
def test_sheet_loaders_raise_only_input_errors(tmp_path_factory, which, rows, header_cut, tail):
    name, schema = SHEETS[which]
    header = (MINI / name).read_text(encoding="utf-8").split("\n")[0].split("\t")
    header = header[:max(1, len(header) - header_cut)] if header_cut < 6 else header
    text = "\t".join(header) + "\n" + "".join("\t".join(r) + "\n" for r in rows)
    path = tmp_path_factory.mktemp("sheet") / Path(name).name
    path.write_bytes(text.encode("utf-8", "surrogatepass") + tail)
    _only_input_errors(studyconfig.load_sheet, path, SCHEMAS / schema,
                       key="session_id" if which == 0 else None, restricted=which == 3)


_BOOK = yaml.safe_load((MINI / "codebook.yaml").read_text(encoding="utf-8"))
_YAML_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.text(max_size=8),
              st.sampled_from(["(a+)+$", "[", "\\1", "FAMILY", "HOPE", "(?=x)", "\\bok\\b"])),
    lambda kids: st.one_of(st.lists(kids, max_size=3),
                           st.dictionaries(st.sampled_from(["id", "name", "category", "parent",
                                                            "patterns", "regex", "terms",
                                                            "codes", "version", "negation"]),
                                           kids, max_size=4)),
    max_leaves=12)


@FUZZ
@given(code=st.integers(0, len(_BOOK["codes"]) - 1),
       field=st.sampled_from(["id", "name", "category", "parent", "patterns", "definition",
                              "roles", "examples"]),
       value=_YAML_VALUES, top=st.sampled_from([None, "codes", "categories", "version"]))
@example(code=0, field="patterns", value={"regex": ["(a+)+$"]}, top=None)
@example(code=0, field="patterns", value={"regex": [None]}, top=None)
def test_codebook_loader_raises_only_input_errors(tmp_path_factory, code, field, value, top):
    book = yaml.safe_load(yaml.safe_dump(_BOOK))
    if top is not None:
        book[top] = value
    else:
        book["codes"][code][field] = value
    path = tmp_path_factory.mktemp("book") / "codebook.yaml"
    path.write_text(yaml.safe_dump(book, allow_unicode=True), encoding="utf-8")
    loaded = _only_input_errors(studyconfig.load_codebook, path,
                                SCHEMAS / "codebook.schema.yaml")
    if loaded is not None:      # what the loader accepts, the automatic coder compiles
        _only_input_errors(compile_codebook, loaded)


@FUZZ
@given(text=st.text(max_size=200), raw=st.binary(max_size=64))
@example(text="version: [", raw=b"")
@example(text="", raw=b"\xef\xbb\xbf\xff")
def test_codebook_file_bytes_raise_only_input_errors(tmp_path_factory, text, raw):
    path = tmp_path_factory.mktemp("book") / "codebook.yaml"
    path.write_bytes(text.encode("utf-8", "surrogatepass") + raw)
    _only_input_errors(studyconfig.load_codebook, path, SCHEMAS / "codebook.schema.yaml")


# ---------------------------------------------------------------- coder importers

SEGMENTS = pd.DataFrame({"segment_id": ["M1-T0002-S01", "M1-T0002-S02"],
                         "session_id": ["M1", "M1"], "start": ["10", "40"],
                         "end": ["39", "80"], "participant_id": ["P01", "P01"],
                         "speaker_id": ["P01", "P01"]})
_SPAN_CELL = st.one_of(st.sampled_from(["M1", "M2", "0", "10", "39", "80", "-1", "1e3", "",
                                        "FAMILY", "NaN", "9" * 30]), st.text(max_size=5))


@FUZZ
@given(rows=st.lists(st.tuples(_SPAN_CELL, _SPAN_CELL, _SPAN_CELL, _SPAN_CELL), max_size=6),
       overlap=st.sampled_from([0.5, 1.0]))
@example(rows=[("M1", "9" * 30, "80", "FAMILY")], overlap=0.5)
def test_span_coder_files_raise_only_input_errors(rows, overlap):
    spans = pd.DataFrame(rows, columns=["session_id", "start", "end", "code"], dtype=str)
    _only_input_errors(spans_to_segments, spans, SEGMENTS.copy(), "coder.tsv", overlap,
                       codes={"FAMILY", "HOPE"})


@FUZZ
@given(data=st.binary(max_size=200))
@example(data=b"segment_id\tcode\nM1\t\xff\n")
@example(data=b"")
def test_coder_tsv_bytes_raise_only_input_errors(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("coder") / "c.tsv"
    path.write_bytes(data)
    _only_input_errors(read_tsv, path)


def _qdpx_bytes() -> bytes:
    segs = pd.DataFrame({"segment_id": ["M1-T0001-S01"], "session_id": ["M1"],
                         "start": [0], "end": [5]})
    cod = pd.DataFrame({"segment_id": ["M1-T0001-S01"], "coder": ["C1"], "code": ["FAMILY"]})
    return refiqda.project_to_qdpx("mini", "Mini", _BOOK, {"M1": "Hello world"}, segs, cod)


QDPX = _qdpx_bytes()


@FUZZ
@given(member=st.sampled_from(["project.qde", "source", None]), cut=st.integers(0, 2000),
       flips=st.lists(st.tuples(st.integers(0, 4000), st.integers(0, 255)), max_size=3),
       extra=st.sampled_from([b"", b"\xff\xfe", b"<!DOCTYPE x [<!ENTITY a 'b'>]>"]))
@example(member="project.qde", cut=2000, flips=[], extra=b"\xff")
@example(member="source", cut=0, flips=[], extra=b"\xff\xfe")   # was a UnicodeDecodeError
def test_qdpx_importer_raises_only_input_errors(member, cut, flips, extra):
    zf = zipfile.ZipFile(io.BytesIO(QDPX))
    members = {i.filename: zf.read(i) for i in zf.infolist()}
    if member == "source":
        member = next(m for m in members if m.startswith("sources/"))
    if member is None:
        data = bytearray(QDPX[:max(cut, 1)])
    else:
        qde = bytearray(members[member][:cut] + extra)
        for at, value in flips:
            if at < len(qde):
                qde[at] = value
        members[member] = bytes(qde)
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as out:
            for name, body in members.items():
                out.writestr(name, body)
        data = bytearray(buf.getvalue())
    _only_input_errors(refiqda.read_qdpx, bytes(data), "fuzz.qdpx")


@pytest.mark.skipif(not (FIXTURES / "refi_qda").is_dir(), reason="../shared/fixtures absent")
@FUZZ
@given(cut=st.integers(0, 700), flips=st.lists(st.tuples(st.integers(0, 700),
                                                         st.integers(0, 255)), max_size=3))
def test_qdc_importer_raises_only_input_errors(cut, flips):
    data = bytearray((FIXTURES / "refi_qda" / "atlasti_win_23.4.0_codebook.qdc").read_bytes()
                     [:cut])
    for at, value in flips:
        if at < len(data):
            data[at] = value
    _only_input_errors(refiqda.qdc_to_codebook, bytes(data), "fuzz.qdc")
