"""Rule combine_codings: machine + human coder files + majority consensus."""
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import code  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
codebook = code.compile_codebook(code.read_codebook(sm.input.codebook))
machine = pd.concat([read_tsv(p, required=code.MACHINE_COLUMNS) for p in sm.input.machine],
                    ignore_index=True)
segments = pd.concat([read_tsv(p, required=["segment_id", "session_id", "participant_id"])
                      for p in sm.input.segments], ignore_index=True)
sheet = read_tsv(sm.input.coders, required=["coder", "session_id", "path"])
tables = {p: read_tsv(p, required=["segment_id", "code"]) for p in sorted(set(sheet["path"]))}
codings, coverage, warnings = code.combine_codings(
    machine, segments, sheet, tables, codebook.code_ids, moderator_id=None,
    sessions=list(sm.params.sessions))
for w in warnings:
    print(f"WARNING: {w}", file=sys.stderr)
write_tsv(codings, sm.output.codings, sort_by=["segment_id", "coder", "code"])
write_tsv(coverage, sm.output.coverage, sort_by=["coder", "session_id"])
print(codings.groupby("coder").size().to_string(), file=sys.stderr)
