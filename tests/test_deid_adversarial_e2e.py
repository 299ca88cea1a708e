"""The adversarial focus group (tests/data/deid_adversarial) run end to end through the
workflow as a third session of the mini study: no identifier in the de-identified text
or anywhere else under results/ (the rendered documents included, PDF text when a PDF is
made and ``pypdf`` is installed), no theme word lost, the review list written to
restricted/ (0600 in 0700)."""

from __future__ import annotations

import os
import re
import stat
import zipfile
from pathlib import Path

import pytest
import yaml
from conftest import make_study, snakemake

from concord import privacy
from concord.textnorm import fold

ADV = Path(__file__).resolve().parent / "data" / "deid_adversarial"
PIDS = {"P01": "P08", "P02": "P09", "P03": "P10", "P04": "P11", "P05": "P12"}


def _study(tmp_path: Path) -> tuple[Path, str, list[str]]:
    work = make_study(tmp_path / "mini")
    raw, gold = privacy.parse_marked((ADV / "transcript.txt").read_text(encoding="utf-8"))
    (work / "transcripts" / "M3.txt").write_text(raw, encoding="utf-8")
    with open(work / "sessions.tsv", "a", encoding="utf-8") as fh:
        fh.write("M3\tpatients\ttranscripts/M3.txt\tlabelled\t3\n")
    rows = (ADV / "roster.tsv").read_text(encoding="utf-8").splitlines()[1:]
    with open(work / "restricted" / "roster.tsv", "a", encoding="utf-8") as fh:
        for r in rows:
            pid, _, label, name, alias = r.split("\t")
            fh.write("\t".join([PIDS.get(pid, pid), "M3", label, name, alias]) + "\n")
    with open(work / "participants.tsv", "a", encoding="utf-8") as fh:
        for i, pid in enumerate(PIDS.values()):
            fh.write(f"{pid}\tM3\tpatients\t{40 + 10 * (i % 3)}-{49 + 10 * (i % 3)}\tfemale\n")
    idents = sorted({raw[int(g.start):int(g.end)] for g in gold.itertuples(index=False)})
    return work, raw, idents


def _texts(results: Path):
    for p in sorted(results.rglob("*")):
        if not p.is_file():
            continue
        if p.suffix in (".docx", ".zip"):
            with zipfile.ZipFile(p) as z:
                for n in z.namelist():
                    yield f"{p}:{n}", z.read(n).decode("utf-8", "replace")
        elif p.suffix == ".pdf":
            try:  # PDF text when a PDF reader is installed (the leak gate extracts it too)
                import pypdf
            except ImportError:
                continue
            yield str(p), "\n".join(pg.extract_text() or "" for pg in pypdf.PdfReader(p).pages)
        elif p.suffix not in (".png", ".jpg", ".svg"):
            yield str(p), p.read_text(encoding="utf-8", errors="replace")


def _sentence_start(text: str, i: int) -> bool:
    """Whether position i starts a sentence (or a cell, a quote, a tag's text)."""
    return re.search(r"(?:\A|[.!?\t\n\"“‘(>:])\s*\Z", text[max(0, i - 4):i]) is not None


@pytest.mark.workflow
def test_adversarial_focus_group_end_to_end(tmp_path):
    from concord.deid.roster import is_common
    work, raw, idents = _study(tmp_path)
    # up to the documents and the manifest: the leak gate (rule leak_check) is the gate
    # helper's (tests/test_privacy.py); this test checks the outputs itself
    snakemake(work, "render", "manifest")
    deid_text = (work / "results" / "deid" / "M3.txt").read_text(encoding="utf-8")
    for kept in ["I trust my oncologist", "the financial burden is real", "hope came back",
                 "Trust matters most to me", "the Chair of the patient council",
                 "Hope is what keeps me going."]:
        assert kept in deid_text
    # no identifier in any output: names that are also words (Hope, Will, Grace,
    # Bill) only in the forms a name takes (capitalised, not at a sentence start)
    from concord.deid.review import codebook_terms
    labels = codebook_terms(work / "codebook.yaml")  # code ids and labels (HOPE, "Hope")
    leaks = []
    for where, text in _texts(work / "results"):
        body = fold(text)
        transcript_text = "/results/deid/" in where or "/results/segments/" in where
        for k, ident in enumerate(idents):
            if fold(ident) in labels and not transcript_text:
                continue  # a code label in tables and the manuscript, not a person
            if " " not in ident and is_common(ident):
                hits = [m for m in re.finditer(r"(?<!\w)" + re.escape(ident) + r"(?!\w)", text)
                        if not _sentence_start(text, m.start())]
            else:
                hits = list(re.finditer(r"(?<!\w)" + re.escape(fold(ident)) + r"(?!\w)", body))
            if hits:
                leaks.append((Path(where).name, k))  # no identifier in the message
    assert leaks == []
    review = work / "restricted" / "review" / "M3.tsv"
    assert stat.S_IMODE(os.stat(review).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(review.parent).st_mode) == 0o700
    rows = review.read_text(encoding="utf-8").splitlines()
    assert rows[0].split("\t")[:3] == ["candidate_id", "session_id", "line"]
    assert len(rows) == 3  # "Will it get easier?" and "Hope is what keeps me going."
    cfg = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    assert "names" not in cfg["deidentify"]
