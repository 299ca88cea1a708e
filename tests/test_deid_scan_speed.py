"""De-identification throughput, session 21: each faster form gives exactly what the
form it replaces gives, on real text (both demo studies, the QMSum meetings and the
QualCoder transcript in ../shared/fixtures, the presidio-research texts when present)
and on random strings of the characters the patterns care about."""

import json
import random
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "transcripts"
PRESIDIO = Path("/tmp/deid/data/synth_dataset_v2.json")


def _real_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8")
             for study in ("study_a", "study_b")
             for p in sorted((REPO / "resources" / "demo" / study / "transcripts").glob("*.txt"))]
    for p in sorted(FIXTURES.glob("qmsum_*.json")):
        doc = json.loads(p.read_text(encoding="utf-8"))
        items = doc.get("meeting_transcripts", doc.get("turns"))
        texts.append("\n".join(it["content"] for it in items))
    q = FIXTURES / "qualcoder_example_transcript.txt"
    if q.exists():
        texts.append(q.read_text(encoding="utf-8"))
    if PRESIDIO.exists():
        texts += [x["full_text"] for x in json.loads(PRESIDIO.read_text(encoding="utf-8"))]
    return texts


def _random_texts(alphabet: str, n: int = 4000, seed: int = 21) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))) for _ in range(n)]


# upper and lower case (accented, exotic case), the O'/D'/L' prefixes, apostrophes,
# hyphens, digits, "t" after an apostrophe
_CAP_ALPHABET = "ODLAaoldtTéÉŁßİıſK\u212a'’-`_ 1\n.x"


def test_capitalised_word_scans_equal_the_lookbehind_forms():
    """``CAP_WORD_RE`` (opens with a character class) finds the same words as the
    lookbehind form it replaced, with and without the contraction lookahead."""
    from concord.deid.common import CAP_RE, CAP_WORD_RE
    pairs = [(re.compile(r"(?<![^\W\d_])" + CAP_RE), re.compile(CAP_WORD_RE)),
             (re.compile(r"(?<![^\W\d_])" + CAP_RE + r"(?![^\W\d_]|['’]t\b)"),
              re.compile(CAP_WORD_RE + r"(?![^\W\d_]|['’]t\b)"))]
    texts = _real_texts() + _random_texts(_CAP_ALPHABET)
    texts += ["O'Brien D’Arcy L'Oréal don't Don't O'Brien't Smith-Jones't xO'Brien Ö'Brien",
              "O'", "'O'Brien", "éO'Brien", "O’Ñúñez-Łukasz"]
    assert len(texts) > 4000
    n = 0
    for old, new in pairs:
        for t in texts:
            got = [m.span() for m in new.finditer(t)]
            assert got == [m.span() for m in old.finditer(t)], t[:80]
            n += len(got)
        # (with a start position: the lookbehind sees the text before it)
        for t in texts[:200]:
            for pos in (1, 7):
                assert ([m.span() for m in new.finditer(t, pos)]
                        == [m.span() for m in old.finditer(t, pos)])
    assert n > 10_000
    from concord.deid.detectors import names, places
    assert names._CAP_TOKEN.pattern == pairs[1][1].pattern
    assert places._PLACE_TOKEN.pattern == pairs[0][1].pattern


def test_every_whitespace_but_space_is_unprintable():
    """What ``transcripts._other_space`` relies on: a printable text holds no
    whitespace other than a space (every code point checked)."""
    import sys
    from concord import transcripts
    bad = [hex(c) for c in range(sys.maxunicode + 1)
           if chr(c) != " " and re.match(r"\s", chr(c)) and chr(c).isprintable()]
    assert bad == []
    for t in ["a\tb", "a\u00a0b", "a b", "", "x\u3000", "\u2028", "plain"]:
        assert transcripts._other_space(t) == (re.search(r"[^\S ]", t) is not None)


def test_parse_keeps_blank_and_bom_lines_as_before():
    from concord import transcripts
    raw = "\ufeff\nA: hi there\n \t \n\ufeff \nB:  two\u00a0 spaces\tand tab\n\nA: bye\n"
    turns = transcripts.parse(raw, {"A", "B"}, "t.txt", fmt="labelled")
    # offsets counted by hand: line 2 starts at 2 (its text at 2 + 3), line 5 at
    # 2 + 12 + 4 + 3 = 21 (text at 21 + 4), line 7 at 21 + 24 + 1 = 46 (text at 46 + 3)
    assert [(t.line, t.label, t.text, t.offset) for t in turns] == [
        (2, "A", "hi there", 5), (5, "B", "two spaces and tab", 25), (7, "A", "bye", 49)]


def _old_trigger_hits(text):
    from concord.deid.detectors.addresses import _TRIGGER_WORDS
    hits = []
    for w in _TRIGGER_WORDS:
        i = text.find(w)
        while i >= 0:
            if i == 0 or w[0] == " " or not text[i - 1].isalnum():
                hits.append(i)
            i = text.find(w, i + len(w))
    return sorted(hits)


def test_trigger_word_scan_equals_one_find_loop_per_word():
    from concord.deid.detectors.addresses import _TRIGGER_WORDS, _trigger_hits
    # (no word overlaps itself: one find loop per word gives every occurrence)
    for w in _TRIGGER_WORDS:
        assert not any(w.startswith(w[k:]) for k in range(1, len(w))), w
    words = "".join(_TRIGGER_WORDS)
    texts = _real_texts() + _random_texts(words + "xX1 .", n=3000)
    rnd = random.Random(8)
    texts += ["".join(rnd.choice(list(_TRIGGER_WORDS) + ["x", " ", "1", "\n", "a"])
                      for _ in range(rnd.randint(1, 15))) for _ in range(2000)]
    texts += [" ".join(_TRIGGER_WORDS), "".join(_TRIGGER_WORDS), "Via Viale Street Road",
              "xRue Rue  Street\tStreet uss USS 5 Avenue Avenue Boulevard "]
    n = 0
    for t in texts:
        got = sorted(_trigger_hits(t))
        assert got == _old_trigger_hits(t), t[:80]
        n += len(got)
    assert n > 5000


def _old_place_names(text):
    """places.place_names as on main f2e2e88 (every token tested in turn)."""
    from concord.deid import lexicons
    from concord.deid.common import Candidate
    from concord.deid.detectors.places import (MAX_PLACE_WORDS, _PLACE_JOIN, _PLACE_TOKEN,
                                               _places)
    places, firsts = _places()
    fold_word = lexicons.fold_word
    toks = list(_PLACE_TOKEN.finditer(text))
    out = []
    i = 0
    while i < len(toks):
        if fold_word(toks[i].group()).split("-")[0] not in firsts and \
                fold_word(toks[i].group()) not in firsts:
            i += 1
            continue
        j = i + 1
        while j < len(toks) and j - i < MAX_PLACE_WORDS:
            gap = _PLACE_JOIN.fullmatch(text, toks[j - 1].end(), toks[j].start())
            if gap is None:
                break
            j += 1
        for k in range(j, i, -1):
            s, e = toks[i].start(), toks[k - 1].end()
            found = text[s:e]
            if fold_word(found) in places and not (found.isupper() and len(found) <= 3):
                out.append(Candidate(s, e, "LOCATION", "place-name"))
                i = k
                break
        else:
            i += 1
    return out


def test_place_names_equal_the_token_by_token_loop():
    from concord.deid.detectors.places import place_names
    rnd = random.Random(5)
    towns = ["New York", "San Francisco", "Stoke-on-Trent", "Rio de Janeiro", "York",
             "Paris", "London", "NY", "Newcastle upon Tyne", "Ho Chi Minh City", "Reading"]
    texts = _real_texts() + [" ".join(rnd.choice(towns + ["of", "the", "and", "New", "Lake",
                                                         "moved", "to", "-", ","])
                                      for _ in range(rnd.randint(1, 12)))
                             for _ in range(3000)]
    n = 0
    for t in texts:
        got = [(c.start, c.end) for c in place_names(t)]
        assert got == [(c.start, c.end) for c in _old_place_names(t)], t[:80]
        n += len(got)
    assert n > 1000


def test_a_month_cue_needs_a_month_prefix():
    """The date-month detector runs only over turns holding a month's first three
    letters (gate ``month``): every match of its pattern holds one."""
    from concord.deid.detectors.dates import _DATE_MONTH
    from concord.deid.gates import _MONTH_PREFIXES
    rnd = random.Random(3)
    words = ["in", "since", "May", "June", "Sept.", "Dec", "Decem", "of", "back", "İN", "mid-",
             "SINCE", "may", "x"]
    texts = _real_texts() + [rnd.choice(["", " "]).join(rnd.choice(words) + rnd.choice(" \n")
                                                         for _ in range(rnd.randint(1, 9)))
                             for _ in range(3000)]
    n = 0
    for t in texts:
        for m in _DATE_MONTH.finditer(t):
            assert any(p in m.group() for p in _MONTH_PREFIXES)
            n += 1
    assert n > 100


def test_word_and_space_classes_are_the_str_methods():
    """What ``matcher._LowerString`` relies on, over every code point: ``\\w`` is
    ``str.isalnum()`` or "_", ``\\s`` is ``str.isspace()``."""
    import sys
    w, sp = re.compile(r"\w"), re.compile(r"\s")
    for c in map(chr, range(sys.maxunicode + 1)):
        assert bool(w.match(c)) == (c.isalnum() or c == "_"), hex(ord(c))
        assert bool(sp.match(c)) == c.isspace(), hex(ord(c))


def test_lower_string_matcher_equals_its_pattern():
    """``_LowerString.match`` gives the match of the regex it replaces, at every
    position of real text (lower-cased) and of random strings, for roster-like strings
    of one to three words."""
    from concord.deid.matcher import _LowerString
    strings = ["ana", "maria", "o'brien", "jose nunez", "mary ann smith", "al", "dr. who",
               "st. louis", "ed", "a.b", "x-ray", "smith-jones"]
    rnd = random.Random(4)
    texts = [t.lower() for t in _real_texts()[:30]]
    texts += ["".join(rnd.choice(strings + [" ", "  ", "\t", ".", "@", "_", "x", "é", "1",
                                            "\u00a0", ",", "'"])
                      for _ in range(rnd.randint(1, 12))) for _ in range(3000)]
    n = 0
    for s in strings:
        rx = re.compile(r"(?<![\w@.])" + re.escape(s).replace(r"\ ", r"\s+")
                        + r"(?![\w@]|\.\w)")
        fast = _LowerString(s)
        for t in texts:
            p = t.find(s.split()[0])
            while p != -1:
                m, f = rx.match(t, p), fast.match(t, p)
                assert (m.span() if m else None) == (f.span() if f else None), (s, t[p:p + 30])
                n += m is not None
                p = t.find(s.split()[0], p + 1)
    assert n > 1000


def test_sentence_crossing_prefilter():
    from concord.deid.common import _CROSSES_SENTENCE
    from concord.deid.detect import _crosses_sentence
    rnd = random.Random(6)
    texts = _real_texts()[:40] + _random_texts("Aa. !?Dr St\u00a0xM", n=2000)
    n = 0
    for t in texts:
        for _ in range(300):
            a = rnd.randrange(len(t))
            b = min(len(t), a + rnd.randint(1, 40))
            exp = _CROSSES_SENTENCE.search(t, a, b) is not None
            assert _crosses_sentence(t, a, b) == exp
            n += exp
    assert n > 1000


def test_anchor_starts_equal_the_tail_pattern_scan():
    """``WordMatcher._starts_lower`` (str.find per first word) gives the positions the
    regex scan per first word gave (``_tail_pattern(w).finditer`` on the lower-cased
    text, no word character before)."""
    from concord.deid import matcher
    words = ["ana", "maria", "o", "ed", "will", "hope", "jose nunez", "o'brien", "smith-jones",
             "al", "a", "anna", "x_y", "n"]
    m = matcher.WordMatcher(words)
    rnd = random.Random(9)
    texts = _real_texts()[:40] + ["".join(rnd.choice(words + ["A", "Ana", " ", "_", "é", "1",
                                                               ".", "\n", "-", "NA"])
                                          for _ in range(rnd.randint(1, 14)))
                                  for _ in range(3000)]
    n = 0
    for t in texts:
        if any(ch in t for ch in "\u0130\u0131\u017f\u212a"):
            continue
        low = t.lower()
        old = sorted((x.start(), w) for w in m.anchors if w.isascii()
                     for x in matcher._tail_pattern(w).finditer(low)
                     if not x.start() or not re.match(r"\w", t[x.start() - 1]))
        assert m._starts_lower(t) == old, t[:80]
        n += len(old)
    assert n > 5000


def test_lower_casing_keeps_whitespace_and_makes_none():
    """What ``matcher._lower_tokens`` relies on: the chunks of ``text.lower()`` are the
    lower-cased chunks of ``text`` (every code point; real text; Greek final sigma)."""
    import sys
    for c in map(chr, range(sys.maxunicode + 1)):
        low = c.lower()
        if c.isspace():
            assert low == c, hex(ord(c))
        else:
            assert not any(x.isspace() for x in low), hex(ord(c))
    texts = _real_texts() + _random_texts("ΣΟΔΟΣσς aA İ\u00a0\t.'", n=3000)
    texts += ["ΟΔΟΣ ΟΔΟΣ. Σ ΣΣ aΣ Σa", "İstanbul İ"]
    for t in texts:
        assert set(t.lower().split()) == {c.lower() for c in set(t.split())}, t[:80]


# the digit patterns as they were (lookbehind first), and their modules' names
_OLD_DIGIT_FORMS = {
    ("ids", "_LONGNUM"): r"(?<![\w.,])\d{6,}(?![\w.,]\d)",
    ("ids", "_SSN"): r"(?<![\w-])\d{3}([- ]?)\d{2}\1\d{4}(?![\w-]|[.,]\d)",
    ("ids", "_NHS"): r"(?<![\w-])\d{3}([- ]?)\d{3}\1\d{4}(?![\w-]|[.,]\d)",
    ("ids", "_CARD"): r"(?<![\w-])\d{4}([- ]?)\d{4}\1\d{4}\1\d{1,7}(?![\w-]|[.,]\d)",
    ("contact", "_IP4"): r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?![\w]|\.\d)",
    ("places", "_BARE_ZIP"):
        r"(?<![\w$£€#.,/:-])\d{5}(?:-\d{4})?(?![\w%/:-]|[.,]\d)"
        r"(?!\s*(?:%|percent|dollars|bucks|pounds|euros|steps|miles|km|feet|people|patients|"
        r"times|words|calories|mg|units|cases|deaths|a\s+year|a\s+month|per))",
}


def test_digit_patterns_opening_with_the_digit_equal_the_lookbehind_forms():
    """Same spans and groups as the forms they replace, from every start position used
    by finditer, on real text and random digit strings."""
    import importlib
    from concord.deid.common import guarded
    rnd = random.Random(13)
    texts = _real_texts() + _random_texts("0123456789 -.,:/$£#%x\n", n=4000)
    texts += ["".join(rnd.choice(["123", "45", "6789", "-", " ", ".", "1.2.3.4", "192.168.0.1",
                                  "123-45-6789", "4111 1111 1111 1111", "02139", "x", "a",
                                  " percent", " people", "-1234", "999999"])
                      for _ in range(rnd.randint(1, 10))) for _ in range(4000)]
    n = 0
    for (mod, name), old in _OLD_DIGIT_FORMS.items():
        new = getattr(importlib.import_module(f"concord.deid.detectors.{mod}"), name)
        old = re.compile(old)
        assert guarded(new) is new      # (opens with \d: no guard in front)
        for t in texts:
            got = [(m.span(), m.groups()) for m in new.finditer(t)]
            assert got == [(m.span(), m.groups()) for m in old.finditer(t)], (name, t[:80])
            n += len(got)
            if len(t) > 3:
                assert ([m.span() for m in new.finditer(t, 2)]
                        == [m.span() for m in old.finditer(t, 2)])
    assert n > 4000


def test_name_answer_scan_opens_with_a_class():
    """``[aA][mM][eE]`` is ``(?i:ame)`` (every code point), and the name-answer pattern
    finds the same matches as with ``(?i:ame)``."""
    import sys
    from concord.deid.detectors import names
    for a in "ame":
        found = {c for c in map(chr, range(sys.maxunicode + 1)) if re.fullmatch(f"(?i:{a})", c)}
        assert found == {a, a.upper()}
    old = re.compile(names._NAME_ANSWER.pattern.replace("[aA][mM][eE]", "(?i:ame)", 1))
    assert old.pattern != names._NAME_ANSWER.pattern
    rnd = random.Random(17)
    texts = _real_texts() + ["".join(rnd.choice(["name", "NAME", "Name", "nAmE", "game", "ame",
                                                 "?", ":", " ", "  ", "Magnusson", "hope",
                                                 "Fredrik L Sommerseth", "\n", "İ"])
                                     for _ in range(rnd.randint(1, 9))) for _ in range(3000)]
    n = 0
    for t in texts:
        got = [(m.span(), m.groups()) for m in names._NAME_ANSWER.finditer(t)]
        assert got == [(m.span(), m.groups()) for m in old.finditer(t)]
        n += len(got)
    assert n > 100


def test_word_matcher_with_many_strings_per_first_word_equals_one_alternation():
    """A large roster: many full names per first name (``WordMatcher._plausible`` tries
    only those that can match); the matches are those of one alternation, longest
    first, on real text and on random strings of the names."""
    from concord.deid.matcher import WordMatcher
    rnd = random.Random(21)
    firsts = ["maria", "ana", "o'brien", "will", "jose"]
    lasts = ["smith", "szabo", "smithson", "sm", "o'neil", "lee", "li", "ng", "x-y", "st. john",
             "van der berg", "nunez", "ed", "a"]
    strings = {f"{f} {last}" for f in firsts for last in lasts} | set(firsts) | {"maria-jose",
                                                                              "ana lee smith"}
    alternation = re.compile(r"(?<![\w@.])(?:" + "|".join(
        re.escape(s).replace(r"\ ", r"\s+") for s in sorted(strings, key=lambda s: (-len(s), s)))
        + r")(?![\w@]|\.\w)", re.IGNORECASE)
    words = firsts + lasts + ["Maria", "ANA", " ", "  ", "\t", ".", ",", "x", "smithy", "\n"]
    texts = _real_texts()[:20] + ["".join(rnd.choice(words) + rnd.choice(["", " ", " ", "\u00a0"])
                                          for _ in range(rnd.randint(1, 12)))
                                  for _ in range(4000)]
    m = WordMatcher(strings)
    n = 0
    for t in texts:
        got = [(h.start(), h.end()) for h in m.finditer(t)]
        assert got == [x.span() for x in alternation.finditer(t)], t[:80]
        n += len(got)
    assert n > 4000
    assert len(m._index) >= 4   # (the bucketed path ran)
