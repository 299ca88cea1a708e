"""Snakemake script for rule `concordance` (see workflow/rules/concordance.smk)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402
import yaml  # noqa: E402

from concord import roles  # noqa: E402
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
    seg_cols = ["segment_id", "session_id", "turn", "speaker_id", "participant_id", "group"]
    segments = pd.concat([roles.read_segment_columns(p, seg_cols) for p in sm.input.segments],
                         ignore_index=True)
    participants = read_tsv(sm.input.participants, ["participant_id", "session_id", "group"])
    units, code_roles = tuple(sm.params.unit_roles), dict(sm.params.code_roles)

    mine = cc.coder_codings(codings, sm.params.coder, segments, code_ids,
                            source=str(sm.input.codings), log=log, units=units,
                            code_roles=code_roles)
    pseg = cc.participant_segments(segments, participants, groups, units=units)
    seed, boot, ci = int(sm.params.seed), int(sm.params.bootstrap), float(sm.params.ci)
    data = cc.group_data(mine, pseg, participants, groups, code_ids, units=units,
                         code_roles=code_roles)
    idx = cc.draws(data, groups, seed, boot) if boot >= 1 else None
    prev, seg_ids = cc.prevalence(mine, pseg, participants, groups, code_ids, seed=seed,
                                  bootstrap=boot, ci=ci, data=data, idx=idx)
    write_tsv(prev, sm.output.prevalence)
    pair = cc.pairwise(prev, groups, code_ids, log=log, top=int(sm.params.top_k),
                       data=data, idx=idx, ci=ci)
    write_tsv(pair, sm.output.pairwise)
    categories = list(book.get("categories") or
                      sorted({c.get("category", "") for c in codebook_codes}))
    shares, diffs = cc.category_shares(data, idx, groups, codebook_codes, categories, ci)
    write_tsv(shares, sm.output.categories)
    write_tsv(diffs, sm.output.category_differences)
    w = cc.concordance_all(prev, groups, code_ids)
    write_tsv(w, sm.output.kendall_w)
    tests = cc.code_tests(prev, groups, code_ids, seed=seed,
                          permutations=int(sm.params.permutations))
    write_tsv(tests, sm.output.code_tests)
    write_tsv(cc.cooccurrence(mine, data, groups, code_ids), sm.output.cooccurrence)
    cc.heatmap(prev, groups, codebook_codes, sm.output.heatmap)
    cc.rank_matrix_figure(pair, groups, sm.output.rank_matrix)
    cc.category_figure(shares, groups, categories, ci, sm.output.category_figure)
    frag = cc.fragment(prev, pair, seg_ids, groups, codebook_codes, sm.params.coder,
                       ci, str(sm.output.prevalence), str(sm.output.pairwise), bootstrap=boot)
    paths = {k: str(getattr(sm.output, k)) for k in
             ("pairwise", "kendall_w", "categories", "category_differences", "code_tests")}
    cc.add_results(frag, prev, pair, shares, diffs, w, tests, groups, codebook_codes,
                   categories, ci, float(sm.params.fdr), paths, top=int(sm.params.top_k))
    frag.write(sm.output.numbers)
    log(f"concordance: {len(groups)} groups x {len(code_ids)} codes, coder "
        f"{sm.params.coder!r}, {len(mine)} codings on participant segments, "
        f"{sm.params.bootstrap} bootstrap resamples (seed {sm.params.seed})")


main(snakemake)  # noqa: F821
