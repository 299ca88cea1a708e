"""Layout of the rendered manuscript and supplement, checked by machine.

PDF: no two words overlap and none leaves the page (word boxes from pdfplumber).
HTML: laid out by headless Chromium at a desktop and a narrow width, no table wider
than the text column, no clipped caption or heading, no sideways scrolling.

Run on the mini study, on a two-group study with very long group names (made from
tests/data/mini, not synthetic), and on the demo when `make run` has rendered it.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

import layout_checks as L
from conftest import make_study, snakemake

ROOT = Path(__file__).resolve().parents[1]
LONG_LABELS = ["People living with metastatic disease for more than five years, recruited "
               "through community clinics",
               "Clinicians_from_academic_and_community_oncology_practices_in_three_regions"]


def _need_chromium():
    """Chromium (Debian package `chromium`): installed here when missing and apt-get can
    (root, a mirror); otherwise the HTML checks are skipped with the reason."""
    if L.chromium():
        return
    if os.environ.get("CONCORD_NO_APT") or not shutil.which("apt-get") or os.geteuid() != 0:
        pytest.skip("headless Chromium not installed (apt-get install chromium) and this "
                    "test cannot install it (not root or no apt-get)")
    proc = subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
                          capture_output=True, text=True, timeout=900,
                          env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if proc.returncode != 0 or not L.chromium():
        pytest.skip(f"could not install chromium: {proc.stderr.strip()[-300:]}")


@pytest.fixture(scope="module")
def long_names_run(tmp_path_factory) -> Path:
    """The mini study with two very long group names (one a single 70-character
    word), not synthetic, a long title, run end to end."""
    work = make_study(tmp_path_factory.mktemp("layout") / "long")
    cfg_path = work / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    for g, label in zip(cfg["groups"], LONG_LABELS):
        g["label"] = label
    cfg["study"].update(synthetic=False, setting="Two community clinics and one academic "
                        "centre; sessions held in a meeting room at each site",
                        title="Priorities in treatment decisions: a two-group focus-group "
                              "study with group names long enough to wrap in every format")
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True),
                        encoding="utf-8")
    snakemake(work)
    return work


def _documents(study: Path) -> list[Path]:
    out = study / "results" / "manuscript"
    return [out / "manuscript", out / "supplement"]


# --- the checks themselves catch what they are for ---------------------------------

def test_pdf_check_finds_overprinted_and_clipped_words(tmp_path):
    import typst
    bad = ('#set page(width: 10cm, height: 5cm)\n'
           '#place(top + left, dx: 1cm, dy: 1cm)[CHANGING_PRIORITIES]\n'
           '#place(top + left, dx: 2.2cm, dy: 1cm)[communication]\n'
           '#place(top + left, dx: 8.5cm, dy: 3cm)[overflowing]\n')
    good = '#set page(width: 10cm, height: 5cm)\nOne line.\n\nAnother line, below it.\n'
    for name, src in (("bad", bad), ("good", good)):
        (tmp_path / f"{name}.pdf").write_bytes(typst.compile(src.encode(), format="pdf"))
    problems = L.pdf_problems(tmp_path / "bad.pdf")
    assert any("letters overlap in 'CHA" in p or "overlaps" in p for p in problems), problems
    assert any("'overflowing' outside the page" in p for p in problems)
    assert L.pdf_problems(tmp_path / "good.pdf") == []


def test_html_check_finds_cut_captions_and_wide_tables(tmp_path):
    _need_chromium()
    page = tmp_path / "p.html"
    page.write_text(
        "<html><head><style>body{max-width:30em} .s{overflow-x:auto}"
        " h2{white-space:nowrap;overflow:hidden}</style></head><body>"
        "<h2>A heading far too long to fit on one line of a thirty em column</h2>"
        "<div class='s'><table><caption>Agreement with 95% bootstrap intervals</caption>"
        "<tr>" + "<td>0.36&#8209;0.51</td>" * 30 + "</tr></table></div></body></html>",
        encoding="utf-8")
    problems = L.html_problems(page, width=1000)
    assert any(p.startswith("h2 clipped") for p in problems), problems
    assert any("caption inside a box that cuts or scrolls it" in p for p in problems), problems
    assert any("table overflows" in p for p in problems), problems


# --- the real documents ------------------------------------------------------------

def _check_pdf(study: Path) -> dict:
    pages = {}
    for doc in _documents(study):
        problems = L.pdf_problems(doc.with_suffix(".pdf"))
        assert not problems, f"{doc.name}.pdf: " + "; ".join(problems[:10])
        pages[doc.name] = L.pdf_page_count(doc.with_suffix(".pdf"))
    return pages


def _check_html(study: Path) -> None:
    _need_chromium()
    for doc in _documents(study):
        for width in (900,):                      # a laptop window; the body is 58em
            problems = L.html_problems(doc.with_suffix(".html"), width=width)
            assert not problems, f"{doc.name}.html at {width}px: " + "; ".join(problems[:10])


@pytest.mark.workflow
def test_pdf_layout_long_group_names(long_names_run):
    pages = _check_pdf(long_names_run)
    assert pages["manuscript"] < pages["supplement"] + 10


@pytest.mark.workflow
def test_html_layout_long_group_names(long_names_run):
    _check_html(long_names_run)


@pytest.mark.workflow
def test_long_names_study_reads_as_its_own(long_names_run):
    """Not synthetic, two groups: no demo wording, no "most similar … least similar",
    group labels (never IDs) in the tables, unstated COREQ items "not reported"."""
    from lxml import html as lh
    out = long_names_run / "results" / "manuscript"
    def words(name):                   # typographic apostrophes as typed ones
        page = lh.fromstring((out / name).read_bytes()).text_content()
        return " ".join(page.replace("\u2019", "'").split())
    text, supp = words("manuscript.html"), words("supplement.html")
    for word in ("synthetic", "cancer", "simulat", "most similar", "least similar"):
        assert word not in text.lower() and word not in supp.lower(), word
    assert "two groups' rankings" in text
    assert "not reported" in supp
    doc = lh.fromstring((out / "supplement.html").read_bytes())
    headers = [" ".join(th.text_content().split()) for th in doc.xpath("//th")]
    assert "patients" not in headers and "clinicians" not in headers, headers


@pytest.mark.workflow
def test_mini_study_layout(mini_run):
    _check_pdf(mini_run)
    _check_html(mini_run)


def test_demo_layout():
    """The demo study as `make run` rendered it (skipped before a run)."""
    if not (ROOT / "results" / "manuscript" / "supplement.pdf").exists():
        pytest.skip("the demo has not been rendered here (make run)")
    pages = _check_pdf(ROOT)
    assert pages["manuscript"] <= 25, pages
    _check_html(ROOT)
