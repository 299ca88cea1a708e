"""Raw transcripts of every supported format -> speaker turns with source lines.

Formats (``format`` column of ``config/sessions.tsv``):

``labelled`` / ``labelled_multiline``
    Plain text as typed or delivered by transcription services. ``# `` lines (hash,
    space) are comments, blank lines are ignored. In ``labelled`` every other line is
    one turn; ``labelled_multiline`` also accepts continuation lines and labels alone
    on their line (so that a damaged one-turn-per-line file is not silently merged,
    the strict variant is the default and what ``auto`` detects). A turn starts with
    a speaker label; the conventions of the tools researchers use are accepted:
    ``Maria:``, ``MARIA:``, ``Speaker 2:``, ``P3 - text`` (a spaced dash),
    ``[Maria] text`` / ``[id1] text`` (QualCoder), ``{Maria} text``, ``#Maria: text``,
    ``@Maria: text`` (a ``#``/``@`` line naming no roster speaker, ``# `` with a
    space, and CHAT headers such as ``@Begin`` are comments), ``*MAR: text`` (CHAT
    main tiers); a leading timestamp ``[00:12:31] Maria:``,
    ``(00:12:31)``, ``00:12:31 Maria:`` or f4/MAXQDA ``#00:12:31-4#``; a trailing one
    ``Speaker 1 (00:00:12):`` (Rev); a leading paragraph or line number
    (``12  Maria: ...``, MAXQDA/NVivo exports, PDF line numbers); a label alone on its
    line with an optional timestamp (``Speaker 1 (00:00:12):`` Rev, ``Thor Galle  0:49``
    Otter), or -- when the roster labels are known -- a roster label alone on its line
    (DaVinci/Trint style), the text on the following lines. Lines that are only a
    timestamp (``[00:01:02]``, ``00:01:02 - 00:01:09``) or only a number (page and
    paragraph numbers) carry no speech and are skipped. A line without a label
    continues the previous turn (joined with one space). Markers of untranscribed
    speech are normalised (``[inaudible 00:12:40]``, ``(inaudible)``, ``[crosstalk
    00:03:10]`` -> ``[inaudible]``, ``[crosstalk]``; also ``[laughter]``,
    ``[pause]``...) and kept in the turn; f4/MAXQDA timestamps inside a turn are removed.
``webvtt``
    WebVTT (W3C; Zoom, Microsoft Teams, YouTube). Blocks: header, ``NOTE``, ``STYLE``,
    ``REGION``, cues (optional identifier, timing line with optional cue settings
    ``align:end size:50%``, payload; ``.`` or SRT-style ``,`` decimals). The speaker
    is a ``<v Name>`` voice span (Teams): a cue with several voices becomes several
    turns, ``</v>`` ends a voice, text after it continues the last voice, a ``<v``
    without ``>`` is a voice with no text (the W3C tokenizer); or a ``Name: `` prefix
    (Zoom). A cue without a speaker continues the previous speaker; consecutive cues
    of one speaker are merged into one turn. Other tags are removed and character
    references unescaped. :func:`webvtt_cues` gives the cues themselves.
``srt``
    SubRip: numbered cues, ``00:00:01,000 --> 00:00:04,000``, payload; speakers as in
    WebVTT (``Name: `` prefix, ``<v Name>``, ``[Name]``).
    Captions without any speaker name (Zoom's ``.cc.vtt``, plain subtitles): without
    ``labels`` every cue goes to ``Unknown speaker`` with a warning on ``log``; with
    ``labels`` (the roster) the same happens only when the roster has the label
    ``Unknown speaker`` for the session (an explicit choice: one speaker, whose turns
    are then analysed as one person's), else an :class:`InputError` says how to fix it.
``docx``
    Word documents (python-docx), paragraphs and tables in document order. A
    paragraph's leading **bold** run is the speaker label (with or without a colon),
    otherwise the ``labelled`` rules apply (``Name: text``, continuation paragraphs).
    A table row is one turn: its cells, with timestamp cells and empty cells dropped,
    are ``label, text`` (NVivo/Trint/Word speaker tables; a header row ``Speaker |
    Text`` is skipped). Locations are ``paragraph N`` (1-based, counting empty
    paragraphs) or ``table T, row R``.
``pdf``
    Text extracted with pypdf, page by page; then the ``labelled_multiline`` rules.
    Removed first: page headers and footers (a line repeated at the top or bottom of
    most pages, ``Page 3 of 12``, a bare page number) and line numbers (a number at
    the start of most lines, as legal and interview transcripts print them).
    Locations are ``page P, line L``.
``qmsum``
    QMSum meeting-transcript JSON (``meeting_transcripts`` or ``turns``: ``speaker``,
    ``content``), the AMI and ICSI meeting corpora. Its markup is normalised, not
    kept verbatim: ``{disfmarker}`` (a speaker breaking off) -> ``—``, ``{pause}`` ->
    ``[pause]``, ``{gap}`` -> ``[inaudible]``, ``{vocalsound}``, ``{nonvocalsound}``
    and ``{comment}`` (non-speech, no words) are removed; the tokenised spacing before
    punctuation (``fine .``) is closed; a turn left empty is dropped. Locations are
    ``turn N`` (0-based, QMSum's numbering).
``auto``
    Detected: a ZIP file (``PK\\x03\\x04``) is ``docx``, ``%PDF`` is ``pdf``, text starting
    with ``WEBVTT`` is ``webvtt``, a first block ``1`` + timing line is ``srt``, a JSON
    object with ``meeting_transcripts``/``turns`` is ``qmsum``, anything else
    ``labelled``. :func:`parse` prints the detected format and the reason to stderr.

Everywhere: a UTF-8 byte-order mark (Notepad, Excel), no-break spaces and CRLF line
ends are accepted (a BOM counts as whitespace; offsets stay those of the raw text).
Errors are :class:`InputError` naming the file, the line (page, paragraph, row, cue,
turn) and the fix, and never quote a speaker label (it may be a name): they say
"speaker label #3" (the third distinct label of the file, in order of appearance).

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
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass

from concord import limits
from concord.tsvio import InputError, decode_utf8

FORMATS = ("labelled", "labelled_multiline", "webvtt", "srt", "docx", "pdf", "qmsum")
UNKNOWN_SPEAKER = "Unknown speaker"


@dataclass
class Turn:
    line: int          # 1-based line (paragraph, row, cue line, turn) where the turn starts
    label: str         # speaker label (the roster spelling when labels were given)
    text: str          # the turn, whitespace normalised to single spaces
    offset: int = 0    # raw offset of text[0] (labelled); see module docstring
    end_line: int = 0  # last source line of the turn
    exact: bool = True  # text[i] is at raw offset + i
    where: str = ""     # location for messages: "line 4", "table 1, row 3", "page 2, line 7"


# ---------------------------------------------------------------- helpers

_TS = r"\d{1,2}:\d{2}(?::\d{2})?(?:[.,:-]\d{1,3})?"
_TSB = rf"(?:\[{_TS}\]|\({_TS}\)|#{_TS}#|{_TS})"      # bracketed, f4 #..#, or bare
_LAB = r"[^\s:\[\](){}<>#@*][^:\[\](){}<>]{0,39}?"     # a label's characters
# optional paragraph number, optional timestamp, then a label in one of the conventions
_LABEL_LINE = re.compile(
    rf"^\s*(?:\d{{1,5}}[.)]?\s+(?=\D))?(?:{_TSB}\s*)?(?:"
    rf"\[(?P<lb>{_LAB})\]\s*:?|\{{(?P<lc>{_LAB})\}}\s*:?|"
    rf"(?P<pre>[#@*]?)(?P<label>{_LAB})\s*(?:[\[(]{_TS}[\])])?\s*"
    r"(?P<sep>:|\s[-–—]\s|\s[-–—]$))(?P<body>.*)$")
_LABEL_ALONE = re.compile(
    rf"^\s*(?:\d{{1,5}}[.)]?\s+(?=\D))?(?P<label>[A-Z][\w.'’ -]{{0,39}}?)\s*"
    rf"(?:[\[(]{_TS}[\])]|\s{_TS})\s*:?\s*$")
_NO_SPEECH = re.compile(rf"^\s*(?:\d{{1,5}}|{_TSB}(?:\s*(?:-->|[-–—])\s*{_TSB})?|"
                        rf"\[{_TS}\s*[-–—]\s*{_TS}\])\s*$")
_F4_TS = re.compile(r"\s*#\d{1,2}:\d{2}:\d{2}(?:[.,-]\d{1,3})?#")
_MARKER = re.compile(
    r"[\[(]\s*(?P<kind>inaudible|unintelligible|crosstalk|cross-talk|laughter|laughs|"
    r"pause|silence|indiscernible|overlapping|background noise|coughs?)\b[^\])]*[\])]",
    re.IGNORECASE)
_MARKER_WORDS = re.compile(r"^(?:inaudible|unintelligible|crosstalk|cross-talk|laughter|"
                           r"laughs|pause|silence|indiscernible|overlapping|music|applause|"
                           r"background noise|coughs?|noise|silence)\b", re.IGNORECASE)
_MARKER_NAMES = {"unintelligible": "inaudible", "indiscernible": "inaudible",
                 "cross-talk": "crosstalk", "overlapping": "crosstalk", "laughs": "laughter",
                 "silence": "pause", "cough": "cough", "coughs": "cough"}
_SENTENCE_PUNCT = re.compile(r"[.,;!?\"“”]")
_CHAT_HEADERS = {"begin", "end", "languages", "participants", "id", "media", "date",
                 "location", "situation", "comment", "options", "transcriber", "utf8"}


def normalise_markers(text: str) -> str:
    """``[inaudible 00:12:40]`` / ``(Crosstalk)`` -> ``[inaudible]`` / ``[crosstalk]``."""
    def repl(m):
        kind = m.group("kind").lower()
        return f"[{_MARKER_NAMES.get(kind, kind)}]"
    return _MARKER.sub(repl, text)


def _label_like(label: str, any_case: bool = False) -> bool:
    """A plausible speaker label: at most 4 words, each capitalised, a number or an
    initial, no sentence punctuation (``Speaker 2``, ``MARIA``, ``Dr. Okafor``, ``P3``);
    ``any_case``: bracketed forms (``[id1]``), where case does not matter."""
    words = label.split()
    if not 1 <= len(words) <= 4 or _SENTENCE_PUNCT.search(label.replace(".", "", 1)
                                                            if label.count(".") == 1 else label):
        return False
    if _MARKER_WORDS.match(label):
        return False
    return any_case or all(w[0].isupper() or w[0].isdigit() for w in words)


def _key(label: str) -> str:
    k = _KEYS.get(label)
    if k is None:
        k = " ".join(label.split()).casefold()
        if len(label) <= 64 and len(_KEYS) < 4096:   # (labels recur on every line)
            _KEYS[label] = k
    return k


_KEYS: dict[str, str] = {}


class _Labels:
    """The roster's labels (or none) and the numbering of the labels met in a file,
    so that errors say "speaker label #3" instead of quoting a possible name."""

    def __init__(self, labels):
        self.given = labels is not None
        self.by_key = {_key(lab): lab for lab in (labels or [])}
        self.seen: dict[str, int] = {}

    def number(self, label: str) -> int:
        return self.seen.setdefault(_key(label), len(self.seen) + 1)

    def canonical(self, label: str, any_case: bool = False) -> str | None:
        self.number(label)
        if not self.given:
            return " ".join(label.split()) if _label_like(label, any_case) else None
        return self.by_key.get(_key(label))

    def unknown(self, label: str, where: str, what: str = "speaker label") -> InputError:
        return InputError(f"{where}: {what} #{self.number(label)} of this file is not in the "
                          f"roster for this session; add a roster row with this speaker_label "
                          f"(or fix the label in the transcript)")


class _Unknown(Exception):
    def __init__(self, label):
        super().__init__("speaker label not in the roster")
        self.label = label


def _split_label(line: str, labels: _Labels):
    """``(label, body_start_in_line)`` when ``line`` starts a turn, else None.
    Raises :class:`_Unknown` for a label-like prefix not among the labels."""
    m = _LABEL_ALONE.match(line)
    if m:
        raw = m.group("label").strip()
        lab = labels.canonical(raw)
        if lab is not None:
            return lab, len(line)
        if labels.given and _label_like(raw):
            raise _Unknown(raw)
    if labels.given:  # a roster label alone on its line (DaVinci/Trint), maybe with ':'
        alone = line.strip().rstrip(":").strip()
        if alone and _key(alone) in labels.by_key:
            return labels.canonical(alone), len(line)
    m = _LABEL_LINE.match(line)
    if not m:
        return None
    bracketed = m.group("lb") or m.group("lc")
    raw = (bracketed or m.group("label")).strip()
    lab = labels.canonical(raw, any_case=bool(bracketed))
    if lab is not None:
        return lab, m.start("body")
    if labels.given and (m.group("sep") == ":" or bracketed) and \
            _label_like(raw, any_case=bool(bracketed)):
        raise _Unknown(raw)
    return None


_SPACE = re.compile(r"\s")
_SPACES = re.compile(r"\s+")
_OTHER_SPACE = re.compile(r"[^\S ]")  # whitespace other than a space


def _other_space(text: str) -> bool:
    """Whether ``text`` holds whitespace other than a space. Every such character is
    unprintable (str.isprintable; tests/test_deid_scan_speed.py checks every code
    point), so a printable text is answered by one fast C loop, without the regex."""
    return not text.isprintable() and _OTHER_SPACE.search(text) is not None


def one_space(text: str) -> str:
    """Every whitespace character of ``text`` -> a space (same length, same offsets);
    the substitution only where there is one (5x faster on speech)."""
    return _SPACE.sub(" ", text) if _other_space(text) else text


def _clean_line(text: str) -> str:
    """One source line's text: f4 timestamps out, markers normalised, spaces single."""
    if "#" in text:  # (each step only where it can change something: parse speed)
        text = _F4_TS.sub("", text)
    if "  " in text or _other_space(text):
        text = _SPACES.sub(" ", text)
    if "[" in text or "(" in text:
        text = normalise_markers(text)
    return text.strip()


def _parse_lines(lines, labels, source: str, multiline: bool = True):
    """Core of labelled/docx/pdf parsing. ``lines``: (where, number, text, raw offset,
    forced label or None); ``where`` is the location for messages ("line 4",
    "paragraph 2", "table 1, row 3", "page 2, line 7"). Without ``multiline`` every
    line must start a turn."""
    lab = labels if isinstance(labels, _Labels) else _Labels(labels)
    turns: list[Turn] = []
    for where, number, raw, offset, forced in lines:
        line = raw.rstrip("\r").replace("\ufeff", " ")
        at_where = f"{source}, {where}"
        if forced is not None:
            canon = lab.canonical(forced.strip().rstrip(":").strip(), any_case=True)
            if canon is None:
                if lab.given:
                    raise lab.unknown(forced, at_where)
                raise InputError(f"{at_where}: speaker label #{lab.number(forced)} is not a "
                                 f"plausible speaker label (at most 4 words, no sentence "
                                 f"punctuation); fix the label")
            split = (canon, 0)
        elif _NO_SPEECH.match(line):
            continue  # a timestamp or a paragraph/page number alone
        else:
            if line.lstrip().startswith(("#", "@")) and _F4_TS.match(line) is None:
                stripped = line.lstrip()
                if stripped[1:2].isspace() or not stripped[1:2]:
                    continue  # '# comment'
                try:
                    split = _split_label(line, lab)
                except _Unknown:
                    split = None
                if split is None or (stripped[0] == "@" and lab.given is False
                                     and split[0].casefold() in _CHAT_HEADERS):
                    continue  # '#Header: ...' / CHAT '@Begin' naming no roster speaker
            else:
                try:
                    split = _split_label(line, lab)
                except _Unknown as exc:
                    raise lab.unknown(exc.label, at_where) from None
        if split is None:
            if _NO_SPEECH.match(line):
                continue  # a timestamp or a paragraph/page number alone
            if not multiline:
                raise InputError(f"{at_where}: expected 'Label: text' (a speaker label, a "
                                 f"colon, the turn); add the speaker label, make the line a "
                                 f"'# ' comment, or -- if turns continue over several lines "
                                 f"-- declare format labelled_multiline")
            if not turns:
                raise InputError(f"{at_where}: expected 'Label: text' (a speaker label, a "
                                 f"colon, the turn) before any continuation line; add the "
                                 f"speaker label or make the line a '# ' comment")
            body = re.sub(rf"^\s*(?:\d{{1,5}}[.)]?\s+(?=\D))?{_TSB}?\s*", "", line)
            text = _clean_line(body)
            if not text:
                continue
            t = turns[-1]
            t.text = f"{t.text} {text}".strip() if t.text else text
            limits.check_turn(len(t.text), source, t.line)  # bounded, not timed
            t.end_line = number
            t.exact = False
            continue
        label, at = split
        body = line[at:]
        stripped = body.strip()
        start = offset + at + (body.index(stripped) if stripped else 0)
        text = one_space(stripped)
        norm = _clean_line(text)
        exact = norm == text
        turns.append(Turn(number, label, norm if not exact else text, start, number, exact,
                          where))
    empty = [t for t in turns if not t.text]
    if empty:
        raise InputError(f"{source}, {empty[0].where}: speaker label "
                         f"#{lab.number(empty[0].label)} has a label but no text; delete "
                         f"the line or add the turn's text")
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
        if not raw or raw.isspace() or ("\ufeff" in raw
                                         and not raw.replace("\ufeff", "").strip()):
            continue
        lines.append((f"line {i}", i, raw, start, None))
    return _parse_lines(lines, labels, source, multiline=multiline)


_TIMING = re.compile(r"^\s*(?P<start>(?:\d+:)?\d{2}:\d{2}[.,]\d{3})\s+-->\s+"
                     r"(?P<end>(?:\d+:)?\d{2}:\d{2}[.,]\d{3})(?P<settings>.*)$")
_VOICE_OPEN = re.compile(r"<v(?:\.[^\s>]*)?(?:[ \t\f]+(?P<name>[^>]*))?(?:>|$)")
_TAG = re.compile(r"</?[^>]*>")
_SOUND = re.compile(r"<i>\s*((?:laughter|laughs|laughing|applause|music|inaudible|crosstalk|"
                    r"coughs?|pause|silence|sighs?)\s*)</i>", re.IGNORECASE)


@dataclass
class Cue:
    line: int        # 1-based line of the first payload line (timing line if empty)
    id: str
    start: float     # seconds
    end: float
    settings: dict   # cue settings, e.g. {"align": "end", "size": "50%"}
    text: str        # the raw payload, lines joined with "\n"
    last_line: int = 0


def _seconds(ts: str) -> float:
    parts = ts.replace(",", ".").split(":")
    secs = float(parts[-1]) + 60 * int(parts[-2])
    return secs + (3600 * int(parts[-3]) if len(parts) == 3 else 0)


def webvtt_cues(text: str, source: str = "transcript", srt: bool = False) -> list[Cue]:
    """The cues of a WebVTT (or, with ``srt``, SubRip) file. ``NOTE``/``STYLE``/
    ``REGION`` blocks are skipped; a block without a timing line is an error."""
    lines = text.replace("\ufeff", "", 1).replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not srt and (not lines or not lines[0].startswith("WEBVTT")):
        raise InputError(f"{source}, line 1: a WebVTT file starts with 'WEBVTT'; fix the "
                         f"header or declare the session's format correctly in sessions.tsv")
    blocks, cur = [], []
    for i, raw in enumerate(lines):
        if raw.strip():
            cur.append(i)
        elif cur:
            blocks.append(cur)
            cur = []
    if cur:
        blocks.append(cur)
    cues = []
    for block in blocks[0 if srt else 1:]:  # a WebVTT file's first block is its header
        first = lines[block[0]].strip()
        if not srt and first.startswith(("NOTE", "STYLE", "REGION")):
            continue
        timing = next((k for k, i in enumerate(block) if _TIMING.match(lines[i])), None)
        if timing is None or timing > 1:
            raise InputError(f"{source}, line {block[0] + 1}: expected a cue timing line "
                             f"'00:00:01.000 --> 00:00:04.000' (after an optional cue id); "
                             f"fix the cue or remove the block")
        m = _TIMING.match(lines[block[timing]])
        settings = dict(kv.split(":", 1) for kv in m.group("settings").split() if ":" in kv)
        payload = block[timing + 1:]
        cues.append(Cue(payload[0] + 1 if payload else block[timing] + 1,
                        lines[block[0]].strip() if timing == 1 else "",
                        _seconds(m.group("start")), _seconds(m.group("end")), settings,
                        "\n".join(lines[i] for i in payload),
                        payload[-1] + 1 if payload else block[timing] + 1))
    return cues


def cue_voices(payload: str) -> list[tuple[str | None, str]]:
    """``[(voice or None, text)]`` of a cue payload, in order: each ``<v Name>`` opens a
    voice, ``</v>`` closes it (text after it has no voice), other tags are removed,
    character references unescaped, whitespace single."""
    out: list[tuple[str | None, str]] = []
    voice, pos = None, 0

    def emit(chunk):
        chunk = _SOUND.sub(lambda m: f"[{m.group(1)}]", chunk)  # <i>Laughs</i> -> [Laughs]
        chunk = html.unescape(_TAG.sub("", chunk)).replace("\xa0", " ")
        chunk = re.sub(r"\s+", " ", chunk).strip()
        if out and out[-1][0] == voice:
            out[-1] = (voice, f"{out[-1][1]} {chunk}".strip())
        else:
            out.append((voice, chunk))
    for m in re.finditer(r"<v(?:\.[^\s>]*)?(?:[ \t\f][^>]*)?(?:>|$)|</v\s*>", payload):
        emit(payload[pos:m.start()])
        if m.group(0).startswith("</"):
            voice = None
        else:
            v = _VOICE_OPEN.match(m.group(0))
            voice = " ".join((v.group("name") or "").split()) or None
        pos = m.end()
    emit(payload[pos:])
    return [(v, t) for v, t in out if t or v is not None]


def _parse_cues(cues: list[Cue], labels, source: str, log=None) -> list[Turn]:
    lab = _Labels(labels)
    unknown_ok = not lab.given or _key(UNKNOWN_SPEAKER) in lab.by_key
    turns: list[Turn] = []
    unnamed = False
    for cue in cues:
        for voice, body in cue_voices(cue.text):
            where = f"{source}, line {cue.line}"
            speaker = None
            if voice is not None:
                speaker = lab.canonical(voice, any_case=True) if lab.given else voice
                if speaker is None:
                    raise lab.unknown(voice, where, "voice")
            else:
                m = re.match(rf"^(?:\[(?P<lb>{_LAB})\]\s*:?|(?P<label>[^:]{{1,40}}):)\s+"
                             rf"(?P<body>.*)$", body)
                if m:
                    raw = (m.group("lb") or m.group("label")).strip()
                    canon = lab.canonical(raw, any_case=bool(m.group("lb")))
                    if canon is not None:
                        speaker, body = canon, m.group("body")
                    elif lab.given and _label_like(raw, any_case=bool(m.group("lb"))):
                        raise lab.unknown(raw, where)
            body = normalise_markers(body).strip()
            if not body:
                continue  # a voice with nothing said (or an empty cue)
            if speaker is None:
                if turns:
                    speaker = turns[-1].label
                elif unknown_ok:
                    speaker = lab.by_key.get(_key(UNKNOWN_SPEAKER), UNKNOWN_SPEAKER)
                    unnamed = True
                else:
                    raise InputError(f"{where}: the first cue names no speaker (no <v Name> "
                                     f"voice, no 'Name: ' prefix); add the speakers' names to "
                                     f"the captions, or -- to analyse the file as one unknown "
                                     f"speaker -- add a roster row with speaker_label "
                                     f"'{UNKNOWN_SPEAKER}' for this session")
            if turns and turns[-1].label == speaker:
                turns[-1].text += " " + body
                limits.check_turn(len(turns[-1].text), source, turns[-1].line)
                turns[-1].end_line = cue.last_line
            else:
                turns.append(Turn(cue.line, speaker, body, 0, cue.last_line, False))
    if unnamed:
        print(f"{source}: WARNING: the captions name no speaker at the start; those cues are "
              f"attributed to '{UNKNOWN_SPEAKER}' -- add names to the captions to analyse "
              f"speakers separately", file=log or sys.stderr)
    return turns


def parse_webvtt(text: str, labels=None, source: str = "transcript", log=None) -> list[Turn]:
    """WebVTT (Zoom, Teams); a cue with several voices gives several turns;
    consecutive cues of one speaker become one turn."""
    return _parse_cues(webvtt_cues(text, source), labels, source, log)


def parse_srt(text: str, labels=None, source: str = "transcript", log=None) -> list[Turn]:
    """SubRip captions (speakers as in WebVTT)."""
    return _parse_cues(webvtt_cues(text, source, srt=True), labels, source, log)


_QMSUM_MARKUP = [(re.compile(r"\s*\{disfmarker\}\s*"), " — "),
                 (re.compile(r"\{pause\}"), "[pause]"),
                 (re.compile(r"\{gap\}"), "[inaudible]"),
                 (re.compile(r"\{(?:vocalsound|nonvocalsound|comment)\}"), " ")]


def qmsum_text(content: str) -> str:
    """One QMSum turn's text with its markup normalised (module docstring)."""
    text = content
    for pattern, repl in _QMSUM_MARKUP:
        text = pattern.sub(repl, text)
    text = re.sub(r"\s+", " ", text).strip()
    text = re.sub(r" (?=[.,?!;:](?:\s|$))", "", text)          # 'fine .' -> 'fine.'
    text = re.sub(r"^(?:— ?)+", "", text)                      # broke off before a word
    return re.sub(r" —$", "—", text).strip()


def parse_qmsum(raw: str | bytes, labels=None, source: str = "transcript") -> list[Turn]:
    """QMSum meeting-transcript JSON -> turns (markup: :func:`qmsum_text`)."""
    try:
        doc = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        line = getattr(exc, "lineno", 1)
        raise InputError(f"{source}, line {line}: not valid JSON ({getattr(exc, 'msg', exc)})"
                         f"; export the transcript again") from None
    items = doc.get("meeting_transcripts", doc.get("turns")) if isinstance(doc, dict) else None
    if not isinstance(items, list):
        raise InputError(f"{source}: a QMSum transcript is a JSON object with a list "
                         f"'meeting_transcripts' (or 'turns') of {{speaker, content}}; "
                         f"declare the session's real format in sessions.tsv")
    lab = _Labels(labels)
    turns = []
    for i, item in enumerate(items):
        n = item.get("turn", i) if isinstance(item, dict) else i
        if not isinstance(item, dict) or not isinstance(item.get("speaker"), str) or \
                not isinstance(item.get("content"), str):
            raise InputError(f"{source}, turn {n}: expected an object with string 'speaker' "
                             f"and 'content'; fix the file")
        speaker = lab.canonical(item["speaker"], any_case=True)
        if speaker is None:
            raise lab.unknown(item["speaker"], f"{source}, turn {n}")
        text = qmsum_text(item["content"])
        if text:
            turns.append(Turn(int(n), speaker, text, 0, int(n), False))
    return turns


def _docx_blocks(document):
    """Paragraphs and tables of a python-docx document in body order."""
    from docx.table import Table
    from docx.text.paragraph import Paragraph
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            yield Paragraph(child, document)
        elif tag == "tbl":
            yield Table(child, document)


def _bold_prefix(p) -> str | None:
    text = p.text
    bold = ""
    for run in p.runs:
        if run.bold and (bold or run.text.strip()):
            bold += run.text
        elif not bold and not run.text.strip():
            continue
        else:
            break
    forced = bold if bold.strip() and len(bold) < len(text.rstrip()) + 1 else None
    if forced is not None and not text.lstrip().startswith(bold.strip()):
        forced = None
    return forced


_HEADER_CELL = re.compile(r"^(?:speaker|name|person|participant|who|text|transcript|content|"
                          r"utterance|time|timestamp|timespan|start|end|#|no\.?)$", re.I)


def docx_paragraphs(data: bytes, source: str = "transcript"):
    """``[(where, number, text, bold prefix or None)]`` of a DOCX file: paragraphs and
    table rows (a row as ``label: text``, forced label = the label cell)."""
    import docx  # python-docx
    limits.check_archive(data, source, "DOCX")  # sizes from the ZIP directory, first
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:  # noqa: BLE001 - python-docx raises several kinds
        raise InputError(f"{source}: not a readable DOCX file ({type(exc).__name__}); save "
                         f"it again as .docx or declare another format in sessions.tsv"
                         ) from None
    out, n_par, n_tab = [], 0, 0
    for block in _docx_blocks(document):
        if hasattr(block, "runs"):
            n_par += 1
            limits.check_line(len(block.text), source, n_par, "paragraph")
            if block.text.strip():
                out.append((f"paragraph {n_par}", n_par, block.text, _bold_prefix(block)))
            continue
        n_tab += 1
        for r, row in enumerate(block.rows, start=1):
            cells, seen = [], set()
            for c in row.cells:  # merged cells repeat: keep each once
                if id(c._tc) in seen:
                    continue
                seen.add(id(c._tc))
                t = " ".join(c.text.split())
                if t and not _NO_SPEECH.match(t) and not re.fullmatch(
                        rf"{_TSB}\s*(?:[-–—]|-->)?\s*(?:{_TSB})?", t):
                    cells.append(t)
            where = f"table {n_tab}, row {r}"
            if not cells or all(_HEADER_CELL.match(c) for c in cells):
                continue
            if len(cells) == 1:
                out.append((where, n_par, cells[0], None))  # 'Name: text' in one cell
            elif len(cells) == 2:
                out.append((where, n_par, f"{cells[0]}: {cells[1]}", cells[0]))
            else:
                raise InputError(f"{source}, {where}: {len(cells)} text cells; a speaker "
                                 f"table has a speaker cell and a text cell (timestamp cells "
                                 f"are ignored) -- merge or delete the extra columns")
    return out


def parse_docx(data: bytes, labels=None, source: str = "transcript") -> list[Turn]:
    lines = []
    for where, number, text, forced in docx_paragraphs(data, source):
        if forced is not None:
            rest = text.lstrip()[len(forced.strip()):]
            rest = re.sub(r"^\s*:?\s*", "", rest)
            if not rest.strip():  # a bold label alone on its paragraph
                lines.append((where, number, f"{forced.strip().rstrip(':')}:", 0, None))
                continue
            lines.append((where, number, rest, 0, forced.strip().rstrip(":")))
        else:
            lines.append((where, number, text, 0, None))
    turns = _parse_lines(lines, labels, source, multiline=True)
    for t in turns:
        t.exact = False
    return turns


_PAGE_FOOTER = re.compile(r"^\s*(?:page\s+\d+(?:\s+of\s+\d+)?|\d+\s*(?:/|of)\s*\d+|[-–]?\s*\d+\s*"
                          r"[-–]?)\s*$", re.I)
_LINE_NO = re.compile(r"^\s*(\d{1,5})(?:\s+|$)")


def pdf_lines(data: bytes, source: str = "transcript") -> list[tuple[int, int, str]]:
    """``[(page, line, text)]`` of a PDF transcript with page headers/footers and line
    numbers removed (module docstring)."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError
    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(p.extract_text() or "").replace("\r\n", "\n").split("\n")
                 for p in reader.pages]
    except (PdfReadError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{source}: not a readable PDF ({type(exc).__name__}); export the "
                         f"transcript again or save it as .docx/.txt") from None
    if not any(line.strip() for page in pages for line in page):
        raise InputError(f"{source}: the PDF has no text layer (a scan?); run OCR or export "
                         f"the transcript as text")
    norm = [[(i, line) for i, line in enumerate(page, start=1) if line.strip()]
            for page in pages]

    def strip_no(s):
        return re.sub(r"\d+", "#", " ".join(s.split()).casefold())
    # headers/footers: a first/last line repeated on most pages (numbers masked)
    edge = Counter()
    for page in norm:
        edge.update({strip_no(line) for _, line in page[:2] + page[-2:]})
    repeated = {k for k, c in edge.items() if len(norm) > 1 and c >= max(2, len(norm) // 2)}
    kept = []
    for p, page in enumerate(norm, start=1):
        for k, (i, line) in enumerate(page):
            at_edge = k < 2 or k >= len(page) - 2
            if not (at_edge and (strip_no(line) in repeated or _PAGE_FOOTER.match(line))):
                kept.append((p, i, line))
    # line numbers: a number at the start of most remaining lines
    numbered = sum(1 for _, _, line in kept if _LINE_NO.match(line))
    if kept and numbered / len(kept) > 0.6:
        kept = [(p, i, _LINE_NO.sub("", line, count=1)) for p, i, line in kept]
        kept = [k for k in kept if k[2].strip()]
    return kept


def parse_pdf(data: bytes, labels=None, source: str = "transcript") -> list[Turn]:
    lines = [(f"page {p}, line {i}", i, text, 0, None) for p, i, text in pdf_lines(data, source)]
    turns = _parse_lines(lines, labels, source, multiline=True)
    for t in turns:
        t.exact = False
    return turns


# ---------------------------------------------------------------- entry point

_SRT_START = re.compile(r"^\s*\d+\s*\n\s*(?:\d+:)?\d{2}:\d{2}[.,]\d{3}\s+-->")


def detect_format(raw: str | bytes) -> tuple[str, str]:
    """``(format, reason)``."""
    if isinstance(raw, bytes):
        if raw.startswith(b"PK\x03\x04"):
            return "docx", "the file is a ZIP archive (PK header), as a .docx is"
        if raw.startswith(b"%PDF"):
            return "pdf", "the file starts with '%PDF'"
        raw = raw.decode("utf-8-sig")
    head = raw.lstrip("\ufeff").replace("\r\n", "\n")
    if head.startswith("WEBVTT"):
        return "webvtt", "the text starts with 'WEBVTT'"
    if _SRT_START.match(head):
        return "srt", "the text starts with a cue number and a '-->' timing line"
    if head.lstrip().startswith("{") and re.search(r'"(?:meeting_transcripts|turns)"\s*:',
                                                    head[:100000]):
        return "qmsum", "a JSON object with 'meeting_transcripts' or 'turns'"
    return "labelled", "not a ZIP/PDF, no 'WEBVTT' header, no SRT cue, no QMSum JSON"


def read_raw(path) -> str | bytes:
    """A transcript file as text (UTF-8) or, for a ZIP (docx) or PDF, as bytes."""
    limits.check_file_size(path)  # before reading: memory bounded by the limit
    with open(path, "rb") as fh:
        data = fh.read()
    if data.startswith((b"PK\x03\x04", b"%PDF")):
        return data
    return decode_utf8(data, path, advice="save the transcript as UTF-8")


def parse(raw: str | bytes, labels=None, source: str = "transcript",
          fmt: str = "auto", log=None) -> list[Turn]:
    """Parse a raw transcript into :class:`Turn` s.

    ``raw``: the file content (``str``; ``bytes`` for docx/pdf, see :func:`read_raw`).
    ``fmt``: one of :data:`FORMATS` or ``auto`` (detected and stated on ``log``,
    default stderr). A declared format that contradicts the content is an error.
    """
    detected, reason = detect_format(raw)
    if fmt in (None, "", "auto"):
        print(f"{source}: format detected as {detected} ({reason})", file=log or sys.stderr)
        fmt = detected
    elif fmt not in FORMATS:
        raise InputError(f"{source}: unknown transcript format {fmt!r}; use one of "
                         f"{', '.join(FORMATS)} or auto in sessions.tsv")
    elif fmt != detected and (fmt in ("docx", "pdf") or detected != "labelled"):
        raise InputError(f"{source}: declared format {fmt!r} but the content looks like "
                         f"{detected} ({reason}); fix the format column in sessions.tsv")
    if fmt in ("docx", "pdf"):
        if isinstance(raw, str):
            raise InputError(f"{source}: declared {fmt} but read as text")
        return parse_docx(raw, labels, source) if fmt == "docx" else \
            parse_pdf(raw, labels, source)
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    limits.check_lines(raw, source)  # before any regex sees a line
    if fmt == "webvtt":
        return parse_webvtt(raw, labels, source, log)
    if fmt == "srt":
        return parse_srt(raw, labels, source, log)
    if fmt == "qmsum":
        return parse_qmsum(raw, labels, source)
    return parse_labelled(raw, labels, source, multiline=fmt == "labelled_multiline")
