"""Tests for concord.agreement: published reference values and behaviour."""

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest

from concord import agreement as ag
from concord.numbers import Fragment
from concord.tsvio import write_tsv


def bootstrap_weights(n_units: int, resamples: int, seed: int) -> np.ndarray:
    """The plain unit bootstrap (reference for the pattern bootstrap): resamples x units,
    how often each unit is drawn in each resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_units, size=(resamples, n_units))
    flat = (idx + np.arange(resamples)[:, None] * n_units).ravel()
    return np.bincount(flat, minlength=resamples * n_units).reshape(resamples, n_units) \
        .astype(float)

nan = np.nan

# Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability, example C:
# observers A-D x units 1-12, nan = no value.
KRIPP_C = np.array([
    [1, 2, 3, 3, 2, 1, 4, 1, 2, nan, nan, nan],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, nan, 3],
    [nan, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, nan],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, nan],
])

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters,
# Table 1: 30 patients x 6 psychiatrists, 5 diagnoses (raw form as in R irr `diagnoses`).
FLEISS_1971 = np.array([
    [4, 4, 4, 4, 4, 4], [2, 2, 2, 5, 5, 5], [2, 3, 3, 3, 3, 5], [5, 5, 5, 5, 5, 5],
    [2, 2, 2, 4, 4, 4], [1, 1, 3, 3, 3, 3], [3, 3, 3, 3, 5, 5], [1, 1, 3, 3, 3, 4],
    [1, 1, 4, 4, 4, 4], [5, 5, 5, 5, 5, 5], [1, 4, 4, 4, 4, 4], [1, 2, 4, 4, 4, 4],
    [2, 2, 2, 3, 3, 3], [1, 4, 4, 4, 4, 4], [2, 2, 4, 4, 4, 5], [3, 3, 3, 3, 3, 5],
    [1, 1, 1, 4, 5, 5], [1, 1, 1, 1, 1, 2], [2, 2, 4, 4, 4, 4], [1, 3, 3, 5, 5, 5],
    [5, 5, 5, 5, 5, 5], [2, 4, 4, 4, 4, 4], [2, 2, 4, 5, 5, 5], [1, 1, 4, 4, 4, 4],
    [1, 4, 4, 4, 4, 5], [2, 2, 2, 2, 2, 4], [1, 1, 1, 1, 5, 5], [2, 2, 4, 4, 4, 4],
    [1, 3, 3, 3, 3, 3], [5, 5, 5, 5, 5, 5]])


@pytest.mark.parametrize("level, expected", [("nominal", 0.743), ("ordinal", 0.815),
                                             ("interval", 0.849), ("ratio", 0.797)])
def test_krippendorff_2011_example_c(level, expected):
    alpha, reason = ag.krippendorff_alpha(KRIPP_C, level)
    assert reason == ""
    assert round(alpha, 3) == expected


def test_cohen_kappa_sas_proc_freq_example():
    # SAS/STAT PROC FREQ "Simple Kappa Coefficient" printout: Kappa 0.4842 (table as
    # reproduced in statsmodels' test_inter_rater.py).
    table = [[0, 4, 1], [0, 8, 0], [0, 1, 5]]
    assert round(ag.cohen_kappa_table(table), 4) == 0.4842


def test_cohen_kappa_from_labels_matches_table_wikipedia_example():
    # Wikipedia "Cohen's kappa", worked example: 50 proposals, yes/yes 20, yes/no 5,
    # no/yes 10, no/no 15 -> kappa = 0.4.
    a = np.array([1] * 25 + [0] * 25, dtype=float)
    b = np.array([1] * 20 + [0] * 5 + [1] * 10 + [0] * 15, dtype=float)
    assert ag.cohen_kappa(a, b) == pytest.approx(0.4)
    assert ag.cohen_kappa_table([[20, 5], [10, 15]]) == pytest.approx(0.4)


def test_fleiss_kappa_1971():
    counts = np.stack([(FLEISS_1971 == c).sum(axis=1) for c in range(1, 6)], axis=1)
    assert counts.sum(axis=0).tolist() == [26, 26, 30, 55, 43]
    assert round(ag.fleiss_kappa(counts), 3) == 0.430


def test_closed_form_binary_alpha_equals_krippendorff_package():
    rng = np.random.default_rng(1)
    data = (rng.random((3, 60)) < 0.3).astype(float)
    data[rng.random((3, 60)) < 0.2] = nan
    counts = ag.value_counts(data)
    ref = krippendorff.alpha(value_counts=counts, level_of_measurement="nominal")
    assert ag.binary_alpha_from_counts(counts) == pytest.approx(ref, abs=1e-12)
    assert ag.krippendorff_alpha(data)[0] == pytest.approx(ref, abs=1e-12)
    w = bootstrap_weights(60, 5, seed=3)
    boot = ag.binary_alpha_from_counts(counts, w)
    for b in range(5):
        resampled = np.repeat(counts, w[b].astype(int), axis=0)
        assert boot[b] == pytest.approx(
            krippendorff.alpha(value_counts=resampled, level_of_measurement="nominal"),
            abs=1e-12)


def test_percent_agreement_pairs():
    # unit 1: 3 coders agree (3 of 3 pairs); unit 2: 1-1-0 (1 of 3); unit 3: one coder.
    data = np.array([[1, 1, 0], [1, 1, nan], [1, 0, nan]], dtype=float)
    assert ag.percent_agreement(data) == pytest.approx(4 / 6)


def test_single_value_alpha_is_undefined_not_an_error():
    alpha, reason = ag.krippendorff_alpha(np.zeros((2, 5)))
    assert np.isnan(alpha) and "only one value" in reason


# ------------------------------------------------------------------ the stage

def study(codings_rows, coverage_rows, n_seg=(6, 6, 4)):
    segs = []
    for s, n, g in zip(["S1", "S2", "S3"], n_seg, ["patients", "nurses", "patients"]):
        segs.append({"segment_id": f"{s}-T0001-S01", "session_id": s, "speaker_id": "MOD",
                     "group": g})
        segs += [{"segment_id": f"{s}-T{i + 2:04d}-S01", "session_id": s,
                  "speaker_id": f"P{i:02d}", "group": g} for i in range(n)]
    codings = pd.DataFrame(codings_rows, columns=["segment_id", "coder", "code"])
    coverage = pd.DataFrame(coverage_rows, columns=["coder", "session_id"])
    return codings, coverage, pd.DataFrame(segs)


def seg(s, i):
    return f"{s}-T{i + 2:04d}-S01"


COVERAGE = [("ann", "S1"), ("bob", "S1"), ("cat", "S1"), ("ann", "S2"), ("bob", "S2"),
            ("ann", "S3"), ("machine", "S1"), ("machine", "S2"), ("machine", "S3"),
            ("consensus", "S1"), ("consensus", "S2"), ("consensus", "S3")]


def compute(codings, coverage, segments, codes=("HOPE", "SIDE", "UNUSED"), **kw):
    args = dict(moderator_id="MOD", seed=7, bootstrap=200, ci=0.95, reliable=0.8,
                tentative=0.667)
    args.update(kw)
    return ag.compute_agreement(codings, coverage, segments, list(codes), **args)


def test_perfect_agreement_unused_code_and_missing_coder():
    rows = []
    for s in ("S1", "S2"):
        for i in (0, 2, 4):
            coders = ["ann", "bob"] + (["cat"] if s == "S1" else [])
            rows += [(seg(s, i), c, "HOPE") for c in coders]
    rows += [(seg("S3", 0), "ann", "HOPE"), (seg("S1", 0), "machine", "SIDE"),
             (seg("S1", 1), "consensus", "SIDE")]
    codings, coverage, segments = study(rows, COVERAGE)
    res = compute(codings, coverage, segments, codes=("HOPE", "UNUSED"))
    assert res.coders == ["ann", "bob", "cat"]
    assert len(res.units) == 12  # participant segments of S1 and S2; S3 has one coder
    bc = res.by_code.set_index("code")
    assert list(res.by_code.columns) == ag.BY_CODE_COLUMNS
    assert bc.loc["HOPE", "krippendorff_alpha"] == pytest.approx(1.0)
    assert bc.loc["HOPE", "percent_agreement"] == pytest.approx(1.0)
    assert bc.loc["HOPE", "cohen_kappa"] == pytest.approx(1.0)
    assert bc.loc["HOPE", "reliability"] == "reliable" and bc.loc["HOPE", "meets_threshold"]
    assert np.isnan(bc.loc["UNUSED", "krippendorff_alpha"])
    assert bc.loc["UNUSED", "reliability"] == "undefined"
    assert not bc.loc["UNUSED", "meets_threshold"]
    assert np.isnan(bc.loc["UNUSED", "ci_low"])
    assert "only one value" in res.reasons["UNUSED"]
    # cat did not code S2: her S2 cells are missing, not "absent"
    _, units, data = ag.reliability_matrices(codings, coverage, segments, ["HOPE"], "MOD")
    s2 = [i for i, u in enumerate(units) if u.startswith("S2")]
    assert np.isnan(data[0, 2, s2]).all() and not np.isnan(data[0, :2, s2]).any()


def noisy(seed=0, n=(40, 40, 4)):
    rng = np.random.default_rng(seed)
    rows = []
    for s, nn in zip(("S1", "S2"), n):
        truth = rng.random(nn) < 0.4
        for c in (["ann", "bob", "cat"] if s == "S1" else ["ann", "bob"]):
            flip = rng.random(nn) < 0.1
            rows += [(seg(s, i), c, "HOPE") for i in range(nn) if truth[i] ^ flip[i]]
            rows += [(seg(s, i), c, "SIDE") for i in range(nn) if rng.random() < 0.3]
    return study(rows, COVERAGE, n_seg=n)


def test_bootstrap_is_deterministic_and_ci_contains_estimate():
    codings, coverage, segments = noisy()
    a = compute(codings, coverage, segments)
    b = compute(codings, coverage, segments)
    pd.testing.assert_frame_equal(a.by_code, b.by_code)
    pd.testing.assert_frame_equal(a.overall, b.overall)
    for _, r in a.by_code.dropna(subset=["krippendorff_alpha"]).iterrows():
        assert r["ci_low"] <= r["krippendorff_alpha"] <= r["ci_high"]
    c = compute(codings, coverage, segments, seed=8)
    assert not np.allclose(a.by_code["ci_low"].dropna(), c.by_code["ci_low"].dropna())
    hope = a.by_code.set_index("code").loc["HOPE"]
    side = a.by_code.set_index("code").loc["SIDE"]
    assert hope["krippendorff_alpha"] > 0.6 and abs(side["krippendorff_alpha"]) < 0.3
    ov = a.overall.set_index("measure")
    assert ov.loc["mean_alpha", "ci_low"] <= ov.loc["mean_alpha", "value"] \
        <= ov.loc["mean_alpha", "ci_high"]
    assert ov.loc["pooled_alpha", "ci_low"] <= ov.loc["pooled_alpha", "value"] \
        <= ov.loc["pooled_alpha", "ci_high"]
    assert ov.loc["mean_alpha", "value"] == pytest.approx(
        np.mean([hope["krippendorff_alpha"], side["krippendorff_alpha"]]))


def test_pooled_alpha_is_alpha_of_stacked_decisions():
    codings, coverage, segments = noisy(seed=4)
    res = compute(codings, coverage, segments, codes=("HOPE", "SIDE"))
    _, _, data = ag.reliability_matrices(codings, coverage, segments, ["HOPE", "SIDE"], "MOD")
    stacked = np.concatenate([data[0], data[1]], axis=1)
    ref = krippendorff.alpha(reliability_data=stacked, level_of_measurement="nominal")
    assert res.overall.set_index("measure").loc["pooled_alpha", "value"] == pytest.approx(ref)


def test_bootstrap_zero_disables_ci_and_no_units_does_not_crash():
    codings, coverage, segments = noisy()
    res = compute(codings, coverage, segments, bootstrap=0)
    assert res.by_code["ci_low"].isna().all() and res.by_code["ci_high"].isna().all()
    only_one = [r for r in COVERAGE if r[0] in ("ann", "machine", "consensus")]
    res = compute(codings, pd.DataFrame(only_one, columns=["coder", "session_id"]), segments)
    assert len(res.units) == 0 and (res.by_code["reliability"] == "undefined").all()


def test_numbers_fragment_points_at_rows(tmp_path):
    codings, coverage, segments = noisy()
    res = compute(codings, coverage, segments)
    bc, ov = tmp_path / "by_code.tsv", tmp_path / "overall.tsv"
    write_tsv(res.by_code, bc)
    write_tsv(res.overall, ov)
    frag = Fragment("agreement")
    meta = {"HOPE": {"name": "Hope", "category": "humanistic"},
            "SIDE": {"name": "Side effects", "category": "clinical"}}
    ag.register_numbers(frag, res, meta, str(bc), str(ov), 0.95)
    frag.write(tmp_path / "numbers.json")
    reg = json.loads((tmp_path / "numbers.json").read_text())
    nums = reg["numbers"]
    lines = bc.read_text().splitlines()
    entry = nums["agreement.alpha.HOPE"]
    header = lines[0].split("\t")
    row = dict(zip(header, lines[entry["source"]["lines"][0] - 1].split("\t")))
    assert row["code"] == "HOPE"
    assert float(row["krippendorff_alpha"]) == pytest.approx(entry["value"], rel=1e-5)
    ci = nums["agreement.ci.HOPE"]
    assert ci["value"] == [pytest.approx(float(row["ci_low"]), rel=1e-5),
                           pytest.approx(float(row["ci_high"]), rel=1e-5)]
    assert float(row["gwet_ac1"]) == pytest.approx(nums["agreement.ac1.HOPE"]["value"], rel=1e-5)
    assert float(row["p_below_threshold"]) == pytest.approx(
        nums["agreement.p_below.HOPE"]["value"], rel=1e-5)
    assert ci["display"] == f"{ci['value'][0]:.2f}–{ci['value'][1]:.2f}"
    assert nums["agreement.alpha.UNUSED"]["value"] is None
    assert nums["agreement.alpha.UNUSED"]["display"] == "undefined"
    assert "only one value" in nums["agreement.alpha.UNUSED"]["undefined"]
    for key in ("agreement.alpha.mean", "agreement.alpha.pooled", "agreement.units",
                "agreement.coders", "agreement.codes.reliable", "agreement.codes.tentative",
                "agreement.codes.unreliable", "agreement.threshold.reliable",
                "agreement.threshold.tentative", "agreement.pa.SIDE", "agreement.kappa.SIDE",
                "agreement.ci_low.SIDE", "agreement.ci_high.SIDE"):
        assert key in nums
    assert nums["agreement.units"]["value"] == 80
    assert nums["agreement.coders"]["value"] == 3
    thr = nums["agreement.threshold.reliable"]
    assert ov.read_text().splitlines()[thr["source"]["lines"][0] - 1].startswith(
        "threshold_reliable\t0.8")
    table = reg["tables"]["agreement"]
    assert table["columns"] == ["Code", "Name", "Category", "Units (segments)", "α", "95% CI",
                                "P(α < threshold)", "AC1", "% agreement", "Reliability"]
    assert table["rows"][0][:3] == ["HOPE", "Hope", "humanistic"]
    assert table["rows"][0][3] == {"num": "agreement.units.HOPE"}
    assert table["rows"][0][5] == {"num": "agreement.ci.HOPE"}


# ------------------------------------------------------------------ AC1, Fleiss, MASI

def test_gwet_ac1_and_fleiss_with_missing_match_irrcac_published_values():
    # Gwet's irrCAC package vignette ("Calculating Chance-corrected Agreement
    # Coefficients"), dataset cac.raw4raters (= Krippendorff 2011 example C, 4 raters x
    # 12 subjects with missing ratings): gwet.ac1.raw -> pa 0.8181818, pe 0.1903212,
    # AC1 0.77544; fleiss.kappa.raw -> pe 0.2387153, kappa 0.76117.
    counts = np.stack([np.sum(KRIPP_C == v, axis=0) for v in (1, 2, 3, 4, 5)], axis=1)
    cc = ag.chance_corrected(counts)
    assert round(cc["pa"], 7) == 0.8181818
    assert round(cc["pe_ac1"], 7) == 0.1903212
    assert round(cc["ac1"], 5) == 0.77544
    assert round(cc["pe_fleiss"], 7) == 0.2387153
    assert round(cc["fleiss"], 5) == 0.76117
    assert round(ag.gwet_ac1(KRIPP_C), 5) == 0.77544


def test_generalised_fleiss_equals_fleiss_1971_on_complete_data():
    counts = np.stack([(FLEISS_1971 == c).sum(axis=1) for c in range(1, 6)], axis=1)
    assert round(ag.chance_corrected(counts)["fleiss"], 3) == 0.430


def test_ac1_is_one_and_alpha_undefined_when_one_category_has_every_rating():
    cc = ag.chance_corrected(np.array([[0, 3]] * 10))
    assert cc["ac1"] == 1.0 and cc["pa"] == 1.0 and np.isnan(cc["fleiss"])


def test_masi_distance_matrix_matches_nltk():
    from nltk.metrics.distance import masi_distance
    assert ag.masi_matrix([[1, 1, 0, 0]], [[1, 1, 1, 1]])[0, 0] == pytest.approx(
        masi_distance({1, 2}, {1, 2, 3, 4}))  # NLTK doctest: 0.6666...
    rng = np.random.default_rng(5)
    sets = rng.random((40, 5)) < 0.35
    d = ag.masi_matrix(sets, sets)
    for i in range(40):
        for j in range(40):
            a, b = set(np.flatnonzero(sets[i])), set(np.flatnonzero(sets[j]))
            assert d[i, j] == pytest.approx(ag.masi_distance0(a, b), abs=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_masi_alpha_equals_nltk_annotation_task(seed):
    rng = np.random.default_rng(seed)
    truth = rng.random((60, 4)) < 0.3
    sets = np.stack([truth ^ (rng.random((60, 4)) < 0.15) for _ in range(3)])
    present = rng.random((3, 60)) < 0.85
    alpha, lo, hi, note = ag.masi_alpha(sets, present)
    assert note == ""
    assert alpha == pytest.approx(ag.masi_alpha_nltk(sets, present), abs=1e-10)
    # with the bootstrap: the estimate lies in its interval
    alpha2, lo, hi, note = ag.masi_alpha(sets, present, 200, seed, 0.95)
    assert alpha2 == alpha and lo <= alpha <= hi


def test_masi_alpha_single_label_equals_nominal_alpha():
    # one code: sets are {} or {code}; MASI distance between them is 1 = nominal distance
    rng = np.random.default_rng(3)
    data = (rng.random((3, 50)) < 0.4).astype(float)
    data[rng.random((3, 50)) < 0.1] = nan
    present = ~np.isnan(data)
    sets = np.nan_to_num(data).astype(bool)[:, :, None]
    ref = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
    assert ag.masi_alpha(sets, present)[0] == pytest.approx(ref, abs=1e-12)


# ------------------------------------------------------------------ bootstrap

def test_patterns_of_integer_and_float_keys():
    key = np.array([[2, 0, 1], [2, 1, 0], [2, 0, 1], [0, 0, 0], [2, 1, 0], [2, 0, 1]])
    first, inverse, counts = ag._patterns(key)
    assert counts.tolist() == [1, 3, 2] and first.tolist() == [3, 0, 1]
    assert inverse.tolist() == [1, 2, 1, 0, 2, 1]
    np.testing.assert_array_equal(key[first][inverse], key)
    # floats (ranked first) and wide rows (packed ids renumbered before overflow)
    fkey = np.array([[0.5, -1.0], [0.25, 3.0], [0.5, -1.0]])
    assert ag._patterns(fkey)[2].tolist() == [1, 2]
    wide = np.random.default_rng(0).integers(0, 1000, size=(500, 40))
    wide[250:] = wide[:250]
    first, inverse, counts = ag._patterns(wide)
    assert len(first) == 250 and (counts == 2).all()
    np.testing.assert_array_equal(wide[first][inverse], wide)


def test_pattern_bootstrap_has_the_unit_bootstrap_distribution():
    # 200 units in 4 patterns, two frequent and two rare (drawn unit by unit), so both
    # parts of pattern_weights are exercised; compared with drawing units directly
    # (bootstrap_weights) and with the multinomial moments n p, n p (1 - p), -n p q
    sizes = np.array([150, 30, 15, 5])
    assert (sizes[:2] >= ag.RARE_PATTERN).all() and (sizes[2:] < ag.RARE_PATTERN).all()
    rng = np.random.default_rng(4)
    key = rng.permutation(np.repeat(np.arange(4), sizes))
    cols = np.column_stack([key == 1, key == 2, key == 3, 0.5 * key + 1.0]).astype(float)
    first, inverse, counts = ag._patterns(key)
    assert counts.tolist() == sizes.tolist()
    r, n = 20_000, len(key)
    w = np.vstack(list(ag.pattern_weights(counts, r, seed=1, inverse=inverse)))
    assert w.shape == (r, 4) and (w.sum(axis=1) == n).all()
    unit_w = bootstrap_weights(n, r, seed=2) @ (inverse[:, None] == np.arange(4)).astype(float)
    p = sizes / n
    cov = n * (np.diag(p) - np.outer(p, p))
    for sample in (w, unit_w):
        np.testing.assert_allclose(sample.mean(axis=0), n * p,
                                   atol=5 * np.sqrt(np.diag(cov).max() / r))
        np.testing.assert_allclose(np.cov(sample.T), cov, rtol=0.06, atol=0.06 * cov.max())
    # the resampled sums of unit columns: same mean and covariance as the unit bootstrap
    sums = ag.pattern_sums(cols, r, seed=3)
    ref = bootstrap_weights(n, r, seed=5) @ cols
    np.testing.assert_allclose(sums.mean(axis=0), n * cols.mean(axis=0), rtol=0.01)
    np.testing.assert_allclose(np.cov(sums.T), np.cov(ref.T), rtol=0.08,
                               atol=0.08 * np.cov(ref.T).max())
    # deterministic, and the same with a key and columns computed per pattern only
    np.testing.assert_array_equal(sums, ag.pattern_sums(cols, r, seed=3))
    np.testing.assert_array_equal(
        ag.pattern_sums(lambda idx: cols[idx], 50, seed=3, key=key),
        ag.pattern_sums(cols, 50, seed=3))


def test_p_below_threshold_from_resamples_recomputed_with_the_package():
    codings, coverage, segments = noisy(seed=2)
    coverage = coverage[coverage["coder"] != "machine"]
    res = compute(codings, coverage, segments, codes=("HOPE",), bootstrap=40, reliable=0.75)
    _, units, data = ag.reliability_matrices(codings, coverage, segments, ["HOPE"], "MOD")
    # the stage's resamples: how often each distinct unit row is drawn
    first, inverse, n_p = ag._patterns(ag.table_key(data))
    w = np.vstack(list(ag.pattern_weights(n_p, 40, seed=7, inverse=inverse)))
    counts = ag.value_counts(data[0])[first]
    boot = [krippendorff.alpha(value_counts=np.repeat(counts, w[b].astype(int), axis=0),
                               level_of_measurement="nominal") for b in range(40)]
    row = res.by_code.iloc[0]
    assert row["p_below_threshold"] == pytest.approx(np.mean(np.array(boot) < 0.75))
    assert row["threshold"] == 0.75
    lo, hi = np.quantile(boot, [0.025, 0.975])
    assert (row["ci_low"], row["ci_high"]) == (pytest.approx(lo), pytest.approx(hi))


def _population_alpha(p, r):
    # each coder reports the true presence with probability r, otherwise a Bernoulli(p)
    # guess; coders are independent given the truth. Population nominal alpha =
    # 1 - P(two coders differ on a unit) / P(two independent ratings differ).
    q1, q0 = r + (1 - r) * p, (1 - r) * p
    do = p * 2 * q1 * (1 - q1) + (1 - p) * 2 * q0 * (1 - q0)
    return 1 - do / (2 * p * (1 - p))


def test_bootstrap_interval_covers_known_alpha_in_about_95_percent_of_seeds():
    p, r, n_units, n_coders, seeds = 0.3, 0.85, 300, 3, 400
    true_alpha = _population_alpha(p, r)
    assert true_alpha == pytest.approx(r * r)  # the model's alpha is the coders' correlation
    covered = 0
    for s in range(seeds):
        rng = np.random.default_rng(1000 + s)
        truth = rng.random(n_units) < p
        keep = rng.random((n_coders, n_units)) < r
        guess = rng.random((n_coders, n_units)) < p
        data = np.where(keep, truth, guess).astype(float)
        c0, c1, d = ag.unit_parts(ag.value_counts(data))
        sums = ag.pattern_sums(np.column_stack([c0, c1, d]), 1000, seed=s)
        lo, hi = ag.percentile_ci(ag._alpha_from_sums(sums[:, 0], sums[:, 1], sums[:, 2]), 0.95)
        covered += lo <= true_alpha <= hi
    coverage = covered / seeds
    assert 0.91 <= coverage <= 0.985, coverage


# ------------------------------------------------------------------ comparisons, degenerate

def test_degenerate_codes_are_explained():
    rows = [(seg(s, i), c, "ALL") for s, cs in (("S1", ["ann", "bob", "cat"]),
                                                 ("S2", ["ann", "bob"]))
            for i in range(6) for c in cs]
    rows += [(seg("S1", 0), "ann", "HOPE"), (seg("S1", 0), "bob", "HOPE")]
    codings, coverage, segments = study(rows, COVERAGE)
    res = compute(codings, coverage, segments, codes=("ALL", "HOPE", "UNUSED"))
    bc = res.by_code.set_index("code")
    for code in ("ALL", "UNUSED"):
        assert np.isnan(bc.loc[code, "krippendorff_alpha"])
        assert np.isnan(bc.loc[code, "cohen_kappa"]) and np.isnan(bc.loc[code, "fleiss_kappa"])
        assert bc.loc[code, "gwet_ac1"] == 1.0 and bc.loc[code, "percent_agreement"] == 1.0
        assert bc.loc[code, "reliability"] == "undefined"
        assert "only one value" in bc.loc[code, "note"] and "AC1" in bc.loc[code, "note"]
    assert bc.loc["HOPE", "note"] == ""
    # MASI: ALL is in every set; the sets differ only by HOPE (ann+bob agree, cat not)
    assert not np.isnan(res.overall.set_index("measure").loc["masi_alpha", "value"])


def test_single_unit_has_no_interval_and_says_why():
    segments = pd.DataFrame([{"segment_id": "S1-T0002-S01", "session_id": "S1",
                              "speaker_id": "P01", "group": "patients"}])
    codings = pd.DataFrame([("S1-T0002-S01", "ann", "HOPE")],
                           columns=["segment_id", "coder", "code"])
    coverage = pd.DataFrame([("ann", "S1"), ("bob", "S1"), ("machine", "S1")],
                            columns=["coder", "session_id"])
    res = compute(codings, coverage, segments, codes=("HOPE",))
    row = res.by_code.iloc[0]
    assert row["units"] == 1 and "single unit" in row["note"]
    assert np.isnan(row["ci_low"]) and np.isnan(row["p_below_threshold"])
    # one unit, values 1 and 0: alpha = 1 - (n-1) D / (n0 n1) = 1 - 1*1/1 = 0
    assert row["krippendorff_alpha"] == pytest.approx(0.0)


def test_human_vs_machine_and_by_group_tables():
    codings, coverage, segments = noisy(seed=6)
    # the machine copies ann exactly, everywhere ann coded (S1, S2, S3)
    ann = codings[codings["coder"] == "ann"].assign(coder="machine")
    codings = pd.concat([codings, ann], ignore_index=True)
    res = compute(codings, coverage, segments, codes=("HOPE", "SIDE"))
    hv = res.human_vs_machine
    assert list(hv.columns) == ag.MACHINE_COLUMNS
    assert sorted(set(hv["coder"])) == ["ann", "bob", "cat"]
    annrows = hv[hv["coder"] == "ann"].set_index("code")
    assert (annrows["krippendorff_alpha"] == 1.0).all()
    assert (annrows["units"] == 84).all()  # S1 + S2 + S3 (ann alone coded S3)
    assert (hv[hv["coder"] == "cat"]["units"] == 40).all()  # cat coded S1 only
    # bob vs machine equals bob vs ann on the units both coded
    _, units, data = ag.reliability_matrices(codings, coverage, segments, ["HOPE"], "MOD")
    ref = krippendorff.alpha(reliability_data=data[0, :2], level_of_measurement="nominal")
    bob = hv[(hv["coder"] == "bob") & (hv["code"] == "HOPE")].iloc[0]
    assert bob["krippendorff_alpha"] == pytest.approx(ref)
    bg = res.by_group
    assert list(bg.columns) == ag.GROUP_COLUMNS
    assert sorted(set(bg["group"])) == ["nurses", "patients"]
    units = bg[bg["code"] == "HOPE"].set_index("group")["units"]
    assert units["patients"] == 40 and units["nurses"] == 40  # S3 has one human coder
    s1 = [i for i, u in enumerate(res.units) if u.startswith("S1")]
    ref = krippendorff.alpha(reliability_data=data[0][:, s1], level_of_measurement="nominal")
    pat = bg[(bg["group"] == "patients") & (bg["code"] == "HOPE")].iloc[0]
    assert pat["krippendorff_alpha"] == pytest.approx(ref)


def test_missing_group_column_is_an_input_error():
    codings, coverage, segments = noisy()
    with pytest.raises(ag.InputError, match="group"):
        compute(codings, coverage, segments.drop(columns="group"))


def test_forest_plot_is_a_deterministic_png(tmp_path):
    codings, coverage, segments = noisy()
    res = compute(codings, coverage, segments)
    meta = {"HOPE": {"name": "Hope"}}
    a, b = tmp_path / "a.png", tmp_path / "b.png"
    ag.forest_plot(res, meta, a, 0.95)
    ag.forest_plot(res, meta, b, 0.95)
    assert a.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert a.read_bytes() == b.read_bytes()


def test_vectorised_code_stats_equal_the_reference_functions():
    rng = np.random.default_rng(9)
    data = (rng.random((6, 4, 120)) < np.array([0.0, 1.0, 0.05, 0.3, 0.5, 0.2])[:, None, None])
    data = data.astype(float)
    miss = rng.random((4, 120)) < 0.25
    data[:, miss] = nan
    data[5, :, :3] = np.where(np.isnan(data[5, :, :3]), nan, 1.0)
    st = ag.binary_code_stats(data)
    for k in range(6):
        d = data[k]
        counts = ag.value_counts(d)
        cc = ag.chance_corrected(counts)
        alpha, _ = ag.krippendorff_alpha(d)
        np.testing.assert_allclose(
            [st["alpha"][k], st["percent_agreement"][k], st["fleiss"][k], st["ac1"][k],
             st["kappa"][k]],
            [alpha, ag.percent_agreement(d), cc["fleiss"], cc["ac1"], ag.mean_pairwise_kappa(d)],
            atol=1e-12, equal_nan=True)


def test_numbers_fragment_machine_and_group_tables(tmp_path):
    codings, coverage, segments = noisy()
    ann = codings[codings["coder"] == "ann"].assign(coder="machine")
    codings = pd.concat([codings, ann], ignore_index=True)
    res = compute(codings, coverage, segments, codes=("HOPE", "SIDE"))
    paths = {n: tmp_path / f"{n}.tsv" for n in ("bc", "ov", "hv", "bg")}
    write_tsv(res.by_code, paths["bc"])
    write_tsv(res.overall, paths["ov"])
    write_tsv(res.human_vs_machine, paths["hv"])
    write_tsv(res.by_group, paths["bg"])
    frag = Fragment("agreement")
    ag.register_numbers(frag, res, {"HOPE": {"name": "Hope"}}, str(paths["bc"]),
                        str(paths["ov"]), 0.95, machine_path=str(paths["hv"]),
                        group_path=str(paths["bg"]))
    nums, tables = frag.numbers, frag.tables
    assert tables["agreement_machine"]["columns"] == ["Code", "Name", "ann vs automatic",
                                                      "bob vs automatic", "cat vs automatic"]
    assert tables["agreement_machine"]["rows"][0][:3] == [
        "HOPE", "Hope", {"num": "agreement.machine.summary.ann.HOPE"}]
    e = nums["agreement.machine.summary.ann.HOPE"]
    assert e["value"][0] == 1.0 and e["display"].startswith("1.00")
    lines = paths["hv"].read_text().splitlines()
    row = dict(zip(lines[0].split("\t"), lines[e["source"]["lines"][0] - 1].split("\t")))
    assert (row["coder"], row["code"]) == ("ann", "HOPE")
    assert tables["agreement_group"]["columns"] == ["Code", "Name", "nurses", "patients"]
    g = nums["agreement.group.summary.patients.SIDE"]
    lines = paths["bg"].read_text().splitlines()
    row = dict(zip(lines[0].split("\t"), lines[g["source"]["lines"][0] - 1].split("\t")))
    assert (row["group"], row["code"]) == ("patients", "SIDE")
    assert g["value"][0] == pytest.approx(float(row["krippendorff_alpha"]), rel=1e-5)
    assert nums["agreement.group.units.patients"]["value"] == 40
    assert "agreement.alpha.masi" in nums and "agreement.ci.masi" in nums


def test_agreement_script_end_to_end(tmp_path, monkeypatch):
    """The thin Snakemake script on a hand-built study: every output, byte-identical reruns."""
    import runpy
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    import yaml

    from concord.tsvio import read_tsv

    monkeypatch.setattr(sys, "stderr", sys.stderr)          # the script redirects stderr
    codings, coverage, segments = noisy(seed=3)
    codings = pd.concat([codings, codings[codings["coder"] == "bob"].assign(coder="machine")],
                        ignore_index=True)
    write_tsv(codings, tmp_path / "codings.tsv")
    write_tsv(coverage, tmp_path / "coverage.tsv")
    seg_paths = []
    for sid, part in segments.groupby("session_id"):
        write_tsv(part, tmp_path / f"{sid}.tsv")
        seg_paths.append(str(tmp_path / f"{sid}.tsv"))
    book = {"version": "1.0.0", "title": "t", "categories": ["humanistic", "clinical"],
            "codes": [{"id": "HOPE", "name": "Hope", "category": "humanistic",
                       "definition": "d", "patterns": {"terms": ["hope"]}},
                      {"id": "SIDE", "name": "Side effects", "category": "clinical",
                       "definition": "d", "patterns": {"terms": ["nausea"]}}]}
    (tmp_path / "codebook.yaml").write_text(yaml.safe_dump(book), encoding="utf-8")
    out = tmp_path / "out"
    outputs = {"by_code": "by_code.tsv", "overall": "overall.tsv",
               "machine": "human_vs_machine.tsv", "by_group": "by_group.tsv",
               "forest": "alpha_forest.png", "numbers": "numbers.json"}
    out.mkdir()
    sm = SimpleNamespace(
        input=SimpleNamespace(codings=str(tmp_path / "codings.tsv"),
                              coverage=str(tmp_path / "coverage.tsv"), segments=seg_paths,
                              codebook=str(tmp_path / "codebook.yaml")),
        output=SimpleNamespace(**{k: str(out / v) for k, v in outputs.items()}),
        log=[str(tmp_path / "agreement.log")],
        params=SimpleNamespace(moderator_id="MOD", seed=5, bootstrap=100, ci=0.9,
                               thresholds={"reliable": 0.8, "tentative": 0.667}))
    script = Path(__file__).resolve().parents[1] / "workflow/scripts/agreement.py"
    runpy.run_path(str(script), init_globals={"snakemake": sm})
    assert {p.name for p in out.iterdir()} == set(outputs.values())
    hv = read_tsv(out / "human_vs_machine.tsv")
    assert list(hv.columns) == ag.MACHINE_COLUMNS
    bob = hv[(hv["coder"] == "bob")]
    assert (bob["krippendorff_alpha"] == "1").all()
    bg = read_tsv(out / "by_group.tsv")
    assert sorted(set(bg["group"])) == ["nurses", "patients"]
    reg = json.loads((out / "numbers.json").read_text(encoding="utf-8"))
    assert set(reg["tables"]) == {"agreement", "agreement_machine", "agreement_group"}
    assert reg["numbers"]["agreement.ci.HOPE"]["meaning"].startswith("90%")
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    runpy.run_path(str(script), init_globals={"snakemake": sm})
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first     # deterministic
