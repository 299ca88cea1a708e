"""Rule agreement: inter-coder agreement per code and overall (human vs human), each
human vs the automatic coder, per stakeholder group; forest plot; registry numbers."""
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import agreement, code, roles, stages  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
book = code.read_codebook(sm.input.codebook)
codes = [c["id"] for c in book["codes"]]
meta = {c["id"]: {"name": c.get("name", c["id"]), "category": c.get("category", "")}
        for c in book["codes"]}
codings = read_tsv(sm.input.codings, required=["segment_id", "coder", "code"])
coverage = read_tsv(sm.input.coverage, required=["coder", "session_id"])
segments = pd.concat([roles.read_segment_columns(p, ["segment_id", "session_id", "speaker_id",
                                                   "group"])
                      for p in sm.input.segments], ignore_index=True)
na_path = getattr(sm.input, "not_applicable", None)
not_applicable = read_tsv(na_path, required=["segment_id", "coder", "code"]) if na_path else None
th = sm.params.thresholds
if not stages.human_coders(coverage):  # coding in stages: no human coder yet
    for out in (sm.output.by_code, sm.output.overall, sm.output.machine, sm.output.by_group):
        write_tsv(pd.DataFrame(columns=["status"]), out)
    stages.pending_figure(sm.output.forest)
    frag = Fragment("agreement")
    stages.register_pending_agreement(frag, sm.output.by_code, th, int(sm.params.bootstrap),
                                      float(sm.params.ci))
    frag.write(sm.output.numbers)
    print("agreement: pending (no human coder yet)", file=sys.stderr)
    sys.exit(0)
result = agreement.compute_agreement(
    codings, coverage, segments, codes,
    seed=int(sm.params.seed), bootstrap=int(sm.params.bootstrap), ci=float(sm.params.ci),
    reliable=float(th["reliable"]), tentative=float(th["tentative"]),
    units=tuple(sm.params.unit_roles), code_roles=dict(sm.params.code_roles),
    not_applicable=not_applicable)
for c, why in sorted(result.reasons.items()):
    print(f"alpha undefined for {c}: {why}", file=sys.stderr)
write_tsv(result.by_code, sm.output.by_code)  # already sorted by code
write_tsv(result.overall, sm.output.overall)  # fixed measure order
write_tsv(result.human_vs_machine, sm.output.machine)  # sorted by coder, code
write_tsv(result.by_group, sm.output.by_group)  # sorted by group, code
agreement.forest_plot(result, meta, sm.output.forest, float(sm.params.ci))
frag = Fragment("agreement")
frag.add("agreement.status", "reported", "inter-coder agreement: computed from the human "
         "coders' files", sm.output.overall, shown="reported")
agreement.register_numbers(frag, result, meta, sm.output.by_code, sm.output.overall,
                           float(sm.params.ci), machine_path=sm.output.machine,
                           group_path=sm.output.by_group)
frag.write(sm.output.numbers)
print(f"{len(result.coders)} coders, {len(result.units)} units, {len(codes)} codes",
      file=sys.stderr)
