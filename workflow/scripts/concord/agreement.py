"""Stage 4, inter-coder agreement. Pure functions.

The coding unit is a segment of a coding-unit role (``code.roles``, default the
participants; facilitators' segments are not coded). For each code the *reliability
matrix* is coders x units with 1 (the coder applied the code to the segment), 0 (the
coder coded the session but not this code here) or NaN (missing, not absent: the
coder did not code the unit's session, the code does not apply to the unit's role
-- codebook ``roles`` --, or the coder marked the unit "n/a"). A code's ``units`` are
the units it applies to.

Three comparisons, each its own table (same statistic columns, ``STAT_COLUMNS``):

* ``by_code``: the human coders with each other, on the participant segments of the
  sessions coded by two or more human coders (``machine`` and ``consensus`` are not
  human coders);
* ``human_vs_machine``: each human coder with the automatic coder, on the
  participant segments of the sessions both coded;
* ``by_group``: the human coders with each other within each stakeholder group
  (the ``group`` column of the segment files).

Per code (presence/absence per unit):

* Krippendorff's alpha, nominal, from the ``krippendorff`` package (the level of
  measurement is always passed explicitly);
* percent agreement: agreeing pairable coder pairs / pairable pairs;
* Cohen's kappa, the mean over coder pairs of the pair's kappa on the units both
  coded (pairs whose kappa is undefined are left out of the mean);
* Fleiss' kappa and Gwet's AC1 in the form for any number of raters with missing
  ratings (Gwet 2014, ch. 2 and 4; as in the R package irrCAC): with ``r_ik`` raters
  putting unit i in category k and ``r_i`` raters of unit i,
  ``p_a`` = mean over units with r_i >= 2 of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)),
  ``pi_k`` = mean over units with r_i >= 1 of r_ik / r_i, and
  ``p_e`` = sum_k pi_k^2 (Fleiss) or sum_k pi_k (1 - pi_k) / (q - 1) (AC1, q = 2
  categories: present/absent); coefficient = (p_a - p_e) / (1 - p_e);
* a bootstrap percentile interval for alpha: units are resampled with replacement
  (``np.random.default_rng(seed)``), alpha recomputed on each resample in closed
  form from per-unit sums (identical to ``krippendorff.alpha(value_counts=...,
  level_of_measurement="nominal")``; see :func:`binary_alpha_from_counts`). All
  codes of a table share the resamples. Every resampled statistic is a function of
  sums over units of per-unit columns, and units with equal columns are
  interchangeable, so the resamples are drawn per distinct column row ("pattern"):
  how often each pattern is drawn is Multinomial(units, pattern share), exactly the
  unit bootstrap (:func:`pattern_sums`); cost and memory grow with the patterns, not
  the units.
  ``p_below_threshold`` is the share of resamples whose alpha is below the reliable
  threshold (Hayes & Krippendorff 2007, q_min).

Degenerate cases are reported, never crashed on, and the ``note`` column says why:
a code nobody applied or everybody applied to every unit has one value only, so
alpha and the kappas are undefined (NaN, reliability ``undefined``) while percent
agreement and AC1 are 1 (AC1's chance agreement is 0 when one category has all the
ratings); a table with a single unit has no bootstrap interval; no pairable unit
leaves everything undefined.

Overall (human vs human): the mean of the per-code alphas, the pooled alpha over all
code x unit decisions, the pooled percent agreement (each with an interval from the
same resamples: a resampled segment brings all its codes along), the mean Cohen's
kappa and AC1, and the multi-label alpha with the MASI distance (Passonneau 2006)
over each unit's *set* of codes (:func:`masi_alpha`, equal to NLTK's
``AnnotationTask(distance=masi_distance).alpha()`` with two empty sets at distance 0).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations

import krippendorff
import numpy as np
import pandas as pd
from scipy import sparse

from concord import roles as roles_mod
from concord.tsvio import InputError

HUMAN_EXCLUDED = ("machine", "consensus", "learned")
MACHINE = "machine"
STAT_COLUMNS = ["code", "coders", "units", "percent_agreement", "cohen_kappa", "fleiss_kappa",
                "gwet_ac1", "krippendorff_alpha", "ci_low", "ci_high", "p_below_threshold",
                "threshold", "reliability", "meets_threshold", "note"]
BY_CODE_COLUMNS = STAT_COLUMNS
MACHINE_COLUMNS = ["coder"] + STAT_COLUMNS
GROUP_COLUMNS = ["group"] + STAT_COLUMNS
OVERALL_COLUMNS = ["measure", "value", "ci_low", "ci_high", "coders", "units", "codes", "note"]
BOOT_CELLS = 2 ** 21     # resamples x patterns weights drawn at a time (16 MB of floats)
RARE_PATTERN = 16        # patterns with fewer units are drawn unit by unit (pattern_weights)
MASI_CI_MAX_SETS = 512   # MASI-alpha interval only when this few distinct code sets occur


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
        if level == "nominal":  # same result, skips the package's own value counting
            counts = np.stack([np.sum(data == v, axis=0) for v in values], axis=1)
            return float(krippendorff.alpha(value_counts=counts,
                                            level_of_measurement="nominal")), ""
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
    k = len(cats)
    table = np.bincount(ia * k + ib, minlength=k * k).reshape(k, k).astype(float)
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


def percentile_ci(samples, ci: float) -> tuple[float, float]:
    s = np.asarray(samples, dtype=float)
    s = s[~np.isnan(s)]
    if len(s) == 0:
        return float("nan"), float("nan")
    lo, hi = np.quantile(s, [(1 - ci) / 2, 1 - (1 - ci) / 2])
    return float(lo), float(hi)


def chance_corrected(counts) -> dict:
    """Percent agreement, Fleiss' kappa and Gwet's AC1 from a units x categories matrix
    of rater counts, with any number of raters per unit (missing ratings allowed).

    Gwet (2014), Handbook of Inter-Rater Reliability, 4th ed.; irrCAC's
    ``fleiss.kappa.raw`` / ``gwet.ac1.raw``. ``q`` is the number of columns (pass every
    possible category, used or not). Returns ``{"pa", "pe_fleiss", "fleiss", "pe_ac1",
    "ac1"}``; a coefficient is NaN when its chance agreement is 1 or no unit has two
    ratings.
    """
    c = np.asarray(counts, dtype=float)
    q = c.shape[1]
    r = c.sum(axis=1)
    two = r >= 2
    one = r >= 1
    nan = float("nan")
    if not two.any():
        return {"pa": nan, "pe_fleiss": nan, "fleiss": nan, "pe_ac1": nan, "ac1": nan}
    pa = float(np.mean((c[two] * (c[two] - 1)).sum(axis=1) / (r[two] * (r[two] - 1))))
    pi = (c[one] / r[one, None]).mean(axis=0)
    pe_f = float(pi @ pi)
    pe_g = float((pi * (1 - pi)).sum() / (q - 1)) if q > 1 else nan

    def coef(pe):
        return nan if np.isnan(pe) or np.isclose(pe, 1.0) else float((pa - pe) / (1 - pe))

    return {"pa": pa, "pe_fleiss": pe_f, "fleiss": coef(pe_f), "pe_ac1": pe_g, "ac1": coef(pe_g)}


def gwet_ac1(data, categories=None) -> float:
    """Gwet's AC1 of a coders x units matrix (NaN = missing); ``categories`` defaults to
    the values that occur."""
    data = np.asarray(data, dtype=float)
    cats = np.unique(data[~np.isnan(data)]) if categories is None else np.asarray(categories)
    counts = np.stack([np.sum(data == v, axis=0) for v in cats], axis=1)
    return chance_corrected(counts)["ac1"]


# ------------------------------------------------------------------ MASI

def masi_matrix(a, b) -> np.ndarray:
    """MASI distances (Passonneau 2006; NLTK ``masi_distance``) between the rows of two
    boolean sets x codes matrices; two empty sets are at distance 0 (NLTK divides by 0)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    inter = a @ b.T
    la, lb = a.sum(axis=1)[:, None], b.sum(axis=1)[None, :]
    union = la + lb - inter
    m = np.where((la == lb) & (inter == la), 1.0,
                 np.where(inter == np.minimum(la, lb), 2 / 3, np.where(inter > 0, 1 / 3, 0.0)))
    with np.errstate(invalid="ignore", divide="ignore"):
        d = np.where(union > 0, 1 - inter / np.where(union > 0, union, 1) * m, 0.0)
    return d


def masi_distance0(x, y) -> float:
    """NLTK's ``masi_distance`` that gives 0 for two empty sets (instead of dividing by 0)."""
    from nltk.metrics.distance import masi_distance
    return 0.0 if not x and not y else masi_distance(x, y)


def _masi_parts(sets, present):
    """Per-unit observed-disagreement contributions and rating counts for MASI alpha.

    ``sets``: coders x units x codes boolean; ``present``: coders x units boolean.
    Returns ``(do_u, m_u, uniq, counts)`` for the pairable units (m_u >= 2), with
    ``uniq`` the distinct sets (S x codes) and ``counts`` units x S (how many of a
    unit's ratings are each set)."""
    n_coders, n_units, _ = sets.shape
    m = present.sum(axis=0)
    ok = m >= 2
    do = np.zeros(n_units)
    for i, j in combinations(range(n_coders), 2):
        both = present[i] & present[j] & ok
        if both.any():
            a, b = sets[i][both], sets[j][both]
            inter = (a & b).sum(axis=1).astype(float)
            la, lb = a.sum(axis=1), b.sum(axis=1)
            union = la + lb - inter
            mm = np.where((la == lb) & (inter == la), 1.0,
                          np.where(inter == np.minimum(la, lb), 2 / 3,
                                   np.where(inter > 0, 1 / 3, 0.0)))
            d = np.where(union > 0, 1 - inter / np.where(union > 0, union, 1) * mm, 0.0)
            do[both] += 2 * d
    do = np.where(ok, do / np.where(ok, m - 1, 1), 0.0)
    keep = present & ok[None, :]
    flat = sets[keep]                               # ratings x codes
    unit_of = np.broadcast_to(np.arange(n_units), present.shape)[keep]
    if len(flat) == 0:
        return do, np.where(ok, m, 0), np.zeros((0, sets.shape[2]), bool), None, unit_of, None
    packed = np.packbits(flat, axis=1)
    _, first, inv = np.unique(packed, axis=0, return_index=True, return_inverse=True)
    inv = inv.ravel()
    uniq = flat[first]
    return do, np.where(ok, m, 0), uniq, inv, unit_of, np.bincount(inv, minlength=len(uniq))


def _quad_form(uniq, n_s, block: int = 512) -> float:
    """sum_ab n_a n_b MASI(a, b) over the distinct sets, in blocks (bounded memory).
    O(S^2): used for small S and as the reference for :func:`_masi_pair_sum`."""
    total = 0.0
    for i in range(0, len(uniq), block):
        d = masi_matrix(uniq[i:i + block], uniq)
        total += float(n_s[i:i + block] @ d @ n_s)
    return total


def _masi_value(s: int, t: int, i: int) -> float:
    """MASI distance of two sets of sizes s, t with i codes in common."""
    union = s + t - i
    if union == 0:
        return 0.0
    m = 1.0 if (s == t == i) else 2 / 3 if i == min(s, t) else 1 / 3 if i > 0 else 0.0
    return 1.0 - i / union * m


MASI_SUBSETS_MAX = 20_000_000  # subset enumeration budget of _masi_pair_sum


def _masi_pair_sum(uniq, n_s) -> float:
    """Exact ``sum_ab n_a n_b MASI(a, b)`` over the distinct sets without the S x S matrix.

    MASI depends only on the sizes s = |a|, t = |b| and the overlap i = |a & b|. For
    every j, ``B[s, t, j] = sum_T M_s(T) M_t(T)`` over the j-subsets T of the observed
    sets, with ``M_s(T)`` the count of ratings of size s containing T, equals
    ``sum_ab n_a n_b C(i_ab, j)`` over pairs of sizes (s, t); binomial inversion gives
    the number of pairs with each overlap i. Cost ~ sum_a 2^|a| (vectorised); falls
    back to :func:`_quad_form` for more than 62 codes, sets over 20 codes or a subset
    count above ``MASI_SUBSETS_MAX``."""
    uniq = np.asarray(uniq, dtype=bool)
    n_s = np.asarray(n_s, dtype=np.int64)
    k = uniq.shape[1]
    sizes = uniq.sum(axis=1)
    smax = int(sizes.max()) if len(sizes) else 0
    if k > 62 or smax > 20 or float(np.sum(2.0 ** sizes)) > MASI_SUBSETS_MAX:
        return _quad_form(uniq, n_s.astype(float))
    from math import comb
    size_groups = {}
    for sz in range(smax + 1):
        sel = sizes == sz
        if sel.any():
            pos = np.nonzero(uniq[sel])[1].reshape(int(sel.sum()), sz).astype(np.int64)
            size_groups[sz] = (pos, n_s[sel])
    b = np.zeros((smax + 1, smax + 1, smax + 1), dtype=np.int64)  # s, t, j
    for j in range(smax + 1):
        masks, szs, ws = [], [], []
        for sz, (pos, w) in size_groups.items():
            if sz < j:
                continue
            for cmb in combinations(range(sz), j):
                mask = np.zeros(len(pos), dtype=np.int64)
                for c in cmb:
                    mask |= np.left_shift(np.int64(1), pos[:, c])
                masks.append(mask)
                szs.append(np.full(len(pos), sz, dtype=np.int64))
                ws.append(w)
        if not masks:
            continue
        masks, szs, ws = np.concatenate(masks), np.concatenate(szs), np.concatenate(ws)
        _, inv = np.unique(masks, return_inverse=True)
        inv = inv.ravel()
        mm = np.zeros((inv.max() + 1, smax + 1), dtype=np.int64)
        np.add.at(mm, (inv, szs), ws)
        b[:, :, j] = mm.T @ mm
    total = 0.0
    for s_ in range(smax + 1):
        for t in range(smax + 1):
            for i in range(min(s_, t) + 1):
                h = sum((-1) ** (j - i) * comb(j, i) * int(b[s_, t, j])
                        for j in range(i, min(s_, t) + 1))
                if h:
                    total += h * _masi_value(s_, t, i)
    return total


def masi_alpha(sets, present, resamples: int = 0, seed: int = 0, ci: float = 0.95):
    """Krippendorff's alpha with the MASI distance over each unit's set of codes.

    ``sets`` coders x units x codes (bool), ``present`` coders x units (bool: the coder
    coded the unit). Returns ``(alpha, ci_low, ci_high, note)``. With ``resamples`` > 0
    (units resampled, :func:`pattern_sums` with ``seed``) the percentile interval is
    computed when at most ``MASI_CI_MAX_SETS`` distinct sets occur (the expected
    disagreement of a resample is a quadratic form over the distinct sets)."""
    sets = np.asarray(sets, dtype=bool)
    present = np.asarray(present, dtype=bool)
    nan = float("nan")
    do_u, m_u, uniq, inv, unit_of, n_s = _masi_parts(sets, present)
    n = float(m_u.sum())
    if n < 2 or len(uniq) < 2:
        return nan, nan, nan, ("only one distinct code set occurs, so agreement cannot be "
                               "told from chance" if n >= 2 else "no unit coded by two coders")
    de = _masi_pair_sum(uniq, n_s) / (n * (n - 1))
    alpha = 1 - (do_u.sum() / n) / de
    if resamples <= 0:
        return float(alpha), nan, nan, ""
    if len(uniq) > MASI_CI_MAX_SETS:
        return float(alpha), nan, nan, (f"{len(uniq)} distinct code sets: no bootstrap "
                                        f"interval (computed up to {MASI_CI_MAX_SETS})")
    n_coders, n_units = present.shape
    # a unit's row (ratings per distinct set, do_u) depends only on the multiset of its
    # pairable ratings' sets: the key is the sorted set numbers (0 = no rating)
    coder_of = np.nonzero(present & (present.sum(axis=0) >= 2)[None, :])[0]
    key = np.zeros((n_units, n_coders), dtype=np.int64)
    key[unit_of, coder_of] = inv + 1
    key.sort(axis=1)
    us_t = sparse.coo_matrix((np.ones(len(unit_of)), (inv, unit_of)),
                             shape=(len(uniq), n_units)).tocsc()

    def rows(idx):
        return np.hstack([us_t[:, idx].T.toarray(), do_u[idx, None]])

    sums = pattern_sums(rows, resamples, seed, key=key)
    ns, do_b = sums[:, :-1], sums[:, -1]
    nn = ns.sum(axis=1)
    de_b = ((ns @ masi_matrix(uniq, uniq)) * ns).sum(axis=1) / (nn * (nn - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        boot = np.where(de_b > 0, 1 - (do_b / nn) / de_b, np.nan)
    lo, hi = percentile_ci(boot, ci)
    return float(alpha), lo, hi, ""


def masi_alpha_nltk(sets, present) -> float:
    """The same through NLTK's ``AnnotationTask(distance=masi_distance0).alpha()``
    (reference implementation; slow for many distinct sets)."""
    from nltk.metrics.agreement import AnnotationTask
    sets = np.asarray(sets, dtype=bool)
    triples = [(str(c), str(u), frozenset(np.flatnonzero(sets[c, u]).tolist()))
               for c in range(sets.shape[0]) for u in range(sets.shape[1]) if present[c, u]]
    return float(AnnotationTask(data=triples, distance=masi_distance0).alpha())


# ------------------------------------------------------------------ bootstrap sums

def _patterns(key) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Distinct rows of ``key`` (units x J): ``(first, inverse, counts)`` with ``first``
    one unit of each distinct row (rows in sorted order of their packed id), ``inverse``
    each unit's row and ``counts`` how many units have it.

    Non-negative integer columns are packed in mixed radix into one int64 id per unit
    (re-numbered densely whenever the next column would overflow), so no units x J
    sort of wide rows is needed; other columns are first replaced by their rank."""
    key = np.asarray(key)
    if key.ndim == 1:
        key = key[:, None]
    n = len(key)
    ids = np.zeros(n, dtype=np.int64)
    span = 1
    for j in range(key.shape[1]):
        col = key[:, j]
        if not (np.issubdtype(col.dtype, np.integer) and (n == 0 or col.min() >= 0)):
            col = np.unique(col, return_inverse=True)[1].ravel()
        col = col.astype(np.int64)
        radix = int(col.max()) + 1 if n else 1
        if span * radix >= 2 ** 62:
            ids = np.unique(ids, return_inverse=True)[1].ravel().astype(np.int64)
            span = int(ids.max()) + 1
        ids = ids * radix + col
        span *= radix
    _, first, inverse, counts = np.unique(ids, return_index=True, return_inverse=True,
                                          return_counts=True)
    return first, inverse.ravel(), counts


def pattern_weights(counts, resamples: int, seed: int, inverse=None):
    """Yield chunks (resamples x P) of unit-bootstrap weights summed per pattern.

    Drawing ``n = sum(counts)`` units with replacement puts ``w_p`` draws on the
    ``counts[p]`` units of pattern p, with ``w ~ Multinomial(n, counts / n)``; that is
    drawn directly, so the cost grows with the number of patterns P, not of units. Rare
    patterns (fewer than ``RARE_PATTERN`` units; a multinomial category costs about as
    much as that many unit draws) are drawn as units: the number of draws that land on
    rare-pattern units is Binomial(n, n_rare / n); given it, the frequent patterns get a
    multinomial of the rest and the rare draws pick units uniformly (``inverse`` maps
    units to patterns; needed only when some pattern is rare). Exactly the unit
    bootstrap's distribution. ``np.random.default_rng(seed)``; deterministic."""
    counts = np.asarray(counts, dtype=np.int64)
    n, n_pat = int(counts.sum()), len(counts)
    rng = np.random.default_rng(seed)
    frequent = np.flatnonzero(counts >= RARE_PATTERN)
    rare_pat = np.zeros(0, dtype=np.int64)
    if len(frequent) < n_pat:
        rare_pat = inverse[counts[inverse] < RARE_PATTERN]  # pattern of each rare unit
    n_rare = len(rare_pat)
    chunk = max(1, min(resamples, BOOT_CELLS // max(n_pat, n_rare, 1)))
    for start in range(0, resamples, chunk):
        k = min(chunk, resamples - start)
        w = np.zeros((k, n_pat))
        if not len(frequent):
            drawn = np.full(k, n)
        elif not n_rare:
            drawn = np.zeros(k, dtype=np.int64)
        else:
            drawn = rng.binomial(n, n_rare / n, size=k)
        if len(frequent):
            w[:, frequent] = rng.multinomial(n - drawn, counts[frequent] / (n - n_rare))
        if n_rare:
            pick = rare_pat[rng.integers(0, n_rare, size=int(drawn.sum()))]
            row = np.repeat(np.arange(k, dtype=np.int64), drawn)
            w += np.bincount(row * n_pat + pick, minlength=k * n_pat).reshape(k, n_pat)
        yield w


def pattern_sums(columns, resamples: int, seed: int, key=None) -> np.ndarray:
    """Resamples x K: per unit-bootstrap resample (units drawn with replacement), the
    sums of each per-unit column, computed per distinct row ("pattern") of ``key``.

    Units whose ``key`` rows are equal must have equal ``columns`` rows (they are then
    interchangeable: only how often a pattern is drawn matters, see
    :func:`pattern_weights`). ``key`` defaults to ``columns`` (units x K); with a
    ``key``, ``columns`` may be a function of unit indices returning their rows, so the
    columns are only computed for one unit per pattern."""
    if key is None:
        key = columns
    first, inverse, counts = _patterns(key)
    rows = columns(first) if callable(columns) else np.asarray(columns)[first]
    rows = np.asarray(rows, dtype=float)
    out = [w @ rows for w in pattern_weights(counts, resamples, seed, inverse)]
    return np.vstack(out) if out else np.zeros((0, rows.shape[1]))


def _alpha_from_sums(n0, n1, dd):
    n = n0 + n1
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n0 * n1 > 0, 1.0 - (n - 1) * dd / (n0 * n1), np.nan)


def unit_parts(counts):
    """Per-unit columns (n_u0, n_u1, disagreement term) for the pairable units."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    ok = m >= 2
    c0 = np.where(ok, counts[:, 0], 0.0)
    c1 = np.where(ok, counts[:, 1], 0.0)
    d = np.where(ok, c0 * c1 / np.where(ok, m - 1, 1), 0.0)
    return c0, c1, d


# ------------------------------------------------------------------ the stage

@dataclass
class AgreementResult:
    by_code: pd.DataFrame          # STAT_COLUMNS, sorted by code (human vs human)
    overall: pd.DataFrame          # OVERALL_COLUMNS
    reasons: dict                  # code -> why alpha is undefined (human vs human)
    coders: list                   # human coders in the human-vs-human comparison
    units: list                    # segment IDs of those units, sorted
    disagreements: dict            # code -> segment IDs where the human coders disagree
    human_vs_machine: pd.DataFrame = None  # MACHINE_COLUMNS, sorted by coder, code
    by_group: pd.DataFrame = None          # GROUP_COLUMNS, sorted by group, code
    boot: dict = None              # (table, key, code) -> bootstrap alphas (for plots/tests)


def reliability_matrices(codings: pd.DataFrame, coverage: pd.DataFrame, segments: pd.DataFrame,
                         codes: list[str], moderator_id: str | None = None,
                         coders: list[str] | None = None, min_coders: int = 2,
                         units=roles_mod.DEFAULT_UNIT_ROLES, code_roles: dict | None = None,
                         not_applicable: pd.DataFrame | None = None):
    """Build the binary coders x units matrix of every code.

    Units: coding units (segments of the roles ``units``; ``moderator_id`` is unused)
    of the sessions that ``min_coders`` or more of ``coders`` coded (default: the human
    coders). Returns ``(coders, units, data)`` with ``data`` codes x coders x units;
    NaN where a coder did not code the session, where the code does not apply to the
    unit's role (``code_roles``: code -> roles) and where ``not_applicable``
    (segment_id, coder, code; code ``*`` = every code) says the coder marked it n/a.
    """
    segments = roles_mod.with_roles(segments, moderator_id)
    if coders is None:
        cov = coverage[~coverage["coder"].isin(HUMAN_EXCLUDED)]
    else:
        cov = coverage[coverage["coder"].isin(coders)]
    per_session = cov.groupby("session_id")["coder"].nunique()
    sessions = set(per_session[per_session >= min_coders].index)
    coders = sorted(set(cov[cov["session_id"].isin(sessions)]["coder"])) if coders is None \
        else [c for c in coders if c in set(cov["coder"])]
    part = segments[roles_mod.is_unit(segments, units).to_numpy()
                    & segments["session_id"].isin(sessions).to_numpy()]
    part = part.sort_values("segment_id", kind="mergesort")
    unit_ids = list(part["segment_id"])
    unit_session = np.asarray(part["session_id"])
    covered = np.zeros((len(coders), len(unit_ids)), dtype=bool)
    for i, c in enumerate(coders):
        covered[i] = pd.Series(unit_session).isin(
            set(cov.loc[cov["coder"] == c, "session_id"])).to_numpy()

    data = np.zeros((len(codes), len(coders), len(unit_ids)))
    ki = pd.Index(codes).get_indexer(codings["code"])
    ci_ = pd.Index(coders).get_indexer(codings["coder"])
    ui = pd.Index(unit_ids).get_indexer(codings["segment_id"])
    hit = (ki >= 0) & (ci_ >= 0) & (ui >= 0)
    data[ki[hit], ci_[hit], ui[hit]] = 1.0
    data[:, ~covered] = np.nan
    if code_roles and any(code_roles.get(c) for c in codes):
        app = roles_mod.applicability(part, list(codes), code_roles, units)
        for k in range(len(codes)):
            data[k][:, ~app[k]] = np.nan
    if not_applicable is not None and len(not_applicable):
        na = not_applicable
        ui = pd.Index(unit_ids).get_indexer(na["segment_id"])
        ci_ = pd.Index(coders).get_indexer(na["coder"])
        every = (na["code"] == "*").to_numpy()
        ki = pd.Index(codes).get_indexer(na["code"])
        ok = (ui >= 0) & (ci_ >= 0)
        sel = ok & every
        data[:, ci_[sel], ui[sel]] = np.nan
        sel = ok & ~every & (ki >= 0)
        data[ki[sel], ci_[sel], ui[sel]] = np.nan
    return coders, unit_ids, data


def _note(alpha_reason: str, n_units: int, bootstrap: int) -> str:
    notes = []
    if n_units == 0:
        return "no unit was coded by two or more of these coders"
    if alpha_reason:
        notes.append(f"alpha and kappas undefined: {alpha_reason}; percent agreement and "
                     "AC1 are trivially 1")
    if n_units == 1:
        notes.append("a single unit: no bootstrap interval")
    elif bootstrap == 0:
        notes.append("bootstrap disabled")
    return "; ".join(notes)


def table_columns(data: np.ndarray) -> np.ndarray:
    """Per-unit columns whose bootstrap-weighted sums give every resampled alpha of one
    comparison (``data`` codes x coders x units): pairable ratings summed over codes,
    agreeing pairs and pairable pairs summed over codes, then per code the ratings
    "applied" n_u1, the disagreement term n_u0 n_u1 / (m_u - 1) and the pairable
    ratings m_u (0 when m_u < 2; m_u differs between codes only where a code does not
    apply to a unit or a coder marked it n/a)."""
    n_codes, _, n_units = data.shape
    if n_codes == 0:
        return np.zeros((n_units, 3))
    m = np.sum(~np.isnan(data), axis=1).astype(float)                  # codes x units
    ok = m >= 2
    mm = np.where(ok, m, 0.0)
    c1 = np.where(ok, np.nansum(data, axis=1), 0.0)                    # codes x units
    c0 = mm - c1
    d = c0 * c1 / np.where(ok, m - 1, 1)
    agree = ((c0 * (c0 - 1) + c1 * (c1 - 1)) / 2).sum(axis=0)
    pairs = (mm * (mm - 1) / 2).sum(axis=0)
    return np.vstack([mm.sum(axis=0), agree, pairs, c1, d, mm]).T      # units x columns


def table_key(data: np.ndarray) -> np.ndarray:
    """Units x columns small integers: the ratings m_u (one column per distinct
    pattern of applicability over codes) and per code the ratings "applied" n_u1, all
    that a unit's :func:`table_columns` row depends on."""
    n_codes, n_coders, n_units = data.shape
    if not n_codes:
        return np.zeros((n_units, 1), dtype=np.int16)
    m = np.sum(~np.isnan(data), axis=1).astype(np.int16)               # codes x units
    if n_codes > 1:   # np.unique(m, axis=0): the distinct rows in lexicographic order
        m = np.array(sorted(set(map(tuple, m.tolist()))), dtype=np.int16)
    key = np.zeros((n_units, len(m) + n_codes), dtype=np.int16)
    key[:, :len(m)] = m.T
    for i in range(n_coders):
        key[:, len(m):] += (data[:, i] == 1).T
    return key


def table_sums(datas: list[np.ndarray], bootstrap: int, seed: int) -> np.ndarray:
    """Resamples x columns: the bootstrap sums of the :func:`table_columns` of each
    comparison in ``datas`` (all on the same units), side by side, from one set of
    resamples (patterns of the units' rows over all comparisons together)."""
    key = np.hstack([table_key(d) for d in datas])
    return pattern_sums(lambda idx: np.hstack([table_columns(d[:, :, idx]) for d in datas]),
                        bootstrap, seed, key=key)


def boot_alphas(sums: np.ndarray, n_codes: int) -> np.ndarray:
    """Codes x resamples alphas from the resampled sums of :func:`table_columns`."""
    n1 = sums[:, 3:3 + n_codes].T
    dd = sums[:, 3 + n_codes:3 + 2 * n_codes].T
    n = sums[:, 3 + 2 * n_codes:3 + 3 * n_codes].T
    return _alpha_from_sums(n - n1, n1, dd)


def binary_code_stats(data: np.ndarray) -> dict:
    """Per-code statistics of binary data (codes x coders x units, NaN = missing),
    vectorised over codes: closed-form nominal alpha (= the krippendorff package, see
    :func:`binary_alpha_from_counts`), percent agreement, Fleiss' kappa and Gwet's AC1
    (= :func:`chance_corrected` with q = 2) and the mean pairwise Cohen's kappa
    (= :func:`mean_pairwise_kappa`). Arrays of length codes; NaN where undefined."""
    n_codes, n_coders, n_units = data.shape
    present = ~np.isnan(data)                                       # codes x coders x units
    m = present.sum(axis=1).astype(float)                           # codes x units
    ok = m >= 2
    one = m >= 1
    c1 = np.nansum(data, axis=1)                                   # codes x units
    c0 = m - c1
    mm = np.where(ok, m, 0.0)
    d = np.where(ok, c0 * c1, 0.0) / np.where(ok, m - 1, 1)
    n1 = np.where(ok, c1, 0.0).sum(axis=1)
    n0 = mm.sum(axis=1) - n1
    alpha = _alpha_from_sums(n0, n1, d.sum(axis=1))
    agree = (c0 * (c0 - 1) + c1 * (c1 - 1)) / 2
    pairs = (mm * (mm - 1) / 2).sum(axis=1)
    n_ok, n_one = ok.sum(axis=1), one.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        pa_pairs = np.where(pairs > 0, np.where(ok, agree, 0).sum(axis=1) / pairs, np.nan)
        pa_units = np.where(ok, 2 * agree / np.where(ok, m * (m - 1), 1), 0).sum(axis=1) / n_ok
        pi1 = np.where(one, c1 / np.where(one, m, 1), 0).sum(axis=1) / n_one
    pi0 = 1 - pi1
    pe_f = pi0 ** 2 + pi1 ** 2
    pe_g = 2 * pi0 * pi1
    with np.errstate(invalid="ignore", divide="ignore"):
        fleiss = np.where(np.isclose(pe_f, 1.0), np.nan, (pa_units - pe_f) / (1 - pe_f))
        ac1 = np.where(np.isclose(pe_g, 1.0), np.nan, (pa_units - pe_g) / (1 - pe_g))
    fleiss = np.where(n_ok > 0, fleiss, np.nan)
    ac1 = np.where(n_ok > 0, ac1, np.nan)
    kappas = []
    for i, j in combinations(range(n_coders), 2):
        both = present[:, i] & present[:, j]                        # codes x units
        nb = both.sum(axis=1)
        if not nb.any():
            continue
        a = np.where(both, data[:, i], 0.0)
        b = np.where(both, data[:, j], 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            po = ((a == b) & both).sum(axis=1) / nb
            pa1, pb1 = a.sum(axis=1) / nb, b.sum(axis=1) / nb
            pe = pa1 * pb1 + (1 - pa1) * (1 - pb1)
            kappas.append(np.where((nb == 0) | np.isclose(pe, 1.0), np.nan,
                                   (po - pe) / (1 - pe)))
    if kappas:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            kappa = np.nanmean(np.vstack(kappas), axis=0)
    else:
        kappa = np.full(n_codes, np.nan)
    return {"alpha": alpha, "percent_agreement": pa_pairs, "fleiss": fleiss, "ac1": ac1,
            "kappa": kappa}


def code_table(data: np.ndarray, codes: list[str], seed: int, bootstrap: int, ci: float,
               reliable: float, tentative: float, sums: np.ndarray | None = None,
               package_alpha: bool = True):
    """Per-code statistics of one comparison (``data`` codes x coders x units).

    ``sums``: the resamples x columns bootstrap sums of :func:`table_columns` (computed
    here when not given). With ``package_alpha`` the point alpha comes from the
    ``krippendorff`` package, else from the identical closed form. Returns
    ``(DataFrame[STAT_COLUMNS], reasons, sums, boot_alphas)`` with ``boot_alphas``
    codes x resamples.
    """
    n_codes, n_coders, n_units = data.shape
    reasons, rows = {}, []
    do_boot = bootstrap > 0 and n_units >= 2
    if do_boot and sums is None:
        sums = table_sums([data], bootstrap, seed)
    if do_boot:
        balpha = boot_alphas(sums, n_codes)
    else:
        sums = None
        balpha = np.full((n_codes, max(bootstrap, 0)), np.nan)
    nan = float("nan")
    st = binary_code_stats(data) if n_units and n_codes else None
    for k, code in enumerate(codes):
        if n_units:
            if package_alpha:
                alpha, reason = krippendorff_alpha(data[k], "nominal")
            else:
                alpha = float(st["alpha"][k])
                reason = "" if not np.isnan(alpha) else _single_value_reason(data[k])
            pa, kappa = float(st["percent_agreement"][k]), float(st["kappa"][k])
            fl, ac1 = float(st["fleiss"][k]), float(st["ac1"][k])
        else:
            alpha, reason, pa, kappa, fl, ac1 = nan, "", nan, nan, nan, nan
        if reason:
            reasons[code] = reason
        lo = hi = pbelow = nan
        if do_boot and not np.isnan(alpha):
            b = balpha[k]
            lo, hi = percentile_ci(b, ci)
            ok = ~np.isnan(b)
            pbelow = float(np.mean(b[ok] < reliable)) if ok.any() else nan
        k_units = int((~np.isnan(data[k])).any(axis=0).sum()) if n_units else 0
        rows.append({"code": code, "coders": n_coders, "units": k_units,
                     "percent_agreement": pa, "cohen_kappa": kappa,
                     "fleiss_kappa": fl, "gwet_ac1": ac1,
                     "krippendorff_alpha": alpha, "ci_low": lo, "ci_high": hi,
                     "p_below_threshold": pbelow, "threshold": float(reliable),
                     "reliability": classify(alpha, reliable, tentative),
                     "meets_threshold": bool(not np.isnan(alpha) and alpha >= reliable),
                     "note": _note(reason, k_units, bootstrap)})
    return pd.DataFrame(rows, columns=STAT_COLUMNS), reasons, sums, balpha


def _single_value_reason(data) -> str:
    """Why closed-form alpha is NaN (same wording as :func:`krippendorff_alpha`)."""
    return krippendorff_alpha(data, "nominal")[1] or "alpha undefined"


def _shared_sums(datas: list[np.ndarray], bootstrap: int, seed: int) -> list:
    """Bootstrap sums for several comparisons on the same units, from one set of
    resamples (one matrix product per chunk for all of them)."""
    n_units = datas[0].shape[2]
    if bootstrap <= 0 or n_units < 2:
        return [None] * len(datas)
    sums = table_sums(datas, bootstrap, seed)
    out, at = [], 0
    for d in datas:
        width = 3 + 3 * d.shape[0]
        out.append(sums[:, at:at + width])
        at += width
    return out


def compute_agreement(codings: pd.DataFrame, coverage: pd.DataFrame, segments: pd.DataFrame,
                      codes: list[str], moderator_id: str | None = None, seed: int = 0,
                      bootstrap: int = 1000, ci: float = 0.95, reliable: float = 0.8,
                      tentative: float = 0.667, units=roles_mod.DEFAULT_UNIT_ROLES,
                      code_roles: dict | None = None,
                      not_applicable: pd.DataFrame | None = None) -> AgreementResult:
    """The three comparisons and the overall measures (see the module docstring).
    Coding units are the segments of the roles ``units`` (``moderator_id`` is
    unused); a code with roles (``code_roles``) is assessed on the units of its roles
    only, and units a coder marked n/a (``not_applicable``) are missing."""
    codes = sorted(codes)
    segments = roles_mod.with_roles(segments, moderator_id)
    if "group" not in segments.columns:
        raise InputError("segments: no 'group' column; the segment files of the segment stage "
                         "carry each segment's stakeholder group (rerun the segment rule)")
    # one matrix for every coder (humans + machine) over the participant segments of
    # every coded session; each comparison is a slice of it
    humans = sorted(set(coverage["coder"]) - set(HUMAN_EXCLUDED))
    everyone = humans + ([MACHINE] if MACHINE in set(coverage["coder"]) else [])
    all_coders, all_units, full = reliability_matrices(
        codings, coverage, segments, codes, coders=everyone, min_coders=1, units=units,
        code_roles=code_roles, not_applicable=not_applicable)
    # a coder rated a unit when any code has a value there (codes that do not apply
    # to the unit's role, or n/a marks, are missing for that code only)
    present = (~np.isnan(full)).any(axis=0) if len(codes) else \
        np.zeros((len(all_coders), len(all_units)), bool)
    hix = [i for i, c in enumerate(all_coders) if c in humans]
    unit_arr = np.asarray(all_units, dtype=object)
    hh_units = present[hix].sum(axis=0) >= 2 if hix else np.zeros(len(all_units), bool)
    coders = [all_coders[i] for i in hix if present[i, hh_units].any()]
    cidx = [all_coders.index(c) for c in coders]
    units = list(unit_arr[hh_units])
    data = full[:, cidx][:, :, hh_units]
    n_units = len(units)
    # each human vs the machine; comparisons on the same units as the human-human one
    # share its resamples (same seed, one pass)
    hvm_data = []
    if MACHINE in all_coders:
        mi = all_coders.index(MACHINE)
        for i in hix:
            sel = present[i] & present[mi]
            if sel.any():
                hvm_data.append((all_coders[i], sel, full[:, [i, mi]][:, :, sel]))
    same = [i for i, (_, sel, _) in enumerate(hvm_data) if np.array_equal(sel, hh_units)]
    shared = _shared_sums([data] + [hvm_data[i][2] for i in same], bootstrap, seed)
    hvm_sums = {i: shared[j + 1] for j, i in enumerate(same)}
    by_code, reasons, sums, balpha = code_table(data, codes, seed, bootstrap, ci, reliable,
                                                tentative, sums=shared[0])
    disagree = {}
    uarr = np.asarray(units, dtype=object)
    for k, code in enumerate(codes):
        both = np.nanmax(data[k], axis=0, initial=-1) == 1
        both &= np.nanmin(data[k], axis=0, initial=2) == 0
        disagree[code] = list(uarr[both]) if n_units else []

    # overall ----------------------------------------------------------------
    alphas = by_code["krippendorff_alpha"].to_numpy(dtype=float)
    mean_alpha = float(np.nanmean(alphas)) if np.any(~np.isnan(alphas)) else float("nan")
    stacked = data.transpose(1, 0, 2).reshape(len(coders), len(codes) * n_units)
    pooled, pooled_reason = krippendorff_alpha(stacked, "nominal")
    pooled_pa = percent_agreement(stacked) if stacked.size else float("nan")

    def nanmean_col(col):
        v = by_code[col].to_numpy(dtype=float)
        return float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan")

    nan2 = (float("nan"), float("nan"))
    ci_mean = ci_pooled = ci_pa = nan2
    if sums is not None:
        with warnings.catch_warnings():  # all-NaN columns: mean of nothing -> NaN
            warnings.simplefilter("ignore", RuntimeWarning)
            bmean = np.nanmean(balpha, axis=0) if len(balpha) else np.full(len(sums), np.nan)
        if not np.isnan(mean_alpha):
            ci_mean = percentile_ci(bmean, ci)
        if not np.isnan(pooled):
            nk = len(codes)
            n1 = sums[:, 3:3 + nk].sum(axis=1)
            bp = _alpha_from_sums(sums[:, 0] - n1, n1, sums[:, 3 + nk:3 + 2 * nk].sum(axis=1))
            ci_pooled = percentile_ci(bp, ci)
        if not np.isnan(pooled_pa):
            with np.errstate(invalid="ignore", divide="ignore"):
                ci_pa = percentile_ci(sums[:, 1] / sums[:, 2], ci)
    # MASI alpha over each unit's set of codes
    hh_present = (~np.isnan(data)).any(axis=0) if len(codes) else \
        np.zeros((len(coders), n_units), bool)
    sets = np.nan_to_num(data, nan=0.0).astype(bool).transpose(1, 2, 0)  # coders x units x codes
    masi, masi_lo, masi_hi, masi_note = masi_alpha(
        sets, hh_present, bootstrap if n_units >= 2 else 0, seed, ci) \
        if n_units else (float("nan"),) * 3 + ("no unit was coded by two or more coders",)

    n_rel = {r: int((by_code["reliability"] == r).sum())
             for r in ("reliable", "tentative", "unreliable", "undefined")}
    common = {"coders": len(coders), "units": n_units, "codes": len(codes)}
    overall_rows = [
        ("mean_alpha", mean_alpha, *ci_mean, "mean of the per-code alphas that are defined"),
        ("pooled_alpha", pooled, *ci_pooled, pooled_reason),
        ("masi_alpha", masi, masi_lo, masi_hi, masi_note),
        ("percent_agreement", pooled_pa, *ci_pa, "pooled over code x unit decisions"),
        ("mean_cohen_kappa", nanmean_col("cohen_kappa"), *nan2, ""),
        ("mean_fleiss_kappa", nanmean_col("fleiss_kappa"), *nan2, ""),
        ("mean_gwet_ac1", nanmean_col("gwet_ac1"), *nan2, ""),
        ("codes_reliable", n_rel["reliable"], *nan2, ""),
        ("codes_tentative", n_rel["tentative"], *nan2, ""),
        ("codes_unreliable", n_rel["unreliable"], *nan2, ""),
        ("codes_undefined", n_rel["undefined"], *nan2, ""),
        ("threshold_reliable", float(reliable), *nan2, ""),
        ("threshold_tentative", float(tentative), *nan2, ""),
    ]
    overall = pd.DataFrame([dict(zip(["measure", "value", "ci_low", "ci_high", "note"], r),
                                 **common) for r in overall_rows], columns=OVERALL_COLUMNS)
    if not n_units:
        reasons.setdefault("*", "no session was coded by two or more human coders")
    boot = {("by_code", "", c): balpha[k] for k, c in enumerate(codes)}

    # each human coder vs the machine ----------------------------------------
    hvm = []
    for i, (h, _, hd) in enumerate(hvm_data):
        t, _, _, ba = code_table(hd, codes, seed, bootstrap, ci, reliable, tentative,
                                 sums=hvm_sums.get(i), package_alpha=False)
        t.insert(0, "coder", h)
        hvm.append(t)
        boot.update({("human_vs_machine", h, c): ba[k] for k, c in enumerate(codes)})
    hvm = pd.concat(hvm, ignore_index=True) if hvm else pd.DataFrame(columns=MACHINE_COLUMNS)

    # human vs human within each stakeholder group ----------------------------
    grp = []
    if n_units:
        seg_group = segments.set_index("segment_id")["group"]
        unit_group = seg_group.reindex(units).to_numpy()
        for g in sorted(set(unit_group)):
            sel = unit_group == g
            t, _, _, ba = code_table(data[:, :, sel], codes, seed, bootstrap, ci, reliable,
                                     tentative, package_alpha=False)
            t.insert(0, "group", g)
            grp.append(t)
            boot.update({("by_group", g, c): ba[k] for k, c in enumerate(codes)})
    grp = pd.concat(grp, ignore_index=True) if grp else pd.DataFrame(columns=GROUP_COLUMNS)
    return AgreementResult(by_code, overall, reasons, coders, units, disagree, hvm, grp, boot)


# ------------------------------------------------------------------ figure

def forest_plot(result: AgreementResult, code_meta: dict, path, ci: float) -> None:
    """Forest plot: per code, alpha with its bootstrap interval for the human coders
    (black) and for each human coder vs the automatic coder (grey), thresholds dashed.
    Deterministic PNG bytes (Agg, no Software metadata)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    bc = result.by_code
    codes = list(bc["code"])
    hvm = result.human_vs_machine
    humans = sorted(set(hvm["coder"])) if len(hvm) else []
    series = [("human coders", bc, "black", "o")]
    greys = ["0.45", "0.6", "0.75", "0.3", "0.5"]
    for i, h in enumerate(humans):
        series.append((f"{h} vs automatic coder", hvm[hvm["coder"] == h],
                       greys[i % len(greys)], "s"))
    n = len(codes)
    fig, ax = plt.subplots(figsize=(7.0, 1.2 + 0.42 * max(n, 1)), dpi=150)
    step = 0.6 / max(len(series), 1)
    for j, (label, t, colour, marker) in enumerate(series):
        t = t.set_index("code").reindex(codes)
        y = np.arange(n)[::-1] + 0.3 - j * step
        a = t["krippendorff_alpha"].to_numpy(dtype=float)
        lo = t["ci_low"].to_numpy(dtype=float)
        hi = t["ci_high"].to_numpy(dtype=float)
        okci = ~np.isnan(lo) & ~np.isnan(hi)
        ax.hlines(y[okci], lo[okci], hi[okci], color=colour, linewidth=1.4)
        oka = ~np.isnan(a)
        ax.plot(a[oka], y[oka], marker, color=colour, markersize=5 if j == 0 else 3.5,
                linestyle="none", label=label)
    th = bc["threshold"].iloc[0] if len(bc) else 0.8
    ov = result.overall.set_index("measure")["value"]
    tent = float(ov.get("threshold_tentative", 0.667))
    for x, style, lab in ((float(th), "--", f"reliable (α ≥ {float(th):.3f})"),
                          (tent, ":", f"tentative (α ≥ {tent:.3f})")):
        ax.axvline(x, color="0.3", linestyle=style, linewidth=0.9, label=lab)
    import textwrap
    ax.set_yticks(np.arange(n)[::-1], ["\n".join(textwrap.wrap(str(code_meta.get(c, {}).get(
        "name", c)), 34)) or str(c) for c in codes], fontsize=8)
    allv = np.concatenate([bc[["krippendorff_alpha", "ci_low", "ci_high"]].to_numpy(float).ravel()]
                          + ([hvm[["krippendorff_alpha", "ci_low", "ci_high"]]
                              .to_numpy(float).ravel()] if len(hvm) else []))
    allv = allv[~np.isnan(allv)]
    xmin = min(0.0, float(allv.min()) - 0.05) if len(allv) else 0.0
    ax.set_xlim(xmin, 1.02)
    ax.set_ylim(-0.7, max(n, 1) - 0.3)
    ax.set_xlabel(f"Krippendorff's α (nominal), {round(100 * ci)}% bootstrap interval",
                  fontsize=8)
    from matplotlib.transforms import offset_copy
    # below the axis label whatever the figure's height (a fixed distance in points)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=2,
              frameon=False, bbox_transform=offset_copy(ax.transAxes, fig, y=-34,
                                                        units="points"))
    from concord.atomic import replacing  # temporary file + rename
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png", metadata={"Software": None},
                    bbox_inches="tight", pad_inches=0.08)   # the canvas holds every label
    plt.close(fig)


# ------------------------------------------------------------------ numbers registry

def _dash_ci(lo: float, hi: float, digits: int = 2) -> str:
    if np.isnan(lo) or np.isnan(hi):
        return "NA"
    return f"{lo:.{digits}f}–{hi:.{digits}f}"


def _why_no_ci(row) -> str:
    """Why a row's bootstrap interval is missing (the registry's ``undefined``)."""
    note = str(row.get("note", "") or "")
    value = row.get("krippendorff_alpha", row.get("value"))
    if value is None or np.isnan(float(value)):
        return note or "alpha is undefined"
    return note or "no bootstrap interval"


def _ci_entry(frag, key, row, meaning, path, line):
    lo, hi = float(row["ci_low"]), float(row["ci_high"])
    if np.isnan(lo) or np.isnan(hi):
        return frag.add(key, None, meaning, path, line, undefined=_why_no_ci(row))
    return frag.add(key, [lo, hi], meaning, path, line, shown=_dash_ci(lo, hi))


def _summary_entry(frag, key, row, meaning, path, line):
    """One registry entry "alpha (lo–hi)" for a table cell; value [alpha, lo, hi]."""
    a, lo, hi = (float(row[c]) for c in ("krippendorff_alpha", "ci_low", "ci_high"))
    shown = "NA" if np.isnan(a) else f"{a:.2f}" + (
        "" if np.isnan(lo) or np.isnan(hi) else f" ({lo:.2f}–{hi:.2f})")
    return frag.add(key, [None if np.isnan(v) else v for v in (a, lo, hi)], meaning, path, line,
                    shown=shown)


def register_numbers(frag, result: AgreementResult, code_meta: dict, by_code_path: str,
                     overall_path: str, ci: float, machine_path: str | None = None,
                     group_path: str | None = None) -> None:
    """Add the agreement numbers and tables (``agreement``, ``agreement_machine``,
    ``agreement_group``) to a ``numbers.Fragment``.

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
        undefined = None
        if np.isnan(float(row["krippendorff_alpha"])):
            undefined = result.reasons.get(code) or row["note"] or "alpha cannot be computed"
        a = frag.add(f"agreement.alpha.{code}", row["krippendorff_alpha"],
                     f"Krippendorff's alpha (nominal) of the human coders for code {code}{why}; "
                     "segments listed are those where the coders disagree",
                     by_code_path, line, segments=segs, undefined=undefined)
        n = frag.add(f"agreement.units.{code}", int(row["units"]),
                     f"coding units on which code {code} was assessed (units of the roles it "
                     "applies to, in sessions coded by two or more human coders)",
                     by_code_path, line)
        frag.add(f"agreement.ci_low.{code}", row["ci_low"],
                 f"lower bound of the {pct} bootstrap interval of alpha for {code}",
                 by_code_path, line)
        frag.add(f"agreement.ci_high.{code}", row["ci_high"],
                 f"upper bound of the {pct} bootstrap interval of alpha for {code}",
                 by_code_path, line)
        c = _ci_entry(frag, f"agreement.ci.{code}", row,
                      f"{pct} bootstrap interval (percentile, units resampled) of alpha for "
                      f"{code}", by_code_path, line)
        p = frag.add(f"agreement.pa.{code}", row["percent_agreement"],
                     f"percent agreement (agreeing / pairable coder pairs) for {code}",
                     by_code_path, line, digits=3, percent=True)
        frag.add(f"agreement.kappa.{code}", row["cohen_kappa"],
                 f"mean pairwise Cohen's kappa of the human coders for {code}",
                 by_code_path, line)
        frag.add(f"agreement.fleiss.{code}", row["fleiss_kappa"],
                 f"Fleiss' kappa of the human coders for {code}", by_code_path, line)
        g = frag.add(f"agreement.ac1.{code}", row["gwet_ac1"],
                     f"Gwet's AC1 of the human coders for {code}", by_code_path, line)
        q = frag.add(f"agreement.p_below.{code}", row["p_below_threshold"],
                     f"share of bootstrap resamples in which alpha for {code} is below the "
                     f"reliable threshold {row['threshold']:.3f}", by_code_path, line,
                     undefined=_why_no_ci(row) if np.isnan(float(row["p_below_threshold"]))
                     else None)
        meta = code_meta.get(code, {})
        table_rows.append([code, meta.get("name", code), meta.get("category", ""),
                           {"num": n}, {"num": a}, {"num": c}, {"num": q}, {"num": g},
                           {"num": p}, row["reliability"]])

    ov = result.overall.reset_index(drop=True)
    oline = {m: i + 2 for i, m in enumerate(ov["measure"])}
    val = dict(zip(ov["measure"], ov["value"]))
    orow = {m: r for m, r in zip(ov["measure"], ov.to_dict("records"))}
    for key, measure, meaning, of in [
            ("mean", "mean_alpha",
             "mean of the per-code Krippendorff's alphas (codes with defined alpha)",
             "the mean per-code alpha"),
            ("pooled", "pooled_alpha",
             "Krippendorff's alpha over all code x segment decisions pooled", "the pooled alpha"),
            ("masi", "masi_alpha",
             "Krippendorff's alpha with the MASI distance over each segment's set of codes "
             "(multi-label agreement of the human coders)", "the MASI alpha")]:
        frag.add(f"agreement.alpha.{key}", val[measure], meaning, overall_path,
                 [oline[measure]])
        _ci_entry(frag, f"agreement.ci.{key}", orow[measure],
                  f"{pct} bootstrap interval of {of}", overall_path, [oline[measure]])
    frag.add("agreement.ac1.mean", val["mean_gwet_ac1"], "mean of the per-code Gwet's AC1",
             overall_path, [oline["mean_gwet_ac1"]])
    frag.add("agreement.kappa.mean", val["mean_cohen_kappa"],
             "mean over codes of the mean pairwise Cohen's kappa", overall_path,
             [oline["mean_cohen_kappa"]])
    frag.add("agreement.pa.pooled", val["percent_agreement"],
             "percent agreement over all code x segment decisions pooled",
             overall_path, [oline["percent_agreement"]], digits=3, percent=True)
    frag.add("agreement.units", int(ov["units"].iloc[0]) if len(ov) else 0,
             "coding units: participant segments of sessions coded by two or more human coders",
             overall_path, list(oline.values()))
    frag.add("agreement.coders", int(ov["coders"].iloc[0]) if len(ov) else 0,
             "human coders in the agreement analysis", overall_path, list(oline.values()))
    frag.add("agreement.bootstrap", len(next(iter(result.boot.values()))) if result.boot else 0,
             "bootstrap resamples per interval", overall_path, [oline["mean_alpha"]])
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
               f"Agreement of the human coders per code: Krippendorff's α (nominal) with {pct} "
               "bootstrap interval, the bootstrap probability that α is below the reliable "
               "threshold, Gwet's AC1 and percent agreement",
               ["Code", "Name", "Category", "Units (segments)", "α", f"{pct} CI",
                "P(α < threshold)", "AC1", "% agreement", "Reliability"], table_rows)

    if machine_path is not None and result.human_vs_machine is not None:
        hv = result.human_vs_machine.reset_index(drop=True)
        cells = {}
        for i, row in hv.iterrows():
            h, code, line = row["coder"], row["code"], [i + 2]
            frag.add(f"agreement.machine.alpha.{h}.{code}", row["krippendorff_alpha"],
                     f"Krippendorff's alpha of human coder {h} vs the automatic coder "
                     f"for {code}", machine_path, line)
            _ci_entry(frag, f"agreement.machine.ci.{h}.{code}", row,
                      f"{pct} bootstrap interval of alpha, {h} vs automatic coder, {code}",
                      machine_path, line)
            frag.add(f"agreement.machine.ac1.{h}.{code}", row["gwet_ac1"],
                     f"Gwet's AC1 of {h} vs the automatic coder for {code}",
                     machine_path, line)
            cells[(h, code)] = _summary_entry(
                frag, f"agreement.machine.summary.{h}.{code}", row,
                f"alpha ({pct} bootstrap interval) of {h} vs the automatic coder for {code}",
                machine_path, line)
        coders_ = sorted(set(hv["coder"]))
        rows = [[code, code_meta.get(code, {}).get("name", code)]
                + [{"num": cells[(h, code)]} if (h, code) in cells else "" for h in coders_]
                for code in sorted(set(hv["code"]))]
        for h in sorted(set(hv["coder"])):
            lines = [i + 2 for i, c in enumerate(hv["coder"]) if c == h]
            v = hv.loc[hv["coder"] == h, "krippendorff_alpha"].to_numpy(dtype=float)
            frag.add(f"agreement.machine.alpha.mean.{h}",
                     float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan"),
                     f"mean over codes of alpha, human coder {h} vs the automatic coder",
                     machine_path, lines)
        v = hv["krippendorff_alpha"].to_numpy(dtype=float)
        frag.add("agreement.machine.alpha.mean",
                 float(np.nanmean(v)) if np.any(~np.isnan(v)) else float("nan"),
                 "mean over human coders and codes of alpha, human vs automatic coder",
                 machine_path, list(range(2, len(hv) + 2)))
        frag.table("agreement_machine",
                   f"Agreement of each human coder with the automatic coder: Krippendorff's α "
                   f"({pct} bootstrap interval) per code",
                   ["Code", "Name"] + [f"{h} vs automatic" for h in coders_], rows)

    if group_path is not None and result.by_group is not None:
        bg = result.by_group.reset_index(drop=True)
        cells = {}
        for i, row in bg.iterrows():
            g_, code, line = row["group"], row["code"], [i + 2]
            frag.add(f"agreement.group.alpha.{g_}.{code}", row["krippendorff_alpha"],
                     f"Krippendorff's alpha of the human coders in group {g_} for {code}",
                     group_path, line)
            _ci_entry(frag, f"agreement.group.ci.{g_}.{code}", row,
                      f"{pct} bootstrap interval of alpha in group {g_} for {code}",
                      group_path, line)
            cells[(g_, code)] = _summary_entry(
                frag, f"agreement.group.summary.{g_}.{code}", row,
                f"alpha ({pct} bootstrap interval) of the human coders in group {g_} for "
                f"{code}", group_path, line)
        groups_ = sorted(set(bg["group"]))
        for g_ in groups_:
            lines = [i + 2 for i, gg in enumerate(bg["group"]) if gg == g_]
            frag.add(f"agreement.group.units.{g_}", int(bg.loc[bg["group"] == g_, "units"].max()),
                     f"coding units of group {g_} in the agreement analysis", group_path, lines)
        rows = [[code, code_meta.get(code, {}).get("name", code)]
                + [{"num": cells[(g_, code)]} if (g_, code) in cells else "" for g_ in groups_]
                for code in sorted(set(bg["code"]))]
        frag.table("agreement_group",
                   f"Agreement of the human coders within each stakeholder group: "
                   f"Krippendorff's α ({pct} bootstrap interval) per code",
                   ["Code", "Name"] + groups_, rows)
