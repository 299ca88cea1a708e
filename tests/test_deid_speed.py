"""Fast paths and caches of the de-identification (issue 12, throughput) give the same
results as the slow paths they short-cut."""

import random
import unicodedata

import pytest

from concord import textnorm
from concord.deid import lexicons


def _slow_fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.translate(textnorm._TABLE))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


@pytest.mark.parametrize("text", ["O’Brien", "O'Brien", "O`Brien", "José Ñúñez", "MARIA",
                                  "Szöllössy", "Smith‐Jones", "Straße", "ﬁnn", "İstanbul",
                                  "K\u212aelvin", "plain ascii text 123", "", "a\u00a0b"])
def test_fold_fast_path_equals_unicode_path(text):
    assert textnorm.fold(text) == _slow_fold(text)
    slow_keep = "".join(f if len(f) == 1 else ch.lower() if len(ch.lower()) == 1 else ch
                        for ch in text for f in [_slow_fold(ch)])
    assert textnorm.fold_keep_length(text) == slow_keep
    assert len(textnorm.fold_keep_length(text)) == len(text)


def test_fold_ascii_backtick_is_an_apostrophe():
    assert textnorm.fold("O`Brien") == textnorm.fold("O’Brien") == "o'brien"


def test_plain_zipf_equals_wordfreq():
    """The dictionary lookup gives wordfreq's own value, for known, rare and unknown
    words and in any case/accents (the cache key is the unfolded word)."""
    from wordfreq import zipf_frequency
    words = sorted(w for w in lexicons._word_freqs() if w.isascii() and w.isalpha())
    sample = random.Random(12).sample(words, 3000) + ["the", "hope", "trust", "chair",
                                                       "okafor", "castellanos", "zzqxv"]
    for w in sample:
        assert lexicons._plain_zipf(w) == zipf_frequency(w, "en"), w
    for w in ["Hope", "HOPE", "Trust", "Chair", "Okafor", "José", "Zoë", "O’Brien", "it's",
              "Smith-Jones", "covid19", "Reading"]:
        assert lexicons.zipf(w) == zipf_frequency(textnorm.fold(w), "en"), w


@pytest.mark.parametrize("text", ["plain words", "tab\there", "nbsp\u00a0and\u2028ls", "  two  ",
                                  "\x1c\x1f", "", "ideographic\u3000space", "a\r\nb"])
def test_one_space_equals_substitution(text):
    import re
    from concord.transcripts import one_space
    assert one_space(text) == re.sub(r"\s", " ", text)


@pytest.mark.parametrize("text", ["Okay, so  we start.", "#00:01:02.5# Hello [Inaudible 00:12]",
                                  "tab\tand (crosstalk) here", "no markers at all",
                                  "(laughs)  and #hashtag", "  padded  "])
def test_clean_line_equals_full_cleaning(text):
    import re
    from concord import transcripts as tr
    full = tr.normalise_markers(re.sub(r"\s+", " ", tr._F4_TS.sub("", text))).strip()
    assert tr._clean_line(text) == full


@pytest.mark.parametrize("text", ["Maria and O’Brien — José Ñúñez",
                                  "O`Brien ’ and `tick`",
                                  "İstanbul ΣΟΦΙΑΣ straße", "plain ascii O`Brien", "",
                                  "\u1fef varia", "ﬁnn\u00a0x"])
def test_fold_text_equals_per_character_fold(text):
    from concord.deid import matcher
    from concord.textnorm import fold_keep_length
    assert matcher.fold_text(text) == fold_keep_length(text)
    assert len(matcher.fold_text(text)) == len(text)


@pytest.mark.parametrize("text", ["Maria's  sister, (Ana-Lucía) said: hi_there 42x!",
                                  "tab\tseparated\u00a0nbsp — dash", ""])
def test_lower_tokens_equal_findall(text):
    import re
    from concord.deid import matcher
    matcher._LAST_TOKENS[:] = [None, None, None]
    low, words = matcher._lower_tokens(text)
    assert low == text.lower() and words == set(re.findall(r"\w+", text.lower()))


def test_other_space_words_are_the_regex_class():
    """The gate's list of 'whitespace other than space and newline' is exactly the
    regex class it replaces, over every code point."""
    import re
    from concord.deid import gates
    every = "".join(map(chr, range(0x110000)))
    assert set(re.findall(r"[^\S \n]", every)) == set(gates._G_OTHER_SPACE)


def test_gate_word_scan_equals_find():
    """One Aho-Corasick pass gives, for each gate word, the turns that hold it."""
    from concord.deid import gates
    texts = ["my sister Ana", "Dr. Okafor called", "at 94 she", "", "County of X", "dr  no",
             "her\tmother Zoë", "twenty-one", "x@y.org and www.z.com", "İzmir in May"]
    view = gates._View(texts, range(len(texts)))
    for groups, s in ((gates._SCAN_TEXT, view.text), (gates._SCAN_LOW, view.text.lower())):
        hits = gates._word_turns(s, view.starts, groups)
        for words, got in zip(groups, hits):
            want = {i for i, t in enumerate(texts)
                    if any(w in (t if groups is gates._SCAN_TEXT else t.lower()) for w in words)}
            assert got == want, words


def test_lowercasing_keeps_word_characters():
    """WordMatcher checks word boundaries in ``text.lower()``: lower-casing a character
    (one character in, one out) never changes whether it is a word character."""
    import re
    import sys
    every = "".join(map(chr, range(sys.maxunicode + 1)))
    word = set(re.findall(r"\w", every))
    changed = [c for c in every if len(c.lower()) == 1 and (c in word) != (c.lower() in word)]
    assert changed == []


@pytest.mark.parametrize("text", ["Maria met MARIA and maria; amaria, maria_x, Maria's",
                                  "Ann-Marie and ann marie, O'Brien/o’brien; Ed edited it",
                                  "José and JOSE, jose. Zoë", "ΣΟΦΙΑΣ maria Straße ED"])
def test_word_matcher_equals_one_alternation(text):
    """The matcher finds what one case-insensitive alternation finds (its docstring)."""
    import re
    from concord.deid.matcher import WordMatcher
    strings = ["Maria", "Ann Marie", "Ann", "O'Brien", "Ed", "José", "Zoë", "maria x"]
    alt = re.compile(r"(?<![\w@.])(?:" + "|".join(
        re.escape(s).replace(r"\ ", r"\s+") for s in sorted(strings, key=lambda s: (-len(s), s)))
        + r")(?![\w@]|\.\w)", re.IGNORECASE)
    got = [(m.start(), m.end()) for m in WordMatcher(strings).finditer(text)]
    assert got == [(m.start(), m.end()) for m in alt.finditer(text)]


def _detector_patterns():
    """Every compiled pattern of the shared vocabulary and of every detector module
    (new modules included)."""
    import importlib
    import pkgutil
    import re
    from concord.deid import common, detectors
    mods = [common] + [importlib.import_module(f"{detectors.__name__}.{m.name}")
                       for m in pkgutil.iter_modules(detectors.__path__)]
    out = {}
    for mod in mods:
        for k, v in vars(mod).items():
            if isinstance(v, re.Pattern):
                out[f"{mod.__name__}.{k}"] = v
    return out


@pytest.mark.parametrize("pattern,expected", [
    (r"\b(?:on|by)\s+\d", "ob"), (r"(?<![\w-])\d{3}", r"\d"), (r"x?y", "xy"),
    (r"(?:a|b?)c", "abc"), (r"a*", None), (r"[^a]b", None), (r".b", None),
    (r"(?i:dr)\.? [A-Z]", "dD\u0130\u0131\u017f\u212a"), (r"(?i:é)x", None), (r"\w+", None),
    (r"(?:\s|-)x", r"\s\-")])
def test_first_char_class(pattern, expected):
    import re
    from concord.deid.common import first_char_class
    assert first_char_class(re.compile(pattern)) == expected


def test_guarded_patterns_find_the_same_matches():
    """Every compiled detector pattern with its first-character guard finds exactly
    the matches it finds without: on a demo study (real-looking speech) and on random
    strings of the characters the patterns care about (case-folding oddities
    included)."""
    from pathlib import Path
    from concord.deid.common import guarded
    demo = Path(__file__).resolve().parents[1] / "resources" / "demo" / "study_a"
    texts = [p.read_text(encoding="utf-8") for p in sorted((demo / "transcripts").glob("*.txt"))]
    rnd = random.Random(20)
    alphabet = "aAbBdDiIkKsStT zZ09 15-./:@#+()’'\n\u0130\u0131\u017f\u212aéÉ"
    texts += ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 60)))
              for _ in range(3000)]
    texts += ["my sister Ana said on the 14th, call 555-0101; I'm 47, at 94 she moved to "
              "Glenhaven, 1423 Maple Ridge Drive, MA 02139, SSN 123-45-6789, ZIP 7412 SL"]
    pats = _detector_patterns()
    assert len(pats) > 30
    n_guarded = 0
    for name, rx in pats.items():
        g = guarded(rx)
        n_guarded += g is not rx
        for t in texts:
            assert [m.span() for m in g.finditer(t)] == [m.span() for m in rx.finditer(t)], name
    assert n_guarded >= 15


def test_ascii_letters_match_case_insensitively_only_their_two_cases():
    """What the matcher's lower-cased path relies on: outside the four exotic
    characters (İ ı ſ K), a character matches an ASCII letter or digit
    case-insensitively exactly when its lower-case form is that letter."""
    import re
    import string
    import sys
    from concord.deid.common import _EXOTIC_CASE
    every = "".join(x for x in map(chr, range(sys.maxunicode + 1)) if x not in _EXOTIC_CASE)
    by_lower: dict[str, set] = {}
    for x in every:
        by_lower.setdefault(x.lower(), set()).add(x)
    for c in string.ascii_lowercase + string.digits:
        matched = set(re.findall(re.escape(c), every, re.IGNORECASE))
        assert matched == by_lower[c], c
