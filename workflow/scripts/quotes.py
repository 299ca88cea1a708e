"""Snakemake script for rule `quotes` (see workflow/rules/concordance.smk)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from concord import roles  # noqa: E402
from concord import quotes as qt  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402


def main(sm):
    with open(sm.input.codebook, encoding="utf-8") as fh:
        book = yaml.safe_load(fh)
    seg_cols = ["segment_id", "session_id", "turn", "speaker_id", "participant_id", "group",
                "start", "end", "text"]
    segments = pd.concat([roles.read_segment_columns(p, seg_cols, only=False)
                          for p in sm.input.segments], ignore_index=True)
    machine = pd.concat([read_tsv(p, ["segment_id", "code", "evidence", "negated"])
                         for p in sm.input.machine], ignore_index=True)
    codings = read_tsv(sm.input.codings, ["segment_id", "coder", "code"])
    coverage = read_tsv(sm.input.coverage, ["coder", "session_id"])
    q = sm.params.quotes
    groups = list(sm.params.groups)
    table = qt.exemplars(segments, codings, machine, coverage, groups,
                         [c["id"] for c in book["codes"]], sm.params.coder,
                         int(q["per_cell"]), int(q["min_words"]), int(q["max_words"]),
                         units=tuple(sm.params.unit_roles))
    write_tsv(table, sm.output.exemplars)
    qt.fragment(table, groups, book["codes"], str(sm.output.exemplars)).write(sm.output.numbers)
    print(f"quotes: {len(table)} exemplars", file=sys.stderr)


main(snakemake)  # noqa: F821
