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

from concord.numbers import Fragment, display
from concord.tsvio import InputError

PREVALENCE_COLUMNS = ["group", "code", "participants_with", "participants", "share",
                      "ci_low", "ci_high", "segments_with", "segments", "rank"]
PAIRWISE_COLUMNS = ["group_a", "group_b", "spearman_rho", "spearman_p", "codes"]
EXACT_MAX_CODES = 8          # 8! = 40,320 permutations


# ---------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------

def participant_segments(segments: pd.DataFrame, participants: pd.DataFrame,
                         groups: list[dict], source: str = "segments") -> pd.DataFrame:
    """Participant (non-moderator) segments, checked against the participants sheet."""
    group_ids = [g["id"] for g in groups]
    bad = sorted(set(participants["group"]) - set(group_ids))
    if bad:
        raise InputError(f"participants sheet: group(s) {', '.join(bad)} not in config "
                         f"groups ({', '.join(group_ids)})")
    seg = segments[segments["participant_id"] != ""]
    enrolled = participants.set_index("participant_id")["group"]
    unknown = sorted(set(seg["participant_id"]) - set(enrolled.index))
    if unknown:
        raise InputError(f"{source}: participant(s) {', '.join(unknown[:5])} speak but are not "
                         f"in the participants sheet")
    wrong = seg[seg["group"] != seg["participant_id"].map(enrolled)]
    if len(wrong):
        row = wrong.iloc[0]
        raise InputError(f"{source}: segment {row['segment_id']}: group {row['group']!r} but "
                         f"participant {row['participant_id']} is enrolled in "
                         f"{enrolled[row['participant_id']]!r}")
    return seg


def coder_codings(codings: pd.DataFrame, coder: str, segments: pd.DataFrame,
                  codes: list[str], source: str = "codings.tsv",
                  log=None) -> pd.DataFrame:
    """The chosen coder's (segment_id, code) pairs on participant segments.

    ``segments`` are *all* segments (moderator included); codes on unknown segments
    or unknown codes are errors, codes on moderator segments are dropped with a note.
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
    speaker = segments.set_index("segment_id")["participant_id"]
    moderator = mine["segment_id"].map(speaker) == ""
    if moderator.any() and log is not None:
        log(f"note: {int(moderator.sum())} coding(s) on moderator segments ignored")
    return mine[~moderator].reset_index(drop=True)


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


def prevalence(codings: pd.DataFrame, segments: pd.DataFrame, participants: pd.DataFrame,
               groups: list[dict], codes: list[str], seed: int, bootstrap: int,
               ci: float) -> tuple[pd.DataFrame, dict]:
    """Participant-level prevalence of every code in every group.

    ``codings``: (segment_id, code) of one coder on participant segments;
    ``segments``: participant segments (see :func:`participant_segments`).
    Returns the table (rows by group display order, then code ID) and a dict
    ``(group, code) -> sorted segment IDs`` behind each cell.
    """
    if not 0 < ci < 1:
        raise InputError(f"concordance.ci must be between 0 and 1, got {ci}")
    if bootstrap < 1:
        raise InputError(f"concordance.bootstrap must be ≥ 1, got {bootstrap}")
    rng = np.random.default_rng(seed)
    codes_sorted = sorted(codes)
    col = {c: j for j, c in enumerate(codes_sorted)}
    coded = codings.merge(segments[["segment_id", "participant_id", "group"]], on="segment_id")
    rows, seg_ids = [], {}
    for g in groups:
        gid = g["id"]
        people = sorted(participants.loc[participants["group"] == gid, "participant_id"])
        prow = {p: i for i, p in enumerate(people)}
        matrix = np.zeros((len(people), len(codes_sorted)), dtype=float)
        gc = coded[coded["group"] == gid]
        if len(gc):
            matrix[gc["participant_id"].map(prow).to_numpy(),
                   gc["code"].map(col).to_numpy()] = 1.0
        n_seg = int((segments["group"] == gid).sum())
        low, high = bootstrap_share_ci(matrix, rng, bootstrap, ci)
        with_ = matrix.sum(axis=0).astype(int)
        share = with_ / len(people) if people else np.full(len(codes_sorted), np.nan)
        if people:
            rank = stats.rankdata(-share, method="average")
        else:
            rank = np.full(len(codes_sorted), np.nan)
        by_code = gc.groupby("code")["segment_id"].agg(lambda s: sorted(set(s)))
        for j, code in enumerate(codes_sorted):
            ids = by_code.get(code, [])
            seg_ids[(gid, code)] = ids
            rows.append({"group": gid, "code": code, "participants_with": int(with_[j]),
                         "participants": len(people), "share": float(share[j]),
                         "ci_low": float(low[j]), "ci_high": float(high[j]),
                         "segments_with": len(ids), "segments": n_seg,
                         "rank": float(rank[j])})
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


def pairwise(prev: pd.DataFrame, groups: list[dict], codes: list[str],
             log=None) -> pd.DataFrame:
    """Spearman's ρ between the code shares of every unordered pair of groups."""
    codes_sorted = sorted(codes)
    m = share_matrix(prev, groups, codes_sorted)
    rows = []
    for (i, a), (j, b) in itertools.combinations(enumerate(groups), 2):
        x, y = m[i], m[j]
        rho = p = math.nan
        if np.isnan(x).any() or np.isnan(y).any():
            note = "a group has no enrolled participants"
        elif len(codes_sorted) < 2:
            note = "fewer than two codes"
        elif np.all(x == x[0]) or np.all(y == y[0]):
            note = "all shares of a group are equal (rho undefined)"
        else:
            note = None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                res = stats.spearmanr(x, y)
            rho, p = float(res.statistic), float(res.pvalue)
            if len(codes_sorted) <= EXACT_MAX_CODES:
                p = spearman_exact_p(x, y)
        if note and log is not None:
            log(f"note: spearman {a['id']} vs {b['id']}: NaN — {note}")
        rows.append({"group_a": a["id"], "group_b": b["id"], "spearman_rho": rho,
                     "spearman_p": p, "codes": len(codes_sorted)})
    return pd.DataFrame(rows, columns=PAIRWISE_COLUMNS)


# ---------------------------------------------------------------------------
# figure
# ---------------------------------------------------------------------------

def heatmap(prev: pd.DataFrame, groups: list[dict], codebook_codes: list[dict], path) -> None:
    """Codes (rows, codebook order, by name) × groups (columns, display order),
    cells annotated with the share in percent. Deterministic PNG bytes."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ids = [c["id"] for c in codebook_codes]
    m = share_matrix(prev, groups, ids).T        # codes × groups
    n_codes, n_groups = m.shape
    width = 3.2 + 1.25 * n_groups
    height = 1.4 + 0.42 * n_codes
    fig, ax = plt.subplots(figsize=(width, height), dpi=150)
    im = ax.imshow(np.ma.masked_invalid(m), cmap="Blues", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(n_groups), [g.get("label", g["id"]) for g in groups],
                  rotation=30, ha="right")
    ax.set_yticks(range(n_codes), [c.get("name", c["id"]) for c in codebook_codes])
    for i in range(n_codes):
        for j in range(n_groups):
            v = m[i, j]
            ax.text(j, i, "NA" if np.isnan(v) else f"{100 * v:.0f}%", ha="center",
                    va="center", fontsize=8, color="white" if v > 0.6 else "black")
    ax.set_xticks(np.arange(-0.5, n_groups), minor=True)
    ax.set_yticks(np.arange(-0.5, n_codes), minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="minor", length=0)
    cbar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    cbar.set_label("share of participants raising the code")
    cbar.ax.yaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(xmax=1.0))
    ax.set_title("Participants raising each code, by group", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=150, format="png", metadata={"Software": None})
    plt.close(fig)


# ---------------------------------------------------------------------------
# numbers registry
# ---------------------------------------------------------------------------

def _p_shown(p: float) -> str:
    if p is None or math.isnan(p):
        return "NA"
    return "<0.001" if p < 0.001 else f"{p:.3f}"


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
        frag.add(f"prevalence.participants_with.{r.group}.{r.code}", int(r.participants_with),
                 f"participants in {where} with at least one segment coded "
                 f"{name[r.code]} ({r.code})",
                 prevalence_path, [line[(r.group, r.code)]], ids)
        ci_text = ("" if math.isnan(r.ci_low) else
                   f"; {pct} CI {display(r.ci_low, percent=True)}–{display(r.ci_high, percent=True)}"
                   f" (cluster bootstrap over participants)")
        frag.add(f"prevalence.{r.group}.{r.code}", float(r.share),
                 f"share of participants in {where} who raised {name[r.code]} ({r.code}): "
                 f"{r.participants_with} of {r.participants} participants{ci_text}",
                 prevalence_path, [line[(r.group, r.code)]], ids, percent=True)

    # top-ranked code per group (lowest rank; ties broken by codebook order)
    order = {c["id"]: i for i, c in enumerate(codebook_codes)}
    for g in groups:
        sub = prev[(prev["group"] == g["id"]) & prev["share"].notna()]
        if not len(sub):
            continue
        best = sub.assign(o=sub["code"].map(order)).sort_values(["rank", "o"]).iloc[0]
        tied = sub[sub["rank"] == best["rank"]]["code"].tolist()
        tie = (f"; tied with {', '.join(name[c] for c in tied if c != best['code'])}"
               if len(tied) > 1 else "")
        frag.add(f"concordance.top.{g['id']}", best["code"],
                 f"most widely raised code in {label[g['id']]}: {name[best['code']]} "
                 f"({best['participants_with']} of {best['participants']} participants){tie}",
                 prevalence_path, [line[(g["id"], best["code"])]],
                 seg_ids[(g["id"], best["code"])], shown=name[best["code"]])

    # group-agnostic summaries
    n_codes = len(codebook_codes)
    frag.add("concordance.ci", ci, "confidence level of the prevalence intervals",
             prevalence_path, percent=True, digits=2)
    if bootstrap is not None:
        frag.add("concordance.bootstrap", int(bootstrap),
                 "bootstrap resamples (participants resampled within group) per interval",
                 prevalence_path)
    frag.add("concordance.coder", coder, "the coding whose codes the prevalence counts",
             prevalence_path, shown=coder)
    frag.add("concordance.codes", n_codes, "codes in the codebook", prevalence_path)
    frag.add("concordance.groups", len(groups), "stakeholder groups compared", prevalence_path)
    every = [c["id"] for c in codebook_codes
             if all(((prev["group"] == g["id"]) & (prev["code"] == c["id"])
                     & (prev["participants_with"] > 0)).any() for g in groups)]
    frag.add("concordance.codes.all_groups", len(every),
             "codes raised by at least one participant in every group"
             + (f": {', '.join(name[c] for c in every)}" if every else ""),
             prevalence_path,
             [line[(g["id"], c)] for g in groups for c in every])

    pline = {(r.group_a, r.group_b): i + 2 for i, r in enumerate(pair.itertuples())}
    for r in pair.itertuples():
        pair_text = f"{label[r.group_a]} and {label[r.group_b]}"
        frag.add(f"pairwise.spearman.{r.group_a}.{r.group_b}", r.spearman_rho,
                 f"Spearman's rho between the code shares of {pair_text} "
                 f"({r.codes} codes)", pairwise_path, [pline[(r.group_a, r.group_b)]])
        frag.add(f"pairwise.spearman_p.{r.group_a}.{r.group_b}", r.spearman_p,
                 f"p value of Spearman's rho between {pair_text}", pairwise_path,
                 [pline[(r.group_a, r.group_b)]], shown=_p_shown(r.spearman_p))
    valid = pair[pair["spearman_rho"].notna()]
    if len(valid):
        for which, idx in (("max", valid["spearman_rho"].idxmax()),
                           ("min", valid["spearman_rho"].idxmin())):
            r = pair.loc[idx]
            pair_text = f"{label[r.group_a]} and {label[r.group_b]}"
            word = "highest" if which == "max" else "lowest"
            ln = [pline[(r.group_a, r.group_b)]]
            frag.add(f"pairwise.spearman.{which}", r.spearman_rho,
                     f"{word} Spearman's rho between two groups' code shares: {pair_text}",
                     pairwise_path, ln)
            frag.add(f"pairwise.spearman.{which}.pair", pair_text,
                     f"the pair of groups with the {word} Spearman's rho", pairwise_path, ln,
                     shown=pair_text)
        frag.add("pairwise.spearman.median", float(valid["spearman_rho"].median()),
                 f"median Spearman's rho over the {len(valid)} pairs of groups with a defined rho",
                 pairwise_path, [pline[(a, b)] for a, b in zip(valid["group_a"], valid["group_b"])])

    frag.table("prevalence",
               f"Share of participants in each group who raised each code at least once "
               f"({coder} coding). The denominator is every enrolled participant of the group.",
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
               f"the group's participants who raised it; ties are broken by codebook order.",
               ["Group", "Most widely raised code", "Participants"], top_rows)
    frag.table("pairwise",
               "Spearman's rank correlation between groups over the codes' participant shares.",
               ["Group", "Group", "Spearman's rho", "p"],
               [[label[r.group_a], label[r.group_b],
                 {"num": f"pairwise.spearman.{r.group_a}.{r.group_b}"},
                 {"num": f"pairwise.spearman_p.{r.group_a}.{r.group_b}"}]
                for r in pair.itertuples()])
    return frag
