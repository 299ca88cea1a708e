"""Snakemake script for rule `concordance` (see workflow/rules/concordance.smk)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from concord import concordance as cc  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main(sm):
    with open(sm.input.codebook, encoding="utf-8") as fh:
        book = yaml.safe_load(fh)
    codebook_codes = book["codes"]
    code_ids = [c["id"] for c in codebook_codes]
    groups = list(sm.params.groups)

    codings = read_tsv(sm.input.codings, ["segment_id", "coder", "code"])
    seg_cols = ["segment_id", "session_id", "turn", "speaker_id", "participant_id", "group",
                "start", "end", "text"]
    segments = pd.concat([read_tsv(p, seg_cols) for p in sm.input.segments], ignore_index=True)
    participants = read_tsv(sm.input.participants, ["participant_id", "session_id", "group"])

    mine = cc.coder_codings(codings, sm.params.coder, segments, code_ids,
                            source=str(sm.input.codings), log=log)
    pseg = cc.participant_segments(segments, participants, groups)
    prev, seg_ids = cc.prevalence(mine, pseg, participants, groups, code_ids,
                                  seed=int(sm.params.seed), bootstrap=int(sm.params.bootstrap),
                                  ci=float(sm.params.ci))
    write_tsv(prev, sm.output.prevalence)
    pair = cc.pairwise(prev, groups, code_ids, log=log)
    write_tsv(pair, sm.output.pairwise)
    cc.heatmap(prev, groups, codebook_codes, sm.output.heatmap)
    frag = cc.fragment(prev, pair, seg_ids, groups, codebook_codes, sm.params.coder,
                       float(sm.params.ci), str(sm.output.prevalence), str(sm.output.pairwise),
                       bootstrap=int(sm.params.bootstrap))
    frag.write(sm.output.numbers)
    log(f"concordance: {len(groups)} groups x {len(code_ids)} codes, coder "
        f"{sm.params.coder!r}, {len(mine)} codings on participant segments, "
        f"{sm.params.bootstrap} bootstrap resamples (seed {sm.params.seed})")


main(snakemake)  # noqa: F821
