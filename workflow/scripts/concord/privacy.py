"""Privacy checks: the leak gate and the evaluation of de-identification.

Leak gate (:func:`leak_check`)
    Every original identifier the study knows -- from the restricted roster (full
    names, the name tokens the de-identifier matches, aliases, name-like speaker
    labels) and from the pseudonym keys (every ``original`` the detectors found,
    except ages and speaker labels, see :func:`identifiers`) -- is searched in every
    file under ``results/``: case-insensitively, word-bounded (no letter or digit
    immediately before or after), any run of whitespace matching a space. Hits are
    reported as file, member (for ZIP/DOCX), offset (characters into the scanned
    view), type and the identifier's index in the sorted list -- never the value.

    What is scanned: text files as UTF-8 (undecodable bytes replaced); HTML/XML/SVG
    as text with tags removed and character references unescaped (so that
    ``O&#39;Brien`` or a name split over ``<w:t>`` runs of a DOCX is found) plus the
    values of readable attributes (``title``, ``alt`` ...), see :func:`_views`; ZIP
    containers (DOCX, XLSX, QDPX) member by member, the same way; ``data:`` URIs
    (embedded images) are blanked first. PNG/JPEG/GIF images are listed but not
    read: figure text comes from labels the workflow controls (group and code
    labels), never from transcripts. Any other binary file (e.g. PDF) is scanned as the
    printable runs of its bytes and of its zlib streams inflated, a partial check (PDF text
    may be glyph-encoded); it is marked ``partial`` in the report.

    Not checked as identifiers: ages (a bare number like ``47`` is everywhere in a
    results table and is not an identifier below 90); strings shorter than 2
    characters; digit-only strings shorter than 5 digits; speaker labels that are
    roles (``MODERATOR``, ``Speaker 2``); single name tokens that are ordinary words
    (``Hope``, ``June``; :data:`concord.deidentify.COMMON_WORD_NAMES`) -- the full
    names containing them are checked.

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

import html
import io
import json
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import ahocorasick
import pandas as pd

from concord import deidentify as deid
from concord import transcripts
from concord.tsvio import InputError, read_tsv

LEAK_COLUMNS = ["file", "kind", "checked_bytes", "identifiers_checked", "hits"]
EVAL_COLUMNS = ["set", "type", "gold", "hidden", "recall", "typed", "redactions",
                "correct", "precision"]
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}
MARKUP_SUFFIXES = {".html", ".htm", ".xml", ".svg", ".xhtml", ".rels", ".qdc", ".qde"}
ROLE_LABEL = re.compile(r"^(?:moderator|facilitator|interviewer|speaker|participant|"
                        r"respondent|unknown|mod|p|s)\b[\s\d]*$|\d", re.IGNORECASE)
SKIP_KEY_TYPES = {"AGE", "SPEAKER"}


class LeakError(Exception):
    """An original identifier was found in an output (the message has no value)."""


@dataclass(frozen=True)
class Hit:
    file: str
    member: str       # ZIP member, or "" for a plain file
    view: str         # "text" or "markup-stripped"
    offset: int       # character offset in the view
    type: str         # identifier type (NAME, PHONE ...)
    index: int        # index of the identifier in the sorted list (not the value)

    def describe(self) -> str:
        where = f"{self.file}" + (f" [{self.member}]" if self.member else "")
        return (f"{where}: {self.type} identifier #{self.index} at character "
                f"{self.offset} ({self.view})")


# ---------------------------------------------------------------------------
# the identifiers

def _keep(s: str) -> bool:
    s = " ".join(s.split())
    if len(s) < 2:
        return False
    if not re.search(r"[^\W\d_]", s):  # no letter: numbers, phones, IDs
        return len(re.sub(r"\D", "", s)) >= 5
    return True


def identifiers(roster: pd.DataFrame, keys: list[dict]) -> list[tuple[str, str]]:
    """``(identifier, type)`` pairs, sorted, one per case-folded identifier (see module
    docstring for what is included)."""
    found: dict[str, tuple[str, str]] = {}

    def add(s: str, type_: str) -> None:
        s = " ".join(str(s).split())
        if not _keep(s):
            return
        if " " not in s and s.casefold() in deid.COMMON_WORD_NAMES:
            return
        found.setdefault(s.casefold(), (s, type_))

    for row in roster.itertuples(index=False):
        add(row.full_name, "NAME")
        for tok in deid._name_tokens(row.full_name):
            add(tok, "NAME")
        for alias in str(row.aliases).split(";"):
            add(alias, "NAME")
        label = str(row.speaker_label).strip()
        if not ROLE_LABEL.search(label):
            add(label, "NAME")
    for key in keys:
        for e in key.get("entries", []):
            if e.get("type") in SKIP_KEY_TYPES:
                continue
            add(e["original"], e["type"])
    return sorted(found.values(), key=lambda x: (x[0].casefold(), x[1]))


_WORD = re.compile(r"[^\W_]+")


class Matcher:
    """All identifiers, case-insensitive and word-bounded, in one pass over the
    words of a text: each word is looked up (case-folded) among the identifiers'
    first words, and only those identifiers are tried at that position (a single
    alternation of hundreds of names is ~40x slower in Python's ``re``)."""

    def __init__(self, idents: list[tuple[str, str]]):
        self.idents = idents
        self.anchors: dict[str, list[tuple[int, re.Pattern, int, int]]] = {}
        self.words = [frozenset(_WORD.findall(s.casefold())) for s, _ in idents]
        for i, (s, _) in enumerate(idents):
            first = _WORD.search(s)
            if first is None:
                continue
            body = r"\s+".join(re.escape(w) for w in s.split())
            pat = re.compile(r"(?<![^\W_])" + body + r"(?![^\W_])", re.IGNORECASE)
            self.anchors.setdefault(first.group().casefold(), []).append(
                (first.start(), pat, i, len(s)))
        for lst in self.anchors.values():
            lst.sort(key=lambda x: -x[3])  # longest first

    def finditer(self, text: str):
        """``(start, end, index)`` of non-overlapping hits, longest first at a position."""
        yield from self._resolve(text, *self._anchor_positions(text))

    def _anchor_positions(self, text: str):
        """``(positions, candidates)``: ``(offset, first word)`` of every word of ``text``
        that starts an identifier which can occur in it, in text order, and for each
        such word the identifiers to try (longest first).

        An identifier can only occur if every one of its words is a word of the text.
        The words of the case-folded text are collected once and compared as sets (in
        C), so a clean output (no identifier) costs one pass, whatever the number of
        identifiers; only the first words of possible identifiers are located. (Case
        folding that changes the text's length, e.g. ß -> ss, would shift offsets: such
        texts take the word-by-word path with every identifier.)"""
        folded = text.casefold()
        if len(folded) != len(text):
            positions = [(m.start(), m.group().casefold()) for m in _WORD.finditer(text)
                         if m.group().casefold() in self.anchors]
            return positions, self.anchors
        present = set(_WORD.findall(folded))
        candidates = {}
        for w in self.anchors.keys() & present:
            possible = [c for c in self.anchors[w] if self.words[c[2]] <= present]
            if possible:
                candidates[w] = possible
        if not candidates:
            return [], candidates
        # their occurrences as whole words: one Aho-Corasick pass (pyahocorasick) for
        # all of them, then the word-boundary check at each hit
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


def compile_identifiers(idents: list[tuple[str, str]]) -> Matcher | None:
    return Matcher(idents) if idents else None


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
    ``content`` ...; offsets as in the file)."""
    text = _DATA_URI.sub(_blank, text)
    if not (Path(name).suffix.lower() in MARKUP_SUFFIXES or text.lstrip().startswith("<")):
        return [("text", text)]
    # tags -> nothing (DOCX splits words over runs); block ends -> space
    stripped = re.sub(r"</w:p>|<w:tab/>|<w:br/>|<br\s*/?>|</p>|</div>|</td>|</th>|</li>|"
                      r"</h\d>|</tr>|</title>", " ", text)
    attrs = [" "] * len(text)
    for m in _READABLE_ATTR.finditer(text):
        g = 1 if m.group(1) is not None else 2
        attrs[m.start(g):m.end(g)] = text[m.start(g):m.end(g)]
    return [("markup-stripped", html.unescape(_TAG.sub("", stripped))),
            ("attributes", html.unescape("".join(attrs)))]


def _scan_text(regex, idents, file, member, name, text, plain=False) -> list[Hit]:
    """``plain``: scan ``text`` as is (the printable runs of a binary file, where a run
    starting with ``<<`` is PDF syntax, not markup)."""
    hits = []
    for view, t in ([("text", text)] if plain else _views(name, text)):
        for start, _, i in regex.finditer(t):
            hits.append(Hit(file, member, view, start, idents[i][1], i))
    return hits


def _inflate_streams(data: bytes) -> list[bytes]:
    out = []
    for m in re.finditer(rb"stream\r?\n", data):
        try:
            out.append(zlib.decompressobj().decompress(data[m.end():m.end() + 10_000_000]))
        except zlib.error:
            continue
    return out


def scan_file(path: Path, shown: str, regex, idents) -> tuple[str, int, list[Hit]]:
    """``(kind, checked_bytes, hits)`` for one file."""
    data = path.read_bytes()
    if path.suffix.lower() in IMAGE_SUFFIXES or data[:8] == b"\x89PNG\r\n\x1a\n":
        return "image-skipped", 0, []
    if regex is None:
        return "text", len(data), []
    if data[:4] == b"PK\x03\x04":
        hits, n = [], 0
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            for info in sorted(z.infolist(), key=lambda i: i.filename):
                if info.is_dir() or Path(info.filename).suffix.lower() in IMAGE_SUFFIXES:
                    continue
                member = z.read(info)
                n += len(member)
                hits += _scan_text(regex, idents, shown, info.filename, info.filename,
                                   member.decode("utf-8", errors="replace"))
        return "zip", n, hits
    try:
        text = data.decode("utf-8")
        return "text", len(data), _scan_text(regex, idents, shown, "", path.name, text)
    except UnicodeDecodeError:
        pass
    hits = _scan_text(regex, idents, shown, "", path.name, printable_runs(data), plain=True)
    for k, stream in enumerate(_inflate_streams(data)):
        hits += _scan_text(regex, idents, shown, f"stream {k}", "", printable_runs(stream),
                           plain=True)
    return "binary-partial", len(data), hits


def printable_runs(data: bytes, min_len: int = 16) -> str:
    """The runs of at least ``min_len`` printable ASCII characters in binary data, one per
    line (like ``strings -n 16``); offsets of hits are offsets in this text. Scanning the
    raw bytes instead matches short names by chance inside compressed streams (a 1.5 MB
    PDF gave a 'hit' in image data); a random run of 16 printable bytes has probability
    about (95/256)**16 = 1e-7 per position, while real embedded text (metadata, text
    objects, ToUnicode maps) survives."""
    return "\n".join(m.decode("ascii") for m in re.findall(rb"[\x20-\x7e]{%d,}" % min_len, data))


def leak_check(results_dir, roster: pd.DataFrame, keys: list[dict],
               exclude: tuple = ()) -> tuple[pd.DataFrame, list[Hit]]:
    """Scan every file under ``results_dir`` (sorted; ``exclude``: paths to skip,
    e.g. the report being written). Returns the per-file table (LEAK_COLUMNS) and
    the hits."""
    idents = identifiers(roster, keys)
    regex = compile_identifiers(idents)
    root = Path(results_dir)
    skip = {Path(p).resolve() for p in exclude}
    rows, hits = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.resolve() in skip:
            continue
        shown = str(Path(root.name) / path.relative_to(root)) if root.name else str(path)
        kind, n, h = scan_file(path, shown, regex, idents)
        rows.append([shown, kind, n, len(idents) if kind != "image-skipped" else 0, len(h)])
        hits += h
    return pd.DataFrame(rows, columns=LEAK_COLUMNS), hits


def load_keys(paths) -> list[dict]:
    keys = []
    for p in paths:
        with open(p, encoding="utf-8") as fh:
            keys.append(json.load(fh))
    return keys


def leak_message(hits: list[Hit], limit: int = 50) -> str:
    lines = [f"leak gate: {len(hits)} original identifier(s) found in results/ "
             f"(values not shown; look them up in the restricted key by type and "
             f"position):"]
    lines += ["  " + h.describe() for h in hits[:limit]]
    if len(hits) > limit:
        lines.append(f"  ... and {len(hits) - limit} more")
    lines.append("Fix: extend the de-identification (roster aliases, deidentify.gazetteer) "
                 "or remove the identifier from the source of that output, then rerun.")
    return "\n".join(lines)


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
