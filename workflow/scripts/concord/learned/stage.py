"""The learned-coder stage: training data, cross-validated coding, evaluation against
the human coders, and the "code these next" list. Pure functions over DataFrames.

A study's coding units are read through :func:`coding_units`, the one place that says
which segments are units (segments whose role is in ``code.roles``, :mod:`concord.roles`).
Their context, the turn before by another speaker, comes from :func:`unit_texts`.

Training units are the units of the sessions the *reference* coder coded
(``learn.target``: ``consensus`` by default, or one human coder); a unit is positive for
a code when the reference applied it there. A code with ``roles`` in the codebook
applies only to units of those roles (:func:`applies`); elsewhere it is missing, not
absent: no label, no evaluation, no probability. A code with fewer than
``min_positive`` positive training units is reported as such (status ``too_few``) and
not coded.

Evaluation (:func:`evaluate`), on the training units only and with the out-of-fold
decisions (probability >= the code's threshold, see ``model``) so the coder is never scored on a session it was
trained on:

* per code: positives, true/false positives, false negatives, precision, recall, F1,
  and the share of units where it abstains (calibrated confidence below ``confidence``);
* agreement (``concord.agreement.code_table``: percent agreement, Cohen's and Fleiss'
  kappa, Gwet's AC1, Krippendorff's alpha with a bootstrap interval): ``learned`` and
  the keyword coder ``machine`` against each human coder and the consensus, on the units
  of the sessions that reference coded, beside the human coders among themselves
  (rater ``human``, reference ``human``) on the units of sessions with two or more of them.

The learned coder abstains on a unit when, for some code it codes, its calibrated
probability p has max(p, 1 - p) < ``confidence``. The "code these next" list ranks the
units no reference coding covers (or, when every session is coded, all units) by how
much a person's coding would help the weakest codes: the sum over codes of
uncertainty (1 - |2p - 1|) times weakness (1 - max(alpha of learned vs reference, 0),
1 when alpha is undefined); a code with too few positive examples counts with
uncertainty 1 on the units where the keyword coder applied it (they are the likeliest
places to find new positives).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from concord import agreement, roles
from concord.learned import model as lm

LEARNED = "learned"
CONSENSUS = "consensus"
NON_HUMAN = ("machine", "consensus", LEARNED)
CODE_COLUMNS = ["code", "status", "units", "positives", "true_positive", "false_positive",
                "false_negative", "precision", "recall", "f1", "abstained", "coded_units",
                "C", "note"]
AGREEMENT_COLUMNS = ["rater", "reference"] + agreement.STAT_COLUMNS
NEXT_COLUMNS = ["rank", "segment_id", "session_id", "score", "codes", "text"]
CODINGS_COLUMNS = ["segment_id", "coder", "code", "probability", "confident"]


def coding_units(segments: pd.DataFrame, units: tuple[str, ...] = ("participant",)
                 ) -> pd.DataFrame:
    """The coding units (the one place that decides it): segments whose speaker's role
    is a coded role (``code.roles``, :mod:`concord.roles`), sorted by segment ID, with
    columns segment_id, session_id, text, role."""
    segments = roles.with_roles(segments)
    chosen = segments[segments["role"].isin(units)]
    return chosen.sort_values("segment_id", kind="mergesort")[
        ["segment_id", "session_id", "text", "role"]].reset_index(drop=True)


@dataclass
class Texts:
    """Every segment of the sessions (units and the turns around them), for context.

    ``texts``: segment texts sorted by session and segment ID; ``session``: their
    sessions; ``unit_rows``: the row of each unit (units sorted by segment ID);
    ``context``: units x segments, 1 on the segments of the turn before the unit's turn
    by another speaker (the previous turn of a different ``speaker_id``, same session).
    """
    texts: list
    session: np.ndarray
    unit_rows: np.ndarray
    context: sparse.csr_matrix


def unit_texts(segments: pd.DataFrame, units: pd.DataFrame) -> Texts:
    """The :class:`Texts` of ``units`` (from :func:`coding_units`) within ``segments``
    (columns segment_id, session_id, turn, speaker_id, text). A turn is the run of
    segments with the same ``turn`` number; the units of a session's first speaker
    have no context."""
    seg = segments.sort_values("segment_id", kind="mergesort").reset_index(drop=True)
    sess = seg["session_id"].to_numpy()
    turn_key = seg["session_id"].astype(str) + "\x00" + seg["turn"].astype(str)
    new_turn = np.r_[True, turn_key.to_numpy()[1:] != turn_key.to_numpy()[:-1]]
    t_of = np.cumsum(new_turn) - 1                          # turn index of each segment
    starts = np.flatnonzero(new_turn)
    ends = np.r_[starts[1:], len(seg)]
    t_spk = seg["speaker_id"].astype(str).to_numpy()[starts]
    t_sess = sess[starts]
    prev = np.full(len(starts), -1)
    for t in range(1, len(starts)):                         # the turn before by another speaker
        if t_sess[t] != t_sess[t - 1]:
            continue
        prev[t] = t - 1 if t_spk[t] != t_spk[t - 1] else prev[t - 1]
    rows = pd.Index(seg["segment_id"]).get_indexer(units["segment_id"])
    if (rows < 0).any():
        raise ValueError("a coding unit is missing from the segments")
    p = prev[t_of[rows]]
    lo = np.where(p >= 0, starts[np.maximum(p, 0)], 0)
    n = np.where(p >= 0, ends[np.maximum(p, 0)] - lo, 0)
    indptr = np.r_[0, np.cumsum(n)]
    idx = np.repeat(lo - indptr[:-1], n) + np.arange(indptr[-1])
    ctx = sparse.csr_matrix((np.ones(len(idx), np.float32), idx, indptr),
                            shape=(len(rows), len(seg)))
    return Texts(seg["text"].astype(str).tolist(), sess, rows, ctx)


def plain_texts(units: pd.DataFrame) -> Texts:
    """:class:`Texts` without context (the units only)."""
    n = len(units)
    return Texts(units["text"].astype(str).tolist(), units["session_id"].to_numpy(),
                 np.arange(n), sparse.csr_matrix((n, n), dtype=np.float32))


def applies(units: pd.DataFrame, codes: list[str], code_roles: dict | None) -> np.ndarray:
    """Units x codes bool: the code applies to the unit's role (``code_roles``: code ->
    roles; a code without roles applies to every unit). Where it does not, the code is
    missing, not absent: no training label, no evaluation, no coding."""
    code_roles = code_roles or {}
    role = units["role"].to_numpy() if "role" in units.columns else \
        np.full(len(units), roles.PARTICIPANT)
    out = np.ones((len(units), len(codes)), dtype=bool)
    for k, c in enumerate(codes):
        r = code_roles.get(c)
        if r:
            out[:, k] = pd.Series(role).isin(set(r)).to_numpy()
    return out


def codebook_texts(book: dict) -> dict[str, list[str]]:
    """Per code, its definition, inclusion criterion and examples (non-empty strings)."""
    out = {}
    for c in book["codes"]:
        texts = [c.get("definition"), c.get("include"), *(c.get("examples") or [])]
        out[c["id"]] = [str(t).strip() for t in texts if t and str(t).strip()]
    return out


def coder_matrix(codings: pd.DataFrame, coverage: pd.DataFrame, coder: str,
                 units: pd.DataFrame, codes: list[str]) -> np.ndarray:
    """Units x codes: 1 where ``coder`` applied the code, 0 where it coded the unit's
    session but not this code, NaN where it did not code the session."""
    # a hash lookup (numpy's isin sorts the object arrays: seconds at 2,000 sessions)
    covered = units["session_id"].isin(
        set(coverage.loc[coverage["coder"] == coder, "session_id"])).to_numpy()
    m = np.zeros((len(units), len(codes)))
    c = codings[codings["coder"] == coder]
    ui = pd.Index(units["segment_id"]).get_indexer(c["segment_id"])
    ki = pd.Index(codes).get_indexer(c["code"])
    ok = (ui >= 0) & (ki >= 0)
    m[ui[ok], ki[ok]] = 1.0
    m[~covered] = np.nan
    return m


@dataclass
class Learned:
    units: pd.DataFrame            # segment_id, session_id, text[, role] (every coding unit)
    codes: list                    # all codebook codes, sorted
    status: dict                   # code -> "coded" | "too_few" | "no_reference"
    positives: dict                # code -> positive training units
    train: np.ndarray              # bool per unit: a reference coding covers its session
    labels: np.ndarray             # train units x codes (0/1; NaN where the code does not apply)
    fold: np.ndarray               # fold of each training unit (-1 = no cross-validation)
    prob: np.ndarray               # units x codes, calibrated (NaN: not coded / not applicable)
    oof: np.ndarray                # train units x codes, out-of-fold calibrated
    oof_pred: np.ndarray           # train units x codes, out-of-fold decisions (bool)
    threshold: dict = field(default_factory=dict)  # code -> probability threshold
    platt: dict = field(default_factory=dict)
    applies: np.ndarray = None     # units x codes: the code applies to the unit's role
    C: dict = field(default_factory=dict)          # code -> C of the final model
    fold_C: dict = field(default_factory=dict)     # code -> {fold: C}


def _features(feat, texts: Texts, idx: np.ndarray, context_weight: float):
    """Features of the units ``idx`` (own text and context) from their segments only."""
    ctx = texts.context[idx]
    need = np.unique(np.concatenate([texts.unit_rows[idx], ctx.indices]).astype(np.int64))
    seg_x = feat.transform([texts.texts[i] for i in need])
    local = np.searchsorted(need, texts.unit_rows[idx])
    if ctx.nnz == 0 or context_weight == 0:
        return lm.unit_features(seg_x, local, None)
    ctx = sparse.csr_matrix((ctx.data, np.searchsorted(need, ctx.indices), ctx.indptr),
                            shape=(len(idx), len(need)))
    return lm.unit_features(seg_x, local, ctx, context_weight)


def _pad(x, width: int):
    """``x`` with zero columns up to ``width`` (codebook texts have no context)."""
    if x.shape[1] == width:
        return x
    return sparse.hstack([x, sparse.csr_matrix((x.shape[0], width - x.shape[1]),
                                               dtype=np.float32)], format="csr")


def batches(sessions: np.ndarray, per_batch: int) -> list[np.ndarray]:
    """Unit indices in batches of ``per_batch`` consecutive sessions (units sorted by
    session)."""
    sessions = np.asarray(sessions)
    if len(sessions) == 0:
        return []
    start = np.r_[True, sessions[1:] != sessions[:-1]]
    sid = np.cumsum(start) - 1
    b = sid // max(int(per_batch), 1)
    cuts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    return np.split(np.arange(len(sessions)), cuts[1:])


def learn(units: pd.DataFrame, codings: pd.DataFrame, coverage: pd.DataFrame, book: dict,
          target: str = CONSENSUS, kind: str = "tfidf", folds: int = 5,
          min_positive: int = 10, seed: int = 0, c=1.0, use_codebook: bool = True,
          texts: Texts | None = None, code_roles: dict | None = None,
          context_weight: float = 0.5, max_rows: int | None = None, n_inner: int = 2,
          batch_sessions: int = 100, solver: str = "liblinear") -> Learned:
    """Train and cross-validate one classifier per code; code every unit.

    ``texts``: the segments around the units (:func:`unit_texts`) for the context
    features; without it, each unit's own text only. ``c``: one C or a grid (nested
    cross-validation). ``code_roles``: code -> roles it applies to (missing elsewhere).
    ``max_rows``: units per fit (:func:`concord.learned.model.sample_rows`). Units are
    coded in batches of ``batch_sessions`` sessions (memory)."""
    codes = sorted(c_["id"] for c_ in book["codes"])
    ref = coder_matrix(codings, coverage, target, units, codes)
    train = ~np.isnan(ref[:, 0]) if codes else np.zeros(len(units), bool)
    app = applies(units, codes, code_roles)
    labels = np.where(app[train], np.nan_to_num(ref[train]), np.nan)
    fold = lm.session_folds(units.loc[train, "session_id"].to_numpy(), folds)
    n = len(units)
    prob = np.full((n, len(codes)), np.nan)
    oof = np.full((int(train.sum()), len(codes)), np.nan)
    oof_pred = np.zeros(oof.shape, dtype=bool)
    positives = {code: int(np.nansum(labels[:, k])) for k, code in enumerate(codes)}
    status, platts, thresholds, cs, fold_cs = {}, {}, {}, {}, {}
    for k, code in enumerate(codes):
        n_app = int(app[train][:, k].sum())
        if not train.any():
            status[code] = "no_reference"
        elif positives[code] < min_positive or positives[code] == n_app:
            status[code] = "too_few"
        else:
            status[code] = "coded"
    coded = [k for k, code in enumerate(codes) if status[code] == "coded"]
    done = dict(applies=app)
    if not coded:
        return Learned(units, codes, status, positives, train, labels, fold, prob, oof,
                       oof_pred, **done)
    texts = texts if texts is not None else plain_texts(units)
    train_idx = np.flatnonzero(train)
    sess = set(units.loc[train, "session_id"])
    feat = lm.featurizer(kind).fit([t for t, s in zip(texts.texts, texts.session) if s in sess])
    x_train = _features(feat, texts, train_idx, context_weight)
    extra = codebook_texts(book) if use_codebook else {}
    models = {}
    for k in coded:
        code = codes[k]
        ex = _pad(feat.transform(extra[code]), x_train.shape[1]) if extra.get(code) else None
        rows = np.flatnonzero(app[train][:, k])
        xk = x_train if len(rows) == x_train.shape[0] else x_train[rows]   # no copy: all
        r = lm.code_model(xk, labels[rows, k], fold[rows], None, ex, seed, c,
                          max_rows, n_inner, solver)
        oof[rows, k], oof_pred[rows, k] = r["oof_prob"], r["oof_pred"]
        models[k], platts[code], thresholds[code] = r["model"], r["platt"], r["threshold"]
        cs[code], fold_cs[code] = r["C"], r["fold_C"]
    del x_train
    w = np.stack([models[k].w for k in coded], axis=1)
    b = np.array([models[k].b for k in coded])
    for idx in batches(units["session_id"].to_numpy(), batch_sessions):
        s = np.asarray(_features(feat, texts, idx, context_weight) @ w, dtype=np.float64) + b
        for j, k in enumerate(coded):
            p = lm.apply_platt(s[:, j], platts[codes[k]])
            prob[idx, k] = np.where(app[idx, k], p, np.nan)
    return Learned(units, codes, status, positives, train, labels, fold, prob, oof, oof_pred,
                   thresholds, platts, app, cs, fold_cs)


def _note(status: str, positives: int, min_positive: int, has_folds: bool) -> str:
    if status == "too_few":
        return (f"too few positive examples ({positives} < {min_positive}, or every unit): "
                "not coded")
    if status == "no_reference":
        return "no reference coding yet: not trained"
    if not has_folds:
        return "fewer than two coded sessions: no cross-validation"
    return ""


def code_table(res: Learned, confidence: float, min_positive: int) -> pd.DataFrame:
    """Per-code precision, recall, F1 (out of fold, vs the reference), abstention share
    and how many units the final coder codes."""
    rows = []
    has_folds = bool((res.fold >= 0).any())
    nan = float("nan")
    for k, code in enumerate(res.codes):
        y = res.labels[:, k] == 1 if len(res.labels) else np.zeros(0, bool)
        st = res.status[code]
        tp = fp = fn = 0
        prec = rec = f1 = abst = nan
        coded_units = 0
        if st == "coded":
            coded_units = int((res.prob[:, k] >= res.threshold[code]).sum())
            if has_folds:
                p = res.oof[:, k]
                pred = res.oof_pred[:, k]
                tp, fp = int((pred & y).sum()), int((pred & ~y).sum())
                fn = int((~pred & y).sum())
                prec = tp / (tp + fp) if tp + fp else nan
                rec = tp / (tp + fn) if tp + fn else nan
                f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else nan
                ok = ~np.isnan(p)
                abst = float(np.mean(np.maximum(p[ok], 1 - p[ok]) < confidence)) \
                    if ok.any() else nan
        rows.append({"code": code, "status": st,
                     "units": int(res.applies[res.train][:, k].sum()) if res.applies is not None
                     else int(res.train.sum()),
                     "positives": res.positives[code], "true_positive": tp,
                     "false_positive": fp, "false_negative": fn, "precision": prec,
                     "recall": rec, "f1": f1, "abstained": abst, "coded_units": coded_units,
                     "C": res.C.get(code, nan),
                     "note": _note(st, res.positives[code], min_positive, has_folds)})
    return pd.DataFrame(rows, columns=CODE_COLUMNS)


def _pair_table(rater: np.ndarray, ref: np.ndarray, codes, seed, bootstrap, ci, reliable,
                tentative) -> pd.DataFrame:
    data = np.stack([rater.T, ref.T], axis=1)  # codes x 2 x units
    t, _, _, _ = agreement.code_table(data, codes, seed, bootstrap, ci, reliable, tentative,
                                      package_alpha=False)
    return t


def agreement_table(res: Learned, codings: pd.DataFrame, coverage: pd.DataFrame, seed: int,
                    bootstrap: int, ci: float, reliable: float, tentative: float
                    ) -> pd.DataFrame:
    """``learned`` (out of fold) and ``machine`` against each human coder and the
    consensus, and the human coders among themselves; see the module docstring."""
    codes = res.codes
    units = res.units[res.train].reset_index(drop=True)
    humans = sorted(set(coverage["coder"]) - set(NON_HUMAN))
    out = []
    has_folds = bool((res.fold >= 0).any())
    off = ~res.applies[res.train] if res.applies is not None else \
        np.zeros((len(units), len(codes)), bool)

    def matrix(coder):   # NaN where the code does not apply to the unit's role
        m = coder_matrix(codings, coverage, coder, units, codes)
        m[off] = np.nan
        return m

    if len(units) and humans:
        hm = np.stack([matrix(h) for h in humans])
        two = (~np.isnan(hm)).any(axis=2).sum(axis=0) >= 2 if codes else np.zeros(len(units), bool)
        if two.any():
            data = hm[:, two].transpose(2, 0, 1)  # codes x coders x units
            t, _, _, _ = agreement.code_table(data, codes, seed, bootstrap, ci, reliable,
                                              tentative, package_alpha=False)
            out.append(t.assign(rater="human", reference="human"))
        learned = np.where(off, np.nan, res.oof_pred.astype(float))
        machine = matrix("machine")
        for ref_name in humans + [CONSENSUS]:
            ref = matrix(ref_name)
            sel = (~np.isnan(ref)).any(axis=1) if codes else np.zeros(len(units), bool)
            if not sel.any():
                continue
            if has_folds:
                t = _pair_table(learned[sel], ref[sel], codes, seed, bootstrap, ci, reliable,
                                tentative)
                not_coded = [res.status[c] != "coded" for c in codes]
                stat_cols = ["percent_agreement", "cohen_kappa", "fleiss_kappa", "gwet_ac1",
                             "krippendorff_alpha", "ci_low", "ci_high", "p_below_threshold"]
                t.loc[not_coded, stat_cols] = np.nan
                t.loc[not_coded, "reliability"] = "undefined"
                t.loc[not_coded, "meets_threshold"] = False
                t.loc[not_coded, "note"] = "not coded: too few positive examples"
                out.append(t.assign(rater=LEARNED, reference=ref_name))
            msel = sel & (~np.isnan(machine)).any(axis=1)
            if msel.any():
                t = _pair_table(machine[msel], ref[msel], codes, seed, bootstrap, ci,
                                reliable, tentative)
                out.append(t.assign(rater="machine", reference=ref_name))
    if not out:
        return pd.DataFrame(columns=AGREEMENT_COLUMNS)
    table = pd.concat(out, ignore_index=True)[AGREEMENT_COLUMNS]
    order = {"human": 0, LEARNED: 1, "machine": 2}
    table = table.assign(_o=table["rater"].map(order))
    return table.sort_values(["_o", "reference", "code"], kind="mergesort").drop(
        columns="_o").reset_index(drop=True)


def learned_codings(res: Learned, confidence: float) -> pd.DataFrame:
    """The learned coder's codes on every unit (probability at or above the code's
    threshold, codes it codes), with the calibrated probability and whether it is
    confident (max(p, 1-p) >= confidence)."""
    k_coded = [k for k, c in enumerate(res.codes) if res.status[c] == "coded"]
    if not k_coded:
        return pd.DataFrame(columns=CODINGS_COLUMNS)
    p = res.prob[:, k_coded]
    t = np.array([res.threshold[res.codes[k]] for k in k_coded])
    ui, kj = np.nonzero(p >= t[None, :])
    probs = p[ui, kj]
    df = pd.DataFrame({"segment_id": res.units["segment_id"].to_numpy()[ui],
                       "coder": LEARNED,
                       "code": np.asarray(res.codes, dtype=object)[np.asarray(k_coded)[kj]],
                       "probability": np.round(probs, 6),
                       "confident": np.maximum(probs, 1 - probs) >= confidence})
    return df.sort_values(["segment_id", "code"], kind="mergesort").reset_index(drop=True)


def abstained(res: Learned, confidence: float) -> np.ndarray:
    """Bool per unit: for some coded code, max(p, 1 - p) < confidence."""
    k_coded = [k for k, c in enumerate(res.codes) if res.status[c] == "coded"]
    if not k_coded:
        return np.zeros(len(res.units), bool)
    p = res.prob[:, k_coded]
    return (np.maximum(p, 1 - p) < confidence).any(axis=1)


def next_list(res: Learned, agree: pd.DataFrame, machine: pd.DataFrame, confidence: float,
              target: str = CONSENSUS) -> pd.DataFrame:
    """Units to code next, ranked (see the module docstring): the units the learned
    coder abstains on, and for codes with too few examples the units the keyword coder
    (``machine``: segment_id, code) applied them to; among units no reference covers
    (all units when every session is covered)."""
    units = res.units
    cand = ~res.train if (~res.train).any() else np.ones(len(units), bool)
    score = np.zeros(len(units))
    contrib = np.zeros((len(units), len(res.codes)))
    alpha = {}
    if len(agree):
        a = agree[(agree["rater"] == LEARNED) & (agree["reference"] == target)]
        alpha = dict(zip(a["code"], a["krippendorff_alpha"].astype(float)))
    mi = pd.Index(units["segment_id"]).get_indexer(machine["segment_id"])
    for k, code in enumerate(res.codes):
        st = res.status[code]
        if st == "coded":
            p = res.prob[:, k]
            a = alpha.get(code, float("nan"))
            weak = 1.0 if np.isnan(a) else 1.0 - max(a, 0.0)
            unc = np.where(np.maximum(p, 1 - p) < confidence, 1 - np.abs(2 * p - 1), 0.0)
            contrib[:, k] = unc * weak
        elif st == "too_few":
            hit = mi[(machine["code"].to_numpy() == code) & (mi >= 0)]
            contrib[hit, k] = 1.0
    score = contrib.sum(axis=1)
    pick = np.flatnonzero(cand & (score > 0))
    codes_arr = np.asarray(res.codes, dtype=object)
    sub = contrib[pick]
    order = np.argsort(-sub, axis=1, kind="mergesort")      # per unit, largest first
    names = np.full(len(pick), "", dtype=object)
    for j in range(sub.shape[1]):
        k = order[:, j]
        on = sub[np.arange(len(pick)), k] > 0
        sep = np.where(names == "", "", ";")
        names = np.where(on, names + sep + codes_arr[k], names)
    df = pd.DataFrame({"segment_id": units["segment_id"].to_numpy()[pick],
                       "session_id": units["session_id"].to_numpy()[pick],
                       "score": np.round(score[pick], 6), "codes": names,
                       "text": units["text"].to_numpy()[pick]}, columns=NEXT_COLUMNS[1:])
    df = df.sort_values(["score", "segment_id"], ascending=[False, True], kind="mergesort")
    df.insert(0, "rank", np.arange(1, len(df) + 1))
    return df.reset_index(drop=True)
