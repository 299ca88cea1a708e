"""Necessary conditions ("gates") of the detectors and the joined view of a
session's turns: each detector runs once per session, over the turns that can hold
what it finds."""

from __future__ import annotations

import bisect
import functools
import re

import ahocorasick

from concord.deid.common import UPPER, Candidate, _EXOTIC_CASE, _TENS, _TEENS

_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
_URL_TLDS = (".com", ".org", ".net", ".edu", ".gov", ".io", ".info", ".health", ".co.uk")
_MONTH_PREFIXES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                   "Nov", "Dec")
_NUMWORD_HINTS = tuple(_TENS + _TEENS)



# Turns are joined with this separator and every detector runs once over the joined
# text (one regex call per detector per session instead of one per turn). Turn texts
# hold no newline, so no match can run across it: every pattern needs a particular
# character after whitespace, and none accepts NUL there (the only classes that do,
# [^\s<>"] in URLs, stop at the newline); to a lookbehind or lookahead (\b, (?<!\w),
# (?!\w) ...) a newline looks like the start or end of the text.
_SEP = "\n\x00\n"


class _View:
    """Some turns (``turns``: indexes, ascending) joined by :data:`_SEP`."""
    __slots__ = ("text", "starts", "turns")

    def __init__(self, texts: list[str], turns):
        self.turns = list(turns)
        self.text = _SEP.join(texts[i] for i in self.turns)
        self.starts, pos = [], 0
        for i in self.turns:
            self.starts.append(pos)
            pos += len(texts[i]) + len(_SEP)

    def place(self, cands: list[Candidate], out: list[list[Candidate]]) -> None:
        """Move candidates (offsets in the joined text) to their turns."""
        starts, turns = self.starts, self.turns
        for c in cands:
            k = bisect.bisect_right(starts, c.start) - 1
            off = starts[k]
            c.start -= off
            c.end -= off
            out[turns[k]].append(c)


# Necessary conditions ("gates") of detectors, tested per turn with substring tests.
# A case-insensitive regex can match an ASCII letter in four other characters
# (İ ı ſ K); a turn holding one of them passes every case-insensitive gate.
# a title, an optional period, a space (any case; other whitespace opens the gate)
_GATE_TITLE = tuple(w + p for w in ("dr", "doctor", "mr", "mrs", "ms", "miss", "mx", "prof",
                                    "professor", "nurse", "sister", "father", "pastor",
                                    "rabbi", "reverend", "rev", "chaplain", "deacon")
                    for p in (" ", ". "))
# (a possessive and a space: turn texts hold no other whitespace, else the gate opens)
_GATE_KIN = ("my ", "My ", "our ", "Our ", "his ", "His ", "her ", "Her ", "heir ")
_OTHER_SPACE = re.compile(r"[^\S ]")
_GATE_FACILITY = ("St", "Saint", "Memorial", "General", "Hospital", "Cancer", "Medical",
                  "Clinic", "Infirmary", "Hospice", "Health", "Oncology", "Infusion",
                  "Breast", "Pavilion", "Regional", "Institute", "Center", "Centre")
_NUMWORD_ALT = "|".join(_TENS + _TEENS)
# (on the lowercased turn) a cue's last word, whitespace, an age: _AGE_CUE, _AGE_REL
_GATE_AGE_CUE = re.compile(r"(?:'m|’m|am|was|'s|’s|is|turn|turned|turning|aged|age|of)\s+(?:\d|"
                           + _NUMWORD_ALT + ")")
_GATE_AGE_REL = re.compile(r"(?:is|was|be|turned|turns)\s+(?:\d|" + _NUMWORD_ALT + ")")
_GATE_AGE_REL_WORDS = ("lived", "died", "passed", "made")
_GATE_DIGITS4 = re.compile(r"\d{4}")
_GATE_RECORD = re.compile(r"\d[\d-]{3}")
# a capitalised word (CAP_RE) after whitespace after what ends a title (a letter, a
# period; in any case), a kinship cue (kinship word, plural s, comma), a place cue
_CAP_START = rf"(?:[ODL]['’])?[{UPPER}][^\W\d_]"  # how CAP_RE starts
_GATE_TITLE_CAP = re.compile(r"[A-Za-z.\u0130\u0131\u017f\u212a]\s+" + _CAP_START)
_GATE_KIN_CAP = re.compile(r"[a-zéP,]\s+" + _CAP_START)
_GATE_PLACE = re.compile(r"(?:in|to|from|outside|near|around|of)\s+" + _CAP_START)
_GATES = True  # False: every detector on every turn (tests compare the two)
_GATE_KEYS = ("email", "url", "digit", "date", "age", "admin", "age_old", "named", "title",
              "kin", "facility", "age_cue", "age_years", "age_rel", "phone", "record",
              "digits4", "digits5", "digits6", "place", "email_spoken", "ip", "postcode",
              "month")


class _Words(tuple):
    """Literal strings; a turn meets the condition if it contains one of them (found
    with ``str.find``, ~10x faster than a regex alternation of the same strings)."""


_G_URL = _Words(("http", "www") + _URL_TLDS)
_G_MONTH = _Words(_MONTH_PREFIXES)
_G_NUMWORD = _Words(_NUMWORD_HINTS)
_G_ADMIN = _Words(("County", "Parish", "Borough", "Township"))
_G_NAMED = _Words(("named", "called", "name"))
_G_TITLE = _Words(_GATE_TITLE)
_G_KIN = _Words(_GATE_KIN)
_G_FACILITY = _Words(_GATE_FACILITY)
_G_AGE_REL_WORDS = _Words(_GATE_AGE_REL_WORDS)
_G_EXOTIC = _Words(_EXOTIC_CASE)
_G_ASCII_DIGIT = _Words("0123456789")  # \d in an ASCII text
# [^\S \n]: whitespace other than a space or a newline (str.isspace: none above U+3000)
_G_OTHER_SPACE = _Words(c for c in map(chr, range(0x3001)) if c.isspace() and c not in " \n")
_G_DIGITS = {n: re.compile(r"\d{%d}" % n) for n in (4, 5, 6)}
_G_AT, _G_PLUS, _G_AT_WORD, _G_NINETY = (_Words([w]) for w in ("@", "+", "at", "ninety"))
_G_YEAR, _G_OLD, _G_DOT, _G_COLON = (_Words([w]) for w in ("year", "old", "dot", ":"))


# the word lists found in one pass over a session's text, and over its lowercased text
_SCAN_TEXT = (_G_EXOTIC, _G_MONTH, _G_ADMIN, _G_KIN, _G_FACILITY, _G_AT, _G_COLON,
              _G_OTHER_SPACE)
_SCAN_LOW = (_G_NUMWORD, _G_URL, _G_NINETY, _G_NAMED, _G_TITLE, _G_DOT)


@functools.lru_cache(maxsize=2)
def _automaton(groups: tuple) -> ahocorasick.Automaton:
    """Every word of ``groups``, each with the positions in ``groups`` of the lists
    holding it."""
    a = ahocorasick.Automaton()
    for w in {w for words in groups for w in words}:
        a.add_word(w, tuple(g for g, words in enumerate(groups) if w in words))
    a.make_automaton()
    return a


def _word_turns(s: str, starts: list[int], groups: tuple) -> list[set[int]]:
    """For each word list of ``groups``, the turns (joined in ``s``, turn i at
    ``starts[i]``) holding one of its words, in one pass (Aho-Corasick) instead of one
    regex or ``str.find`` scan per list (no gate word holds a newline, so none runs
    across :data:`_SEP`)."""
    out: list[set[int]] = [set() for _ in groups]
    for end, gs in _automaton(groups).iter(s):
        k = bisect.bisect_right(starts, end) - 1
        for g in gs:
            out[g].add(k)
    return out


def _gates_per_turn(texts: list[str]) -> dict[str, list[int]]:
    """For each detector, the turns meeting its necessary condition (see
    :func:`detect_turns`), turn by turn."""
    g: dict[str, list[int]] = {k: [] for k in _GATE_KEYS}
    for i, t in enumerate(texts):
        if not _GATES:
            for v in g.values():
                v.append(i)
            continue
        low = t.lower()
        digit = _DIGIT.search(t) is not None
        exotic = not t.isascii() and any(ch in t for ch in _EXOTIC_CASE)
        if "@" in t:
            g["email"].append(i)
        if "http" in low or "www" in low or any(x in low for x in _URL_TLDS):
            g["url"].append(i)
        if digit:
            g["digit"].append(i)
            run = max(map(len, _DIGITS.findall(t)))
            if run >= 4:
                g["digits4"].append(i)
                if run >= 5:
                    g["digits5"].append(i)
                    if run >= 6:
                        g["digits6"].append(i)
            if run >= 4 or "+" in t:
                g["phone"].append(i)
            if _GATE_RECORD.search(t):
                g["record"].append(i)
        month = any(m in t for m in _MONTH_PREFIXES)
        if digit or month:
            g["date"].append(i)
        if month:
            g["month"].append(i)
        if digit or any(w in low for w in _NUMWORD_HINTS):
            g["age"].append(i)
            if exotic or _GATE_AGE_CUE.search(low):
                g["age_cue"].append(i)
            if "year" in low and "old" in low:
                g["age_years"].append(i)
            if (exotic or any(w in low for w in _GATE_AGE_REL_WORDS)
                    or _GATE_AGE_REL.search(low)):
                g["age_rel"].append(i)
        if "County" in t or "Parish" in t or "Borough" in t or "Township" in t:
            g["admin"].append(i)
        if "at" in low and (digit or "ninety" in low):
            g["age_old"].append(i)
        if "named" in low or "called" in low or "name" in low:
            g["named"].append(i)
        if ((exotic or any(w in low for w in _GATE_TITLE) or _OTHER_SPACE.search(t))
                and _GATE_TITLE_CAP.search(t)):
            g["title"].append(i)
        if (any(w in t for w in _GATE_KIN) or _OTHER_SPACE.search(t)) and _GATE_KIN_CAP.search(t):
            g["kin"].append(i)
        if any(w in t for w in _GATE_FACILITY):
            g["facility"].append(i)
        if _GATE_PLACE.search(t):
            g["place"].append(i)
        if "dot" in low:
            g["email_spoken"].append(i)
        if digit or ":" in t:
            g["ip"].append(i)
        if digit:
            g["postcode"].append(i)
    return g


def _gates_session(full: "_View", texts: list[str]) -> dict[str, list[int]]:
    """:func:`_gates_per_turn` with one scan of the joined turns per condition: the
    same turns, as long as lowercasing keeps the length (no İ) and no turn holds a
    newline (both checked; else turn by turn). No condition can match across
    :data:`_SEP`."""
    if len(texts) <= 4:  # a few lines (free text, find_spans): turn by turn is faster
        return _gates_per_turn(texts)
    text = full.text
    low = text.lower()
    if (not _GATES or len(low) != len(text)
            or text.count("\n") != 2 * (len(texts) - 1)):
        return _gates_per_turn(texts)
    starts, n = full.starts, len(texts)

    scanned = {id(text): (_SCAN_TEXT, _word_turns(text, starts, _SCAN_TEXT)),
               id(low): (_SCAN_LOW, _word_turns(low, starts, _SCAN_LOW))}

    def turns(regex, s: str, within=None) -> set[int]:
        """The turns in which ``regex`` (a pattern or :class:`_Words`) matches."""
        found: set[int] = set()
        if within is not None:  # only these turns
            for i in sorted(within):
                a, b = starts[i], starts[i] + len(texts[i])
                if (any(s.find(w, a, b) != -1 for w in regex) if isinstance(regex, _Words)
                        else regex.search(s, a, b)):
                    found.add(i)
            return found
        if isinstance(regex, _Words):
            groups, hits = scanned[id(s)]
            for g, words in enumerate(groups):  # (always: else searched below)
                if words is regex:
                    return set(hits[g])
            for w in regex:  # each word, skipping to the next turn on a hit
                p = s.find(w)
                while p != -1:
                    k = bisect.bisect_right(starts, p) - 1
                    found.add(k)
                    if k + 1 >= n:
                        break
                    p = s.find(w, starts[k + 1])
            return found
        m = regex.search(s)
        while m is not None:
            k = bisect.bisect_right(starts, m.start()) - 1
            found.add(k)
            if k + 1 >= n:
                break
            m = regex.search(s, starts[k + 1])
        return found

    digit = turns(_G_ASCII_DIGIT if text.isascii() else _DIGIT, text)
    exotic = turns(_G_EXOTIC, text) if not text.isascii() else set()
    age = digit | turns(_G_NUMWORD, low)
    d4 = turns(_G_DIGITS[4], text, digit)
    other_space = turns(_G_OTHER_SPACE, text)
    d5 = turns(_G_DIGITS[5], text, d4)
    month = turns(_G_MONTH, text)
    g = {
        "email": turns(_G_AT, text),
        "url": turns(_G_URL, low),
        "digit": digit,
        "date": digit | month,
        "month": month,
        "age": age,
        "admin": turns(_G_ADMIN, text),
        "age_old": turns(_G_AT_WORD, low, digit | turns(_G_NINETY, low)),
        "named": turns(_G_NAMED, low),
        "title": turns(_GATE_TITLE_CAP, text, exotic | other_space | turns(_G_TITLE, low)),
        "kin": turns(_GATE_KIN_CAP, text, turns(_G_KIN, text) | other_space),
        "facility": turns(_G_FACILITY, text),
        "age_cue": (exotic & age) | turns(_GATE_AGE_CUE, low, age),
        "age_years": turns(_G_OLD, low, turns(_G_YEAR, low, age)),
        "age_rel": (exotic & age) | turns(_G_AGE_REL_WORDS, low, age)
        | turns(_GATE_AGE_REL, low, age),
        "phone": d4 | turns(_G_PLUS, text, digit),
        "record": turns(_GATE_RECORD, text, digit),
        "digits4": d4,
        "digits5": d5,
        "digits6": turns(_G_DIGITS[6], text, d5),
        "place": turns(_GATE_PLACE, text),
        "email_spoken": turns(_G_DOT, low),
        "ip": digit | turns(_G_COLON, text),
        "postcode": digit,
    }
    return {k: sorted(v) for k, v in g.items()}
