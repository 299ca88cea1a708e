"""Rule learn: train the learned coder on the reference coding, cross-validate it by
session, code every unit, compare it with the humans and the keyword coder, and list the
units a person should code next (TSV + REFI-QDA project)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

from concord import atomic, code, refiqda, roles, stages  # noqa: E402
from concord.learned import registry, stage  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
cfg = sm.params.learn
_clock = [time.process_time()]


def lap(step: str) -> None:
    """CPU seconds of each step, in the log (BENCHMARKS.md)."""
    now = time.process_time()
    print(f"{step}: {now - _clock[0]:.1f} s CPU", file=sys.stderr, flush=True)
    _clock[0] = now


book = code.read_codebook(sm.input.codebook)
codings = read_tsv(sm.input.codings, required=["segment_id", "coder", "code"])
coverage = read_tsv(sm.input.coverage, required=["coder", "session_id"])
segments = pd.concat([roles.read_segment_columns(p, ["segment_id", "session_id", "turn",
                                                   "speaker_id", "start", "end", "text"])
                      for p in sm.input.segments], ignore_index=True)
units = stage.coding_units(segments, tuple(sm.params.unit_roles))
lap(f"read {len(segments)} segments, {len(units)} units")
out = sm.output
if not stages.human_coders(coverage):  # coding in stages: nothing to learn from yet
    for path in (out.codings, out.evaluation, out.agreement, out.next):
        write_tsv(pd.DataFrame(columns=["status"]), path)
    stages.pending_figure(out.forest)
    atomic.write_bytes(out.qdpx, refiqda.project_to_qdpx(
        sm.params.study_id, sm.params.title, book, {}, segments.iloc[:0], codings.iloc[:0]))
    frag = Fragment("learn")
    frag.add("learned.status", "pending", "the learned coder: waits for human codings to "
             "learn from", out.evaluation, shown="pending")
    frag.write(out.numbers)
    print("learn: pending (no human coder yet)", file=sys.stderr)
    sys.exit(0)
threadpool_limits(1)  # the rule has one thread; idle BLAS threads spin on a loaded machine
t0 = time.process_time()
res = stage.learn(units, codings, coverage, book, target=cfg["target"], kind=cfg["model"],
                  folds=int(cfg["folds"]), min_positive=int(cfg["min_positive"]),
                  seed=int(cfg["seed"]), c=cfg["C"], use_codebook=bool(cfg["codebook_examples"]),
                  texts=stage.unit_texts(segments, units), code_roles=sm.params.code_roles,
                  context_weight=float(cfg["context_weight"]), max_rows=int(cfg["max_rows"]),
                  n_inner=int(cfg["inner_folds"]), batch_sessions=int(cfg["batch_sessions"]),
                  solver=cfg["solver"])
print(f"trained and coded {len(units)} units in {time.process_time() - t0:.1f} s CPU",
      file=sys.stderr)
lap("train, cross-validate, code")
per_code = stage.code_table(res, float(cfg["confidence"]), int(cfg["min_positive"]))
ag = sm.params.agreement
agree = stage.agreement_table(res, codings, coverage, int(ag["seed"]), int(ag["bootstrap"]),
                              float(ag["ci"]), float(ag["thresholds"]["reliable"]),
                              float(ag["thresholds"]["tentative"]))
lap("agreement with bootstrap")
learned = stage.learned_codings(res, float(cfg["confidence"]))
machine = codings[codings["coder"] == "machine"][["segment_id", "code"]]
nxt = stage.next_list(res, agree, machine, float(cfg["confidence"]), cfg["target"])
write_tsv(learned, out.codings)          # sorted by segment, code
write_tsv(per_code, out.evaluation)      # codebook codes, sorted
write_tsv(agree, out.agreement)          # human, learned, machine; reference; code
write_tsv(nxt, out.next)                 # ranked
lap(f"codings ({len(learned)} rows), next list ({len(nxt)} rows), written")

# the top of the list as a REFI-QDA project: the sessions' de-identified texts with the
# units to code marked by a code CODE_NEXT (no suggested codes: no anchoring)
top = nxt.head(int(cfg["next"]))
deid = {Path(p).stem: p for p in sm.input.deid}
texts = {s: Path(deid[s]).read_text(encoding="utf-8") for s in sorted(set(top["session_id"]))}
marker = {"id": "CODE_NEXT", "name": "Code this unit next",
          "definition": "Marked by Concord's learned coder: a person's coding of this unit "
                        "would most help the codes it is least sure of."}
qbook = dict(book, codes=list(book["codes"]) + [marker])
qcod = pd.DataFrame({"segment_id": top["segment_id"], "coder": stage.LEARNED,
                     "code": "CODE_NEXT"})
seg = segments[segments["session_id"].isin(texts)][["segment_id", "session_id", "start", "end"]]
atomic.write_bytes(out.qdpx, refiqda.project_to_qdpx(
    sm.params.study_id, f"{sm.params.title}: code these next", qbook, texts, seg, qcod))

codes_plot = sorted(c["id"] for c in book["codes"])
registry.forest_plot(agree, codes_plot, cfg["target"], out.forest)
frag = Fragment("learn")
registry.register(frag, per_code, agree, nxt,
                  {"evaluation": out.evaluation, "agreement": out.agreement,
                   "codings": out.codings, "next": out.next},
                  cfg, len(units), int(stage.abstained(res, float(cfg["confidence"])).sum()),
                  sm.params.prevalence_coder)
frag.write(out.numbers)
lap("REFI-QDA project, figure, registry")
print(per_code.to_string(), file=sys.stderr)
