"""The learned coder's model (session 20): context of the turn before, nested choice of C,
capped training rows, per-code roles, coding in batches."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import sparse

from concord.learned import model as lm
from concord.learned import stage
from test_learned import toy_study


def segments_frame(rows):
    """(session, turn, speaker, role, text) -> a segments table with segment IDs."""
    out, k = [], {}
    for sess, turn, spk, role, text in rows:
        k[(sess, turn)] = k.get((sess, turn), 0) + 1
        out.append((f"{sess}-T{turn:04d}-S{k[(sess, turn)]:02d}", sess, turn, spk, role, text))
    return pd.DataFrame(out, columns=["segment_id", "session_id", "turn", "speaker_id", "role",
                                      "text"])


SEGS = segments_frame([
    ("S1", 1, "MOD", "facilitator", "What helped you most?"),
    ("S1", 1, "MOD", "facilitator", "Anyone?"),
    ("S1", 2, "P1", "participant", "My sister helped."),
    ("S1", 2, "P1", "participant", "She drove me."),
    ("S1", 3, "P1", "participant", "Every week."),       # same speaker again: same context
    ("S1", 4, "P2", "participant", "For me the nurse."),
    ("S2", 1, "P3", "participant", "I start."),          # first turn of a session: none
    ("S2", 2, "MOD", "facilitator", "Thank you."),
    ("S2", 3, "P3", "participant", "Welcome."),
])


def context_texts(texts, i):
    return [texts.texts[j] for j in texts.context[i].indices]


def test_context_is_the_turn_before_by_another_speaker():
    units = stage.coding_units(SEGS, ("participant",))
    assert list(units.columns) == ["segment_id", "session_id", "text", "role"]
    t = stage.unit_texts(SEGS, units)
    got = {u: context_texts(t, i) for i, u in enumerate(units["text"])}
    assert got == {
        "My sister helped.": ["What helped you most?", "Anyone?"],
        "She drove me.": ["What helped you most?", "Anyone?"],
        "Every week.": ["What helped you most?", "Anyone?"],
        "For me the nurse.": ["Every week."],               # P1's last turn
        "I start.": [],
        "Welcome.": ["Thank you."],
    }
    assert [t.texts[r] for r in t.unit_rows] == list(units["text"])


def test_plain_texts_have_no_context():
    units = stage.coding_units(SEGS, ("participant",))
    t = stage.plain_texts(units)
    assert t.context.nnz == 0 and t.texts == list(units["text"])


def test_l2_rows():
    x = sparse.csr_matrix(np.array([[3.0, 4.0], [0.0, 0.0], [0.0, 2.0]]))
    got = lm.l2_rows(x).toarray()
    assert np.allclose(got, [[0.6, 0.8], [0, 0], [0, 1]])


def test_unit_features_add_the_context_and_its_cosine():
    seg_x = sparse.csr_matrix(np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0],
                                        [0.0, 0.0, 1.0]], dtype=np.float32))
    ctx = sparse.csr_matrix(np.array([[1, 1, 0, 0], [0, 0, 0, 0]], dtype=np.float32))
    x = lm.unit_features(seg_x, [2, 3], ctx, context_weight=0.5).toarray()
    assert x.shape == (2, 3 + 3 + 2)
    assert np.allclose(x[0, :3], [1, 1, 0])                           # own features
    assert np.allclose(x[0, 3:6], 0.5 * np.array([1, 1, 0]) / np.sqrt(2))
    assert x[0, 6] == pytest.approx(1.0)                              # same direction
    assert x[0, 7] == 1 and x[1, 7] == 0                              # has context
    assert np.allclose(x[1, 3:7], 0)
    assert lm.unit_features(seg_x, [2, 3], None).shape == (2, 3)


def test_sample_rows_keeps_every_positive_and_is_seeded():
    y = np.r_[np.ones(30), np.zeros(970)]
    assert np.array_equal(lm.sample_rows(y, 2000, 1), np.arange(1000))
    assert np.array_equal(lm.sample_rows(y, None, 1), np.arange(1000))
    r = lm.sample_rows(y, 200, 1)
    assert len(r) == 200 and set(range(30)) <= set(r) and np.all(np.diff(r) > 0)
    assert np.array_equal(r, lm.sample_rows(y, 200, 1))
    assert not np.array_equal(r, lm.sample_rows(y, 200, 2))
    many = np.r_[np.ones(500), np.zeros(500)]
    r = lm.sample_rows(many, 200, 1)
    assert many[r].sum() == 100 and len(r) == 200


def test_best_f1_equals_brute_force():
    rng = np.random.default_rng(5)
    s = np.round(rng.normal(size=60), 1)           # ties
    y = (rng.random(60) < 0.3).astype(float)
    brute = max(2 * ((s >= t) & (y == 1)).sum() / ((s >= t).sum() + y.sum()) for t in s)
    assert lm.best_f1(s, y) == pytest.approx(brute)
    t = lm.best_threshold(s, y)
    assert 2 * ((s >= t) & (y == 1)).sum() / ((s >= t).sum() + y.sum()) == pytest.approx(brute)
    assert lm.best_f1(s, np.zeros(60)) == 0.0


def test_inner_folds_leave_out_the_held_out_fold_whole():
    fold = np.repeat([0, 1, 2, 3, 4], 3)
    inner = lm.inner_folds(fold, 2, 2)
    assert (inner[fold == 2] == -1).all()
    for f in (0, 1, 3, 4):                      # whole folds, so whole sessions
        assert len(set(inner[fold == f])) == 1
    assert set(inner[fold != 2]) == {0, 1}
    assert (lm.inner_folds(np.array([0, 0, 1, 1]), 0, 2) == -1).all()   # one fold left


def test_the_held_out_fold_never_chooses_its_own_c():
    units, codings, coverage, book = toy_study(n_sessions=8, per=30)
    x, _ = lm.featurize(units["text"].tolist())
    y = units["segment_id"].isin(codings.loc[codings["code"] == "PAIN", "segment_id"]) \
        .to_numpy(dtype=float)
    fold = lm.session_folds(units["session_id"].to_numpy(), 4)
    grid = (0.01, 1.0, 100.0)
    r = lm.code_model(x, y, fold, None, seed=0, c=grid)
    assert set(r["fold_C"]) == {0, 1, 2, 3} and set(r["fold_C"].values()) <= set(grid)
    for f in range(4):                          # scramble fold f's labels: its C stays
        y2 = y.copy()
        y2[fold == f] = np.random.default_rng(f).permutation(y2[fold == f][::-1])
        y2[fold == f] = 1 - y2[fold == f]
        assert lm.code_model(x, y2, fold, None, seed=0, c=grid)["fold_C"][f] == r["fold_C"][f]
    one = lm.code_model(x, y, fold, None, seed=0, c=1.0)
    assert one["C"] == 1.0 and set(one["fold_C"].values()) == {1.0}


def test_choose_c_prefers_the_grid_value_that_separates_better():
    # feature 0 carries the label, 200 noise features mislead a weakly regularised model
    rng = np.random.default_rng(0)
    n = 400
    y = (rng.random(n) < 0.3).astype(float)
    x = np.hstack([(y + rng.normal(0, 0.7, n))[:, None], rng.normal(0, 1, (n, 200))])
    inner = np.repeat([0, 1], n // 2)
    c = lm.choose_c(sparse.csr_matrix(x), y, inner, (1e-3, 1e3))
    assert c == 1e-3
    assert lm.choose_c(sparse.csr_matrix(x), y, np.full(n, -1), (0.5, 1.0, 2.0)) == 1.0


def roles_study():
    """Toy study with a second role: CARE applies to caregivers only."""
    units, codings, coverage, book = toy_study(n_sessions=6, per=40)
    role = np.where(np.arange(len(units)) % 3 == 0, "caregiver", "participant")
    units = units.assign(role=role)
    care = units[(role == "caregiver") & units["text"].str.contains("pain|hurts")]
    extra = pd.concat([care[["segment_id"]].assign(code="CARE", coder=c)
                       for c in ("C1", "C2", "consensus")])
    codings = pd.concat([codings, extra], ignore_index=True)
    book = {"codes": book["codes"] + [{"id": "CARE", "name": "Care", "roles": ["caregiver"]}]}
    return units, codings, coverage, book


def test_a_code_not_applicable_to_a_role_is_missing_not_absent():
    units, codings, coverage, book = roles_study()
    roles_of = {"CARE": ("caregiver",)}
    res = stage.learn(units, codings, coverage, book, folds=3, min_positive=5, seed=1,
                      code_roles=roles_of)
    k = res.codes.index("CARE")
    care = (units["role"] == "caregiver").to_numpy()
    assert res.status["CARE"] == "coded"
    assert np.isnan(res.prob[~care, k]).all() and not np.isnan(res.prob[care, k]).any()
    assert np.isnan(res.labels[~care[res.train], k]).all()
    assert not res.oof_pred[~care[res.train], k].any()
    coded = stage.learned_codings(res, 0.8)
    assert set(coded.loc[coded["code"] == "CARE", "segment_id"]) <= \
        set(units.loc[care, "segment_id"])
    table = stage.code_table(res, 0.8, 5).set_index("code")
    assert table.loc["CARE", "positives"] == res.positives["CARE"] > 0
    agree = stage.agreement_table(res, codings, coverage, 1, 0, 0.95, 0.8, 0.667)
    a = agree.set_index(["rater", "reference", "code"])
    # alpha on the caregivers' units only: the same as a study of those units alone
    only = units[care].reset_index(drop=True)
    res2 = stage.learn(only, codings, coverage, book, folds=3, min_positive=5, seed=1)
    # without roles the code is absent on participants' units, which inflates agreement
    res3 = stage.learn(units, codings, coverage, book, folds=3, min_positive=5, seed=1)
    a3 = stage.agreement_table(res3, codings, coverage, 1, 0, 0.95, 0.8, 0.667) \
        .set_index(["rater", "reference", "code"])
    assert a.loc[("human", "human", "CARE"), "units"] == care[res.train].sum()
    assert a3.loc[("human", "human", "CARE"), "units"] == res.train.sum()
    assert res2.positives["CARE"] == res.positives["CARE"]


def test_batches_follow_sessions_and_give_the_same_codes():
    s = np.array(["A", "A", "B", "C", "C", "C", "D"])
    got = stage.batches(s, 2)
    assert [list(b) for b in got] == [[0, 1, 2], [3, 4, 5, 6]]
    assert [list(b) for b in stage.batches(s, 1)] == [[0, 1], [2], [3, 4, 5], [6]]
    units = stage.coding_units(SEGS, ("participant",))
    units, codings, coverage, book = toy_study()
    one = stage.learn(units, codings, coverage, book, folds=3, seed=2, batch_sessions=1)
    all_ = stage.learn(units, codings, coverage, book, folds=3, seed=2, batch_sessions=100)
    assert np.array_equal(one.prob, all_.prob, equal_nan=True)


def test_context_and_grid_rerun_identically():
    rows, pain = [], []
    rng = np.random.default_rng(4)
    for s, t in itertools.product(range(6), range(20)):
        q = rng.random() < 0.5
        rows.append((f"S{s}", 2 * t + 1, "MOD", "facilitator",
                     "does it hurts much?" if q else "tell us about your week"))
        rows.append((f"S{s}", 2 * t + 2, "P1", "participant", "yes, a lot"))
        pain.append(q)
    segs = segments_frame(rows)
    units = stage.coding_units(segs, ("participant",))
    # the code is only recognisable from the question before the answer
    pos = units[np.array(pain)]            # units are in the order written
    codings = pd.concat([pos[["segment_id"]].assign(code="PAIN", coder=c)
                         for c in ("C1", "consensus")])
    coverage = pd.DataFrame([(c, f"S{s}") for c in ("C1", "consensus") for s in range(6)],
                            columns=["coder", "session_id"])
    book = {"codes": [{"id": "PAIN", "name": "Pain"}]}
    texts = stage.unit_texts(segs, units)
    kw = dict(folds=3, seed=3, c=(0.25, 1.0, 4.0), texts=texts, use_codebook=False)
    a = stage.learn(units, codings, coverage, book, **kw)
    b = stage.learn(units, codings, coverage, book, **kw)
    assert np.array_equal(a.prob, b.prob, equal_nan=True) and a.C == b.C
    table = stage.code_table(a, 0.8, 10).set_index("code")
    assert table.loc["PAIN", "f1"] == 1.0       # learnt from the context alone
    own = stage.learn(units, codings, coverage, book, **dict(kw, context_weight=0.0))
    assert stage.code_table(own, 0.8, 10).set_index("code").loc["PAIN", "f1"] < 1.0


def test_next_list_names_the_codes_by_their_share_of_the_score():
    units, codings, coverage, book = toy_study(covered=[0, 1, 2, 3])
    book = {"codes": book["codes"] + [{"id": "ACHE", "name": "Ache"}]}
    extra = codings[codings["code"] == "PAIN"].iloc[::2].assign(code="ACHE")
    codings = pd.concat([codings, extra], ignore_index=True)
    res = stage.learn(units, codings, coverage, book, folds=2, min_positive=5)
    agree = stage.agreement_table(res, codings, coverage, 1, 0, 0.95, 0.8, 0.667)
    machine = codings[codings["coder"] == "machine"][["segment_id", "code"]]
    nxt = stage.next_list(res, agree, machine, 0.99).set_index("segment_id")
    alpha = agree[(agree["rater"] == "learned") & (agree["reference"] == "consensus")] \
        .set_index("code")["krippendorff_alpha"]
    seen = 0
    for i, sid in enumerate(units["segment_id"]):       # brute force, unit by unit
        if res.train[i]:
            continue
        part = {}
        for k, c in enumerate(res.codes):
            p = res.prob[i, k]
            if res.status[c] == "coded" and max(p, 1 - p) < 0.99:
                a = alpha.get(c, np.nan)
                part[c] = (1 - abs(2 * p - 1)) * (1 if np.isnan(a) else 1 - max(a, 0))
            elif res.status[c] == "too_few" and ((machine["segment_id"] == sid)
                                                 & (machine["code"] == c)).any():
                part[c] = 1.0
        part = {c: v for c, v in part.items() if v > 0}
        if not part:
            assert sid not in nxt.index
            continue
        seen += 1
        assert nxt.loc[sid, "score"] == pytest.approx(sum(part.values()), abs=1e-6)
        order = sorted(part, key=lambda c: (-part[c], res.codes.index(c)))
        assert nxt.loc[sid, "codes"] == ";".join(order)
    assert seen == len(nxt) > 0
