"""The learned coder (concord.learned): calibration, folds by session, codes with too
few examples, agreement with the humans, the "code these next" list, the rule end to
end on the mini study, and (when its file is given) a real human-coded corpus."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from concord import code, refiqda
from concord.learned import model as lm
from concord.learned import stage
from concord.tsvio import InputError
from conftest import make_study, run_script, snakemake

REPO = Path(__file__).resolve().parents[1]


def test_platt_recovers_a_known_map():
    rng = np.random.default_rng(1)
    s = rng.normal(size=40_000)
    y = rng.random(40_000) < 1 / (1 + np.exp(-(2.0 * s - 1.0)))
    a, b = lm.platt(s, y)
    assert a == pytest.approx(2.0, abs=0.08) and b == pytest.approx(-1.0, abs=0.05)
    assert lm.platt(s, np.zeros_like(y)) is None


def test_best_threshold_maximises_f1():
    p = np.array([0.9, 0.8, 0.7, 0.4, 0.3, 0.1])
    y = np.array([1, 1, 0, 1, 0, 0])
    # t=0.8: F1 = 2*2/(2+3) = 0.8; t=0.4: 2*3/(4+3) = 0.857 (best); t=0.9: 0.5;
    # halfway down to the next lower value, 0.3
    assert lm.best_threshold(p, y) == pytest.approx(0.35)
    assert lm.best_threshold(np.array([0.9, 0.2]), np.array([1, 1])) == 0.2
    assert lm.best_threshold(p, np.zeros(6)) == 0.5


def test_folds_never_split_a_session_and_are_deterministic():
    groups = np.repeat([f"S{i}" for i in range(7)], [5, 9, 3, 12, 4, 8, 6])
    f1, f2 = lm.session_folds(groups, 5), lm.session_folds(groups, 5)
    assert np.array_equal(f1, f2) and set(f1) == set(range(5))
    for g in set(groups):
        assert len(set(f1[groups == g])) == 1
    assert (lm.session_folds(np.array(["S1"] * 4), 5) == -1).all()


def test_out_of_fold_scores_never_see_their_own_session():
    # features: one indicator per session, the label constant within a session. A model
    # that saw the held-out session would score it perfectly; one that did not can only
    # give every unit of that session the same probability.
    groups = np.repeat(np.arange(6), 10)
    x = np.eye(6)[groups]
    y = (groups % 2 == 0).astype(float)
    fold = lm.session_folds(groups, 3)
    r = lm.code_model(x, y, fold, x, seed=0)
    for g in range(6):
        assert np.ptp(r["oof_prob"][groups == g]) < 1e-12


WORDS = ("table window garden river coffee paper light music road chair stone cloud "
         "letter morning basket pencil mirror ticket").split()


def toy_study(n_sessions=6, per=40, covered=None, seed=3):
    """Units with filler words; PAIN when the unit says 'pain' or 'hurts', RARE on 3 units."""
    rng = np.random.default_rng(seed)
    rows, truth = [], []
    for s in range(n_sessions):
        for u in range(per):
            words = list(rng.choice(WORDS, size=6))
            if rng.random() < 0.3:
                words.insert(int(rng.integers(0, 6)), str(rng.choice(["pain", "hurts"])))
                truth.append((f"S{s}-{u:03d}", "PAIN"))
            sid = f"S{s}-{u:03d}"
            rows.append((sid, f"S{s}", " ".join(words)))
    units = pd.DataFrame(rows, columns=["segment_id", "session_id", "text"])
    truth += [(units["segment_id"].iat[i], "RARE") for i in (5, 50, 95)]
    covered = list(range(n_sessions)) if covered is None else covered
    cov_sessions = [f"S{s}" for s in covered]
    t = pd.DataFrame(truth, columns=["segment_id", "code"])
    t = t[t["segment_id"].str.split("-").str[0].isin(cov_sessions)]
    flip = t.iloc[::9]  # C2 misses every ninth code
    codings = pd.concat([t.assign(coder="C1"), t.drop(flip.index).assign(coder="C2"),
                         t.assign(coder="consensus"),
                         t[t["code"] == "RARE"].assign(coder="machine")], ignore_index=True)
    coverage = pd.DataFrame([(c, s) for c in ("C1", "C2", "consensus") for s in cov_sessions]
                            + [("machine", f"S{s}") for s in range(n_sessions)],
                            columns=["coder", "session_id"])
    book = {"codes": [{"id": "PAIN", "name": "Pain", "definition": "pain that hurts",
                       "examples": ["it hurts", "the pain"]},
                      {"id": "RARE", "name": "Rare"}]}
    return units, codings, coverage, book


def test_learns_a_code_and_reports_one_with_too_few_examples():
    units, codings, coverage, book = toy_study()
    res = stage.learn(units, codings, coverage, book, folds=3, min_positive=10, seed=1)
    assert res.status == {"PAIN": "coded", "RARE": "too_few"}
    table = stage.code_table(res, 0.8, 10).set_index("code")
    assert table.loc["PAIN", "f1"] > 0.85
    assert "too few positive examples (3 < 10" in table.loc["RARE", "note"]
    assert np.isnan(res.prob[:, 1]).all()
    agree = stage.agreement_table(res, codings, coverage, 1, 200, 0.95, 0.8, 0.667)
    pairs = set(zip(agree["rater"], agree["reference"]))
    assert {("human", "human"), ("learned", "C1"), ("learned", "C2"),
            ("learned", "consensus"), ("machine", "consensus")} <= pairs
    a = agree.set_index(["rater", "reference", "code"])
    assert a.loc[("learned", "consensus", "PAIN"), "krippendorff_alpha"] > 0.8
    assert a.loc[("learned", "consensus", "PAIN"), "ci_low"] <= \
        a.loc[("learned", "consensus", "PAIN"), "krippendorff_alpha"]
    assert np.isnan(a.loc[("learned", "consensus", "RARE"), "krippendorff_alpha"])
    assert a.loc[("learned", "consensus", "RARE"), "note"].startswith("not coded")
    coded = stage.learned_codings(res, 0.8)
    assert set(coded["code"]) == {"PAIN"} and set(coded["coder"]) == {"learned"}


def test_reruns_are_identical():
    units, codings, coverage, book = toy_study()
    runs = [stage.learn(units, codings, coverage, book, folds=3, seed=7) for _ in range(2)]
    assert np.array_equal(runs[0].prob, runs[1].prob, equal_nan=True)
    assert np.array_equal(runs[0].oof, runs[1].oof, equal_nan=True)
    pd.testing.assert_frame_equal(stage.learned_codings(runs[0], 0.8),
                                  stage.learned_codings(runs[1], 0.8))


def test_codebook_examples_are_training_examples():
    units, codings, coverage, book = toy_study()
    with_ex = stage.learn(units, codings, coverage, book, folds=3)
    without = stage.learn(units, codings, coverage, book, folds=3, use_codebook=False)
    assert not np.array_equal(with_ex.prob[:, 0], without.prob[:, 0])


def test_next_list_ranks_the_units_no_person_coded():
    units, codings, coverage, book = toy_study(covered=[0, 1, 2, 3])
    res = stage.learn(units, codings, coverage, book, folds=2, min_positive=10)
    agree = stage.agreement_table(res, codings, coverage, 1, 50, 0.95, 0.8, 0.667)
    machine = codings[codings["coder"] == "machine"][["segment_id", "code"]]
    nxt = stage.next_list(res, agree, machine, 0.99)
    assert len(nxt) and set(nxt["session_id"]) <= {"S4", "S5"}
    assert list(nxt["rank"]) == list(range(1, len(nxt) + 1))
    assert nxt["score"].is_monotonic_decreasing
    # the rare code's keyword hit in an uncoded session is on the list
    rare_unit = units["segment_id"].iat[95]
    assert rare_unit.startswith("S2")  # covered: not a candidate
    assert not (nxt["segment_id"] == rare_unit).any()


def test_learned_is_a_reserved_coder_name():
    sheet = pd.DataFrame({"coder": ["learned"], "session_id": ["S0"], "path": ["x.tsv"]})
    segs = pd.DataFrame({"segment_id": ["S0-T0001-S01"], "session_id": ["S0"],
                         "participant_id": ["P01"], "speaker_id": ["P01"],
                         "start": [0], "end": [5]})
    with pytest.raises(InputError, match="reserved"):
        code.combine_codings(pd.DataFrame(columns=["segment_id", "code"]), segs, sheet, {},
                             ["A"], sessions=["S0"])


def test_rule_on_the_mini_study(mini_run, tmp_path, monkeypatch):
    """The workflow's own outputs (every code too rare to learn from two short sessions),
    then the rule's script on the same inputs with min_positive 2: a coded study,
    a ranked list and a valid REFI-QDA project marking its top units."""
    out = mini_run / "results" / "learned"
    ev = pd.read_csv(out / "evaluation.tsv", sep="\t", keep_default_na=False)
    assert set(ev["status"]) == {"too_few"}
    nums = json.loads((out / "numbers.json").read_text())["numbers"]
    assert nums["learned.mean_alpha"]["display"] == "undefined"
    assert nums["learned.prevalence_coder"]["value"] is False
    assert zipfile.ZipFile(out / "next.qdpx").testzip() is None

    res = mini_run / "results"
    segs = sorted(str(p) for p in (res / "segments").glob("M*.tsv"))
    outputs = {k: str(tmp_path / f"{k}.out") for k in
               ("codings", "evaluation", "agreement", "next", "numbers")}
    outputs.update(qdpx=str(tmp_path / "next.qdpx"), forest=str(tmp_path / "forest.png"))
    learn_cfg = {"model": "tfidf", "target": "consensus", "folds": 5, "min_positive": 2,
                 "confidence": 0.99, "C": [0.25, 1.0, 4.0], "codebook_examples": True,
                 "seed": 1, "next": 3, "context_weight": 0.5, "max_rows": 10000,
                 "inner_folds": 2, "batch_sessions": 1, "solver": "liblinear"}
    run_script("learn.py", monkeypatch,
               input={"codings": str(res / "coding" / "codings.tsv"),
                      "coverage": str(res / "coding" / "coverage.tsv"), "segments": segs,
                      "deid": sorted(str(p) for p in (res / "deid").glob("M*.txt")),
                      "codebook": str(mini_run / "codebook.yaml")},
               output=outputs, log={"log": str(tmp_path / "learn.log")},
               params={"learn": learn_cfg, "unit_roles": ["participant"], "code_roles": {},
                       "agreement": {"seed": 1, "bootstrap": 50, "ci": 0.95,
                                     "thresholds": {"reliable": 0.8, "tentative": 0.667}},
                       "prevalence_coder": "consensus", "study_id": "mini", "title": "Mini"})
    ev = pd.read_csv(outputs["evaluation"], sep="\t", keep_default_na=False)
    assert "coded" in set(ev["status"])
    nxt = pd.read_csv(outputs["next"], sep="\t", keep_default_na=False)
    data = Path(outputs["qdpx"]).read_bytes()
    with zipfile.ZipFile(outputs["qdpx"]) as zf:
        assert refiqda.validate(zf.read("project.qde"), "project") == []
    _, texts, spans = refiqda.read_qdpx(data)
    assert set(spans["code"]) <= {"CODE_NEXT"} and len(spans) == min(3, len(nxt))


@pytest.mark.workflow
def test_concordance_counts_the_learned_coder_only_when_asked(tmp_path):
    import yaml
    work = make_study(tmp_path / "mini")
    cfg_path = work / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    cfg["concordance"]["coder"] = "learned"
    cfg["learn"] = {"min_positive": 2}
    cfg["manuscript"]["formats"] = ["html"]
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    snakemake(work, "results/concordance/prevalence.tsv", "results/learned/numbers.json")
    nums = json.loads((work / "results/learned/numbers.json").read_text())["numbers"]
    assert nums["learned.prevalence_coder"]["value"] is True
    both = pd.read_csv(work / "results/learned/all_codings.tsv", sep="\t")
    assert {"learned", "consensus"} <= set(both["coder"])
    cons = both[both["coder"] == "consensus"]
    orig = pd.read_csv(work / "results/coding/codings.tsv", sep="\t")
    assert len(cons) == (orig["coder"] == "consensus").sum()  # consensus untouched
    conc = json.loads((work / "results/concordance/numbers.json").read_text())["numbers"]
    assert conc["concordance.coder"]["value"] == "learned"


ANNOMI = os.environ.get("CONCORD_ANNOMI", "")


@pytest.mark.skipif(not Path(ANNOMI).is_file(),
                    reason="set CONCORD_ANNOMI to AnnoMI-full.csv (github.com/uccollab/AnnoMI)"
                           " to test on real expert-coded counselling transcripts")
def test_real_expert_coded_transcripts():
    import sys
    sys.path.insert(0, str(REPO / "benchmarks"))
    from learned_bench import load_annomi
    units, codings, coverage, book, texts, _ = load_annomi(Path(ANNOMI))
    book = {"codes": [c for c in book["codes"] if c["id"] in ("QUESTION", "REFLECTION")]}
    res = stage.learn(units, codings, coverage, book, folds=5, texts=texts,
                      c=(0.25, 1.0, 4.0), max_rows=10000)
    agree = stage.agreement_table(res, codings, coverage, 1, 0, 0.95, 0.8, 0.667)
    a = agree.set_index(["rater", "reference", "code"])["krippendorff_alpha"]
    assert a[("learned", "consensus", "QUESTION")] > 0.75
    assert a[("learned", "consensus", "REFLECTION")] > 0.45
