"""Exemplar quote selection on a hand-built study."""
import pandas as pd
import pytest

from concord import quotes as qt
from concord.tsvio import InputError

LONG = "this treatment gave me real hope that I will see my daughter graduate next year"


def seg(sid, pid, text, session="S1"):
    return {"segment_id": sid, "session_id": session, "turn": "1", "speaker_id": pid or "MOD",
            "participant_id": pid, "group": "g", "start": "0", "end": "1", "text": text}


@pytest.fixture
def study():
    segments = pd.DataFrame([
        seg("a1", "P1", LONG),                                # 2 of 2 humans
        seg("a2", "P1", LONG + " again"),                     # 2 of 2, same speaker
        seg("a3", "P2", LONG + " too"),                       # 1 of 2 humans
        seg("a4", "P3", "hope"),                              # too short
        seg("a5", "P4", "I have no hope left that this will work for me now"),  # negated
        seg("a6", "P5", "[NAME-1] gave me hope that I will see my daughter graduate"),
        seg("m1", "", LONG),                                  # moderator: never quoted
    ])
    cons = ["a1", "a2", "a3", "a4", "a5", "a6", "m1"]
    codings = pd.DataFrame(
        [{"segment_id": s, "coder": "consensus", "code": "HOPE"} for s in cons]
        + [{"segment_id": s, "coder": c, "code": "HOPE"}
           for s, cs in {"a1": "HK", "a2": "HK", "a3": "H", "a5": "HK", "a6": "HK"}.items()
           for c in cs])
    machine = pd.DataFrame([{"segment_id": s, "code": "HOPE", "evidence": "hope",
                             "negated": "true" if s == "a5" else "false"} for s in cons])
    coverage = pd.DataFrame({"coder": ["H", "K"], "session_id": ["S1", "S1"]})
    return segments, codings, machine, coverage


def pick(study, n, lo=8, hi=22):          # a1 has 15 words, the middle of 8..22
    return qt.exemplars(*study, [{"id": "g"}], ["HOPE"], "consensus", n, lo, hi)


def test_criteria_and_order(study):
    t = pick(study, 5)
    # a4 too short, a5 negated, m1 moderator; pass 1 one per speaker: a1 (P1, 2/2,
    # no placeholder), a6 (P5, 2/2, placeholder), a3 (P2, 1/2); pass 2: a2 (P1 again)
    assert t["segment_id"].tolist() == ["a1", "a6", "a3", "a2"]
    assert t["rank"].tolist() == [1, 2, 3, 4]
    assert t["participant_id"].tolist() == ["P1", "P5", "P2", "P1"]
    assert t["human_agreement"].tolist() == [1.0, 1.0, 0.5, 1.0]
    assert t.iloc[0]["text"] == LONG and t.iloc[0]["evidence"] == "hope"


def test_spread_across_participants_before_repeats(study):
    assert pick(study, 2)["segment_id"].tolist() == ["a1", "a6"]
    assert pick(study, 2, lo=1)["participant_id"].nunique() == 2


def test_deterministic_and_errors(study):
    pd.testing.assert_frame_equal(pick(study, 3), pick(study, 3))
    with pytest.raises(InputError, match="min_words"):
        pick(study, 2, lo=50, hi=10)


def test_fragment_table(study, tmp_path):
    from concord.tsvio import write_tsv
    t = pick(study, 2)
    path = tmp_path / "exemplars.tsv"
    write_tsv(t, path)
    frag = qt.fragment(t, [{"id": "g", "label": "G"}], [{"id": "HOPE", "name": "Hope"}],
                       str(path))
    e = frag.numbers["quote.HOPE.g.1"]
    assert e["segments"] == ["a1"] and e["source"]["lines"] == [2]
    assert e["display"] == f"“{LONG}” (P1, G, a1)"
    assert frag.tables["quotes"]["rows"] == [["Hope", {"num": "quote.HOPE.g.1"}]]


def test_manuscript_table_never_shows_one_quote_for_two_codes(tmp_path):
    """Two codes whose best exemplar is the same segment: the second code shows its
    next exemplar instead."""
    import pandas as pd
    from concord import quotes as Q
    table = pd.DataFrame([
        {"code": "A", "group": "g", "rank": 1, "segment_id": "S1-T0001-S01",
         "participant_id": "P1", "session_id": "S1", "words": 9, "human_agreement": 1.0,
         "evidence": "x", "text": "one shared sentence that carries both codes here"},
        {"code": "B", "group": "g", "rank": 1, "segment_id": "S1-T0001-S01",
         "participant_id": "P1", "session_id": "S1", "words": 9, "human_agreement": 1.0,
         "evidence": "y", "text": "one shared sentence that carries both codes here"},
        {"code": "B", "group": "g", "rank": 2, "segment_id": "S1-T0002-S01",
         "participant_id": "P2", "session_id": "S1", "words": 9, "human_agreement": 0.5,
         "evidence": "y", "text": "another sentence that carries only the second code"},
    ], columns=Q.COLUMNS)
    path = tmp_path / "exemplars.tsv"
    table.to_csv(path, sep="\t", index=False)
    frag = Q.fragment(table, [{"id": "g", "label": "G"}],
                      [{"id": "A", "name": "Code A"}, {"id": "B", "name": "Code B"}], str(path))
    rows = frag.tables["quotes"]["rows"]
    assert [r[1]["num"] for r in rows] == ["quote.A.g.1", "quote.B.g.2"]
