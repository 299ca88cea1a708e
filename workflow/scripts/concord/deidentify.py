"""De-identification of raw focus-group transcripts (pure functions).

A raw transcript in the ``labelled`` format has ``#`` header lines, blank lines
and turns ``Label: text``. :func:`deidentify_session` turns it into

* the de-identified text: one line per turn, ``SPEAKER<TAB>text``, the speaker
  replaced by its pseudonym (``P07`` or the moderator id, e.g. ``MOD``);
* redactions: ``start``, ``end`` (offsets of the *replacement* in the
  de-identified file content), ``type``, ``replacement``, ``detector`` -- never
  the original string;
* key entries ``original -> replacement`` (restricted, written 0600 by the script).

Detectors (all offline, rule-based; candidates are collected on the raw turn text,
overlaps are resolved longest-first, then by detector priority):

``email``, ``url``
    address patterns -> ``[EMAIL]``, ``[URL]``.
``roster``
    every roster person of the whole study (not only this session): full name,
    first name, surname, aliases, any case (``maria``, ``MARIA``), possessives
    (``Maria's`` -> ``[P07]'s``), word-bounded, longest first -> ``[P07]`` /
    ``[MOD]``. A name token that is also a common English word (``Hope``,
    ``June``, ``Rose``, ``Will``, see :data:`COMMON_WORD_NAMES`) only matches in
    its capitalised form, not at the start of a sentence, and (for month names)
    not after a date preposition ("in May") or before a day number. A token
    shared by several roster people is resolved to the one in this session if
    unique, otherwise it becomes a generic ``[NAME-n]``.
``phone``
    North-American and international numbers, 7-digit local numbers -> ``[PHONE]``.
``record``
    a cue (``MRN``, ``medical record number``, ``patient ID``, ``chart number``
    ...) followed by a code; only the code is replaced -> ``MRN [ID]``.
``long-number``
    any other run of 6+ digits -> ``[ID]``.
``date``
    dates more specific than a year: ``3/3/21``, ``2021-03-03``, ``March 3rd``,
    ``March 3, 2021``, ``3rd of March``, ``the third of March``, ``March the
    third``, ``March 2021``, a holiday with its year (``Thanksgiving 2021``), a day
    or month/day after a date preposition (``by the 14th``, ``on 10/14``) ->
    ``[DATE]``. A month name alone, and a holiday without a year, are kept.
``age``
    ``I'm 47``, ``I am forty-seven``, ``turned 60``, ``aged 52``, ``47 years old``,
    ``47-year-old``; only the number is replaced -> ``I'm [AGE]``,
    ``[AGE] years old``. Durations (``I'm 2 weeks out``) are not ages.
    Relatives' ages too: ``my mom is 93``, ``lived to 91``, ``died at 88``, and
    ages over 89 after "at" (``at 94 she still gardens``).
``facility``
    capitalised words before a cue word (``Memorial``, ``General``, ``Hospital``,
    ``Clinic``, ``Cancer Center``, ``Medical Center``, ``Regional``, ``Pavilion``,
    ``Institute``, ``Center`` ...), ``Memorial`` +
    capitalised words, ``St. X`` / ``Saint X`` -> ``[FACILITY]``.
``title``
    a title (any case: ``dr.`` as transcribed; also ``Reverend``, ``Chaplain``) and
    a capitalised name: ``Dr. Okafor`` -> ``Dr. [NAME-1]`` (the title is kept, so
    the role stays readable).
``named``
    ``named X``, ``called X``, ``name is X`` -> ``named [NAME-n]`` (pets too: they
    are over-redacted rather than risk a person).
``kinship``
    a kinship or relationship cue and a capitalised name: ``my husband Tom`` ->
    ``my husband [NAME-2]``; a month that is also a first name counts here
    (``my mom June``), unless a day number follows (then it is a date).
``propagated``
    a name found by ``title``, ``kinship`` or ``named`` (or a place found by a cue)
    anywhere in the session is also
    replaced where it occurs alone (same rules as roster names).
``place-cue``
    capitalised words after a residence/travel cue (``we moved to Glenhaven``,
    ``drove in from Harbor Falls``, ``patients from out around Fenwick``,
    ``... Medical Center in Alder Bay``) -> ``[LOCATION]``; propagated like names.
``address``, ``zip``, ``admin-unit``
    street addresses (number, capitalised words, a street type: ``1423 Maple Ridge
    Drive``, ``Apt 4``), PO boxes, ZIP codes after a cue (``ZIP is 02139``) or a
    state code (``MA 02139``), counties/parishes/boroughs/townships (``Travis
    County``) -> ``[LOCATION]``.
``gazetteer``
    place names from an optional list (``deidentify.gazetteer``) -> ``[LOCATION]``.

``[NAME-n]`` numbers are per session, in order of first appearance, and the same
string (case-insensitively) always gets the same number.
"""

from __future__ import annotations

import bisect
import functools
import re
import weakref
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from concord import transcripts
from concord.tsvio import InputError, read_tsv

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

CAP_RE = r"[A-Z][a-zA-Z]+(?:[-'’][A-Z][a-zA-Z]+)*"  # Okafor, O'Brien, Smith-Jones

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

PRIORITY = {"email": 0, "url": 1, "roster": 2, "phone": 3, "record": 4, "date": 5,
            "facility": 6, "title": 7, "kinship": 8, "propagated": 9, "gazetteer": 10,
            "place-cue": 10, "address": 6, "zip": 6, "admin-unit": 10, "named": 8,
            "age": 11, "long-number": 12}

_CROSSES_SENTENCE = re.compile(r"(?<!\b[A-Z])(?<!\bS[tr])(?<!\bD[r])(?<!\bMrs)(?<!\bM[rs])[.!?]\s+(?=[A-Z])")
_SENT_END = re.compile(r"(?:^|[.!?]['\"”’)\]]*)\s*$")
_DATE_PREP = re.compile(r"\b(?:in|of|since|until|till|by|last|next|early|late|mid|"
                        r"this|that|from|through|to|before|after|during|around)\s+$",
                        re.IGNORECASE)


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


# ---------------------------------------------------------------------------
# inputs

def load_roster(path, moderator_id: str = "MOD") -> pd.DataFrame:
    """Read the restricted roster (errors never echo names); see
    :func:`check_roster_identities`."""
    df = read_tsv(path, required=ROSTER_COLUMNS)
    for col in ["participant_id", "session_id", "speaker_label", "full_name"]:
        empty = df.index[df[col].str.strip() == ""]
        if len(empty):
            raise InputError(f"{path}, line {empty[0] + 2}: column '{col}' is empty; "
                             f"every roster row needs a {col}")
    dup = df[df.duplicated(["session_id", "speaker_label"], keep="first")]
    if len(dup):
        raise InputError(f"{path}, line {dup.index[0] + 2}: the same speaker_label appears "
                         f"twice for session {df.loc[dup.index[0], 'session_id']}; "
                         f"labels must be unique within a session")
    check_roster_identities(df, path, moderator_id)
    return df


def check_roster_identities(df: pd.DataFrame, path, moderator_id: str = "MOD") -> None:
    """One participant_id is one person, one person is one participant_id.

    * the same participant_id twice in one session -> error (duplicate ID);
    * one participant_id with different full names (in different sessions) -> error,
      except ``moderator_id``: the moderator role has one pseudonym whoever moderates;
    * one full name (case- and space-insensitive) under two participant_ids -> error
      naming both lines: either they are one person (use one ID) or two people with
      the same name, who must be told apart in the roster (e.g. a middle initial in
      ``full_name``) -- otherwise every mention would get the wrong pseudonym.

    A shared *first* name or surname (two Marias) is allowed: the bare token goes to
    the person of the session if unique there, otherwise to a generic ``[NAME-n]``
    (redacted, but not linked to either pseudonym). Messages never quote names.
    """
    seen_sess: dict[tuple, int] = {}
    seen_id: dict[str, tuple[int, str]] = {}
    seen_name: dict[str, tuple[int, str]] = {}
    for i, row in enumerate(df.itertuples(index=False), start=2):
        pid, sess = row.participant_id.strip(), row.session_id.strip()
        name = " ".join(row.full_name.split()).casefold()
        if (pid, sess) in seen_sess:
            raise InputError(f"{path}, line {i}: participant_id {pid} appears twice in session "
                             f"{sess} (also line {seen_sess[(pid, sess)]}); give each "
                             f"participant of a session a distinct participant_id")
        seen_sess[(pid, sess)] = i
        if pid in seen_id and seen_id[pid][1] != name and pid != moderator_id:
            raise InputError(f"{path}, line {i}: participant_id {pid} has a different full_name "
                             f"than on line {seen_id[pid][0]}; one participant_id is one "
                             f"person: fix the name or use a new participant_id")
        seen_id.setdefault(pid, (i, name))
        if name in seen_name and seen_name[name][1] != pid:
            j, other = seen_name[name]
            raise InputError(f"{path}, lines {j} and {i}: participants {other} and {pid} have the "
                             f"same full_name; if they are one person use one participant_id, "
                             f"otherwise tell them apart in full_name (e.g. a middle initial)")
        seen_name.setdefault(name, (i, pid))


def parse_labelled(text: str, labels: set[str], source: str) -> list[Turn]:
    """Parse a ``labelled`` transcript; every turn's label must be in ``labels``."""
    turns = []
    pos = 0
    for i, raw in enumerate(text.split("\n"), start=1):
        line_start = pos
        pos += len(raw) + 1
        raw = raw.rstrip("\r")
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            raise InputError(f"{source}, line {i}: expected 'Label: text' (a speaker label, "
                             f"a colon, the turn); add the speaker label or make the line a "
                             f"'#' comment")
        label, body = line.split(":", 1)
        label = label.strip()
        if label not in labels:
            raise InputError(f"{source}, line {i}: speaker label {label!r} is not in the "
                             f"roster for this session; add a roster row with this "
                             f"speaker_label (or fix the label in the transcript)")
        body_start = raw.index(":") + 1
        stripped = body.strip()
        body_start = line_start + raw.index(stripped, body_start) if stripped else line_start
        # keep offsets: every whitespace character becomes one space
        turns.append(Turn(i, label, re.sub(r"\s", " ", stripped), body_start))
    return turns


# ---------------------------------------------------------------------------
# name matching helpers

def _name_tokens(full_name: str) -> list[str]:
    toks = [t.strip(",") for t in full_name.split()]
    return [t for t in toks if len(t) > 1 and not t.endswith(".") and t not in STOP_CAPS]


def _sentence_initial(text: str, start: int) -> bool:
    return bool(_SENT_END.search(text[:start]))


def _name_ok(name: str, text: str, start: int, end: int) -> bool:
    """Case and context rules for a (case-insensitive) name match at text[start:end]."""
    found = text[start:end]
    if " " in name.strip() or name.lower() not in COMMON_WORD_NAMES:
        return True  # multi-word names and non-word names: any case
    if found != name[0].upper() + name[1:] and found != name:
        return False
    if not found[:1].isupper() or _sentence_initial(text, start):
        return False
    if name.capitalize() in MONTHS:
        if _DATE_PREP.search(text[:start]) or re.match(r"\s+(?:the\s+)?\d|\s+" + ORD_RE,
                                                         text[end:]):
            return False
    return True


class _Hit:
    """The part of ``re.Match`` the name matchers use."""
    __slots__ = ("_s", "_e", "_t")

    def __init__(self, s: int, e: int, t: str):
        self._s, self._e, self._t = s, e, t

    def start(self) -> int:
        return self._s

    def end(self) -> int:
        return self._e

    def span(self) -> tuple[int, int]:
        return self._s, self._e

    def group(self, _=0) -> str:
        return self._t


_TOKEN = re.compile(r"\w+")


class WordMatcher:
    """Case-insensitive, word-bounded matching of many strings (names, places) --
    the same matches as ``re.finditer`` over one alternation
    ``(?<![\\w@.])(?:s1|s2|...)(?![\\w@]|\\.\\w)`` (longest first, spaces matching
    any whitespace), ~6x faster (0.12 s vs 0.72 s for Study B's roster over its
    1.6 MB): a match can only start at the start of a word,
    so each word of the text is looked up (case-folded) among the strings' first
    words and only those strings are tried there."""

    def __init__(self, strings):
        # anchor word -> strings starting with it (longest first); each anchor's
        # patterns are compiled on first use, so a large roster or study lexicon
        # costs only the anchors that occur in the texts searched
        self._strings: dict[str, list[str]] = {}
        self._compiled: dict[str, list[re.Pattern]] = {}
        for s in sorted(set(strings), key=lambda s: (-len(s), s)):
            first = _TOKEN.match(s)
            if first is None:  # a string not starting with a word character
                raise ValueError(f"cannot match {s!r}: it must start with a letter or digit")
            self._strings.setdefault(first.group().casefold(), []).append(s)
        self.anchors = self._strings.keys()
        self._nonascii = {w for w in self.anchors if not w.isascii()}

    def _patterns(self, anchor: str) -> list[re.Pattern]:
        pats = self._compiled.get(anchor)
        if pats is None:
            pats = self._compiled[anchor] = [_string_pattern(s) for s in self._strings[anchor]]
        return pats

    def finditer(self, text: str):
        """The matches in ``text``, in text order (non-overlapping, longest first)."""
        if any(ch in text for ch in _EXOTIC_CASE):
            starts = self._starts_general(text)
        else:
            starts = self._starts_lower(text)
        pos = 0
        for start, w in starts:
            if start < pos:
                continue
            for pat in self._patterns(w):
                hit = pat.match(text, start)
                if hit:
                    pos = hit.end()
                    yield _Hit(hit.start(), hit.end(), hit.group())
                    break

    def _starts_general(self, text: str) -> list[tuple[int, str]]:
        # which first words occur at all (tokenising and set lookups run in C), then
        # their occurrences (case-insensitive, word-bounded)
        present = self.anchors & set(_TOKEN.findall(text.casefold()))
        return sorted((m.start(), w) for w in present
                      for m in self._word_pat(w).finditer(text))

    def _starts_lower(self, text: str) -> list[tuple[int, str]]:
        """:meth:`_starts_general` for a text without the four non-ASCII characters
        that a case-insensitive pattern matches to an ASCII letter (İ ı ſ K): there an
        ASCII first word occurs case-insensitively exactly where it occurs in
        ``text.lower()`` (same length), which a case-sensitive literal search finds
        fast in a long text; each place is confirmed with the word pattern."""
        low, tokens = _lower_tokens(text)
        out = []
        for w in self.anchors & tokens:
            if not w.isascii():
                continue
            wp = self._word_pat(w)
            for m in self._tail_pat(w).finditer(low):
                if wp.match(text, m.start()):
                    out.append((m.start(), w))
        if self._nonascii:
            present = self._nonascii & set(_TOKEN.findall(text.casefold()))
            out += [(m.start(), w) for w in present for m in self._word_pat(w).finditer(text)]
        out.sort()
        return out

    @staticmethod
    def _tail_pat(word: str) -> re.Pattern:
        return _tail_pattern(word)

    @staticmethod
    def _word_pat(word: str) -> re.Pattern:
        return _word_pattern(word)


_LAST_TOKENS: list = [None, None, None]


def _lower_tokens(text: str) -> tuple[str, set[str]]:
    """``text.lower()`` and its set of words; the last text's are kept (the roster and
    the propagated-name matchers search the same session text)."""
    if _LAST_TOKENS[0] != text:
        low = text.lower()
        _LAST_TOKENS[:] = [text, low, set(_TOKEN.findall(low))]
    return _LAST_TOKENS[1], _LAST_TOKENS[2]


# compiled once per process, shared by every matcher (a session's propagated-name
# matcher is new, its words mostly are not)
@functools.lru_cache(maxsize=65536)
def _word_pattern(word: str) -> re.Pattern:
    return re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)", re.IGNORECASE)


@functools.lru_cache(maxsize=65536)
def _tail_pattern(word: str) -> re.Pattern:
    return re.compile(re.escape(word) + r"(?!\w)")


@functools.lru_cache(maxsize=65536)
def _string_pattern(s: str) -> re.Pattern:
    """One string of a :class:`WordMatcher`, compiled once per process."""
    body = re.escape(s).replace(r"\ ", r"\s+")
    return re.compile(r"(?<![\w@.])" + body + r"(?![\w@]|\.\w)", re.IGNORECASE)


def _word_regex(strings) -> WordMatcher | None:
    strings = set(strings)
    return WordMatcher(strings) if strings else None


class _RosterNames:
    """The session-independent part of the roster names of a whole study: every
    form (full name, name tokens, aliases; casefolded -> as written), the
    participant ids per form, overall and per session, and one matcher.
    Built once per roster object (see :func:`_roster_cache`)."""

    def __init__(self, roster: pd.DataFrame):
        self.by_name: dict[str, set[str]] = {}
        self.local: dict[str, dict[str, set[str]]] = {}
        self.forms: dict[str, str] = {}
        for row in roster.itertuples(index=False):
            names = [row.full_name.strip()] + _name_tokens(row.full_name)
            names += [a.strip() for a in str(row.aliases).split(";") if a.strip()]
            local = self.local.setdefault(row.session_id, {})
            for n in names:
                if len(n) < 2:
                    continue
                k = n.casefold()
                self.forms.setdefault(k, n)
                self.by_name.setdefault(k, set()).add(row.participant_id)
                local.setdefault(k, set()).add(row.participant_id)
        self.regex = _word_regex(self.forms.values())


class _RosterCache:
    """What a study roster gives every session: names and matcher, each session's
    speaker labels, roster surrogates per study id."""

    def __init__(self, roster: pd.DataFrame):
        self.names = _RosterNames(roster)
        self.labels: dict[str, dict[str, str]] = {}
        for sess, label, pid in zip(roster["session_id"], roster["speaker_label"],
                                    roster["participant_id"]):
            self.labels.setdefault(sess, {})[label.strip()] = pid
        self.surrogates: dict[str, RosterSurrogates] = {}


_ROSTERS: dict[int, tuple] = {}


def _roster_cache(roster: pd.DataFrame) -> _RosterCache:
    """The :class:`_RosterCache` of this roster object, built on first use and reused
    for every further session of the process (a sharded job runs many sessions with
    one roster of thousands of participants). Keyed on the object's identity (held
    by a weak reference, so a new roster loaded at the same address is not taken for
    the old one) and its shape: do not modify a roster in place between calls."""
    hit = _ROSTERS.get(id(roster))
    if hit is not None and hit[0]() is roster and hit[1] == roster.shape:
        return hit[2]
    cache = _RosterCache(roster)
    for k in [k for k, v in _ROSTERS.items() if v[0]() is None]:
        del _ROSTERS[k]
    _ROSTERS[id(roster)] = (weakref.ref(roster), roster.shape, cache)
    return cache


class NameIndex:
    """Roster names of the whole study -> pseudonyms, for one session."""

    def __init__(self, roster: pd.DataFrame, session: str):
        rn = _roster_cache(roster).names
        self.forms = rn.forms
        self.regex = rn.regex
        self._by_name = rn.by_name
        self._local = rn.local.get(session, {})
        self._pseudonym: dict[str, str | None] = {}

    def pseudonym(self, k: str) -> str | None:
        """The participant id of form ``k``: unique in the study, else unique in this
        session, else None (ambiguous -> generic [NAME-n])."""
        if k not in self._pseudonym:
            ids = self._by_name[k]
            if len(ids) == 1:
                self._pseudonym[k] = next(iter(ids))
            elif len(self._local.get(k, ())) == 1:
                self._pseudonym[k] = next(iter(self._local[k]))
            else:
                self._pseudonym[k] = None
        return self._pseudonym[k]

    def find(self, text: str) -> list[Candidate]:
        return [c for _, c in self.find_in(text, [0], [text])]

    def find_in(self, full: str, starts: list[int], texts: list[str]):
        """(turn index, candidate in turn offsets) for the turns ``texts`` joined in
        ``full`` (turn i at ``starts[i]``)."""
        if self.regex is None:
            return
        for i, s, e, found in _word_hits(self.regex, full, starts, texts):
            k = " ".join(found.split()).casefold()
            name = self.forms[k]
            if not _name_ok(name, texts[i], s, e):
                continue
            pid = self.pseudonym(k)
            yield i, Candidate(s, e, "NAME", "roster" if pid else "roster-ambiguous", pid)


def _word_hits(matcher: WordMatcher, full: str, starts: list[int], texts: list[str]):
    """(turn index, start, end, matched text) of a :class:`WordMatcher` over turns
    ``texts`` joined in ``full`` (turn i at ``starts[i]``), offsets in the turn. One
    pass over the session; turn by turn when the text has a character that makes the
    matcher take its general path (one scan per word, too slow over a session)."""
    if any(ch in full for ch in _EXOTIC_CASE):
        for i, text in enumerate(texts):
            for m in matcher.finditer(text):
                yield i, m.start(), m.end(), m.group(0)
        return
    for m in matcher.finditer(full):
        i = bisect.bisect_right(starts, m.start()) - 1
        yield i, m.start() - starts[i], m.end() - starts[i], m.group(0)


# ---------------------------------------------------------------------------
# pattern detectors

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)[^\s<>\"]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|"
                  r"edu|gov|io|info|health|co\.uk|org\.uk)(?:/[^\s<>\"]*)?\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?!\w)"
    r"|(?<![\w.-])\d{3}-\d{4}(?![\w-])"
    r"|(?<!\w)0\d{3,4}\s?\d{6}(?!\w)")
_RECORD = re.compile(
    r"\b(?:MRN|M\.R\.N\.|[Mm]edical\s+[Rr]ecord(?:\s+(?:[Nn]umber|[Nn]o\.?|#))?|"
    r"[Rr]ecord\s+(?:[Nn]umber|[Nn]o\.?|#)|[Pp]atient\s+(?:ID|[Nn]umber|[Nn]o\.?)|"
    r"[Cc]hart\s+(?:[Nn]umber|[Nn]o\.?)|[Aa]ccount\s+(?:[Nn]umber|[Nn]o\.?)|"
    r"[Mm]ember\s+(?:ID|[Nn]umber)|[Pp]olicy\s+[Nn]umber|[Ii]nsurance\s+(?:ID|[Nn]umber)|"
    r"ID(?:\s+[Nn]umber)?|SSN|[Ss]ocial\s+[Ss]ecurity(?:\s+[Nn]umber)?)"
    r"(?:\s*(?:is|was|:|#|number|no\.?))*\s*"
    r"(?P<v>[A-Z]{0,4}[-\s]?\d[\d-]{3,}[A-Za-z0-9]*)")
_LONGNUM = re.compile(r"(?<![\w.,])\d{6,}(?![\w.,]\d)")
_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"
    r"|\b\d{1,2}/(?:19|20)\d\d\b"
    rf"|\b{MONTH_RE}\s+(?:the\s+)?(?:{DAYNUM_RE}|{ORD_RE})\b{YEAR_RE}?"
    rf"|\b(?:the\s+)?(?:{DAYNUM_RE}|{ORD_RE})\s+(?:of\s+)?{MONTH_RE}(?!\w){YEAR_RE}?"
    rf"|\b{MONTH_RE}\s+(?:of\s+)?(?:19|20)\d\d\b")
_DURATION_AFTER = (r"(?!\s*(?:%|percent|mg|milligrams?|ml|cc|kg|kilos?|lbs?|pounds?|minutes?|"
                   r"mins?|hours?|hrs?|days?|weeks?|months?|years?|cycles?|rounds?|times?|"
                   r"doses?|pills?|tablets?|miles?|feet|foot|inches|cm|mm|o'clock|a\.?m\b|"
                   r"p\.?m\b|out\b|of\b|x\b|treatments?|infusions?|sessions?|visits?|kids|"
                   r"children|grandchildren|people|patients?|st\b|nd\b|rd\b|th\b|\.\d|,\d|"
                   r"[/:-]\d))")
_AGE_CUE = re.compile(
    r"\b(?:I'm|I’m|I\s+am|I\s+was|[Ss]he's|[Hh]e's|[Ss]he’s|[Hh]e’s|[Ss]he\s+is|[Hh]e\s+is|"
    r"[Ss]he\s+was|[Hh]e\s+was|turned|turning|[Aa]ged|[Aa]ge|at\s+age|just\s+turned)\s+"
    r"(?P<v>" + AGE_NUM_RE + r")(?![\w-])" + _DURATION_AFTER, re.IGNORECASE)
_AGE_REL = re.compile(
    r"\b(?:lived\s+to(?:\s+be)?|died\s+at|passed\s+(?:away\s+)?at|made\s+it\s+to)\s+"
    r"(?P<v>" + AGE_NUM_RE + r")(?![\w-])" + _DURATION_AFTER
    + r"|\b(?:" + "|".join(re.escape(w) for w in sorted(KIN_WORDS, key=len, reverse=True))
    + r")s?\s+(?:is|was|will\s+be|just\s+turned|turned|turns)\s+(?P<w>" + AGE_NUM_RE
    + r")(?![\w-])" + _DURATION_AFTER, re.IGNORECASE)
_AGE_YEARS = re.compile(
    r"(?<![\w.-])(?P<v>\d{1,3}|" + NUMWORD_RE + r")(?:\s+|-)years?(?:\s+|-)old\b",
    re.IGNORECASE)
_STREET_TYPES = (r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Drive|Dr\.?|Lane|Ln\.?|"
                 r"Boulevard|Blvd\.?|Court|Ct\.?|Way|Place|Pl\.?|Terrace|Circle|Cir\.?|"
                 r"Highway|Hwy\.?|Parkway|Pkwy\.?|Trail|Pike|Row|Square|Loop)")
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:{CAP_RE}\s+){{1,3}}{_STREET_TYPES}(?![\w])"
    r"(?:,?\s+(?:Apt\.?|Apartment|Unit|Suite|#)\s*[\w-]+)?"
    r"|\b(?:P\.?\s?O\.?\s+[Bb]ox|[Pp]ost\s+[Oo]ffice\s+[Bb]ox)\s+\d+")
_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT "
           "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").split()
_ZIP = re.compile(
    r"\b(?:[Zz][Ii][Pp](?:\s*[Cc]ode)?|[Zz]ipcode|[Pp]ostal\s+[Cc]ode)\s*(?:is|was|:|of|#)?\s*"
    r"(?P<v>\d{5}(?:-\d{4})?)(?![\w-])"
    r"|\b(?:" + "|".join(_STATES) + r"),?\s+(?P<w>\d{5}(?:-\d{4})?)(?![\w-])")
_ADMIN_UNIT = re.compile(rf"\b(?:{CAP_RE}\s+){{1,3}}(?:County|Parish|Borough|Township)\b")
_HOLIDAYS = (r"(?:Thanksgiving|Christmas(?:\s+Eve|\s+Day)?|New\s+Year['’]s(?:\s+Eve|\s+Day)?|"
             r"Easter|Halloween|Valentine['’]s\s+Day|Independence\s+Day|(?:the\s+)?Fourth\s+of\s+"
             r"July|Memorial\s+Day|Labor\s+Day|Mother['’]s\s+Day|Father['’]s\s+Day)")
_DATE_HOLIDAY = re.compile(  # a holiday with its year is a specific date
    rf"\b{_HOLIDAYS}\s+(?:of\s+)?(?:19|20)\d\d\b")
_DATE_DAY = re.compile(
    # a day of the month alone ("by the 14th"), month/day without a year ("was 10/14"),
    # after a date cue; only the date is redacted
    r"\b(?:on|by|until|till|since|before|after|from)\s+"
    r"(?P<v>the\s+(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)\b"
    r"|(?:1[0-2]|0?[1-9])/(?:3[01]|[12][0-9]|0?[1-9])(?![\d/]))")
_AGE_OLD = re.compile(  # ages over 89 after "at" ("at 94 she still gardens")
    r"\b[Aa]t\s+(?P<v>9[0-9]|1[01][0-9]|ninety(?:[- ](?:" + "|".join(_UNITS) + r"))?)(?![\w-])"
    + _DURATION_AFTER + r"(?!\s*(?:degrees|mph|dollars|bucks))", re.IGNORECASE)
_FACILITY = re.compile(
    rf"\b(?:(?:St\.?|Saint)\s+{CAP_RE}(?:['’]s)?(?:\s+{FACILITY_CAP})*"
    rf"|(?:{FACILITY_CAP}\s+){{1,4}}{FACILITY_CUES}(?:\s+(?:of\s+)?{FACILITY_CAP})*"
    rf"|Memorial(?:\s+{FACILITY_CAP})+)")
_FACILITY_TAIL = re.compile(r"(?:\s+(?:of|[A-Z][a-zA-Z'’&.-]*))*$")


def _pattern(regex: re.Pattern, text: str, type_: str, detector: str,
             group: str | None = None) -> list[Candidate]:
    out = []
    for m in regex.finditer(text):
        if group:
            s, e = m.span(group)
        else:
            s, e = m.span()
        while e > s and text[e - 1] in ".,;:!?)'\"”’":
            e -= 1
        if e > s:
            out.append(Candidate(s, e, type_, detector))
    return out


def _facilities(text: str) -> list[Candidate]:
    out = []
    for m in _FACILITY.finditer(text):
        s, e = m.span()
        words = text[s:e].split()
        # drop leading sentence words ("At Riverside General" -> "Riverside General")
        while len(words) > 1 and words[0] in FACILITY_LEAD_STOP:
            s = text.index(words[1], s + len(words[0]))
            words = words[1:]
        # drop a trailing "of", trailing punctuation and a trailing stop word
        seg = text[s:e]
        seg = seg.rstrip(".,;:!?'’")
        while True:
            parts = seg.rsplit(None, 1)
            if len(parts) == 2 and (parts[1] in ("of",) or parts[1] in STOP_CAPS
                                    and parts[1] not in ("Hospital", "Clinic", "Center",
                                                          "Centre", "General", "Memorial",
                                                          "Oncology", "Health")):
                seg = parts[0].rstrip(".,;:!?")
            else:
                break
        if not re.search(r"[A-Z]", seg) or seg in STOP_CAPS:
            continue
        out.append(Candidate(s, s + len(seg), "FACILITY", "facility"))
    return out


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


_PLACE_CUE = re.compile(
    r"\b(?:(?:live|lives|living|lived)\s+(?:out\s+|over\s+|up\s+|down\s+)?in|"
    r"moved\s+(?:out\s+|back\s+|over\s+)?(?:to|from)|"
    r"(?:drove|drive|driving|came|come|coming|commute|flew|fly)\s+(?:in\s+|up\s+|down\s+|"
    r"back\s+|over\s+|all\s+the\s+way\s+)?(?:to|from)|"
    r"grew\s+up\s+in|born\s+in|raised\s+in|home\s+(?:in|to)|"
    r"(?:outside|near|around)(?:\s+of)?|"
    r"(?:Center|Centre|Hospital|Clinic|Institute|Pavilion|Regional|Memorial|General|"
    r"Associates|Partners|Group|Practice|Hospice|Infirmary|System|Oncology)\s+in)\s+"
    rf"(?P<n>{CAP_RE}(?:\s+{CAP_RE}){{0,2}})")


def _place_cues(text: str) -> list[Candidate]:
    """Capitalised words after a residence/travel cue ("we moved to Glenhaven")."""
    out = []
    for m in _PLACE_CUE.finditer(text):
        words = m.group("n").split()
        keep = []
        for w in words:
            if w in STOP_CAPS or w in MONTHS:
                break
            keep.append(w)
        if not keep:
            continue
        s = m.start("n")
        out.append(Candidate(s, s + len(" ".join(keep)), "LOCATION", "place-cue"))
    return out


def _gazetteer(regex: re.Pattern | None, places: dict[str, str], text: str) -> list[Candidate]:
    out = []
    if regex is None:
        return out
    for m in regex.finditer(text):
        found = m.group(0)
        form = places[" ".join(found.split()).casefold()]
        if found in (form, form.upper()) or " ".join(found.split()) in (form, form.upper()):
            out.append(Candidate(m.start(), m.end(), "LOCATION", "gazetteer"))
    return out


_DIGIT = re.compile(r"\d")
_DIGITS = re.compile(r"\d+")
_URL_TLDS = (".com", ".org", ".net", ".edu", ".gov", ".io", ".info", ".health", ".co.uk")
_MONTH_PREFIXES = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct",
                   "Nov", "Dec")
_NUMWORD_HINTS = tuple(_TENS + _TEENS)


def detect(text: str, names: NameIndex, gazetteer_regex=None, places=None) -> list[Candidate]:
    """All candidate identifiers in one turn's text (overlapping, unresolved)."""
    return detect_turns([text], names, gazetteer_regex, places)[0]


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
_EXOTIC_CASE = ("\u0130", "\u0131", "\u017f", "\u212a")
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
_GATE_AGE_CUE = re.compile(r"(?:'m|’m|am|was|'s|’s|is|turned|turning|aged|age)\s+(?:\d|"
                           + _NUMWORD_ALT + ")")
_GATE_AGE_REL = re.compile(r"(?:is|was|be|turned|turns)\s+(?:\d|" + _NUMWORD_ALT + ")")
_GATE_AGE_REL_WORDS = ("lived", "died", "passed", "made")
_GATE_DIGITS4 = re.compile(r"\d{4}")
_GATE_RECORD = re.compile(r"\d[\d-]{3}")
# a capitalised word (CAP_RE) after whitespace after what ends a title (a letter, a
# period; in any case), a kinship cue (kinship word, plural s, comma), a place cue
_GATE_TITLE_CAP = re.compile(r"[A-Za-z.\u0130\u0131\u017f\u212a]\s+[A-Z][a-zA-Z]")
_GATE_KIN_CAP = re.compile(r"[a-zéP,]\s+[A-Z][a-zA-Z]")
_GATE_PLACE = re.compile(r"(?:in|to|from|outside|near|around|of)\s+[A-Z][a-zA-Z]")
_GATES = True  # False: every detector on every turn (tests compare the two)
_GATE_KEYS = ("email", "url", "digit", "date", "age", "admin", "age_old", "named", "title",
              "kin", "facility", "age_cue", "age_years", "age_rel", "phone", "record",
              "digits4", "digits5", "digits6", "place")


def _alt(words) -> re.Pattern:
    return re.compile("|".join(re.escape(w) for w in words))


_G_URL = _alt(("http", "www") + _URL_TLDS)
_G_MONTH = _alt(_MONTH_PREFIXES)
_G_NUMWORD = _alt(_NUMWORD_HINTS)
_G_ADMIN = _alt(("County", "Parish", "Borough", "Township"))
_G_NAMED = _alt(("named", "called", "name"))
_G_TITLE = _alt(_GATE_TITLE)
_G_KIN = _alt(_GATE_KIN)
_G_FACILITY = _alt(_GATE_FACILITY)
_G_AGE_REL_WORDS = _alt(_GATE_AGE_REL_WORDS)
_G_EXOTIC = _alt(_EXOTIC_CASE)
_G_OTHER_SPACE = re.compile(r"[^\S \n]")
_G_DIGITS = {n: re.compile(r"\d{%d}" % n) for n in (4, 5, 6)}
_G_AT, _G_PLUS, _G_AT_WORD, _G_NINETY = _alt("@"), _alt("+"), _alt(["at"]), _alt(["ninety"])
_G_YEAR, _G_OLD = _alt(["year"]), _alt(["old"])


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
        if digit or any(m in t for m in _MONTH_PREFIXES):
            g["date"].append(i)
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
    return g


def _gates_session(full: "_View", texts: list[str]) -> dict[str, list[int]]:
    """:func:`_gates_per_turn` with one scan of the joined turns per condition: the
    same turns, as long as lowercasing keeps the length (no İ) and no turn holds a
    newline (both checked; else turn by turn). No condition can match across
    :data:`_SEP`."""
    text = full.text
    low = text.lower()
    if (not _GATES or len(low) != len(text)
            or text.count("\n") != 2 * (len(texts) - 1)):
        return _gates_per_turn(texts)
    starts, n = full.starts, len(texts)

    def turns(regex: re.Pattern, s: str, within=None) -> set[int]:
        found: set[int] = set()
        if within is not None:  # only these turns
            for i in sorted(within):
                if regex.search(s, starts[i], starts[i] + len(texts[i])):
                    found.add(i)
            return found
        m = regex.search(s)
        while m is not None:
            k = bisect.bisect_right(starts, m.start()) - 1
            found.add(k)
            if k + 1 >= n:
                break
            m = regex.search(s, starts[k + 1])
        return found

    digit = turns(_DIGIT, text)
    exotic = turns(_G_EXOTIC, text) if not text.isascii() else set()
    age = digit | turns(_G_NUMWORD, low)
    d4 = turns(_G_DIGITS[4], text, digit)
    other_space = turns(_G_OTHER_SPACE, text)
    d5 = turns(_G_DIGITS[5], text, d4)
    g = {
        "email": turns(_G_AT, text),
        "url": turns(_G_URL, low),
        "digit": digit,
        "date": digit | turns(_G_MONTH, text),
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
    }
    return {k: sorted(v) for k, v in g.items()}


def _pattern2(regex: re.Pattern, text: str, type_: str, detector: str, g1: str,
              g2: str) -> tuple[list[Candidate], list[Candidate]]:
    """:func:`_pattern` for two groups of one regex in one pass."""
    out1, out2 = [], []
    for m in regex.finditer(text):
        for g, out in ((g1, out1), (g2, out2)):
            s, e = m.span(g)
            while e > s and text[e - 1] in ".,;:!?)'\"”’":
                e -= 1
            if e > s:
                out.append(Candidate(s, e, type_, detector))
    return out1, out2


def detect_turns(texts: list[str], names: NameIndex, gazetteer_regex=None,
                 places=None) -> list[list[Candidate]]:
    """:func:`detect` for every turn of a session, in one pass per detector over the
    joined turns (:class:`_View`). A detector runs only over the turns that meet a
    necessary condition of its pattern (a digit, an ``@``, a month, a title word ...),
    tested per turn with substring tests: the same candidates, found faster."""
    out: list[list[Candidate]] = [[] for _ in texts]
    full = _View(texts, range(len(texts)))
    g = _gates_session(full, texts)
    views: dict[str, _View | None] = {k: _View(texts, v) if v else None for k, v in g.items()}

    def pattern(v, regex, type_, detector, group=None):
        if v is not None:
            v.place(_pattern(regex, v.text, type_, detector, group), out)

    def pattern2(v, regex, type_, detector, g1, g2):
        if v is not None:
            c1, c2 = _pattern2(regex, v.text, type_, detector, g1, g2)
            v.place(c1, out)
            v.place(c2, out)

    v_digit = views["digit"]
    pattern(views["email"], _EMAIL, "EMAIL", "email")
    pattern(views["url"], _URL, "URL", "url")
    for i, c in names.find_in(full.text, full.starts, texts):
        out[i].append(c)
    pattern(views["phone"], _PHONE, "PHONE", "phone")
    pattern(views["record"], _RECORD, "ID", "record", "v")
    pattern(views["digits6"], _LONGNUM, "ID", "long-number")
    pattern(views["date"], _DATE, "DATE", "date")
    pattern(views["age_cue"], _AGE_CUE, "AGE", "age", "v")
    pattern(views["age_years"], _AGE_YEARS, "AGE", "age", "v")
    pattern2(views["age_rel"], _AGE_REL, "AGE", "age", "v", "w")
    if views["place"] is not None:
        views["place"].place(_place_cues(views["place"].text), out)
    pattern(v_digit, _ADDRESS, "LOCATION", "address")
    pattern2(views["digits5"], _ZIP, "LOCATION", "zip", "v", "w")
    pattern(views["digits4"], _DATE_HOLIDAY, "DATE", "date")
    pattern(v_digit, _DATE_DAY, "DATE", "date", "v")
    pattern(views["admin"], _ADMIN_UNIT, "LOCATION", "admin-unit")
    pattern(views["age_old"], _AGE_OLD, "AGE", "age", "v")
    for key, fn in (("named", lambda x: _cue_names(NAMED_RE, x, "named")),
                    ("facility", _facilities),
                    ("title", lambda x: _cue_names(TITLE_RE, x, "title")),
                    ("kin", lambda x: _cue_names(KIN_RE, x, "kinship"))):
        if views[key] is not None:
            views[key].place(fn(views[key].text), out)
    if gazetteer_regex is not None:
        for i, t in enumerate(texts):
            out[i] += _gazetteer(gazetteer_regex, places or {}, t)
    # An identifier never runs across a sentence end ("... Tarrow. Clinically"):
    # such a match is a detector error and would also merge two coding units.
    return [[x for x in c if not _CROSSES_SENTENCE.search(t, x.start, x.end)] if c else c
            for t, c in zip(texts, out)]


def _prefer_roster(cands: list[Candidate], text: str) -> list[Candidate]:
    """Merge adjacent roster matches of one person ("Tom Baker" = alias + surname) and
    drop cue-found names (title, kinship, propagated) whose words are all roster
    matches, so that a known person keeps his or her pseudonym."""
    roster = sorted((c for c in cands if c.detector == "roster"), key=lambda c: c.start)
    merged: list[Candidate] = []
    for c in roster:
        if (merged and merged[-1].pseudonym == c.pseudonym
                and c.start >= merged[-1].end and not text[merged[-1].end:c.start].strip()):
            merged[-1] = Candidate(merged[-1].start, c.end, "NAME", "roster", c.pseudonym)
        else:
            merged.append(Candidate(c.start, c.end, c.type, c.detector, c.pseudonym))
    out = [c for c in cands if c.detector != "roster"] + merged
    cue = ("title", "kinship", "named", "propagated")

    def covered(c: Candidate) -> bool:
        for m in re.finditer(r"\S+", text[c.start:c.end]):
            a, b = c.start + m.start(), c.start + m.end()
            if not any(r.start <= a and b <= r.end for r in merged):
                return False
        return True

    return [c for c in out if c.detector not in cue or not covered(c)]


def resolve(cands: list[Candidate], text: str = "") -> list[Candidate]:
    """Non-overlapping candidates: longest first, then detector priority, then position."""
    if text:
        cands = _prefer_roster(cands, text)
    chosen: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (-(c.end - c.start),
                                          PRIORITY.get(c.detector, PRIORITY["roster"]),
                                          c.start)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.start)


# ---------------------------------------------------------------------------
# surrogates (config deidentify.replacement: surrogates) and date shifting

# Invented name parts: first names and surnames are syllable pairs from these
# lists (e.g. "Vessora", "Quarlow"), picked by a hash of study id + participant id
# (never of the original), skipping any that equals a roster name, alias or an
# original identifier of the session (checked in :class:`Surrogates`).
_FIRST_A = ["Ael", "Bre", "Cal", "Dov", "Ely", "Fen", "Gav", "Hal", "Isk", "Jor", "Kes",
            "Lur", "Mav", "Nol", "Orv", "Pel", "Quen", "Ros", "Sev", "Tam", "Ulv", "Ves",
            "Wyl", "Yor", "Zan"]
_FIRST_B = ["ara", "eth", "ine", "ora", "ric", "wen", "ian", "elle", "omir", "issa"]
_LAST_A = ["Ash", "Brin", "Corr", "Dun", "Elm", "Farr", "Glen", "Hask", "Ivel", "Kerr",
           "Lorn", "Merr", "Norr", "Pell", "Quar", "Rend", "Stav", "Thorn", "Varr", "Wend"]
_LAST_B = ["ow", "ick", "by", "ley", "mere", "wick", "ton", "stead"]
SURROGATE_FIRST = [a + b for a in _FIRST_A for b in _FIRST_B]
SURROGATE_LAST = [a + b for a in _LAST_A for b in _LAST_B]
SURROGATE_PLACES = [a + b for a in _FIRST_A for b in ["holm", "haven", "moor", "ford"]]
SURROGATE_FACILITY_KINDS = ["Hospital", "Medical Center", "Clinic", "Cancer Center"]
AGE_OVER_89 = "90 or older"


def _hash(*parts) -> int:
    import hashlib
    return int(hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:15], 16)


def _pick(pool: list[str], seed: int, forbidden: set[str]) -> str:
    """The first string of ``pool`` from ``seed % len(pool)`` on whose words are not
    in ``forbidden`` (casefolded); pairs of pool strings if every one is taken."""
    n = len(pool)
    for i in range(n):
        s = pool[(seed + i) % n]
        if not any(w.casefold() in forbidden for w in s.split()):
            return s
    for i in range(n * n):
        s = pool[(seed + i) % n] + "-" + pool[(seed // n + i) % n].lower()
        if s.casefold() not in forbidden:
            return s
    raise ValueError("surrogate pool exhausted")


def _match_case(original: str, surrogate: str) -> str:
    letters = [ch for ch in original if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return surrogate.upper()
    return surrogate


def _roster_words(roster: pd.DataFrame) -> set[str]:
    words: set[str] = set()
    for row in roster.itertuples(index=False):
        for s in [row.full_name, str(row.speaker_label)] + str(row.aliases).split(";"):
            words.update(re.findall(r"\w+", s.casefold()))
    return words


class RosterSurrogates:
    """Roster person -> (surrogate first name, surrogate surname), one per
    participant_id of the whole study, distinct, seeded by study id + participant id."""

    def __init__(self, roster: pd.DataFrame, study_id: str):
        self.forbidden = _roster_words(roster)
        self.first: dict[str, str] = {}
        self.last: dict[str, str] = {}
        self.surname_forms: dict[str, set[str]] = {}
        taken = set(self.forbidden)
        for row in roster.itertuples(index=False):
            toks = _name_tokens(row.full_name)
            if len(toks) > 1:
                self.surname_forms.setdefault(row.participant_id, set()).add(
                    toks[-1].casefold())
        for pid in sorted(set(roster["participant_id"])):
            f = _pick(SURROGATE_FIRST, _hash(study_id, pid, "first"), taken)
            taken.add(f.casefold())
            la = _pick(SURROGATE_LAST, _hash(study_id, pid, "last"), taken)
            taken.add(la.casefold())
            self.first[pid], self.last[pid] = f, la
        self.used = taken  # roster words and every roster surrogate

    def mention(self, pid: str, original: str) -> str:
        words = original.split()
        if len(words) > 1:
            s = f"{self.first[pid]} {self.last[pid]}"
        elif original.casefold() in self.surname_forms.get(pid, ()):
            s = self.last[pid]
        else:
            s = self.first[pid]
        return _match_case(original, s)


_ORD_WORDS = {w: i for i, w in enumerate(
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
     "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
     "seventeenth", "eighteenth", "nineteenth", "twentieth"], start=1)}
_ORD_WORDS.update({f"twenty-{u}": 20 + i for i, u in enumerate(_ORD_UNITS, start=1)})
_ORD_WORDS.update({"thirtieth": 30, "thirty-first": 31})
_ORD_BY_NUM = {v: k for k, v in _ORD_WORDS.items()}
_MONTH_INDEX = {m[:3].casefold(): i for i, m in enumerate(MONTHS, start=1)}
_MON = r"(?P<mon>[A-Za-z]+\.?)"
_DAYW = r"(?P<day>\d{1,2}(?:st|nd|rd|th)?|(?:twenty|thirty)[- ][a-z]+|[a-z]+)"
_YR = r"(?P<yr>,?\s+(?:19|20)\d\d)?"
_SHIFT_FORMS = [
    ("mon-year", re.compile(rf"{_MON}\s+(?P<of>of\s+)?(?P<y>(?:19|20)\d\d)", re.IGNORECASE)),
    ("slash", re.compile(r"(?P<m>\d{1,2})(?P<sep>[/.-])(?P<d>\d{1,2})(?:[/.-](?P<y>\d{4}|\d{2}))?")),
    ("iso", re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")),
    ("mon-day", re.compile(rf"{_MON}(?P<the>\s+the)?\s+{_DAYW}{_YR}", re.IGNORECASE)),
    ("day-mon", re.compile(rf"(?P<the>the\s+)?{_DAYW}\s+(?P<of>of\s+)?{_MON}{_YR}",
                           re.IGNORECASE)),
]


def _suffix(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def shift_date(original: str, days: int) -> str | None:
    """``original`` (a detected date) moved by ``days``, in its own style; None when
    the form is not understood (then the tag is used)."""
    import datetime as dt
    s = " ".join(original.split())
    for form, rx in _SHIFT_FORMS:
        m = rx.fullmatch(s)
        if not m:
            continue
        g = m.groupdict()
        if form == "mon-year":  # month precision: the middle of the month moves
            mkey = g["mon"].rstrip(".")[:3].casefold()
            if mkey not in _MONTH_INDEX:
                return None
            new = dt.date(int(g["y"]), _MONTH_INDEX[mkey], 15) + dt.timedelta(days=days)
            name = _match_case(g["mon"], MONTHS[new.month - 1])
            return f"{name} {'of ' if g['of'] else ''}{new.year}"
        if form in ("slash", "iso"):
            mon, day = int(g["m"]), int(g["d"])
            y = g.get("y")
            year = (int(y) + (2000 if len(y) == 2 else 0)) if y else None
        else:
            mkey = g["mon"].rstrip(".")[:3].casefold()
            if mkey not in _MONTH_INDEX:
                return None
            mon = _MONTH_INDEX[mkey]
            dw = g["day"].casefold().replace(" ", "-")
            if dw[:1].isdigit():
                day = int(re.match(r"\d+", dw).group())
            elif dw in _ORD_WORDS:
                day = _ORD_WORDS[dw]
            else:
                return None
            year = int(g["yr"].strip(", ")) if g.get("yr") else None
        ref = year or (2020 if (mon, day) == (2, 29) else 2021)
        try:
            new = dt.date(ref, mon, day) + dt.timedelta(days=days)
        except ValueError:
            return None
        if form == "slash":
            mm = f"{new.month:0{len(g['m'])}d}"
            dd = f"{new.day:0{len(g['d'])}d}"
            out = f"{mm}{g['sep']}{dd}"
            if g["y"]:
                out += g["sep"] + (f"{new.year % 100:02d}" if len(g["y"]) == 2 else str(new.year))
            return out
        if form == "iso":
            return f"{new.year:04d}-{new.month:0{len(g['m'])}d}-{new.day:0{len(g['d'])}d}"
        mon_word = g["mon"]
        name = MONTHS[new.month - 1]
        if mon_word.rstrip(".").casefold() not in (mm.casefold() for mm in MONTHS):
            name = name[:3] + ("." if mon_word.endswith(".") else "")  # abbreviated
        name = _match_case(mon_word, name)
        dw = g["day"]
        if dw[:1].isdigit():
            day_s = str(new.day) + (_suffix(new.day) if not dw.isdigit() else "")
        else:
            day_s = _ORD_BY_NUM[new.day]
        yr = ""
        if g.get("yr"):
            yr = ("," if "," in g["yr"] else "") + " " + str(new.year)
        if form == "mon-day":
            return f"{name}{' the' if g['the'] else ''} {day_s}{yr}"
        return f"{'the ' if g['the'] else ''}{day_s} {'of ' if g['of'] else ''}{name}{yr}"
    return None


def date_offset(study_id: str, speaker: str, session: str, moderator_id: str) -> int:
    """Days (±1..365) by which a speaker's dates move: per participant across the
    study, per session for the moderator. Seeded; goes to the key, never to results."""
    h = _hash(study_id, session if speaker == moderator_id else "", speaker, "date_shift")
    days = 1 + h % 365
    return days if (h >> 20) % 2 else -days


def _gate_strings(strings) -> set[str]:
    """Casefolded, single-spaced; only what the leak gate looks for (at least 2
    characters; a letter, or 5+ digits)."""
    out = {" ".join(x.split()).casefold() for x in strings}
    return {x for x in out if len(x) > 1 and (re.search(r"[^\W\d_]", x)
                                              or len(re.sub(r"\D", "", x)) >= 5)}


def _contains_any(s: str, strings: set[str]) -> bool:
    """Whether a word-bounded part of ``s`` (no letter or digit just before or after,
    as the leak gate matches) is in ``strings`` (casefolded, single-spaced)."""
    s = " ".join(s.split()).casefold()
    starts = [i for i in range(len(s)) if i == 0 or not s[i - 1].isalnum()]
    ends = [j for j in range(1, len(s) + 1) if j == len(s) or not s[j].isalnum()]
    return any(s[i:j] in strings for i in starts for j in ends if j > i)


def _age_value(s: str) -> int | None:
    s = s.strip().casefold()
    if s.isdigit():
        return int(s)
    if s.startswith("ninety"):
        return 90
    return None


class Surrogates:
    """Replacement strings for one session in ``surrogates`` mode (see
    :func:`deidentify_session`)."""

    def __init__(self, roster_sur: RosterSurrogates, study_id: str, session: str,
                 originals: set[str]):
        self.r = roster_sur
        self.study_id, self.session = study_id, session
        self.forbidden = set(roster_sur.used)
        for o in originals:
            self.forbidden.update(re.findall(r"\w+", o.casefold()))
        self.forbidden_full = _gate_strings(originals)
        self.seen: dict[tuple, str] = {}
        self.counts: dict[str, int] = {}

    def _new(self, kind: str, pool: list[str]) -> str:
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        s = _pick(pool, _hash(self.study_id, self.session, kind, n), self.forbidden)
        self.forbidden.add(s.casefold())
        self.forbidden.update(w.casefold() for w in s.split())
        return s

    def other(self, c: Candidate, original: str) -> str | None:
        """Surrogate for a non-roster identifier; None -> use the tag."""
        k = (c.type, " ".join(original.split()).casefold())
        if c.type == "AGE":
            v = _age_value(original)
            return AGE_OVER_89 if v is not None and v > 89 else None
        if c.type == "DATE":
            return None
        if k in self.seen:
            return _match_case(original, self.seen[k])
        n = sum(1 for x in self.seen if x[0] == c.type) + 1
        if c.type == "NAME":
            if len(original.split()) > 1:
                s = self._new("NAME", SURROGATE_FIRST) + " " + self._new("NAME-last",
                                                                          SURROGATE_LAST)
            elif c.detector == "title":
                s = self._new("NAME-last", SURROGATE_LAST)
            else:
                s = self._new("NAME", SURROGATE_FIRST)
        elif c.type == "LOCATION":
            if c.detector == "zip":
                s = f"{n - 1:05d}"
            elif c.detector == "address":
                s = f"{100 * n} {self._new('street', SURROGATE_LAST)} Lane"
            else:
                s = self._new("LOCATION", SURROGATE_PLACES)
        elif c.type == "FACILITY":
            place = self._new("FACILITY", SURROGATE_PLACES)
            s = f"{place} {SURROGATE_FACILITY_KINDS[_hash(self.study_id, place) % 4]}"
        elif c.type == "PHONE":
            digits = re.sub(r"\D", "", original)
            # 555-00xx: the fictional 555-01xx range is what invented transcripts use
            s = ("555-555-" if len(digits) >= 10 else "555-") + f"00{n % 100:02d}"
        elif c.type == "EMAIL":
            s = f"user{n}@example.org"
        elif c.type == "URL":
            s = f"www.example.org/page{n}"
        elif c.type == "ID":
            s = f"ZZ{n:06d}"
        else:
            return None
        if _contains_any(s, self.forbidden_full):
            return None
        self.seen[k] = s
        return _match_case(original, s)


# ---------------------------------------------------------------------------
# a session

def deidentify_session(raw_text: str, roster: pd.DataFrame, session: str,
                       moderator_id: str = "MOD", gazetteer: list[str] | None = None,
                       source: str = "transcript", study_names: dict | None = None,
                       extra_names: list[str] | None = None, fmt: str = "auto",
                       replacement: str = "tags", date_shift: bool = False,
                       study_id: str = "", avoid: set[str] | None = None) -> Result:
    """De-identify one session's raw transcript (``fmt``: its declared format, see
    :func:`concord.transcripts.parse`; ``raw_text`` is bytes for docx).

    ``roster`` holds the whole study (mentions of people from other sessions are
    redacted too); the session's rows give the speaker labels. ``gazetteer`` is an
    optional list of place names. ``study_names`` (casefolded -> (string, type), see
    :func:`study_lexicon`): names and places that cues found in *other* sessions of the
    study, propagated here too (a relative named with a cue in one session and
    mentioned bare in another). ``extra_names``: further names to redact everywhere
    (config ``deidentify.names``), with the rules of propagated names (capitalised
    or ALL CAPS). Output is deterministic.

    ``replacement``: ``tags`` (``[P07]``, ``[NAME-3]``, ``[DATE]`` ...) or
    ``surrogates``: speaker labels stay pseudonym IDs, but a roster person's mentions
    become an invented first name / surname / full name fixed per participant (seeded
    by ``study_id`` + participant id, see :class:`RosterSurrogates`), other names an
    invented name consistent within the session, places, facilities, phones
    (``555-01xx``), e-mails (``userN@example.org``), URLs and IDs obviously synthetic
    surrogates; ages stay ``[AGE]`` unless over 89 (``90 or older``); no surrogate
    equals a roster word or an original of the session (else the tag is used).
    ``date_shift``: each date is moved by the speaker's offset (:func:`date_offset`,
    in the key as ``date_shift_days``) in its own style (:func:`shift_date`); a form
    not understood, or a result equal to an original date of the session, -> ``[DATE]``.
    ``avoid``: casefolded originals of the whole study (:func:`study_originals`); no
    surrogate or shifted date equals one (the leak gate looks for them everywhere).
    """
    if replacement not in ("tags", "surrogates"):
        raise InputError(f"config deidentify.replacement: {replacement!r} is not one of "
                         f"'tags', 'surrogates'")
    cache = _roster_cache(roster)
    if session not in cache.labels:
        raise InputError(f"roster: no rows for session {session}; add the session's "
                         f"speakers (participant_id, session_id, speaker_label, ...)")
    label_to_id = dict(cache.labels[session])
    turns = transcripts.parse(raw_text, set(label_to_id), source, fmt=fmt)
    if not turns:
        raise InputError(f"{source}, line 1: no speaker turns (the transcript is empty or has "
                         f"only comments and blank lines); add the transcript text or remove "
                         f"the session from the sessions sheet")
    names = NameIndex(roster, session)
    places = {" ".join(p.split()).casefold(): " ".join(p.split())
              for p in (gazetteer or []) if p.strip()}
    gaz_regex = _word_regex(places.values())

    texts = [t.text for t in turns]
    per_turn = [resolve(c, t) if c else c
                for t, c in zip(texts, detect_turns(texts, names, gaz_regex, places))]

    # names found by cues (title/kinship) are also redacted where they occur alone
    cue_names = {k: tuple(v) for k, v in (study_names or {}).items()}
    for n in extra_names or []:  # config deidentify.names: redacted like cue-found names
        n = " ".join(n.split())
        if len(n) > 1:
            cue_names.setdefault(n.casefold(), (n, "NAME"))
    own: dict[str, tuple] = {}
    for t, cands in zip(turns, per_turn):
        for c in cands:
            if c.detector in ("title", "kinship", "named", "place-cue", "admin-unit"):
                s = t.text[c.start:c.end]
                parts = [s] + (s.split() if c.type == "NAME" else [])
                for n in parts:
                    if len(n) > 2 and (n not in STOP_CAPS or n in MONTH_NAMES_AS_NAMES):
                        cue_names.setdefault(n.casefold(), (n, c.type))
                        own.setdefault(n.casefold(), (n, c.type))
    if cue_names:
        prop_regex = _word_regex(n for n, _ in cue_names.values())
        full = _View(texts, range(len(texts)))
        extra: dict[int, list[Candidate]] = {}
        for i, s, e, found in _word_hits(prop_regex, full.text, full.starts, texts):
            name, type_ = cue_names[" ".join(found.split()).casefold()]
            if found not in (name, name.upper()):
                continue  # propagated names: capitalised or ALL CAPS only
            if not _name_ok(name, texts[i], s, e):
                continue
            extra.setdefault(i, []).append(Candidate(s, e, type_, "propagated"))
        for i in sorted(extra):
            per_turn[i] = resolve(per_turn[i] + extra[i], texts[i])

    # assemble the de-identified text, numbering generic names per session
    sur = None
    if replacement == "surrogates":
        originals = {t.text[c.start:c.end] for t, cands in zip(turns, per_turn) for c in cands}
        originals |= set(avoid or ())
        if study_id not in cache.surrogates:
            cache.surrogates[study_id] = RosterSurrogates(roster, study_id)
        sur = Surrogates(cache.surrogates[study_id], study_id, session, originals)
    shifts: dict[str, int] = {}
    date_originals = _gate_strings({t.text[c.start:c.end]
                                    for t, cands in zip(turns, per_turn) for c in cands
                                    if c.type == "DATE"} | set(avoid or ())) if date_shift else set()
    name_numbers: dict[str, str] = {}
    key_entries: dict[tuple, None] = {}
    redactions = []
    raw_spans = []
    out_lines = []
    offset = 0
    for t, cands in zip(turns, per_turn):
        speaker = label_to_id[t.label]
        key_entries[(t.label, speaker, "SPEAKER")] = None
        prefix = f"{speaker}\t"
        pieces, pos, col = [], 0, len(prefix)
        for c in cands:
            original = t.text[c.start:c.end]
            repl = None
            if date_shift and c.type == "DATE":
                if speaker not in shifts:
                    shifts[speaker] = date_offset(study_id, speaker, session, moderator_id)
                repl = shift_date(original, shifts[speaker])
                if repl is not None and _contains_any(repl, date_originals):
                    repl = None
            elif sur is not None:
                repl = (sur.r.mention(c.pseudonym, original) if c.pseudonym
                        else sur.other(c, original))
            if repl is not None:
                pass
            elif c.pseudonym:
                repl = f"[{c.pseudonym}]"
            elif c.type == "NAME":
                k = " ".join(original.split()).casefold()
                if k not in name_numbers:
                    name_numbers[k] = f"[NAME-{len(name_numbers) + 1}]"
                repl = name_numbers[k]
            else:
                repl = f"[{c.type}]"
            chunk = t.text[pos:c.start]
            pieces.append(chunk)
            col += len(chunk)
            redactions.append((offset + col, offset + col + len(repl), c.type, repl,
                               c.detector))
            pieces.append(repl)
            col += len(repl)
            pos = c.end
            key_entries[(original, repl, c.type)] = None
            raw_spans.append((t.offset + c.start, t.offset + c.end, c.type, c.detector))
        pieces.append(t.text[pos:])
        line = prefix + "".join(pieces) + "\n"
        out_lines.append(line)
        offset += len(line)
    content = "".join(out_lines)
    red = pd.DataFrame(redactions, columns=REDACTION_COLUMNS)
    entries = [{"original": o, "replacement": r, "type": ty}
               for (o, r, ty) in sorted(key_entries, key=lambda e: (e[2], e[1], e[0]))]
    key = {"session_id": session, "entries": entries}
    if date_shift:
        key["date_shift_days"] = dict(sorted(shifts.items()))
    return Result(content, red, key, raw_spans, dict(sorted(own.items())))


def study_lexicon(raws: dict, roster: pd.DataFrame, **kw) -> dict:
    """Names and places found by cues (title, kinship, named, place cues) in any session
    of the study: ``{casefolded: [string, type]}``, for :func:`deidentify_session`'s
    ``study_names``. ``raws``: session id -> raw transcript (``str`` or docx bytes)."""
    out: dict = {}
    for sid in sorted(raws):
        res = deidentify_session(raws[sid], roster, sid, **kw)
        for k, v in res.cue_strings.items():
            out.setdefault(k, list(v))
    return dict(sorted(out.items()))


def study_originals(raws: dict, roster: pd.DataFrame, **kw) -> set[str]:
    """Every original identifier (not speaker labels, not ages) that the tag-mode
    de-identification finds in any session, casefolded: what surrogates and shifted
    dates must never equal. ``raws``: session id -> raw transcript."""
    out: set[str] = set()
    for sid in sorted(raws):
        res = deidentify_session(raws[sid], roster, sid, **kw)
        out |= {" ".join(e["original"].split()).casefold() for e in res.key["entries"]
                if e["type"] not in ("SPEAKER", "AGE")}
    return out


def read_gazetteer(value) -> list[str]:
    """A gazetteer given as a list of names, or a path to a file with one per line."""
    if not value:
        return []
    if isinstance(value, str):
        lines = Path(value).read_text(encoding="utf-8").splitlines()
        return [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    return [str(x) for x in value]


# ---------------------------------------------------------------------------
# summary

def summarise(redactions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Counts per session and type (wide): session_id, total, one column per type,
    then a final row ``all``. ``redactions`` maps session id -> redactions table."""
    if "all" in redactions:
        raise InputError("session id 'all' is reserved for the totals row of "
                         "results/deid/summary.tsv; rename the session")
    extra = sorted({t for df in redactions.values() for t in df["type"]} - set(TYPES))
    types = TYPES + extra
    rows = []
    for sid in sorted(redactions):
        counts = redactions[sid]["type"].value_counts()
        rows.append([sid, int(counts.sum())] + [int(counts.get(t, 0)) for t in types])
    df = pd.DataFrame(rows, columns=["session_id", "total"] + types)
    total = ["all"] + [int(df[c].sum()) for c in ["total"] + types]
    return pd.concat([df, pd.DataFrame([total], columns=df.columns)], ignore_index=True)


# ---------------------------------------------------------------------------
# evaluation against gold identifier spans (e.g. the demo corpus)

def recall_by_type(gold: pd.DataFrame, raw_spans: list, raw_text: str) -> pd.DataFrame:
    """Recall of gold identifier spans (``start``, ``end``, ``type`` in raw offsets).

    A gold span counts as *hidden* when every non-space character of it lies inside
    some redaction (of any type), and as *typed* when one of the covering
    redactions also has the gold type. Returns type, gold, hidden, recall, typed.
    """
    covered = bytearray(len(raw_text) + 1)
    by_type: dict[str, bytearray] = {}
    for s, e, ty, _ in raw_spans:
        covered[s:e] = b"\x01" * (e - s)
        by_type.setdefault(ty, bytearray(len(raw_text) + 1))[s:e] = b"\x01" * (e - s)
    rows = {}
    for g in gold.itertuples(index=False):
        s, e = int(g.start), int(g.end)
        idx = [i for i in range(s, e) if not raw_text[i].isspace()]
        hidden = all(covered[i] for i in idx)
        typed = hidden and any(by_type.get(g.type, b"\x00" * (e + 1))[i] for i in idx)
        r = rows.setdefault(g.type, [0, 0, 0])
        r[0] += 1
        r[1] += hidden
        r[2] += typed
    out = pd.DataFrame([[t, n, h, h / n if n else float("nan"), ty]
                        for t, (n, h, ty) in sorted(rows.items())],
                       columns=["type", "gold", "hidden", "recall", "typed"])
    return out
