"""Concordance on a small hand-built study with known shares."""
import math

import numpy as np
import pandas as pd
import pytest

from concord import concordance as cc
from concord.tsvio import InputError, read_tsv, write_tsv

GROUPS = [{"id": "ga", "label": "Group A", "stakeholder": "patient"},
          {"id": "gb", "label": "Group B", "stakeholder": "clinician"}]
CODEBOOK = [{"id": "X", "name": "Ex"}, {"id": "Y", "name": "Why"}, {"id": "Z", "name": "Zed"}]
CODES = [c["id"] for c in CODEBOOK]


def seg(sid, pid, group):
    return {"segment_id": sid, "session_id": "S1" if group == "ga" else "S2", "turn": "1",
            "speaker_id": pid or "MOD", "participant_id": pid, "group": group,
            "start": "0", "end": "1", "text": "t"}


@pytest.fixture
def study():
    # P3 is enrolled in ga but never speaks: counted in the denominator.
    segments = pd.DataFrame([seg("s1", "P1", "ga"), seg("s2", "P1", "ga"), seg("s3", "P2", "ga"),
                             seg("s4", "P4", "gb"), seg("s5", "P5", "gb"), seg("s6", "P6", "gb"),
                             seg("m1", "", "ga")])
    participants = pd.DataFrame({"participant_id": ["P1", "P2", "P3", "P4", "P5", "P6"],
                                 "session_id": ["S1"] * 3 + ["S2"] * 3,
                                 "group": ["ga"] * 3 + ["gb"] * 3})
    rows = [("s1", "X"), ("s2", "X"), ("s2", "Y"), ("s3", "X"), ("s4", "Y"), ("s5", "Y"),
            ("s6", "Y"), ("s6", "Z"), ("m1", "X")]
    codings = pd.DataFrame([{"segment_id": s, "coder": "consensus", "code": c} for s, c in rows]
                           + [{"segment_id": "s1", "coder": "machine", "code": "Z"}])
    return codings, segments, participants


OUTPUTS = {"prevalence": "prevalence.tsv", "pairwise": "pairwise.tsv",
           "categories": "categories.tsv", "category_differences": "category_differences.tsv",
           "kendall_w": "kendall_w.tsv", "code_tests": "code_tests.tsv",
           "cooccurrence": "cooccurrence.tsv", "heatmap": "prevalence_heatmap.png",
           "rank_matrix": "rank_concordance.png", "category_figure": "category_shares.png",
           "numbers": "numbers.json"}


def run(study, **kw):
    codings, segments, participants = study
    notes = []
    mine = cc.coder_codings(codings, "consensus", segments, CODES, log=notes.append)
    pseg = cc.participant_segments(segments, participants, GROUPS)
    args = dict(seed=1, bootstrap=500, ci=0.95) | kw
    prev, ids = cc.prevalence(mine, pseg, participants, GROUPS, CODES, **args)
    return prev, ids, notes


def test_prevalence_known_shares(study):
    prev, ids, notes = run(study)
    assert list(prev.columns) == cc.PREVALENCE_COLUMNS
    assert list(zip(prev["group"], prev["code"])) == [("ga", "X"), ("ga", "Y"), ("ga", "Z"),
                                                     ("gb", "X"), ("gb", "Y"), ("gb", "Z")]
    assert prev["participants_with"].tolist() == [2, 1, 0, 0, 3, 1]
    assert prev["participants"].tolist() == [3] * 6
    np.testing.assert_allclose(prev["share"], [2 / 3, 1 / 3, 0, 0, 1, 1 / 3])
    assert prev["segments_with"].tolist() == [3, 1, 0, 0, 3, 1]
    assert prev["segments"].tolist() == [3] * 6          # moderator segment excluded
    assert prev["rank"].tolist() == [1, 2, 3, 3, 1, 2]
    assert ids[("ga", "X")] == ["s1", "s2", "s3"]        # m1 (moderator) not counted
    assert ids[("gb", "Z")] == ["s6"]
    assert any("moderator" in n for n in notes)
    # degenerate cells: all-0 and all-1 columns have a zero-width interval
    z = prev[(prev.group == "ga") & (prev.code == "Z")].iloc[0]
    y = prev[(prev.group == "gb") & (prev.code == "Y")].iloc[0]
    assert (z.ci_low, z.ci_high) == (0, 0) and (y.ci_low, y.ci_high) == (1, 1)
    assert (prev["ci_low"] <= prev["share"] + 1e-12).all()
    assert (prev["share"] <= prev["ci_high"] + 1e-12).all()


def test_bootstrap_is_seeded_and_matches_naive_loop():
    m = np.array([[1, 0], [1, 1], [0, 0], [1, 0], [0, 1]], dtype=float)
    lo, hi = cc.bootstrap_share_ci(m, np.random.default_rng(7), 200, 0.9)
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 5, size=(200, 5))
    naive = np.array([[m[row, k].mean() for k in range(2)] for row in idx])
    np.testing.assert_allclose(lo, np.quantile(naive, 0.05, axis=0))
    np.testing.assert_allclose(hi, np.quantile(naive, 0.95, axis=0))
    lo2, hi2 = cc.bootstrap_share_ci(m, np.random.default_rng(7), 200, 0.9)
    assert (lo == lo2).all() and (hi == hi2).all()


def test_ties_get_average_rank(study):
    codings, segments, participants = study
    codings = pd.concat([codings, pd.DataFrame([{"segment_id": "s3", "coder": "consensus",
                                                 "code": "Y"}])])
    prev, _, _ = run((codings, segments, participants))
    ga = prev[prev.group == "ga"].set_index("code")["rank"]
    assert ga.to_dict() == {"X": 1.5, "Y": 1.5, "Z": 3.0}


def test_pairwise_spearman(study):
    prev, _, _ = run(study)
    pair = cc.pairwise(prev, GROUPS, CODES)
    assert list(pair.columns) == cc.PAIRWISE_COLUMNS
    # ranks ga (3,2,1) vs gb (1,3,2): d^2 = 6, rho = 1 - 6*6/(3*(9-1)) = -0.5
    assert pair.iloc[0]["spearman_rho"] == pytest.approx(-0.5)
    assert pair.iloc[0]["codes"] == 3


def test_spearman_textbook_example():
    """IQ vs hours of TV per week (Wikipedia, 'Spearman's rank correlation
    coefficient'): rho = -29/165 = -0.1758 (no ties)."""
    iq = [106, 100, 86, 101, 99, 103, 97, 113, 112, 110]
    tv = [7, 27, 2, 50, 28, 29, 20, 12, 6, 17]
    codes = [f"C{i}" for i in range(10)]
    groups = [{"id": "iq"}, {"id": "tv"}]
    prev = pd.DataFrame([{"group": "iq", "code": c, "share": v / 200} for c, v in zip(codes, iq)]
                        + [{"group": "tv", "code": c, "share": v / 100} for c, v in zip(codes, tv)])
    pair = cc.pairwise(prev, groups, codes)
    assert pair.iloc[0]["spearman_rho"] == pytest.approx(-29 / 165)


def test_constant_shares_give_nan_with_note():
    prev = pd.DataFrame([{"group": g, "code": c, "share": s}
                         for g, shares in (("ga", [0.5, 0.5]), ("gb", [0.1, 0.9]))
                         for c, s in zip(["X", "Y"], shares)])
    notes = []
    pair = cc.pairwise(prev, GROUPS, ["X", "Y"], log=notes.append)
    assert math.isnan(pair.iloc[0]["spearman_rho"]) and math.isnan(pair.iloc[0]["spearman_p"])
    assert notes and "undefined" in notes[0]


def test_input_errors(study):
    codings, segments, participants = study
    with pytest.raises(InputError, match="coder 'nobody'"):
        cc.coder_codings(codings, "nobody", segments, CODES)
    bad = pd.concat([codings, pd.DataFrame([{"segment_id": "zz", "coder": "consensus",
                                             "code": "X"}])])
    with pytest.raises(InputError, match="unknown segment"):
        cc.coder_codings(bad, "consensus", segments, CODES)
    with pytest.raises(InputError, match="not in the codebook"):
        cc.coder_codings(codings, "consensus", segments, ["X", "Y"])
    with pytest.raises(InputError, match="P6"):
        cc.participant_segments(segments, participants[participants.participant_id != "P6"],
                                GROUPS)
    with pytest.raises(InputError, match="not in config groups"):
        cc.participant_segments(segments, participants, GROUPS[:1])


def test_outputs_and_fragment(study, tmp_path):
    prev, ids, _ = run(study)
    pair = cc.pairwise(prev, GROUPS, CODES)
    pp, pw = tmp_path / "prevalence.tsv", tmp_path / "pairwise.tsv"
    write_tsv(prev, pp)
    write_tsv(pair, pw)
    back = read_tsv(pp)
    assert back.loc[0, "share"] == "0.666667" and back.loc[0, "rank"] == "1"
    frag = cc.fragment(prev, pair, ids, GROUPS, CODEBOOK, "consensus", 0.95, str(pp), str(pw))
    n = frag.numbers
    e = n["prevalence.ga.X"]
    assert e["display"] == "67%" and "2 of 3 participants" in e["meaning"]
    assert e["segments"] == ["s1", "s2", "s3"] and e["source"]["lines"] == [2]
    assert n["prevalence.participants_with.gb.Y"]["value"] == 3
    assert n["concordance.top.ga"]["value"] == "X" and n["concordance.top.ga"]["display"] == "Ex"
    assert n["pairwise.spearman.ga.gb"]["display"] == "-0.50"
    assert n["pairwise.spearman.max.pair"]["display"] == "Group A and Group B"
    assert n["concordance.codes.all_groups"]["value"] == 1      # only Y is raised in both groups
    t = frag.tables["prevalence"]
    assert t["columns"] == ["Code", "Group A", "Group B"]
    assert t["rows"][0] == ["Ex", {"num": "prevalence.ga.X"}, {"num": "prevalence.gb.X"}]
    assert len(frag.tables["pairwise"]["rows"]) == 1


def test_heatmap_is_deterministic(study, tmp_path):
    prev, _, _ = run(study)
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    cc.heatmap(prev, GROUPS, CODEBOOK, a)
    cc.heatmap(prev, GROUPS, CODEBOOK, b)
    data = a.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data == b.read_bytes()
    assert b"Matplotlib" not in data


def test_summary_keys_and_top_table(study, tmp_path):
    prev, ids, _ = run(study)
    pair = cc.pairwise(prev, GROUPS, CODES)
    pp, pw = tmp_path / "prevalence.tsv", tmp_path / "pairwise.tsv"
    write_tsv(prev, pp)
    write_tsv(pair, pw)
    frag = cc.fragment(prev, pair, ids, GROUPS, CODEBOOK, "consensus", 0.95, str(pp), str(pw),
                       bootstrap=500)
    n = frag.numbers
    assert n["concordance.ci"]["display"] == "95%"
    assert n["concordance.bootstrap"]["display"] == "500"
    assert n["concordance.codes"]["value"] == 3 and n["concordance.groups"]["value"] == 2
    assert n["pairwise.spearman.median"]["value"] == pytest.approx(-0.5)
    assert frag.tables["top"]["rows"] == [
        ["Group A", {"num": "concordance.top.ga"}, {"num": "prevalence.ga.X"}],
        ["Group B", {"num": "concordance.top.gb"}, {"num": "prevalence.gb.Y"}]]


def test_concordance_script(study, tmp_path, monkeypatch):
    """The thin Snakemake script end to end on the hand-built study."""
    import json
    import runpy
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    import yaml

    monkeypatch.setattr(sys, "stderr", sys.stderr)          # the script redirects stderr
    codings, segments, participants = study
    write_tsv(codings, tmp_path / "codings.tsv")
    for sid, part in segments.groupby("session_id"):
        write_tsv(part, tmp_path / f"{sid}.tsv")
    write_tsv(participants, tmp_path / "participants.tsv")
    book = {"categories": ["clinical", "humanistic"],
            "codes": [dict(c, category=cat) for c, cat in
                      zip(CODEBOOK, ["humanistic", "humanistic", "clinical"])]}
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(book), encoding="utf-8")
    out = tmp_path / "out"
    sm = SimpleNamespace(
        input=SimpleNamespace(codings=str(tmp_path / "codings.tsv"),
                              segments=[str(tmp_path / "S1.tsv"), str(tmp_path / "S2.tsv")],
                              participants=str(tmp_path / "participants.tsv"),
                              codebook=str(tmp_path / "codebook.yaml")),
        output=SimpleNamespace(**{k: str(out / v) for k, v in OUTPUTS.items()}),
        log=[str(tmp_path / "concordance.log")],
        params=SimpleNamespace(groups=GROUPS, coder="consensus", seed=3, bootstrap=100, ci=0.9,
                               unit_roles=["participant"], code_roles={},
                               top_k=2, permutations=500, fdr=0.05))
    script = Path(__file__).resolve().parents[1] / "workflow/scripts/concordance.py"
    runpy.run_path(str(script), init_globals={"snakemake": sm})
    prev = read_tsv(out / "prevalence.tsv")
    assert prev["participants_with"].tolist() == ["2", "1", "0", "0", "3", "1"]
    reg = json.loads((out / "numbers.json").read_text(encoding="utf-8"))
    assert reg["numbers"]["prevalence.gb.Y"]["display"] == "100%"
    assert reg["numbers"]["concordance.ci"]["display"] == "90%"
    assert "moderator" in (tmp_path / "concordance.log").read_text(encoding="utf-8")
    assert {p.name for p in out.iterdir()} == set(OUTPUTS.values())
    tests = read_tsv(out / "code_tests.tsv")
    assert tests["test"].tolist() == ["fisher_exact"] * 3          # two groups
    # ga: X, X, Y, X all humanistic; gb: Y, Y, Y humanistic + Z clinical
    assert reg["numbers"]["category.share.ga.humanistic"]["display"] == "100%"
    assert reg["numbers"]["category.share.gb.humanistic"]["display"] == "75%"
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    runpy.run_path(str(script), init_globals={"snakemake": sm})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first     # deterministic


def test_exact_p_for_few_codes():
    # perfect reversal over three codes: exact two-sided p = 2/3! = 1/3 (t approx says 0)
    assert cc.spearman_exact_p([1, 2, 3], [3, 2, 1]) == pytest.approx(1 / 3)
    prev = pd.DataFrame([{"group": g, "code": c, "share": s}
                         for g, shares in (("ga", [0.1, 0.2, 0.3]), ("gb", [0.3, 0.2, 0.1]))
                         for c, s in zip(CODES, shares)])
    pair = cc.pairwise(prev, GROUPS, CODES)
    assert pair.iloc[0]["spearman_rho"] == pytest.approx(-1)
    assert pair.iloc[0]["spearman_p"] == pytest.approx(1 / 3)
    # with ties the exact p still matches brute force over all 3! orderings
    import itertools
    x, y = np.array([1 / 3, 2 / 3, 2 / 3]), np.array([1, 0.5, 0.25])
    r0 = abs(stats_rho(x, y))
    perms = [abs(stats_rho(np.array(p), y)) >= r0 - 1e-12 for p in itertools.permutations(x)]
    assert cc.spearman_exact_p(x, y) == pytest.approx(np.mean(perms))


def stats_rho(x, y):
    from scipy import stats
    return stats.spearmanr(x, y).statistic


def test_segment_level_and_wilson_columns(study):
    prev, _, _ = run(study)
    # ga: 3 participant segments (m1 is the moderator's); X on s1, s2, s3
    np.testing.assert_allclose(prev["segment_share"], [1, 1 / 3, 0, 0, 1, 1 / 3])
    x = prev.iloc[0]
    lo, hi = cc.wilson(2, 3, 0.95)
    assert (x.wilson_low, x.wilson_high) == (lo, hi) and lo < 2 / 3 < hi
    assert (prev["segment_ci_low"] <= prev["segment_share"] + 1e-12).all()
    assert (prev["segment_share"] <= prev["segment_ci_high"] + 1e-12).all()


def test_shared_draws_are_seeded_and_reused(study):
    codings, segments, participants = study
    mine = cc.coder_codings(codings, "consensus", segments, CODES)
    pseg = cc.participant_segments(segments, participants, GROUPS)
    data = cc.group_data(mine, pseg, participants, GROUPS, CODES)
    a = cc.draws(data, GROUPS, 11, 50)
    b = cc.draws(data, GROUPS, 11, 50)
    assert all((a[g] == b[g]).all() for g in a)
    # the prevalence interval is the same whether or not the draws are passed in
    p1, _ = cc.prevalence(mine, pseg, participants, GROUPS, CODES, seed=11, bootstrap=50,
                          ci=0.9)
    p2, _ = cc.prevalence(mine, pseg, participants, GROUPS, CODES, seed=11, bootstrap=50,
                          ci=0.9, data=data, idx=a)
    pd.testing.assert_frame_equal(p1, p2)
    # the same draws give the naive participant resampling
    m = data["ga"]["present"]
    naive = np.array([[m[row, k].mean() for k in range(3)] for row in a["ga"]])
    np.testing.assert_allclose(p1.iloc[:3]["ci_low"], np.quantile(naive, 0.05, axis=0))


def test_category_shares_and_differences(study):
    codings, segments, participants = study
    mine = cc.coder_codings(codings, "consensus", segments, CODES)
    pseg = cc.participant_segments(segments, participants, GROUPS)
    data = cc.group_data(mine, pseg, participants, GROUPS, CODES)
    idx = cc.draws(data, GROUPS, 3, 400)
    book = [dict(c, category=k) for c, k in zip(CODEBOOK, ["hum", "hum", "cli"])]
    shares, diffs = cc.category_shares(data, idx, GROUPS, book, ["cli", "hum"], 0.95)
    s = shares.set_index(["group", "category"])["share"]
    # ga applications X, X, Y, X (all hum); gb Y, Y, Y (hum) + Z (cli)
    assert s[("ga", "hum")] == 1 and s[("gb", "hum")] == pytest.approx(0.75)
    d = diffs.set_index("category").loc["hum"]
    assert d["difference"] == pytest.approx(0.25)
    assert d["ci_low"] <= 0.25 <= d["ci_high"] and d["ci_high"] <= 1
    assert shares.loc[shares.group == "ga", "codings_total"].iloc[0] == 4


def test_cooccurrence_counts(study):
    codings, segments, participants = study
    mine = cc.coder_codings(codings, "consensus", segments, CODES)
    pseg = cc.participant_segments(segments, participants, GROUPS)
    data = cc.group_data(mine, pseg, participants, GROUPS, CODES)
    co = cc.cooccurrence(mine, data, GROUPS, CODES).set_index(["group", "code_a", "code_b"])
    # segments: s2 has X+Y (ga), s6 has Y+Z (gb); participants: P1 X+Y, P6 Y+Z
    assert co.loc[("ga", "X", "Y"), "segments_both"] == 1
    assert co.loc[("ga", "X", "Y"), "segment_jaccard"] == pytest.approx(1 / 3)   # s2 of s1,s2,s3
    assert co.loc[("all", "Y", "Z"), "segments_both"] == 1
    assert co.loc[("all", "Y", "Z"), "participant_jaccard"] == pytest.approx(1 / 4)  # P6 of P1,P4,P5,P6
    assert co.loc[("gb", "X", "Y"), "participants_both"] == 0


def test_new_figures_are_deterministic(study, tmp_path):
    prev, _, _ = run(study)
    pair = cc.pairwise(prev, GROUPS, CODES, top=2)
    for k in ("a", "b"):
        cc.rank_matrix_figure(pair, GROUPS, tmp_path / f"r{k}.png")
    assert (tmp_path / "ra.png").read_bytes() == (tmp_path / "rb.png").read_bytes()
    shares = pd.DataFrame({"group": ["ga", "gb"], "category": ["c", "c"], "share": [.2, .5],
                           "ci_low": [.1, .3], "ci_high": [.4, .7]})
    cc.category_figure(shares, GROUPS, ["c"], 0.95, tmp_path / "c.png")
    assert b"Matplotlib" not in (tmp_path / "c.png").read_bytes()


def stand_in_registry(tmp_path):
    """Real registry entries of this stage's later measures (categories, rank
    concordance, code tests, saturation, quotes) on tiny inputs, for tests that resolve
    the manuscript: returns (numbers, tables)."""
    from concord import quotes as qt
    from concord import saturation as sat

    groups = GROUPS
    book = [dict(c, category=k) for c, k in zip(CODEBOOK, ["hum", "hum", "cli"])]
    prev = pd.DataFrame([{"group": g, "code": c, "participants_with": w, "participants": 3,
                          "share": w / 3, "ci_low": 0.0, "ci_high": 1.0, "segments_with": w,
                          "segments": 6, "rank": r, "segment_share": w / 6}
                         for g, ws, rs in (("ga", [2, 1, 0], [1, 2, 3]),
                                           ("gb", [0, 3, 1], [3, 1, 2]))
                         for c, w, r in zip(CODES, ws, rs)])
    pair = cc.pairwise(prev, groups, CODES, top=2)
    write_tsv(prev, tmp_path / "prevalence.tsv")
    write_tsv(pair, tmp_path / "pairwise.tsv")
    seg_ids = {(g, c): [] for g in ("ga", "gb") for c in CODES}
    shares = pd.DataFrame([{"group": g, "category": k, "codings": 1, "codings_total": 2,
                            "share": s, "ci_low": s / 2, "ci_high": min(1, 2 * s)}
                           for g, ss in (("ga", [.2, .9]), ("gb", [.6, .4]))
                           for k, s in zip(["cli", "hum"], ss)])
    diffs = pd.DataFrame([{"category": k, "group_a": "ga", "group_b": "gb", "share_a": a,
                           "share_b": b, "difference": a - b, "ci_low": a - b - .1,
                           "ci_high": a - b + .1} for k, a, b in (("cli", .2, .6), ("hum", .9, .4))])
    w = cc.concordance_all(prev, groups, CODES)
    tests = cc.code_tests(prev, groups, CODES, seed=1, permutations=100)
    paths = {k: str(tmp_path / f"{k}.tsv") for k in
             ("pairwise", "kendall_w", "categories", "category_differences", "code_tests")}
    for k, df in (("kendall_w", w), ("categories", shares),
                  ("category_differences", diffs), ("code_tests", tests)):
        write_tsv(df, paths[k])
    frag = cc.fragment(prev, pair, seg_ids, groups, CODEBOOK, "consensus", 0.95,
                       str(tmp_path / "prevalence.tsv"), paths["pairwise"], bootstrap=50)
    cc.add_results(frag, prev, pair, shares, diffs, w, tests, groups, book, ["cli", "hum"],
                   0.95, 0.05, paths)
    curve = pd.DataFrame([{"group": g, "unit_type": "participant", "position": 1, "unit": "P1",
                           "session_id": "S1", "order": 1, "codes": 1, "new_codes": 1,
                           "new_code_ids": "X", "cumulative_codes": 1, "cumulative_share": 1.0}
                          for g in ("ga", "gb")], columns=sat.CURVE_COLUMNS)
    summary = pd.DataFrame([{"group": g, "unit_type": "participant", "units": 1, "base": 4,
                             "run": 2, "threshold": 0.05, "base_codes": math.nan,
                             "reached": False, "run_start": math.nan, "at": math.nan,
                             "new_in_run": math.nan, "new_information": math.nan}
                            for g in ("ga", "gb")], columns=sat.SUMMARY_COLUMNS)
    write_tsv(curve, tmp_path / "saturation.tsv")
    write_tsv(summary, tmp_path / "saturation_summary.tsv")
    sfrag = sat.fragment(curve, summary, groups, str(tmp_path / "saturation.tsv"),
                         str(tmp_path / "saturation_summary.tsv"))
    quotes = pd.DataFrame([{"code": "X", "group": "ga", "rank": 1, "segment_id": "s1",
                            "participant_id": "P1", "session_id": "S1", "words": 9,
                            "human_agreement": 1.0, "evidence": "x", "text": "a quote"}],
                          columns=qt.COLUMNS)
    write_tsv(quotes, tmp_path / "exemplars.tsv")
    qfrag = qt.fragment(quotes, groups, CODEBOOK, str(tmp_path / "exemplars.tsv"))
    numbers = {**frag.numbers, **sfrag.numbers, **qfrag.numbers}
    tables = {**frag.tables, **sfrag.tables, **qfrag.tables}
    return numbers, tables


def test_stand_in_registry_keys(tmp_path):
    numbers, tables = stand_in_registry(tmp_path)
    assert numbers["category.contrast"]["value"] == "hum"             # spread 50 pp > 40 pp
    assert numbers["category.contrast.diff"]["display"] == "+50 pp"
    assert numbers["category.contrast.diff_ci"]["display"] == "+40 to +60 pp"
    assert numbers["saturation.at.ga"]["display"] == "not reached"
    assert numbers["quote.X.ga.1"]["display"] == "“a quote” (P1, Group A, s1)"
    assert {"categories", "category_differences", "rank_concordance", "code_tests",
            "saturation", "quotes", "top_codes"} <= set(tables)
    # ga shares X 2/3, Y 1/3, Z 0; gb Y 3/3, Z 1/3, X 0: top-2 in order
    assert numbers["concordance.top_codes.ga"]["display"] == "Ex, Why"
    assert numbers["concordance.top_codes.gb"]["display"] == "Why, Zed"


def test_contrast_when_every_group_has_the_same_shares(tmp_path):
    """All codes in one category (the mini study): every spread is 0; the contrast still
    names two different groups and a zero difference."""
    shares = pd.DataFrame([{"group": g, "category": k, "codings": n, "codings_total": 2,
                            "share": n / 2, "ci_low": n / 2, "ci_high": n / 2}
                           for g in ("ga", "gb") for k, n in (("cli", 0), ("hum", 2))])
    diffs = pd.DataFrame([{"category": k, "group_a": "ga", "group_b": "gb", "share_a": s,
                           "share_b": s, "difference": 0.0, "ci_low": 0.0, "ci_high": 0.0}
                          for k, s in (("cli", 0.0), ("hum", 1.0))])
    prev = pd.DataFrame([{"group": g, "code": c, "share": 0.5, "participants_with": 1,
                          "participants": 2} for g in ("ga", "gb") for c in CODES])
    pair = cc.pairwise(prev, GROUPS, CODES, top=2)
    w = cc.concordance_all(prev, GROUPS, CODES)
    tests = cc.code_tests(prev, GROUPS, CODES, seed=1, permutations=100)
    paths = {k: str(tmp_path / f"{k}.tsv") for k in
             ("pairwise", "kendall_w", "categories", "category_differences", "code_tests")}
    for k, df in (("pairwise", pair), ("kendall_w", w), ("categories", shares),
                  ("category_differences", diffs), ("code_tests", tests)):
        write_tsv(df, paths[k])
    frag = cc.Fragment("concordance")
    for r in pair.itertuples():                 # keys the rank table refers to
        frag.add(f"pairwise.spearman.{r.group_a}.{r.group_b}", r.spearman_rho, "rho",
                 paths["pairwise"])
    cc.add_results(frag, prev, pair, shares, diffs, w, tests, GROUPS, CODEBOOK, ["cli", "hum"],
                   0.95, 0.05, paths)
    n = frag.numbers
    assert n["category.contrast.high.group"]["value"] == "ga"
    assert n["category.contrast.low.group"]["value"] == "gb"
    assert n["category.contrast.diff"]["value"] == 0
    assert math.isnan(w.iloc[0]["kendall_w"])                     # every group ties every code
