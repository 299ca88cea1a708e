"""Manuscript: shortcode resolution, rendering with the bundled pandoc, the numbers
script, and the real manuscript source against the registry keys it relies on."""
import json
import re
import runpy
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import pytest

from concord import manuscript as ms
from concord.numbers import Fragment, write_json
from concord.tsvio import InputError

ROOT = Path(__file__).resolve().parents[1]


def entry(display, value=None, meaning="m", lines=(2,), segments=(), file="results/x.tsv"):
    return {"value": value, "display": display, "meaning": meaning, "rule": "concordance",
            "source": {"file": file, "lines": list(lines), "sha256": "ab" * 32},
            "segments": list(segments)}


REGISTRY = {
    "numbers": {
        "prevalence.ga.X": entry("67%", 2 / 3, "share of participants in Group A who raised X",
                                 [2], ["S1-T0001-S01", "S1-T0001-S02", "S1-T0002-S01"]),
        "pairwise.spearman.ga.gb": entry("-0.50", -0.5, 'rho "A" vs B', [2, 3, 4, 7]),
        "study.title": entry('A "quoted" title', 'A "quoted" title'),
        "many": entry("7", 7, "seven segments", [5], [f"S1-T{i:04d}-S01" for i in range(7)]),
    },
    "tables": {
        "prevalence": {"caption": "Share | by group", "columns": ["Code", "Group A"],
                       "rows": [["Ex_1", {"num": "prevalence.ga.X"}]]},
    },
}

QMD = """---
title: "{{< num study.title >}}"
---

Group A: {{< num prevalence.ga.X >}}; rho {{< num pairwise.spearman.ga.gb >}}.

{{< table prevalence >}}

## Audit

{{< audit >}}
"""


def test_resolve_num_table_audit():
    out = ms.resolve(QMD, REGISTRY)
    assert 'title: "A \\"quoted\\" title"' in out                     # YAML-escaped, no link
    assert ('[67%](#num-prevalence.ga.X "share of participants in Group A who raised X")'
            in out)
    assert '[-0.50](#num-pairwise.spearman.ga.gb "rho \\"A\\" vs B")' in out
    assert "| Code | Group A |" in out and "| Ex\\_1 | [67%](#num-prevalence.ga.X" in out
    assert "::: {#tbl-prevalence}" in out and ": Share \\| by group\n" in out
    # audit: only the numbers used (title included), first use first, with anchors
    audit = out.split("## Audit")[1]
    assert "{#num-prevalence.ga.X}" in audit and "{#num-pairwise.spearman.ga.gb}" in audit
    assert "{#num-study.title}" in audit and "num-many" not in audit
    assert audit.index("num-study.title") < audit.index("num-prevalence.ga.X")
    assert "results/x.tsv" in audit and "lines 2–4, 7" in audit and "ab" * 32 in audit
    assert "`S1-T0001-S01`" in audit
    assert "{{<" not in out


def test_resolve_plain_and_long_segment_lists():
    out = ms.resolve("n = {{< num many >}}\n\n{{< audit >}}\n", REGISTRY, link=False)
    assert out.startswith("n = 7\n")
    assert "… (7 in all)" in out and "`S1-T0005-S01`" not in out


@pytest.mark.parametrize("text, message", [
    ("ok\n\nvalue {{< num prevalence.ga.Y >}}\n", r"doc\.qmd:3: unknown number key "
                                                  r"'prevalence\.ga\.Y'.*did you mean prevalence\.ga\.X"),
    ("{{< table nope >}}\n", r"doc\.qmd:1: unknown table 'nope'"),
    ("x\n{{< pagebreak >}}\n", r"doc\.qmd:2: unknown shortcode 'pagebreak'"),
    ("{{< audit >}}\n{{< audit >}}\n", r"doc\.qmd:2: a second"),
])
def test_resolve_errors_name_key_and_line(text, message):
    with pytest.raises(InputError, match=message):
        ms.resolve(text, REGISTRY, source="doc.qmd")


def test_unknown_key_in_table_names_table():
    reg = {"numbers": {}, "tables": {"t": {"caption": "c", "columns": ["a"],
                                            "rows": [[{"num": "gone"}]]}}}
    with pytest.raises(InputError, match=r"m\.qmd:1: unknown number key 'gone' in table 't'"):
        ms.resolve("{{< table t >}}\n", reg, source="m.qmd")


def _png(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([0, 1], [0, 1])
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)


def test_render_html_and_docx_with_pandoc(tmp_path):
    (tmp_path / "figs").mkdir()
    _png(tmp_path / "figs" / "fig.png")
    bib = tmp_path / "refs.bib"
    bib.write_text("@book{bird2009, author={Bird, Steven}, title={NLP with Python}, "
                   "publisher={O'Reilly}, year={2009}}\n", encoding="utf-8")
    qmd = QMD.replace("## Audit", "As shown [@bird2009].\n\n![A figure](figs/fig.png)\n\n## Audit")
    text = ms.resolve(qmd, REGISTRY)
    logs = []
    out = ms.render(text, ["html", "docx"], tmp_path / "out", bib, resource_path=[tmp_path],
                    backend="pandoc", log=logs.append)
    assert any(line.startswith("render: pandoc") for line in logs)
    assert (tmp_path / "out" / "manuscript.qmd").read_text(encoding="utf-8") == text
    html = Path(out["html"]).read_text(encoding="utf-8")
    assert 'href="#num-prevalence.ga.X"' in html and 'id="num-prevalence.ga.X"' in html
    assert ">67%</a>" in html
    assert "Bird" in html and "data:image/png;base64" in html          # citeproc, embedded
    assert "<caption>Share | by group</caption>" in html
    with zipfile.ZipFile(out["docx"]) as z:
        doc = z.read("word/document.xml").decode("utf-8")
        assert "67%" in doc and any(n.startswith("word/media/") for n in z.namelist())
    first = {f: Path(p).read_bytes() for f, p in out.items()}
    again = ms.render(text, ["html", "docx"], tmp_path / "out", bib, resource_path=[tmp_path],
                      backend="pandoc")
    for fmt, path in again.items():                                  # deterministic bytes
        assert Path(path).read_bytes() == first[fmt], fmt


def test_render_rejects_unknown_format(tmp_path):
    with pytest.raises(InputError, match="pdf"):
        ms.render("x", ["pdf"], tmp_path, tmp_path / "r.bib", backend="pandoc")


# --- the real manuscript source --------------------------------------------------

DEFAULT_GROUPS = ["patients_u50", "patients_50plus", "oncologists", "nurses"]
OTHER_STAGE_KEYS = [
    "study.sessions", "study.participants", "corpus.words.total",
    "corpus.words.mean_per_session", "corpus.words.min_per_session",
    "corpus.words.max_per_session", "corpus.segments.total", "corpus.turns.total",
    "deid.redactions.total", "agreement.alpha.mean", "agreement.alpha.pooled",
    "agreement.units", "agreement.coders", "agreement.codes.reliable",
    "agreement.codes.tentative", "agreement.codes.unreliable",
    "agreement.threshold.reliable", "agreement.threshold.tentative",
    "corpus.segments.mean_per_session", "corpus.segments.mean_words", "coding.machine.units",
    "coding.machine.precision", "coding.machine.recall", "coding.machine.f1",
    "coding.machine.f1.macro",
] + [f"study.{k}.{g}" for k in ("sessions", "participants") for g in DEFAULT_GROUPS]
OTHER_STAGE_TABLES = ["participants", "agreement"]


def test_manuscript_qmd_uses_only_documented_keys_and_renders(tmp_path):
    """Resolve workflow/report/manuscript.qmd against a stand-in registry holding the
    keys the other stages document plus this stage's real concordance keys."""
    import pandas as pd
    from concord import concordance as cc
    from concord.tsvio import write_tsv
    import test_concordance as tc

    src = (ROOT / "workflow/report/manuscript.qmd").read_text(encoding="utf-8")
    body = re.sub(r"<!--.*?-->", "", src, flags=re.S)
    prose = re.sub(r"\{\{<.*?>\}\}|\[@[^\]]*\]|@[\w-]+|\(results/[^)]*\)|\{#[^}]*\}|"
                   r"width=\"[^\"]*\"|SHA-256", "", body)
    assert not re.findall(r"\d", prose), "typed digits in manuscript.qmd"

    codings = pd.DataFrame([{"segment_id": "s1", "coder": "consensus", "code": "X"}])
    segs = pd.DataFrame([tc.seg("s1", "P1", "ga"), tc.seg("s4", "P4", "gb"),
                         tc.seg("s5", "P5", "gb")])
    parts = pd.DataFrame({"participant_id": ["P1", "P4", "P5"], "session_id": ["S1", "S2", "S2"],
                          "group": ["ga", "gb", "gb"]})
    codings = pd.concat([codings, pd.DataFrame([{"segment_id": "s4", "coder": "consensus",
                                                 "code": "Y"}])])
    prev, ids = cc.prevalence(codings, segs, parts, tc.GROUPS, tc.CODES, 1, 50, 0.95)
    pair = cc.pairwise(prev, tc.GROUPS, tc.CODES)
    pp, pw = tmp_path / "prevalence.tsv", tmp_path / "pairwise.tsv"
    write_tsv(prev, pp)
    write_tsv(pair, pw)
    frag = cc.fragment(prev, pair, ids, tc.GROUPS, tc.CODEBOOK, "consensus", 0.95,
                       str(pp), str(pw), bootstrap=50)
    other = Fragment("other")
    for i, key in enumerate(OTHER_STAGE_KEYS):
        other.add(key, i + 1, f"stand-in for {key}", str(pp))
    other.add("study.title", "A synthetic study", "title", str(pp), shown="A synthetic study")
    for name in OTHER_STAGE_TABLES:
        other.table(name, f"{name} stand-in", ["Row", "n"], [["r", {"num": "study.sessions"}]])
    more_numbers, more_tables = tc.stand_in_registry(tmp_path)   # categories, W, saturation…
    registry = {"numbers": {**more_numbers, **frag.numbers, **other.numbers},
                "tables": {**more_tables, **frag.tables, **other.tables}}
    text = ms.resolve(src, registry, source="manuscript.qmd")
    assert "{{<" not in text and "{#num-pairwise.spearman.max}" in text

    cc.heatmap(prev, tc.GROUPS, tc.CODEBOOK, tmp_path / "heat.png")
    fig = tmp_path / "root" / "results" / "concordance"
    fig.mkdir(parents=True)
    (fig / "prevalence_heatmap.png").write_bytes((tmp_path / "heat.png").read_bytes())
    out = ms.render(text, ["html"], tmp_path / "out", ROOT / "workflow/report/references.bib",
                    resource_path=[tmp_path / "root"], backend="pandoc")
    html = Path(out["html"]).read_text(encoding="utf-8")
    assert "Köster" in html and "Krippendorff" in html and "data:image/png;base64" in html


def test_numbers_script_merges_and_adds_study(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", sys.stderr)          # the script redirects stderr
    monkeypatch.chdir(ROOT)
    (tmp_path / "a.tsv").write_text("x\n1\n", encoding="utf-8")
    f1, f2 = Fragment("a"), Fragment("b")
    f1.add("a.one", 1, "one", str(tmp_path / "a.tsv"), [2])
    f2.add("b.two", 2.5, "two", str(tmp_path / "a.tsv"), [2])
    f2.table("t", "cap", ["k", "v"], [["two", {"num": "b.two"}]])
    f1.write(tmp_path / "f1.json")
    f2.write(tmp_path / "f2.json")
    sm = SimpleNamespace(
        input=SimpleNamespace(fragments=[str(tmp_path / "f1.json"), str(tmp_path / "f2.json")]),
        output=SimpleNamespace(registry=str(tmp_path / "numbers.json")),
        log=[str(tmp_path / "numbers.log")],
        params=SimpleNamespace(study={"id": "s", "title": "T", "synthetic": True,
                                      "nested": {"x": 1}}))
    runpy.run_path(str(ROOT / "workflow/scripts/registry.py"), init_globals={"snakemake": sm})
    reg = json.loads((tmp_path / "numbers.json").read_text(encoding="utf-8"))
    assert set(reg["numbers"]) == {"a.one", "b.two", "study.id", "study.title", "study.synthetic"}
    t = reg["numbers"]["study.title"]
    assert t["display"] == "T" and t["source"]["file"] == "config/config.yaml"
    assert t["source"]["lines"] and "title:" in (ROOT / "config/config.yaml").read_text(
        encoding="utf-8").splitlines()[t["source"]["lines"][0] - 1]
    assert reg["tables"]["t"]["rows"] == [["two", {"num": "b.two"}]]


def test_render_script(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    monkeypatch.chdir(tmp_path)                    # figures resolve against the cwd
    (tmp_path / "figs").mkdir()
    _png(tmp_path / "figs" / "fig.png")
    (tmp_path / "m.qmd").write_text(QMD.replace("## Audit", "![F](figs/fig.png)\n\n## Audit"),
                                    encoding="utf-8")
    (tmp_path / "r.bib").write_text("", encoding="utf-8")
    write_json(REGISTRY, tmp_path / "numbers.json")
    sm = SimpleNamespace(
        input=SimpleNamespace(source="m.qmd", bibliography="r.bib", registry="numbers.json",
                              figures=["figs/fig.png"]),
        output=SimpleNamespace(documents=["res/manuscript.html", "res/manuscript.docx"]),
        log=[str(tmp_path / "render.log")],
        params=SimpleNamespace(formats=["html", "docx"], study={}, groups=[]))
    runpy.run_path(str(ROOT / "workflow/scripts/render.py"), init_globals={"snakemake": sm})
    html = (tmp_path / "res/manuscript.html").read_text(encoding="utf-8")
    assert 'id="num-prevalence.ga.X"' in html and "data:image/png;base64" in html
    assert zipfile.is_zipfile(tmp_path / "res/manuscript.docx")
    log = (tmp_path / "render.log").read_text(encoding="utf-8")
    assert "render: pandoc" in log or "render: quarto" in log
