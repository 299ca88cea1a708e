"""Snakemake script for rule deid_summary: redaction counts per session and type,
and the numbers-registry fragment."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import deidentify as deid  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
tables = {sid: read_tsv(path, required=deid.REDACTION_COLUMNS)
          for sid, path in zip(sm.params.sessions, sm.input.redactions)}
summary = deid.summarise(tables)
write_tsv(summary, sm.output.summary)

frag = Fragment("deid_summary")
path = sm.output.summary
last = len(summary) + 1  # line of the "all" row (header is line 1)
frag.add("deid.redactions.total", int(summary["total"].iloc[-1]),
         "identifiers redacted in all transcripts", path, [last])
for col in summary.columns[2:]:
    frag.add(f"deid.redactions.{col}", int(summary[col].iloc[-1]),
             f"{col} identifiers redacted in all transcripts", path, [last])
for i, sid in enumerate(summary["session_id"].iloc[:-1], start=2):
    frag.add(f"deid.sessions.{sid}.redactions", int(summary["total"].iloc[i - 2]),
             f"identifiers redacted in session {sid}", path, [i])
frag.write(sm.output.numbers)
