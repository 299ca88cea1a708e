"""Segmentation of de-identified transcripts into coding units (pure functions).

The de-identified file has one turn per line, ``SPEAKER<TAB>text``; the line
number is the turn number. Each turn's text is split into sentences
(``unit: sentence``) or kept whole (``unit: turn``). A segment's ``start``/``end``
are offsets into the whole file content (a Python ``str``), so
``content[start:end] == text`` always holds.

Sentences come from pySBD (rule-based, the Pragmatic Segmenter's rules; no data, no
download), chosen over NLTK Punkt by ``benchmarks/sentence_bench.py`` (BENCHMARKS.md,
"Sentence units"): 47 of the 48 English Golden Rules against 22 for the earlier Punkt
set-up. Three things are Concord's own, all in :func:`sentence_spans`:

* offsets are exact: pySBD's sentences are aligned to the turn by their
  non-whitespace characters (pySBD's own ``char_span`` search drops a sentence it
  cannot find); the segments of a turn cover every non-space character of it;
* pySBD's English abbreviation list loses the entries that are everyday words at
  the end of spoken sentences (:data:`NOT_ABBREVIATIONS`: me, is, ill, miss, ...;
  with them "... for me. I think so." is one sentence);
* ``abbreviations`` from the config that pySBD's English list lacks (it has dr, mr,
  mrs, st, e.g, i.e, etc, no, fig, inc, p, ... ~200) are added as *prepositive*:
  a sentence never ends after them unless the turn does ("approx. Two hours");
  multi-period forms (a.m, e.g, U.S.) are left to pySBD's own rules;
* spoken language: a piece ending in ``,`` ``:`` or ``;`` is not a sentence (pySBD's
  list rule would cut "Three things: 1. fatigue, 2. nausea" into four), and a piece
  that is only hesitation (``Um.``, ``Uh...``, ``Er,``) joins the next sentence (or
  the previous one at the end of a turn) -- a filler alone is no coding unit. Back-
  channels that answer (``Mm-hmm.``, ``Yeah.``, ``No.``) stay sentences, an
  interrupted turn (``so I was—``) stays one sentence, ``I was... I was scared.`` is two.
"""

from __future__ import annotations

import re
from functools import lru_cache

import pandas as pd

from concord.tsvio import InputError, read_tsv

SEGMENT_COLUMNS = ["segment_id", "session_id", "turn", "speaker_id", "participant_id",
                   "group", "start", "end", "text", "role"]
SUMMARY_COLUMNS = ["session_id", "group", "turns", "segments", "participant_segments",
                   "words", "participant_words", "participants_speaking",
                   "participants_enrolled"]

FILLERS = frozenset("um umm uh uhh er erm ah hmm hm".split())
WORD_RE = re.compile(r"\w+(?:['’\-]\w+)*")
_FILLER_ONLY = re.compile(r"^\W*(?:(?:" + "|".join(sorted(FILLERS)) + r")\W*)+$", re.I)
_NOT_FINAL = (",", ":", ";")
# where pySBD may cut: terminal punctuation, list markers ``a)``/``1)``, bullets, breaks
_MAYBE_SPLIT = re.compile(r"[.!?…)•\u2022\u25cf\u25aa\r\n]")
_FINAL = ".!?…'\"’”»)]}\u00a0 "


def _norm_abbrev(a: str) -> str:
    return str(a).strip().lower().rstrip(".")


# pySBD's English list holds US-state and other abbreviations that are everyday words
# at the end of spoken sentences ("... for me. I think", "I was ill. It"): not
# abbreviations here (measured in benchmarks/sentence_bench.py; no Golden Rule needs them)
NOT_ABBREVIATIONS = frozenset("me is man ill miss wash ok mass ore con id ken may del fed "
                              "ind ala".split())


@lru_cache(maxsize=8)
def _segmenter(abbrevs: tuple[str, ...]):
    """A pySBD English segmenter: its abbreviation list without
    :data:`NOT_ABBREVIATIONS`, plus ``abbrevs`` (single words as prepositive)."""
    import pysbd
    from pysbd.lang.english import English

    base = [a for a in English.Abbreviation.ABBREVIATIONS if a not in NOT_ABBREVIATIONS]
    # multi-period forms (a.m, e.g, u.k) have pySBD rules of their own
    extra = sorted(a for a in set(abbrevs) - set(base) if "." not in a)
    abbreviation = type("Abbreviation", (English.Abbreviation,), {
        "ABBREVIATIONS": base + extra,
        "PREPOSITIVE_ABBREVIATIONS": list(English.Abbreviation.PREPOSITIVE_ABBREVIATIONS)
        + extra})
    seg = pysbd.Segmenter(language="en", clean=False)
    seg.language_module = type("ConcordEnglish", (English,), {"Abbreviation": abbreviation})
    return seg


def _align(text: str, pieces: list[str]) -> list[int]:
    """End offsets in ``text`` of ``pieces`` (pySBD's sentences, in order), matched by
    their non-whitespace characters. ``[]`` when they do not spell ``text``."""
    ends, i, n = [], 0, len(text)
    for piece in pieces:
        for ch in piece:
            if ch.isspace():
                continue
            while i < n and text[i].isspace():
                i += 1
            if i >= n or text[i] != ch:
                return []
            i += 1
        ends.append(i)
    while i < n and text[i].isspace():
        i += 1
    return ends if i == n else []


def sentence_spans(text: str, abbreviations=()) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets in ``text`` (pySBD + the rules above).

    ``abbreviations``: e.g. ``["dr", "approx", "e.g"]`` (case and a final period do
    not matter), added to pySBD's list. Whitespace between sentences belongs to no
    span; ``text[start:end]`` is stripped and non-empty.
    """
    if not text.strip():
        return []
    body = text.strip()
    if not _MAYBE_SPLIT.search(body.rstrip(_FINAL)):  # one sentence: spare pySBD's regexes
        a = text.index(body[0])
        return [(a, a + len(body))]
    seg = _segmenter(tuple(sorted({_norm_abbrev(a) for a in abbreviations or []} - {""})))
    ends = _align(text, seg.processor(text).process())
    if not ends:  # pySBD changed a character: keep the turn whole rather than guess
        ends = [len(text)]
    spans, start = [], 0
    for end in ends:
        piece = text[start:end]
        if piece.strip():
            a = start + len(piece) - len(piece.lstrip())
            b = start + len(piece.rstrip())
            spans.append((a, b))
        start = end
    # spoken language: no boundary after , : ; and no filler-only sentence
    out: list[list[int]] = []
    for a, b in spans:
        if out and (text[out[-1][1] - 1] in _NOT_FINAL
                    or _FILLER_ONLY.match(text[out[-1][0]:out[-1][1]])):
            out[-1][1] = b
        else:
            out.append([a, b])
    if len(out) > 1 and _FILLER_ONLY.match(text[out[-1][0]:out[-1][1]]):
        last = out.pop()
        out[-1][1] = last[1]
    return [(a, b) for a, b in out]


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
