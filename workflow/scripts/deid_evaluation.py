"""Snakemake script for rule deid_evaluation: recall and precision of the
de-identification against gold identifier spans (config deidentify.gold), per type
and overall, and the numbers-registry fragment. The transcripts are de-identified
again in memory (the same deterministic code as rule deidentify) to get the raw
offsets of every redaction; nothing but counts leaves this script."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import deidentify as deid  # noqa: E402
from concord import privacy, transcripts  # noqa: E402
from concord.numbers import Fragment  # noqa: E402
from concord.tsvio import InputError, read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
path = sm.output.evaluation
sessions = dict(zip(sm.params.sessions, sm.input.transcripts))
frag = Fragment("deid_evaluation")

if not sm.input.get("gold"):
    table = pd.DataFrame(columns=privacy.EVAL_COLUMNS)
    write_tsv(table, path)
    frag.add("deid.eval.statement", None, "de-identification recall and precision",
             path, [], shown="Recall of the de-identification was not measured for this "
             "corpus (no gold identifier spans were configured).")
    frag.write(sm.output.numbers)
    sys.exit(0)

gold_path = sm.input.gold
gold = read_tsv(gold_path, required=["session_id", "start", "end", "type"])
for i, row in enumerate(gold.itertuples(index=False), start=2):
    if row.session_id not in sessions:
        raise InputError(f"{gold_path}, line {i}: session {row.session_id!r} is not in the "
                         f"sessions sheet; fix the session_id or remove the row")
    if not (row.start.isdigit() and row.end.isdigit() and int(row.start) < int(row.end)):
        raise InputError(f"{gold_path}, line {i}: start/end must be character offsets "
                         f"with start < end")
gold["start"] = gold["start"].astype(int)
gold["end"] = gold["end"].astype(int)
roster = deid.load_roster(sm.input.roster, sm.params.moderator_id)
gazetteer = deid.read_gazetteer(sm.params.get("gazetteer", None))
study_names = None
if sm.input.get("lexicon"):
    import json
    with open(sm.input.lexicon, encoding="utf-8") as fh:
        study_names = json.load(fh)["names"]
counts = []
for sid in sorted(set(gold["session_id"])):
    raw = transcripts.read_raw(sessions[sid])
    if isinstance(raw, bytes):
        raise InputError(f"{gold_path}: session {sid} is a {transcripts.detect_format(raw)[0]} "
                         f"file; gold offsets need a plain-text transcript")
    counts.append(privacy.evaluate_session(
        raw, gold[gold["session_id"] == sid], roster, sid,
        source=sessions[sid], moderator_id=sm.params.moderator_id, gazetteer=gazetteer,
        study_names=study_names, extra_names=deid.read_gazetteer(sm.params.get("names", None))))
table = privacy.evaluation_table({"gold": pd.concat(counts, ignore_index=True)})
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
