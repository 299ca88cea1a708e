"""Exemplar quotes: for every code × group, up to ``per_cell`` de-identified segments.

A segment is a **candidate** for code C when

1. the consensus coding (the chosen coder) carries C on it;
2. the automatic coder found evidence for C in it, not negated (so the words that
   carry the code are in the quote);
3. it has between ``min_words`` and ``max_words`` words (readable on its own).

Candidates are ordered by: share of the session's human coders who applied C
(descending — the least contested first); no redaction placeholder such as ``[NAME-1]``
before one with it (reads better, reveals nothing either way); closeness of the word
count to the middle of the range; segment ID. Quotes are then taken in that order,
**one per participant** in a first pass (spread across speakers) and, if fewer than
``per_cell`` participants qualify, further quotes by the same people in a second pass.
Only participant segments (never the moderator's) are quoted; the text is the
de-identified segment text and carries the speaker's pseudonym.
"""

from __future__ import annotations

import re

import pandas as pd

from concord.tsvio import InputError

COLUMNS = ["code", "group", "rank", "segment_id", "participant_id", "session_id", "words",
           "human_agreement", "evidence", "text"]
PLACEHOLDER = re.compile(r"\[[A-Z]+(?:-\d+)?\]")


def exemplars(segments: pd.DataFrame, codings: pd.DataFrame, machine: pd.DataFrame,
              coverage: pd.DataFrame, groups: list[dict], codes: list[str], coder: str,
              per_cell: int, min_words: int, max_words: int,
              units=("participant",)) -> pd.DataFrame:
    """The exemplar table (rows by code, group display order, rank)."""
    if min_words > max_words:
        raise InputError(f"concordance.quotes: min_words ({min_words}) is greater than "
                         f"max_words ({max_words})")
    from concord.roles import is_unit
    seg = segments[is_unit(segments, units).to_numpy()
                   & (segments["participant_id"] != "").to_numpy()].set_index("segment_id")
    mine = codings[codings["coder"] == coder][["segment_id", "code"]].drop_duplicates()
    if not len(mine):
        raise InputError(f"codings: no codings by coder {coder!r}; set concordance.coder")
    humans = sorted(set(coverage["coder"]))
    human = codings[codings["coder"].isin(humans)][["segment_id", "code", "coder"]]
    agree = human.drop_duplicates().groupby(["segment_id", "code"]).size()
    covering = coverage.groupby("session_id")["coder"].nunique()
    ev = machine[machine["negated"].astype(str).str.lower() != "true"]
    # one "a; b" evidence string per (segment, code): sorted distinct terms (joins, not
    # per-row lookups: a 2,000-session study has millions of codings)
    evidence = (ev[["segment_id", "code", "evidence"]].drop_duplicates()
                .sort_values(["segment_id", "code", "evidence"], kind="mergesort")
                .groupby(["segment_id", "code"], sort=False)["evidence"].agg("; ".join)
                .reset_index())
    cand = mine[mine["segment_id"].isin(seg.index)].merge(evidence, on=["segment_id", "code"])
    cand["text"] = cand["segment_id"].map(seg["text"])
    cand["words"] = cand["text"].str.split().str.len()
    cand = cand[(cand["words"] >= min_words) & (cand["words"] <= max_words)]
    cand["participant_id"] = cand["segment_id"].map(seg["participant_id"])
    cand["session_id"] = cand["segment_id"].map(seg["session_id"])
    cand["group"] = cand["segment_id"].map(seg["group"])
    n_cov = cand["session_id"].map(covering).fillna(0).astype(int)
    n_agree = cand.merge(agree.rename("n").reset_index(), on=["segment_id", "code"],
                         how="left")["n"].fillna(0).astype(int).to_numpy()
    cand["human_agreement"] = [a / n if n else 0.0 for a, n in zip(n_agree, n_cov)]
    cand["placeholder"] = cand["text"].str.contains(PLACEHOLDER)
    mid = (min_words + max_words) / 2.0
    cand["distance"] = (cand["words"] - mid).abs()
    cand = cand.sort_values(["human_agreement", "placeholder", "distance", "segment_id"],
                            ascending=[False, True, True, True], kind="mergesort")
    rows = []
    for code in sorted(codes):
        for g in groups:
            sub = cand[(cand["code"] == code) & (cand["group"] == g["id"])]
            chosen, used = [], set()
            for r in sub.itertuples():                       # pass 1: one per participant
                if len(chosen) < per_cell and r.participant_id not in used:
                    chosen.append(r)
                    used.add(r.participant_id)
            for r in sub.itertuples():                       # pass 2: fill up
                if len(chosen) < per_cell and r not in chosen:
                    chosen.append(r)
            for rank, r in enumerate(chosen, start=1):
                rows.append({"code": code, "group": g["id"], "rank": rank,
                             "segment_id": r.segment_id, "participant_id": r.participant_id,
                             "session_id": r.session_id, "words": int(r.words),
                             "human_agreement": float(r.human_agreement),
                             "evidence": r.evidence, "text": r.text})
    return pd.DataFrame(rows, columns=COLUMNS)


def fragment(table: pd.DataFrame, groups: list[dict], codebook_codes: list[dict], path: str):
    """One registry entry per exemplar (``quote.{code}.{group}.{rank}``, shown as the
    quote with speaker, group and segment ID) and a manuscript table with, per code, the
    best-ranked exemplar over all groups (ties: group display order) that no earlier
    code already shows."""
    from concord.numbers import Fragment

    frag = Fragment("quotes")
    label = {g["id"]: g.get("label", g["id"]) for g in groups}
    gorder = {g["id"]: i for i, g in enumerate(groups)}
    name = {c["id"]: c.get("name", c["id"]) for c in codebook_codes}
    for i, r in enumerate(table.itertuples()):
        frag.add(f"quote.{r.code}.{r.group}.{r.rank}", r.text,
                 f"exemplar {r.rank} for {name[r.code]} in {label[r.group]}: {r.participant_id}, "
                 f"segment {r.segment_id}", path, [i + 2], [r.segment_id],
                 shown=f"“{r.text}” ({r.participant_id}, {label[r.group]}, {r.segment_id})")
    rows, shown = [], set()
    for c in codebook_codes:
        sub = table[table["code"] == c["id"]]
        # best ranked first (least contested, then group order); a segment already
        # shown for an earlier code is not shown again: one quote, one code
        sub = sub.assign(o=sub["group"].map(gorder)).sort_values(
            ["rank", "human_agreement", "o"], ascending=[True, False, True], kind="mergesort")
        sub = sub[~sub["segment_id"].isin(shown)]
        if not len(sub):
            continue
        best = sub.iloc[0]
        shown.add(best["segment_id"])
        rows.append([name[c["id"]],
                     {"num": f"quote.{c['id']}.{best['group']}.{int(best['rank'])}"}])
    frag.add("quotes.count", len(table), "exemplar quotes selected", path)
    frag.table("quotes", "An exemplar quote for each code (de-identified; speaker pseudonym, "
               "group and segment ID in brackets). All exemplars are in "
               "results/quotes/exemplars.tsv.", ["Code", "Quote"], rows)
    return frag
