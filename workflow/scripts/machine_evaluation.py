"""Rule machine_evaluation: precision, recall and F1 of the automatic coder against
the consensus coding, per code and overall, and the numbers-registry fragment."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import code, roles, stages  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
book = code.read_codebook(sm.input.codebook)
codes = [c["id"] for c in book["codes"]]
names = {c["id"]: c.get("name", c["id"]) for c in book["codes"]}
codings = read_tsv(sm.input.codings, required=["segment_id", "coder", "code"])
coverage = read_tsv(sm.input.coverage, required=["coder", "session_id"])
segments = pd.concat([roles.read_segment_columns(p, ["segment_id", "session_id", "speaker_id",
                                                   "participant_id"])
                      for p in sm.input.segments], ignore_index=True)
E = sm.output.evaluation
humans = stages.human_coders(coverage)
frag = Fragment("machine_evaluation")
if not humans:  # coding in stages: nothing to evaluate the automatic coder against yet
    write_tsv(pd.DataFrame(columns=["status"]), E)
    stages.register_status(frag, 0, sm.params.analysis_coder, E)
    stages.register_pending_machine(frag, E)
    frag.write(sm.output.numbers)
    print("machine evaluation: pending (no human coder yet)", file=sys.stderr)
    sys.exit(0)
ev = code.evaluate_machine(codings, coverage, segments, codes,
                           units=tuple(sm.params.unit_roles), code_roles=dict(sm.params.code_roles))
write_tsv(ev, E)  # codebook order, then overall and macro
print(ev.to_string(), file=sys.stderr)
stages.register_status(frag, len(humans), sm.params.analysis_coder, E)
line = {c: i + 2 for i, c in enumerate(ev["code"])}
o = ev.set_index("code")
frag.add("coding.machine.units", int(o.loc["overall", "units"]),
         "coding units compared (participant segments with a consensus coding)", E,
         [line["overall"]])
for m in ("precision", "recall", "f1"):
    frag.add(f"coding.machine.{m}", float(o.loc["overall", m]),
             f"machine coder {m} against consensus, pooled over codes (micro)", E,
             [line["overall"]])
    frag.add(f"coding.machine.{m}.macro", float(o.loc["macro", m]),
             f"machine coder {m} against consensus, mean over codes (macro)", E,
             [line["macro"]])
rows = []
for c in codes:
    for m in ("precision", "recall", "f1"):
        frag.add(f"coding.machine.{m}.{c}", float(o.loc[c, m]),
                 f"machine coder {m} against consensus for code {c}", E, [line[c]])
    rows.append([names[c], {"num": f"coding.machine.precision.{c}"},
                 {"num": f"coding.machine.recall.{c}"}, {"num": f"coding.machine.f1.{c}"}])
rows.append(["All codes (pooled)", {"num": "coding.machine.precision"},
             {"num": "coding.machine.recall"}, {"num": "coding.machine.f1"}])
frag.table("machine_evaluation", "Automatic coder against the consensus coding",
           ["Code", "Precision", "Recall", "F1"], rows)
frag.write(sm.output.numbers)
