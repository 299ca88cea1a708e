"""Concordance statistics against published values and hand computations."""
import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from concord import concordance as cc

# Hollander & Wolfe (1973, p. 140), "rounding first base": 22 players (blocks) x 3
# methods, with ties. R's friedman.test documentation reports Friedman chi-squared =
# 11.143, df = 2, p-value = 0.003805; Kendall's W = chi2 / (m (n - 1)) = 11.143 / 44.
ROUNDING_TIMES = np.array([
    [5.40, 5.50, 5.55], [5.85, 5.70, 5.75], [5.20, 5.60, 5.50], [5.55, 5.50, 5.40],
    [5.90, 5.85, 5.70], [5.45, 5.55, 5.60], [5.40, 5.40, 5.35], [5.45, 5.50, 5.35],
    [5.25, 5.15, 5.00], [5.85, 5.80, 5.70], [5.25, 5.20, 5.10], [5.65, 5.55, 5.45],
    [5.60, 5.35, 5.45], [5.05, 5.00, 4.95], [5.50, 5.50, 5.40], [5.45, 5.55, 5.50],
    [5.55, 5.55, 5.35], [5.45, 5.50, 5.55], [5.50, 5.45, 5.25], [5.65, 5.60, 5.40],
    [5.70, 5.65, 5.55], [6.30, 6.30, 6.25]])


def test_kendall_w_published_example_with_ties():
    ranks = np.array([stats.rankdata(r) for r in ROUNDING_TIMES])
    res = cc.kendall_w(ranks)
    assert res["chi2"] == pytest.approx(11.143, abs=5e-4)
    assert res["df"] == 2
    assert res["p"] == pytest.approx(0.003805, abs=5e-7)
    assert res["w"] == pytest.approx(11.142857 / 44, abs=1e-6)
    # without the tie correction chi2 would be smaller: the correction matters here
    m, n = ranks.shape
    s = ((ranks.sum(axis=0) - m * (n + 1) / 2) ** 2).sum()
    assert 12 * s / (m ** 2 * (n ** 3 - n)) < res["w"] - 0.01


def test_kendall_w_perfect_and_no_agreement():
    assert cc.kendall_w([[1, 2, 3, 4]] * 3)["w"] == pytest.approx(1.0)
    # two judges in exact reverse order: rank sums all equal -> W = 0
    assert cc.kendall_w([[1, 2, 3], [3, 2, 1]])["w"] == pytest.approx(0.0)
    assert math.isnan(cc.kendall_w([[1.5, 1.5], [1.5, 1.5]])["w"])   # all tied


def test_concordance_all_ranks_groups_by_share():
    prev = pd.DataFrame([{"group": g, "code": c, "share": s}
                         for g, shares in (("a", [.9, .5, .1]), ("b", [.8, .6, .2]),
                                           ("c", [.7, .7, .3]))
                         for c, s in zip("XYZ", shares)])
    w = cc.concordance_all(prev, [{"id": "a"}, {"id": "b"}, {"id": "c"}], list("XYZ"))
    # ranks (descending share): a 1,2,3; b 1,2,3; c 1.5,1.5,3 -> R = 3.5, 5.5, 9
    # S = (3.5-6)^2 + (5.5-6)^2 + (9-6)^2 = 15.5; T = 2^3-2 = 6
    # W = 12*15.5 / (9*24 - 3*6) = 186/198
    assert w.iloc[0]["kendall_w"] == pytest.approx(186 / 198)
    assert w.iloc[0]["df"] == 2 and w.iloc[0]["judges"] == 3


def test_kendall_tau_b_hand_count_with_ties():
    """x = (12, 2, 1, 12, 2), y = (1, 4, 7, 1, 0): 2 concordant, 6 discordant pairs,
    2 pairs tied in x, 1 tied in y, of 10: tau-b = -4 / sqrt(8 * 9) = -0.4714."""
    x, y = [12, 2, 1, 12, 2], [1, 4, 7, 1, 0]
    codes = list("VWXYZ")
    prev = pd.DataFrame([{"group": "a", "code": c, "share": v / 20} for c, v in zip(codes, x)]
                        + [{"group": "b", "code": c, "share": v / 10} for c, v in zip(codes, y)])
    pair = cc.pairwise(prev, [{"id": "a"}, {"id": "b"}], codes, top=2)
    assert pair.iloc[0]["kendall_tau"] == pytest.approx(-4 / math.sqrt(72))


def test_top_k_jaccard_and_hypergeometric_p():
    codes = list("ABCDEF")
    a = [.9, .8, .7, .1, .1, .1]
    b = [.9, .1, .7, .8, .1, .1]
    prev = pd.DataFrame([{"group": "a", "code": c, "share": s} for c, s in zip(codes, a)]
                        + [{"group": "b", "code": c, "share": s} for c, s in zip(codes, b)])
    r = cc.pairwise(prev, [{"id": "a"}, {"id": "b"}], codes, top=3).iloc[0]
    # top-3: {A,B,C} vs {A,C,D}: 2 shared of 4 -> 0.5; P(overlap >= 2) drawing 3 of 6
    # with 3 marked = [C(3,2)C(3,1) + C(3,3)] / C(6,3) = (9 + 1) / 20
    assert r["top_k_jaccard"] == pytest.approx(0.5)
    assert r["top_k_p"] == pytest.approx(10 / 20)
    # ties at the boundary are broken by segment share, then code ID: exactly k codes
    tied = pd.DataFrame({"group": "g", "code": list("PQRS"), "share": [.5] * 4,
                         "segment_share": [.1, .3, .2, .3]})
    assert cc.top_k(tied, "g", 2) == ["Q", "S"]


@pytest.mark.parametrize("k,n,low,high", [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605),
                                          (0, 20, 0.0, 0.1611), (1, 29, 0.0061, 0.1718)])
def test_wilson_interval_newcombe_1998(k, n, low, high):
    """Newcombe (1998, Stat Med 17:857), Table II, method 3 (Wilson score)."""
    lo, hi = cc.wilson(k, n, 0.95)
    assert lo == pytest.approx(low, abs=5e-5) and hi == pytest.approx(high, abs=5e-5)


def _prev(counts):
    return pd.DataFrame([{"group": g, "code": c, "participants_with": w, "participants": n,
                          "share": w / n} for c, cells in counts.items()
                         for g, (w, n) in cells.items()])


def test_fisher_exact_tea_tasting_and_bh():
    """Fisher's (1935) lady tasting tea: 3 of 4 vs 1 of 4, two-sided p = 34/70."""
    counts = {"TEA": {"a": (3, 4), "b": (1, 4)}, "ALL": {"a": (4, 4), "b": (0, 4)},
              "SAME": {"a": (2, 4), "b": (2, 4)}}
    t = cc.code_tests(_prev(counts), [{"id": "a"}, {"id": "b"}], list(counts), seed=1,
                      permutations=100).set_index("code")
    assert (t["test"] == "fisher_exact").all()
    assert t.loc["TEA", "p"] == pytest.approx(34 / 70)
    assert t.loc["ALL", "p"] == pytest.approx(2 / 70)
    assert t.loc["SAME", "p"] == pytest.approx(1.0)
    # BH by hand: sorted p 2/70, 34/70, 1 (m = 3): q = min over j >= i of p_(j) m / j
    assert t.loc["ALL", "q"] == pytest.approx(3 * 2 / 70)
    assert t.loc["TEA", "q"] == pytest.approx(3 / 2 * 34 / 70)
    assert t.loc["SAME", "q"] == pytest.approx(1.0)


def test_permutation_test_matches_exact_enumeration():
    """Three groups: the Monte-Carlo p approaches the exact conditional p computed here
    by enumerating every table with the observed margins (multivariate hypergeometric)."""
    n = np.array([4, 5, 6])
    obs = np.array([4, 2, 1])
    K, N = obs.sum(), n.sum()
    exp = n * K / N

    def chi2(x):
        x = np.asarray(x, float)
        return ((x - exp) ** 2 / exp + ((n - x) - (n - exp)) ** 2 / (n - exp)).sum()

    exact = 0.0
    for x in itertools.product(*(range(k + 1) for k in n)):
        if sum(x) == K and chi2(x) >= chi2(obs) - 1e-9:
            exact += math.prod(math.comb(int(a), int(b)) for a, b in zip(n, x)) / math.comb(N, K)
    counts = {"C": {g: (int(w), int(t)) for g, w, t in zip("abc", obs, n)}}
    groups = [{"id": g} for g in "abc"]
    t1 = cc.code_tests(_prev(counts), groups, ["C"], seed=5, permutations=20000)
    t2 = cc.code_tests(_prev(counts), groups, ["C"], seed=5, permutations=20000)
    assert t1.iloc[0]["test"] == "chi2_permutation"
    assert t1.iloc[0]["statistic"] == pytest.approx(chi2(obs))
    assert t1.iloc[0]["p"] == pytest.approx(exact, abs=0.01)
    assert t1.iloc[0]["p"] == t2.iloc[0]["p"]                      # seeded


def test_rowwise_spearman_matches_scipy():
    rng = np.random.default_rng(0)
    a, b = rng.random((20, 7)), rng.random((20, 7))
    a[:, 2] = a[:, 3]                                              # ties
    got = cc._rowwise_spearman(a, b)
    want = [stats.spearmanr(x, y).statistic for x, y in zip(a, b)]
    np.testing.assert_allclose(got, want)
