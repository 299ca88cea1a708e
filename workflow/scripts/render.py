"""Snakemake script for rule `render`: resolve the registry shortcodes in the
manuscript and its supplement and render both (Quarto if installed, else the bundled
pandoc; the PDF through Typst)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402

import yaml  # noqa: E402

from concord import manuscript  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main(sm):
    with open(sm.input.registry, encoding="utf-8") as fh:
        registry = json.load(fh)
    segments = manuscript.load_segments(list(sm.input.segments), registry)
    with open(sm.input.checklist, encoding="utf-8") as fh:
        checklist = yaml.safe_load(fh)
    backend, version = manuscript.engine()
    log(f"render: engine {version}")
    docs = {Path(p).stem: str(Path(p).parent) for p in sm.output.documents}
    if len(set(docs.values())) != 1 or len(docs) != 2:
        raise ValueError(f"render: outputs must be a manuscript and a supplement in one "
                         f"folder, got {sorted(sm.output.documents)}")
    main_stem = Path(sm.output.resolved).stem
    supp_stem = Path(sm.output.supplement_resolved).stem
    sections = {name: Path(getattr(sm.input, name)).read_text(encoding="utf-8")
                for name in ("introduction", "discussion") if getattr(sm.input, name, None)}
    blocks = {name: sections.get(name, manuscript.MISSING_SECTION[name])
              for name in manuscript.MISSING_SECTION}
    blocks["checklist"] = manuscript.checklist_markdown(
        checklist, dict(sm.params.config), source=str(sm.input.checklist),
        section_doc=f"{main_stem}.qmd")
    blocks["colophon"] = manuscript.colophon(backend, version, list(sm.params.formats))

    labels = {g["id"]: g["label"] for g in sm.params.groups}  # label: required (schema)
    used = []
    main_text = manuscript.resolve(
        Path(sm.input.source).read_text(encoding="utf-8"), registry, link=True,
        source=str(sm.input.source), segments=segments, blocks=blocks,
        audit_link=f"{supp_stem}.qmd", used=used, labels=labels)
    supp_text = manuscript.resolve(
        Path(sm.input.supplement).read_text(encoding="utf-8"), registry, link=True,
        source=str(sm.input.supplement), segments=segments, blocks=blocks, audit_keys=used,
        labels=labels)
    main_labels = manuscript.crossref_labels(main_text)
    supp_labels = manuscript.crossref_labels(supp_text, prefix="S")
    xref = {**main_labels, **supp_labels}
    outdir = docs[main_stem]
    # figures are referenced relative to the study folder (the working directory)
    for stem, text, external in (
            (main_stem, main_text, {i: f"{supp_stem}.qmd" for i in supp_labels}),
            (supp_stem, supp_text, {i: f"{main_stem}.qmd" for i in main_labels})):
        written = manuscript.render(text, list(sm.params.formats), outdir,
                                    sm.input.bibliography, resource_path=[os.getcwd()],
                                    stem=stem, backend=backend, log=log, labels=xref,
                                    external=external)
        for fmt, path in written.items():
            log(f"render: wrote {path}")


main(snakemake)  # noqa: F821
