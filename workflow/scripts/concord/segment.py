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

pySBD runs only on the pieces of a turn that may hold a boundary: the turn is first cut
at boundaries pySBD always makes and handles side by side (the fast path below, ~10x
less CPU; the spans are those of pySBD on the whole turn, tested in
``tests/test_sentence_speed.py``; BENCHMARKS.md, "Sentence units: speed (session 21)").
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
        while i < n and text[i].isspace():
            i += 1
        body = piece.strip()
        if text.startswith(body, i):  # the usual case: the sentence verbatim
            i += len(body)
            ends.append(i)
            continue
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


# ---------------------------------------------------------------------------
# the fast path: cut a turn where pySBD's answer is known without running it
#
# pySBD's cost is a few hundred regular-expression passes over the text it is given,
# so most of a turn's cost is spent confirming the obvious "... word. Next ...".
# :func:`_cuts` finds boundaries that pySBD always makes and whose sides it processes
# independently; pySBD then runs only on the pieces between them that hold a possible
# boundary (:data:`_MAYBE_SPLIT`). Why a cut is safe, rule by rule of pySBD 0.3.4
# (Processor.process, in order; tests/test_sentence_speed.py checks the result against
# pySBD on the whole turn over real turns and random adversarial strings):
#
# * the cut is ``T p ␠ C``: ``T`` two or more ASCII letters after whitespace (or the
#   turn start) or a tag (``[NAME-1]``), ``p`` one of ``. ? !``, one space, ``C`` a
#   capital not followed by ``.`` or a ``[``. So ``p`` is no number, ellipsis,
#   ``?!``/``!!``, initial (``J.``), list marker (``a.``/``1.``) or multi-period
#   abbreviation (``U.S.``), and ``C`` starts no ``P.M.``/``A.``/``5.`` (the rules with
#   ``^``/``\s`` before a single capital or digit);
# * ``T`` fully matches no entry of the segmenter's abbreviation list (entries are
#   regular expressions there: ``e.g`` also matches ``egg``), and ``T p`` is none of
#   pySBD's exclamation words (``Yahoo!``): no abbreviation rule protects ``p``. pySBD
#   tries an entry only where it occurs verbatim in the text, so ``Ice. gov`` is one
#   sentence in a turn that says ``i.e`` somewhere and two in a piece that does not:
#   no cut in a turn holding a multi-period entry (``e.g``, ``i.e``, ``u.s``, ``ph.d``);
# * every other rule looks at most four characters around a match, except these
#   whole-text ones, which the turn is checked for: list items (pySBD numbers a list
#   across the whole text: two or more ``a.``-style or ``12.``-style items, and no cut
#   in the turn), text between quotes, brackets, parentheses or ``--`` pairs (no cut
#   inside ``[...]`` or between the first and last ``--``; no cut at all in a turn with
#   double quotes, parentheses, braces, backslashes, a ``'`` before a space or at
#   the end, full-width punctuation, line breaks, or pySBD's own placeholder symbols),
#   and ``?!``/``!!`` at the start of the text (pySBD then skips a rule everywhere).
#   Single quotes: pySBD's rule for text between them runs only when some ``'`` is
#   followed by a space, and its other quote rules need one too; without it ``'``
#   (``don't``, ``I 've``, ``'cause``) never matters.
#
# A piece whose pySBD sentences do not spell it sends the whole turn to pySBD. A piece
# is one sentence without pySBD (:func:`_one_sentence`) when, but for one final
# ``. ? !``, it has no possible boundary except periods after a prepositive
# abbreviation and before a space (``Dr. [NAME-1]``): pySBD's abbreviation rule always
# protects those (``(?<=\sdr)\.(?=\s)``), and nothing turns them back but the
# ``U.S``/``I``/``i.v`` sentence-starter rule, whose forms are left out.

_CUT = re.compile(r"((?<!\S)[A-Za-z]{2,}|\[[A-Za-z0-9_-]+\])([.!?]) (?=[A-Z](?!\.)|\[)")
# pySBD's placeholders and the characters its whole-text rules pair up (see above), and
# the four that match an ASCII letter only case-insensitively (İ ı ſ K: pySBD looks an
# abbreviation up in the lower-cased text, then matches it ignoring case)
_NO_CUT = re.compile("[\"“”„«»‘‚‹›()（）「」{}\\\\\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029"
                     "。．！？ǃ&ƪȸȹ،ᓰᓱᓳᓴᓷᓸ•⁃°∮∯⌬⎋☄☇☈☉☏☝♝♟♨♬♭✂İıſ\u212a]")
_LOOSE_APOSTROPHE = re.compile(r"'(?!\S)")
_DOUBLE_PUNCT_START = re.compile(r"\?!|!\?|\?\?|!!")
_PLAIN_ENTRY = re.compile(r"[a-z]+(?:\.[a-z]+)*")


@lru_cache(maxsize=8)
def _cut_rules(abbrevs: tuple[str, ...]):
    """(is the token an abbreviation to pySBD?, exclamation words, list-item regexes) for
    the segmenter of ``abbrevs``; ``None`` when an entry is not plain letters (and
    inner periods): no fast path then."""
    from pysbd.exclamation_words import ExclamationWords
    from pysbd.lists_item_replacer import ListItemReplacer

    entries = [a.strip() for a in _segmenter(abbrevs).language_module.Abbreviation.ABBREVIATIONS]
    if not all(_PLAIN_ENTRY.fullmatch(e.lower()) for e in entries):
        return None
    plain = frozenset(e.lower() for e in entries if "." not in e)
    dotted_entries = sorted({e.lower() for e in entries if "." in e})
    dotted = re.compile("|".join(dotted_entries) or "(?!)", re.I)

    seen: dict[str, bool] = {}

    def is_abbreviation(token: str) -> bool:
        if token not in seen:
            if len(seen) > 100_000:
                seen.clear()
            seen[token] = token.lower() in plain or dotted.fullmatch(token) is not None
        return seen[token]

    lists = ((re.compile(r"(?:^|\s)[a-z]\."),
              re.compile(ListItemReplacer.ALPHABETICAL_LIST_WITH_PERIODS)),
             (re.compile(r"\d\."), re.compile(ListItemReplacer.NUMBERED_LIST_REGEX_1)))
    language = _segmenter(abbrevs).language_module.Abbreviation
    known = {e.strip().lower() for e in language.ABBREVIATIONS}
    prepositive = sorted(e for e in {p.strip().lower() for p in language.PREPOSITIVE_ABBREVIATIONS}
                         if e in known and re.fullmatch(r"[a-z]{2,}", e) and e[-1] != "i"
                         and not re.search(r"i.v$", e))
    protected = re.compile(r"(?<!\S)(?:" + "|".join(prepositive) + r")\.(?=\s)", re.I) \
        if prepositive else None
    return (is_abbreviation, frozenset(ExclamationWords.EXCLAMATION_WORDS), lists, protected,
            tuple(dotted_entries))


def _cuts(text: str, abbrevs: tuple[str, ...]) -> list[int]:
    """Offsets in ``text`` where pySBD always ends a sentence and handles both sides
    independently (the start of the next sentence; see the rules above)."""
    rules = _cut_rules(abbrevs)
    if rules is None or _NO_CUT.search(text) or _LOOSE_APOSTROPHE.search(text) \
            or _DOUBLE_PUNCT_START.match(text):
        return []
    is_abbreviation, exclamations, lists, _, dotted = rules
    if "." in text:
        low = text.lower()
        if any(d in low for d in dotted):
            return []
    for hint, item in lists:  # a cheap necessary condition first, then pySBD's regex
        if hint.search(text) and len(item.findall(text)) > 1:
            return []
    dashes = text.find("--")
    dash_last = text.rfind("--")
    brackets = "[" in text
    cuts = []
    for m in _CUT.finditer(text):
        token, p = m.group(1), m.group(2)
        at = m.end()
        if token[0] != "[" and (is_abbreviation(token) or token + p in exclamations):
            continue
        if dashes != -1 and dashes < at and dash_last > at:
            continue
        if brackets:
            opened = text.rfind("[", 0, at)
            if opened != -1 and text.find("]", opened, at) == -1:
                continue
        cuts.append(at)
    return cuts


def _one_sentence(piece: str, protected) -> bool:
    """Is ``piece`` (a piece between cuts) one sentence to pySBD? (see above)"""
    body = piece.strip()
    if body and body[-1] in ".!?":
        body = body[:-1]
    if protected is not None and "." in body:
        body = protected.sub("", body)
    return not _MAYBE_SPLIT.search(body)


def _pysbd_ends(text: str, abbrevs: tuple[str, ...]) -> list[int]:
    """pySBD's sentence ends in ``text`` (``[len(text)]`` when they do not spell it)."""
    ends = _align(text, _segmenter(abbrevs).processor(text).process())
    return ends or [len(text)]


def _fast_ends(text: str, abbrevs: tuple[str, ...]) -> list[int]:
    """The same ends as :func:`_pysbd_ends`, pySBD run only on the pieces between
    :func:`_cuts` that may hold a boundary."""
    cuts = _cuts(text, abbrevs)
    if not cuts:
        return _pysbd_ends(text, abbrevs)
    ends: list[int] = []
    seg = _segmenter(abbrevs)
    protected = _cut_rules(abbrevs)[3]
    for a, b in zip([0] + cuts, cuts + [len(text)]):
        piece = text[a:b]
        if b != len(text):
            piece = piece[:-1]  # the space of the cut
        if _one_sentence(piece, protected):
            ends.append(a + len(piece.rstrip()))
            continue
        found = _align(piece, seg.processor(piece).process())
        if not found:  # pySBD changed a character: the whole turn decides
            return _pysbd_ends(text, abbrevs)
        ends += [a + e for e in found]
    return ends


@lru_cache(maxsize=64)
def _abbrev_key(abbreviations: tuple) -> tuple[str, ...]:
    return tuple(sorted({_norm_abbrev(a) for a in abbreviations} - {""}))


def sentence_spans(text: str, abbreviations=()) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` offsets in ``text`` (pySBD + the rules above).

    ``abbreviations``: e.g. ``["dr", "approx", "e.g"]`` (case and a final period do
    not matter), added to pySBD's list. Whitespace between sentences belongs to no
    span; ``text[start:end]`` is stripped and non-empty.
    """
    return _spans(text, abbreviations, fast=True)


def _spans(text: str, abbreviations=(), fast: bool = True) -> list[tuple[int, int]]:
    """:func:`sentence_spans`; ``fast=False`` runs pySBD on the whole turn (the
    reference the fast path is tested against)."""
    if not text.strip():
        return []
    body = text.strip()
    if not _MAYBE_SPLIT.search(body.rstrip(_FINAL)):  # one sentence: spare pySBD's regexes
        a = text.index(body[0])
        return [(a, a + len(body))]
    key = _abbrev_key(tuple(abbreviations or ()))
    ends = _fast_ends(text, key) if fast else _pysbd_ends(text, key)
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
    # this session's rows only: the sheet of a large study has thousands of rows, and
    # a shard calls this once per session
    enrolled = {}
    for row in participants[participants["session_id"] == session].to_dict("records"):
        enrolled[row["participant_id"]] = role_of_row(row, PARTICIPANT)
    sessions_of: dict[str, list[str]] = {}

    def other_sessions(speaker: str) -> list[str]:
        if speaker not in sessions_of:
            mask = participants["participant_id"] == speaker
            sessions_of[speaker] = list(participants.loc[mask, "session_id"])
        return sessions_of[speaker]

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
        elif other_sessions(speaker):
            elsewhere = ", ".join(repr(x) for x in sorted(other_sessions(speaker)))
            raise InputError(f"{source}, line {turn}: speaker {speaker!r} belongs to session "
                             f"{elsewhere} in the "
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
