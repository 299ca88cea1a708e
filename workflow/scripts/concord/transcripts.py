"""Raw transcripts of every supported format -> speaker turns with source lines.

Formats (``format`` column of ``config/sessions.tsv``):

``labelled`` / ``labelled_multiline``
    Plain text as typed or delivered by transcription services. ``#`` lines are
    comments, blank lines are ignored. In ``labelled`` every other line is one
    turn; ``labelled_multiline`` also accepts continuation lines and labels alone on
    their line (so that a damaged one-turn-per-line file is not silently merged, the
    strict variant is the default and what ``auto`` detects). A turn starts with a speaker label followed
    by ``:`` or a spaced dash (``P3 - text``); the common variants are accepted:
    ``Maria:``, ``MARIA:``, ``Speaker 2:``, ``P3 -``, a leading timestamp
    ``[00:12:31] Maria:`` / ``00:12:31 Maria:``, a trailing one
    ``Speaker 1 (00:00:12):`` and a label alone on its line (Rev/Otter style, the
    text on the following lines). A line without a label continues the previous
    turn (joined with one space). Markers of untranscribed speech are normalised
    (``[inaudible 00:12:40]``, ``(inaudible)``, ``[crosstalk 00:03:10]`` ->
    ``[inaudible]``, ``[crosstalk]``; also ``[laughter]``, ``[pause]``...) and kept
    in the turn, where they occupy no word of a participant.
``webvtt``
    WebVTT as exported by Zoom and Microsoft Teams. Cues (optional identifier,
    timing line, payload); the speaker is a ``<v Name>`` voice tag (Teams) or a
    ``Name: `` prefix (Zoom); a cue without a speaker continues the previous
    speaker; consecutive cues of one speaker are merged into one turn. Other tags
    are removed and character references unescaped. ``NOTE``/``STYLE``/``REGION``
    blocks are skipped.
``docx``
    Word documents from transcription services (python-docx). Each non-empty
    paragraph is a line: a leading **bold** run is the speaker label (with or
    without a colon), otherwise the ``labelled`` rules apply (``Name: text``,
    continuation paragraphs). Line numbers are paragraph numbers (1-based, counting
    empty paragraphs). Table cells are not read (an error says so).
``auto``
    Detected: a ZIP file (``PK\\x03\\x04``) is ``docx``, text starting with
    ``WEBVTT`` is ``webvtt``, anything else ``labelled``. :func:`parse` prints the
    detected format and the reason to stderr (the rule's log).

Speaker labels: with ``labels`` given (the roster's ``speaker_label`` values of the
session), a label is matched exactly, else case- and space-insensitively
(``MARIA`` -> ``Maria``), and the returned :attr:`Turn.label` is the roster
spelling. A label-like prefix that is not in ``labels`` is an :class:`InputError`
naming the file, the line and the fix. Without ``labels`` every label-like prefix
is a speaker.

Offsets: :attr:`Turn.offset` is the position of the turn's first character in the
raw text (for ``labelled``); ``Turn.text[i]`` sits at ``Turn.offset + i`` exactly
when :attr:`Turn.exact` is true (a one-line turn whose text was not normalised --
every turn of the demo corpus). For other turns the raw position of a character is
approximate; the de-identified file never depends on it.
"""

from __future__ import annotations

import html
import io
import re
import sys
from dataclasses import dataclass

from concord.tsvio import InputError

FORMATS = ("labelled", "labelled_multiline", "webvtt", "docx")


@dataclass
class Turn:
    line: int          # 1-based line (paragraph, for docx) where the turn starts
    label: str         # speaker label (the roster spelling when labels were given)
    text: str          # the turn, whitespace normalised to single spaces
    offset: int = 0    # raw offset of text[0] (labelled); see module docstring
    end_line: int = 0  # last source line of the turn
    exact: bool = True  # text[i] is at raw offset + i


# ---------------------------------------------------------------- helpers

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,]\d{1,3})?"
# optional leading timestamp, label, optional trailing timestamp, separator
_LABEL_LINE = re.compile(
    rf"^\s*(?:[\[(]?{_TS}[\])]?\s+)?"
    r"(?P<label>[^\s:\[\](){}<>][^:\[\](){}<>]{0,39}?)"
    rf"\s*(?:[\[(]{_TS}[\])])?\s*"
    r"(?P<sep>:|\s[-–—]\s|\s[-–—]$)(?P<body>.*)$")
_LABEL_ALONE = re.compile(rf"^\s*(?P<label>[A-Z][\w.'’ -]{{0,39}}?)\s*[\[(]{_TS}[\])]\s*:?\s*$")
_MARKER = re.compile(
    r"[\[(]\s*(?P<kind>inaudible|unintelligible|crosstalk|cross-talk|laughter|laughs|"
    r"pause|silence|indiscernible|overlapping|background noise|coughs?)\b[^\])]*[\])]",
    re.IGNORECASE)
_MARKER_NAMES = {"unintelligible": "inaudible", "indiscernible": "inaudible",
                 "cross-talk": "crosstalk", "overlapping": "crosstalk", "laughs": "laughter",
                 "silence": "pause", "cough": "cough", "coughs": "cough"}
_SENTENCE_PUNCT = re.compile(r"[.,;!?\"“”]")


def normalise_markers(text: str) -> str:
    """``[inaudible 00:12:40]`` / ``(Crosstalk)`` -> ``[inaudible]`` / ``[crosstalk]``."""
    def repl(m):
        kind = m.group("kind").lower()
        return f"[{_MARKER_NAMES.get(kind, kind)}]"
    return _MARKER.sub(repl, text)


def _label_like(label: str) -> bool:
    """A plausible speaker label: at most 4 words, each capitalised, a number or an
    initial, no sentence punctuation (``Speaker 2``, ``MARIA``, ``Dr. Okafor``, ``P3``)."""
    words = label.split()
    if not 1 <= len(words) <= 4 or _SENTENCE_PUNCT.search(label.replace(".", "", 1)
                                                            if label.count(".") == 1 else label):
        return False
    return all(w[0].isupper() or w[0].isdigit() for w in words)


def _key(label: str) -> str:
    return " ".join(label.split()).casefold()


class _Labels:
    def __init__(self, labels):
        self.given = labels is not None
        self.by_key = {_key(lab): lab for lab in (labels or [])}

    def canonical(self, label: str) -> str | None:
        if not self.given:
            return label if _label_like(label) else None
        return self.by_key.get(_key(label))


def _split_label(line: str, labels: _Labels):
    """``(label, body_start_in_line)`` when ``line`` starts a turn, else None.
    Raises ``ValueError(label)`` for a label-like prefix not among the labels."""
    m = _LABEL_ALONE.match(line)
    if m:
        lab = labels.canonical(m.group("label").strip())
        if lab is not None:
            return lab, len(line)
        if _label_like(m.group("label").strip()):
            raise ValueError(m.group("label").strip())
    m = _LABEL_LINE.match(line)
    if not m:
        return None
    raw_label = m.group("label").strip()
    lab = labels.canonical(raw_label)
    if lab is not None:
        return lab, m.start("body")
    if labels.given and _label_like(raw_label) and m.group("sep") == ":":
        raise ValueError(raw_label)
    return None


def _label_ordinal(turns) -> str:
    """Where an unknown speaker label is, without the label itself (it is often a name):
    "speaker label #3" = the third distinct label of the file, counting this one."""
    return f"speaker label #{len({t.label for t in turns}) + 1} of this file"


def _parse_lines(lines, labels, source: str, unit: str = "line", multiline: bool = True):
    """Core of labelled/docx parsing. ``lines``: (number, text, raw offset, forced
    label or None). Without ``multiline`` every line must start a turn."""
    lab = _Labels(labels)
    turns: list[Turn] = []
    for number, raw, offset, forced in lines:
        line = raw.rstrip("\r")
        if forced is not None:
            canon = lab.canonical(forced.strip().rstrip(":").strip())
            if canon is None:
                raise InputError(f"{source}, {unit} {number}: bold "
                                 f"{_label_ordinal(turns)} is not in the roster for this "
                                 f"session; add a roster row with this speaker_label or fix "
                                 f"the label")
            split = (canon, 0)
        else:
            try:
                split = _split_label(line, lab)
            except ValueError as exc:
                raise InputError(f"{source}, {unit} {number}: "
                                 f"{_label_ordinal(turns)} is not in the roster for this "
                                 f"session; add a roster row with this speaker_label (or fix "
                                 f"the label in the transcript)") from None
        if split is None:
            if not multiline:
                raise InputError(f"{source}, {unit} {number}: expected 'Label: text' (a "
                                 f"speaker label, a colon, the turn); add the speaker label, "
                                 f"make the line a '#' comment, or -- if turns continue over "
                                 f"several lines -- declare format labelled_multiline")
            if not turns:
                raise InputError(f"{source}, {unit} {number}: expected 'Label: text' (a "
                                 f"speaker label, a colon, the turn) before any continuation "
                                 f"line; add the speaker label or make the line a '#' comment")
            body = re.sub(rf"^[\[(]?{_TS}[\])]?\s+", "", line.strip())
            t = turns[-1]
            text = normalise_markers(re.sub(r"\s+", " ", body))
            t.text = f"{t.text} {text}".strip() if t.text else text
            t.end_line = number
            t.exact = False
            continue
        label, at = split
        body = line[at:]
        stripped = body.strip()
        start = offset + at + (body.index(stripped) if stripped else 0)
        text = re.sub(r"\s", " ", stripped)
        norm = normalise_markers(re.sub(r"\s+", " ", text))
        exact = norm == text
        turns.append(Turn(number, label, norm if not exact else text, start, number, exact))
    empty = [t for t in turns if not t.text]
    if empty:
        raise InputError(f"{source}, {unit} {empty[0].line}: the speaker label has no text "
                         f"after it; delete the line or add the turn's text")
    return turns


# ---------------------------------------------------------------- formats

def parse_labelled(text: str, labels=None, source: str = "transcript",
                   multiline: bool = False) -> list[Turn]:
    """Speaker-labelled plain text (see module docstring); ``multiline``: the
    ``labelled_multiline`` format (continuation lines, labels alone on a line)."""
    lines, pos = [], 0
    for i, raw in enumerate(text.split("\n"), start=1):
        start = pos
        pos += len(raw) + 1
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        lines.append((i, raw, start, None))
    return _parse_lines(lines, labels, source, multiline=multiline)


_TIMING = re.compile(r"^\s*(?:\d+:)?\d{2}:\d{2}[.,]\d{3}\s+-->\s+(?:\d+:)?\d{2}:\d{2}[.,]\d{3}")
_VOICE = re.compile(r"<v(?:\.[\w.-]+)?\s+([^>]+)>")
_TAG = re.compile(r"</?[^>]*>")


def parse_webvtt(text: str, labels=None, source: str = "transcript") -> list[Turn]:
    """WebVTT (Zoom, Teams); consecutive cues of one speaker become one turn."""
    lab = _Labels(labels)
    lines = text.lstrip("\ufeff").split("\n")
    if not lines or not lines[0].startswith("WEBVTT"):
        raise InputError(f"{source}, line 1: a WebVTT file starts with 'WEBVTT'; fix the "
                         f"header or declare the session's format correctly in sessions.tsv")
    pos_of, pos = [], 0
    for raw in lines:
        pos_of.append(pos)
        pos += len(raw) + 1
    # blocks of consecutive non-blank lines: [(first line index, [lines])]
    blocks, cur = [], []
    for i, raw in enumerate(lines):
        if raw.strip():
            cur.append(i)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    turns: list[Turn] = []
    for block in blocks[1:]:  # blocks[0] is the header
        first = lines[block[0]].strip()
        if first.startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing = next((k for k, i in enumerate(block) if _TIMING.match(lines[i])), None)
        if timing is None or timing > 1:
            raise InputError(f"{source}, line {block[0] + 1}: expected a cue timing line "
                             f"'00:00:01.000 --> 00:00:04.000' (after an optional cue id); "
                             f"fix the cue or remove the block")
        payload = block[timing + 1:]
        if not payload:
            continue  # an empty cue: nothing said
        number = payload[0] + 1
        body = " ".join(lines[i].strip() for i in payload)
        speaker = None
        v = _VOICE.search(body)
        if v:
            speaker = v.group(1).strip()
            body = body[:v.start()] + body[v.end():]
        body = html.unescape(_TAG.sub("", body)).replace("\xa0", " ").strip()
        if speaker is None:
            m = re.match(r"^(?P<label>[^:]{1,40}):\s+(?P<body>.*)$", body)
            if m and (lab.canonical(m.group("label").strip()) is not None
                      or (lab.given and _label_like(m.group("label").strip()))):
                speaker, body = m.group("label").strip(), m.group("body")
        if speaker is not None:
            canon = lab.canonical(speaker) if lab.given else speaker
            if canon is None:
                raise InputError(f"{source}, line {number}: the cue's "
                                 f"{_label_ordinal(turns)} is not in the roster for this "
                                 f"session; add a roster row with this speaker_label (or fix "
                                 f"the cue)")
            speaker = canon
        elif turns:
            speaker = turns[-1].label
        else:
            raise InputError(f"{source}, line {number}: the first cue names no speaker (no "
                             f"<v Name> tag, no 'Name: ' prefix); add the speaker")
        body = normalise_markers(re.sub(r"\s+", " ", body)).strip()
        if not body:
            continue
        if turns and turns[-1].label == speaker:
            turns[-1].text += " " + body
            turns[-1].end_line = payload[-1] + 1
            turns[-1].exact = False
        else:
            turns.append(Turn(number, speaker, body, pos_of[payload[0]], payload[-1] + 1,
                              False))
    return turns


def docx_paragraphs(data: bytes, source: str = "transcript"):
    """``[(paragraph number, text, bold prefix or None)]`` of a DOCX file."""
    import docx  # python-docx
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises several kinds
        raise InputError(f"{source}: not a readable DOCX file ({exc}); save it again as "
                         f".docx or declare another format in sessions.tsv") from None
    if document.tables:
        raise InputError(f"{source}: the DOCX has {len(document.tables)} table(s); Concord "
                         f"reads speaker turns from paragraphs only -- convert the table to "
                         f"'Name: text' paragraphs")
    out = []
    for i, p in enumerate(document.paragraphs, start=1):
        text = p.text
        if not text.strip():
            continue
        bold = ""
        for run in p.runs:
            if run.bold and (bold or run.text.strip()):
                bold += run.text
            elif not bold and not run.text.strip():
                continue
            else:
                break
        forced = bold if bold.strip() and len(bold) < len(text.rstrip()) + 1 else None
        if forced is not None and not text.startswith(bold.lstrip()) and \
                not text.lstrip().startswith(bold.strip()):
            forced = None
        out.append((i, text, forced))
    return out


def parse_docx(data: bytes, labels=None, source: str = "transcript") -> list[Turn]:
    lines = []
    for number, text, forced in docx_paragraphs(data, source):
        if forced is not None:
            rest = text.lstrip()[len(forced.strip()):]
            rest = re.sub(r"^\s*:?\s*", "", rest)
            if not rest.strip():  # a bold label alone on its paragraph
                lines.append((number, f"{forced.strip().rstrip(':')}:", 0, None))
                continue
            lines.append((number, rest, 0, forced.strip().rstrip(":")))
        else:
            lines.append((number, text, 0, None))
    turns = _parse_lines(lines, labels, source, unit="paragraph")
    for t in turns:
        t.exact = False
    return turns


# ---------------------------------------------------------------- entry point

def detect_format(raw: str | bytes) -> tuple[str, str]:
    """``(format, reason)``."""
    if isinstance(raw, bytes):
        if raw.startswith(b"PK\x03\x04"):
            return "docx", "the file is a ZIP archive (PK header), as a .docx is"
        raw = raw.decode("utf-8-sig")
    if raw.lstrip("\ufeff").startswith("WEBVTT"):
        return "webvtt", "the text starts with 'WEBVTT'"
    return "labelled", "neither a ZIP archive nor a 'WEBVTT' header"


def read_raw(path) -> str | bytes:
    """A transcript file as text (UTF-8) or, for a ZIP (docx), as bytes."""
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith(b"PK\x03\x04"):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise InputError(f"{path}, line {line}: not UTF-8 text (byte {exc.start}); save the "
                         f"transcript as UTF-8") from None


def parse(raw: str | bytes, labels=None, source: str = "transcript",
          fmt: str = "auto", log=None) -> list[Turn]:
    """Parse a raw transcript into :class:`Turn` s.

    ``raw``: the file content (``str``; ``bytes`` for docx, see :func:`read_raw`).
    ``fmt``: ``labelled``, ``webvtt``, ``docx`` or ``auto`` (detected and stated on
    ``log``, default stderr). A declared format that contradicts the content is an
    error.
    """
    detected, reason = detect_format(raw)
    if fmt in (None, "", "auto"):
        print(f"{source}: format detected as {detected} ({reason})", file=log or sys.stderr)
        fmt = detected
    elif fmt not in FORMATS:
        raise InputError(f"{source}: unknown transcript format {fmt!r}; use one of "
                         f"{', '.join(FORMATS)} or auto in sessions.tsv")
    elif fmt != detected and (fmt == "docx" or detected != "labelled"):  # labelled_multiline ok
        raise InputError(f"{source}: declared format {fmt!r} but the content looks like "
                         f"{detected} ({reason}); fix the format column in sessions.tsv")
    if fmt == "docx":
        if isinstance(raw, str):
            raise InputError(f"{source}: declared docx but read as text")
        return parse_docx(raw, labels, source)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    if fmt == "webvtt":
        return parse_webvtt(raw, labels, source)
    return parse_labelled(raw, labels, source, multiline=fmt == "labelled_multiline")

