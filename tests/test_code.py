"""Unit tests for concord.code: the automatic coder and combine_codings."""

import pandas as pd
import pytest

from concord import code
from concord.tsvio import InputError

CUES = ["no", "not", "never", "n't", "without", "nothing", "none", "nor"]

BOOK = {
    "version": "1.0.0",
    "codes": [
        {"id": "HOPE", "patterns": {"terms": ["hope", "hopeful"], "exclude": ["hope so"]}},
        {"id": "SIDE", "patterns": {"terms": ["side-effect", "nausea"],
                                    "phrases": ["daily life"], "negation": "skip"}},
        {"id": "MILESTONE", "patterns": {"phrases": ["see my grandchildren"],
                                         "regex": [r"\bmilestones?\b"]}},
    ],
}


def segs(*rows):
    """rows: (segment_id, speaker_id, text); session A1."""
    return pd.DataFrame([{"segment_id": s, "session_id": s.split("-")[0], "speaker_id": sp,
                          "participant_id": "" if sp == "MOD" else sp, "text": t}
                         for s, sp, t in rows])


def run(*texts, book=BOOK, window=3):
    df = segs(*[(f"A1-T{i + 1:04d}-S01", "P01", t) for i, t in enumerate(texts)])
    return code.code_segments(df, code.compile_codebook(book), "MOD", window, CUES)


def test_tokenizer_splits_contractions():
    text = "I don't think so; we can't, cannot and won’t. I'm hopeful"
    toks = [text[a:b] for a, b in code.tokenize(text)]
    assert toks == ["I", "do", "n't", "think", "so", "we", "ca", "n't", "can", "not", "and",
                    "wo", "n’t", "I", "'m", "hopeful"]


def test_term_matches_on_stems_with_surface_evidence():
    out = run("We stay Hopeful about it.")
    assert out.to_dict("records") == [{"segment_id": "A1-T0001-S01", "code": "HOPE",
                                       "evidence": "Hopeful", "rule": "term:hope",
                                       "negated": False}]


def test_phrase_on_stems_and_regex_case_insensitive():
    out = run("I just want to be seeing my grandchildren grow.", "Reaching MILESTONES matters.")
    assert list(out["rule"]) == ["phrase:see my grandchildren", r"regex:\bmilestones?\b"]
    assert list(out["evidence"]) == ["seeing my grandchildren", "MILESTONES"]


def test_multiword_term_is_a_phrase():
    out = run("The side effects were rough.")
    assert out.loc[0, "code"] == "SIDE" and out.loc[0, "rule"] == "phrase:side-effect"
    assert out.loc[0, "evidence"] == "side effects"


def test_exclude_vetoes_overlapping_match_only():
    assert run("I hope so.").empty
    out = run("I hope so, and I am hopeful too.")
    assert out.loc[0, "evidence"] == "hopeful"


def test_negation_flag_and_skip():
    out = run("I don't feel much hope.", "There was no nausea at all.")
    assert out.to_dict("records") == [
        {"segment_id": "A1-T0001-S01", "code": "HOPE", "evidence": "hope", "rule": "term:hope",
         "negated": True}]  # SIDE with negation: skip is not coded


def test_negation_prefers_an_unnegated_match_and_respects_window_and_clauses():
    out = run("Never hopeless, I hope.")  # comma ends the cue's scope; "hope" not negated
    assert out.loc[0, "negated"] == False  # noqa: E712
    out = run("Not that I was ever really hopeful.", window=3)  # cue 5 tokens back
    assert out.loc[0, "negated"] == False  # noqa: E712
    out = run("Not that I was ever really hopeful.", window=6)
    assert out.loc[0, "negated"] == True  # noqa: E712
    out = run("No nausea at first, but then nausea.")  # skip: first negated, second counts
    assert out.loc[0, "evidence"] == "nausea" and out.loc[0, "negated"] == False  # noqa: E712


def test_moderator_not_coded_and_output_sorted():
    df = segs(("A1-T0002-S01", "P02", "hope and nausea"), ("A1-T0001-S01", "MOD", "any hope?"),
              ("A1-T0001-S02", "P01", "milestones"))
    out = code.code_segments(df, code.compile_codebook(BOOK), "MOD", 3, CUES)
    assert list(zip(out["segment_id"], out["code"])) == [
        ("A1-T0001-S02", "MILESTONE"), ("A1-T0002-S01", "HOPE"), ("A1-T0002-S01", "SIDE")]
    assert list(out.columns) == code.MACHINE_COLUMNS


def test_bad_regex_names_the_code():
    with pytest.raises(InputError, match="HOPE.*does not compile"):
        code.compile_codebook({"codes": [{"id": "HOPE", "patterns": {"regex": ["(unclosed"]}}]})


# ------------------------------------------------------------------ combine_codings

SEGMENTS = segs(("A1-T0001-S01", "MOD", "q"), ("A1-T0002-S01", "P01", "a"),
                ("A1-T0003-S01", "P02", "b"), ("B2-T0001-S01", "P03", "c"))
CODES = {"HOPE", "SIDE"}


def sheet(*rows):
    return pd.DataFrame(rows, columns=["coder", "session_id", "path"])


def table(*rows):
    return pd.DataFrame(rows, columns=["segment_id", "code"])


def test_consensus_is_strict_majority_and_coverage_complete():
    machine = pd.DataFrame([("A1-T0002-S01", "HOPE", "hope", "term:hope", "false")],
                           columns=code.MACHINE_COLUMNS)
    sh = sheet(("ann", "A1", "a.tsv"), ("bob", "A1", "b.tsv"), ("cat", "A1", "c.tsv"),
               ("ann", "B2", "a2.tsv"), ("bob", "B2", "b2.tsv"))
    tables = {"a.tsv": table(("A1-T0002-S01", "HOPE"), ("A1-T0003-S01", "SIDE")),
              "b.tsv": table(("A1-T0002-S01", "HOPE")),
              "c.tsv": table(("A1-T0003-S01", "HOPE")),
              "a2.tsv": table(("B2-T0001-S01", "SIDE")), "b2.tsv": table()}
    codings, coverage, warnings = code.combine_codings(machine, SEGMENTS, sh, tables, CODES,
                                                       sessions=["A1", "B2"])
    cons = codings[codings["coder"] == "consensus"]
    # A1: HOPE on T0002 by 2 of 3 -> yes; SIDE/HOPE on T0003 by 1 of 3 -> no.
    # B2: SIDE by 1 of 2 -> not strictly more than half -> no.
    assert list(zip(cons["segment_id"], cons["code"])) == [("A1-T0002-S01", "HOPE")]
    assert set(codings["coder"]) == {"machine", "consensus", "ann", "bob", "cat"}
    assert list(coverage.itertuples(index=False, name=None)) == [
        ("ann", "A1"), ("ann", "B2"), ("bob", "A1"), ("bob", "B2"), ("cat", "A1"),
        ("consensus", "A1"), ("consensus", "B2"), ("machine", "A1"), ("machine", "B2")]
    assert warnings == []


@pytest.mark.parametrize("row, message", [
    (("A1-T0099-S01", "HOPE"), r"a\.tsv, line 3: segment_id 'A1-T0099-S01' is not a segment"),
    (("B2-T0001-S01", "HOPE"), r"a\.tsv, line 3: segment B2-T0001-S01 belongs to session B2"),
    (("A1-T0001-S01", "HOPE"), r"a\.tsv, line 3: segment A1-T0001-S01 is a moderator turn"),
    (("A1-T0002-S01", "HOPPE"), r"a\.tsv, line 3: code 'HOPPE' is not in the codebook"),
])
def test_coder_file_errors_name_file_and_line(row, message):
    tables = {"a.tsv": table(("A1-T0002-S01", "HOPE"), row)}
    with pytest.raises(InputError, match=message):
        code.combine_codings(pd.DataFrame(columns=code.MACHINE_COLUMNS), SEGMENTS,
                             sheet(("ann", "A1", "a.tsv")), tables, CODES, sessions=["A1", "B2"])


def test_duplicates_counted_once_with_warning_and_uncovered_session_warned():
    tables = {"a.tsv": table(("A1-T0002-S01", "HOPE"), ("A1-T0002-S01", "HOPE"))}
    codings, coverage, warnings = code.combine_codings(
        pd.DataFrame(columns=code.MACHINE_COLUMNS), SEGMENTS, sheet(("ann", "A1", "a.tsv")),
        tables, CODES, sessions=["A1", "B2"])
    assert (codings["coder"] == "ann").sum() == 1
    assert any("a.tsv, line 3: duplicate of line 2" in w for w in warnings)
    assert any("B2" in w and "no human coder" in w for w in warnings)
    assert ("consensus", "B2") not in set(coverage.itertuples(index=False, name=None))


def test_reserved_coder_name_rejected():
    with pytest.raises(InputError, match="reserved"):
        code.combine_codings(pd.DataFrame(columns=code.MACHINE_COLUMNS), SEGMENTS,
                             sheet(("consensus", "A1", "a.tsv")), {"a.tsv": table()}, CODES)
