"""Stage 4, inter-coder agreement between the human coders. Pure functions.

Units are the participant segments of the sessions covered by at least two human
coders (``coverage.tsv``; ``machine`` and ``consensus`` are not human coders). For
each code the *reliability matrix* is coders x units with 1 (the coder applied the
code to the segment), 0 (the coder coded the session but not this code here) or NaN
(the coder did not code the unit's session).

Per code we report

* Krippendorff's alpha, nominal, from the ``krippendorff`` package (the level of
  measurement is always passed explicitly); when only one value occurs in the
  pairable data (nobody, or everybody, applied the code) alpha is undefined: NaN,
  reliability ``undefined`` and a reason;
* percent agreement: agreeing pairable pairs / pairable pairs, where the pairs are
  the pairs of coders who both coded a unit;
* Cohen's kappa, the mean over coder pairs of the pair's kappa on the units both
  coded (pairs whose kappa is undefined are left out of the mean);
* a bootstrap percentile interval for alpha: units are resampled with replacement
  (``np.random.default_rng(seed)``), alpha recomputed on each resample in closed
  form from the units x values count matrix (identical to
  ``krippendorff.alpha(value_counts=..., level_of_measurement="nominal")``; see
  :func:`binary_alpha_from_counts`), resamples where alpha is undefined are dropped.

Overall: the mean of the per-code alphas, the pooled alpha over all code x unit
decisions (every (code, unit) is one unit of the stacked reliability data), and the
pooled percent agreement, each with a bootstrap interval from the same resamples of
segments (a resampled segment brings all its codes along).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd

HUMAN_EXCLUDED = ("machine", "consensus")
BY_CODE_COLUMNS = ["code", "coders", "units", "percent_agreement", "cohen_kappa",
                   "krippendorff_alpha", "ci_low", "ci_high", "reliability", "meets_threshold"]
OVERALL_COLUMNS = ["measure", "value", "ci_low", "ci_high", "coders", "units", "codes"]


# ------------------------------------------------------------------ coefficients

def krippendorff_alpha(data, level: str = "nominal") -> tuple[float, str]:
    """Krippendorff's alpha of a coders x units matrix (``np.nan`` = missing).

    Returns ``(alpha, reason)``: ``reason`` is ``""`` when alpha is defined, else why
    it is not (NaN alpha). Wraps ``krippendorff.alpha`` and always passes ``level``.
    """
    data = np.asarray(data, dtype=float)
    if data.size == 0:
        return float("nan"), "no units"
    pairable = np.sum(~np.isnan(data), axis=0) >= 2
    if not pairable.any():
        return float("nan"), "no unit was coded by two or more coders"
    values = np.unique(data[:, pairable][~np.isnan(data[:, pairable])])
    if len(values) < 2:
        return float("nan"), (f"only one value ({values[0]:g}) occurs in the pairable data, "
                              "so agreement cannot be told from chance")
    try:
        return float(krippendorff.alpha(reliability_data=data, level_of_measurement=level)), ""
    except ValueError as exc:  # pragma: no cover - guarded above
        return float("nan"), str(exc)


def value_counts(data) -> np.ndarray:
    """Units x 2 matrix of how many coders gave 0 and 1 to each unit of a binary
    coders x units reliability matrix (NaN = missing)."""
    data = np.asarray(data, dtype=float)
    return np.stack([np.sum(data == 0, axis=0), np.sum(data == 1, axis=0)], axis=1)


def binary_alpha_from_counts(counts, weights=None) -> np.ndarray:
    """Nominal Krippendorff's alpha of binary data from a units x 2 count matrix.

    ``counts[u] = (n_u0, n_u1)``; units with fewer than two values are not pairable.
    With ``weights`` (resamples x units: how often each unit is drawn) returns one
    alpha per resample, vectorised. For pairable units, with ``m_u = n_u0 + n_u1``,
    ``n_c = sum_u n_uc`` and ``n = n_0 + n_1``::

        alpha = 1 - (n - 1) * sum_u [n_u0 n_u1 / (m_u - 1)] / (n_0 n_1)

    (Krippendorff 2011, the coincidence-matrix form for two values). NaN where
    ``n_0 n_1 == 0`` (one value only).
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    ok = m >= 2
    c0 = np.where(ok, counts[:, 0], 0.0)
    c1 = np.where(ok, counts[:, 1], 0.0)
    d = np.where(ok, c0 * c1 / np.where(ok, m - 1, 1), 0.0)
    if weights is None:
        weights = np.ones((1, len(counts)))
        single = True
    else:
        weights = np.asarray(weights, dtype=float)
        single = False
    n0, n1, dd = weights @ c0, weights @ c1, weights @ d
    n = n0 + n1
    with np.errstate(invalid="ignore", divide="ignore"):
        alpha = np.where(n0 * n1 > 0, 1.0 - (n - 1) * dd / (n0 * n1), np.nan)
    return alpha[0] if single else alpha


def pair_agreement_counts(counts) -> tuple[np.ndarray, np.ndarray]:
    """Per unit: (agreeing coder pairs, pairable coder pairs) from units x values counts."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    return (counts * (counts - 1) / 2).sum(axis=1), m * (m - 1) / 2


def percent_agreement(data) -> float:
    """Agreeing pairable pairs / pairable pairs of a coders x units matrix (NaN missing)."""
    data = np.asarray(data, dtype=float)
    vals = np.unique(data[~np.isnan(data)])
    counts = np.stack([np.sum(data == v, axis=0) for v in vals], axis=1) if len(vals) else \
        np.zeros((data.shape[1], 1))
    agree, pairs = pair_agreement_counts(counts)
    return float(agree.sum() / pairs.sum()) if pairs.sum() > 0 else float("nan")


def cohen_kappa_table(table) -> float:
    """Cohen's (1960) kappa of a k x k contingency table of two raters' categories.

    ``kappa = (p_o - p_e) / (1 - p_e)`` with ``p_o`` the proportion on the diagonal and
    ``p_e = sum_c p_c. p_.c`` the agreement expected from the margins. NaN when
    ``p_e == 1`` (both raters used one and the same category only) or the table is empty.
    """
    t = np.asarray(table, dtype=float)
    total = t.sum()
    if total == 0:
        return float("nan")
    p = t / total
    po = np.trace(p)
    pe = float(p.sum(axis=1) @ p.sum(axis=0))
    if np.isclose(pe, 1.0):
        return float("nan")
    return float((po - pe) / (1 - pe))


def cohen_kappa(a, b) -> float:
    """Cohen's kappa of two raters' labels (equal-length sequences; NaN = not rated,
    such units are left out)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    both = ~np.isnan(a) & ~np.isnan(b)
    a, b = a[both], b[both]
    cats = np.unique(np.concatenate([a, b]))
    ia, ib = np.searchsorted(cats, a), np.searchsorted(cats, b)
    table = np.zeros((len(cats), len(cats)))
    np.add.at(table, (ia, ib), 1)
    return cohen_kappa_table(table)


def mean_pairwise_kappa(data) -> float:
    """Mean Cohen's kappa over the coder pairs (rows) of a coders x units matrix, each
    pair on the units both coded; pairs with undefined kappa are left out (NaN if all)."""
    data = np.asarray(data, dtype=float)
    ks = [cohen_kappa(data[i], data[j]) for i, j in combinations(range(len(data)), 2)]
    ks = [k for k in ks if not np.isnan(k)]
    return float(np.mean(ks)) if ks else float("nan")


def fleiss_kappa(counts) -> float:
    """Fleiss' (1971) kappa from a subjects x categories matrix of rater counts (every
    subject rated by the same number of raters)."""
    c = np.asarray(counts, dtype=float)
    n = c.sum(axis=1)
    if not np.all(n == n[0]) or n[0] < 2:
        raise ValueError("fleiss_kappa: every subject needs the same number (>= 2) of raters")
    n = n[0]
    p_j = c.sum(axis=0) / c.sum()
    p_i = ((c * c).sum(axis=1) - n) / (n * (n - 1))
    pe = float(p_j @ p_j)
    return float((p_i.mean() - pe) / (1 - pe))


def classify(alpha: float, reliable: float, tentative: float) -> str:
    if alpha is None or np.isnan(alpha):
        return "undefined"
    if alpha >= reliable:
        return "reliable"
    if alpha >= tentative:
        return "tentative"
    return "unreliable"


def bootstrap_weights(n_units: int, resamples: int, seed: int) -> np.ndarray:
    """Resamples x units matrix: how often each unit is drawn in each bootstrap resample."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n_units, size=(resamples, n_units))
    flat = (idx + np.arange(resamples)[:, None] * n_units).ravel()
    return np.bincount(flat, minlength=resamples * n_units).reshape(resamples, n_units) \
        .astype(float)


def percentile_ci(samples, ci: float) -> tuple[float, float]:
    s = np.asarray(samples, dtype=float)
    s = s[~np.isnan(s)]
    if len(s) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(s, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return float(lo), float(hi)


# ------------------------------------------------------------------ the stage

@dataclass
class AgreementResult:
    by_code: pd.DataFrame        # BY_CODE_COLUMNS, sorted by code
    overall: pd.DataFrame        # OVERALL_COLUMNS
    reasons: dict                # code -> why alpha is undefined
    coders: list                 # human coders included
    units: list                  # segment IDs of the units, sorted
    disagreements: dict          # code -> segment IDs where the coders disagree


def reliability_matrices(codings: pd.DataFrame, coverage: pd.DataFrame, segments: pd.DataFrame,
                         codes: list[str], moderator_id: str):
    """Build the binary coders x units matrix of every code.

    Returns ``(coders, units, data)`` with ``data`` of shape codes x coders x units.
    """
    human_cov = coverage[~coverage["coder"].isin(HUMAN_EXCLUDED)]
    per_session = human_cov.groupby("session_id")["coder"].nunique()
    sessions = set(per_session[per_session >= 2].index)
    coders = sorted(set(human_cov[human_cov["session_id"].isin(sessions)]["coder"]))
    part = segments[(segments["speaker_id"] != moderator_id)
                    & segments["session_id"].isin(sessions)]
    part = part.sort_values("segment_id", kind="mergesort")
    units = list(part["segment_id"])
    unit_session = np.asarray(part["session_id"])
    cov = set(zip(human_cov["coder"], human_cov["session_id"]))
    covered = np.array([[(c, s) in cov for s in unit_session] for c in coders], dtype=bool)
    covered = covered.reshape(len(coders), len(units))

    data = np.zeros((len(codes), len(coders), len(units)))
    uix = {u: i for i, u in enumerate(units)}
    cix = {c: i for i, c in enumerate(coders)}
    kix = {k: i for i, k in enumerate(codes)}
    hc = codings[codings["coder"].isin(cix) & codings["segment_id"].isin(uix)
                 & codings["code"].isin(kix)]
    if len(hc):
        data[hc["code"].map(kix).to_numpy(), hc["coder"].map(cix).to_numpy(),
             hc["segment_id"].map(uix).to_numpy()] = 1.0
    data[:, ~covered] = np.nan
    return coders, units, data


def compute_agreement(codings: pd.DataFrame, coverage: pd.DataFrame, segments: pd.DataFrame,
                      codes: list[str], moderator_id: str, seed: int, bootstrap: int,
                      ci: float, reliable: float, tentative: float) -> AgreementResult:
    """Per-code and overall agreement of the human coders (see the module docstring)."""
    codes = sorted(codes)
    coders, units, data = reliability_matrices(codings, coverage, segments, codes, moderator_id)
    n_units = len(units)
    weights = bootstrap_weights(n_units, bootstrap, seed) if bootstrap > 0 and n_units else None

    rows, reasons, disagree, boot_alphas = [], {}, {}, []
    tot_counts = np.zeros((n_units, 2))
    tot_d = np.zeros(n_units)
    for k, code in enumerate(codes):
        d = data[k]
        alpha, reason = krippendorff_alpha(d, "nominal")
        if reason:
            reasons[code] = reason
        counts = value_counts(d)
        if weights is not None and not np.isnan(alpha):
            b = binary_alpha_from_counts(counts, weights)
            lo, hi = percentile_ci(b, ci)
        else:
            b = np.full(bootstrap, np.nan)
            lo = hi = float("nan")
        boot_alphas.append(b)
        m = counts.sum(axis=1)
        ok = m >= 2
        tot_counts += np.where(ok[:, None], counts, 0)
        tot_d += np.where(ok, counts[:, 0] * counts[:, 1] / np.where(ok, m - 1, 1), 0)
        disagree[code] = [u for u, c in zip(units, counts) if c[0] > 0 and c[1] > 0]
        rel = classify(alpha, reliable, tentative)
        rows.append({"code": code, "coders": len(coders), "units": n_units,
                     "percent_agreement": percent_agreement(d) if n_units else float("nan"),
                     "cohen_kappa": mean_pairwise_kappa(d), "krippendorff_alpha": alpha,
                     "ci_low": lo, "ci_high": hi, "reliability": rel,
                     "meets_threshold": bool(not np.isnan(alpha) and alpha >= reliable)})
    by_code = pd.DataFrame(rows, columns=BY_CODE_COLUMNS)

    # overall ----------------------------------------------------------------
    alphas = by_code["krippendorff_alpha"].to_numpy(dtype=float)
    mean_alpha = float(np.nanmean(alphas)) if np.any(~np.isnan(alphas)) else float("nan")
    stacked = data.transpose(1, 0, 2).reshape(len(coders), len(codes) * n_units)
    pooled, _ = krippendorff_alpha(stacked, "nominal")
    pooled_pa = percent_agreement(stacked) if stacked.size else float("nan")
    kappas = by_code["cohen_kappa"].to_numpy(dtype=float)
    mean_kappa = float(np.nanmean(kappas)) if np.any(~np.isnan(kappas)) else float("nan")
    ci_mean = ci_pooled = ci_pa = (float("nan"), float("nan"))
    if weights is not None:
        ba = np.vstack(boot_alphas) if boot_alphas else np.zeros((0, bootstrap))
        with warnings.catch_warnings():  # all-NaN columns: mean of nothing -> NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            bmean = np.nanmean(ba, axis=0) if len(ba) else np.full(bootstrap, np.nan)
        if not np.isnan(mean_alpha):
            ci_mean = percentile_ci(bmean, ci)
        if not np.isnan(pooled):
            n0, n1, dd = weights @ tot_counts[:, 0], weights @ tot_counts[:, 1], weights @ tot_d
            with np.errstate(invalid="ignore", divide="ignore"):
                bp = np.where(n0 * n1 > 0, 1 - (n0 + n1 - 1) * dd / (n0 * n1), np.nan)
            ci_pooled = percentile_ci(bp, ci)
        if not np.isnan(pooled_pa):
            agree = np.zeros(n_units)
            pairs = np.zeros(n_units)
            for k in range(len(codes)):
                a, p = pair_agreement_counts(value_counts(data[k]))
                agree += a
                pairs += p
            with np.errstate(invalid="ignore", divide="ignore"):
                bpa = (weights @ agree) / (weights @ pairs)
            ci_pa = percentile_ci(bpa, ci)
    n_rel = {r: int((by_code["reliability"] == r).sum())
             for r in ("reliable", "tentative", "unreliable", "undefined")}
    common = {"coders": len(coders), "units": n_units, "codes": len(codes)}
    nan2 = (float("nan"), float("nan"))
    overall_rows = [
        ("mean_alpha", mean_alpha, *ci_mean),
        ("pooled_alpha", pooled, *ci_pooled),
        ("percent_agreement", pooled_pa, *ci_pa),
        ("mean_cohen_kappa", mean_kappa, *nan2),
        ("codes_reliable", n_rel["reliable"], *nan2),
        ("codes_tentative", n_rel["tentative"], *nan2),
        ("codes_unreliable", n_rel["unreliable"], *nan2),
        ("codes_undefined", n_rel["undefined"], *nan2),
        ("threshold_reliable", float(reliable), *nan2),
        ("threshold_tentative", float(tentative), *nan2),
    ]
    overall = pd.DataFrame([dict(zip(OVERALL_COLUMNS[:4], r), **common) for r in overall_rows],
                           columns=OVERALL_COLUMNS)
    if not n_units:
        reasons.setdefault("*", "no session was coded by two or more human coders")
    return AgreementResult(by_code, overall, reasons, coders, units, disagree)


# ------------------------------------------------------------------ numbers registry

def _dash_ci(lo: float, hi: float, digits: int = 2) -> str:
    if np.isnan(lo) or np.isnan(hi):
        return "NA"
    return f"{lo:.{digits}f}–{hi:.{digits}f}"


def register_numbers(frag, result: AgreementResult, code_meta: dict, by_code_path: str,
                     overall_path: str, ci: float) -> None:
    """Add the agreement numbers and the ``agreement`` table to a ``numbers.Fragment``.

    ``code_meta`` maps code id -> {"name", "category"}. Line numbers point at the rows
    of the TSVs as written (header = line 1, rows in the DataFrames' order).
    """
    pct = f"{round(100 * ci)}%"
    bc = result.by_code.reset_index(drop=True)
    table_rows = []
    for i, row in bc.iterrows():
        code, line = row["code"], [i + 2]
        segs = result.disagreements.get(code, [])
        why = f" (undefined: {result.reasons[code]})" if code in result.reasons else ""
        a = frag.add(f"agreement.alpha.{code}", row["krippendorff_alpha"],
                     f"Krippendorff's alpha (nominal) of the human coders for code {code}{why}; "
                     "segments listed are those where the coders disagree",
                     by_code_path, line, segments=segs)
        frag.add(f"agreement.ci_low.{code}", row["ci_low"],
                 f"lower bound of the {pct} bootstrap interval of alpha for {code}",
                 by_code_path, line)
        frag.add(f"agreement.ci_high.{code}", row["ci_high"],
                 f"upper bound of the {pct} bootstrap interval of alpha for {code}",
                 by_code_path, line)
        lo, hi = float(row["ci_low"]), float(row["ci_high"])
        c = frag.add(f"agreement.ci.{code}", [None if np.isnan(lo) else lo,
                                               None if np.isnan(hi) else hi],
                     f"{pct} bootstrap interval (percentile, units resampled) of alpha for {code}",
                     by_code_path, line, shown=_dash_ci(lo, hi))
        p = frag.add(f"agreement.pa.{code}", row["percent_agreement"],
                     f"percent agreement (agreeing / pairable coder pairs) for {code}",
                     by_code_path, line, digits=3, percent=True)
        frag.add(f"agreement.kappa.{code}", row["cohen_kappa"],
                 f"mean pairwise Cohen's kappa of the human coders for {code}",
                 by_code_path, line)
        meta = code_meta.get(code, {})
        table_rows.append([code, meta.get("name", code), meta.get("category", ""),
                           {"num": a}, {"num": c}, {"num": p}, row["reliability"]])

    ov = result.overall.reset_index(drop=True)
    oline = {m: i + 2 for i, m in enumerate(ov["measure"])}
    val = dict(zip(ov["measure"], ov["value"]))
    frag.add("agreement.alpha.mean", val["mean_alpha"],
             "mean of the per-code Krippendorff's alphas (codes with defined alpha)",
             overall_path, [oline["mean_alpha"]])
    frag.add("agreement.alpha.pooled", val["pooled_alpha"],
             "Krippendorff's alpha over all code x segment decisions pooled",
             overall_path, [oline["pooled_alpha"]])
    frag.add("agreement.pa.pooled", val["percent_agreement"],
             "percent agreement over all code x segment decisions pooled",
             overall_path, [oline["percent_agreement"]], digits=3, percent=True)
    frag.add("agreement.units", int(ov["units"].iloc[0]) if len(ov) else 0,
             "coding units: participant segments of sessions coded by two or more human coders",
             overall_path, list(oline.values()))
    frag.add("agreement.coders", int(ov["coders"].iloc[0]) if len(ov) else 0,
             "human coders in the agreement analysis", overall_path, list(oline.values()))
    for rel in ("reliable", "tentative", "unreliable", "undefined"):
        lines = [i + 2 for i, r in enumerate(bc["reliability"]) if r == rel]
        frag.add(f"agreement.codes.{rel}", len(lines),
                 f"number of codes whose reliability is {rel}", by_code_path, lines)
    frag.add("agreement.threshold.reliable", float(val["threshold_reliable"]),
             "alpha at or above which a code is reliable", overall_path,
             [oline["threshold_reliable"]], digits=3)
    frag.add("agreement.threshold.tentative", float(val["threshold_tentative"]),
             "alpha at or above which a code is tentatively reliable", overall_path,
             [oline["threshold_tentative"]], digits=3)
    frag.table("agreement",
               f"Inter-coder agreement per code: Krippendorff's alpha (nominal) with {pct} "
               "bootstrap interval, and percent agreement",
               ["Code", "Name", "Category", "α", f"{pct} CI", "% agreement", "Reliability"],
               table_rows)
