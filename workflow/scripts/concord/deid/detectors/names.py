"""Names found by a cue: a title, "named/called", a kinship word."""

from __future__ import annotations

import functools
import re

from concord.deid.common import CAP_RE, MONTH_NAMES_AS_NAMES, ORD_RE, STOP_CAPS, Candidate

_DAY_AFTER = re.compile(r"\s+(?:the\s+)?\d|\s+" + ORD_RE)


def _cue_names(regex_prefix: str, text: str, detector: str) -> list[Candidate]:
    out = []
    for m in re.finditer(regex_prefix + rf"(?P<n>{CAP_RE})(?:\s+(?P<n2>{CAP_RE}))?", text):
        first = m.group("n")
        # month names that are also first names ("my mom June") count right after a
        # cue, unless a day number follows ("my oncologist June 3rd" is a date)
        month_name = (first in MONTH_NAMES_AS_NAMES
                      and not _DAY_AFTER.match(text, m.end("n")))
        if (first in STOP_CAPS and not month_name) or first.upper() == first and len(first) <= 3:
            continue
        s, e = m.span("n")
        if m.group("n2") and m.group("n2") not in STOP_CAPS:
            e = m.end("n2")
        out.append(Candidate(s, e, "NAME", detector))
    return out


# ---------------------------------------------------------------------------
# names without a cue: census first names and surnames, told from words by wordfreq

from concord.deid import lexicons  # noqa: E402
from concord.deid.roster import _CLEARLY_NAME  # noqa: E402
from concord.textnorm import fold  # noqa: E402

_CAP_TOKEN = re.compile(CAP_RE)
# a sentence start: the text start, a turn separator (NUL) or an end mark before
_SENT_START = re.compile(r"(?:^|[.!?\x00]['\"”’)\]]*)\s*$")
_GAP = re.compile(r"[ \u00a0](?:[A-Z]\.?[ \u00a0])?")
# a capitalised word rarer than this as an English word is "unknown" mid-sentence
# (Usamov, Kishiev, Portillo: a name, a place or a brand; review list, redacted); at a
# sentence start it must be rarer still (START_UNKNOWN_ZIPF)
UNKNOWN_ZIPF = 2.5
# a common-word first name in a vocative is redacted below this word frequency (Grace
# 4.6, Rose 4.8, Max 4.7); above it (See 6.1, Will 6.5, Hope 5.4, Mark 5.1) it is
# reviewed
VOCATIVE_WORD_ZIPF = 5.0
START_UNKNOWN_ZIPF = 1.0


def _sentence_start(text: str, start: int) -> bool:
    return bool(_SENT_START.search(text, max(0, start - 8), start))


@functools.lru_cache(maxsize=100_000)
def _surname_like(tok: str) -> bool:
    k = fold(tok)
    return (tok not in STOP_CAPS and not (tok.isupper() and len(tok) > 1)
            and (k in lexicons.surnames() or lexicons.zipf(k) < lexicons.COMMON_WORD_ZIPF
                 or k in lexicons.first_names()))


@functools.lru_cache(maxsize=100_000)
def _word_class(tok: str) -> tuple[str, bool, bool]:
    """(folded, a census first name, also a common word)"""
    k = fold(tok)
    return k, k in lexicons.first_names(), lexicons.is_common_word(tok)


def free_names(text: str) -> list[Candidate]:
    """Person names without a cue: a capitalised census first name that is not also a
    common word (Katie, José, Berta) with the capitalised surname-like words after it
    (Szöllössy, O’Brien, Smith-Jones); a census surname rare as a word, mid-sentence
    (Castellanos); a common-word first name followed by a surname (Hope Delacroix).
    A capitalised word that is neither a known word nor a known name or place,
    mid-sentence, is uncertain (review list, suggestion redact)."""
    out = []
    toks = list(_CAP_TOKEN.finditer(text))
    places = lexicons.places()
    i = 0
    while i < len(toks):
        m = toks[i]
        tok = m.group()
        i += 1
        if tok in STOP_CAPS or (tok.isupper() and len(tok) > 1):
            continue
        k, first, common = _word_class(tok)
        # the surname-like words that follow, separated by one space
        j, end = i, m.end()
        while j < len(toks):
            # one space, or a middle initial between spaces ("Ruth R Montez", "R. Vizirov")
            gap = _GAP.match(text, end)
            if (gap is None or toks[j].start() != gap.end()
                    or not _surname_like(toks[j].group())):
                break
            end = toks[j].end()
            j += 1
        if first and (not common or j > i):
            out.append(Candidate(m.start(), end, "NAME", "name-freq"))
            i = j
            continue
        if first and _CLEARLY_NAME.match(text, m.end()):
            # a common word that is also a first name, in a vocative or "X said": a name
            # when the word is rare in speech (Grace, Rose); a discourse word that starts
            # a sentence ("See, how ...", "Will, what ...") goes to a person, kept
            if lexicons.zipf(k) < VOCATIVE_WORD_ZIPF:
                out.append(Candidate(m.start(), end, "NAME", "name-freq"))
            else:
                out.append(Candidate(m.start(), end, "NAME", "name-freq",
                                     reason="common word that is also a first name, used "
                                     "like a name", suggest="keep"))
            i = j
            continue
        if k in places:
            continue
        z = lexicons.zipf(k)
        start = _sentence_start(text, m.start())
        if not start and k in lexicons.surnames() and z < 3.5:
            out.append(Candidate(m.start(), end, "NAME", "name-freq"))
            i = j
        elif not first and z < (START_UNKNOWN_ZIPF if start else UNKNOWN_ZIPF):
            out.append(Candidate(m.start(), end, "NAME", "name-unknown",
                                 reason="capitalised word that is neither a known word nor "
                                 "a known name or place", suggest="redact"))
            i = j
    return out
