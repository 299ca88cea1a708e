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
    assert '[\u22120.50](#num-pairwise.spearman.ga.gb "rho \\"A\\" vs B")' in out   # true minus
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
    assert "7 segments, the first 5 shown" in out
    assert "`S1-T0004-S01`" in out and "`S1-T0005-S01`" not in out


def test_audit_quotes_segments_with_session_and_speaker():
    segs = {"S1-T0001-S01": {"session_id": "S1", "speaker_id": "P03",
                             "text": "I want to see my [NAME-1] *graduate*."}}
    out = ms.resolve("{{< num prevalence.ga.X >}}\n\n{{< audit >}}\n", REGISTRY, segments=segs)
    assert ("    - `S1-T0001-S01` (session S1, P03): \u201cI want to see my \\[NAME-1\\] "
            "\\*graduate\\*.\u201d") in out
    assert "    - `S1-T0002-S01`\n" in out or out.endswith("    - `S1-T0002-S01`\n")


def test_load_segments_reads_contract_columns(tmp_path):
    p = tmp_path / "S1.tsv"
    p.write_text("segment_id\tsession_id\tturn\tspeaker_id\ttext\n"
                 "S1-T0001-S01\tS1\t1\tP02\tHello there.\n", encoding="utf-8")
    assert ms.load_segments([p]) == {"S1-T0001-S01": {"session_id": "S1", "speaker_id": "P02",
                                                      "text": "Hello there."}}
    (tmp_path / "bad.tsv").write_text("segment_id\ttext\nx\ty\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.tsv"):
        ms.load_segments([tmp_path / "bad.tsv"])


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


def _document_with_figure_and_citation(tmp_path):
    """The test document resolved, plus a figure and a citation: ``(text, bib path)``."""
    (tmp_path / "figs").mkdir()
    _png(tmp_path / "figs" / "fig.png")
    bib = tmp_path / "refs.bib"
    bib.write_text("@book{bird2009, author={Bird, Steven}, title={NLP with Python}, "
                   "publisher={O'Reilly}, year={2009}}\n", encoding="utf-8")
    qmd = QMD.replace("## Audit", "As shown [@bird2009].\n\n![A figure](figs/fig.png)\n\n## Audit")
    return ms.resolve(qmd, REGISTRY), bib


def test_render_html_and_docx_with_pandoc(tmp_path):
    text, bib = _document_with_figure_and_citation(tmp_path)
    logs = []
    out = ms.render(text, ["html", "docx"], tmp_path / "out", bib, resource_path=[tmp_path],
                    backend="pandoc", log=logs.append)
    assert any(line.startswith("render: pandoc") for line in logs)
    assert (tmp_path / "out" / "manuscript.qmd").read_text(encoding="utf-8") == text
    html = Path(out["html"]).read_text(encoding="utf-8")
    assert 'href="#num-prevalence.ga.X"' in html and 'id="num-prevalence.ga.X"' in html
    assert ">67%</a>" in html
    assert "Bird" in html and "data:image/png;base64" in html          # citeproc, embedded
    assert "<strong>Table 1.</strong> Share | by group</caption>" in html   # numbered
    with zipfile.ZipFile(out["docx"]) as z:
        doc = z.read("word/document.xml").decode("utf-8")
        assert "67%" in doc and any(n.startswith("word/media/") for n in z.namelist())
    first = {f: Path(p).read_bytes() for f, p in out.items()}
    again = ms.render(text, ["html", "docx"], tmp_path / "out", bib, resource_path=[tmp_path],
                      backend="pandoc")
    for fmt, path in again.items():                                  # deterministic bytes
        assert Path(path).read_bytes() == first[fmt], fmt


def test_render_rejects_unknown_format(tmp_path):
    with pytest.raises(InputError, match="odt.*supported: html, docx, pdf"):
        ms.render("x", ["odt"], tmp_path, tmp_path / "r.bib", backend="pandoc")


def test_render_pdf_through_typst(tmp_path):
    """pandoc -> Typst -> typst.compile: a PDF with the figure, the citation, internal
    links and embedded fonts, the same bytes twice, dated SOURCE_DATE_EPOCH."""
    text, bib = _document_with_figure_and_citation(tmp_path)
    logs = []
    out = ms.render(text, ["pdf"], tmp_path / "out", bib, resource_path=[tmp_path],
                    backend="pandoc", log=logs.append)
    pdf = Path(out["pdf"]).read_bytes()
    assert pdf.startswith(b"%PDF-") and b"%%EOF" in pdf[-64:]
    assert re.search(rb"/Subtype\s*/Image", pdf)                       # the figure
    assert re.search(rb"/FontFile", pdf)                                # fonts embedded
    assert b"/Link" in pdf                                               # number -> audit
    assert b"D:19800101000000" in pdf                                   # SOURCE_DATE_EPOCH
    assert not list((tmp_path / "out").glob("*.typ"))                   # no leftovers
    assert any("typst" in line for line in logs)
    again = ms.render(text, ["pdf"], tmp_path / "out2", bib, resource_path=[tmp_path],
                      backend="pandoc")
    assert Path(again["pdf"]).read_bytes() == pdf


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
    "coding.machine.f1.macro", "agreement.ci.mean", "agreement.alpha.masi",
    "agreement.ci.masi", "agreement.ac1.mean", "agreement.machine.alpha.mean",
    "agreement.bootstrap",
] + [f"study.{k}.{g}" for k in ("sessions", "participants") for g in DEFAULT_GROUPS]
OTHER_STAGE_TABLES = ["participants", "agreement", "agreement_machine", "agreement_group",
                      "machine_evaluation"]


def test_manuscript_qmd_uses_only_documented_keys_and_renders(tmp_path):
    """Resolve workflow/report/manuscript.qmd against a stand-in registry holding the
    keys the other stages document plus this stage's real concordance keys."""
    import pandas as pd
    from concord import concordance as cc
    from concord.tsvio import write_tsv
    import test_concordance as tc

    src = (ROOT / "workflow/report/manuscript.qmd").read_text(encoding="utf-8")
    supp = (ROOT / "workflow/report/supplement.qmd").read_text(encoding="utf-8")
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
    # keys added to the .qmd by stages since this list was written: stand-ins too (the
    # end-to-end test renders the .qmd against the real registry of the mini study)
    known = {**more_numbers, **frag.numbers, **other.numbers}
    both = src + supp
    keys = set(re.findall(r"\{\{<\s*(?:num|text)\s+(\S+)\s*>\}\}", both))
    keys |= set(re.findall(r"\{\{<\s*if\s+(?:not\s+)?([\w.]+)", both)) - {"defined",
                                                                          "undefined",
                                                                          "registered"}
    for key in sorted(keys - set(known)):
        other.add(key, 1, f"stand-in for {key}", str(pp))
    other.numbers["agreement.status"]["display"] = "complete"
    other.numbers["design.groups"]["value"] = 4          # every branch of a 4-group study
    tabled = {**more_tables, **frag.tables, **other.tables}
    for name in sorted(set(re.findall(r"\{\{<\s*table\s+(\S+)\s*>\}\}", both)) - set(tabled)):
        other.table(name, f"{name} stand-in", ["Row", "n"], [["r", {"num": "study.sessions"}]])
    registry = {"numbers": {**more_numbers, **frag.numbers, **other.numbers},
                "tables": {**more_tables, **frag.tables, **other.tables}}
    import yaml
    checklist = yaml.safe_load((ROOT / "workflow/report/coreq.yaml").read_text(encoding="utf-8"))
    study_cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text(encoding="utf-8"))
    blocks = {"checklist": ms.checklist_markdown(checklist, study_cfg),
              "colophon": ms.colophon("pandoc", "pandoc 3.9", ["html", "pdf"]),
              **ms.MISSING_SECTION}
    used = []
    text = ms.resolve(src, registry, source="manuscript.qmd", blocks=blocks,
                      audit_link="supplement.qmd", used=used)
    stext = ms.resolve(supp, registry, source="supplement.qmd", blocks=blocks, audit_keys=used)
    assert "{{<" not in text + stext and "{#num-pairwise.spearman.max}" in stext
    assert "{#tbl-coreq}" in stext and "{#colophon}" in stext
    assert "](supplement.qmd#num-pairwise.spearman.max" in text
    labels = {**ms.crossref_labels(text), **ms.crossref_labels(stext, "S")}
    assert labels["tbl-participants"] == "Table 1" and labels["tbl-coreq"].startswith("Table S")
    text = ms.for_format(text, "html", labels,
                         {k: "supplement.qmd" for k in labels if " S" in labels[k]})
    assert "@tbl-" not in text and "@fig-" not in text
    assert "](supplement.html#tbl-agreement)" in text

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
        input=SimpleNamespace(fragments=[str(tmp_path / "f1.json"), str(tmp_path / "f2.json")],
                              codebook=str(ROOT / "config" / "codebook.yaml")),
        output=SimpleNamespace(registry=str(tmp_path / "numbers.json")),
        log=[str(tmp_path / "numbers.log")],
        params=SimpleNamespace(study={"id": "s", "title": "T", "synthetic": True,
                                      "design": "interview", "nested": {"x": 1}}, groups=[],
                               unit="turn", roles=["participant"],
                               configfile=str(ROOT / "config" / "config.yaml")))
    runpy.run_path(str(ROOT / "workflow/scripts/registry.py"), init_globals={"snakemake": sm})
    reg = json.loads((tmp_path / "numbers.json").read_text(encoding="utf-8"))
    assert {"a.one", "b.two", "study.id", "study.title", "study.synthetic"} <= set(reg["numbers"])
    # every metadata key is registered; one the study does not state says so
    assert {f"study.{k}" for k in ms.STUDY_METADATA} <= set(reg["numbers"])
    q = reg["numbers"]["study.research_question"]
    assert q["display"] == "not reported" and q["value"] is None and "undefined" in q
    # the design facts the sentences adapt to; no coders: agreement pending
    assert reg["numbers"]["agreement.status"]["display"] == "pending"
    assert reg["numbers"]["coding.human_coders"]["value"] == 0
    # the design's words and the coding unit, from the params the rule passes
    assert reg["numbers"]["design.sessions.noun"]["display"] == "interviews"
    assert reg["numbers"]["segment.unit"]["display"] == "turn"
    assert reg["numbers"]["codebook.described"]["value"] is True    # the demo codebook
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
    (tmp_path / "m.qmd").write_text("Group A: {{< num prevalence.ga.X >}}.\n\n"
                                    "![F](figs/fig.png){#fig-f}\n\n@fig-f, @tbl-prevalence.\n"
                                    "\n{{< introduction >}}\n", encoding="utf-8")
    (tmp_path / "s.qmd").write_text(QMD, encoding="utf-8")
    (tmp_path / "intro.md").write_text("<!-- note -->Our own introduction.\n", encoding="utf-8")
    (tmp_path / "r.bib").write_text("", encoding="utf-8")
    write_json(REGISTRY, tmp_path / "numbers.json")
    sm = SimpleNamespace(
        input=SimpleNamespace(source="m.qmd", supplement="s.qmd", bibliography="r.bib",
                              registry="numbers.json", introduction="intro.md",
                              figures=["figs/fig.png"], segments=[],
                              checklist=str(ROOT / "workflow/report/coreq.yaml")),
        output=SimpleNamespace(documents=["res/manuscript.html", "res/manuscript.docx",
                                          "res/supplement.html", "res/supplement.docx"],
                               resolved="res/manuscript.qmd",
                               supplement_resolved="res/supplement.qmd"),
        log=[str(tmp_path / "render.log")],
        params=SimpleNamespace(formats=["html", "docx"], study={}, groups=[],
                               config={"study": {"setting": "S"}}))
    runpy.run_path(str(ROOT / "workflow/scripts/render.py"), init_globals={"snakemake": sm})
    html = (tmp_path / "res/manuscript.html").read_text(encoding="utf-8")
    supp = (tmp_path / "res/supplement.html").read_text(encoding="utf-8")
    assert 'href="supplement.html#num-prevalence.ga.X"' in html and "data:image/png;base64" in html
    assert "Our own introduction." in html and "note" not in html
    assert ">Figure\u00a01</a>" in html and 'href="supplement.html#tbl-prevalence"' in html
    assert 'id="num-prevalence.ga.X"' in supp and "Table S1.</strong>" in supp
    assert zipfile.is_zipfile(tmp_path / "res/manuscript.docx")
    log = (tmp_path / "render.log").read_text(encoding="utf-8")
    assert "render: pandoc" in log or "render: quarto" in log
    assert re.search(r"render: engine (pandoc|quarto) \d", log)


# ---------------------------------------------------------------------------
# the rendered manuscript of the mini study (end to end)
# ---------------------------------------------------------------------------

# Digits allowed outside registry numbers: fixed method names and standards.
FIXED_DIGITS = re.compile(r"COREQ|SHA-256|\b(?:Typst|pandoc|Quarto|typst|Snakemake|Python)\b"
                          r"[\s\d.]*")


def unregistered_digits(html: str) -> list[str]:
    """Digits in the rendered text that did not come from the registry.

    Removed before looking: registry numbers (links to #num-…), registry tables
    (div#tbl-…, all cells and captions come from the registry), citations and the
    reference list (years, pages), the appendices (audit entries are registry data;
    COREQ item numbers are the checklist's own), code, the title block (front-matter
    numbers are resolved from the registry), scripts and styles. What is left is
    prose typed into the .qmd; any digit there is reported with its context.
    """
    from lxml import html as lh
    doc = lh.fromstring(html)
    drop = doc.xpath('//head | //script | //style | //code | //header[@id="title-block-header"]'
                     ' | //a[contains(@href, "#num-")] | //div[starts-with(@id, "tbl-")]'
                     ' | //span[@class="registry"]'
                     ' | //a[contains(@href, "#tbl-") or contains(@href, "#fig-")]'
                     ' | //figure[starts-with(@id, "fig-")]'
                     ' | //*[contains(concat(" ", @class, " "), " citation ")] | //*[@id="refs"]'
                     ' | //*[@id="colophon"]')
    for el in drop:
        el.drop_tree() if el.getparent() is not None else None
    for el in doc.xpath('//*[@id="audit" or @id="coreq"]'):   # appendices: section or heading
        if el.tag in ("h1", "h2", "h3"):
            for sib in list(el.itersiblings()):
                if sib.tag in ("h1", "h2")[:int(el.tag[1])]:
                    break
                sib.drop_tree()
        el.drop_tree()
    text = " ".join(doc.text_content().split())
    text = FIXED_DIGITS.sub(" ", text)
    return [text[max(0, m.start() - 40):m.end() + 40] for m in re.finditer(r"\d+", text)]


def test_unregistered_digits_are_caught():
    page = ('<html><body><p>We had <a href="#num-n" title="t">12</a> groups '
            '<span class="citation">(Tong 2007)</span> and 7 typed.</p>'
            '<div id="tbl-x"><table><tr><td>Patients &lt; 50</td></tr></table></div>'
            '<h2 id="audit">Audit</h2><p>line 4</p><ul><li>5</li></ul></body></html>')
    found = unregistered_digits(page)
    assert len(found) == 1 and "and 7 typed" in found[0]


def test_rendered_manuscript_numbers_link_to_audit_entries(mini_run):
    """Main text and supplement of the mini study: no typed digits, every number links
    to its audit entry in the supplement (the main text across documents), with the
    registry's meaning as tooltip and its display as text; tables and figures
    numbered; the COREQ checklist complete; the three formats of both documents."""
    from lxml import html as lh
    out = mini_run / "results" / "manuscript"
    page = (out / "manuscript.html").read_text(encoding="utf-8")
    spage = (out / "supplement.html").read_text(encoding="utf-8")
    registry = json.loads((out / "numbers.json").read_text(encoding="utf-8"))["numbers"]
    assert not unregistered_digits(page), unregistered_digits(page)
    assert not unregistered_digits(spage), unregistered_digits(spage)
    doc, sdoc = lh.fromstring(page), lh.fromstring(spage)
    links = doc.xpath('//a[starts-with(@href, "supplement.html#num-")]')
    slinks = sdoc.xpath('//a[starts-with(@href, "#num-")]')
    assert len(links) > 40 and slinks
    assert not doc.xpath('//a[starts-with(@href, "#num-")]')       # the audit is not here
    ids = set(sdoc.xpath("//@id"))
    for a in links + slinks:
        key = a.get("href").split("#num-", 1)[1]
        assert key in registry, key
        assert "num-" + key in ids, key                              # the audit entry exists
        shown = a.text_content()
        assert shown == "source" or \
            a.get("title") == " ".join(registry[key]["meaning"].split()), key   # tooltip
        if shown == "source":            # a registered sentence: the span before the link
            shown = a.getparent().getprevious().text_content()       # <span>…</span><sup>
        assert " ".join(ms.plain(shown).split()) == \
            " ".join(ms.plain(registry[key]["display"]).split()), key
    # every number linked in the text has its audit entry
    used = {a.get("href").split("#num-", 1)[1] for a in links}
    for key in used:
        assert "num-" + key in ids, key
    # tables and figures numbered, references resolved, in both documents
    text = " ".join(doc.text_content().split())
    assert "Table 1." in text and "Figure 1." in text and "@tbl-" not in text + spage
    assert re.search(r"Table S\d+\.", " ".join(sdoc.text_content().split()))
    assert doc.xpath('//a[starts-with(@href, "supplement.html#tbl-")]')
    # audit entries quote segments: ID, session, pseudonym and de-identified text
    audit = spage[spage.index('id="audit"'):]
    audit = lh.fromstring(audit[audit.index(">") + 1:]).text_content()
    seg_keys = [k for k in registry if registry[k]["segments"] and "num-" + k in ids]
    assert seg_keys
    sid = registry[seg_keys[0]]["segments"][0]
    import pandas as pd
    seg = pd.read_csv(mini_run / "results" / "segments" / f"{sid.split('-')[0]}.tsv", sep="\t",
                      dtype=str, keep_default_na=False).set_index("segment_id").loc[sid]
    assert f"{sid} (session {seg.session_id}, {seg.speaker_id}): \u201c" in audit
    assert " ".join(seg.text.split()) in " ".join(audit.split())
    # the COREQ checklist: 32 rows, every section it names exists in the main text
    coreq = sdoc.xpath('//div[@id="tbl-coreq"]//tbody/tr')
    assert len(coreq) == 32
    main_ids = set(doc.xpath("//@id"))
    targets = [a.get("href").split("#", 1)[1] for tr in coreq
               for a in tr.xpath(".//a[starts-with(@href, 'manuscript.html#')]")]
    assert targets and all(t in main_ids for t in targets), \
        [t for t in targets if t not in main_ids]
    assert all(tr.xpath("string(./td[3])").strip() for tr in coreq)     # an answer each
    colophon = sdoc.xpath('//*[@id="colophon"]')[0].text_content()
    assert re.search(r"rendered by (pandoc|quarto) \d", colophon)
    # figures embedded; the PDF and DOCX are there, for both documents
    assert page.count("data:image/png;base64") >= 1
    for stem in ("manuscript", "supplement"):
        assert (out / f"{stem}.pdf").read_bytes().startswith(b"%PDF-")
        assert zipfile.is_zipfile(out / f"{stem}.docx")
    # the mini study is synthetic: it says so; nothing of the demo's subject is there
    assert "synthetic" in text.lower() and "cancer" not in (text + spage).lower()


def _checklist(n=32, **change):
    items = [{"n": i, "topic": f"T{i}", "question": "q", "where": ["design"],
              "answer": "{study.setting}, {{< num many >}} of them"} for i in range(1, n + 1)]
    items[0] = {"n": 1, "topic": "Interviewer", "question": "q", "study": "facilitators"}
    items[2] = {"n": 3, "topic": "Duration", "question": "q", "answer": "{study.duration}"}
    items[1].update(change)
    return {"domains": [{"name": "D", "items": items}]}


def test_checklist_fills_config_and_registry_numbers():
    md = ms.checklist_markdown(_checklist(), {"study": {"setting": "Clinic *A*"}},
                               section_doc="manuscript.qmd")
    assert len(re.findall(r"\n\| \d", md)) == 32
    # not stated by the study: "not reported", never an invented answer
    assert "| 1 | Interviewer | not reported | – |" in md
    assert "| 3 | Duration | not reported | – |" in md
    assert ("| 2 | T2 | Clinic \\*A\\*, {{< num many >}} of them | "
            "[Design](manuscript.qmd#design) |") in md
    out = ms.resolve("{{< checklist >}}\n", REGISTRY, blocks={"checklist": md})
    assert "[7](#num-many" in out                      # numbers inside come from the registry
    stated = ms.checklist_markdown(_checklist(), {"study": {"setting": "S",
                                                            "facilitators": "Two nurses"}})
    assert "| 1 | Interviewer | Two nurses | – |" in stated


@pytest.mark.parametrize("checklist, message", [
    (_checklist(31), "numbered 1 to 32"),
    (_checklist(where=[], answer=""), "item 2 .T2.: give `study`"),
    (_checklist(answer="{groups.nowhere}"), r"item 2: placeholder \{groups.nowhere\}"),
])
def test_checklist_errors_name_the_item(checklist, message):
    with pytest.raises(InputError, match=message):
        ms.checklist_markdown(checklist, {"study": {"setting": "S"}, "groups": []},
                              source="c.yaml")


def test_real_coreq_checklist_is_complete():
    import yaml
    cl = yaml.safe_load((ROOT / "workflow/report/coreq.yaml").read_text(encoding="utf-8"))
    cfg = yaml.safe_load((ROOT / "config/config.yaml").read_text(encoding="utf-8"))
    md = ms.checklist_markdown(cl, cfg)
    assert [int(r.split("|")[1]) for r in md.splitlines() if re.match(r"\| \d", r)] == \
        list(range(1, 33))
    assert cfg["study"]["setting"].split()[0] in md
    # a study that states nothing: every metadata item reads "not reported"
    bare = ms.checklist_markdown(cl, {"study": {"id": "x", "title": "T", "synthetic": False}})
    rows = [r for r in bare.splitlines() if re.match(r"\| \d", r)]
    keyed = {i["n"] for d in cl["domains"] for i in d["items"] if "study" in i
             and "answer" not in i}
    assert all("| not reported |" in rows[n - 1] for n in keyed)
    assert "synthetic" not in bare.lower() and "simulat" not in bare.lower()
    # every study key the checklist asks for is in the schema and the registry's list
    schema = yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text(
        encoding="utf-8"))["properties"]["study"]["properties"]
    assert {i["study"] for d in cl["domains"] for i in d["items"] if "study" in i} <= \
        set(ms.STUDY_METADATA)
    assert set(ms.STUDY_METADATA) <= set(schema)


# --- conditionals, typesetting, cross-references ----------------------------------

COND_REG = {"numbers": {
    "design.groups": entry("2", 2), "agreement.status": entry("pending", "pending"),
    "study.synthetic": entry("no", False),
    "study.setting": entry("Two *clinics*", "Two *clinics*"),
    "stat.rho": {**entry("undefined", None), "undefined": "every code had the same share"},
    "stat.neg": entry("-0.25", -0.25), "stat.ci": entry("-0.04–1.00", [-0.04, 1.0]),
}, "tables": {}}


@pytest.mark.parametrize("text, expected", [
    ("{{< if design.groups >= 3 >}}most similar{{< else >}}two groups{{< endif >}}",
     "two groups"),
    ("{{< if design.groups == 2 >}}A{{< endif >}}{{< if design.groups > 2 >}}B{{< endif >}}",
     "A"),
    ("{{< if agreement.status == pending >}}pending{{< else >}}{{< num nowhere >}}{{< endif >}}",
     "pending"),                                 # a branch not taken is not resolved
    ("{{< if study.synthetic >}}synthetic{{< endif >}}done", "done"),
    ("{{< if not study.synthetic >}}real{{< endif >}}", "real"),
    ("{{< if defined stat.rho >}}x{{< else >}}no rho{{< endif >}}", "no rho"),
    ("{{< if undefined not.registered >}}absent{{< endif >}}", "absent"),
    ("{{< if registered stat.rho >}}kept{{< endif >}}", "kept"),
    ("{{< if design.groups > 1 >}}{{< if agreement.status != pending >}}a{{< else >}}b"
     "{{< endif >}}{{< else >}}c{{< endif >}}", "b"),              # nested
    ("{{< if design.groups > 1 >}}\n\nblock\n\n{{< endif >}}\n", "\n\nblock\n\n\n"),
    ("Setting: {{< text study.setting >}}.", "Setting: Two \\*clinics\\*."),  # not a link
])
def test_conditionals_follow_the_registry(text, expected):
    assert ms.resolve(text, COND_REG, link=False) == expected


@pytest.mark.parametrize("text, message", [
    ("{{< if design.groups > 1 >}}open", r"d\.qmd:1: .*not closed"),
    ("x\n{{< endif >}}", r"d\.qmd:2: .*without an open"),
    ("{{< if a b c d >}}{{< endif >}}", "cannot read the condition"),
    ("{{< if nowhere >}}{{< endif >}}", "unknown number key 'nowhere' in an if condition"),
    ("{{< if study.setting > 3 >}}{{< endif >}}", "needs numbers"),
    ("{{< if design.groups >}}a{{< else >}}b{{< else >}}c{{< endif >}}", "a second"),
])
def test_conditional_errors_name_the_line(text, message):
    with pytest.raises(InputError, match=message):
        ms.resolve(text, COND_REG, source="d.qmd")


def test_undefined_statistic_says_why_and_numbers_are_typeset():
    out = ms.resolve("rho {{< num stat.rho >}}; {{< num stat.neg >}}; {{< num stat.ci >}}",
                     COND_REG, link=False)
    assert out == ("rho undefined (every code had the same share); \u22120.25; "
                   "\u22120.04\u2060\u2013\u20601.00")
    assert ms.typeset("-5 to 12 pp") == "\u22125\u00a0to\u00a012\u00a0pp"
    assert ms.typeset("0.86 (0.34–1.00)") == "0.86\u00a0(0.34\u2060–\u20601.00)"
    assert ms.typeset("Patients < 50") == "Patients < 50"          # a label: untouched
    assert ms.plain(ms.typeset("-0.04–1.00")) == "-0.04–1.00"


def test_round_half_up_for_display():
    from concord.numbers import display, round_half_up
    assert display(1 / 8, percent=True) == "13%" and display(5 / 8, percent=True) == "63%"
    assert display(0.125) == "0.13" and display(2.675) == "2.68" and display(-0.125) == "-0.13"
    assert round_half_up(-0.004, 2) == "0.00"                      # no "-0.00"


def test_tables_show_labels_wrap_words_and_explain_undefined_cells():
    reg = {"numbers": {**COND_REG["numbers"]},
           "tables": {"t": {"caption": "Cap.", "columns": ["Code", "nurses", "q"],
                            "rows": [["nurses", {"num": "stat.neg"}, {"num": "stat.rho"}],
                                     ["A_VERY_LONG_CODE_IDENTIFIER", {"num": "stat.ci"},
                                      {"num": "stat.neg"}]]}}}
    out = ms.resolve("{{< table t >}}", reg, link=False, labels={"nurses": "Oncology nurses"})
    assert out.startswith("```{=typst}\n#show figure: set block(breakable: false)")  # short
    lines = out.split(":::", 1)[1].splitlines()
    assert lines[2] == "| Code | Oncology nurses | q |"                # label, not the ID
    assert "| Oncology nurses | \u22120.25 | undefined |" in out
    rule = lines[3].split("|")[1:-1]
    assert len(rule[0]) >= len("A_VERY_LONG_CODE_IDENTIFIER")        # longest word fits
    assert rule[0].startswith(":") and rule[1].endswith(":")         # text left, numbers right
    assert ": Cap. Undefined: every code had the same share." in out


def test_crossrefs_number_tables_and_figures_across_documents():
    main = ("See @tbl-a, @fig-f and @tbl-s.\n\n::: {#tbl-a}\n\n| x |\n|--|\n| 1 |\n\n"
            ": First\n\n:::\n\n![Fig](f.png){#fig-f width=\"50%\"}\n\n"
            "[n](supplement.qmd#num-k \"m\")\n")
    supp = "::: {#tbl-s}\n\n| y |\n|--|\n| 2 |\n\n: Second\n\n:::\n"
    labels = {**ms.crossref_labels(main), **ms.crossref_labels(supp, "S")}
    assert labels == {"tbl-a": "Table 1", "fig-f": "Figure 1", "tbl-s": "Table S1"}
    out = ms.for_format(main, "pdf", labels, {"tbl-s": "supplement.qmd"})
    assert "See [Table\u00a01](#tbl-a), [Figure\u00a01](#fig-f) and " \
           "[Table\u00a0S1](supplement.pdf#tbl-s)." in out
    assert ": **Table 1.** First" in out and "![**Figure 1.** Fig](f.png){#fig-f width" in out
    assert "](supplement.pdf#num-k" in out
    with pytest.raises(InputError, match="@tbl-nope"):
        ms.for_format("@tbl-nope", "html", {})


def _template_registry(tmp_path, **values):
    """Stand-ins for every key and table the templates and the checklist use."""
    import yaml
    texts = [(ROOT / f"workflow/report/{n}").read_text(encoding="utf-8")
             for n in ("manuscript.qmd", "supplement.qmd", "coreq.yaml")]
    both = "\n".join(texts)
    keys = set(re.findall(r"\{\{<\s*(?:num|text)\s+(\S+)\s*>\}\}", both))
    keys |= set(re.findall(r"\{\{<\s*if\s+(?:not\s+)?(?:defined\s+|undefined\s+|registered\s+)?"
                           r"([\w.]+)", both))
    (tmp_path / "x.tsv").write_text("x\n1\n", encoding="utf-8")
    f = Fragment("stand-in")
    for key in sorted(keys):
        v = values.get(key, 1)
        f.add(key, v, f"stand-in for {key}", str(tmp_path / "x.tsv"),
              shown=v if isinstance(v, str) else None)
    for name in set(re.findall(r"\{\{<\s*table\s+(\S+)\s*>\}\}", both)):
        f.table(name, f"{name} stand-in", ["Row", "n"], [["r", {"num": "study.sessions"}]])
    checklist = yaml.safe_load(texts[2])
    return {"numbers": f.numbers, "tables": f.tables}, checklist


@pytest.mark.parametrize("groups", [1, 2, 4])
def test_template_adapts_to_the_design(tmp_path, groups):
    """Human coding pending, 1, 2 or 4 groups, not synthetic: the text resolves without
    any agreement statistic, says coding is pending, compares groups only when there
    are several and says "most similar … least similar" only with three or more."""
    reg, checklist = _template_registry(tmp_path, **{"agreement.status": "pending",
                                                     "design.groups": groups,
                                                     "study.synthetic": False})
    for key in [k for k in reg["numbers"] if k.startswith(("agreement.", "coding.machine"))]:
        if key != "agreement.status":
            del reg["numbers"][key]                     # a pending study has none of these
    for name in ("agreement", "agreement_machine", "agreement_group", "machine_evaluation"):
        reg["tables"].pop(name, None)
    cfg = {"study": {"id": "s", "title": "T", "synthetic": False}, "groups": []}
    blocks = {"checklist": ms.checklist_markdown(checklist, cfg), "colophon": "",
              **ms.MISSING_SECTION}
    used = []
    text = ms.resolve((ROOT / "workflow/report/manuscript.qmd").read_text(encoding="utf-8"),
                      reg, blocks=blocks, used=used, audit_link="supplement.qmd")
    supp = ms.resolve((ROOT / "workflow/report/supplement.qmd").read_text(encoding="utf-8"),
                      reg, blocks=blocks, audit_keys=used)
    low = (text + supp.split("## Number audit")[0]).lower()     # the audit quotes keys
    assert "human coding is pending" in low and "0 coders" not in low
    for word in ("synthetic", "cancer", "simulat"):
        assert word not in low, word
    assert ("most similar" in low) == (groups >= 3)
    assert ("the two groups' rankings of the codes" in " ".join(low.split())) == (groups == 2)
    assert ("between groups" in low) == (groups > 1)
    labels = {**ms.crossref_labels(text), **ms.crossref_labels(supp, "S")}
    ms.for_format(text, "html", labels, {k: "supplement.qmd" for k in ms.crossref_labels(supp)})
