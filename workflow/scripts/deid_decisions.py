"""Snakemake script for rule deid_decisions: counts of the review decisions in
restricted/decisions.tsv (redact / keep, by type) and their registry fragment, for the
methods section. Counts only: the decided text never leaves restricted/."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import privacy  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
decisions = privacy.read_decisions(sm.input.get("decisions"))
counts = privacy.decision_counts(decisions)
write_tsv(counts, sm.output.counts)
frag = Fragment("deid_decisions")
privacy.register_decisions(frag, counts, sm.output.counts)
frag.write(sm.output.numbers)
