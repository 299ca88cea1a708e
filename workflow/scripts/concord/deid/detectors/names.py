"""Person names.

Found by a cue (:func:`_cue_names`): a title, "named/called", a kinship word. Found
without a cue (:func:`free_names`, no roster needed), from name data with a clear
provenance (see :mod:`concord.deid.lexicons`): the US Census 1990 first names and
surnames (``names``), 45,000+ first names of 54 countries (Jörg Michael's nam_dict,
GNU FDL, read from the installed ``gender-guesser`` package), English word frequencies
(``wordfreq``) and dictionary words (web2, ``english-words``) to tell a name from a word.

What makes a word a name here, and what stays a word:

* a capitalised first name that is not also an English word (Katie, José, Nikolaj,
  Asya), with the surname-like words after it (Szöllössy, O’Brien, Smith-Jones, a
  middle initial), anywhere, a sentence start included;
* a first name that is also a word (Hope, Grace, Will, Elle) only with a surname after
  it or a sentence that makes it a name ("Hope here again", "Bill is what my wife
  calls me"); in a bare vocative ("Grace, what ...") only when it is rare in speech,
  else it goes to the review list (kept until a person decides);
* a census surname rare as a word, capitalised mid-sentence (Castellanos);
* capitalised words joined by "and" or commas to a name found so (:func:`_coordinated`:
  "Kadiev and Adams", "Morrison, Rogers and Torres"), when each is a census name;
* the answer to a question for a name or a form's name field ("What's your last
  name? Magnusson", "Name: Fredrik L Sommerseth");
* lower case (:func:`_lower_names`) only with a strong cue: "my name is selma",
  "call me borna", "i'm kristina", "selma said", a first name with a surname
  ("patricia desrosiers", "emidio p lombardo"), a list of three or more first names
  ("silvana, adam, christopher and caleb"). A lower-case first name without such a
  cue, and a lower-case word that is also a name even after one ("my name is hope"),
  go to the review list, suggestion keep: a lower-case common word is never redacted.

Every lexicon lookup is cached per token (the same words recur in every session).
"""

from __future__ import annotations

import bisect
import functools
import re

from concord.deid.common import (CAP_RE, CAP_WORD_RE, COMMON_WORD_NAMES, MONTH_NAMES_AS_NAMES,
                                 ORD_RE, STOP_CAPS, Candidate)

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
# names without a cue: census and nam_dict first names, census surnames, told from
# words by wordfreq and web2

from concord.deid import lexicons  # noqa: E402
from concord.deid.common import UPPER  # noqa: E402
from concord.deid.matcher import chunks  # noqa: E402
from concord.deid.roster import _CLEARLY_NAME  # noqa: E402
from concord.textnorm import fold  # noqa: E402

# a capitalised word: a whole word (not the "Grasse" of "deGrasse"), and not the verb of
# a contraction ("Don't", "Didn't", "Won't": "Don" before "'t" is never a name)
_CAP_TOKEN = re.compile(CAP_WORD_RE + r"(?![^\W\d_]|['’]t\b)")
# a sentence start: the text start, a turn separator (NUL) or an end mark before
_SENT_START = re.compile(r"(?:^|[.!?\x00]['\"”’)\]]*)\s*$")
# one space, or a middle initial between spaces ("Ruth R Montez", "R. Vizirov", "Á")
_GAP = re.compile(rf"[ \u00a0](?:[{UPPER}]\.?[ \u00a0])?")
# a capitalised word rarer than this as an English word is "unknown" mid-sentence
# (Usamov, Kishiev, Portillo: a name, a place or a brand; review list, redacted); at a
# sentence start it must be rarer still (START_UNKNOWN_ZIPF)
UNKNOWN_ZIPF = 2.5
# a common-word first name in a vocative is redacted below this word frequency (Grace
# 4.6, Rose 4.8, Max 4.7); above it (See 6.1, Will 6.5, Hope 5.4, Mark 5.1) it is
# reviewed
VOCATIVE_WORD_ZIPF = 5.0
START_UNKNOWN_ZIPF = 1.0
# a census surname alone, mid-sentence, is a name below this word frequency
SURNAME_ZIPF = 3.5
# in a coordination with a name ("Kadiev and Adams"), a capitalised census name counts
# up to this word frequency (Adams 4.3, Wilson 4.5, Brown 5.0; not Young 5.6, Long 6.0)
COORDINATED_ZIPF = 5.1
# words that the multi-country first-name list holds but that a focus group says as
# something else: holidays, voice assistants, practices (a name only with a surname or
# a cue, like a first name that is also a word)
NOT_PERSON_NAMES = frozenset({"ramadan", "pesach", "siri", "qigong"})
# a lower-case word after a strong cue ("my name is borna") that is in no name list is
# a name when rarer than this as a word and not in the dictionary
LOWER_UNKNOWN_ZIPF = 2.5
# a lower-case first name only of the multi-country list counts below this frequency
# as a token (fragments of real speech "som" 3.2, "qui" 3.3, "hoc" 3.4 do not)
LOWER_NAME_ZIPF = 3.0


def _sentence_start(text: str, start: int) -> bool:
    return bool(_SENT_START.search(text, max(0, start - 8), start))


@functools.lru_cache(maxsize=100_000)
def _word_zipf(tok: str) -> float:
    """Word frequency of ``tok``; a word with accents as written too, the lower of the
    two ("Bašić" is not "basic", "Müller" not "muller")."""
    z = lexicons.zipf(tok)
    if not tok.isascii():
        z = min(z, lexicons._wordfreq()(tok.lower(), "en"))
    return z


@functools.lru_cache(maxsize=100_000)
def _surname_like(tok: str) -> bool:
    k = fold(tok)
    return (tok not in STOP_CAPS and not (tok.isupper() and len(tok) > 1)
            and (k in lexicons.surnames() or _word_zipf(tok) < lexicons.COMMON_WORD_ZIPF
                 or k in lexicons.first_names()))


@functools.lru_cache(maxsize=100_000)
def _word_class(tok: str) -> tuple[str, bool, bool]:
    """(folded, a first name, also a word). A first name only in the multi-country
    list that is also a place (Florence, Asia, Sydney) is left to the place
    detectors; one that is also a word (Tell, Grit) is a word."""
    k = fold(tok)
    first = k in lexicons.given_names()
    if first and k not in lexicons.first_names() and k in lexicons.places():
        first = False
    if first and k not in lexicons.first_names() and (
            lexicons.given_name_is_word(k) or k in NOT_PERSON_NAMES):
        # a word that the multi-country list also holds as a name (Tell, Grit, Kale):
        # a word, even before a surname ("Tell Pearson and Katie ...")
        first = False
    if first:
        return k, True, lexicons.given_name_is_word(k)
    return k, False, lexicons.is_common_word(tok)


@functools.lru_cache(maxsize=100_000)
def _lower_class(word: str) -> str:
    """What a lower-case word is for the lower-case rules, stricter than for a
    capitalised word (lower case is the case of words):

    * ``name``: a census first name that is no word by any measure (not
      :func:`~concord.deid.lexicons.is_common_word`, not in the hand list of names
      that are words, not in the dictionary: selma, kristina, brian), or a first name
      of the multi-country list of 4+ letters, in no dictionary and rare as a token
      (frederikke, lempi; not the fragments "som", "hoc", "qui" of real speech);
    * ``dict-name``: a census first name that is a rare dictionary word, not a common
      one (chad, donna, mike): a name with a cue, in a list of names or before a
      surname; alone not even reviewed ("a wireless mike");
    * ``word-name``: a census first name that is also a common word (hope, grace,
      mark, frank): never redacted in lower case; reviewed after a cue;
    * ``surname``: a census surname in no dictionary, not common (desrosiers, nyberg);
    * ``place``: a place name (vitoria, borna): a name only after "my name is";
    * ``unknown``: in no list and no dictionary, rare (krylova, jerković);
    * ``word``: anything else."""
    k = fold(word)
    if len(k) < 3:
        return "word"
    census = k in lexicons.first_names()
    if census or k in lexicons.given_names():
        if lexicons.given_name_is_word(k) or k in COMMON_WORD_NAMES or k in NOT_PERSON_NAMES:
            return "word-name" if census or k in COMMON_WORD_NAMES else "word"
        if k in lexicons.dictionary_words():
            return "dict-name" if census else "word"
        if census or (len(k) >= 4 and _word_zipf(word) < LOWER_NAME_ZIPF
                      and k not in lexicons.places()):
            return "name"
    if k in lexicons.dictionary_words():
        return "word"
    if k in lexicons.places():
        return "place"
    if k in lexicons.surnames() and not lexicons.is_common_word(k):
        return "surname"
    return "unknown" if _word_zipf(word) < LOWER_UNKNOWN_ZIPF else "word"


def free_names(text: str) -> list[Candidate]:
    """Person names without a cue (see the module docstring): capitalised
    (:func:`_capitalised_names`), joined to those by "and" or commas
    (:func:`_coordinated`), answers to a question for a name (:func:`_name_answers`)
    and lower-case names with a strong cue (:func:`_lower_names`). Overlapping
    candidates are resolved by the caller."""
    toks = list(_CAP_TOKEN.finditer(text))
    out = _capitalised_names(text, toks)
    out += _coordinated(text, out, toks)
    out += _name_answers(text)
    out += _lower_names(text)
    return out


def _place_start(text: str, toks: list, a: int, b: int, places) -> int:
    """The index of the first of the tokens ``toks[a:b]`` (a run of capitalised words)
    at which a place name of two words or more (:func:`~concord.deid.lexicons.places`)
    starts and ends inside the run; ``b`` if none."""
    firsts = lexicons.place_first_words()
    for x in range(a, b):
        if lexicons.fold_word(toks[x].group()) not in firsts:
            continue
        for y in range(b, x + 1, -1):   # two words or more (Ada Longmund is a name)
            if lexicons.fold_word(text[toks[x].start():toks[y - 1].end()]) in places:
                return x
    return b


def _capitalised_names(text: str, toks: list | None = None) -> list[Candidate]:
    """A capitalised first name that is not also a word (Katie, José, Nikolaj) with
    the capitalised surname-like words after it (Szöllössy, O’Brien, Smith-Jones); a
    census surname rare as a word, mid-sentence (Castellanos); a first name that is
    also a word followed by a surname (Hope Delacroix) or made a name by the sentence.
    A capitalised word that is neither a known word nor a known name or place,
    mid-sentence (or at a sentence start before a vocative comma), is uncertain
    (review list, suggestion redact)."""
    out = []
    if toks is None:
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
        j, end, initial = i, m.end(), False
        while j < len(toks):
            # (the cached word test before the regex: most next words are no surname)
            if not _surname_like(toks[j].group()):
                break
            gap = _GAP.match(text, end)
            if gap is None or toks[j].start() != gap.end():
                break
            initial = initial or gap.end() - gap.start() > 1
            end = toks[j].end()
            j += 1
        if j > i:
            # a place is not a name: the whole run ("San Francisco") or where one
            # starts in it ("York Rhode Island" -> York)
            p = _place_start(text, toks, i - 1, j, places)
            if p == i - 1:
                i = j
                continue
            if p < j:
                j, end = p, toks[p - 1].end()
        if first and (not common or j > i) or (initial and not common):
            # (a word rare in English, a middle initial, a surname: "Vide A. Persson")
            out.append(Candidate(m.start(), end, "NAME", "name-freq"))
            i = j
            continue
        clear = _CLEARLY_NAME.match(text, m.end()) if first else None
        if clear:
            # a common word that is also a first name, made a name by the sentence ("Bill
            # is what my wife calls me", "Hope here again"): a name. In a vocative alone
            # ("Grace, what ...") only when the word is rare in speech; a discourse word
            # that starts a sentence ("See, how ...", "Will, what ...") goes to a person
            if not clear.group().startswith(",") or lexicons.zipf(k) < VOCATIVE_WORD_ZIPF:
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
        surname = k in lexicons.surnames() and z < SURNAME_ZIPF
        if not surname and (first or z >= max(UNKNOWN_ZIPF, START_UNKNOWN_ZIPF)):
            continue   # (neither branch below can hold, whatever the sentence start)
        start = _sentence_start(text, m.start())
        if not start and surname:
            out.append(Candidate(m.start(), end, "NAME", "name-freq"))
            i = j
        elif not first and (z < (START_UNKNOWN_ZIPF if start else UNKNOWN_ZIPF)
                            or (start and z < UNKNOWN_ZIPF
                                and _CLEARLY_NAME.match(text, m.end()) is not None)):
            out.append(Candidate(m.start(), end, "NAME", "name-unknown",
                                 reason="capitalised word that is neither a known word nor "
                                 "a known name or place", suggest="redact"))
            i = j
    return out


# ---------------------------------------------------------------------------
# coordination: "Kadiev and Adams", "Morrison, Rogers and Torres"

# "and", "or", "&" before a capitalised word (found with a fast scan); the items are
# the capitalised tokens around it (one or two words each, joined by commas)
_COORD_ANCHOR = re.compile(rf" (?:and|or|&) +(?=[{UPPER}]|[ODL]['’])")
_SPACE = (" ", "\u00a0")
_COMMA = (", ", ",\u00a0")


@functools.lru_cache(maxsize=100_000)
def _census_name(tok: str) -> bool:
    """A capitalised word that can be a person's name when it stands beside one: a
    census name or a multi-country first name, not too common a word, not a place."""
    k = fold(tok)
    if tok in STOP_CAPS or (tok.isupper() and len(tok) > 1) or k in lexicons.places():
        return False
    named = (k in lexicons.surnames() or k in lexicons.first_names()
             or (k in lexicons.given_names() and not lexicons.given_name_is_word(k)))
    return named and lexicons.zipf(k) < COORDINATED_ZIPF


@functools.lru_cache(maxsize=100_000)
def _unknown_word(tok: str) -> bool:
    """A capitalised word in no name list, rare as a word, not in the dictionary, not a
    place (Abramovich, Kadiev): a name when it stands beside one."""
    k = fold(tok)
    return (tok not in STOP_CAPS and not (tok.isupper() and len(tok) > 1)
            and _word_zipf(tok) < UNKNOWN_ZIPF and k not in lexicons.dictionary_words()
            and k not in lexicons.places())


_COORD_REASON = ("capitalised words joined by 'and' or commas, each a census name or a "
                 "word in no list")


def _coordinated(text: str, found: list[Candidate], toks: list) -> list[Candidate]:
    """Capitalised words coordinated (by "and", "or", "&" or commas) with a name found
    already or with a word in no list (:func:`_unknown_word`): each a name if every
    item of the list is one (a name found, an unknown word, or a census name,
    :func:`_census_name`). "Muslija and Brown" -> Brown, "Abramovich and Wilson" at a
    sentence start -> both; not "Katie and God", not "Katie and London". ``toks``:
    the capitalised tokens of ``text`` (:data:`_CAP_TOKEN`)."""
    if not toks or (" and " not in text and " or " not in text and " & " not in text):
        return []
    tstarts = [t.start() for t in toks]
    starts = {c.start for c in found if c.suggest == "redact"}
    out = []
    for a in _COORD_ANCHOR.finditer(text):
        items = _coordination(text, toks, tstarts, a)
        if items is None:
            continue
        kinds = []
        for s, e in items:
            words = text[s:e].split()
            if s in starts:
                kinds.append("found")
            elif all(_unknown_word(w) for w in words):
                kinds.append("unknown")
            elif all(_census_name(w) or _unknown_word(w) for w in words):
                kinds.append("census")
            else:
                break
        if len(kinds) < len(items) or not ("found" in kinds or "unknown" in kinds):
            continue
        if "found" in kinds:
            out += [Candidate(s, e, "NAME", "name-freq")
                    for (s, e), kind in zip(items, kinds) if kind != "found"]
        else:  # only words in no list: uncertain, as such a word alone is
            out += [Candidate(s, e, "NAME", "name-unknown", reason=_COORD_REASON,
                              suggest="redact") for s, e in items]
    return out


def _coordination(text: str, toks: list, tstarts: list[int], anchor) -> list | None:
    """The items (start, end) of the list around the conjunction ``anchor``: the
    capitalised token after it (with a second one after a space), and before it the
    tokens joined by commas (each item one word, or two joined by a space; a first
    word that is no name, "Yesterday Katie", is left out). None if not a list."""
    k = bisect.bisect_left(tstarts, anchor.end())
    if k == len(toks) or tstarts[k] != anchor.end():
        return None
    tail_end = toks[k].end()
    if k + 1 < len(toks) and text[tail_end:tstarts[k + 1]] in _SPACE:
        tail_end = toks[k + 1].end()
    end = anchor.start() - (text[anchor.start() - 1:anchor.start()] == ",")
    j = bisect.bisect_right(tstarts, end) - 1
    if j < 0 or toks[j].end() != end:
        return None
    groups = [[j]]
    while j > 0:
        sep = text[toks[j - 1].end():tstarts[j]]
        if sep in _SPACE and len(groups[-1]) < 2:
            groups[-1].insert(0, j - 1)
        elif sep in _COMMA:
            groups.append([j - 1])
        else:
            break
        j -= 1
    groups.reverse()
    first = groups[0]
    if len(first) == 2:
        w = toks[first[0]].group()
        if not (_census_name(w) or _unknown_word(w)):
            groups[0] = first[1:]
    return [(toks[g[0]].start(), toks[g[-1]].end()) for g in groups] + [(tstarts[k], tail_end)]


# ---------------------------------------------------------------------------
# a question for a name and its answer; a form's name field

# (from "ame" in any case: a fast scan; "name"/"Name"/"NAME" checked after; written as
# classes, [aA][mM][eE] = (?i:ame), so that re skips to an a/A in C)
_NAME_ANSWER = re.compile(
    r"[aA][mM][eE](?:\s+on\s+the\s+\w+)?\s*[?:]\s+(?:[A-Z][a-z]+:\s+)?"
    rf"(?P<n>{CAP_RE}(?:{_GAP.pattern}{CAP_RE}){{0,3}}"
    r"|[^\W\d_]+(?:[ \u00a0](?:[^\W\d_]\.?[ \u00a0])?[^\W\d_]+)?)")


def _name_answers(text: str) -> list[Candidate]:
    """"What's your last name? Magnusson", "Name: Fredrik L Sommerseth", "name:
    hyuuma t. maida": the words after "name?" or "name:" (a speaker label between
    them allowed), capitalised or a lower-case name; a word that is also an ordinary
    word ("Name: Hope") only capitalised and after the field's colon."""
    if "ame" not in text and "AME" not in text:
        return []
    out = []
    for m in _NAME_ANSWER.finditer(text):
        b = m.start()
        if b == 0 or text[b - 1] not in "nN" or (b > 1 and (text[b - 2].isalnum()
                                                         or text[b - 2] in "_'’")):
            continue
        words = list(re.finditer(r"[^\W\d_]+(?:[-'’][^\W\d_]+)*", m.group("n")))
        keep = []
        for w in words:
            tok = w.group()
            if len(tok) == 1:   # a middle initial
                keep.append(w)
                continue
            if tok[:1].isupper():
                if tok in STOP_CAPS or (tok.isupper() and len(tok) > 1):
                    break
                k, first, common = _word_class(tok)
                if common and not first and not _census_name(tok):
                    break
            elif _lower_class(tok) not in ("name", "surname", "unknown"):
                break
            keep.append(w)
        while keep and len(keep[-1].group()) == 1:
            keep.pop()
        if keep:
            base = m.start("n")
            out.append(Candidate(base + keep[0].start(), base + keep[-1].end(), "NAME",
                                 "name-freq"))
    return out


# ---------------------------------------------------------------------------
# lower-case names: only with a strong cue

_LWORD = r"[^\W\d_]+(?:-[^\W\d_]+)*"
_LOWER_TOKEN = re.compile(_LWORD)
# strong cues before a name, each starting with a literal (a fast scan): "my name is",
# "name's", "named", "call me", "called"
# (a word of its own, or surname/nickname: not "renamed", "username", "recalled")
_CUE_NAME = re.compile(r"name(?:d|['’]s|\s+(?:is|was))\s+(?P<w>" + _LWORD + ")")
_CUE_CALL = re.compile(r"call(?:s|ed)?\s+(?:(?:me|him|her)\s+)?(?P<w>" + _LWORD + ")")
_CUE_NAME_BEFORE = re.compile(r"(?:^|[^\w]|(?<![^\W\d_])(?:sur|nick|Sur|Nick))\Z")
# weaker cues, only before or after a lower-case first name: "i'm kristina", "selma said"
_CUE_IM = re.compile(r"(?:^|[^\w'’])(?:[Ii]['’]m|[Ii]\s+am)\s+$")
_CUE_SAID = re.compile(r"\s+(?:said|says|asked|told|replied|mentioned|thinks|thought|"
                       r"wrote)\b")
# a list of three or more words: "silvana, adam, christopher, kristina, chad and caleb"
_LOWER_LIST = re.compile(rf"(?<![\w'’-])({_LWORD}(?:,[ \u00a0]+{_LWORD}){{1,}},?[ \u00a0]+"
                         rf"(?:and|or|&)[ \u00a0]+{_LWORD})(?![\w'’-])")
# a lower-case surname after a lower-case first name, an initial between allowed
_LOWER_GAP = re.compile(r"[ \u00a0](?:[^\W\d_]\.?[ \u00a0])?")
# punctuation around a word (the distinct words of a text: split, then strip)
_STRIP = "\"'’‘“”()[]{}<>.,;:!?*…—–/"
_LOWER_NAME_REASON = ("lower-case word that is also a first name, without a strong cue "
                      "(my name is, said, a surname after it)")
_LOWER_WORD_REASON = "lower-case word that is also a first name, after a name cue"


def _lower_tail(text: str, end: int) -> int:
    """The end of the lower-case surname-like words after a lower-case first name
    ending at ``end`` (a single-letter initial between allowed): ``end`` if none."""
    while True:
        gap = _LOWER_GAP.match(text, end)
        if gap is None:
            return end
        w = _LOWER_TOKEN.match(text, gap.end())
        if w is None or not w.group()[:1].islower() \
                or _lower_class(w.group()) not in ("name", "surname", "unknown"):
            return end
        end = w.end()


def _lower_names(text: str) -> list[Candidate]:
    """Lower-case names with a strong cue (see the module docstring); first names
    without one, and words that are also names after one, to the review list (kept).
    Fast on long text: the strong cues are scanned from a literal ("name", "call"); the
    lower-case first names are found among the distinct words of the text (a set
    intersection) and only their occurrences are looked at."""
    out: list[Candidate] = []
    seen: set[int] = set()

    def add(s: int, e: int, cls: str) -> None:
        if s in seen:
            return
        seen.add(s)
        if cls == "word-name":
            out.append(Candidate(s, e, "NAME", "name-freq", reason=_LOWER_WORD_REASON,
                                 suggest="keep"))
        elif cls == "name-alone":
            out.append(Candidate(s, e, "NAME", "name-freq", reason=_LOWER_NAME_REASON,
                                 suggest="keep"))
        else:
            out.append(Candidate(s, e, "NAME", "name-freq"))

    for rx in (_CUE_NAME, _CUE_CALL):
        for m in rx.finditer(text):
            w = m.group("w")
            if not w[:1].islower() or not _CUE_NAME_BEFORE.search(text, max(0, m.start() - 4),
                                                                 m.start()):
                continue
            cls = _lower_class(w)
            if cls == "word-name":
                add(m.start("w"), m.end("w"), cls)
            elif cls != "word":
                add(m.start("w"), _lower_tail(text, m.end("w")), cls)
    for m in _lower_first_names(text):
        s, e = m.span()
        if s in seen:
            continue
        tail = _lower_tail(text, e)
        if (tail > e or _CUE_IM.search(text, max(0, s - 8), s)
                or _CUE_SAID.match(text, e) or _in_name_list(text, s, e)):
            add(s, tail, "name")
        elif _lower_class(m.group()) == "name":
            add(s, e, "name-alone")
    return out


def _in_name_list(text: str, s: int, e: int) -> bool:
    """Whether the lower-case first name at text[s:e] is an item of a list of three or
    more lower-case words, at least two of them first names and the others names or
    rare words, one of them no word at all ("they had 6: silvana, adam, christopher,
    kristina, chad and caleb"; not "hope, faith and patience")."""
    if ", " not in text[max(0, s - 40):e + 40]:
        return False
    for m in _LOWER_LIST.finditer(text, max(0, s - 300), min(len(text), e + 300)):
        if not (m.start() <= s and e <= m.end()):
            continue
        items = [it.group() for it in _LOWER_TOKEN.finditer(text, m.start(), m.end())
                 if it.group() not in ("and", "or")]
        if len(items) < 3 or not all(w[:1].islower() for w in items):
            return False
        classes = [_lower_class(w) for w in items]
        named = sum(c in ("name", "dict-name") for c in classes)
        return (named >= 2 and "name" in classes
                and named + sum(c in ("surname", "unknown") for c in classes) >= len(items) - 1)
    return False


def _lower_first_names(text: str):
    """Matches of the lower-case first names (classes ``name`` and ``dict-name`` of
    :func:`_lower_class`) in ``text``: the distinct words of the text first (split,
    ASCII ones intersected with the name list in C), then one regex over the few
    that are names."""
    stripped = {w.strip(_STRIP) for w in chunks(text)}
    words = {w[:-2] if w.endswith(("'s", "’s")) else w for w in stripped}   # "roberto's"
    ascii_words = {w for w in words if w.isascii()}
    pool = ascii_words & lexicons.given_names()          # lower-case ASCII: fold = itself
    pool |= {w for w in words - ascii_words
             if w[:1].islower() and fold(w) in lexicons.given_names()}
    names = sorted(w for w in pool if w[:1].islower() and "-" not in w
                   and _lower_class(w) in ("name", "dict-name"))
    if not names:
        return []
    rx = re.compile(r"(?<![\w'’@./-])(?:" + "|".join(map(re.escape, names))
                    + r")(?![\w@]|['’-]\w|\.\w)")
    return list(rx.finditer(text))
