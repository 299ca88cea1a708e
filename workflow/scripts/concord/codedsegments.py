"""A coder's work from the "coded segments" spreadsheets QDA programs export (pure
functions): one row per coded passage, matched to Concord's segments by its text and,
where the text alone is ambiguous, its position.

What the programs write (CSV or XLSX; the first sheet; a header row):

========== ===================== ============================ ======================= ============================
program    document              code                         text                    position
========== ===================== ============================ ======================= ============================
MAXQDA     ``Document name``     ``Code`` (``Parent\\Child``)  ``Segment``             ``Beginning``/``End`` (paragraphs)
NVivo      ``File`` / ``Name``   ``Code`` / ``Node``          ``Coded text``/``Text`` ``Reference`` (optional)
ATLAS.ti   ``Document``          ``Codes`` (one per line)     ``Quotation Content``   ``Reference`` ``5 – 7`` (paragraphs)
Dedoose    ``Media Title``       ``Code: X Applied`` columns  ``Excerpt Copy``        ``Excerpt Range`` ``120-245`` (characters)
========== ===================== ============================ ======================= ============================

plus an optional coder column (``Created by``, ``Author``, ``Excerpt Creator``,
``Coder``, ``User``). Headers are matched case- and space-insensitively
(:data:`COLUMNS`).

Matching (:func:`match_rows`). The coders coded Concord's de-identified transcripts
(``results/deid/<session>.txt``, one turn per line), so the exported text is found
in them:

* the document names a session: its file name without extension equals a
  ``session_id`` (case-insensitive), or the ``documents`` mapping says which;
* the code is a codebook id or name (case-insensitive; for ``Parent\\Child`` the last
  part also counts);
* the text is searched in the session's text rebuilt from its segments (speaker IDs
  and tabs in place), after folding case, accents, apostrophes, dashes and runs of
  whitespace (:func:`concord.textnorm.fold_keep_length`); exports often end a long
  passage with an ellipsis, which is dropped;
* found once: that span. Found several times ("Yes."): the position chooses -- a
  paragraph (= line = turn of the de-identified file) or a character offset; without
  a position the row is not matched. No text but a paragraph range: those turns.

Every row that does not become a span is reported with its row number and the reason
(never its text, which is transcript content). The spans (``session_id, start, end,
code, coder``, offsets into the de-identified text) go to
:func:`concord.code.spans_to_segments` like any other span coder file.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from concord.textnorm import fold_keep_length
from concord.tsvio import InputError

SPAN_COLUMNS = ["session_id", "start", "end", "code", "coder"]

COLUMNS = {
    "document": ["document name", "document", "media title", "file", "file name", "source",
                 "name", "session", "session_id", "transcript"],
    "code": ["code", "codes", "node", "nodes", "code name", "codes applied combined"],
    "text": ["segment", "quotation content", "excerpt copy", "coded text", "text", "content",
             "quotation", "excerpt", "segment text"],
    "begin": ["beginning", "begin", "start", "start paragraph", "from"],
    "end": ["end", "end paragraph", "to"],
    "reference": ["reference", "excerpt range", "range", "position", "paragraph",
                  "paragraphs"],
    "coder": ["created by", "author", "excerpt creator", "coder", "user", "creator"],
}
_DEDOOSE_CODE = re.compile(r"^code:\s*(?P<code>.+?)\s+applied$", re.IGNORECASE)
_RANGE = re.compile(r"^\s*¶?\s*(\d+)\s*(?:[-–—:]|to)\s*¶?\s*(\d+)\s*$")


@dataclass
class Row:
    number: int                      # spreadsheet row (the header is row 1)
    document: str
    codes: list
    text: str = ""
    begin: int | None = None         # paragraph (line) range, 1-based inclusive
    end: int | None = None
    char_range: tuple | None = None  # character offsets (Dedoose)
    coder: str = ""


@dataclass
class Result:
    spans: pd.DataFrame
    unmatched: list = field(default_factory=list)   # (row number, reason)


def _norm_header(h) -> str:
    return " ".join(str(h or "").replace("\ufeff", "").split()).casefold()


def read_table(path) -> tuple[list[str], list[list[str]]]:
    """Header and rows (strings) of a CSV (UTF-8 with or without BOM; comma, semicolon
    or tab, sniffed) or XLSX (first sheet) file."""
    path = Path(path)
    data = path.read_bytes()
    if data.startswith(b"PK\x03\x04"):
        import openpyxl
        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # noqa: BLE001 - openpyxl raises several kinds
            raise InputError(f"{path}: not a readable XLSX workbook ({type(exc).__name__}); "
                             f"save it again as .xlsx or export as CSV") from None
        ws = wb.worksheets[0]
        rows = [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
        wb.close()
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = data[:exc.start].count(b"\n") + 1
            raise InputError(f"{path}, line {line}: not UTF-8 text; export the table again "
                             f"as UTF-8 CSV or XLSX") from None
        try:
            dialect = csv.Sniffer().sniff(text[:20000], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        rows = list(csv.reader(io.StringIO(text), dialect))
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise InputError(f"{path}: the table is empty; export the coded segments again")
    return [str(h) for h in rows[0]], rows[1:]


def _find(header: list[str], role: str) -> int | None:
    names = [_norm_header(h) for h in header]
    for alias in COLUMNS[role]:
        if alias in names:
            return names.index(alias)
    return None


def parse_rows(header: list[str], rows: list[list[str]], source: str) -> list[Row]:
    """Rows of an export as :class:`Row` s; the columns are found by their headers."""
    col = {role: _find(header, role) for role in COLUMNS}
    dedoose = [(i, m.group("code")) for i, h in enumerate(header)
               if (m := _DEDOOSE_CODE.match(" ".join(str(h).split())))]
    if col["begin"] is not None and col["end"] is None:
        col["begin"] = None
    if col["document"] is None or (col["code"] is None and not dedoose) or \
            (col["text"] is None and col["begin"] is None and col["reference"] is None):
        raise InputError(f"{source}, row 1: a coded-segments table needs a document column "
                         f"(e.g. 'Document name'), a code column ('Code', or Dedoose's "
                         f"'Code: X Applied') and the segment text ('Segment', 'Quotation "
                         f"Content', 'Excerpt Copy', 'Coded text') or its position; found "
                         f"{len(header)} columns, none of them matching -- export the coded "
                         f"segments with these columns")
    out = []
    for n, r in enumerate(rows, start=2):
        cell = {role: (r[i].strip() if i is not None and i < len(r) else "")
                for role, i in col.items()}
        if dedoose:
            codes = [c for i, c in dedoose if i < len(r) and str(r[i]).strip().casefold()
                     in ("true", "1", "yes", "x")]
        else:
            codes = [c.strip() for c in re.split(r"[\n\r]+", cell["code"]) if c.strip()]
        row = Row(n, cell["document"], codes, cell["text"], coder=cell["coder"])
        if col["begin"] is not None:
            try:
                row.begin, row.end = int(float(cell["begin"])), int(float(cell["end"]))
            except ValueError:
                pass
        m = _RANGE.match(cell["reference"]) if cell["reference"] else None
        if m:
            a, b = int(m.group(1)), int(m.group(2))
            name = _norm_header(header[col["reference"]])
            if "range" in name:
                row.char_range = (a, b)
            else:
                row.begin, row.end = a, b
        out.append(row)
    return out


def _fold_ws(text: str) -> tuple[str, list[int]]:
    """Folded text with whitespace runs as one space, and each folded character's
    offset in ``text``."""
    folded = fold_keep_length(text).translate(_DASHES)
    out, where, space = [], [], False
    for i, ch in enumerate(folded):
        if ch.isspace():
            if not space and out:
                out.append(" ")
                where.append(i)
            space = True
            continue
        space = False
        out.append(ch)
        where.append(i)
    return "".join(out), where


_DASHES = str.maketrans({"—": "-", "–": "-", "“": '"', "”": '"'})


def session_texts(segments: pd.DataFrame) -> dict:
    """Each session's de-identified text as far as its segments show it: segment
    texts at their offsets, the speaker ID before each turn, spaces elsewhere."""
    out = {}
    for sid, g in segments.groupby("session_id", sort=True):
        g = g.sort_values("start")
        size = int(g["end"].astype(int).max()) if len(g) else 0
        chars = [" "] * size
        for r in g.itertuples(index=False):
            a = int(r.start)
            chars[a:int(r.end)] = list(str(r.text))
        for _, t in g.groupby("turn", sort=True):
            first = t.iloc[0]
            label = f"{first['speaker_id']}\t"
            a = int(first["start"]) - len(label)
            if a >= 0 and all(c == " " for c in chars[a:int(first["start"])]):
                chars[a:int(first["start"])] = list(label)
        out[sid] = "".join(chars)
    return out


def _turn_bounds(segments: pd.DataFrame) -> dict:
    """session -> {turn: (start, end)} of the turn's segments."""
    out: dict = {}
    for (sid, turn), g in segments.groupby(["session_id", "turn"], sort=True):
        out.setdefault(sid, {})[int(turn)] = (int(g["start"].min()), int(g["end"].max()))
    return out


def match_rows(rows: list[Row], segments: pd.DataFrame, code_ids, code_names=None,
               documents: dict | None = None, coder: str | None = None) -> Result:
    """Rows -> spans in the de-identified text (module docstring); every row that
    gives no span is in ``unmatched`` with the reason. ``segments``: the sessions'
    segments (``segment_id, session_id, turn, speaker_id, start, end, text``);
    ``code_ids``: the codebook's ids, ``code_names``: id -> name; ``documents``:
    document name -> session_id where the names differ; ``coder``: keep only rows of
    this coder when the table has a coder column."""
    sessions = {str(s).casefold(): s for s in set(segments["session_id"])}
    doc_map = {str(k).casefold(): v for k, v in (documents or {}).items()}
    codes = {str(c).casefold(): c for c in code_ids}
    for cid, name in (code_names or {}).items():
        codes.setdefault(str(name).casefold(), cid)
    texts = session_texts(segments)
    folded = {sid: _fold_ws(t) for sid, t in texts.items()}
    turns = _turn_bounds(segments)
    spans, unmatched = [], []
    for row in rows:
        if coder is not None and row.coder and row.coder != coder:
            continue
        key = row.document.casefold()
        sid = doc_map.get(key) or sessions.get(key) or sessions.get(Path(key).stem)
        if sid is None:
            unmatched.append((row.number, "its document is not a session of the study "
                                          "(name it like the session_id or map it)"))
            continue
        row_codes, bad = [], 0
        for c in row.codes:
            cid = codes.get(c.casefold()) or codes.get(re.split(r"[\\>]|::", c)[-1]
                                                         .strip().casefold())
            if cid is None:
                bad += 1
            else:
                row_codes.append(cid)
        if bad:
            unmatched.append((row.number, f"{bad} code(s) not in the codebook (by id or "
                                          f"name)"))
        if not row_codes:
            if not bad:
                unmatched.append((row.number, "no code applied"))
            continue
        span = _locate(row, sid, folded[sid], turns.get(sid, {}), unmatched)
        if span is None:
            continue
        for cid in row_codes:
            spans.append((sid, span[0], span[1], cid, row.coder))
    df = pd.DataFrame(spans, columns=SPAN_COLUMNS).drop_duplicates(ignore_index=True)
    return Result(df, unmatched)


def _locate(row: Row, sid: str, folded, turns: dict, unmatched: list):
    doc, where = folded
    text = re.sub(r"(?:\.\.\.|…)\s*$", "", row.text.strip())
    if not text:
        if row.begin is not None and row.begin in turns and row.end in turns:
            return turns[row.begin][0], turns[row.end][1]
        if row.char_range is not None:
            return row.char_range
        unmatched.append((row.number, "no segment text and no paragraph range of this "
                                      "session"))
        return None
    needle, _ = _fold_ws(text)
    hits = [m.start() for m in re.finditer(re.escape(needle), doc)]
    if not hits:
        unmatched.append((row.number, f"its text is not in the de-identified text of "
                                      f"session {sid} (coded on another version, or on "
                                      f"the raw transcript?)"))
        return None
    spans = [(where[h], where[h + len(needle) - 1] + 1) for h in hits]
    if len(spans) > 1:
        chosen = None
        if row.begin is not None and row.begin in turns:
            lo, hi = turns[row.begin][0], turns.get(row.end, turns[row.begin])[1]
            inside = [s for s in spans if lo <= s[0] < hi]
            chosen = inside[0] if len(inside) == 1 else None
        elif row.char_range is not None:
            best = min(spans, key=lambda s: abs(s[0] - row.char_range[0]))
            chosen = best if [abs(s[0] - row.char_range[0]) for s in spans].count(
                abs(best[0] - row.char_range[0])) == 1 else None
        if chosen is None:
            unmatched.append((row.number, f"its text occurs {len(spans)} times in session "
                                          f"{sid} and the row's position does not choose "
                                          f"one"))
            return None
        return chosen
    return spans[0]


def read_coded_segments(path, segments: pd.DataFrame, code_ids, code_names=None,
                        documents: dict | None = None, coder: str | None = None) -> Result:
    """A MAXQDA/NVivo/ATLAS.ti/Dedoose coded-segments export (CSV/XLSX) -> spans and
    the unmatched rows (see :func:`match_rows`)."""
    header, rows = read_table(path)
    return match_rows(parse_rows(header, rows, str(path)), segments, code_ids, code_names,
                      documents, coder)


def check_unmatched(result: Result, source: str) -> pd.DataFrame:
    """The spans of ``result`` (``session_id, start, end, code`` as strings) for
    :func:`concord.code.combine_codings`; an :class:`InputError` listing the unmatched
    rows (row number and reason; rows without any code are not a problem) when there
    are any -- a coder's work is not dropped silently."""
    bad = [(n, why) for n, why in result.unmatched if why != "no code applied"]
    if bad:
        listed = "; ".join(f"row {n}: {why}" for n, why in bad[:5])
        more = f" (and {len(bad) - 5} more)" if len(bad) > 5 else ""
        raise InputError(f"{source}: {len(bad)} coded segment row(s) match no segment -- "
                         f"{listed}{more}; fix the rows or the export")
    return result.spans[["session_id", "start", "end", "code"]].astype(str) \
        .reset_index(drop=True)
