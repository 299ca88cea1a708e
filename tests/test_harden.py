"""Hostile input and faults (issue 14): every one fails fast, deterministically, as an
InputError naming the file and line, and leaves nothing half-written behind."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import docx
import pandas as pd
import pytest
import yaml

from concord import atomic, limits, provenance, refiqda, studyconfig
from concord import transcripts as T
from concord.code import compile_codebook, match_segment
from concord.tsvio import InputError, read_tsv, write_tsv

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "workflow" / "schemas"
MINI = REPO / "tests" / "data" / "mini"
QDPX = REPO.parent / "shared" / "fixtures" / "refi_qda" / "atlasti_8.4_standard_project.qdpx"


# ---------------------------------------------------------------- regexes on RE2

def _book(regex):
    book = yaml.safe_load((MINI / "codebook.yaml").read_text(encoding="utf-8"))
    book["codes"][0]["patterns"]["regex"] = [regex]
    return book


def test_catastrophic_regex_runs_in_linear_time():
    """``(a+)+$`` backtracks exponentially in Python's re (the audit killed the run
    after 240 s); on RE2 a 200,000-character segment is matched at once."""
    compiled = compile_codebook(_book("(a+)+$"))
    text = "a" * 200_000 + "!"
    started = time.perf_counter()
    assert match_segment(text, compiled, 3, frozenset()) == []
    assert match_segment("aaaa", compiled, 3, frozenset())[0][0] == "DAILY_LIFE"
    assert time.perf_counter() - started < 5   # milliseconds in fact; generous for CI load


def test_demo_codebook_regexes_compile_and_match_as_before():
    book = yaml.safe_load((REPO / "config" / "codebook.yaml").read_text(encoding="utf-8"))
    compiled = compile_codebook(book)
    work = next(c for c in compiled.codes if any("working" in r for _, r in c.regex))
    rx = work.regex[0][0]
    assert [m.group() for m in rx.finditer("It's REALLY working. It was working!")] == \
        ["It's REALLY working", "was working"]


@pytest.mark.parametrize("pattern", [r"(\w+) \1", r"(?=x)y", r"(?<!not )working", "[a-"])
def test_regex_re2_cannot_run_is_rejected_at_load_naming_code_and_pattern(tmp_path, pattern):
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(_book(pattern)), encoding="utf-8")
    with pytest.raises(InputError) as err:
        studyconfig.load_codebook(path, SCHEMAS / "codebook.schema.yaml")
    msg = str(err.value)
    assert str(path) in msg and "code DAILY_LIFE" in msg and repr(pattern) in msg
    with pytest.raises(InputError, match="DAILY_LIFE.*RE2"):
        compile_codebook(_book(pattern))


# ---------------------------------------------------------------- archives

def _zip(members: dict) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _docx_bytes(text="MOD: Hello there.") -> bytes:
    d = docx.Document()
    d.add_paragraph(text)
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def test_docx_zip_bomb_is_refused_from_the_directory():
    """A member that expands 1000-fold (the audit's 3 MB DOCX took 5.1 GB and 46 s)."""
    real = zipfile.ZipFile(io.BytesIO(_docx_bytes()))
    members = {i.filename: real.read(i) for i in real.infolist()}
    members["word/document.xml"] = b"<w:t>" + b" " * 20_000_000 + b"</w:t>"
    bomb = _zip(members)
    assert len(bomb) < 200_000
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"bomb\.docx: archive member 'word/document\.xml' "
                                         r"expands .*zip bomb"):
        T.parse(bomb, source="bomb.docx")
    assert time.perf_counter() - started < 5


def test_archive_limits_total_size_and_member_count(monkeypatch):
    data = _zip({f"m{i}.txt": os.urandom(64) for i in range(20)})
    monkeypatch.setattr(limits, "MAX_ARCHIVE_MEMBERS", 10)
    with pytest.raises(InputError, match=r"x\.qdpx: the QDPX .* has 20 members"):
        refiqda.read_qdpx(data, "x.qdpx")
    monkeypatch.setattr(limits, "MAX_ARCHIVE_MEMBERS", 10_000)
    monkeypatch.setattr(limits, "MAX_ARCHIVE_BYTES", 1000)
    with pytest.raises(InputError, match=r"x\.docx: the DOCX unpacks to 1,280 bytes"):
        limits.check_archive(data, "x.docx", "DOCX")


@pytest.mark.skipif(not QDPX.is_file(), reason="../shared/fixtures not present")
def test_real_qdpx_and_docx_pass_the_archive_limits():
    """ATLAS.ti's standard project (4.5:1) and a python-docx file are ordinary."""
    limits.check_archive(QDPX.read_bytes(), str(QDPX), "QDPX")
    limits.check_archive(_docx_bytes(), "x.docx", "DOCX")


# ---------------------------------------------------------------- lines and turns

def test_fifty_megabyte_unpunctuated_turn_fails_at_once_naming_file_and_line():
    raw = "MOD: Welcome.\nP1: " + "word " * 10_000_000 + "\n"
    started = time.perf_counter()
    with pytest.raises(InputError, match=r"big\.txt, line 2: the line has 50,000,004 "
                                         r"characters.*MAX_LINE_CHARS"):
        T.parse(raw, source="big.txt", fmt="labelled")
    assert time.perf_counter() - started < 10


def test_turn_merged_from_many_lines_is_bounded():
    raw = "MOD: Welcome.\nP1: start\n" + ("and so on and so forth " * 40 + "\n") * 300
    with pytest.raises(InputError, match=r"long\.txt, line 2: the speaker turn starting here "
                                         r"has .*MAX_TURN_CHARS"):
        T.parse(raw, source="long.txt", fmt="labelled_multiline")
    vtt = "WEBVTT\n\n" + "".join(f"00:00:{i % 60:02d}.000 --> 00:00:{i % 60:02d}.500\n"
                                 f"<v Ann>{'blah ' * 200}\n\n" for i in range(300))
    with pytest.raises(InputError, match=r"v\.vtt, line 4: the speaker turn"):
        T.parse(vtt, source="v.vtt", fmt="webvtt")


def test_long_docx_paragraph_names_the_paragraph(monkeypatch):
    monkeypatch.setattr(limits, "MAX_LINE_CHARS", 100)
    with pytest.raises(InputError, match=r"d\.docx, paragraph 1: the paragraph has"):
        T.parse(_docx_bytes("MOD: " + "x" * 200), source="d.docx")


# ---------------------------------------------------------------- paths

def _check(tmp_path, monkeypatch, transcript, coder_path="coders/c.tsv", data_root=None):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.txt").write_text("MOD: hi\n", encoding="utf-8")
    (tmp_path / "coders").mkdir(exist_ok=True)
    (tmp_path / "coders" / "c.tsv").write_text("segment_id\tcode\n", encoding="utf-8")
    config = {"groups": [{"id": "g"}], "sessions": "sessions.tsv",
              "participants": "participants.tsv", "coders": "coders.tsv",
              "deidentify": {"roster": "restricted/roster.tsv"}}
    if data_root:
        config["data_root"] = data_root
    sessions = pd.DataFrame({"session_id": ["S1", "S2"], "group": ["g", "g"],
                             "transcript": ["t.txt", transcript]})
    participants = pd.DataFrame(columns=["participant_id", "session_id", "group"])
    coders = pd.DataFrame({"coder": ["C1"], "session_id": ["S1"], "path": [coder_path]})
    studyconfig.check_study(config, sessions, participants, coders)


def test_transcript_outside_the_study_is_an_error_naming_the_row(tmp_path, monkeypatch):
    with pytest.raises(InputError, match=r"sessions\.tsv, line 3: transcript "
                                         r"'\.\./\.\./\.\./\.\./etc/passwd' lies outside the study"):
        _check(tmp_path, monkeypatch, "../../../../etc/passwd")
    with pytest.raises(InputError, match=r"sessions\.tsv, line 3: transcript '/etc/passwd'"):
        _check(tmp_path, monkeypatch, "/etc/passwd")
    (tmp_path / "link.txt").symlink_to("/etc/passwd")
    with pytest.raises(InputError, match=r"line 3: transcript 'link\.txt' lies outside"):
        _check(tmp_path, monkeypatch, "link.txt")
    with pytest.raises(InputError, match=r"coders\.tsv, line 2: coder file '\.\./c\.tsv'"):
        _check(tmp_path, monkeypatch, "t.txt", coder_path="../c.tsv")


def test_data_root_admits_a_folder_outside_the_study(tmp_path, monkeypatch):
    study, data = tmp_path / "study", tmp_path / "share"
    study.mkdir()
    data.mkdir()
    (data / "s2.txt").write_text("MOD: hi\n", encoding="utf-8")
    with pytest.raises(InputError, match="outside the study folder; move it"):
        _check(study, monkeypatch, "../share/s2.txt")
    _check(study, monkeypatch, "../share/s2.txt", data_root="../share")
    with pytest.raises(InputError, match="outside the study folder or data_root"):
        _check(study, monkeypatch, "../../etc/passwd", data_root="../share")


def test_roster_outside_the_study_is_an_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config = {"groups": [{"id": "g"}], "sessions": "s.tsv", "participants": "p.tsv",
              "coders": "c.tsv", "deidentify": {"roster": "/etc/shadow"}}
    empty = pd.DataFrame(columns=["session_id", "group", "transcript", "participant_id",
                                  "coder", "path"])
    with pytest.raises(InputError, match=r"config: deidentify\.roster: file '/etc/shadow'"):
        studyconfig.check_study(config, empty, empty, empty)


def test_trace_reads_only_results(tmp_path):
    (tmp_path / "restricted").mkdir()
    (tmp_path / "restricted" / "roster.tsv").write_text("secret\tAnna Smith\n", encoding="utf-8")
    reg = {"numbers": {k: {"value": 1, "display": "1", "source": {"file": f, "lines": [1]}}
                       for k, f in [("a", "restricted/roster.tsv"), ("b", "../../etc/passwd"),
                                    ("c", "results/../restricted/roster.tsv")]}}
    (tmp_path / "results" / "manuscript").mkdir(parents=True)
    (tmp_path / "results" / "manuscript" / "numbers.json").write_text(json.dumps(reg))
    for key in "abc":
        out = "\n".join(provenance.trace(key, str(tmp_path)))
        assert "not read: trace reads only files under results/" in out
        assert "Anna" not in out and "root:" not in out


# ---------------------------------------------------------------- UTF-8

@pytest.mark.parametrize("name, schema", [("roster.tsv", "roster.schema.yaml"),
                                          ("sessions.tsv", "sessions.schema.yaml")])
def test_non_utf8_sheet_names_file_and_line(tmp_path, name, schema):
    path = tmp_path / name
    text = (MINI / ("restricted/roster.tsv" if name == "roster.tsv" else name)).read_bytes()
    lines = text.split(b"\n")
    lines[2] = lines[2] + "é".encode("latin-1")
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(InputError, match=rf"{name}, line 3: the sheet is not UTF-8"):
        studyconfig.load_sheet(path, SCHEMAS / schema, restricted=True)
    with pytest.raises(InputError, match=rf"{name}, line 3: not UTF-8"):
        read_tsv(path)


def test_non_utf8_codebook_names_file_and_line(tmp_path):
    path = tmp_path / "codebook.yaml"
    path.write_bytes((MINI / "codebook.yaml").read_bytes().replace(b"family", b"fam\xefly", 1))
    with pytest.raises(InputError, match=r"codebook\.yaml, line \d+: the codebook is not UTF-8"):
        studyconfig.load_codebook(path, SCHEMAS / "codebook.schema.yaml")


# ---------------------------------------------------------------- atomic outputs

def _temps(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob("*") if ".concord-tmp-" in p.name]


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    out = tmp_path / "t.tsv"
    write_tsv(pd.DataFrame({"a": [1]}), out)
    before = out.read_bytes()
    with pytest.raises(ValueError):
        write_tsv(pd.DataFrame({"a": ["tab\there"]}), out)
    with pytest.raises(OSError):
        with atomic.open_atomic(out) as fh:
            fh.write("half")
            raise OSError(28, "No space left on device")
    assert out.read_bytes() == before and _temps(tmp_path) == []


def test_a_writer_that_produces_nothing_is_an_error_and_leaves_nothing(tmp_path):
    with pytest.raises(FileNotFoundError):
        with atomic.replacing(tmp_path / "m.docx"):
            pass
    assert list(tmp_path.iterdir()) == []


def test_keys_are_private_and_never_follow_a_planted_symlink(tmp_path):
    from concord.privacy import write_private_json
    victim = tmp_path / "victim"
    victim.write_text("keep", encoding="utf-8")
    keys = tmp_path / "restricted" / "keys"
    keys.mkdir(parents=True)
    (keys / "S1.json").symlink_to(victim)
    write_private_json({"a": 1}, keys / "S1.json")
    assert victim.read_text(encoding="utf-8") == "keep"
    assert not (keys / "S1.json").is_symlink()
    assert stat.S_IMODE((keys / "S1.json").stat().st_mode) == 0o600


def test_a_job_whose_parent_died_cannot_replace_the_output(tmp_path):
    """The orphan of a killed parent (Snakemake, here a stand-in) keeps running; its
    commit is refused, its temporary file removed, and the newer output stays."""
    out = tmp_path / "out.txt"
    child = tmp_path / "job.py"
    child.write_text(f"""
import os, sys, time
sys.path.insert(0, {str(REPO / 'workflow' / 'scripts')!r})
from concord import atomic
atomic._job()                                    # the job starts: ancestry taken
open("ready", "w").close()
while not os.path.exists("go"):
    time.sleep(0.02)
try:
    atomic.write_text({str(out)!r}, "stale")
    result = "WROTE"
except atomic.StaleJobError as exc:
    result = f"REFUSED {{exc}}"
open("result", "w").write(result)
""", encoding="utf-8")
    parent = subprocess.Popen([sys.executable, "-c", "import subprocess, sys, time; "
                               f"subprocess.Popen([sys.executable, {str(child)!r}]); "
                               "time.sleep(120)"], cwd=tmp_path)
    try:
        for _ in range(500):
            if (tmp_path / "ready").exists():
                break
            time.sleep(0.02)
        parent.kill()                                # SIGKILL, as the audit did
        parent.wait()
        out.write_text("newer", encoding="utf-8")    # the resumed run's output
        (tmp_path / "go").touch()
        for _ in range(500):
            if (tmp_path / "result").exists() and (tmp_path / "result").read_text():
                break
            time.sleep(0.02)
    finally:
        parent.kill()
    assert (tmp_path / "result").read_text().startswith("REFUSED")
    assert "is gone" in (tmp_path / "result").read_text()
    assert out.read_text(encoding="utf-8") == "newer" and _temps(tmp_path) == []


def test_sweep_removes_only_temporaries_of_dead_writers(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".x.tsv.concord-tmp-{dead.pid}-abcd1234.tsv"
    live = tmp_path / f".y.tsv.concord-tmp-{os.getpid()}-abcd1234.tsv"
    other = tmp_path / "notes.tmp"
    for p in (stale, live, other):
        p.write_text("x", encoding="utf-8")
    assert atomic.sweep([tmp_path]) == [str(stale)]
    assert live.exists() and other.exists()


def test_leak_gate_scans_tmp_files_too(tmp_path):
    from concord import privacy
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "x.tmp").write_text("Zebedee Quartermaine said", encoding="utf-8")
    roster = pd.DataFrame({"participant_id": ["P01"], "session_id": ["S1"],
                           "speaker_label": ["Zebedee"], "full_name": ["Zebedee Quartermaine"],
                           "aliases": [""]})
    table, hits = privacy.leak_check(tmp_path / "results", roster, [])
    assert "results/x.tmp" in set(table["file"]) and hits


# ---------------------------------------------------------------- repository hygiene

@pytest.mark.parametrize("path, ignored", [
    ("resources/other_study/restricted/roster.tsv", True),
    ("somewhere/deep/restricted/keys/S1.json", True),
    ("restricted/keys/S1.json", True),
    ("report.html", True),
    ("resources/demo/study_a/restricted/roster.tsv", False),
    ("resources/demo/study_c/restricted/roster.tsv", False),
])
def test_gitignore_covers_every_restricted_folder_but_the_synthetic_demo(path, ignored):
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    proc = subprocess.run(["git", "check-ignore", "--no-index", "-q", path], cwd=REPO)
    assert (proc.returncode == 0) == ignored


def test_oversized_transcript_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = tmp_path / "huge.txt"
    path.write_text("MOD: hi\n" * 100, encoding="utf-8")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", 500)
    with pytest.raises(InputError, match=r"huge\.txt: the file has 800 bytes.*MAX_FILE_BYTES"):
        T.read_raw(path)
