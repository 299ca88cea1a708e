"""Rule combine_codings: machine + human coder files (by segment, by character span,
or REFI-QDA QDPX) + consensus (majority or adjudicator)."""
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821

import pandas as pd  # noqa: E402

from concord import code  # noqa: E402
from concord.tsvio import InputError, read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
codebook = code.compile_codebook(code.read_codebook(sm.input.codebook))
machine = pd.concat([read_tsv(p, required=code.MACHINE_COLUMNS) for p in sm.input.machine],
                    ignore_index=True)
segments = pd.concat([read_tsv(p, required=["segment_id", "session_id", "participant_id",
                                            "speaker_id", "start", "end", "turn", "text"],
                               only=True)
                      for p in sm.input.segments], ignore_index=True)
sheet = read_tsv(sm.input.coders, required=["coder", "session_id", "path"])


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
cons = dict(sm.params.get("consensus", None) or {"method": "majority"})
codings, coverage, warnings = code.combine_codings(
    machine, segments, sheet, tables, codebook.code_ids, moderator_id=None,
    sessions=list(sm.params.sessions), min_overlap=float(sm.params.get("min_overlap", 0.5)),
    consensus=cons.get("method", "majority"), adjudicator=cons.get("adjudicator"))
for w in warnings:
    print(f"WARNING: {w}", file=sys.stderr)
write_tsv(codings, sm.output.codings, sort_by=["segment_id", "coder", "code"])
write_tsv(coverage, sm.output.coverage, sort_by=["coder", "session_id"])
print(codings.groupby("coder").size().to_string(), file=sys.stderr)
