"""Snakemake script for rule deid_evaluation: recall and precision of the
de-identification against gold identifier spans (config deidentify.gold), per type
and overall, and the numbers-registry fragment. The per-session counts come from the
deidentify shards (which compared each session's redactions, in raw offsets, with its
gold spans); nothing but counts reaches this script."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import privacy  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
path = sm.output.evaluation
frag = Fragment("deid_evaluation")

if not sm.input.get("gold"):
    table = pd.DataFrame(columns=privacy.EVAL_COLUMNS)
    write_tsv(table, path)
    frag.add("deid.eval.statement", None, "de-identification recall and precision",
             path, [], shown="Recall of the de-identification was not measured for this "
             "corpus (no gold identifier spans were configured).")
    frag.write(sm.output.numbers)
    sys.exit(0)

gold = privacy.read_gold(sm.input.gold, sm.params.sessions)  # every row checked
counts = pd.concat([read_tsv(p, required=privacy.COUNT_COLUMNS) for p in sm.input.counts],
                   ignore_index=True)
numeric = privacy.COUNT_COLUMNS[2:]
counts[numeric] = counts[numeric].astype(int)
if counts["gold"].sum() != len(gold):
    raise ValueError(f"deid_evaluation: the shards counted {counts['gold'].sum()} gold spans, "
                     f"{sm.input.gold} has {len(gold)}; rerun the deidentify rules")
table = privacy.evaluation_table({"gold": counts})
write_tsv(table, path)

line = {r.type: i for i, r in enumerate(table.itertuples(index=False), start=2)}
for r in table.itertuples(index=False):
    t = r.type
    frag.add(f"deid.eval.{t}.gold", int(r.gold), f"gold {t} identifier spans", path, [line[t]])
    frag.add(f"deid.eval.{t}.recall", float(r.recall),
             f"share of gold {t} spans fully redacted", path, [line[t]], digits=3)
    frag.add(f"deid.eval.{t}.precision", float(r.precision),
             f"share of {t} redactions overlapping a gold span", path, [line[t]], digits=3)
alls = table.set_index("type").loc["all"]
name = table.set_index("type").loc["NAME"] if "NAME" in set(table["type"]) else None
n_sessions = gold["session_id"].nunique()
low = table.iloc[:-1].sort_values(["recall", "type"]).iloc[0]
statement = (f"Against {int(alls.gold):,} gold identifier spans in {n_sessions} "
             f"transcript{'s' if n_sessions != 1 else ''}, recall (every character of the span redacted) was "
             f"{alls.recall:.3f} overall"
             + (f" and {name.recall:.3f} for names" if name is not None else "")
             + f", lowest for {low.type} ({low.recall:.3f}); "
             f"precision (a redaction overlapping a gold span) was {alls.precision:.3f}.")
frag.add("deid.eval.statement", float(alls.recall), "de-identification recall and "
         "precision against gold spans", path, [line["all"]], shown=statement)
frag.table("deid_evaluation", "De-identification against gold identifier spans",
           ["Type", "Gold spans", "Recall", "Precision"],
           [[r.type, {"num": f"deid.eval.{r.type}.gold"}, {"num": f"deid.eval.{r.type}.recall"},
             {"num": f"deid.eval.{r.type}.precision"}] for r in table.itertuples(index=False)])
frag.write(sm.output.numbers)
print(table.to_string(), file=sys.stderr)
