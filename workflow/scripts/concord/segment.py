"""Segmentation of de-identified transcripts into coding units (pure functions).

The de-identified file has one turn per line, ``SPEAKER<TAB>text``; the line
number is the turn number. Each turn's text is split into sentences
(``unit: sentence``) or kept whole (``unit: turn``). A segment's ``start``/``end``
are offsets into the whole file content (a Python ``str``), so
``content[start:end] == text`` always holds.

Sentences come from NLTK's Punkt algorithm *without downloaded data*: a
:class:`PunktSentenceTokenizer` built from explicit :class:`PunktParameters`:

* ``abbrev_types``: the configured abbreviations, lower case, without the final
  period (Punkt's own convention: a trained model stores ``e.g.`` as ``"e.g"``),
  so "Dr. Okafor" stays one sentence;
* ``sent_starters``: common sentence-initial words of spoken English
  (:data:`SENT_STARTERS`), so that after an abbreviation or an ellipsis a
  capitalised starter still opens a new sentence ("No. It was fine." ->
  two sentences even though "no" is an abbreviation for "No. 5"; "I was... I was
  scared." -> two). Name-like words (Will, May, Hope) are deliberately absent.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

from concord.tsvio import InputError, read_tsv

SEGMENT_COLUMNS = ["segment_id", "session_id", "turn", "speaker_id", "participant_id",
                   "group", "start", "end", "text", "role"]
SUMMARY_COLUMNS = ["session_id", "group", "turns", "segments", "participant_segments",
                   "words", "participant_words", "participants_speaking",
                   "participants_enrolled"]

SENT_STARTERS = frozenset("""
i i'm i've i'd i'll it it's we we're they they're he she you you're the a an and but so
then that that's this there there's what when why how who where which if because or
also just maybe yes yeah no not nothing well um uh oh okay ok my our your his her their
honestly actually really sure right thank thanks do did does is was are were can could
would should in on at for with after before now one some many most all everyone nobody
let let's like as even still first second last
""".split())

WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*")


def _norm_abbrev(a: str) -> str:
    return str(a).strip().lower().rstrip(".")


@lru_cache(maxsize=8)
def _tokenizer(abbrevs: tuple[str, ...]) -> PunktSentenceTokenizer:
    params = PunktParameters()
    params.abbrev_types = {a for a in abbrevs if a}
    params.sent_starters = set(SENT_STARTERS)
    return PunktSentenceTokenizer(params)


def sentence_spans(text: str, abbreviations) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets in ``text`` (Punkt, no downloaded data).

    ``abbreviations``: e.g. ``["dr", "mrs", "e.g", "p.m"]`` (case and a final
    period do not matter). Whitespace between sentences belongs to no span.
    """
    if not text.strip():
        return []
    tok = _tokenizer(tuple(sorted({_norm_abbrev(a) for a in abbreviations or []})))
    return [(int(s), int(e)) for s, e in tok.span_tokenize(text)]


def count_words(text: str) -> int:
    """Words by a regexp tokenizer (``\\w+`` with inner apostrophes/hyphens)."""
    return len(WORD_RE.findall(text))


def segment_text(content: str, session: str, group: str, participants: pd.DataFrame,
                 moderator_id: str = "MOD", unit: str = "sentence", abbreviations=(),
                 source: str = "deid", roles: dict | None = None) -> pd.DataFrame:
    """Segments of one de-identified transcript (``content`` = the whole file).

    ``participants``: the study's participants sheet (participant_id, session_id, and
    optionally role). ``roles``: ``{speaker_id: role}`` of this session's speakers
    (``concord.roles.speaker_roles``: the participants sheet, then the roster's other
    IDs, default ``facilitator``); without it the one facilitator is ``moderator_id``.
    ``participant_id`` is set for speakers of the participants sheet, ``role`` for
    every segment. A speaker of no known role is an :class:`InputError` naming
    ``source`` and the line.
    """
    from concord.roles import FACILITATOR, PARTICIPANT, role_of_row

    if unit not in ("sentence", "turn"):
        raise InputError(f"config segment.unit: {unit!r} is not 'sentence' or 'turn'")
    enrolled = {}
    sessions_of: dict[str, list[str]] = {}
    for row in participants.to_dict("records"):
        sessions_of.setdefault(row["participant_id"], []).append(row["session_id"])
        if row["session_id"] == session:
            enrolled[row["participant_id"]] = role_of_row(row, PARTICIPANT)
    known = dict(roles) if roles is not None else {moderator_id: FACILITATOR}
    known.update(enrolled)
    rows = []
    pos = 0
    lines = content.split("\n")
    if lines and lines[-1] == "":
        lines = lines[:-1]
    for turn, line in enumerate(lines, start=1):
        line_start = pos
        pos += len(line) + 1
        if "\t" not in line:
            raise InputError(f"{source}, line {turn}: expected 'SPEAKER<TAB>text'; the "
                             f"de-identified file is damaged, re-run deidentify")
        speaker, body = line.split("\t", 1)
        if speaker in enrolled:
            pid, role = speaker, enrolled[speaker]
        elif speaker in sessions_of:
            raise InputError(f"{source}, line {turn}: speaker {speaker!r} belongs to session "
                             f"{', '.join(repr(x) for x in sorted(sessions_of[speaker]))} in the "
                             f"participants sheet but speaks in session {session!r}; add a "
                             f"participants.tsv row for {speaker} and {session} or fix the roster")
        elif speaker in known:
            pid, role = "", known[speaker]
        else:
            raise InputError(f"{source}, line {turn}: speaker {speaker!r} is not in the "
                             f"participants sheet nor the roster of session {session}; "
                             f"add a row for {speaker} with session_id {session}")
        body_start = line_start + len(speaker) + 1
        if unit == "turn":
            stripped = body.strip()
            spans = [(body.index(stripped), body.index(stripped) + len(stripped))] \
                if stripped else []
        else:
            spans = sentence_spans(body, abbreviations)
        for k, (s, e) in enumerate(spans, start=1):
            start, end = body_start + s, body_start + e
            rows.append([f"{session}-T{turn:04d}-S{k:02d}", session, turn, speaker, pid,
                         group, start, end, content[start:end], role])
    return pd.DataFrame(rows, columns=SEGMENT_COLUMNS)


# ---------------------------------------------------------------------------
# summary

def read_segments(path) -> pd.DataFrame:
    df = read_tsv(path, required=SEGMENT_COLUMNS[:-1])
    if "role" not in df.columns:  # segment files written before roles existed
        from concord.roles import segment_roles
        df["role"] = segment_roles(df).to_numpy()
    for col in ("turn", "start", "end"):
        df[col] = df[col].astype(int)
    return df


def summarise(segments: pd.DataFrame, sessions: pd.DataFrame, participants: pd.DataFrame,
              groups: list[dict], units=("participant",)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-session summary (:data:`SUMMARY_COLUMNS`) and per-group table.

    ``segments``: all sessions' segments. ``turns`` counts turns with text.
    The per-group table has one row per configured group (config order) and a
    final row ``all``: group, label, sessions, participants, participants_speaking,
    age_bands, segments, words.
    """
    from concord.roles import is_unit, unit_people

    seg = segments[["session_id", "turn", "participant_id"]].copy()
    seg["words"] = segments["text"].map(count_words)
    seg["unit"] = is_unit(segments, units).to_numpy()
    participants = unit_people(participants, units)
    # per-session counts by groupby (a filter per session is quadratic in sessions)
    every = seg.groupby("session_id")
    turns, n_segs, words = every["turn"].nunique(), every.size(), every["words"].sum()
    spoken = seg[seg["unit"]].groupby("session_id")
    p_segs, p_words = spoken.size(), spoken["words"].sum()
    speaking = spoken["participant_id"].nunique()
    enrolled = participants["session_id"].value_counts()
    rows = []
    for srow in sessions.sort_values("session_id").itertuples(index=False):
        sid = srow.session_id
        rows.append([sid, srow.group, int(turns.get(sid, 0)), int(n_segs.get(sid, 0)),
                     int(p_segs.get(sid, 0)), int(words.get(sid, 0)), int(p_words.get(sid, 0)),
                     int(speaking.get(sid, 0)), int(enrolled.get(sid, 0))])
    summary = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)

    def age_bands(p: pd.DataFrame) -> str:
        if "age_band" not in p.columns or p.empty:
            return ""
        counts = p["age_band"].replace("", "unknown").value_counts()
        return "; ".join(f"{b}: {int(counts[b])}" for b in sorted(counts.index))

    grows = []
    for g in groups:
        gid = g["id"]
        sm = summary[summary["group"] == gid]
        p = participants[participants["session_id"].isin(sm["session_id"])]
        p = p.drop_duplicates("participant_id")
        grows.append([gid, g.get("label", gid), len(sm), len(p),
                      int(sm["participants_speaking"].sum()), age_bands(p),
                      int(sm["participant_segments"].sum()), int(sm["words"].sum())])
    people = participants.drop_duplicates("participant_id")
    grows.append(["all", "Total", len(summary), len(people),
                  int(summary["participants_speaking"].sum()), age_bands(people),
                  int(summary["participant_segments"].sum()), int(summary["words"].sum())])
    by_group = pd.DataFrame(grows, columns=["group", "label", "sessions", "participants",
                                            "participants_speaking", "age_bands",
                                            "segments", "words"])
    return summary, by_group
