"""Speaker roles: roster and participants sheets with roles, coding units by role,
codes that apply to a role (not applicable = missing), and the undefined statistics
of designs with one group or one speaker per role."""

from __future__ import annotations

import json

import krippendorff
import numpy as np
import pandas as pd
import pytest

from concord import agreement as ag
from concord import code as cd
from concord import concordance as cc
from concord import roles
from concord import segment as sg
from concord.numbers import Fragment
from concord.studyconfig import check_roster
from concord.tsvio import InputError

NAMES = ["Anna Kowalski", "Ben Miller", "Rita Osei"]


def sheet(rows, cols):
    return pd.DataFrame(rows, columns=cols).astype(str)


def config(**code):
    return {"sessions": "sessions.tsv", "participants": "participants.tsv",
            "deidentify": {"roster": "restricted/roster.tsv", "moderator_id": "MOD"},
            "code": code}


SESSIONS = sheet([["S1", "g"], ["S2", "g"]], ["session_id", "group"])


# ---------------------------------------------------------------- sheets

def test_a_participant_attends_several_sessions_under_one_id():
    parts = sheet([["P01", "S1", "g", "f"], ["P01", "S2", "g", "f"], ["P02", "S1", "g", "m"]],
                  ["participant_id", "session_id", "group", "gender"])
    roster = sheet([["P01", "S1", "Anna", "Anna Kowalski", ""],
                    ["P01", "S2", "Anna", "Anna Kowalski", ""],
                    ["P02", "S1", "Ben", "Ben Miller", ""],
                    ["MOD", "S1", "Moderator", "Rita Osei", ""],
                    ["MOD2", "S1", "Co-moderator", "Tom Hale", ""],
                    ["NOTE1", "S2", "Notes", "Ivy Lund", ""]],
                   ["participant_id", "session_id", "speaker_label", "full_name", "aliases"])
    check_roster(config(), roster, parts, SESSIONS)
    sr = roles.speaker_roles(parts, roster)
    assert sr[("S1", "P01")] == sr[("S2", "P01")] == "participant"
    assert sr[("S1", "MOD2")] == sr[("S2", "NOTE1")] == "facilitator"


def test_participant_attributes_must_agree_across_sessions():
    parts = sheet([["P01", "S1", "g", "f"], ["P01", "S2", "g", "m"]],
                  ["participant_id", "session_id", "group", "gender"])
    with pytest.raises(InputError, match=r"participants.tsv, line 3: participant P01 attends "
                                         r"several sessions, but column 'gender' differs from line 2"):
        roles.check_participants(parts, "participants.tsv")
    dup = sheet([["P01", "S1", "g"], ["P01", "S1", "g"]], ["participant_id", "session_id", "group"])
    with pytest.raises(InputError, match=r"line 3: participant P01 is listed twice for session S1"):
        roles.check_participants(dup, "participants.tsv")


@pytest.mark.parametrize("row, message", [
    (["P09", "S1", "X", "Ben Miller", "", ""], r"line 2: participant_id 'P09' is not in"),
    (["P01", "S2", "X", "Ben Miller", "", ""], r"line 2: participant P01 has no row for session"),
    (["P01", "S1", "X", "Ben Miller", "", "therapist"], r"line 2: role of P01 differs"),
    (["T1", "S1", "X", "Ben Miller", "", "participant"], r"speaker T1 has role 'participant', "
                                                          r"a coding-unit role"),
])
def test_roster_errors_name_file_and_line_never_a_name(row, message):
    parts = sheet([["P01", "S1", "g"]], ["participant_id", "session_id", "group"])
    roster = sheet([row, ["P01", "S1", "Anna", "Anna Kowalski", "", ""]],
                   ["participant_id", "session_id", "speaker_label", "full_name", "aliases",
                    "role"])
    if row[0] == "P01":
        roster = roster.iloc[:1]
    with pytest.raises(InputError, match=message) as err:
        check_roster(config(), roster, parts, SESSIONS)
    assert "restricted/roster.tsv" in str(err.value)
    assert not any(n.split()[0] in str(err.value) for n in NAMES)


def test_role_labels_are_not_identifiers():
    labels = roles.role_labels(config={"code": {"roles": ["therapist", "care_giver"]}})
    for label in ("Therapist", "CLIENT", "Client 2", "Moderator-1", "Interviewer", "care giver"):
        assert roles.is_role_label(label, labels), label
    for label in ("Anna", "Dr Okafor", "Therapy"):
        assert not roles.is_role_label(label, labels), label


# ---------------------------------------------------------------- segments

DYAD = "T1\tSo what brings you here today?\nC1\tI want to cut down. I drink too much.\n" \
       "T1\tYou want to cut down.\n"
DYAD_PARTS = sheet([["T1", "S1", "g", "therapist"], ["C1", "S1", "g", "client"]],
                   ["participant_id", "session_id", "group", "role"])


def dyad_segments():
    return sg.segment_text(DYAD, "S1", "g", DYAD_PARTS, roles={}, unit="sentence")


def test_segments_carry_the_speaker_role():
    seg = dyad_segments()
    assert list(seg.columns) == sg.SEGMENT_COLUMNS and sg.SEGMENT_COLUMNS[-1] == "role"
    assert list(seg["role"]) == ["therapist", "client", "client", "therapist"]
    assert list(seg["participant_id"]) == ["T1", "C1", "C1", "T1"]
    focus = sg.segment_text("MOD\tHello.\nMOD2\tAnd me.\nP01\tHi.\n", "S1", "g",
                            sheet([["P01", "S1", "g"]], ["participant_id", "session_id", "group"]),
                            roles={"MOD": "facilitator", "MOD2": "facilitator"})
    assert list(focus["role"]) == ["facilitator", "facilitator", "participant"]
    assert list(roles.is_unit(focus)) == [False, False, True]
    with pytest.raises(InputError, match=r"deid, line 1: speaker 'NOTE1' is not in"):
        sg.segment_text("NOTE1\tHi.\n", "S1", "g", DYAD_PARTS, roles={})


# ---------------------------------------------------------------- coding

BOOK = {"version": "1.0.0", "title": "MI", "categories": ["x"], "codes": [
    {"id": "QUESTION", "name": "Question", "category": "x", "definition": "d",
     "roles": ["therapist"], "patterns": {"regex": [r"\?"]}},
    {"id": "CHANGE", "name": "Change talk", "category": "x", "definition": "d",
     "roles": ["client"], "patterns": {"terms": ["cut"]}},
    {"id": "ANY", "name": "Any", "category": "x", "definition": "d",
     "patterns": {"terms": ["want"]}}]}
UNITS = ("client", "therapist")


def test_automatic_coder_applies_a_code_only_to_its_roles():
    seg = dyad_segments()
    compiled = cd.compile_codebook(BOOK)
    out = cd.code_segments(seg, compiled, units=UNITS, code_roles=roles.code_roles(BOOK))
    got = set(zip(out["segment_id"], out["code"]))
    # "You want to cut down." (therapist): ANY yes, CHANGE no (a client code)
    assert ("S1-T0003-S01", "CHANGE") not in got and ("S1-T0003-S01", "ANY") in got
    assert ("S1-T0002-S01", "CHANGE") in got and ("S1-T0001-S01", "QUESTION") in got
    only_clients = cd.code_segments(seg, compiled, units=("client",))
    assert set(only_clients["segment_id"]) <= {"S1-T0002-S01", "S1-T0002-S02"}


def test_coder_file_rows_are_checked_against_roles_and_na_is_missing():
    seg = dyad_segments()
    index = cd._segment_index(seg, ("client",))
    rows = pd.DataFrame([["S1-T0001-S01", "QUESTION"]], columns=["segment_id", "code"])
    with pytest.raises(InputError, match=r"a\.tsv, line 2: segment S1-T0001-S01 is a therapist "
                                         r"turn; only segments of the role\(s\) client are coded"):
        cd.check_coder_file(rows, "a.tsv", "C1", {"S1"}, index, {"QUESTION"}, units=("client",))
    index = cd._segment_index(seg, UNITS)
    rows = pd.DataFrame([["S1-T0002-S01", "QUESTION"]], columns=["segment_id", "code"])
    with pytest.raises(InputError, match=r"line 2: code QUESTION applies to therapist segments"):
        cd.check_coder_file(rows, "a.tsv", "C1", {"S1"}, index, {"QUESTION"},
                            {"QUESTION": ["therapist"]}, UNITS)
    na = []
    rows = pd.DataFrame([["S1-T0002-S01", "n/a", ""], ["S1-T0002-S02", "CHANGE", "N/A"],
                         ["S1-T0001-S01", "QUESTION", "1"], ["S1-T0003-S01", "QUESTION", "0"]],
                        columns=["segment_id", "code", "value"])
    kept, _ = cd.check_coder_file(rows, "a.tsv", "C1", {"S1"}, index,
                                  {"QUESTION", "CHANGE"}, {}, UNITS, na)
    assert list(kept["segment_id"]) == ["S1-T0001-S01"]
    assert na == [("S1-T0002-S01", "C1", "*"), ("S1-T0002-S02", "C1", "CHANGE")]


# ---------------------------------------------------------------- agreement

def restricted_study():
    """8 units: 4 therapist, 4 client segments; two coders code QUESTION (a therapist
    code) on therapist units 1 and 2 (C1) and unit 1 (C2); nobody applies it to a
    client unit."""
    seg = pd.DataFrame({
        "segment_id": [f"S1-T{i:04d}-S01" for i in range(1, 9)],
        "session_id": "S1", "speaker_id": ["T1"] * 4 + ["C1"] * 4,
        "participant_id": ["T1"] * 4 + ["C1"] * 4, "group": "g",
        "role": ["therapist"] * 4 + ["client"] * 4})
    codings = pd.DataFrame([["S1-T0001-S01", "C1", "QUESTION"], ["S1-T0002-S01", "C1", "QUESTION"],
                            ["S1-T0001-S01", "C2", "QUESTION"]],
                           columns=["segment_id", "coder", "code"])
    coverage = pd.DataFrame([["C1", "S1"], ["C2", "S1"]], columns=["coder", "session_id"])
    return seg, codings, coverage


def test_alpha_over_the_units_a_code_applies_to_equals_a_hand_computation():
    seg, codings, coverage = restricted_study()
    kw = dict(seed=1, bootstrap=0, ci=0.95, reliable=0.8, tentative=0.667, units=UNITS)
    res = ag.compute_agreement(codings, coverage, seg, ["QUESTION"],
                               code_roles={"QUESTION": ["therapist"]}, **kw)
    row = res.by_code.iloc[0]
    # Coincidences over the 4 therapist units, pairs (1,1) (1,0) (0,0) (0,0):
    # o11 = 2, o10 = o01 = 1, o00 = 4; n = 8, n1 = 3, n0 = 5;
    # alpha = 1 - (n - 1) o01 / (n0 n1) = 1 - 7 / 15 = 8 / 15.
    assert row["units"] == 4
    assert row["krippendorff_alpha"] == pytest.approx(8 / 15, abs=1e-12)
    # the same matrix built explicitly for the krippendorff package
    assert row["krippendorff_alpha"] == pytest.approx(krippendorff.alpha(
        reliability_data=[[1, 1, 0, 0], [1, 0, 0, 0]], level_of_measurement="nominal"))
    # counting the client turns as "absent" inflates it: 1 - 15 * 1 / (13 * 3) = 24 / 39
    flat = ag.compute_agreement(codings, coverage, seg, ["QUESTION"], **kw)
    assert flat.by_code.iloc[0]["units"] == 8
    assert flat.by_code.iloc[0]["krippendorff_alpha"] == pytest.approx(24 / 39, abs=1e-12)


def test_na_marks_are_missing_and_role_codes_mix_with_other_codes():
    seg, codings, coverage = restricted_study()
    codings = pd.concat([codings, pd.DataFrame(
        [["S1-T0005-S01", "C1", "ANY"], ["S1-T0005-S01", "C2", "ANY"],
         ["S1-T0001-S01", "C2", "ANY"]], columns=["segment_id", "coder", "code"])])
    na = pd.DataFrame([["S1-T0004-S01", "C2", "*"]], columns=["segment_id", "coder", "code"])
    res = ag.compute_agreement(codings, coverage, seg, ["ANY", "QUESTION"], seed=3,
                               bootstrap=200, ci=0.9, reliable=0.8, tentative=0.667,
                               units=UNITS, code_roles={"QUESTION": ["therapist"]},
                               not_applicable=na)
    bc = res.by_code.set_index("code")
    nan = np.nan
    # ANY on all 8 units; C2 marked unit 4 n/a -> missing for C2 on every code, so unit 4
    # has one rating and is not a unit of the human-human comparison (7 and 3 units left)
    any_ = [[0, 0, 0, 0, 1, 0, 0, 0], [1, 0, 0, nan, 1, 0, 0, 0]]
    q = [[1, 1, 0, 0], [1, 0, 0, nan]]
    for code, data, n in (("ANY", any_, 7), ("QUESTION", q, 3)):
        assert bc.loc[code, "units"] == n
        assert bc.loc[code, "krippendorff_alpha"] == pytest.approx(
            krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))
    # the bootstrap interval of a role-restricted code is computed on its own units
    assert bc.loc["QUESTION", "ci_low"] <= bc.loc["QUESTION", "krippendorff_alpha"]
    pooled = res.overall.set_index("measure").loc["pooled_alpha", "value"]
    stacked = np.hstack([np.array(any_, float), np.array(q, float)])
    assert pooled == pytest.approx(krippendorff.alpha(reliability_data=stacked,
                                                      level_of_measurement="nominal"))


# ---------------------------------------------------------------- concordance

def dyad_prevalence(groups):
    seg = pd.DataFrame({
        "segment_id": ["A-1", "A-2", "B-1", "B-2"], "session_id": ["A", "A", "B", "B"],
        "participant_id": ["T1", "C1", "T2", "C2"], "group": ["g", "g", "g", "g"],
        "role": ["therapist", "client", "therapist", "client"], "turn": ["1", "2", "1", "2"],
        "speaker_id": ["T1", "C1", "T2", "C2"]})
    parts = sheet([["T1", "A", "g", "therapist"], ["C1", "A", "g", "client"],
                   ["T2", "B", "g", "therapist"], ["C2", "B", "g", "client"]],
                  ["participant_id", "session_id", "group", "role"])
    codings = pd.DataFrame([["A-1", "QUESTION"], ["A-2", "CHANGE"], ["B-1", "QUESTION"]],
                           columns=["segment_id", "code"])
    code_roles = roles.code_roles(BOOK)
    pseg = cc.participant_segments(seg, parts, groups, units=UNITS)
    data = cc.group_data(codings, pseg, parts, groups, ["QUESTION", "CHANGE", "ANY"],
                         units=UNITS, code_roles=code_roles)
    prev, seg_ids = cc.prevalence(codings, pseg, parts, groups, ["QUESTION", "CHANGE", "ANY"],
                                  seed=1, bootstrap=50, ci=0.95, data=data)
    return prev, seg_ids, data


def test_prevalence_denominator_is_the_people_a_code_applies_to():
    groups = [{"id": "g", "label": "Dyads"}]
    prev, _, _ = dyad_prevalence(groups)
    p = prev.set_index("code")
    assert (p.loc["QUESTION", "participants_with"], p.loc["QUESTION", "participants"]) == (2, 2)
    assert (p.loc["CHANGE", "participants_with"], p.loc["CHANGE", "participants"]) == (1, 2)
    assert p.loc["ANY", "participants"] == 4
    assert p.loc["QUESTION", "segments"] == 2 and p.loc["ANY", "segments"] == 4


def test_one_group_registers_every_between_group_key_as_undefined(tmp_path):
    groups = [{"id": "g", "label": "Dyads"}]
    prev, seg_ids, data = dyad_prevalence(groups)
    codes = ["QUESTION", "CHANGE", "ANY"]
    paths = {k: str(tmp_path / f"{k}.tsv") for k in
             ("prevalence", "pairwise", "kendall_w", "categories", "category_differences",
              "code_tests")}
    pair = cc.pairwise(prev, groups, codes)
    w = cc.concordance_all(prev, groups, codes)
    idx = cc.draws(data, groups, 1, 50)
    shares, diffs = cc.category_shares(data, idx, groups, BOOK["codes"], ["x"], 0.95)
    tests = cc.code_tests(prev, groups, codes, seed=1, permutations=100)
    for name, df in (("prevalence", prev), ("pairwise", pair), ("kendall_w", w),
                     ("categories", shares), ("category_differences", diffs),
                     ("code_tests", tests)):
        df.to_csv(paths[name], sep="\t", index=False)
    frag = cc.fragment(prev, pair, seg_ids, groups, BOOK["codes"], "consensus", 0.95,
                       paths["prevalence"], paths["pairwise"], bootstrap=50)
    cc.add_results(frag, prev, pair, shares, diffs, w, tests, groups, BOOK["codes"], ["x"],
                   0.95, 0.05, paths, top=5)
    n = frag.numbers
    for key in ("pairwise.spearman.max", "pairwise.spearman.max.pair", "pairwise.spearman.min",
                "pairwise.spearman.min.pair", "pairwise.spearman.median",
                "concordance.kendall_w", "concordance.kendall_w.p", "category.contrast",
                "category.contrast.diff_ci"):
        assert n[key]["display"] == "undefined" and n[key]["value"] is None, key
        assert n[key]["undefined"], key
    assert "one group" in n["pairwise.spearman.max.pair"]["undefined"]
    assert n["concordance.top_k"]["value"] == 3
    json.dumps(frag.numbers)


def test_equal_prevalence_in_a_group_says_why_rho_is_undefined(tmp_path):
    groups = [{"id": "a", "label": "Group A"}, {"id": "b", "label": "Group B"}]
    prev = pd.DataFrame({"group": ["a"] * 3 + ["b"] * 3, "code": ["X", "Y", "Z"] * 2,
                         "share": [0.5, 0.5, 0.5, 0.2, 0.4, 0.9]})
    pair = cc.pairwise(prev, groups, ["X", "Y", "Z"])
    assert np.isnan(pair.loc[0, "spearman_rho"])
    assert pair.loc[0, "note"] == ("every code had the same prevalence in group Group A, so "
                                   "the codes cannot be ranked")
    path = tmp_path / "pairwise.tsv"
    pair.to_csv(path, sep="\t", index=False)
    frag = Fragment("t")
    reason = cc._no_pair_reason(pair, groups)
    frag.add("pairwise.spearman.max", None, "x", str(path), undefined=reason)
    assert "same prevalence in group Group A" in frag.numbers["pairwise.spearman.max"]["undefined"]


def test_a_group_whose_sessions_only_the_moderator_speaks_in(tmp_path):
    """Group b's only session is the moderator's alone: its enrolled participant never
    speaks, nothing is coded there. Every statistic involving b is undefined (or 0 of
    1), never an IndexError."""
    groups = [{"id": "a", "label": "Group A"}, {"id": "b", "label": "Group B"}]
    seg = pd.DataFrame({"segment_id": ["A-1", "A-2", "A-3", "A-4", "B-1"],
                        "session_id": ["A", "A", "A", "A", "B"],
                        "turn": ["1", "2", "3", "4", "1"],
                        "speaker_id": ["P1", "P2", "P1", "P2", "MOD"],
                        "participant_id": ["P1", "P2", "P1", "P2", ""],
                        "group": ["a", "a", "a", "a", "b"],
                        "role": ["participant"] * 4 + ["facilitator"]})
    parts = sheet([["P1", "A", "a"], ["P2", "A", "a"], ["P3", "B", "b"]],
                  ["participant_id", "session_id", "group"])
    codings = pd.DataFrame([["A-1", "X"], ["A-2", "Y"], ["A-3", "Z"], ["A-4", "X"], ["B-1", "X"]],
                           columns=["segment_id", "code"])
    book = [{"id": c, "name": c, "category": "k"} for c in ("X", "Y", "Z")]
    codes = ["X", "Y", "Z"]
    mine = cc.coder_codings(codings.assign(coder="consensus"), "consensus", seg, codes)
    assert "B-1" not in set(mine["segment_id"])          # the moderator's turn is no unit
    pseg = cc.participant_segments(seg, parts, groups)
    data = cc.group_data(mine, pseg, parts, groups, codes)
    idx = cc.draws(data, groups, 1, 50)
    prev, seg_ids = cc.prevalence(mine, pseg, parts, groups, codes, seed=1, bootstrap=50,
                                  ci=0.95, data=data, idx=idx)
    pair = cc.pairwise(prev, groups, codes, data=data, idx=idx)
    w = cc.concordance_all(prev, groups, codes)
    shares, diffs = cc.category_shares(data, idx, groups, book, ["k"], 0.95)
    tests = cc.code_tests(prev, groups, codes, seed=1, permutations=100)
    paths = {k: str(tmp_path / f"{k}.tsv") for k in
             ("prevalence", "pairwise", "kendall_w", "categories", "category_differences",
              "code_tests")}
    for name, df in (("prevalence", prev), ("pairwise", pair), ("kendall_w", w),
                     ("categories", shares), ("category_differences", diffs),
                     ("code_tests", tests)):
        df.to_csv(paths[name], sep="\t", index=False)
    frag = cc.fragment(prev, pair, seg_ids, groups, book, "consensus", 0.95,
                       paths["prevalence"], paths["pairwise"], bootstrap=50)
    cc.add_results(frag, prev, pair, shares, diffs, w, tests, groups, book, ["k"], 0.95, 0.05,
                   paths)
    n = frag.numbers
    assert n["prevalence.b.X"]["value"] == 0                 # 0 of 1 enrolled
    assert "same prevalence in group Group B" in n["pairwise.spearman.max"]["undefined"]
    assert "fewer than two groups have coded talk" in n["category.contrast"]["undefined"]
    assert n["category.share.b.k"]["undefined"] == "no code was applied in Group B"


def test_span_coder_files_may_mark_a_span_not_applicable():
    seg = dyad_segments()
    spans = pd.DataFrame([["S1", 3, 10, "N/A"], ["S1", 3, 10, "QUESTION"]],
                         columns=["session_id", "start", "end", "code"])
    mapped = cd.spans_to_segments(spans, seg, "s.tsv", 0.5, codes={"QUESTION"}, units=UNITS)
    na = []
    kept, _ = cd.check_coder_file(mapped, "s.tsv", "C1", {"S1"}, cd._segment_index(seg, UNITS),
                                  {"QUESTION"}, {}, UNITS, na)
    assert na == [("S1-T0001-S01", "C1", "*")]
    assert list(zip(kept["segment_id"], kept["code"])) == [("S1-T0001-S01", "QUESTION")]
