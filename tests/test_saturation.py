"""Saturation (Guest, Namey & Chen 2020) on hand-built cases with known answers."""
import math

import pandas as pd
import pytest

from concord import saturation as sat
from concord.tsvio import InputError

# base {A,B,C,D} = 4 codes; run 5-6 brings E (1/4 = 25 %); run 6-7 brings nothing
UNITS = [{"A", "B"}, {"A", "C"}, {"D"}, {"A"}, {"E"}, {"A"}, {"B"}, {"C"}]


def test_known_saturation_point():
    r = sat.assess(UNITS, base=4, run=2, threshold=0.05)
    assert r["base_codes"] == 4 and r["reached"]
    assert (r["run_start"], r["at"], r["new_in_run"], r["new_information"]) == (6, 7, 0, 0.0)


def test_threshold_and_run_length_change_the_answer():
    # 25 % new information is accepted at threshold 0.25: the first run (5-6) qualifies
    r = sat.assess(UNITS, base=4, run=2, threshold=0.25)
    assert (r["run_start"], r["at"]) == (5, 6)
    # a run of 3 starting at 6 (6, 7, 8) has nothing new; starting at 5 it has E
    r = sat.assess(UNITS, base=4, run=3, threshold=0.05)
    assert (r["run_start"], r["at"]) == (6, 8)


def test_not_reached_when_new_codes_keep_coming_or_too_few_units():
    r = sat.assess([{"A"}, {"B"}, {"C"}, {"D"}, {"E"}, {"F"}], base=4, run=2, threshold=0.05)
    assert not r["reached"] and math.isnan(r["at"]) and r["new_in_run"] == 2
    r = sat.assess(UNITS[:5], base=4, run=2, threshold=0.05)      # 5 < base + run
    assert not r["reached"] and r["base_codes"] == 4 and math.isnan(r["run_start"])
    with pytest.raises(InputError, match="threshold"):
        sat.assess(UNITS, 4, 2, 5.0)


def _study():
    # group g: two sessions, S2 held first (order 1); participants speak in turn order
    sessions = pd.DataFrame({"session_id": ["S1", "S2"], "group": ["g", "g"],
                             "order": ["2", "1"]})
    participants = pd.DataFrame({"participant_id": ["P1", "P2", "P3", "P4", "P5"],
                                 "session_id": ["S1", "S1", "S2", "S2", "S2"],
                                 "group": ["g"] * 5})
    segs = [("x1", "S2", "3", "P3"), ("x2", "S2", "1", "P4"), ("x3", "S1", "5", "P1"),
            ("x4", "S1", "2", "P2"), ("x5", "S2", "4", "P4")]
    segments = pd.DataFrame([{"segment_id": s, "session_id": ses, "turn": t,
                              "participant_id": p, "group": "g"} for s, ses, t, p in segs])
    codings = pd.DataFrame({"segment_id": ["x1", "x2", "x3", "x4", "x5"],
                            "code": ["A", "B", "C", "A", "D"]})
    return segments, codings, sessions, participants


def test_units_in_the_order_held():
    segments, codings, sessions, participants = _study()
    us = sat.units(segments, codings, sessions, participants, "g", use_sessions=False)
    # S2 first (order 1): P4 speaks at turn 1, P3 at 3, P5 never (last); then S1: P2, P1
    assert [u["unit"] for u in us] == ["P4", "P3", "P5", "P2", "P1"]
    assert [u["codes"] for u in us] == [{"B", "D"}, {"A"}, set(), {"A"}, {"C"}]
    us = sat.units(segments, codings, sessions, participants, "g", use_sessions=True)
    assert [(u["unit"], u["codes"]) for u in us] == [("S2", {"A", "B", "D"}), ("S1", {"A", "C"})]


def test_curve_and_summary_tables(tmp_path):
    segments, codings, sessions, participants = _study()
    curve, summary = sat.saturation(segments, codings, sessions, participants,
                                    [{"id": "g", "label": "G"}], base=2, run=2, threshold=0.0)
    # 2 sessions < base + run: participants are the units
    assert summary.iloc[0]["unit_type"] == "participant"
    assert curve["new_codes"].tolist() == [2, 1, 0, 0, 1]
    assert curve["cumulative_codes"].tolist() == [2, 3, 3, 3, 4]
    assert curve["cumulative_share"].iloc[-1] == 1.0
    s = summary.iloc[0]
    assert s["base_codes"] == 3 and s["reached"] and (s["run_start"], s["at"]) == (3, 4)
    sat.figure(curve, summary, [{"id": "g", "label": "G"}], tmp_path / "a.png")
    sat.figure(curve, summary, [{"id": "g", "label": "G"}], tmp_path / "b.png")
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
