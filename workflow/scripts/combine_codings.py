"""Rule combine_codings: machine + human coder files (by segment, by character span,
or REFI-QDA QDPX) + consensus (majority or adjudicator)."""
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import code, roles, stages  # noqa: E402
from concord.tsvio import InputError, read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
codebook = code.compile_codebook(code.read_codebook(sm.input.codebook))
machine = pd.concat([read_tsv(p, required=code.MACHINE_COLUMNS) for p in sm.input.machine],
                    ignore_index=True)
segments = pd.concat([roles.read_segment_columns(p, ["segment_id", "session_id", "participant_id",
                                                   "speaker_id", "start", "end", "turn", "text"])
                      for p in sm.input.segments], ignore_index=True)
sheet = (read_tsv(sm.input.coders, required=["coder", "session_id", "path"])
         if sm.input.get("coders") else pd.DataFrame(columns=["coder", "session_id", "path"]))


def read_coder_file(path):
    if str(path).lower().endswith(".qdpx"):
        from concord import refiqda
        coders = sorted(set(sheet.loc[sheet["path"] == path, "coder"]))
        return refiqda.read_qdpx_codings(path, user=coders[0] if len(coders) == 1 else None)
    if str(path).lower().endswith((".csv", ".xlsx")):  # MAXQDA/NVivo/ATLAS.ti/Dedoose
        from concord import codedsegments
        coders = sorted(set(sheet.loc[sheet["path"] == path, "coder"]))
        book = code.read_codebook(sm.input.codebook)
        res = codedsegments.read_coded_segments(
            path, segments, codebook.code_ids, {c["id"]: c["name"] for c in book["codes"]},
            coder=coders[0] if len(coders) == 1 else None)
        return codedsegments.check_unmatched(res, str(path))
    df = read_tsv(path)
    if "segment_id" in df.columns and "code" in df.columns:
        return df
    if {"session_id", "start", "end", "code"} <= set(df.columns):
        return df
    raise InputError(f"{path}, line 1: a coder file needs columns segment_id, code (by "
                     f"segment) or session_id, start, end, code (by character span in the "
                     f"de-identified text); found {', '.join(df.columns)}")


tables = {p: read_coder_file(p) for p in sorted(set(sheet["path"]))}
if sm.input.get("texts"):  # codings are bound to the de-identified text they were made on
    stages.check_bound(sheet, tables, stages.current_hashes(dict(zip(sm.params.sessions,
                                                                     sm.input.texts))))
cons = dict(sm.params.consensus)
if sheet.empty:  # coding in stages: no human coder yet, so no one to adjudicate
    cons = {"method": "majority"}
not_applicable = []
codings, coverage, warnings = code.combine_codings(
    machine, segments, sheet, tables, codebook.code_ids,
    sessions=list(sm.params.sessions), min_overlap=float(sm.params.min_overlap),
    consensus=cons["method"], adjudicator=cons.get("adjudicator"),
    units=tuple(sm.params.unit_roles), code_roles=dict(sm.params.code_roles),
    not_applicable=not_applicable)
na = pd.DataFrame(sorted(set(not_applicable)), columns=["segment_id", "coder", "code"])
if getattr(sm.output, "not_applicable", None):
    write_tsv(na, sm.output.not_applicable, sort_by=["segment_id", "coder", "code"])
for w in warnings:
    print(f"WARNING: {w}", file=sys.stderr)
write_tsv(codings, sm.output.codings, sort_by=["segment_id", "coder", "code"])
write_tsv(coverage, sm.output.coverage, sort_by=["coder", "session_id"])
print(codings.groupby("coder").size().to_string(), file=sys.stderr)
