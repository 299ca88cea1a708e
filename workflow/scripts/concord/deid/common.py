"""Shared vocabulary of the de-identification package: the record types
(:class:`Turn`, :class:`Candidate`, :class:`Result`), identifier types, word lists and
regular-expression parts the detectors share, and the helpers that turn a regex into
candidates."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from re import _constants as _sre, _parser as _sre_parse

import pandas as pd

ROSTER_COLUMNS = ["participant_id", "session_id", "speaker_label", "full_name", "aliases"]
REDACTION_COLUMNS = ["start", "end", "type", "replacement", "detector"]
TYPES = ["NAME", "DATE", "AGE", "LOCATION", "FACILITY", "PHONE", "EMAIL", "ID", "URL"]

# Name tokens that are also ordinary English words: matched only when capitalised
# and not sentence-initial (see module docstring).
COMMON_WORD_NAMES = frozenset("""
hope faith grace joy june may april august summer autumn dawn rose lily daisy iris
ivy holly hazel olive pearl ruby amber jade violet heather ginger honey sunny
patience prudence charity destiny harmony trinity will mark bill pat sue art rich
frank guy drew rob chase hunter miles penny cherry brook clay dean don gene lane
max norm ray rod sandy stone wade woody young long white black brown green king
hill wood love bright star sky river page price rice wells ward hall bell cook
baker mason carter porter park marsh lake ford field rivers best
""".split())

MONTH_NAMES_AS_NAMES = frozenset({"April", "May", "June", "August"})
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]
MONTH_RE = (r"(?:January|February|March|April|May|June|July|August|September|October|"
            r"November|December|(?:Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept|Sep|Oct|Nov|Dec)\.?)")
_ORD_UNITS = ["first", "second", "third", "fourth", "fifth", "sixth", "seventh",
              "eighth", "ninth"]
ORDINAL_WORDS = (_ORD_UNITS + ["tenth", "eleventh", "twelfth", "thirteenth", "fourteenth",
                               "fifteenth", "sixteenth", "seventeenth", "eighteenth",
                               "nineteenth", "twentieth", "thirtieth"]
                 + [f"twenty[- ]{u}" for u in _ORD_UNITS] + ["thirty[- ]first"])
ORD_RE = "(?:" + "|".join(sorted(ORDINAL_WORDS, key=len, reverse=True)) + ")"
DAYNUM_RE = r"(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)?"
YEAR_RE = r"(?:,?\s+(?:19|20)\d\d\b)"

_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_TEENS = ["eighteen", "nineteen"]
_UNITS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
NUMWORD_RE = ("(?:(?:" + "|".join(_TENS) + r")(?:[- ](?:" + "|".join(_UNITS) + "))?|"
              + "|".join(_TEENS) + ")")
AGE_NUM_RE = r"(?:1[0-1][0-9]|[1-9][0-9]|" + NUMWORD_RE + ")"

# Capitalised words that are not names (sentence starters, pronouns, roles ...).
STOP_CAPS = frozenset("""
I I'm I've I'd I'll The A An And But So Or Then He She They We You It This That
These Those Yes No Not Okay OK Ok Well Oh Um Uh Also Because When What Who Why How
Where Which If In On At To From For With By Of As Is Was Are Were Be Been Do Did
Does Has Have Had My Our His Her Their Your Its Me Us Him Them There Here Now Just
Maybe Sure Right Thanks Thank Hi Hello Monday Tuesday Wednesday Thursday Friday
Saturday Sunday January February March April June July August September October
November December Christmas Easter Thanksgiving God Practitioner Navigator
Assistant Nurse Doctor Dr Mr Mrs Ms Miss Prof Professor Hospital Clinic Center
Centre Medical General Memorial Cancer Oncology Health Insurance Medicare Medicaid
English Spanish Facebook Google Tamoxifen Herceptin Ibrance Tylenol Advil
""".split())

# upper-case letters (Latin, with accents: Émile, Łukasz, Ñúñez, Øyvind, Şahin)
UPPER = ("A-ZÀ-ÖØ-ÞĀĂĄĆĈĊČĎĐĒĔĖĘĚĜĞĠĢĤĦĨĪĬĮİĲĴĶĹĻĽĿŁŃŅŇŊŌŎŐŒŔŖŘŚŜŞŠŢŤŦŨŪŬŮŰŲŴŶŸŹŻŽ")
# a capitalised word, any letters after the first (Szöllössy, José), an O'/D'/L'
# prefix with either apostrophe (O’Brien), hyphenated parts (Smith-Jones). The
# lookahead (such a word starts with an upper-case letter) changes no match but lets a
# scan for capitalised words reject a position in one test (4x faster).
CAP_RE = (rf"(?=[{UPPER}])(?:[ODL]['’])?[{UPPER}][^\W\d_]+(?:[-'’][{UPPER}][^\W\d_]+)*")
# CAP_RE at the start of a word (no letter before it), written to open with a character
# class: Python's re then skips to the next upper-case letter in C, 2-3x faster than
# testing a lookbehind at every position. The lookbehind is tested after the first
# letter (two characters back), the O'/D'/L' prefix by a lookbehind on that letter.
# Same matches as ``(?<![^\W\d_])`` + CAP_RE (tests/test_deid_speed.py).
CAP_WORD_RE = (rf"[{UPPER}](?<![^\W\d_].)(?:(?<=[ODL])['’][{UPPER}])?[^\W\d_]+"
               rf"(?:[-'’][{UPPER}][^\W\d_]+)*")

# the title in any case ("dr. Castellanos" as transcribed), the name capitalised
TITLE_RE = (r"\b(?i:Dr\.?|Doctor|Mr\.?|Mrs\.?|Ms\.?|Miss|Mx\.?|Prof\.?|Professor|"
            r"Nurse|Sister|Father|Pastor|Rabbi|Reverend|Rev\.|Chaplain|Deacon)\s+")
NAMED_RE = r"\b(?:named|called|name\s+is|name's|name’s)\s+"
KIN_WORDS = """husband wife partner spouse son daughter boy girl kid mother mom mum mama
mother-in-law father dad papa father-in-law sister brother sister-in-law brother-in-law
son-in-law daughter-in-law grandson granddaughter grandchild grandma grandmother granny
nana grandpa grandfather aunt auntie uncle niece nephew cousin friend boyfriend
girlfriend fiancé fiancée fiance fiancee neighbor neighbour oncologist doctor nurse
surgeon GP pastor priest caregiver boss coworker co-worker colleague roommate""".split()
KIN_RE = (r"\b(?:[Mm]y|[Oo]ur|[Hh]is|[Hh]er|[Tt]heir)\s+(?:(?:late|ex-?|older|younger|"
          r"oldest|youngest|little|big|eldest|step-?|best|dear)\s*)?(?:"
          + "|".join(re.escape(w) for w in sorted(KIN_WORDS, key=len, reverse=True))
          + r")s?,?\s+")

FACILITY_CUES = (r"(?:Memorial|General|Hospital|Hospitals|Cancer\s+Center|Cancer\s+Centre|"
                 r"Cancer\s+Institute|Medical\s+Center|Medical\s+Centre|Medical\s+Group|"
                 r"Clinic|Infirmary|Hospice|Health\s+System|Health\s+Center|Oncology|"
                 r"Infusion\s+Center|Breast\s+Center|Cancer\s+Care|Pavilion|Regional|Institute|"
                 r"Center|Centre)\b")
# a capitalised word; a period only as an initial ("J."), never a sentence end
FACILITY_CAP = r"[A-Z](?:[a-zA-Z'’&-]*|\.)"
FACILITY_LEAD_STOP = frozenset("""The A An At In To From And But So Then I We My Our
Their His Her This That Went Go Going When After Before Over Near""".split())


_CROSSES_SENTENCE = re.compile(r"(?<!\b[A-Z])(?<!\bS[tr])(?<!\bD[r])(?<!\bMrs)(?<!\bM[rs])[.!?]\s+(?=[A-Z])")
_SENT_END = re.compile(r"(?:^|[.!?]['\"”’)\]]*)\s*$")
_DATE_PREP = re.compile(r"\b(?:in|of|since|until|till|by|last|next|early|late|mid|"
                        r"this|that|from|through|to|before|after|during|around)\s+$",
                        re.IGNORECASE)


# A case-insensitive regex can match an ASCII letter in four other characters
# (İ ı ſ K); a turn holding one of them passes every case-insensitive gate.
_EXOTIC_CASE = ("\u0130", "\u0131", "\u017f", "\u212a")


@dataclass(frozen=True)
class Turn:
    line: int        # 1-based line number in the raw file
    label: str       # speaker label as written in the raw file
    text: str        # the turn (tabs and other whitespace controls -> spaces)
    offset: int = 0  # offset of ``text`` in the raw file content


@dataclass
class Candidate:
    start: int
    end: int
    type: str
    detector: str
    pseudonym: str | None = None   # roster person, e.g. "P07"; None -> [TYPE] or [NAME-n]
    # uncertain: why (goes to the review list) and what is done until a person decides
    reason: str | None = None
    suggest: str = "redact"


@dataclass
class Result:
    text: str                               # the de-identified file content
    redactions: pd.DataFrame                # REDACTION_COLUMNS
    key: dict = field(default_factory=dict)  # {"session_id", "entries"}
    # (raw_start, raw_end, type, detector) of every redaction in the *raw* file;
    # in memory only (for evaluation against gold spans), never written
    raw_spans: list = field(default_factory=list)
    # names/places found by cues in this session: casefolded -> (string, type)
    cue_strings: dict = field(default_factory=dict)
    # uncertain candidates of this session (review.REVIEW_COLUMNS dicts; restricted)
    review: list = field(default_factory=list)



# ---------------------------------------------------------------------------
# A first-character guard: a pattern that opens with a lookbehind, ``\b`` or an
# alternation of words is tried at every position of the text; a lookahead for the
# characters a match can start with, ``(?=[...])``, rejects most positions in one test
# and changes no match (it is implied by the pattern). Derived from the parsed pattern;
# a pattern it cannot read (a negated class, ``.``, inline flags ...) is left as it is.

_CATEGORY = {_sre.CATEGORY_DIGIT: r"\d", _sre.CATEGORY_SPACE: r"\s"}  # (broad ones: none)


def _first_items(items) -> tuple[list | None, bool]:
    """(the class items a match of ``items`` can start with or None if unknown,
    whether ``items`` can match the empty string)."""
    out: list = []
    for op, av in items:
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            continue  # zero width
        if op is _sre.LITERAL:
            return out + [(op, av)], False
        if op is _sre.IN:
            if any(o not in (_sre.LITERAL, _sre.RANGE) and
                   not (o is _sre.CATEGORY and a in _CATEGORY) for o, a in av):
                return None, False
            return out + list(av), False
        if op is _sre.BRANCH:
            nullable = False
            for alt in av[1]:
                f, n = _first_items(alt)
                if f is None:
                    return None, False
                out += f
                nullable |= n
            if not nullable:
                return out, False
        elif op is _sre.SUBPATTERN and not av[1] and not av[2]:  # a group, no flags
            f, n = _first_items(av[3])
            if f is None:
                return None, False
            out += f
            if not n:
                return out, False
        elif op is _sre.SUBPATTERN and av[1] == _sre.SRE_FLAG_IGNORECASE and not av[2]:
            # (?i:...) of ASCII literals: each in both cases, and the four characters
            # that match an ASCII letter case-insensitively (a superset: still a guard)
            f, n = _first_items(av[3])
            if f is None or any(o is not _sre.LITERAL or a > 0x7F for o, a in f):
                return None, False
            out += [(_sre.LITERAL, ord(x)) for o, a in f
                    for x in dict.fromkeys((chr(a).lower(), chr(a).upper()))]
            out += [(_sre.LITERAL, ord(x)) for x in _EXOTIC_CASE]
            if not n:
                return out, False
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            f, n = _first_items(av[2])
            if f is None:
                return None, False
            out += f
            if av[0] > 0 and not n:
                return out, False
        else:
            return None, False
    return out, True


def first_char_class(regex: re.Pattern) -> str | None:
    """The body of a character class holding every character a (non-empty) match of
    ``regex`` can start with, or None if that is not known."""
    items, nullable = _first_items(_sre_parse.parse(regex.pattern, regex.flags))
    if items is None or nullable or not items:
        return None
    parts = []
    for op, av in items:
        if op is _sre.LITERAL:
            parts.append(re.escape(chr(av)))
        elif op is _sre.RANGE:
            parts.append(re.escape(chr(av[0])) + "-" + re.escape(chr(av[1])))
        else:
            parts.append(_CATEGORY[av])
    return "".join(dict.fromkeys(parts))


@functools.lru_cache(maxsize=None)
def guarded(regex: re.Pattern) -> re.Pattern:
    """``regex`` with a first-character guard (same matches, faster scans)."""
    parsed = _sre_parse.parse(regex.pattern, regex.flags)
    if parsed.data and parsed.data[0][0] in (_sre.IN, _sre.LITERAL):
        return regex   # opens with a class: re already skips to it (a guard would not)
    cls = first_char_class(regex)
    if cls is None:
        return regex
    try:
        return re.compile(f"(?=[{cls}])(?:{regex.pattern})", regex.flags)
    except re.error:  # e.g. global inline flags, which must open the pattern
        return regex


def _pattern(regex: re.Pattern, text: str, type_: str, detector: str,
             group: str | None = None) -> list[Candidate]:
    out = []
    for m in guarded(regex).finditer(text):
        if group:
            s, e = m.span(group)
        else:
            s, e = m.span()
        while e > s and text[e - 1] in ".,;:!?)'\"”’":
            e -= 1
        if e > s:
            out.append(Candidate(s, e, type_, detector))
    return out



def _pattern2(regex: re.Pattern, text: str, type_: str, detector: str, g1: str,
              g2: str) -> tuple[list[Candidate], list[Candidate]]:
    """:func:`_pattern` for two groups of one regex in one pass."""
    out1, out2 = [], []
    for m in guarded(regex).finditer(text):
        for g, out in ((g1, out1), (g2, out2)):
            s, e = m.span(g)
            while e > s and text[e - 1] in ".,;:!?)'\"”’":
                e -= 1
            if e > s:
                out.append(Candidate(s, e, type_, detector))
    return out1, out2
