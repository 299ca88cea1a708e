"""Privacy checks: the leak gate and the evaluation of de-identification.

Leak gate (:func:`leak_check`, rule ``leak_check``)
    A second line of defence that does not trust the detectors: it searches every
    output for every original identifier the study knows, whether or not a detector
    found it.

    *What is searched for* (:func:`identifiers`): every roster form -- full name, each
    name token of it (``O'Brien``, both halves of ``Smith-Jones``), every alias and
    every speaker label that is not a role (``MODERATOR``, ``Speaker 2``, ``Therapist``
    ...); every ``original`` of the pseudonym keys (what the detectors found, ages and
    speaker labels excepted); every ``redact`` row of ``restricted/decisions.tsv`` (a
    person's review); every term of ``restricted/deny.txt``.

    *How* (:class:`Matcher`): on :func:`concord.textnorm.fold` forms (case, accents,
    typographic apostrophes, hyphens, no-break spaces: ``O’Brien`` in a DOCX is found
    for roster ``O'Brien``, ``Jose Nunez`` for ``José Ñúñez``), word-bounded (no letter
    or digit immediately before or after), any run of whitespace matching a space.
    The same case rule as the redactor: a single-word identifier that is also a common
    English word (:func:`is_common_word`: Hope, Grace, Will, May, Trust, Chair ...)
    counts only where it is written as a name -- capitalised, not all capitals --
    mid-sentence *and* at a sentence start ("Hope here again." is a hit; "I hope",
    the code id ``HOPE`` are not). Multi-word identifiers match in any case.

    *Never a hit* (:class:`Exclusions`, built from the study's own files, nothing
    hard-coded): a hit lying inside an occurrence of a code id (exact capitals), a
    code label or category, a term of ``restricted/allow.txt``, a ``keep`` decision
    or a role label; and a hit whose three-word window (the hit with the two words
    before, after, or around it) occurs in the template's fixed text -- the headings of the
    manuscript source (its prose is the author's and is checked), the bibliography as
    written and as rendered, the checklist and the codebook -- so "Wilson, Edwin B."
    in the references or a heading "Hope and milestones" does not fire, while "Hope
    here again." in a quote does. A ``keep`` decision is study-wide for the gate (an
    output such as the manuscript mixes sessions) and masks only the text it names:
    a full name containing it is still a hit.

    *Where* (:func:`scan_roots`): every file under ``results/``, ``logs/`` and
    ``.snakemake/log/``, following symlinked files and folders (each real folder once).
    Per file (:func:`scan_file`): text as UTF-8; HTML/XML/SVG as text with tags removed
    and references unescaped, plus readable attribute values; ZIP containers (DOCX,
    XLSX, QDPX) member by member; PDF as the text of each page and the metadata,
    extracted with pypdf (words hyphenated over a line end joined); JSON also as its
    decoded strings; PNG text chunks (figure text drawn as pixels is not read: the
    figures' labels come from code and group labels). ``data:`` URIs are blanked.

    *On a hit* (:func:`quarantine`, :func:`write_leak_report`): every leaking file is
    moved from ``results/`` (or ``logs/``) into ``restricted/quarantine/`` (0700, files
    0600), so nothing that leaks stays where it would be shared; the run fails; the
    console, the rule's log and ``results/privacy/leaks.tsv`` name each hit as number,
    file, type and a context window in which every identifier is masked as ``[TYPE]``;
    the originals are in ``restricted/quarantine/leaks.json`` and
    ``concord deid show-leak N`` shows one to a user who can read ``restricted/``.
    ``concord verify`` fails while ``results/privacy/leaks.tsv`` exists; the next
    clean gate run removes it.

Evaluation (:func:`evaluate`)
    Against gold identifier spans (``start``, ``end``, ``type`` in raw-file
    offsets). Matching rule, on non-space characters:

    * a gold span is *hidden* (a recall hit) when every non-space character of it
      lies inside some redaction of any type -- what matters for privacy; it is
      *typed* when a covering redaction also has the gold type;
    * a redaction is *correct* (a precision hit) when at least one of its non-space
      characters lies inside a gold span of any type.

    Recall per type is over gold spans of that type; precision per type is over
    redactions of that (detected) type.
"""

from __future__ import annotations

import functools
import html
import io
import json
import os
import re
import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import ahocorasick
import pandas as pd

from concord import deidentify as deid
from concord import transcripts
from concord.textnorm import fold
from concord.textnorm import fold_keep_length as _fold_chars
from concord.tsvio import InputError, read_tsv

LEAK_COLUMNS = ["file", "kind", "checked_bytes", "identifiers_checked", "hits"]
LEAKS_COLUMNS = ["leak", "file", "member", "view", "offset", "type", "identifier", "context",
                 "quarantined_to"]
EVAL_COLUMNS = ["set", "type", "gold", "hidden", "recall", "typed", "redactions",
                "correct", "precision"]
DECISION_COLUMNS = ["session_id", "text", "type", "decision", "note"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
MARKUP_SUFFIXES = {".html", ".htm", ".xml", ".svg", ".xhtml", ".rels", ".qdc", ".qde"}
# speaker labels that name a role, not a person (never identifiers)
ROLE_LABEL = re.compile(r"^(?:moderator|facilitator|co-?facilitator|interviewer|interviewee|"
                        r"speaker|participant|respondent|unknown|mod|p|s|therapist|client|"
                        r"counsell?or|patient|caregiver|carer|nurse|doctor|clinician|"
                        r"researcher|observer|note-?taker|host|guest|inaudible)\b[\s\d]*$|\d",
                        re.IGNORECASE)
SKIP_KEY_TYPES = {"AGE", "SPEAKER"}
TITLES = {"dr", "mr", "mrs", "ms", "mx", "miss", "prof", "professor", "doctor", "sir", "dame",
          "rev", "jr", "sr"}
# The de-identification package's rule is used when it has one (concord.deid.lexicons);
# this is the gate's own. A name token is also a common English word when it is a lower-case entry of Webster's
# 2nd International (web2, public domain, as shipped by the english-words package:
# "hope", "grace", "will", "trust", "chair", "burden", but not "john", "carla",
# "edwin") AND frequent in present-day English: Zipf frequency (log10 per billion
# words, wordfreq) of at least COMMON_ZIPF -- web2 also lists "anna" and "sam" as rare
# nouns, frequency alone cannot tell "anna" from "burden" (4.4 vs 4.2). A name is a
# word too when the redactor says so (COMMON_WORD_NAMES).
COMMON_ZIPF = 3.0
CONTEXT_CHARS = 40


_FOLDED: dict[str, str] = {}


def fold_keep_length(text: str) -> str:
    """:func:`concord.textnorm.fold_keep_length`, one ``str.translate`` per text (each
    distinct character folded once and cached): ~100x faster on megabytes of output."""
    if text.isascii():
        return text.lower().replace("`", "'")   # the same, in C (textnorm: ` is an apostrophe)
    chars = set(text)
    for ch in chars - _FOLDED.keys():
        _FOLDED[ch] = _fold_chars(ch)
    return text.translate({ord(c): _FOLDED[c] for c in chars})


class LeakError(Exception):
    """An original identifier was found in an output (the message has no value)."""


@functools.lru_cache(maxsize=1)
def _web2_lower() -> frozenset:
    from english_words import get_english_words_set
    return frozenset(w for w in get_english_words_set(["web2"], lower=False, alpha=True)
                     if w.islower())


@functools.lru_cache(maxsize=None)
def is_common_word(token: str) -> bool:
    """True when the single word ``token`` is also an ordinary English word: then it
    is a name only where capitalised (the redactor's rule; see COMMON_ZIPF).

    >>> [is_common_word(w) for w in ["Hope", "Will", "Trust", "Chair", "Carla", "Edwin"]]
    [True, True, True, True, False, False]
    """
    w = fold(token).strip()
    if not w or " " in w:
        return False
    redactor = _redactor_rule()
    if redactor is not None:          # the redactor's own rule: one rule for both
        return bool(redactor(token))
    if w in {fold(x) for x in getattr(deid, "COMMON_WORD_NAMES", ())}:
        return True
    from wordfreq import zipf_frequency
    return w in _web2_lower() and zipf_frequency(w, "en") >= COMMON_ZIPF


@functools.lru_cache(maxsize=1)
def _redactor_rule():
    """The de-identification package's ``is_common_word`` when it has one (contract B:
    the redactor and the gate apply the same case rule), else None."""
    try:
        from concord.deid.lexicons import is_common_word as rule
    except ImportError:
        return None
    return rule


@dataclass(frozen=True)
class Term:
    """One identifier the gate searches for."""
    text: str
    type: str
    source: str        # roster | alias | label | key | decision | deny
    cased: bool        # only capitalised occurrences count (a common-word single name)


@dataclass(frozen=True)
class Hit:
    file: str
    member: str       # ZIP member, PDF page, or "" for a plain file
    view: str         # text, markup-stripped, attributes, pdf-text, json-strings ...
    offset: int       # character offset in the view
    type: str         # identifier type (NAME, PHONE ...)
    index: int        # index of the identifier in the sorted list (not the value)
    context: str = ""            # window around the hit, every identifier masked
    original: str = field(default="", repr=False, compare=False)   # restricted

    def describe(self) -> str:
        where = f"{self.file}" + (f" [{self.member}]" if self.member else "")
        return (f"{where}: {self.type} identifier #{self.index} at character "
                f"{self.offset} ({self.view})")


# ---------------------------------------------------------------------------
# the identifiers and the exclusions

def _keep(s: str) -> bool:
    s = " ".join(s.split())
    if len(s) < 2:
        return False
    if not re.search(r"[^\W\d_]", s):  # no letter: numbers, phones, IDs
        return len(re.sub(r"\D", "", s)) >= 5
    return True


_NAME_TOKEN = re.compile(r"[^\W\d_]+(?:['’‘ʼ\-‐‑][^\W\d_]+)*")


def name_tokens(name: str) -> list[str]:
    """The name tokens of a full name or alias: words of two letters or more that are
    not titles (``Dr``, ``Mrs``), and the parts of a hyphenated name (``Smith-Jones``
    -> ``Smith-Jones``, ``Smith``, ``Jones``); ``O'Brien`` stays one token."""
    out = []
    for m in _NAME_TOKEN.finditer(name):
        tok = m.group()
        if fold(tok).rstrip(".") in TITLES:
            continue
        out.append(tok)
        parts = re.split(r"[\-‐‑]", tok)
        if len(parts) > 1:
            out += [p for p in parts if len(p) > 1]
    return [t for t in out if len(t) > 1]


def is_role_label(label: str) -> bool:
    return bool(ROLE_LABEL.search(str(label).strip()))


def identifiers(roster: pd.DataFrame, keys: list[dict], deny=(), decisions=None) -> list[Term]:
    """Every identifier the gate searches for, one per folded form, sorted (see the
    module docstring). ``deny``: ``(term, type)`` pairs; ``decisions``: the decisions
    table (its ``redact`` rows count)."""
    found: dict[str, Term] = {}

    def add(s, type_: str, source: str) -> None:
        s = " ".join(str(s).split())
        if not _keep(s):
            return
        # a common word, or a name of two letters ("Ed": "2nd ed.", "Al": "et al.")
        cased = is_common_word(s) or (" " not in s and len(s) <= 2)
        key = fold(s)
        if key not in found or (found[key].cased and not cased):
            found[key] = Term(s, type_, source, cased)

    for row in roster.to_dict("records"):
        full = row.get("full_name", "")
        add(full, "NAME", "roster")
        for tok in name_tokens(full):
            add(tok, "NAME", "roster")
        for alias in str(row.get("aliases", "") or "").split(";"):
            add(alias, "NAME", "alias")
            if len(alias.split()) > 1:
                for tok in name_tokens(alias):
                    add(tok, "NAME", "alias")
        label = str(row.get("speaker_label", "")).strip()
        if label and not is_role_label(label):
            add(label, "NAME", "label")
    for key in keys:
        for e in key.get("entries", []):
            if e.get("type") in SKIP_KEY_TYPES or "original" not in e:
                continue
            add(e["original"], e.get("type", "NAME"), "key")
    for term, type_ in deny:
        add(term, type_ or "NAME", "deny")
    if decisions is not None and len(decisions):
        for r in decisions[decisions["decision"] == "redact"].to_dict("records"):
            add(r["text"], r.get("type") or "NAME", "decision")
    return sorted(found.values(), key=lambda t: (fold(t.text), t.type))


def _lines(path) -> list[str]:
    """Non-empty, non-comment lines of an optional restricted list (absent = empty)."""
    if path is None or not Path(path).is_file():
        return []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return [ln.rstrip("\r") for ln in text.split("\n")
            if ln.strip() and not ln.lstrip().startswith("#")]


def read_allow(path) -> list[str]:
    """``restricted/allow.txt``: one term per line that is never an identifier."""
    return [ln.strip() for ln in _lines(path)]


def read_deny(path) -> list[tuple[str, str]]:
    """``restricted/deny.txt``: ``term<TAB>TYPE`` per line (TYPE optional, NAME)."""
    out = []
    for ln in _lines(path):
        term, _, type_ = ln.partition("\t")
        out.append((term.strip(), type_.strip().upper() or "NAME"))
    return out


def read_decisions(path) -> pd.DataFrame:
    """``restricted/decisions.tsv`` (absent = no decisions). Errors never echo text."""
    if path is None or not Path(path).is_file():
        return pd.DataFrame(columns=DECISION_COLUMNS)
    df = read_tsv(path, required=["session_id", "text", "type", "decision"])
    if "note" not in df.columns:
        df["note"] = ""
    bad = ~df["decision"].isin(["redact", "keep"])
    if bad.any():
        raise InputError(f"{path}, line {int(bad.to_numpy().argmax()) + 2}: column 'decision' "
                         f"must be 'redact' or 'keep'; fix the row (or run concord deid review)")
    return df[DECISION_COLUMNS]


def codebook_labels(codebook: dict | None) -> tuple[list[str], list[str]]:
    """``(code ids, labels)`` of a codebook: ids matched in exact capitals, labels
    (code names, categories) folded."""
    if not codebook:
        return [], []
    ids, labels = [], list(codebook.get("categories", []) or [])
    for code in codebook.get("codes", []):
        ids.append(str(code.get("id", "")))
        labels.append(str(code.get("name", "")))
    return [i for i in ids if i], [x for x in labels if x]


_WORD = re.compile(r"[^\W_]+")


def _trigrams(text: str) -> set[tuple[str, str, str]]:
    words = _WORD.findall(fold_keep_length(text))
    return set(zip(words, words[1:], words[2:]))


@dataclass
class Exclusions:
    """What is never a hit (see module docstring)."""
    code_ids: list[str] = field(default_factory=list)
    phrases: list[str] = field(default_factory=list)   # labels, allow, keep, role labels
    fixed: set = field(default_factory=set)            # trigrams of the template's text

    @classmethod
    def build(cls, codebook=None, allow=(), decisions=None, roster=None, fixed_files=(),
              fixed_texts=()):
        """``fixed_files``: the template's sources (manuscript source, bibliography,
        checklist); ``fixed_texts``: fixed text as rendered (:func:`rendered_references`)."""
        ids, labels = codebook_labels(codebook)
        phrases = list(labels) + list(allow)
        if decisions is not None and len(decisions):
            phrases += list(decisions.loc[decisions["decision"] == "keep", "text"])
        if roster is not None and len(roster):
            phrases += [lab for lab in roster.get("speaker_label", []) if is_role_label(lab)]
            if "role" in roster.columns:
                phrases += [r for r in roster["role"] if str(r).strip()]
        fixed: set = set()
        for f in fixed_files:
            p = Path(f)
            if p.is_file():
                fixed |= _trigrams(fixed_text(p))
        for t in fixed_texts:
            fixed |= _trigrams(t)
        if codebook:
            fixed |= _trigrams(json.dumps(codebook, ensure_ascii=False, default=str))
        return cls(sorted(set(ids)), sorted({" ".join(p.split()) for p in phrases if p.strip()}),
                   fixed)


def fixed_text(path) -> str:
    """The fixed text of a template file: of a manuscript source (``.qmd``, ``.md``) its
    headings only -- its prose is the author's and is checked like any output (a name
    typed into the acknowledgements is a leak); of any other file (bibliography,
    checklist) all of it."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    if Path(path).suffix.lower() in {".qmd", ".md", ".rmd", ".markdown"}:
        return "\n".join(ln for ln in text.split("\n") if re.match(r"#{1,6}\s", ln))
    return text


def rendered_references(html_path) -> str:
    """The reference list as the citation processor rendered it (the ``refs`` element
    of a pandoc HTML output): the bibliography is fixed text in whatever form the
    citation style gives it ("Bird, Steven, Ewan Klein, and Edward Loper"), also in the
    DOCX and PDF. Empty if there is none."""
    import lxml.html
    try:
        refs = lxml.html.parse(str(html_path)).getroot().get_element_by_id("refs", None)
    except (OSError, ValueError):
        return ""
    return "" if refs is None else refs.text_content()


# ---------------------------------------------------------------------------
# matching

class Matcher:
    """All identifiers, on folded text, word-bounded, in one pass over the words of a
    text: each word is looked up among the identifiers' first words, and only those
    identifiers are tried at that position (a single alternation of hundreds of names
    is ~40x slower in Python's ``re``). ``terms``: :class:`Term` objects or plain
    strings (uncased). Offsets are offsets in the original text (the folding keeps
    every character's position)."""

    def __init__(self, terms):
        self.terms = [t if isinstance(t, Term) else Term(str(t), "", "", False) for t in terms]
        self.anchors: dict[str, list[tuple[int, re.Pattern, int, int]]] = {}
        self.words = []
        for i, t in enumerate(self.terms):
            f = fold_keep_length(" ".join(t.text.split()))
            self.words.append(frozenset(_WORD.findall(f)))
            first = _WORD.search(f)
            if first is None:
                continue
            body = r"\s+".join(re.escape(w) for w in f.split())
            # word-bounded as \b is: "max_rss" (a program's field name) holds no "Max"
            pat = re.compile(r"(?<!\w)" + body + r"(?!\w)")
            self.anchors.setdefault(first.group(), []).append((first.start(), pat, i, len(f)))
        for lst in self.anchors.values():
            lst.sort(key=lambda x: -x[3])  # longest first

    # kept for callers of the former interface
    @property
    def idents(self):
        return [(t.text, t.type) for t in self.terms]

    def finditer(self, text: str, folded: str | None = None):
        """``(start, end, index)`` of non-overlapping hits, longest first at a position;
        a cased term only where the text has it capitalised (not all capitals)."""
        folded = fold_keep_length(text) if folded is None else folded
        for s, e, i in self._resolve(folded, *self._anchor_positions(folded)):
            if self.terms[i].cased and not _capitalised(text[s:e]):
                continue
            yield s, e, i

    def _anchor_positions(self, folded: str):
        """``(positions, candidates)``: ``(offset, first word)`` of every word of the
        folded text that starts an identifier which can occur in it, in text order,
        and for each such word the identifiers to try (longest first). An identifier
        can only occur if every one of its words is a word of the text: the words are
        collected once and compared as sets, so a clean output costs one pass."""
        present = set(_WORD.findall(folded))
        candidates = {}
        for w in self.anchors.keys() & present:
            possible = [c for c in self.anchors[w] if self.words[c[2]] <= present]
            if possible:
                candidates[w] = possible
        if not candidates:
            return [], candidates
        automaton = ahocorasick.Automaton()
        for w in candidates:
            automaton.add_word(w, w)
        automaton.make_automaton()
        n = len(folded)
        positions = []
        for end, w in automaton.iter(folded):
            start = end - len(w) + 1
            if (start == 0 or not folded[start - 1].isalnum()) and \
                    (end + 1 == n or not folded[end + 1].isalnum()):
                positions.append((start, w))
        return sorted(positions), candidates

    @staticmethod
    def _resolve(text: str, positions, candidates):
        last_end = -1
        for pos, w in positions:
            for plen, pat, i, _ in candidates[w]:
                start = pos - plen
                if start < 0 or start < last_end:
                    continue
                hit = pat.match(text, start)
                if hit:
                    last_end = hit.end()
                    yield start, hit.end(), i
                    break


def _capitalised(s: str) -> bool:
    """Written as a name: first letter upper case, not all capitals (``HOPE``)."""
    letters = [c for c in s if c.isalpha()]
    return bool(letters) and letters[0].isupper() and not (
        len(letters) > 1 and all(c.isupper() for c in letters))


def compile_identifiers(terms) -> Matcher | None:
    return Matcher(terms) if terms else None


class Gate:
    """Identifiers + exclusions: :meth:`hits` of one text (the gate's decision)."""

    def __init__(self, terms: list[Term], excl: Exclusions | None = None):
        excl = excl or Exclusions()
        self.terms = terms
        self.matcher = compile_identifiers(terms)
        self.phrases = compile_identifiers(excl.phrases)
        self.code_ids = set(excl.code_ids)
        self.ids_matcher = compile_identifiers(excl.code_ids)
        self.fixed = excl.fixed
        self.excluded = 0          # hits dropped by an exclusion (counted, for the log)

    def _masks(self, text: str, folded: str) -> list[tuple[int, int]]:
        spans = []
        if self.phrases is not None:
            spans += [(s, e) for s, e, _ in self.phrases.finditer(text, folded)]
        if self.ids_matcher is not None:
            spans += [(s, e) for s, e, _ in self.ids_matcher.finditer(text, folded)
                      if text[s:e] in self.code_ids]
        return spans

    def _in_fixed_text(self, folded: str, s: int, e: int) -> bool:
        """The hit with two words of context (before, around or after it) is a
        three-word run of the template's fixed text."""
        if not self.fixed:
            return False
        before = _WORD.findall(folded[max(0, s - 80):s])[-2:]
        inside = _WORD.findall(folded[s:e])
        after = _WORD.findall(folded[e:e + 80])[:2]
        seq = before + inside + after
        lo, hi = len(before), len(before) + len(inside)   # hit words: seq[lo:hi]
        return any(tuple(seq[i:i + 3]) in self.fixed
                   for i in range(max(0, lo - 2), hi) if i + 3 <= len(seq))

    def hits(self, text: str) -> list[tuple[int, int, int]]:
        if self.matcher is None:
            return []
        folded = fold_keep_length(text)
        raw = list(self.matcher.finditer(text, folded))
        if not raw:
            return []
        masks = self._masks(text, folded)
        out = []
        for s, e, i in raw:
            if any(ms <= s and e <= me for ms, me in masks) or self._in_fixed_text(folded, s, e):
                self.excluded += 1
                continue
            out.append((s, e, i))
        return out

    def context(self, text: str, s: int, e: int, hits) -> tuple[str, str]:
        """``(masked, original)`` window of :data:`CONTEXT_CHARS` around ``text[s:e]``:
        in the masked one every identifier hit in the window is ``[TYPE]``."""
        a, b = max(0, s - CONTEXT_CHARS), min(len(text), e + CONTEXT_CHARS)
        parts, pos = [], a
        for hs, he, i in sorted(hits):
            if he <= a or hs >= b:
                continue
            hs, he = max(hs, a), min(he, b)
            parts.append(text[pos:hs])
            parts.append(f"[{self.terms[i].type}]")
            pos = he
        parts.append(text[pos:b])
        squash = lambda t: " ".join(t.split())  # noqa: E731
        return squash("".join(parts)), squash(text[a:b])


# ---------------------------------------------------------------------------
# scanning

_DATA_URI = re.compile(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\s]+")
_TAG = re.compile(r"<[^>]*>")


def _blank(m: re.Match) -> str:
    return " " * len(m.group(0))


_READABLE_ATTR = re.compile(r"""\b(?:title|alt|aria-label|content|label|name|descr)\s*=\s*(?:"([^"]*)"|'([^']*)')""",
                            re.IGNORECASE)


def _views(name: str, text: str) -> list[tuple[str, str]]:
    """The texts to scan. Markup (HTML/XML/SVG, DOCX parts) is not scanned raw (tag
    and attribute names like ``w:val`` would hit names such as *Val*): its text with
    tags removed and references unescaped (``markup-stripped``; a word split over
    DOCX runs is joined), and the values of readable attributes (``title``, ``alt``,
    ``content`` ...; offsets as in the file). JSON: also its decoded strings (a name
    written with ``\\u`` escapes)."""
    text = _DATA_URI.sub(_blank, text)
    suffix = Path(name).suffix.lower()
    if not (suffix in MARKUP_SUFFIXES or text.lstrip().startswith("<")):
        views = [("text", text)]
        if suffix == ".json" and "\\u" in text:
            try:
                views.append(("json-strings", "\n".join(_json_strings(json.loads(text)))))
            except ValueError:
                pass
        return views
    # tags -> nothing (DOCX splits words over runs); block ends -> space
    # a style sheet or a script is not text a reader sees ("max-width")
    shown = re.sub(r"<(style|script)\b[^>]*>.*?</\1\s*>", " ", text, flags=re.S | re.I)
    stripped = re.sub(r"</w:p>|<w:tab/>|<w:br/>|<br\s*/?>|</p>|</div>|</td>|</th>|</li>|"
                      r"</h\d>|</tr>|</title>|</text>|</tspan>", " ", shown)
    attrs = [" "] * len(text)
    for m in _READABLE_ATTR.finditer(text):
        g = 1 if m.group(1) is not None else 2
        attrs[m.start(g):m.end(g)] = text[m.start(g):m.end(g)]
    return [("markup-stripped", html.unescape(_TAG.sub("", stripped))),
            ("attributes", html.unescape("".join(attrs)))]


def _json_strings(obj):
    if isinstance(obj, str):
        yield obj
    elif isinstance(obj, dict):
        for k, v in obj.items():
            yield str(k)
            yield from _json_strings(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_strings(v)


def _scan_views(gate: Gate, file, member, views) -> list[Hit]:
    hits = []
    for view, t in views:
        found = gate.hits(t)
        for s, e, i in found:
            masked, original = gate.context(t, s, e, found)
            hits.append(Hit(file, member, view, s, gate.terms[i].type, i, masked, original))
    return hits


def pdf_views(data: bytes) -> list[tuple[str, str, str]] | None:
    """``[(member, view, text)]`` of a PDF: each page's text (pypdf; a word hyphenated
    over a line end joined) and the document metadata; None if pypdf cannot read it."""
    try:
        from pypdf import PdfReader
        reader = PdfReader(io.BytesIO(data))
        out = []
        for k, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            out.append((f"page {k}", "pdf-text", re.sub(r"(\w)-\n(\w)", r"\1\2", text)))
        meta = reader.metadata or {}
        out.append(("metadata", "pdf-metadata",
                    "\n".join(f"{k}: {v}" for k, v in sorted(meta.items()))))
        return out
    except Exception:  # noqa: BLE001 - pypdf raises many kinds on damaged files
        return None


def _png_text(data: bytes) -> str:
    try:
        from PIL import Image
        with Image.open(io.BytesIO(data)) as im:
            return "\n".join(f"{k}: {v}" for k, v in sorted(getattr(im, "text", {}).items()))
    except Exception:  # noqa: BLE001
        return ""


def scan_file(path: Path, shown: str, gate: Gate) -> tuple[str, int, list[Hit]]:
    """``(kind, checked_bytes, hits)`` for one file."""
    data = path.read_bytes()
    if path.suffix.lower() in IMAGE_SUFFIXES or data[:8] == b"\x89PNG\r\n\x1a\n":
        text = _png_text(data) if data[:8] == b"\x89PNG\r\n\x1a\n" else ""
        return "image", len(text), _scan_views(gate, shown, "", [("png-text", text)]) \
            if text else []
    if data[:4] == b"PK\x03\x04":
        hits, n = [], 0
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                for info in sorted(z.infolist(), key=lambda i: i.filename):
                    if info.is_dir() or Path(info.filename).suffix.lower() in IMAGE_SUFFIXES:
                        continue
                    member = z.read(info)
                    n += len(member)
                    hits += _scan_views(gate, shown, info.filename, _views(
                        info.filename, member.decode("utf-8", errors="replace")))
            return "zip", n, hits
        except zipfile.BadZipFile:
            pass
    if data[:5] == b"%PDF-":
        views = pdf_views(data)
        if views is not None:
            hits = []
            for member, view, text in views:
                hits += _scan_views(gate, shown, member, [(view, text)])
            return "pdf", len(data), hits
    try:
        text = data.decode("utf-8")
        return "text", len(data), _scan_views(gate, shown, "", _views(path.name, text))
    except UnicodeDecodeError:
        pass
    return "binary-partial", len(data), _scan_views(gate, shown, "",
                                                    [("printable", printable_runs(data))])


def printable_runs(data: bytes, min_len: int = 16) -> str:
    """The runs of at least ``min_len`` printable ASCII characters in binary data, one per
    line (like ``strings -n 16``); a random run of 16 printable bytes has probability
    about (95/256)**16 = 1e-7 per position, while real embedded text survives."""
    return "\n".join(m.decode("ascii") for m in re.findall(rb"[\x20-\x7e]{%d,}" % min_len, data))


def walk_files(root) -> list[Path]:
    """Every file under ``root``, sorted, following symlinked folders (each real
    folder once, so a link cycle ends) and symlinked files."""
    root = Path(root)
    if not root.exists():
        return []
    if root.is_file():
        return [root]
    seen, out = set(), []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        real = os.path.realpath(dirpath)
        if real in seen:
            dirnames[:] = []
            continue
        seen.add(real)
        dirnames.sort()
        out += [Path(dirpath) / f for f in filenames if (Path(dirpath) / f).is_file()]
    return sorted(out)


def scan_roots(base, roots, gate: Gate, exclude=()) -> tuple[pd.DataFrame, list[Hit]]:
    """Scan every file under each of ``roots`` (relative to ``base``; absent roots are
    skipped). ``exclude``: paths not scanned (the gate's own report and log). Returns
    the per-file table (LEAK_COLUMNS; paths relative to ``base``) and the hits."""
    base = Path(base)
    skip = {os.path.abspath(p) for p in exclude}
    rows, hits = [], []
    n_terms = len(gate.terms)
    for root in roots:
        for path in walk_files(base / root):
            if os.path.abspath(path) in skip:
                continue
            shown = os.path.relpath(path, base)
            kind, n, h = scan_file(path, shown, gate)
            rows.append([shown, kind, n, n_terms if n else 0, len(h)])
            hits += h
    return pd.DataFrame(rows, columns=LEAK_COLUMNS), hits


def leak_check(results_dir, roster: pd.DataFrame, keys: list[dict], exclude: tuple = (),
               exclusions: Exclusions | None = None, deny=(), decisions=None,
               roots=None) -> tuple[pd.DataFrame, list[Hit]]:
    """Scan ``results_dir`` (and, with ``roots``, those folders relative to its parent:
    e.g. ``["results", "logs", ".snakemake/log"]``). Returns the per-file table and the
    hits; table paths start with ``results/``."""
    gate = Gate(identifiers(roster, keys, deny, decisions), exclusions)
    results_dir = Path(results_dir)
    base = results_dir.parent
    return scan_roots(base, roots or [results_dir.name], gate, exclude)


def load_keys(paths) -> list[dict]:
    keys = []
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            keys.append(json.load(fh))
    return keys


# ---------------------------------------------------------------------------
# after a hit: quarantine, report, message

def _private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) 0700; never through a symlink."""
    path = Path(path)
    for p in reversed([path, *path.parents]):
        if not p.exists() and not p.is_symlink():
            p.mkdir(mode=0o700)
            os.chmod(p, 0o700)
    if path.is_symlink():
        raise InputError(f"{path}: a restricted folder must not be a symlink; remove the link")
    os.chmod(path, 0o700)
    return path


def quarantine(hits: list[Hit], base, quarantine_dir) -> dict[str, str]:
    """Move every file with a hit from ``base/<file>`` to ``quarantine_dir/<file>``
    (folders 0700, files 0600; a symlinked output: the link is moved). Returns file ->
    where it went (relative to ``base``)."""
    base, qdir = Path(base), Path(quarantine_dir)
    _private_dir(qdir)
    moved = {}
    for f in sorted({h.file for h in hits}):
        src = base / f
        if not (src.exists() or src.is_symlink()):
            continue
        dest = qdir / f
        _private_dir(dest.parent)
        if dest.exists() or dest.is_symlink():
            dest.unlink()
        shutil.move(str(src), str(dest))
        if not dest.is_symlink():
            os.chmod(dest, 0o600)
        moved[f] = os.path.relpath(dest, base)
    return moved


def leaks_table(hits: list[Hit], moved: dict[str, str] | None = None) -> pd.DataFrame:
    """One row per hit (LEAKS_COLUMNS): numbered from 1, the context masked."""
    moved = moved or {}
    return pd.DataFrame([[k, h.file, h.member, h.view, h.offset, h.type, h.index, h.context,
                          moved.get(h.file, "")] for k, h in enumerate(hits, start=1)],
                        columns=LEAKS_COLUMNS)


def write_leak_report(hits: list[Hit], moved, report_tsv, originals_json) -> None:
    """``report_tsv`` (under results/: masked) and ``originals_json`` (restricted,
    0600: the originals, for ``concord deid show-leak N``)."""
    from concord.tsvio import write_tsv
    write_tsv(leaks_table(hits, moved), report_tsv)
    _write_private_exclusive({"leaks": [
        {"leak": k, "file": h.file, "member": h.member, "view": h.view, "offset": h.offset,
         "type": h.type, "context": h.original, "quarantined_to": moved.get(h.file, "")}
        for k, h in enumerate(hits, start=1)]}, originals_json)


def leak_message(hits: list[Hit], moved: dict[str, str] | None = None, limit: int = 50) -> str:
    moved = moved or {}
    lines = [f"leak gate: {len(hits)} original identifier(s) found in "
             f"{len({h.file for h in hits})} output file(s) (each shown masked as [TYPE]):"]
    for k, h in enumerate(hits[:limit], start=1):
        lines.append(f"  #{k} {h.describe()}: ...{h.context}...")
    if len(hits) > limit:
        lines.append(f"  ... and {len(hits) - limit} more (results/privacy/leaks.tsv)")
    if moved:
        lines.append(f"Quarantined (moved out of the outputs into restricted/quarantine/): "
                     f"{', '.join(sorted(moved))}")
    lines.append("See an original (authorised users, reads restricted/): "
                 "concord deid show-leak N [STUDY_DIR]")
    lines.append("Fix: redact it at the source (roster alias, restricted/deny.txt, a 'redact' "
                 "decision via concord deid review), or if it is not an identifier add it to "
                 "restricted/allow.txt; then rerun.")
    return "\n".join(lines)


def show_leak(originals_json, n: int) -> str:
    """The original context of leak ``n`` (restricted; for ``concord deid show-leak``)."""
    path = Path(originals_json)
    if not path.is_file():
        raise InputError(f"{path}: no leak record; the last gate run found no leak")
    leaks = json.loads(path.read_text(encoding="utf-8"))["leaks"]
    if not 1 <= n <= len(leaks):
        raise InputError(f"{path}: leak {n} does not exist; leaks are numbered 1-{len(leaks)}")
    e = leaks[n - 1]
    where = e["file"] + (f" [{e['member']}]" if e["member"] else "")
    return (f"leak #{n}: {e['type']} in {where} at character {e['offset']} ({e['view']})"
            + (f"; quarantined to {e['quarantined_to']}" if e["quarantined_to"] else "")
            + f"\n  ...{e['context']}...")


def _write_private_exclusive(obj, path) -> None:
    """JSON readable by the owner only: a new temporary file (exclusive create, 0600,
    never through a symlink), then renamed over ``path``; the folder 0700."""
    path = Path(path)
    _private_dir(path.parent)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
        json.dump(obj, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")
    os.replace(tmp, path)


# ---------------------------------------------------------------------------
# sessions removed from the study

def prune_removed_sessions(sessions, keys_dir, results_dir, review_dir=None) -> list[str]:
    """Remove the data of sessions no longer in the study: a session with a key file
    (``keys_dir/{session}.json``) that is not in ``sessions`` loses its key, its review
    list and every file under ``results_dir`` named ``{session}.*`` (de-identified
    text, redactions, segments, machine codings ...). Returns the removed paths."""
    keys_dir = Path(keys_dir)
    if not keys_dir.is_dir():
        return []
    current = set(sessions)
    gone = sorted(p.stem for p in keys_dir.glob("*.json")
                  if not p.is_symlink() and p.stem not in current and p.stem != "study_lexicon")
    removed = []
    for s in gone:
        paths = [keys_dir / f"{s}.json"]
        if review_dir is not None:
            paths.append(Path(review_dir) / f"{s}.tsv")
        paths += [p for p in walk_files(results_dir) if p.name.split(".")[0] == s]
        for p in paths:
            if p.exists() or p.is_symlink():
                p.unlink()
                removed.append(str(p))
    return sorted(removed)
# ---------------------------------------------------------------------------
# evaluation

def _mask(n: int, spans) -> bytearray:
    m = bytearray(n + 1)
    for s, e in spans:
        m[s:e] = b"\x01" * (e - s)
    return m


def evaluate(gold: pd.DataFrame, raw_spans: list, raw_text: str) -> pd.DataFrame:
    """Per-type counts for one text: type, gold, hidden, typed, redactions, correct."""
    n = len(raw_text)
    covered = _mask(n, [(s, e) for s, e, *_ in raw_spans])
    gold_mask = _mask(n, [(int(g.start), int(g.end)) for g in gold.itertuples()])
    by_type = {}
    for s, e, ty, *_ in raw_spans:
        by_type.setdefault(ty, []).append((s, e))
    type_mask = {t: _mask(n, sp) for t, sp in by_type.items()}
    rows: dict[str, list[int]] = {}
    for g in gold.itertuples(index=False):
        s, e = int(g.start), int(g.end)
        idx = [i for i in range(s, e) if not raw_text[i].isspace()]
        hidden = all(covered[i] for i in idx)
        typed = hidden and g.type in type_mask and any(type_mask[g.type][i] for i in idx)
        r = rows.setdefault(g.type, [0, 0, 0, 0, 0])
        r[0] += 1
        r[1] += hidden
        r[2] += typed
    for s, e, ty, *_ in raw_spans:
        idx = [i for i in range(s, e) if not raw_text[i].isspace()]
        r = rows.setdefault(ty, [0, 0, 0, 0, 0])
        r[3] += 1
        r[4] += any(gold_mask[i] for i in idx)
    return pd.DataFrame([[t, *v] for t, v in sorted(rows.items())],
                        columns=["type", "gold", "hidden", "typed", "redactions", "correct"])


def evaluation_table(counts: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Sum per-text counts into EVAL_COLUMNS rows: per set, per type, then ``all``.
    ``counts``: set name -> concatenated :func:`evaluate` tables."""
    out = []
    for name in sorted(counts):
        df = counts[name].groupby("type", sort=True)[
            ["gold", "hidden", "typed", "redactions", "correct"]].sum().reset_index()
        total = df[["gold", "hidden", "typed", "redactions", "correct"]].sum()
        df = pd.concat([df, pd.DataFrame([{"type": "all", **total.to_dict()}])],
                       ignore_index=True)
        for r in df.itertuples(index=False):
            out.append([name, r.type, int(r.gold), int(r.hidden),
                        r.hidden / r.gold if r.gold else float("nan"), int(r.typed),
                        int(r.redactions), int(r.correct),
                        r.correct / r.redactions if r.redactions else float("nan")])
    return pd.DataFrame(out, columns=EVAL_COLUMNS)


COUNT_COLUMNS = ["session_id", "type", "gold", "hidden", "typed", "redactions", "correct"]


def read_gold(path, sessions=None) -> pd.DataFrame:
    """Gold identifier spans (``session_id``, ``start``, ``end``, ``type``; raw offsets),
    checked column-wise (every deidentify shard reads the whole file): an InputError
    names the first bad line. With ``sessions`` (the study's session IDs) every row's
    session must be one of them."""
    gold = read_tsv(path, required=["session_id", "start", "end", "type"], only=True)
    unknown = ~gold["session_id"].isin(set(sessions)) if sessions is not None else \
        pd.Series(False, index=gold.index)
    digits = gold["start"].str.isdigit() & gold["end"].str.isdigit()
    start = pd.to_numeric(gold["start"].where(digits, "0"))
    end = pd.to_numeric(gold["end"].where(digits, "0"))
    bad = unknown | ~digits | (start >= end)
    if bad.any():
        i = int(bad.to_numpy().argmax())
        if unknown.iloc[i]:
            raise InputError(f"{path}, line {i + 2}: session {gold['session_id'].iloc[i]!r} is "
                             f"not in the sessions sheet; fix the session_id or remove the row")
        raise InputError(f"{path}, line {i + 2}: start/end must be character offsets "
                         f"with start < end")
    gold["start"] = start.astype(int)
    gold["end"] = end.astype(int)
    return gold


def session_counts(gold: pd.DataFrame, result, raw, session: str, source: str) -> pd.DataFrame:
    """:func:`evaluate` of one de-identified session (``result`` of
    ``deidentify_session``) against its gold rows, as COUNT_COLUMNS rows (counts only).
    Called where the session is de-identified, so it is not de-identified twice."""
    rows = gold[gold["session_id"] == session]
    if not len(rows):
        return pd.DataFrame(columns=COUNT_COLUMNS)
    if isinstance(raw, bytes):
        raise InputError(f"{source}: a {transcripts.detect_format(raw)[0]} file has gold "
                         f"identifier spans; gold offsets need a plain-text transcript")
    counts = evaluate(rows, result.raw_spans, raw)
    counts.insert(0, "session_id", session)
    return counts


def evaluate_session(raw_text: str, gold: pd.DataFrame, roster: pd.DataFrame, session: str,
                     source: str = "transcript", **kw) -> pd.DataFrame:
    """De-identify ``raw_text`` again (deterministic) and count against ``gold``."""
    result = deid.deidentify_session(raw_text, roster, session, source=source, **kw)
    return evaluate(gold, result.raw_spans, raw_text)


# ---------------------------------------------------------------------------
# the hold-out set: sentences written by hand, gold spans marked inline

_MARK = re.compile(r"\[\[(?P<t>[A-Z]+):(?P<v>[^\]]+)\]\]")


def parse_marked(text: str) -> tuple[str, pd.DataFrame]:
    """``"I saw [[NAME:Dr. Obi]]"`` -> plain text and gold spans (start, end, type)."""
    out, spans, pos, last = [], [], 0, 0
    for m in _MARK.finditer(text):
        out.append(text[last:m.start()])
        pos += m.start() - last
        v = m.group("v")
        spans.append((pos, pos + len(v), m.group("t")))
        out.append(v)
        pos += len(v)
        last = m.end()
    out.append(text[last:])
    return "".join(out), pd.DataFrame(spans, columns=["start", "end", "type"])


def write_private_json(obj, path) -> None:
    """Write JSON readable by the owner only (0600; folder 0700 when created)."""
    path = Path(path)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700, exist_ok=True)
    from concord.atomic import open_atomic  # 0600, exclusive create + rename
    with open_atomic(path, private=True) as fh:
        json.dump(obj, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


# ---------------------------------------------------------------------------
# review decisions: counts for the methods section

DECISION_COUNT_COLUMNS = ["type", "redact", "keep", "total"]


def decision_counts(decisions: pd.DataFrame) -> pd.DataFrame:
    """Decisions per type (DECISION_COUNT_COLUMNS), sorted, and an ``all`` row last."""
    rows = []
    decisions = decisions.assign(type=decisions["type"].where(
        decisions["type"].str.fullmatch(r"[A-Z][A-Z_]*"), "OTHER"))
    for type_, g in sorted(decisions.groupby("type")) if len(decisions) else []:
        r, k = int((g["decision"] == "redact").sum()), int((g["decision"] == "keep").sum())
        rows.append([type_, r, k, r + k])
    total = [sum(r[i] for r in rows) for i in (1, 2, 3)]
    return pd.DataFrame(rows + [["all", *total]], columns=DECISION_COUNT_COLUMNS)


def register_decisions(frag, counts: pd.DataFrame, path) -> None:
    """``deid.review.{decisions,redact,keep}`` (the ``all`` row) and per type
    ``deid.review.{TYPE}.{redact,keep}``; a methods sentence ``deid.review.statement``."""
    last = len(counts) + 1
    allrow = counts.iloc[-1]
    frag.add("deid.review.decisions", int(allrow["total"]),
             "review decisions on uncertain de-identification candidates", path, [last])
    for col in ("redact", "keep"):
        frag.add(f"deid.review.{col}", int(allrow[col]),
                 f"uncertain candidates a person decided to {col}", path, [last])
    for i, r in enumerate(counts.iloc[:-1].itertuples(index=False), start=2):
        for col in ("redact", "keep"):
            frag.add(f"deid.review.{r.type}.{col}", int(getattr(r, col)),
                     f"{r.type} candidates a person decided to {col}", path, [i])
    n, red, keep = int(allrow["total"]), int(allrow["redact"]), int(allrow["keep"])
    text = ("No de-identification candidate needed a person's review." if n == 0 else
            f"A person reviewed {n} uncertain de-identification candidate{'s' * (n != 1)}: "
            f"{red} redacted, {keep} kept as not identifying.")
    frag.add("deid.review.statement", n, "the review of uncertain candidates, in words",
             path, [last], shown=text)


# ---------------------------------------------------------------------------
# the review list (written by the de-identification) and the decisions store

REVIEW_COLUMNS = ["candidate_id", "session_id", "line", "start", "end", "text", "type",
                  "reason", "context", "suggestion"]


def read_review(review_dir) -> pd.DataFrame:
    """Every candidate of ``review_dir/*.tsv`` (REVIEW_COLUMNS), in file order.
    Absent folder = no candidates. Errors never echo a candidate's text."""
    files = sorted(Path(review_dir).glob("*.tsv")) if Path(review_dir).is_dir() else []
    frames = [read_tsv(f, required=REVIEW_COLUMNS)[REVIEW_COLUMNS] for f in files]
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=REVIEW_COLUMNS)
    dup = df["candidate_id"].duplicated()
    if dup.any():
        raise InputError(f"{review_dir}: candidate_id {df.loc[dup.idxmax(), 'candidate_id']} "
                         f"appears twice; rerun the de-identification to rewrite the lists")
    return df


def _decision_key(session_id: str, text: str, type_: str) -> tuple[str, str, str]:
    return session_id, " ".join(fold(text).split()), type_


def decided(candidates: pd.DataFrame, decisions: pd.DataFrame) -> pd.Series:
    """Boolean per candidate: a decision covers it (same folded text and type, for its
    session or for every session ``*``)."""
    keys = {_decision_key(r["session_id"], r["text"], r["type"])
            for r in decisions.to_dict("records")}
    return pd.Series([_decision_key(r["session_id"], r["text"], r["type"]) in keys
                      or _decision_key("*", r["text"], r["type"]) in keys
                      for r in candidates.to_dict("records")], index=candidates.index,
                     dtype=bool)


def record_decisions(path, new: list[dict]) -> pd.DataFrame:
    """Add ``new`` decisions (DECISION_COLUMNS dicts) to ``path``: a later decision on
    the same (session, folded text, type) replaces the earlier one. Written sorted,
    0600 in a 0700 folder, by exclusive create + rename. Returns the table."""
    old = read_decisions(path)
    rows = {_decision_key(r["session_id"], r["text"], r["type"]): r
            for r in old.to_dict("records")}
    for r in new:
        if r["decision"] not in ("redact", "keep"):
            raise InputError(f"decision must be 'redact' or 'keep', not {r['decision']!r}")
        rows[_decision_key(r["session_id"], r["text"], r["type"])] = {
            c: str(r.get(c, "") or "") for c in DECISION_COLUMNS}
    table = pd.DataFrame(list(rows.values()), columns=DECISION_COLUMNS)
    table = table.sort_values(["session_id", "type", "text"], kind="mergesort")
    path = Path(path)
    _private_dir(path.parent)       # 0700, not a symlink: no one else can race in it
    from concord.tsvio import write_tsv
    write_tsv(table.reset_index(drop=True), path)   # temporary file + rename
    os.chmod(path, 0o600)
    return table
