"""Tests for concord.agreement: published reference values and behaviour."""

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest

from concord import agreement as ag
from concord.numbers import Fragment
from concord.tsvio import write_tsv

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
    w = ag.bootstrap_weights(60, 5, seed=3)
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
    assert nums["agreement.alpha.UNUSED"]["display"] == "NA"
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
    assert table["columns"] == ["Code", "Name", "Category", "α", "95% CI", "P(α < threshold)",
                                "AC1", "% agreement", "Reliability"]
    assert table["rows"][0][:3] == ["HOPE", "Hope", "humanistic"]
    assert table["rows"][0][4] == {"num": "agreement.ci.HOPE"}
