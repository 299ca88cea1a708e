"""Concordance: what each stakeholder group talks about, and how far groups agree.

The unit of analysis is the **participant**, not the segment: a participant "raised"
a code when at least one of their segments carries it (in the chosen coder's
codings, ``consensus`` by default). For every group × code:

* ``participants_with`` — participants of the group with ≥ 1 segment coded;
* ``participants`` — participants *enrolled* in the group (``participants.tsv``),
  so an enrolled participant who never spoke counts in the denominator;
* ``share`` = participants_with / participants (NaN for a group with no one
  enrolled);
* ``ci_low``/``ci_high`` — percentile interval of a cluster bootstrap over
  participants: participants are resampled with replacement *within* the group
  (``bootstrap`` resamples, one ``numpy.random.default_rng(seed)`` consumed in group
  display order), all codes of a resampled participant travel together; quantiles
  with numpy's default (linear) interpolation;
* ``segments_with`` / ``segments`` — participant segments of the group coded /
  spoken (moderator segments are not coding units);
* ``rank`` — rank of the code within its group by share, descending (1 = most
  widely raised); ties get the average of the ranks they span
  (``scipy.stats.rankdata(method="average")``), e.g. two codes tied for first both
  get 1.5.

``pairwise`` compares every unordered pair of groups (display order) with
Spearman's ρ over the codes' shares (``scipy.stats.spearmanr``); a group whose shares
are all equal gives NaN (ρ is undefined) and a note. The p value is two-sided: exact
(all permutations, :data:`EXACT_MAX_CODES` codes or fewer) or scipy's t approximation
(more codes) — the t approximation is badly off for a handful of codes (ρ = ±1 over
three codes gets p = 0 instead of 1/3).
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pandas as pd
from scipy import stats

from concord import roles as roles_mod
from concord.numbers import Fragment, display
from concord.tsvio import InputError

PREVALENCE_COLUMNS = ["group", "code", "participants_with", "participants", "share",
                      "ci_low", "ci_high", "segments_with", "segments", "rank",
                      "wilson_low", "wilson_high", "segment_share", "segment_ci_low",
                      "segment_ci_high"]
PAIRWISE_COLUMNS = ["group_a", "group_b", "spearman_rho", "spearman_p", "codes",
                    "spearman_ci_low", "spearman_ci_high", "kendall_tau", "kendall_p",
                    "top_k", "top_k_jaccard", "top_k_p", "note"]
CATEGORY_COLUMNS = ["group", "category", "codings", "codings_total", "share", "ci_low",
                    "ci_high"]
CATEGORY_DIFF_COLUMNS = ["category", "group_a", "group_b", "share_a", "share_b",
                         "difference", "ci_low", "ci_high"]
W_COLUMNS = ["groups", "judges", "codes", "kendall_w", "chi2", "df", "p"]
CODE_TEST_COLUMNS = ["code", "groups", "counts", "test", "statistic", "df", "p",
                     "p_asymptotic", "q"]
COOCCURRENCE_COLUMNS = ["group", "code_a", "code_b", "segments_both", "segments_a",
                        "segments_b", "segment_jaccard", "participants_both",
                        "participants_a", "participants_b", "participant_jaccard"]
EXACT_MAX_CODES = 8          # 8! = 40,320 permutations


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------

def participant_segments(segments: pd.DataFrame, participants: pd.DataFrame,
                         groups: list[dict], source: str = "segments",
                         units=roles_mod.DEFAULT_UNIT_ROLES) -> pd.DataFrame:
    """The coding units (segments of the roles ``units``, default the participants'),
    checked against the participants sheet (keyed by participant and session)."""
    group_ids = [g["id"] for g in groups]
    bad = sorted(set(participants["group"]) - set(group_ids))
    if bad:
        raise InputError(f"participants sheet: group(s) {', '.join(bad)} not in config "
                         f"groups ({', '.join(group_ids)})")
    seg = segments[roles_mod.is_unit(segments, units).to_numpy()]
    people = roles_mod.unit_people(participants, units)
    enrolled = set(zip(people["participant_id"], people["group"]))
    ids = {p for p, _ in enrolled}
    unknown = sorted(set(seg["participant_id"]) - ids)
    if unknown:
        raise InputError(f"{source}: speaker(s) {', '.join(map(str, unknown[:5]))} of a "
                         f"coding-unit role speak but are not in the participants sheet "
                         f"(with that role)")
    pairs = list(zip(seg["participant_id"], seg["group"]))
    wrong = [i for i, pg in enumerate(pairs) if pg not in enrolled]
    if wrong:
        row = seg.iloc[wrong[0]]
        raise InputError(f"{source}: segment {row['segment_id']}: group {row['group']!r} but "
                         f"participant {row['participant_id']} is not enrolled in that group")
    return seg


def coder_codings(codings: pd.DataFrame, coder: str, segments: pd.DataFrame,
                  codes: list[str], source: str = "codings.tsv",
                  log=None, units=roles_mod.DEFAULT_UNIT_ROLES,
                  code_roles: dict | None = None) -> pd.DataFrame:
    """The chosen coder's (segment_id, code) pairs on coding units.

    ``segments`` are *all* segments (facilitators' included); codes on unknown
    segments or unknown codes are errors, codes on segments that are not coding units
    (or of a role the code does not apply to, ``code_roles``) are dropped with a note.
    """
    present = sorted(set(codings["coder"]))
    if coder not in present:
        raise InputError(f"{source}: no codings by coder {coder!r} "
                         f"(coders present: {', '.join(present) or 'none'}); "
                         f"set concordance.coder in the config")
    mine = codings[codings["coder"] == coder][["segment_id", "code"]].drop_duplicates()
    unknown_seg = sorted(set(mine["segment_id"]) - set(segments["segment_id"]))
    if unknown_seg:
        raise InputError(f"{source}: unknown segment ID(s) {', '.join(unknown_seg[:5])}")
    unknown_code = sorted(set(mine["code"]) - set(codes))
    if unknown_code:
        raise InputError(f"{source}: code(s) {', '.join(unknown_code)} not in the codebook")
    role = pd.Series(roles_mod.segment_roles(segments).to_numpy(),
                     index=segments["segment_id"].to_numpy())
    mine_role = mine["segment_id"].map(role)
    outside = ~mine_role.isin(list(units))
    if outside.any() and log is not None:
        log(f"note: {int(outside.sum())} coding(s) on segments that are not coding units "
            f"(moderator or other facilitator turns) ignored")
    code_roles = {c: set(r) for c, r in (code_roles or {}).items() if r}
    wrong_role = pd.Series([c in code_roles and r not in code_roles[c]
                            for c, r in zip(mine["code"], mine_role)], index=mine.index,
                           dtype=bool) & ~outside
    if wrong_role.any() and log is not None:
        log(f"note: {int(wrong_role.sum())} coding(s) of a code on a role it does not apply "
            "to ignored")
    return mine[~outside & ~wrong_role].reset_index(drop=True)


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------

def bootstrap_share_ci(matrix: np.ndarray, rng: np.random.Generator, bootstrap: int,
                       ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile CI of column means of a participants × codes 0/1 ``matrix``,
    resampling rows (participants) with replacement. Returns (low, high) per code."""
    n, k = matrix.shape
    if n == 0:
        return np.full(k, np.nan), np.full(k, np.nan)
    idx = rng.integers(0, n, size=(bootstrap, n))
    shares = matrix[idx].mean(axis=1)            # bootstrap × codes
    alpha = (1.0 - ci) / 2.0
    low, high = np.quantile(shares, [alpha, 1.0 - alpha], axis=0)
    return low, high


def group_data(codings: pd.DataFrame, segments: pd.DataFrame, participants: pd.DataFrame,
               groups: list[dict], codes: list[str], units=roles_mod.DEFAULT_UNIT_ROLES,
               code_roles: dict | None = None) -> dict:
    """Per group: the participant × code matrices everything else is computed from.

    People are the distinct IDs of the participants sheet with a coding-unit role
    (``units``) enrolled in the group (a person attending two sessions counts once).
    Returns ``{group: {"people": [ids], "present": 0/1 array (participants × codes,
    codes sorted), "applicable": 0/1 (the code applies to the person's role,
    ``code_roles``), "counts": segments coded per participant × code, "spoken":
    coding-unit segments per participant, "segments": {code: sorted segment IDs}}}``.
    """
    codes_sorted = sorted(codes)
    col = {c: j for j, c in enumerate(codes_sorted)}
    code_roles = code_roles or {}
    people_sheet = roles_mod.unit_people(participants, units)
    role_of = roles_mod.people_roles(people_sheet) if len(people_sheet) else pd.Series(dtype=str)
    coded = codings.merge(segments[["segment_id", "participant_id", "group"]], on="segment_id")
    out = {}
    for g in groups:
        gid = g["id"]
        people = sorted(set(people_sheet.loc[people_sheet["group"] == gid, "participant_id"]))
        prow = {p: i for i, p in enumerate(people)}
        counts = np.zeros((len(people), len(codes_sorted)), dtype=float)
        gc = coded[coded["group"] == gid]
        if len(gc):
            np.add.at(counts, (gc["participant_id"].map(prow).to_numpy(),
                               gc["code"].map(col).to_numpy()), 1.0)
        gs = segments[segments["group"] == gid]
        spoken = np.zeros(len(people), dtype=float)
        if len(gs):
            np.add.at(spoken, gs["participant_id"].map(prow).to_numpy(), 1.0)
        applicable = np.ones((len(people), len(codes_sorted)), dtype=float)
        for j, c in enumerate(codes_sorted):
            if code_roles.get(c):
                allowed = set(code_roles[c])
                applicable[:, j] = [float(role_of.get(p, roles_mod.PARTICIPANT) in allowed)
                                    for p in people]
        by_code = gc.groupby("code")["segment_id"].agg(lambda s: sorted(set(s)))
        out[gid] = {"people": people, "present": (counts > 0).astype(float), "counts": counts,
                    "spoken": spoken, "applicable": applicable,
                    "segments": {c: list(by_code.get(c, [])) for c in codes_sorted}}
    return out


def draws(data: dict, groups: list[dict], seed: int, bootstrap: int) -> dict:
    """Cluster-bootstrap resamples: per group a ``bootstrap × participants`` array of
    row indices, drawn from one ``default_rng(seed)`` in group display order (a group
    with no participants draws nothing). Every bootstrap quantity of the stage uses
    these same resamples."""
    rng = np.random.default_rng(seed)
    out = {}
    for g in groups:
        n = len(data[g["id"]]["people"])
        out[g["id"]] = rng.integers(0, n, size=(bootstrap, n)) if n else None
    return out


def _quantiles(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    alpha = (1.0 - ci) / 2.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        low, high = np.nanquantile(samples, [alpha, 1.0 - alpha], axis=0)
    return low, high


def wilson(k: int, n: int, ci: float) -> tuple[float, float]:
    """Wilson score interval for k of n (NaN for n = 0); cross-check of the bootstrap,
    which assumes nothing about independence but is coarse for a handful of people."""
    if n == 0:
        return math.nan, math.nan
    res = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=ci, method="wilson")
    return float(res.low), float(res.high)


def prevalence(codings: pd.DataFrame, segments: pd.DataFrame, participants: pd.DataFrame,
               groups: list[dict], codes: list[str], seed: int, bootstrap: int,
               ci: float, data: dict | None = None, idx: dict | None = None
               ) -> tuple[pd.DataFrame, dict]:
    """Participant-level (primary) and segment-level prevalence of every code in every group.

    ``codings``: (segment_id, code) of one coder on participant segments;
    ``segments``: participant segments (see :func:`participant_segments`).
    Returns the table (rows by group display order, then code ID) and a dict
    ``(group, code) -> sorted segment IDs`` behind each cell. ``data``/``idx`` (from
    :func:`group_data`/:func:`draws`) may be passed to share them with other measures.
    """
    if not 0 < ci < 1:
        raise InputError(f"concordance.ci must be between 0 and 1, got {ci}")
    if bootstrap < 1:
        raise InputError(f"concordance.bootstrap must be ≥ 1, got {bootstrap}")
    codes_sorted = sorted(codes)
    if data is None:
        data = group_data(codings, segments, participants, groups, codes)
    if idx is None:
        idx = draws(data, groups, seed, bootstrap)
    rows, seg_ids = [], {}
    for g in groups:
        gid = g["id"]
        d = data[gid]
        people, matrix, counts, spoken = d["people"], d["present"], d["counts"], d["spoken"]
        app = d.get("applicable")
        if app is None:
            app = np.ones_like(matrix)
        k = len(codes_sorted)
        n_app = app.sum(axis=0)                                   # people a code applies to
        seg_app = spoken @ app                                    # their segments
        if people:
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = matrix[idx[gid]].sum(axis=1) / app[idx[gid]].sum(axis=1)
                low, high = _quantiles(boot, ci)
                seg_boot = counts[idx[gid]].sum(axis=1) / \
                    (spoken[:, None] * app)[idx[gid]].sum(axis=1)
                slow, shigh = _quantiles(seg_boot, ci)
                share = np.where(n_app > 0, matrix.sum(axis=0) / np.where(n_app > 0, n_app, 1),
                                 np.nan)
            rank = stats.rankdata(-share, method="average", nan_policy="omit")
        else:
            low = high = slow = shigh = share = rank = np.full(k, np.nan)
        with_ = matrix.sum(axis=0).astype(int)
        seg_with = counts.sum(axis=0).astype(int)
        for j, code in enumerate(codes_sorted):
            ids = d["segments"][code]
            seg_ids[(gid, code)] = ids
            wl, wh = wilson(with_[j], int(n_app[j]), ci)
            n_seg = int(seg_app[j])
            rows.append({"group": gid, "code": code, "participants_with": int(with_[j]),
                         "participants": int(n_app[j]), "share": float(share[j]),
                         "ci_low": float(low[j]), "ci_high": float(high[j]),
                         "segments_with": int(seg_with[j]), "segments": n_seg,
                         "rank": float(rank[j]),
                         "wilson_low": wl, "wilson_high": wh,
                         "segment_share": (seg_with[j] / n_seg) if n_seg else math.nan,
                         "segment_ci_low": float(slow[j]), "segment_ci_high": float(shigh[j])})
    return pd.DataFrame(rows, columns=PREVALENCE_COLUMNS), seg_ids


def spearman_exact_p(x, y) -> float:
    """Two-sided exact permutation p value of Spearman's ρ (all n! pairings)."""
    ry = stats.rankdata(y)

    def rho(a, axis=-1):
        ra = stats.rankdata(a, axis=axis)
        ra = ra - ra.mean(axis=axis, keepdims=True)
        b = ry - ry.mean()
        return (ra * b).sum(axis=axis) / np.sqrt((ra ** 2).sum(axis=axis) * (b ** 2).sum())

    res = stats.permutation_test((np.asarray(x, dtype=float),), rho, vectorized=True,
                                 permutation_type="pairings", n_resamples=np.inf,
                                 alternative="two-sided")
    return float(min(1.0, res.pvalue))


def share_matrix(prev: pd.DataFrame, groups: list[dict], codes: list[str]) -> np.ndarray:
    """groups × codes array of shares in the given orders."""
    piv = prev.pivot(index="group", columns="code", values="share")
    return piv.loc[[g["id"] for g in groups], list(codes)].to_numpy(dtype=float)


# ---------------------------------------------------------------------------
# categories: each group's share of coded talk by code category
# ---------------------------------------------------------------------------

def category_shares(data: dict, idx: dict, groups: list[dict], codebook_codes: list[dict],
                    categories: list[str], ci: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Share of a group's coded talk in each category, and between-group differences.

    Coded talk = the (segment, code) applications on the group's participant segments;
    a category's share = applications of its codes / all applications of the group. The
    interval resamples participants (the stage's :func:`draws`); a difference between two
    groups uses each group's own resamples (independent groups), percentile method.
    Returns (shares, differences); differences have every unordered pair of groups in
    display order, ``difference = share(group_a) − share(group_b)``.
    """
    codes_sorted = sorted(c["id"] for c in codebook_codes)
    cat_of = {c["id"]: c.get("category", "") for c in codebook_codes}
    boots, rows = {}, []
    for g in groups:
        gid = g["id"]
        counts = data[gid]["counts"]                                 # participants × codes
        by_cat = np.stack([counts[:, [j for j, c in enumerate(codes_sorted) if cat_of[c] == cat]]
                           .sum(axis=1) for cat in categories], axis=1)   # participants × cats
        total = by_cat.sum()
        share = by_cat.sum(axis=0) / total if total else np.full(len(categories), np.nan)
        if idx[gid] is not None and total:
            rs = by_cat[idx[gid]].sum(axis=1)                         # bootstrap × cats
            with np.errstate(invalid="ignore", divide="ignore"):
                boot = rs / rs.sum(axis=1, keepdims=True)
        else:
            boot = np.full((1, len(categories)), np.nan)
        boots[gid] = boot
        low, high = _quantiles(boot, ci)
        for j, cat in enumerate(categories):
            rows.append({"group": gid, "category": cat, "codings": int(by_cat[:, j].sum()),
                         "codings_total": int(total), "share": float(share[j]),
                         "ci_low": float(low[j]), "ci_high": float(high[j])})
    shares = pd.DataFrame(rows, columns=CATEGORY_COLUMNS)
    diffs = []
    for j, cat in enumerate(categories):
        for a, b in itertools.combinations([g["id"] for g in groups], 2):
            sa = shares[(shares.group == a) & (shares.category == cat)]["share"].iloc[0]
            sb = shares[(shares.group == b) & (shares.category == cat)]["share"].iloc[0]
            ba, bb = boots[a][:, j], boots[b][:, j]
            if len(ba) == len(bb):
                low, high = _quantiles(ba - bb, ci)
            else:
                low = high = math.nan
            diffs.append({"category": cat, "group_a": a, "group_b": b,
                          "share_a": float(sa), "share_b": float(sb),
                          "difference": float(sa - sb), "ci_low": float(low),
                          "ci_high": float(high)})
    return shares, pd.DataFrame(diffs, columns=CATEGORY_DIFF_COLUMNS)


# ---------------------------------------------------------------------------
# rank concordance: pairs of groups, and all groups together
# ---------------------------------------------------------------------------

# The one tie-break of every "most widely raised" list (Table 2's top code, the
# supplement's top-k codes, the top-k overlap between groups): participant share,
# then segment share (the share of the group's participant segments), then
# codebook order (code ID when no order is given).
TIE_BREAK = "ties broken by the share of the group's segments, then by codebook order"


def rank_codes(prev: pd.DataFrame, group: str, order: dict | None = None) -> list[str]:
    """The group's codes with a defined share, most widely raised first: participant
    share, then segment share, then codebook position (``order``: code → index; code
    ID without it)."""
    sub = prev[(prev["group"] == group) & prev["share"].notna()].copy()
    if "segment_share" not in sub.columns:        # a bare share table: ties by code
        sub["segment_share"] = 0.0
    sub["o"] = sub["code"].map(order) if order else sub["code"]
    sub = sub.sort_values(["share", "segment_share", "o"], ascending=[False, False, True],
                          kind="mergesort")
    return sub["code"].tolist()


def top_k(prev: pd.DataFrame, group: str, k: int, order: dict | None = None) -> list[str]:
    """The group's k most widely raised codes (:func:`rank_codes`; so exactly
    min(k, codes) codes), as a sorted set."""
    return sorted(rank_codes(prev, group, order)[:k])


def _rowwise_spearman(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho between matching rows of two (resamples × codes) arrays."""
    ra = stats.rankdata(a, axis=1)
    rb = stats.rankdata(b, axis=1)
    ra = ra - ra.mean(axis=1, keepdims=True)
    rb = rb - rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=1) / np.sqrt((ra ** 2).sum(axis=1) * (rb ** 2).sum(axis=1))


def pairwise(prev: pd.DataFrame, groups: list[dict], codes: list[str], log=None,
             top: int = 5, data: dict | None = None, idx: dict | None = None,
             ci: float = 0.95) -> pd.DataFrame:
    """Every unordered pair of groups: Spearman's ρ (exact p for few codes) with a
    cluster-bootstrap interval (when ``data``/``idx`` are given), Kendall's τ-b
    (scipy: exact p without ties and few codes, else the normal approximation) and the
    Jaccard overlap of the two top-``top`` code sets with the hypergeometric p of an
    overlap at least as large if the two sets were drawn at random."""
    codes_sorted = sorted(codes)
    m = share_matrix(prev, groups, codes_sorted)
    k = min(top, len(codes_sorted))
    label = {g["id"]: g.get("label", g["id"]) for g in groups}
    rows = []
    for (i, a), (j, b) in itertools.combinations(enumerate(groups), 2):
        both = ~np.isnan(m[i]) & ~np.isnan(m[j])       # codes defined in both groups
        x, y = m[i][both], m[j][both]
        n_codes = int(both.sum())
        rho = p = tau = tau_p = lo = hi = jac = jac_p = math.nan
        if np.isnan(m[i]).all() or np.isnan(m[j]).all():
            empty = a if np.isnan(m[i]).all() else b
            note = f"group {label[empty['id']]} has no enrolled participants of a coding-unit role"
        elif n_codes < 2:
            note = "fewer than two codes apply in both groups"
        elif np.all(x == x[0]) or np.all(y == y[0]):
            flat = a if np.all(x == x[0]) else b
            note = (f"every code had the same prevalence in group {label[flat['id']]}, so "
                    "the codes cannot be ranked")
        else:
            note = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = stats.spearmanr(x, y)
                kt = stats.kendalltau(x, y, variant="b")
            rho, p = float(res.statistic), float(res.pvalue)
            tau, tau_p = float(kt.statistic), float(kt.pvalue)
            if n_codes <= EXACT_MAX_CODES:
                p = spearman_exact_p(x, y)
            if data is not None and idx is not None:
                def boot_share(gid):
                    d = data[gid]
                    app = d.get("applicable")
                    app = np.ones_like(d["present"]) if app is None else app
                    with np.errstate(invalid="ignore", divide="ignore"):
                        return (d["present"][idx[gid]].sum(axis=1)
                                / app[idx[gid]].sum(axis=1))[:, both]
                ba, bb = boot_share(a["id"]), boot_share(b["id"])
                lo, hi = _quantiles(_rowwise_spearman(ba, bb), ci)
                lo, hi = float(lo), float(hi)
        if not (np.isnan(m[i]).all() or np.isnan(m[j]).all()) and k > 0:
            order = {c: n for n, c in enumerate(codes)}
            ta, tb = set(top_k(prev, a["id"], k, order)), set(top_k(prev, b["id"], k, order))
            inter = len(ta & tb)
            jac = inter / len(ta | tb)
            jac_p = float(stats.hypergeom.sf(inter - 1, len(codes_sorted), k, k))
        if note and log is not None:
            log(f"note: spearman {a['id']} vs {b['id']}: undefined — {note}")
        rows.append({"group_a": a["id"], "group_b": b["id"], "spearman_rho": rho,
                     "spearman_p": p, "codes": n_codes, "spearman_ci_low": lo,
                     "spearman_ci_high": hi, "kendall_tau": tau, "kendall_p": tau_p,
                     "top_k": k, "top_k_jaccard": jac, "top_k_p": jac_p,
                     "note": note or ""})
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


def kendall_w(ranks: np.ndarray) -> dict:
    """Kendall's coefficient of concordance W of m judges (rows) ranking n objects
    (columns), ranks with ties as average ranks, corrected for ties:

        W = 12 S / (m² (n³ − n) − m Σ T),  T = Σ (t³ − t) over each judge's ties,

    S = Σ_j (R_j − m(n+1)/2)², R_j the rank sum of object j. χ² = m (n − 1) W on n − 1
    degrees of freedom (equal to Friedman's tie-corrected statistic), upper-tail p.
    Returns ``{"w", "chi2", "df", "p", "judges", "objects"}``; W is NaN when every
    judge ties all objects."""
    ranks = np.asarray(ranks, dtype=float)
    m, n = ranks.shape
    out = {"judges": m, "objects": n, "df": n - 1, "w": math.nan, "chi2": math.nan,
           "p": math.nan}
    if m < 2 or n < 2:
        return out
    r = ranks.sum(axis=0)
    s = float(((r - m * (n + 1) / 2.0) ** 2).sum())
    t = 0.0
    for row in ranks:
        _, cnt = np.unique(row, return_counts=True)
        t += float((cnt ** 3 - cnt).sum())
    denom = m ** 2 * (n ** 3 - n) - m * t
    if denom <= 0:
        return out
    w = 12.0 * s / denom
    chi2 = m * (n - 1) * w
    out.update(w=w, chi2=chi2, p=float(stats.chi2.sf(chi2, n - 1)))
    return out


def concordance_all(prev: pd.DataFrame, groups: list[dict], codes: list[str]) -> pd.DataFrame:
    """Kendall's W over all groups (judges) ranking the codes by participant share:
    groups with no enrolled participants are left out, and codes that do not apply in
    every remaining group (codebook roles)."""
    m = share_matrix(prev, groups, sorted(codes))
    keep = ~np.isnan(m).all(axis=1)
    cols = ~np.isnan(m[keep]).any(axis=0) if keep.any() else np.zeros(m.shape[1], bool)
    sub = m[keep][:, cols]
    ranks = np.array([stats.rankdata(-row, method="average") for row in sub])
    res = kendall_w(ranks.reshape(int(keep.sum()), int(cols.sum())))
    return pd.DataFrame([{"groups": ";".join(g["id"] for g, k in zip(groups, keep) if k),
                          "judges": res["judges"], "codes": res["objects"],
                          "kendall_w": res["w"], "chi2": res["chi2"], "df": res["df"],
                          "p": res["p"]}], columns=W_COLUMNS)


# ---------------------------------------------------------------------------
# per-code tests across groups
# ---------------------------------------------------------------------------

def code_tests(prev: pd.DataFrame, groups: list[dict], codes: list[str], seed: int,
               permutations: int) -> pd.DataFrame:
    """Does the share of participants raising a code differ between groups?

    The table is groups × (raised, did not raise) participants. Two groups: Fisher's
    exact test (two-sided; statistic = sample odds ratio). More groups: Pearson's χ²
    statistic with a Monte-Carlo permutation p — under H0 the raisers are spread over
    the groups as a multivariate hypergeometric draw (margins fixed), ``permutations``
    draws from ``default_rng(seed)``, p = (1 + #{χ²* ≥ χ²}) / (1 + permutations); the
    asymptotic χ² p is given alongside. A code raised by everyone or no one gets
    statistic 0 and p 1. q: Benjamini–Hochberg over the codes tested."""
    rng = np.random.default_rng(seed)
    gids = [g["id"] for g in groups]
    rows = []
    for code in sorted(codes):
        sub = prev[prev["code"] == code].set_index("group").loc[gids]
        sub = sub[sub["participants"] > 0]
        with_ = sub["participants_with"].to_numpy(dtype=int)
        n = sub["participants"].to_numpy(dtype=int)
        counts = ";".join(f"{g}={w}/{t}" for g, w, t in zip(sub.index, with_, n))
        row = {"code": code, "groups": ";".join(sub.index), "counts": counts,
               "test": "", "statistic": math.nan, "df": math.nan, "p": math.nan,
               "p_asymptotic": math.nan}
        K, N = int(with_.sum()), int(n.sum())
        if len(sub) < 2:
            row["test"] = "none (fewer than two groups with participants)"
        elif len(sub) == 2:
            table = np.array([with_, n - with_]).T
            res = stats.fisher_exact(table)
            row.update(test="fisher_exact", statistic=float(res.statistic),
                       p=float(res.pvalue))
        else:
            row.update(test="chi2_permutation", df=len(sub) - 1)
            if K in (0, N):
                row.update(statistic=0.0, p=1.0, p_asymptotic=1.0)
            else:
                exp = n * K / N

                def chi2(x):
                    x = np.asarray(x, dtype=float)
                    return (((x - exp) ** 2 / exp).sum(axis=-1)
                            + (((n - x) - (n - exp)) ** 2 / (n - exp)).sum(axis=-1))

                obs = float(chi2(with_))
                sims = rng.multivariate_hypergeometric(n, K, size=permutations)
                ge = int((chi2(sims) >= obs - 1e-9).sum())
                row.update(statistic=obs, p=(1 + ge) / (1 + permutations),
                           p_asymptotic=float(stats.chi2.sf(obs, len(sub) - 1)))
        rows.append(row)
    out = pd.DataFrame(rows)
    ok = out["p"].notna()
    out["q"] = math.nan
    if ok.any():
        out.loc[ok, "q"] = stats.false_discovery_control(out.loc[ok, "p"].to_numpy(),
                                                         method="bh")
    return out[CODE_TEST_COLUMNS]


# ---------------------------------------------------------------------------
# co-occurrence
# ---------------------------------------------------------------------------

def cooccurrence(codings: pd.DataFrame, data: dict, groups: list[dict],
                 codes: list[str]) -> pd.DataFrame:
    """Pairs of codes applied to the same segment, and raised by the same participant:
    counts and Jaccard index (both / either), per group and over all groups (``all``)."""
    codes_sorted = sorted(codes)
    col = {c: j for j, c in enumerate(codes_sorted)}
    seg_of = {}
    for g in groups:
        for code, ids in data[g["id"]]["segments"].items():
            for s in ids:
                seg_of.setdefault(s, (g["id"], set()))[1].add(code)
    rows = []
    scopes = [g["id"] for g in groups] + ["all"]
    for scope in scopes:
        segs = [c for s, (gid, c) in sorted(seg_of.items()) if scope in ("all", gid)]
        sm = np.zeros((len(segs), len(codes_sorted)))
        for i, cs in enumerate(segs):
            sm[i, [col[c] for c in cs]] = 1.0
        pm = (np.concatenate([data[g["id"]]["present"] for g in groups])
              if scope == "all" else data[scope]["present"])
        sb, pb = sm.T @ sm, pm.T @ pm
        for a, b in itertools.combinations(range(len(codes_sorted)), 2):
            s_either = sb[a, a] + sb[b, b] - sb[a, b]
            p_either = pb[a, a] + pb[b, b] - pb[a, b]
            rows.append({"group": scope, "code_a": codes_sorted[a], "code_b": codes_sorted[b],
                         "segments_both": int(sb[a, b]), "segments_a": int(sb[a, a]),
                         "segments_b": int(sb[b, b]),
                         "segment_jaccard": sb[a, b] / s_either if s_either else math.nan,
                         "participants_both": int(pb[a, b]), "participants_a": int(pb[a, a]),
                         "participants_b": int(pb[b, b]),
                         "participant_jaccard": pb[a, b] / p_either if p_either else math.nan})
    return pd.DataFrame(rows, columns=COOCCURRENCE_COLUMNS)


# ---------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------

def _wrapped(labels, width: int) -> list[str]:
    """Labels broken into lines of at most ``width`` characters (long words are split
    at underscores or hyphens first), so a long group name never runs off a figure."""
    import textwrap
    out = []
    for label in labels:
        text = str(label).replace("_", "_\u200b").replace("-", "-\u200b")
        lines = textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=True)
        out.append("\n".join(x.replace("\u200b", "") for x in lines) or str(label))
    return out


def _save(fig, path) -> None:
    """Deterministic PNG bytes; the canvas grows to hold every label (tight box);
    written to a temporary file and renamed."""
    from concord.atomic import replacing
    with replacing(path) as tmp:
        fig.savefig(tmp, dpi=150, format="png", metadata={"Software": None},
                    bbox_inches="tight", pad_inches=0.08)


def heatmap(prev: pd.DataFrame, groups: list[dict], codebook_codes: list[dict], path) -> None:
    """Codes (rows, codebook order, by name) × groups (columns, display order),
    cells annotated with the share in percent. Labels wrap; the figure grows with the
    number of groups and codes and the length of their labels. Deterministic PNG bytes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = [c["id"] for c in codebook_codes]
    m = share_matrix(prev, groups, ids).T        # codes × groups
    n_codes, n_groups = m.shape
    xlabels = _wrapped([g.get("label", g["id"]) for g in groups], 16)
    ylabels = _wrapped([c.get("name", c["id"]) for c in codebook_codes], 32)
    label_w = max(len(x) for y in ylabels for x in y.split("\n")) * 0.075
    label_h = max(y.count("\n") + 1 for y in xlabels) * 0.17
    width = 1.6 + label_w + 1.05 * n_groups
    height = 1.2 + label_h + 0.36 * n_codes
    fig, ax = plt.subplots(figsize=(width, height), dpi=150)
    im = ax.imshow(np.ma.masked_invalid(m), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(n_groups), xlabels, fontsize=8)
    ax.set_yticks(range(n_codes), ylabels, fontsize=8)
    ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    for i in range(n_codes):
        for j in range(n_groups):
            v = m[i, j]
            ax.text(j, i, "NA" if np.isnan(v) else f"{100 * v:.0f}%", ha="center",
                    va="center", fontsize=8, color="white" if v > 0.6 else "black")
    ax.set_xticks(np.arange(-0.5, n_groups), minor=True)
    ax.set_yticks(np.arange(-0.5, n_codes), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    cbar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03, shrink=min(1.0, 0.3 + 0.1 * n_codes))
    cbar.set_label("participants raising the code", fontsize=8)
    cbar.ax.tick_params(labelsize=7)
    cbar.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(xmax=1.0))
    _save(fig, path)
    plt.close(fig)


def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def rank_matrix_figure(pair: pd.DataFrame, groups: list[dict], path) -> None:
    """Groups × groups: Spearman's ρ (colour, upper number) and Kendall's τ-b (lower
    number) between the groups' code rankings. Labels wrap; cells are large enough
    for their text at print size. Deterministic PNG bytes."""
    plt = _plt()
    ids = [g["id"] for g in groups]
    n = len(ids)
    rho = np.eye(n)
    tau = np.eye(n)
    for r in pair.itertuples():
        i, j = ids.index(r.group_a), ids.index(r.group_b)
        rho[i, j] = rho[j, i] = r.spearman_rho
        tau[i, j] = tau[j, i] = r.kendall_tau
    xlabels = _wrapped([g.get("label", g["id"]) for g in groups], 14)
    ylabels = _wrapped([g.get("label", g["id"]) for g in groups], 22)
    label_w = max(len(x) for y in ylabels for x in y.split("\n")) * 0.08
    cell = 0.85
    fig, ax = plt.subplots(figsize=(1.8 + label_w + cell * n, 1.0 + 0.5 + cell * n), dpi=150)
    im = ax.imshow(np.ma.masked_invalid(rho), cmap="RdBu", vmin=-1, vmax=1)
    ax.set_xticks(range(n), xlabels, fontsize=8)
    ax.set_yticks(range(n), ylabels, fontsize=8)
    ax.tick_params(axis="x", top=True, labeltop=True, bottom=False, labelbottom=False)
    for i in range(n):
        for j in range(n):
            txt = ("NA" if np.isnan(rho[i, j]) else
                   f"ρ {rho[i, j]:.2f}\nτ {tau[i, j]:.2f}" if i != j else "1")
            txt = txt.replace("-", "\u2212")
            ax.text(j, i, txt, ha="center", va="center", fontsize=9,
                    color="white" if abs(np.nan_to_num(rho[i, j])) > 0.7 else "black")
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    cbar.set_label("Spearman's ρ", fontsize=8)
    cbar.ax.tick_params(labelsize=7)
    _save(fig, path)
    plt.close(fig)


def category_figure(shares: pd.DataFrame, groups: list[dict], categories: list[str],
                    ci: float, path) -> None:
    """Grouped bars: each group's share of coded talk by category, with the bootstrap
    interval as error bars; the legend sits below the axes (it never covers a bar),
    its labels wrapped. Deterministic PNG bytes."""
    plt = _plt()
    n_g, n_c = len(groups), len(categories)
    width = 0.8 / max(n_g, 1)
    fig, ax = plt.subplots(figsize=(2.5 + 1.3 * n_c + 0.3 * n_g, 3.4), dpi=150)
    colours = plt.get_cmap("tab10")
    hatches = ["", "//", "..", "xx", "\\\\", "oo", "--", "++", "**", "||"]
    for i, g in enumerate(groups):
        sub = shares[shares["group"] == g["id"]].set_index("category").loc[categories]
        x = np.arange(n_c) + (i - (n_g - 1) / 2) * width
        y = sub["share"].to_numpy(dtype=float)
        err = np.abs(np.vstack([y - sub["ci_low"].to_numpy(dtype=float),
                                sub["ci_high"].to_numpy(dtype=float) - y]))
        ax.bar(x, np.nan_to_num(y), width, yerr=np.nan_to_num(err), capsize=2,
               label=_wrapped([g.get("label", g["id"])], 40)[0], color=colours(i % 10),
               hatch=hatches[(i // 10) % len(hatches)], edgecolor="white", linewidth=0.5)
    ax.set_xticks(range(n_c), _wrapped(categories, 14), fontsize=8)
    ax.set_ylabel("share of the group's coded talk", fontsize=8)
    ax.yaxis.set_major_formatter(plt.matplotlib.ticker.PercentFormatter(xmax=1.0))
    ax.set_ylim(0, 1)
    ax.tick_params(labelsize=8)
    from matplotlib.transforms import offset_copy
    ax.legend(fontsize=7, frameon=False, ncol=1 if n_g <= 3 else 2, loc="upper center",
              bbox_to_anchor=(0.5, 0.0), bbox_transform=offset_copy(
                  ax.transAxes, fig, y=-8 - 11 * max(len(c.split("\n")) for c in
                                                       _wrapped(categories, 14)),
                  units="points"))
    _save(fig, path)
    plt.close(fig)


# ---------------------------------------------------------------------------
# numbers registry
# ---------------------------------------------------------------------------

def _p_shown(p: float) -> str:
    if p is None or math.isnan(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def _add(frag: Fragment, *args, shown: str | None = None, undefined: str | None = None,
         **kw) -> str:
    """``frag.add`` that shows "undefined" (not a placeholder such as "NA") for an
    undefined statistic."""
    if undefined:
        args = (args[0], None, *args[2:])
    return frag.add(*args, shown=None if undefined else shown, undefined=undefined, **kw)


def _undef(value, reason: str) -> str | None:
    """``reason`` when ``value`` is NaN/None (the registry's ``undefined``), else None."""
    if value is None:
        return reason
    if isinstance(value, (list, tuple)):
        return reason if all(_undef(v, reason) for v in value) else None
    try:
        return reason if math.isnan(float(value)) else None
    except (TypeError, ValueError):
        return None


def _no_pair_reason(pair: pd.DataFrame, groups: list[dict]) -> str:
    """Why no pair of groups has a defined statistic."""
    if len(groups) < 2:
        return "the study has one group, so there is no between-group comparison"
    notes = [n for n in pair.get("note", pd.Series(dtype=str)) if n]
    return ("undefined for every pair of groups: " + notes[0]) if notes else \
        "undefined for every pair of groups"


def fragment(prev: pd.DataFrame, pair: pd.DataFrame, seg_ids: dict, groups: list[dict],
             codebook_codes: list[dict], coder: str, ci: float,
             prevalence_path: str, pairwise_path: str, bootstrap: int | None = None) -> Fragment:
    """The concordance numbers (written files must exist: entries hash them)."""
    frag = Fragment("concordance")
    label = {g["id"]: g.get("label", g["id"]) for g in groups}
    name = {c["id"]: c.get("name", c["id"]) for c in codebook_codes}
    pct = f"{round(100 * ci)}%"
    line = {(r.group, r.code): i + 2 for i, r in enumerate(prev.itertuples())}
    for r in prev.itertuples():
        where = f"{label[r.group]} ({coder} coding)"
        ids = seg_ids[(r.group, r.code)]
        _add(frag, f"prevalence.participants_with.{r.group}.{r.code}", int(r.participants_with),
                 f"participants in {where} with at least one segment coded "
                 f"{name[r.code]} ({r.code})",
                 prevalence_path, [line[(r.group, r.code)]], ids)
        ci_text = ("" if math.isnan(r.ci_low) else
                   f"; {pct} CI {display(r.ci_low, percent=True)}–{display(r.ci_high, percent=True)}"
                   f" (cluster bootstrap over participants)")
        why = (f"no participant of {label[r.group]} has a role {name[r.code]} applies to"
               if r.participants == 0 else "share undefined")
        if not ((prev["group"] == r.group) & (prev["participants"] > 0)).any():
            why = f"no participants of a coding-unit role are enrolled in {label[r.group]}"
        _add(frag, f"prevalence.{r.group}.{r.code}", float(r.share),
                 f"share of participants in {where} who raised {name[r.code]} ({r.code}): "
                 f"{r.participants_with} of {r.participants} participants{ci_text}",
                 prevalence_path, [line[(r.group, r.code)]], ids, percent=True,
                 undefined=_undef(r.share, why))

    # top-ranked code per group (rank_codes: the tie-break of every top list)
    order = {c["id"]: i for i, c in enumerate(codebook_codes)}
    for g in groups:
        sub = prev[(prev["group"] == g["id"]) & prev["share"].notna()]
        if not len(sub):
            continue
        best = sub.set_index("code").loc[rank_codes(prev, g["id"], order)[0]].copy()
        best["code"] = best.name
        tied = sub[sub["rank"] == best["rank"]]["code"].tolist()
        tie = (f"; tied with {', '.join(name[c] for c in tied if c != best['code'])}"
               if len(tied) > 1 else "")
        _add(frag, f"concordance.top.{g['id']}", best["code"],
                 f"most widely raised code in {label[g['id']]}: {name[best['code']]} "
                 f"({best['participants_with']} of {best['participants']} participants){tie}",
                 prevalence_path, [line[(g["id"], best["code"])]],
                 seg_ids[(g["id"], best["code"])], shown=name[best["code"]])

    # group-agnostic summaries
    n_codes = len(codebook_codes)
    _add(frag, "concordance.ci", ci, "confidence level of the prevalence intervals",
             prevalence_path, percent=True, digits=2)
    if bootstrap is not None:
        _add(frag, "concordance.bootstrap", int(bootstrap),
                 "bootstrap resamples (participants resampled within group) per interval",
                 prevalence_path)
    _add(frag, "concordance.coder", coder, "the coding whose codes the prevalence counts",
             prevalence_path, shown=coder)
    _add(frag, "concordance.codes", n_codes, "codes in the codebook", prevalence_path)
    _add(frag, "concordance.groups", len(groups), "stakeholder groups compared", prevalence_path)
    every = [c["id"] for c in codebook_codes
             if all(((prev["group"] == g["id"]) & (prev["code"] == c["id"])
                     & (prev["participants_with"] > 0)).any() for g in groups)]
    _add(frag, "concordance.codes.all_groups", len(every),
             "codes raised by at least one participant in every group"
             + (f": {', '.join(name[c] for c in every)}" if every else ""),
             prevalence_path,
             [line[(g["id"], c)] for g in groups for c in every])

    pline = {(r.group_a, r.group_b): i + 2 for i, r in enumerate(pair.itertuples())}
    for r in pair.itertuples():
        pair_text = f"{label[r.group_a]} and {label[r.group_b]}"
        why = getattr(r, "note", "") or "undefined"
        _add(frag, f"pairwise.spearman.{r.group_a}.{r.group_b}", r.spearman_rho,
                 f"Spearman's rho between the code shares of {pair_text} "
                 f"({r.codes} codes)", pairwise_path, [pline[(r.group_a, r.group_b)]],
                 undefined=_undef(r.spearman_rho, why))
        _add(frag, f"pairwise.spearman_p.{r.group_a}.{r.group_b}", r.spearman_p,
                 f"p value of Spearman's rho between {pair_text}", pairwise_path,
                 [pline[(r.group_a, r.group_b)]], shown=_p_shown(r.spearman_p),
                 undefined=_undef(r.spearman_p, why))
    valid = pair[pair["spearman_rho"].notna()]
    if not len(valid):
        why = _no_pair_reason(pair, groups)
        for which, word in (("max", "highest"), ("min", "lowest")):
            _add(frag, f"pairwise.spearman.{which}", None,
                     f"{word} Spearman's rho between two groups' code shares", pairwise_path,
                     undefined=why)
            _add(frag, f"pairwise.spearman.{which}.pair", None,
                     f"the pair of groups with the {word} Spearman's rho", pairwise_path,
                     undefined=why)
        _add(frag, "pairwise.spearman.median", None,
                 "median Spearman's rho over the pairs of groups with a defined rho",
                 pairwise_path, undefined=why)
    if len(valid):
        for which, idx in (("max", valid["spearman_rho"].idxmax()),
                           ("min", valid["spearman_rho"].idxmin())):
            r = pair.loc[idx]
            pair_text = f"{label[r.group_a]} and {label[r.group_b]}"
            word = "highest" if which == "max" else "lowest"
            ln = [pline[(r.group_a, r.group_b)]]
            _add(frag, f"pairwise.spearman.{which}", r.spearman_rho,
                     f"{word} Spearman's rho between two groups' code shares: {pair_text}",
                     pairwise_path, ln)
            _add(frag, f"pairwise.spearman.{which}.pair", pair_text,
                     f"the pair of groups with the {word} Spearman's rho", pairwise_path, ln,
                     shown=pair_text)
        _add(frag, "pairwise.spearman.median", float(valid["spearman_rho"].median()),
                 f"median Spearman's rho over the {len(valid)} pairs of groups with a defined rho",
                 pairwise_path, [pline[(a, b)] for a, b in zip(valid["group_a"], valid["group_b"])])

    frag.table("prevalence",
               f"Share of participants in each group who raised each code at least once "
               f"({coder} coding). The denominator is every enrolled participant of the group "
               f"(for a code limited to speaker roles, those of its roles); prevalence.tsv "
               f"gives each cell's numerator and denominator.",
               ["Code"] + [label[g["id"]] for g in groups],
               [[name[c["id"]]] + [{"num": f"prevalence.{g['id']}.{c['id']}"} for g in groups]
                for c in codebook_codes])
    top_rows = []
    for g in groups:
        key = f"concordance.top.{g['id']}"
        if key in frag.numbers:
            code = frag.numbers[key]["value"]
            top_rows.append([label[g["id"]], {"num": key},
                             {"num": f"prevalence.{g['id']}.{code}"}])
    frag.table("top",
               f"The most widely raised code in each group ({coder} coding) and the share of "
               f"the group's participants who raised it; {TIE_BREAK}.",
               ["Group", "Most widely raised code", "Participants"], top_rows)
    frag.table("pairwise",
               "Spearman's rank correlation between groups over the codes' participant shares.",
               ["Group", "Group", "Spearman's rho", "p"],
               [[label[r.group_a], label[r.group_b],
                 {"num": f"pairwise.spearman.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.spearman_p.{r.group_a}.{r.group_b}"}]
                for r in pair.itertuples()])
    return frag


def _interval(low: float, high: float) -> list:
    """An interval as a registry value (NaN -> null)."""
    return [None if (v is None or math.isnan(v)) else float(v) for v in (low, high)]


def _pp(d: float, sign: bool = True) -> str:
    if d is None or math.isnan(d):
        return "NA"
    return f"{100 * d:+.0f}" if sign else f"{100 * d:.0f}"


def add_results(frag: Fragment, prev: pd.DataFrame, pair: pd.DataFrame, shares: pd.DataFrame,
                diffs: pd.DataFrame, w: pd.DataFrame, tests: pd.DataFrame,
                groups: list[dict], codebook_codes: list[dict], categories: list[str],
                ci: float, fdr: float, paths: dict, top: int = 5) -> Fragment:
    """Registry entries and tables for the measures beyond prevalence: rank concordance
    (τ-b, top-k Jaccard, Kendall's W), category shares and their between-group
    differences, and the per-code tests. ``paths``: output name -> written file."""
    label = {g["id"]: g.get("label", g["id"]) for g in groups}
    name = {c["id"]: c.get("name", c["id"]) for c in codebook_codes}
    pct = f"{round(100 * ci)}%"

    pline = {(r.group_a, r.group_b): i + 2 for i, r in enumerate(pair.itertuples())}
    for r in pair.itertuples():
        pt = f"{label[r.group_a]} and {label[r.group_b]}"
        ln = [pline[(r.group_a, r.group_b)]]
        key = f"{r.group_a}.{r.group_b}"
        why = getattr(r, "note", "") or "undefined"
        _add(frag, f"pairwise.kendall.{key}", r.kendall_tau,
                 f"Kendall's tau-b between the code shares of {pt}", paths["pairwise"], ln,
                 undefined=_undef(r.kendall_tau, why))
        _add(frag, f"pairwise.kendall_p.{key}", r.kendall_p,
                 f"p value of Kendall's tau-b between {pt}", paths["pairwise"], ln,
                 shown=_p_shown(r.kendall_p), undefined=_undef(r.kendall_p, why))
        ci_why = why if math.isnan(r.spearman_rho) else "no bootstrap resamples"
        _add(frag, f"pairwise.spearman_ci.{key}", _interval(r.spearman_ci_low, r.spearman_ci_high),
                 f"{pct} cluster-bootstrap interval of Spearman's rho between {pt}",
                 paths["pairwise"], ln,
                 shown=("NA" if math.isnan(r.spearman_ci_low) else
                        f"{r.spearman_ci_low:.2f} to {r.spearman_ci_high:.2f}"),
                 undefined=_undef(r.spearman_ci_low, ci_why))
        jwhy = "a group has no enrolled participants of a coding-unit role"
        _add(frag, f"pairwise.jaccard.{key}", r.top_k_jaccard,
                 f"Jaccard overlap of the top-{r.top_k} codes of {pt}", paths["pairwise"], ln,
                 undefined=_undef(r.top_k_jaccard, jwhy))
        _add(frag, f"pairwise.jaccard_p.{key}", r.top_k_p,
                 f"hypergeometric p of a top-{r.top_k} overlap at least as large between {pt}",
                 paths["pairwise"], ln, shown=_p_shown(r.top_k_p),
                 undefined=_undef(r.top_k_p, jwhy))
    k = int(pair["top_k"].iloc[0]) if len(pair) else min(int(top), len(codebook_codes))
    _add(frag, "concordance.top_k", k,
             "k of the top-k code sets compared between groups", paths["pairwise"])
    if k > 0:
        order = {c["id"]: i for i, c in enumerate(codebook_codes)}
        rows = []
        for g in groups:
            sub = prev[(prev["group"] == g["id"]) & prev["share"].notna()]
            if not len(sub):
                continue
            top = rank_codes(prev, g["id"], order)[:k]
            _add(frag, f"concordance.top_codes.{g['id']}", ";".join(top),
                     f"the {k} most widely raised codes in {label[g['id']]} (participant "
                     f"share, {TIE_BREAK})", paths["pairwise"],
                     shown=", ".join(name[c] for c in top))
            rows.append([label[g["id"]], {"num": f"concordance.top_codes.{g['id']}"}])
        frag.table("top_codes",
                   f"Each group's {k} most widely raised codes, in order (share of participants; "
                   f"{TIE_BREAK}).",
                   ["Group", f"Top {k} codes"], rows)

    wr = w.iloc[0]
    if int(wr.judges) < 2:
        wwhy = "Kendall's W needs two or more groups with participants"
    elif int(wr.codes) < 2:
        wwhy = "Kendall's W needs two or more codes that apply in every group"
    else:
        wwhy = "every group ranked all codes equal (all shares tied)"
    _add(frag, "concordance.kendall_w", wr.kendall_w,
             f"Kendall's W (tie-corrected) of the {wr.judges} groups' rankings of "
             f"{wr.codes} codes", paths["kendall_w"], [2], undefined=_undef(wr.kendall_w, wwhy))
    _add(frag, "concordance.kendall_w.chi2", wr.chi2, "chi-square statistic of Kendall's W",
             paths["kendall_w"], [2], digits=1, undefined=_undef(wr.chi2, wwhy))
    _add(frag, "concordance.kendall_w.df", int(wr.df), "degrees of freedom of the W test",
             paths["kendall_w"], [2])
    _add(frag, "concordance.kendall_w.p", wr.p, "p value of the chi-square test of Kendall's W",
             paths["kendall_w"], [2], shown=_p_shown(wr.p), undefined=_undef(wr.p, wwhy))

    cline = {(r.group, r.category): i + 2 for i, r in enumerate(shares.itertuples())}
    for r in shares.itertuples():
        ln = [cline[(r.group, r.category)]]
        nowhy = f"no code was applied in {label[r.group]}"
        _add(frag, f"category.share.{r.group}.{r.category}", r.share,
                 f"share of {label[r.group]}'s coded talk in {r.category} codes: "
                 f"{r.codings} of {r.codings_total} code applications", paths["categories"],
                 ln, percent=True, undefined=_undef(r.share, nowhy))
        _add(frag, f"category.share_ci.{r.group}.{r.category}", _interval(r.ci_low, r.ci_high),
                 f"{pct} cluster-bootstrap interval of that share", paths["categories"], ln,
                 shown=("NA" if math.isnan(r.ci_low) else
                        f"{display(r.ci_low, percent=True)}–{display(r.ci_high, percent=True)}"),
                 undefined=_undef(r.ci_low, nowhy if math.isnan(r.share) else
                                  "no bootstrap resamples"))
    dline = {(r.category, r.group_a, r.group_b): i + 2 for i, r in enumerate(diffs.itertuples())}
    for r in diffs.itertuples():
        ln = [dline[(r.category, r.group_a, r.group_b)]]
        key = f"{r.category}.{r.group_a}.{r.group_b}"
        dwhy = "a group has no coded talk"
        _add(frag, f"category.diff.{key}", r.difference,
                 f"{label[r.group_a]} minus {label[r.group_b]}: difference in the share of "
                 f"coded talk in {r.category} codes (percentage points)",
                 paths["category_differences"], ln, shown=f"{_pp(r.difference)} pp",
                 undefined=_undef(r.difference, dwhy))
        _add(frag, f"category.diff_ci.{key}", _interval(r.ci_low, r.ci_high),
                 f"{pct} bootstrap interval of that difference (percentage points)",
                 paths["category_differences"], ln,
                 shown=f"{_pp(r.ci_low)} to {_pp(r.ci_high)} pp",
                 undefined=_undef(r.ci_low, dwhy if math.isnan(r.difference) else
                                  "no bootstrap resamples"))

    # the category whose share varies most between groups: the study's central contrast
    valid = shares[shares["share"].notna()]
    if valid["group"].nunique() < 2:
        cwhy = ("the study has one group, so there is no between-group contrast"
                if len(groups) < 2 else "fewer than two groups have coded talk")
        for key, meaning, f in (
                ("category.contrast", "the code category whose share of coded talk differs "
                 "most between groups", "categories"),
                ("category.contrast.high.group", "group with the highest share", "categories"),
                ("category.contrast.low.group", "group with the lowest share", "categories"),
                ("category.contrast.high", "the highest share", "categories"),
                ("category.contrast.low", "the lowest share", "categories"),
                ("category.contrast.diff", "difference of the highest and lowest share",
                 "category_differences"),
                ("category.contrast.diff_ci", "bootstrap interval of that difference",
                 "category_differences")):
            _add(frag, key, None, meaning, paths[f], undefined=cwhy)
        frag.table("category_differences",
                   f"Differences between groups in the share of coded talk: none ({cwhy}).",
                   ["Group", "Group", "Difference", f"{pct} CI"], [])
    else:
        spread = valid.groupby("category", sort=False)["share"].agg(lambda s: s.max() - s.min())
        cat = max(categories, key=lambda c: (spread.get(c, -1.0), -categories.index(c)))
        order = [g["id"] for g in groups]
        # highest first, ties by display order: hi and lo differ even if all shares tie
        sub = valid[valid["category"] == cat].assign(o=lambda d: d["group"].map(order.index))
        sub = sub.sort_values(["share", "o"], ascending=[False, True], kind="mergesort")
        hi, lo = sub.iloc[0], sub.iloc[-1]
        a, b = sorted([hi.group, lo.group], key=order.index)
        d = diffs[(diffs.category == cat) & (diffs.group_a == a) & (diffs.group_b == b)].iloc[0]
        sign = 1 if a == hi.group else -1
        ln = [dline[(cat, a, b)]]
        _add(frag, "category.contrast", cat, "the code category whose share of coded talk "
                 "differs most between groups", paths["categories"],
                 [cline[(hi.group, cat)], cline[(lo.group, cat)]], shown=cat)
        _add(frag, "category.contrast.high.group", hi.group,
                 f"group with the highest {cat} share", paths["categories"],
                 [cline[(hi.group, cat)]], shown=label[hi.group])
        _add(frag, "category.contrast.low.group", lo.group,
                 f"group with the lowest {cat} share", paths["categories"],
                 [cline[(lo.group, cat)]], shown=label[lo.group])
        _add(frag, "category.contrast.high", float(hi.share), f"the highest {cat} share",
                 paths["categories"], [cline[(hi.group, cat)]], percent=True)
        _add(frag, "category.contrast.low", float(lo.share), f"the lowest {cat} share",
                 paths["categories"], [cline[(lo.group, cat)]], percent=True)
        _add(frag, "category.contrast.diff", sign * d.difference,
                 f"{label[hi.group]} minus {label[lo.group]} in {cat} share",
                 paths["category_differences"], ln, shown=f"{_pp(sign * d.difference)} pp")
        lo_ci, hi_ci = sorted([sign * d.ci_low, sign * d.ci_high])
        _add(frag, "category.contrast.diff_ci", _interval(lo_ci, hi_ci),
                 f"{pct} bootstrap interval of that difference", paths["category_differences"],
                 ln, shown=f"{_pp(lo_ci)} to {_pp(hi_ci)} pp")
        frag.table("category_differences",
                   f"Differences between groups in the share of coded talk in {cat} codes "
                   f"(row group minus column group, percentage points, {pct} cluster-bootstrap "
                   f"interval).",
                   ["Group", "Group", "Difference", f"{pct} CI"],
                   [[label[r.group_a], label[r.group_b],
                     {"num": f"category.diff.{cat}.{r.group_a}.{r.group_b}"},
                     {"num": f"category.diff_ci.{cat}.{r.group_a}.{r.group_b}"}]
                    for r in diffs[diffs.category == cat].itertuples()])

    tline = {r.code: i + 2 for i, r in enumerate(tests.itertuples())}
    for r in tests.itertuples():
        ln = [tline[r.code]]
        twhy = r.test if str(r.test).startswith("none") else "no test"
        _add(frag, f"code_tests.p.{r.code}", r.p, f"p of the between-group test for "
                 f"{name[r.code]} ({r.test})", paths["code_tests"], ln, shown=_p_shown(r.p),
                 undefined=_undef(r.p, twhy))
        _add(frag, f"code_tests.q.{r.code}", r.q, f"Benjamini-Hochberg q for {name[r.code]}",
                 paths["code_tests"], ln, shown=_p_shown(r.q), undefined=_undef(r.q, twhy))
    sig = tests[tests["q"] < fdr]
    _add(frag, "code_tests.fdr", fdr, "false discovery rate for the per-code tests",
             paths["code_tests"], digits=2)
    _add(frag, "code_tests.tested", int(tests["p"].notna().sum()),
             "codes tested for a difference between groups", paths["code_tests"])
    _add(frag, "code_tests.significant", len(sig),
             "codes whose share of participants differs between groups at the FDR"
             + (f": {', '.join(name[c] for c in sig['code'])}" if len(sig) else ""),
             paths["code_tests"], [tline[c] for c in sig["code"]])
    tests_used = sorted(set(t for t in tests["test"] if t and not t.startswith("none")))
    words = {"fisher_exact": "Fisher's exact test",
             "chi2_permutation": "a permutation test of Pearson's chi-square"}
    _add(frag, "code_tests.test", ", ".join(tests_used), "the test used per code",
             paths["code_tests"], shown=" and ".join(words.get(t, t) for t in tests_used)
             or "none")

    frag.table("categories",
               f"Share of each group's coded talk (code applications) by code category, with "
               f"{pct} cluster-bootstrap intervals.",
               ["Group"] + [f"{c}" for c in categories] + [f"{c} {pct} CI" for c in categories],
               [[label[g["id"]]]
                + [{"num": f"category.share.{g['id']}.{c}"} for c in categories]
                + [{"num": f"category.share_ci.{g['id']}.{c}"} for c in categories]
                for g in groups])
    frag.table("rank_concordance",
               f"Rank concordance between groups over the codes' participant shares: "
               f"Spearman's rho with its {pct} cluster-bootstrap interval, Kendall's tau-b and "
               f"the Jaccard overlap of the groups' top-k codes.",
               ["Group", "Group", "rho", f"{pct} CI", "tau-b", "p (tau)", "Top-k Jaccard",
                "p (overlap)"],
               [[label[r.group_a], label[r.group_b],
                 {"num": f"pairwise.spearman.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.spearman_ci.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.kendall.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.kendall_p.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.jaccard.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.jaccard_p.{r.group_a}.{r.group_b}"}]
                for r in pair.itertuples()])
    frag.table("code_tests",
               "Between-group tests of each code's share of participants, with "
               "Benjamini-Hochberg q values.",
               ["Code", "p", "q"],
               [[name[c["id"]], {"num": f"code_tests.p.{c['id']}"},
                 {"num": f"code_tests.q.{c['id']}"}] for c in codebook_codes])
    return frag
