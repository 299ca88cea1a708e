"""Snakemake script for rule `render`: resolve the registry shortcodes in the
manuscript source and render it (Quarto if installed, else the bundled pandoc)."""
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
    source = Path(sm.input.source)
    with open(sm.input.registry, encoding="utf-8") as fh:
        registry = json.load(fh)
    segments = manuscript.load_segments(list(sm.input.segments), registry)
    checklist_path = getattr(sm.input, "checklist", None)
    with open(checklist_path, encoding="utf-8") as fh:
        checklist = yaml.safe_load(fh)
    backend, version = manuscript.engine()
    log(f"render: engine {version}")
    blocks = {"checklist": manuscript.checklist_markdown(checklist, dict(sm.params.config),
                                                         source=str(checklist_path)),
              "colophon": manuscript.colophon(backend, version, list(sm.params.formats))}
    text = manuscript.resolve(source.read_text(encoding="utf-8"), registry, link=True,
                              source=str(source), segments=segments, blocks=blocks)
    outdir = {str(Path(p).parent) for p in sm.output.documents}
    if len(outdir) != 1:
        raise ValueError(f"render: outputs must share one folder, got {sorted(outdir)}")
    stems = {Path(p).stem for p in sm.output.documents}
    # figures are referenced relative to the repository root (the working directory)
    written = manuscript.render(text, list(sm.params.formats), outdir.pop(),
                                sm.input.bibliography, resource_path=[os.getcwd()],
                                stem=stems.pop(), backend=backend, log=log)
    for fmt, path in written.items():
        log(f"render: wrote {path}")


main(snakemake)  # noqa: F821
