"""Case-insensitive, word-bounded matching of many strings at once (roster names,
propagated names, places)."""

from __future__ import annotations

import bisect
import functools
import re

from concord.deid.common import _EXOTIC_CASE


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
_WORD_CHAR = re.compile(r"\w")


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
        self._compiled: dict[tuple, list[tuple[re.Pattern, bool]]] = {}
        self._index: dict[str, tuple] = {}   # anchor -> :meth:`_plausible`'s buckets
        for s in sorted(set(strings), key=lambda s: (-len(s), s)):
            first = _TOKEN.match(s)
            if first is None:  # a string not starting with a word character
                raise ValueError(f"cannot match {s!r}: it must start with a letter or digit")
            self._strings.setdefault(first.group().casefold(), []).append(s)
        self.anchors = self._strings.keys()
        self._nonascii = {w for w in self.anchors if not w.isascii()}

    def _patterns(self, anchor: str, lower: bool) -> list[tuple[re.Pattern, bool]]:
        """The compiled strings starting with ``anchor``, each with whether it is
        matched in the lower-cased text: with ``lower`` (a text without the four exotic
        characters) an ASCII string is compiled lower-cased and case-sensitively for
        the lower-cased text (same matches, a third of the compile time)."""
        pats = self._compiled.get((anchor, lower))
        if pats is None:
            pats = self._compiled[(anchor, lower)] = [
                (_lower_string_pattern(s.lower()), True) if lower and s.isascii()
                else (_string_pattern(s), False) for s in self._strings[anchor]]
        return pats

    def finditer(self, text: str):
        """The matches in ``text``, in text order (non-overlapping, longest first)."""
        lower = not any(ch in text for ch in _EXOTIC_CASE)
        if lower:
            starts = self._starts_lower(text)
            low = _lower_tokens(text)[0]  # same length and offsets as text
        else:
            starts = self._starts_general(text)
            low = text
        pos = 0
        n = len(low)
        for start, w in starts:
            if start < pos:
                continue
            pats = self._patterns(w, lower)
            if len(pats) > 8 and lower:
                # many strings share this first word (full names of a large roster):
                # only those that can match here, in their order (:meth:`_plausible`)
                pats = [pats[k] for k in self._plausible(w, low, start, n)]
            for pat, on_lower in pats:
                hit = pat.match(low if on_lower else text, start)
                if hit:
                    pos = hit.end()
                    yield _Hit(hit.start(), hit.end(), text[hit.start():hit.end()])
                    break

    def _plausible(self, anchor: str, low: str, start: int, n: int) -> list[int]:
        """Indexes (in :meth:`_patterns` order) of the strings of ``anchor`` that can
        match at ``start`` of the lower-cased text: a string of words joined by single
        spaces (:class:`_LowerString`) only if its first word is there and, for more
        than one word, whitespace follows and then its second word's first character;
        any other string always. Skipping the others changes no match (they fail)."""
        index = self._index.get(anchor)
        if index is None:
            always, buckets, firsts = [], {}, []
            for k, (pat, _) in enumerate(self._patterns(anchor, True)):
                if not isinstance(pat, _LowerString):
                    always.append(k)
                    continue
                fw = pat.first
                if fw not in firsts:
                    firsts.append(fw)
                key = (fw, pat.words[1][0] if len(pat.words) > 1 else None)
                buckets.setdefault(key, []).append(k)
            index = self._index[anchor] = (always, buckets, firsts)
        always, buckets, firsts = index
        out = list(always)
        for fw in firsts:
            if not low.startswith(fw, start):
                continue
            out += buckets.get((fw, None), ())
            e = q = start + len(fw)
            while q < n and low[q].isspace():
                q += 1
            if e < q < n:
                out += buckets.get((fw, low[q]), ())
        out.sort()
        return out

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
        fast in a long text (no case-insensitive pattern per word is compiled)."""
        low, tokens = _lower_tokens(text)
        out = []
        end = len(low)
        for w in self.anchors & tokens:
            if not w.isascii():
                continue
            # the word pattern's remaining test, (?<!\w): lower-casing keeps \w-ness
            # (tests/test_deid_speed.py), and here a case-insensitive match of an ASCII
            # word is a lower-cased one. The occurrences of ``w`` followed by no word
            # character (what ``_tail_pattern(w).finditer(low)`` gives: two such
            # occurrences never overlap, ``w`` being all word characters) found with
            # str.find, 5x faster; \w is str.isalnum() or "_" (tests/test_deid_scan_speed.py)
            n = len(w)
            p = low.find(w)
            while p != -1:
                e = p + n
                if ((e == end or not (low[e].isalnum() or low[e] == "_"))
                        and (not p or not (text[p - 1].isalnum() or text[p - 1] == "_"))):
                    out.append((p, w))
                p = low.find(w, p + 1)
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
        # the words of the distinct whitespace-separated chunks (no word crosses
        # whitespace): the same set as findall over the text, 3x faster; the chunks of
        # the lower-cased text are the lower-cased chunks of the text (lower-casing
        # keeps whitespace and makes none; tests/test_deid_scan_speed.py)
        words = set(_TOKEN.findall(" ".join({c.lower() for c in chunks(text)})))
        _LAST_TOKENS[:] = [text, low, words]
    return _LAST_TOKENS[1], _LAST_TOKENS[2]


_LAST_CHUNKS: list = [None, None]


def chunks(text: str) -> set[str]:
    """``set(text.split())``, kept for the last text (the name detectors and the
    matchers read the distinct chunks of the same session text)."""
    if _LAST_CHUNKS[0] != text:
        _LAST_CHUNKS[:] = [text, set(text.split())]
    return _LAST_CHUNKS[1]


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


@functools.lru_cache(maxsize=65536)
def _lower_string_pattern(s: str):
    """:func:`_string_pattern` of a lower-case ASCII string, for lower-cased text:
    case-sensitive (in such a text an ASCII letter matches case-insensitively only
    its own two cases; tests/test_deid_speed.py). A string of words joined by single
    spaces is matched without a regex (:class:`_LowerString`: no pattern to compile,
    and a study roster holds thousands of strings)."""
    if s == " ".join(s.split()):
        return _LowerString(s)
    body = re.escape(s).replace(r"\ ", r"\s+")
    return re.compile(r"(?<![\w@.])" + body + r"(?![\w@]|\.\w)")


class _LowerString:
    r"""``re.compile(r"(?<![\w@.])" + re.escape(s).replace(r"\ ", r"\s+") +
    r"(?![\w@]|\.\w)")`` for words joined by single spaces, as plain string tests
    (``match`` only): ``\w`` is ``str.isalnum()`` or ``_``, ``\s`` is ``str.isspace()``
    (tests/test_deid_scan_speed.py checks both over every code point and compares the
    matches with the pattern's)."""
    __slots__ = ("words", "first")

    def __init__(self, s: str):
        self.words = s.split(" ")
        self.first = self.words[0]

    def match(self, text: str, pos: int) -> _Hit | None:
        if not text.startswith(self.first, pos):
            return None
        if pos > 0:
            c = text[pos - 1]
            if c.isalnum() or c in "_@.":
                return None
        p = pos + len(self.first)
        n = len(text)
        for w in self.words[1:]:
            q = p
            while q < n and text[q].isspace():
                q += 1
            if q == p or not text.startswith(w, q):
                return None
            p = q + len(w)
        if p < n:
            c = text[p]
            if c.isalnum() or c in "_@" or (c == "." and p + 1 < n
                                            and (text[p + 1].isalnum() or text[p + 1] == "_")):
                return None
        return _Hit(pos, p, "")


def _word_regex(strings) -> WordMatcher | None:
    strings = set(strings)
    return WordMatcher(strings) if strings else None



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


class _FoldTable(dict):
    """str.translate table: each character -> its one-character fold (filled lazily)."""

    def __missing__(self, ch):
        from concord.textnorm import fold_keep_length
        v = self[ch] = fold_keep_length(chr(ch))
        return v


_FOLD_TABLE = _FoldTable()


def fold_text(text: str) -> str:
    """:func:`concord.textnorm.fold_keep_length` (same length, so same offsets), fast:
    ASCII text is lower-cased; other characters are folded once per process."""
    if text.isascii():  # a backtick is an apostrophe, as in fold_keep_length
        return text.lower().replace("`", "'") if "`" in text else text.lower()
    # ASCII runs lower-cased, only the other runs translated char by char (2x faster)
    if "`" in text:
        return "".join(m.group().translate(_FOLD_TABLE) if m.group(1) is None
                       else m.group().lower().replace("`", "'")
                       for m in _ASCII_RUNS.finditer(text))
    return "".join(m.group().translate(_FOLD_TABLE) if m.group(1) is None
                   else m.group().lower() for m in _ASCII_RUNS.finditer(text))


_ASCII_RUNS = re.compile(r"([\x00-\x7f]+)|[^\x00-\x7f]+")
