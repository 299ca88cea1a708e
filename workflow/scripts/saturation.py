"""Snakemake script for rule `saturation` (see workflow/rules/concordance.smk)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import roles  # noqa: E402
from concord import saturation as sat  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402


def main(sm):
    units = tuple(sm.params.unit_roles)
    seg_cols = ["segment_id", "session_id", "turn", "participant_id", "group"]
    segments = pd.concat([roles.read_segment_columns(p, seg_cols) for p in sm.input.segments],
                         ignore_index=True)
    segments = segments[roles.is_unit(segments, units).to_numpy()]
    codings = read_tsv(sm.input.codings, ["segment_id", "coder", "code"])
    mine = codings[codings["coder"] == sm.params.coder][["segment_id", "code"]]
    if not len(mine):
        print(f"note: no codings by coder {sm.params.coder!r}: no code is found in any unit",
              file=sys.stderr)
    sessions = read_tsv(sm.input.sessions, ["session_id", "group", "order"])
    participants = roles.unit_people(
        read_tsv(sm.input.participants, ["participant_id", "session_id", "group"]), units)
    p = sm.params.saturation
    curve, summary = sat.saturation(segments, mine, sessions, participants,
                                    list(sm.params.groups), int(p["base"]), int(p["run"]),
                                    float(p["threshold"]))
    write_tsv(curve, sm.output.curve)
    write_tsv(summary, sm.output.summary)
    sat.figure(curve, summary, list(sm.params.groups), sm.output.figure)
    sat.fragment(curve, summary, list(sm.params.groups), str(sm.output.curve),
                 str(sm.output.summary)).write(sm.output.numbers)
    for r in summary.itertuples():
        print(f"saturation {r.group}: {r.units} {r.unit_type}s, reached={r.reached} at={r.at}",
              file=sys.stderr)


main(snakemake)  # noqa: F821
