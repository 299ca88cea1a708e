"""The manuscript: resolve registry shortcodes in the .qmd, then render it.

Shortcodes (Quarto syntax, resolved here before Quarto or pandoc sees the text):

* ``{{< num KEY >}}`` → the entry's display text. With ``link=True`` it is a link
  ``[display](#num-KEY "meaning")`` to the entry in the audit appendix (HTML shows
  the meaning as a tooltip; DOCX gets an internal hyperlink to a bookmark).
* ``{{< table NAME >}}`` → a pipe table from the registry table ``NAME`` with its
  caption, inside a ``::: {#tbl-NAME}`` div; number cells are resolved like ``num``.
* ``{{< audit >}}`` → the audit appendix: for every number used anywhere in the
  document (first use first), an anchor ``[KEY]{#num-KEY}``, the value, meaning,
  rule, source file, lines, sha256, the segment count and the first segments
  (ID, session, speaker pseudonym, de-identified text).

Inside the YAML front matter shortcodes resolve to plain text escaped for a
double-quoted YAML string (write ``title: "{{< num study.title >}}"``).
An unknown key, table or shortcode raises :class:`~concord.tsvio.InputError`
naming it and the .qmd line.

:func:`render` turns the resolved text into HTML/DOCX with Quarto when it is on
``PATH``, otherwise with the pandoc bundled in ``pypandoc-binary``; both read the
same resolved file. DOCX gets fixed timestamps (``SOURCE_DATE_EPOCH``) so that
two runs give the same bytes. PDF (no LaTeX): pandoc writes Typst and the ``typst``
wheel compiles it in-process (``typst.compile``), embedded fonts only, dated
``SOURCE_DATE_EPOCH`` — byte-identical across runs.
"""

from __future__ import annotations

import bisect
import difflib
import os
import re
import shutil
import subprocess
from pathlib import Path

from concord.tsvio import InputError

SHORTCODE = re.compile(r"\{\{<\s*([A-Za-z_][\w-]*)((?:\s+(?:[^\s>]|>(?!\}\}))+)*)\s*>\}\}")
KEY = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
MD_SPECIAL = set("\\`*_{}[]<>#|$~^@\"")
AUDIT_SEGMENTS = 5
LONG_TEXT_WORDS = 8       # a registered sentence longer than this is not made one link
# 1980-01-01T00:00:00Z, the earliest ZIP timestamp: "no real date" in DOCX metadata
DEFAULT_EPOCH = "315532800"
NBSP, WORD_JOINER, MINUS = "\u00a0", "\u2060", "\u2212"
# a display that is a number, a percentage, a p value or an interval of them
# ("0.81", "-0.50", "12%", "p < 0.001", "0.36–0.51", "-5 to 12 pp", "0.86 (0.34–1.00)")
_GLUE = r"[\s\d.,%()\[\]<>=≤≥+\-\u2212\u2060–]"
NUMERIC = re.compile(rf"^{_GLUE}*(?:(?:to|pp|p){_GLUE}*)*$")
# the shortcodes of a conditional: {{< if COND >}} … {{< else >}} … {{< endif >}}
CONDITIONAL = ("if", "else", "endif")
COMPARE = re.compile(r"^(==|!=|>=|<=|>|<)$")


# The study's metadata (config ``study:``), optional: what the methods and the COREQ
# checklist say about the study. A key the study does not state is registered as
# "not reported" (``study.KEY``), never filled in. The config schema's ``study``
# section lists the same keys (a test checks).
STUDY_METADATA = {
    "research_question": "the study's research question or aim",
    "background": "one or two sentences of background for the abstract",
    "methodology": "methodological orientation (COREQ 9)",
    "setting": "setting of data collection (COREQ 14)",
    "dates": "when the data were collected",
    "sampling": "how participants were selected (COREQ 10)",
    "recruitment": "how participants were approached (COREQ 11)",
    "non_participation": "refusals and drop-outs, with reasons (COREQ 13)",
    "facilitators": "who conducted the sessions (COREQ 1)",
    "facilitator_credentials": "the facilitators' credentials (COREQ 2)",
    "facilitator_occupation": "the facilitators' occupation (COREQ 3)",
    "facilitator_gender": "the facilitators' gender (COREQ 4)",
    "facilitator_experience": "the facilitators' experience and training (COREQ 5)",
    "relationship": "relationship with participants before the study (COREQ 6)",
    "participant_knowledge": "what participants knew about the researchers (COREQ 7)",
    "facilitator_characteristics": "characteristics reported about the facilitators (COREQ 8)",
    "non_participants_present": "anyone else present besides participants and researchers "
                                "(COREQ 15)",
    "interview_guide": "the topic guide and whether it was pilot tested (COREQ 17)",
    "repeat_interviews": "repeat sessions with the same participants (COREQ 18)",
    "recording": "audio or visual recording (COREQ 19)",
    "field_notes": "field notes (COREQ 20)",
    "duration": "duration of the sessions (COREQ 21)",
    "transcripts_returned": "transcripts returned to participants (COREQ 23)",
    "participant_checking": "participants' feedback on the findings (COREQ 28)",
    "minor_themes": "diverse cases and minor themes (COREQ 32)",
    "ethics": "ethical approval and consent",
}

# The study's introduction and discussion come from its own files
# (manuscript.introduction / manuscript.discussion); without them, this says so.
MISSING_SECTION = {
    "introduction": "*The introduction is the study team's own text: set "
                    "`manuscript.introduction` in the study's configuration to a Markdown "
                    "file (see the README).*",
    "discussion": "*The discussion is the study team's own text: set "
                  "`manuscript.discussion` in the study's configuration to a Markdown file "
                  "(see the README).*",
}


def design_entries(numbers: dict, groups: list[dict], config_file: str) -> dict:
    """Registry entries for the design facts the manuscript's sentences adapt to,
    each added only when no stage registered it: ``design.groups``,
    ``design.sessions_per_group.max``, ``design.one_session_per_group``,
    ``coding.human_coders`` and ``agreement.status`` ("complete" with at least two
    human coders, else "pending": PLAN contract D)."""
    from concord.numbers import Fragment
    frag = Fragment("numbers")
    line = None
    if Path(config_file).exists():
        for n, text in enumerate(Path(config_file).read_text(encoding="utf-8").splitlines(), 1):
            if re.match(r"^groups\s*:", text):
                line = n
                break

    def add_like(key, value, meaning, like=None, **kw):
        if key in numbers:
            return
        src = (numbers.get(like) or {}).get("source") if like else None
        file = src["file"] if src and Path(src["file"]).exists() else config_file
        lines = src.get("lines", []) if src and file == src["file"] else \
            ([line] if line and file == config_file else [])
        frag.add(key, value, meaning, file, lines, **kw)

    n_groups = len(groups) or int((numbers.get("concordance.groups") or {}).get("value") or 0)
    add_like("design.groups", n_groups, "groups compared (config: groups)")
    per_group = [numbers[k]["value"] for k in numbers
                 if k.startswith("study.sessions.") and isinstance(numbers[k].get("value"), int)]
    if per_group:
        like = next(k for k in numbers if k.startswith("study.sessions."))
        add_like("design.sessions_per_group.max", max(per_group),
                 "the most sessions held by one group", like)
        add_like("design.one_session_per_group", max(per_group) == 1,
                 "each group met in a single session", like)
    coders = (numbers.get("agreement.coders") or {}).get("value")
    add_like("coding.human_coders", int(coders or 0), "human coders", "agreement.coders")
    status = "complete" if coders and coders >= 2 else "pending"
    add_like("agreement.status", status, "whether human coding (and so inter-coder agreement) "
             "is complete or pending", "agreement.coders", shown=status)
    return frag.numbers


# The words the manuscript uses for the study's design (config ``study.design``): its
# sentences never type "focus group"; they show these registered strings.
# sessions / session: the data-collection events (plural, singular); method: what
# was held ("… were held with participants from each of N groups"); facilitators:
# who led the sessions; limitation: the design's first limitation.
DESIGN_WORDS = {
    "focus_group": {
        "sessions": "focus-group sessions", "session": "focus-group session",
        "method": "Focus groups", "facilitators": "facilitators",
        "limitation": "Focus groups are small and purposively sampled; prevalence counts "
                      "who raised a theme in one discussion rather than what participants "
                      "value, and group dynamics shape who speaks."},
    "interview": {
        "sessions": "interviews", "session": "interview",
        "method": "Interviews", "facilitators": "interviewers",
        "limitation": "The interviews are few and purposively sampled; prevalence counts "
                      "who raised a theme in one interview rather than what participants "
                      "value, and the interviewer's questions shape what is raised."},
    "dyad": {
        "sessions": "dyadic sessions", "session": "dyadic session",
        "method": "Dyadic sessions", "facilitators": "facilitators",
        "limitation": "The dyads are few and purposively sampled; prevalence counts who "
                      "raised a theme in a session rather than what participants value, and "
                      "each speaker's talk responds to the other's."},
    "mixed": {
        "sessions": "sessions (focus groups and interviews)",
        "session": "session (focus group or interview)",
        "method": "Focus groups and interviews", "facilitators": "facilitators and interviewers",
        "limitation": "The sessions are few and purposively sampled; prevalence counts who "
                      "raised a theme in one session rather than what participants value, "
                      "and group dynamics (in the focus groups) and the interviewer's "
                      "questions (in the interviews) shape what is raised."},
}
# a codebook's description of each code (workflow/schemas/codebook.schema.yaml)
CODEBOOK_PARTS = {"definition": "a definition", "include": "inclusion criteria",
                  "exclude": "exclusion criteria", "examples": "examples"}


def _config_line(config_file: str, section: str, field: str) -> list[int]:
    """[1-based line of ``field:`` inside the top-level ``section:``], or []."""
    if not Path(config_file).exists():
        return []
    inside = False
    for n, line in enumerate(Path(config_file).read_text(encoding="utf-8").splitlines(), 1):
        if re.match(rf"^{re.escape(section)}\s*:", line):
            inside = True
            continue
        if inside and re.match(r"^\S", line) and not line.startswith("#"):
            break
        if inside and re.match(rf"^\s+{re.escape(field)}\s*:", line):
            return [n]
    return []


def units_phrase(roles, facilitators: str) -> str:
    """Who speaks the coding units, as the methods' sentence subject: the default
    (participants only) contrasts them with the design's facilitators; other roles
    (config ``code.roles``: therapist and client, caregiver …) are named as roles."""
    roles = list(roles)
    if roles == ["participant"]:
        return f"Segments spoken by participants (not by {facilitators})"
    names = [r.replace("_", " ") for r in roles]
    listed = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
    return f"Segments spoken in the speaker role{'s' if len(names) > 1 else ''} {listed}"


def study_design_entries(numbers: dict, design: str, unit: str, config_file: str,
                         codebook_file: str, roles=("participant",)) -> dict:
    """Registry entries for the words and facts the methods sentences follow, each
    added only when no stage registered it:

    * ``design.sessions.noun`` (the design's noun for its sessions, singular when the
      study has one session), ``design.method``, ``design.limitation``
      ``design.facilitators`` (and ``.heading``, capitalised) (:data:`DESIGN_WORDS`;
      config ``study.design``);
    * ``design.units``: who speaks the coding units (:func:`units_phrase`; config
      ``code.roles``);
    * ``segment.unit`` ("sentence" or "turn"; config ``segment.unit``);
    * ``codebook.codes.<part>``: how many codes have a non-empty definition, include,
      exclude and examples, and ``codebook.described`` (every code has all four)."""
    import yaml
    from concord.numbers import Fragment
    if design not in DESIGN_WORDS:
        raise InputError(f"{config_file}: study.design is {design!r}; use one of "
                         f"{', '.join(DESIGN_WORDS)}")
    frag = Fragment("numbers")
    words = DESIGN_WORDS[design]
    where = _config_line(config_file, "study", "design")

    def add(key, value, meaning, file, lines, **kw):
        if key not in numbers:
            frag.add(key, value, meaning, file, lines, **kw)

    sessions = (numbers.get("study.sessions") or {}).get("value")
    noun = words["session"] if sessions == 1 else words["sessions"]
    add("design.sessions.noun", noun, f"what the study's sessions are called ({design} "
        f"design; config: study.design)", config_file, where, shown=noun)
    add("design.method", words["method"], f"how the data were collected ({design} design; "
        f"config: study.design)", config_file, where, shown=words["method"])
    add("design.facilitators", words["facilitators"], f"who led the sessions ({design} "
        f"design; config: study.design)", config_file, where, shown=words["facilitators"])
    lead = words["facilitators"][0].upper() + words["facilitators"][1:]
    add("design.facilitators.heading", lead, f"who led the sessions, as a list heading "
        f"({design} design; config: study.design)", config_file, where, shown=lead)
    units = units_phrase(roles, words["facilitators"])
    add("design.units", units, f"whose segments are the coding units (config: code.roles "
        f"{', '.join(roles)}; {design} design)", config_file,
        _config_line(config_file, "code", "roles") or where, shown=units)
    add("design.limitation", words["limitation"], f"the first limitation of a {design} "
        f"design (config: study.design)", config_file, where, shown=words["limitation"])
    add("segment.unit", unit, "the coding unit: sentence or whole speaker turn "
        "(config: segment.unit)", config_file, _config_line(config_file, "segment", "unit"),
        shown=unit)
    book = yaml.safe_load(Path(codebook_file).read_text(encoding="utf-8")) or {}
    codes = book.get("codes") or []
    lines = Path(codebook_file).read_text(encoding="utf-8").splitlines()
    complete = bool(codes)
    for part, words_ in CODEBOOK_PARTS.items():
        have = [c for c in codes if c.get(part) not in (None, "", [], {})
                and str(c.get(part)).strip()]
        complete = complete and len(have) == len(codes)
        ids = {str(c.get("id")) for c in have}
        at = [n for n, text in enumerate(lines, 1)
              if re.match(r"^\s*-?\s*id\s*:\s*[\"']?([\w-]+)", text)
              and re.match(r"^\s*-?\s*id\s*:\s*[\"']?([\w-]+)", text).group(1) in ids]
        add(f"codebook.codes.{part}", len(have), f"codes whose codebook entry has "
            f"{words_} ({part})", codebook_file, at)
    add("codebook.described", complete, "every code in the codebook has a definition, "
        "inclusion and exclusion criteria and examples", codebook_file, [])
    return frag.numbers


def md_escape(text: str) -> str:
    """Backslash-escape Markdown punctuation so text is shown literally."""
    return "".join("\\" + ch if ch in MD_SPECIAL else ch for ch in str(text))


def _yaml_escape(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace('"', '\\"')


def _title_escape(text: str) -> str:
    return " ".join(str(text).split()).replace("\\", "\\\\").replace('"', '\\"')


def anchor(key: str) -> str:
    return f"num-{key}"


def is_numeric(display: str) -> bool:
    """True when a display text is a number, percentage, p value or interval."""
    text = str(display).strip()
    return bool(re.search(r"\d", text)) and bool(NUMERIC.match(text))


def typeset(display: str) -> str:
    """A number as a journal prints it: a true minus sign (U+2212) instead of a
    hyphen, and an interval or a number with its unit that never breaks across lines
    (no-break spaces; word joiners around the en dash). Text that is not a number
    (a group's label, a code's name) is returned unchanged."""
    text = str(display)
    if not is_numeric(text):
        return text
    text = re.sub(r"(^|[\s(\[,–]|to)-(?=[\d.])", lambda m: m.group(1) + MINUS, text)
    text = text.replace(" ", NBSP)
    return re.sub(r"(?<=\S)–(?=\S)", f"{WORD_JOINER}–{WORD_JOINER}", text)


def plain(text: str) -> str:
    """Undo :func:`typeset` (for comparing rendered text with registry displays)."""
    return (str(text).replace(MINUS, "-").replace(NBSP, " ").replace(WORD_JOINER, "")
            .replace("\u2019", "'").replace("\u2018", "'"))


def _front_matter_end(lines: list[str]) -> int:
    """Index of the line after the closing ``---`` of a leading YAML block, or 0."""
    if not lines or lines[0].rstrip("\r\n") != "---":
        return 0
    for i in range(1, len(lines)):
        if lines[i].rstrip("\r\n") in ("---", "..."):
            return i + 1
    raise InputError("manuscript: YAML front matter starting on line 1 is not closed by '---'")


def _word_len(text: str) -> int:
    """The longest piece of text a line cannot break inside (identifiers break after
    their underscores: in the PDF by a rule, in the HTML anywhere)."""
    return max((len(w) for w in re.split(r"[\s\u00a0]+|(?<=_)", plain(text)) if w), default=0)


class _Resolver:
    def __init__(self, registry: dict, source: str, segments: dict | None = None,
                 audit_link: str = "", labels: dict | None = None):
        self.segments = segments or {}
        self.labels = labels or {}          # group id -> label: tables never show ids
        self.numbers = registry.get("numbers", {})
        self.tables = registry.get("tables", {})
        self.source = source
        self.audit_link = audit_link        # "" (this document) or "supplement.qmd"
        self.used: list[str] = []           # keys in order of first use
        self.reasons: set[str] = set()      # reasons of undefined statistics shown

    def _where(self, lineno: int) -> str:
        return f"{self.source}:{lineno}"

    def entry(self, key: str, lineno: int, context: str = "", use: bool = True) -> dict:
        """The registry entry; ``use``: the text shows it (listed in the audit; a
        condition only chooses a sentence)."""
        if key not in self.numbers:
            close = difflib.get_close_matches(key, list(self.numbers), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(f"{self._where(lineno)}: unknown number key {key!r}{context} "
                             f"(not in the numbers registry){hint}")
        if use and key not in self.used:
            self.used.append(key)
        return self.numbers[key]

    def shown(self, e: dict, in_table: bool = False) -> str:
        """The entry's display text, typeset; an undefined statistic says why (in a
        table the reason goes to the note under the table)."""
        if "undefined" in e and not in_table and e["display"] == "undefined":
            self.reasons.add(e["undefined"])
            return f"undefined ({e['undefined']})"
        return typeset(e["display"])

    def num(self, key: str, lineno: int, link: bool, context: str = "",
            in_table: bool = False) -> str:
        e = self.entry(key, lineno, context)
        shown = self.shown(e, in_table)
        text = md_escape(shown)
        if not link:
            return text
        target = f"({self.audit_link}#{anchor(key)} \"{_title_escape(e.get('meaning', ''))}\")"
        if not in_table and not is_numeric(shown) and len(shown.split()) > LONG_TEXT_WORDS \
                and shown.rstrip().endswith("."):
            # a registered sentence is not made one long link: it reads as text, with a
            # small superscript link to its audit entry
            return (f"[{text}]{{.registry data-key=\"{key}\"}}"
                    f"^[source]({self.audit_link}#{anchor(key)})^")
        return f"[{text}]{target}"

    def condition(self, args: list[str], lineno: int) -> bool:
        """``KEY`` (defined and truthy), ``defined KEY`` / ``undefined KEY`` (a key
        not in the registry counts as undefined), ``registered KEY`` (in the registry,
        defined or not), ``KEY OP VALUE`` (OP one of == !=
        >= <= > <; numbers compared as numbers, else as text; false when KEY is
        undefined), each optionally preceded by ``not``."""
        where = self._where(lineno)
        negate = bool(args) and args[0] == "not"
        if negate:
            args = args[1:]
        if len(args) == 2 and args[0] == "registered":
            result = args[1] in self.numbers
        elif len(args) == 2 and args[0] in ("defined", "undefined"):
            e = self.numbers.get(args[1])
            ok = e is not None and "undefined" not in e and e.get("value") is not None
            result = ok if args[0] == "defined" else not ok
        elif len(args) == 1 and KEY.match(args[0]):
            e = self.entry(args[0], lineno, " in an if condition", use=False)
            v = e.get("value")
            result = "undefined" not in e and v not in (None, False, 0, "", [], {})
        elif len(args) == 3 and KEY.match(args[0]) and COMPARE.match(args[1]):
            e = self.entry(args[0], lineno, " in an if condition", use=False)
            v, op, lit = e.get("value"), args[1], args[2].strip("\"'")
            if "undefined" in e or v is None:
                result = False
            else:
                try:
                    a, b = float(v), float(lit)
                except (TypeError, ValueError):
                    a, b = str(v), lit
                    if op not in ("==", "!="):
                        raise InputError(f"{where}: if {' '.join(args)}: {op} needs numbers, "
                                         f"{args[0]} is {v!r}") from None
                result = {"==": a == b, "!=": a != b, ">=": a >= b, "<=": a <= b,
                          ">": a > b, "<": a < b}[op]
        else:
            raise InputError(f"{where}: cannot read the condition {' '.join(args)!r}; write "
                             f"KEY, defined KEY, undefined KEY or KEY OP VALUE "
                             f"(OP: == != >= <= > <), optionally after 'not'")
        return result != negate

    def table(self, name: str, lineno: int, link: bool) -> str:
        if name not in self.tables:
            close = difflib.get_close_matches(name, list(self.tables), n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise InputError(f"{self._where(lineno)}: unknown table {name!r} "
                             f"(not in the numbers registry){hint}")
        t = self.tables[name]
        cols = [self.labels.get(c, c) for c in t["columns"]]
        body, numeric, shown, notes = [], [True] * len(cols), [], {}
        for row in t["rows"]:
            if len(row) != len(cols):
                raise InputError(f"{self._where(lineno)}: table {name!r}: a row has {len(row)} "
                                 f"cells for {len(cols)} columns")
            cells, texts = [], []
            for j, cell in enumerate(row):
                if isinstance(cell, dict):
                    e = self.entry(cell["num"], lineno, f" in table {name!r}")
                    text = self.shown(e, in_table=True)
                    if "undefined" in e:
                        notes.setdefault(e["undefined"], None)
                    elif not is_numeric(text) and text not in ("NA", "–", ""):
                        numeric[j] = False
                    cells.append(self.num(cell["num"], lineno, link, f" in table {name!r}",
                                          in_table=True))
                else:
                    text = "" if cell is None else self.labels.get(str(cell), str(cell))
                    numeric[j] = False
                    cells.append(md_escape(text))
                texts.append(text)
            body.append(cells)
            shown.append(texts)
        # relative column widths (pandoc reads them from the dashes when a line is long):
        # wide enough for the longest word, so a label never runs into the next column
        widths = []
        for j, col in enumerate(cols):
            longest = max([len(plain(r[j])) for r in shown] + [0])
            word = max([_word_len(r[j]) for r in shown] + [_word_len(col)])
            # + 2: the cell's padding, so a column is never narrower than its longest word
            widths.append(max(3, word, min(longest, 36), min(len(col), 20)) + 2)
        rule = [("-" * w)[:-1] + (":" if numeric[j] else "-") for j, w in enumerate(widths)]
        rule = [("" if numeric[j] else ":") + d[(0 if numeric[j] else 1):]
                for j, d in enumerate(rule)]
        out = ["| " + " | ".join(md_escape(c) for c in cols) + " |",
               "|" + "|".join(rule) + "|"]
        out += ["| " + " | ".join(r) + " |" for r in body]
        caption = md_escape(t.get("caption", "")).strip()
        if notes:
            caption += " Undefined: " + "; ".join(md_escape(n) for n in notes) + "."
        # a fenced div carries the id: quarto reads it as a table cross-reference,
        # pandoc as an anchor (pandoc does not read ids in table captions)
        table = "\n".join([f"::: {{#tbl-{name}}}", "", *out, "", f": {caption}", "", ":::"])
        # the table's height in printed lines: a long cell wraps in its column
        total = sum(widths) + len(widths)
        room = [max(1.0, w * min(1.0, LINE_CHARS / total)) for w in widths]
        lines = sum(max([-(-len(plain(c)) // int(room[j])) for j, c in enumerate(r)] + [1])
                    for r in shown)
        return wrap_wide(table, total, lines)

    def audit(self, keys: list[str] | None = None) -> str:
        keys = keys if keys is not None else self.used
        if not keys:
            return "No numbers from the registry are used in this document."
        out = []
        for key in keys:
            e = self.numbers[key]
            src = e.get("source", {})
            lines = _ranges(src.get("lines", []))
            segs = e.get("segments", [])
            value = e.get("value")
            parts = [f"[**{md_escape(key)}**]{{#{anchor(key)}}}: {md_escape(self.shown(e))}"
                     + ("" if value is None or str(value) == e["display"]
                        or isinstance(value, str) and value in e["display"]
                        else f" (value `{value:.6g}`)" if isinstance(value, float)
                        else f" (value `{value}`)"),
                     f"  {md_escape(e.get('meaning', ''))}.",
                     f"  Rule `{e.get('rule', '?')}`; source `{src.get('file', '?')}`"
                     + (f", line{'s' if ',' in lines or '–' in lines else ''} {lines}"
                        if lines else "")
                     + f"; sha256 `{src.get('sha256', '?')}`"]
            quotes = []
            if segs:
                shown = segs[:AUDIT_SEGMENTS]
                more = (f", the first {len(shown)} shown" if len(segs) > len(shown) else "")
                parts[-1] += f"; {len(segs)} segment{'s' if len(segs) != 1 else ''}{more}"
                for sid in shown:
                    seg = self.segments.get(sid)
                    if seg is None:
                        quotes.append(f"    - `{sid}`")
                    else:
                        quotes.append(f"    - `{sid}` (session {md_escape(seg['session_id'])}, "
                                      f"{md_escape(seg['speaker_id'])}): "
                                      f"\u201c{md_escape(seg['text'])}\u201d")
            parts[-1] += "."
            out.append("- " + "\n".join(parts) + ("\n\n" + "\n".join(quotes) if quotes else ""))
        return "\n".join(out)


# Typst (the PDF): a table whose estimated natural width (in characters) is above
# these is set smaller, and above the last on a landscape page; HTML tables are
# always the full width of the text (see HTML_STYLE) and DOCX tables wrap.
TYPST_WIDE = ((110, "8pt", False), (140, "8pt", True))
TABLE_PT = "9pt"          # table text in the PDF (the body is 11pt): readable when printed
SHORT_TABLE = 25          # printed lines: a table this short never breaks across pages
LINE_CHARS = 100          # characters of 9 pt table text across the portrait text width


def wrap_wide(table_md: str, chars: int, rows: int = 0) -> str:
    """Raw Typst rules around a table (ignored by the HTML and DOCX writers): smaller
    type or a landscape page when it is wide; a short table (``rows``: its height in
    printed lines) kept on one page with its caption (a long one may break across
    pages, so that it never runs into the page's foot)."""
    size, flip = None, False
    for limit, s, f in TYPST_WIDE:
        if chars > limit:
            size, flip = s, f
    before = [f"#show figure: set block(breakable: {'true' if rows > SHORT_TABLE else 'false'})"]
    after = []
    if size is not None:
        before += [f"#show table: set text(size: {size})"] \
            + (["#set page(flipped: true)"] if flip else [])
        after += [f"#show table: set text(size: {TABLE_PT})"] \
            + (["#set page(flipped: false)"] if flip else [])
    raw = "```{{=typst}}\n{}\n```"
    return "\n\n".join([raw.format("\n".join(before)), table_md]
                       + ([raw.format("\n".join(after))] if after else []))


def _ranges(lines: list[int]) -> str:
    """[2, 3, 4, 9] -> '2–4, 9'."""
    out, nums = [], sorted(set(int(x) for x in lines))
    i = 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}–{nums[j]}")
        i = j + 1
    return ", ".join(out)


def resolve(qmd_text: str, registry: dict, link: bool = True,
            source: str = "manuscript.qmd", segments: dict | None = None,
            blocks: dict[str, str] | None = None, audit_link: str = "",
            audit_keys: list[str] | None = None, used: list[str] | None = None,
            labels: dict | None = None) -> str:
    """Replace the shortcodes (see the module docstring) and evaluate conditionals.

    ``segments`` (segment ID → row with ``session_id``, ``speaker_id``, ``text``,
    see :func:`load_segments`) lets the audit appendix quote the first
    ``AUDIT_SEGMENTS`` de-identified segments behind each number. ``blocks`` maps
    further shortcode names (``checklist``, ``colophon``, ``introduction``) to
    Markdown inserted in their place, whose own shortcodes (conditionals too) are
    resolved as well. ``audit_link``: the document holding the audit appendix
    (``"supplement.qmd"``; empty: this one). ``audit_keys``: keys another document
    used, listed first in this document's audit. ``used``: a list that receives the
    keys this document used, in order of first use. ``labels``: group ID → label, so
    that a table heading or cell holding a group's ID shows its label."""
    blocks = blocks or {}
    r = _Resolver(registry, source, segments, audit_link, labels)
    lines = qmd_text.splitlines(keepends=True)
    fm_chars = len("".join(lines[:_front_matter_end(lines)]))
    audits: list[int] = []

    def expand(text: str, offset_line: int, fm_limit: int, origin: str) -> str:
        out, stack = [], []          # stack: [active, seen_else, line] per open if
        pos = 0
        starts = [0] + [m.end() for m in re.finditer("\n", text)]

        def line_of(i):
            return offset_line + bisect.bisect_right(starts, i)

        def active():
            return all(s[0] for s in stack)

        for m in SHORTCODE.finditer(text):
            if active():
                out.append(text[pos:m.start()])
            pos = m.end()
            lineno = line_of(m.start())
            where = f"{origin}:{lineno}"
            name, args = m.group(1), m.group(2).split()
            in_fm = m.start() < fm_limit
            if name in CONDITIONAL:
                if in_fm:
                    raise InputError(f"{where}: conditionals may not appear in the front matter")
                if name == "if":
                    stack.append([r.condition(args, lineno) if active() else False, False,
                                  lineno, active()])
                elif not stack:
                    raise InputError(f"{where}: {{{{< {name} >}}}} without an open "
                                     f"{{{{< if … >}}}}")
                elif name == "else":
                    if stack[-1][1]:
                        raise InputError(f"{where}: a second {{{{< else >}}}} for the if on "
                                         f"line {stack[-1][2]}")
                    stack[-1][1] = True
                    stack[-1][0] = stack[-1][3] and not stack[-1][0]
                else:
                    stack.pop()
                continue
            if not active():
                continue
            if name == "text" and not in_fm:
                # study text (a question, a setting): shown as written, not as a link
                if len(args) != 1 or not KEY.match(args[0]):
                    raise InputError(f"{where}: {{{{< text KEY >}}}} needs one key, "
                                     f"got {m.group(0)!r}")
                out.append(md_escape(plain(r.shown(r.entry(args[0], lineno)))))
                continue
            if name == "num":
                if len(args) != 1 or not KEY.match(args[0]):
                    raise InputError(f"{where}: {{{{< num KEY >}}}} needs one key, "
                                     f"got {m.group(0)!r}")
                if in_fm:
                    out.append(_yaml_escape(plain(r.shown(r.entry(args[0], lineno)))))
                else:
                    out.append(r.num(args[0], lineno, link))
                continue
            if in_fm:
                raise InputError(f"{where}: only num shortcodes may appear in the "
                                 f"front matter, got {m.group(0)!r}")
            if name == "table":
                if len(args) != 1:
                    raise InputError(f"{where}: {{{{< table NAME >}}}} needs one "
                                     f"name, got {m.group(0)!r}")
                out.append(r.table(args[0], lineno, link))
            elif name == "audit":
                audits.append(lineno)
                out.append("\x00AUDIT\x00")
            elif name in blocks:
                block = re.sub(r"<!--.*?-->", "", blocks[name], flags=re.S)
                out.append(expand(block, 0, -1, f"{origin}:{lineno} ({name})"))
            else:
                raise InputError(f"{where}: unknown shortcode {name!r} in {m.group(0)!r} "
                                 f"(known: {', '.join(['num', 'text', 'table', 'audit', 'if', 'else', 'endif', *sorted(blocks)])})")
        if stack:
            raise InputError(f"{origin}:{stack[-1][2]}: {{{{< if … >}}}} is not closed by "
                             f"{{{{< endif >}}}}")
        out.append(text[pos:])
        return "".join(out)

    # comments are the template's notes to its editor: dropped (lines kept for messages)
    qmd_text = re.sub(r"<!--.*?-->", lambda m: "\n" * m.group(0).count("\n"), qmd_text,
                      flags=re.S)
    text = expand(qmd_text, 0, fm_chars, source)
    text = _reason_once(text, r.reasons)
    if len(audits) > 1:
        raise InputError(f"{source}:{audits[1]}: a second {{{{< audit >}}}} "
                         f"(first on line {audits[0]}); anchors must be unique")
    if audits:
        keys = list(audit_keys or [])
        keys += [k for k in r.used if k not in keys]
        # the audit is reference material: smaller, ragged-right type in the PDF
        text = text.replace("\x00AUDIT\x00", "```{=typst}\n#set text(size: 8pt)\n"
                            "#set par(justify: false)\n```\n\n" + r.audit(keys))
    if used is not None:
        used.extend(k for k in r.used if k not in used)
    return text


def _reason_once(text: str, reasons: set[str]) -> str:
    """Within a paragraph, an undefined statistic's reason is given once: a later
    "undefined (same reason)" reads just "undefined"."""
    if not reasons:
        return text
    forms = sorted({md_escape(f"undefined ({why})") for why in reasons}, key=len, reverse=True)
    paragraphs = re.split(r"(\n[ \t]*\n)", text)
    for i in range(0, len(paragraphs), 2):
        para = paragraphs[i]
        for form in forms:
            first = para.find(form)
            if first < 0:
                continue
            head, tail = para[:first + len(form)], para[first + len(form):]
            para = head + tail.replace(form, "undefined")
        paragraphs[i] = para
    return "".join(paragraphs)


# ---------------------------------------------------------------------------
# cross-references (the pandoc path: pandoc has no crossref filter)
# ---------------------------------------------------------------------------

TABLE_DIV = re.compile(r"^::: \{#(tbl-[\w.-]+)\}\s*$", re.M)
FIGURE = re.compile(r"!\[((?:[^\[\]]|\[[^\]]*\])*)\]\(([^)\s]+)\)\{#(fig-[\w.-]+)([^}]*)\}")
XREF = re.compile(r"(?<![\w#{\[@-])@((?:tbl|fig)-[\w-]+(?:\.[\w-]+)*)")


def crossref_labels(text: str, prefix: str = "") -> dict[str, str]:
    """``{"tbl-x": "Table 1", "fig-y": "Figure 1", …}`` in order of appearance
    (``prefix`` "S": "Table S1")."""
    found = sorted([(m.start(), m.group(1)) for m in TABLE_DIV.finditer(text)]
                   + [(m.start(), m.group(3)) for m in FIGURE.finditer(text)])
    labels, count = {}, {"tbl": 0, "fig": 0}
    for _, ident in found:
        kind = ident[:3]
        if ident in labels:
            raise InputError(f"manuscript: the id {ident!r} is used twice")
        count[kind] += 1
        labels[ident] = f"{'Table' if kind == 'tbl' else 'Figure'} {prefix}{count[kind]}"
    return labels


def number_crossrefs(text: str, labels: dict[str, str],
                     external: dict[str, str] | None = None, source: str = "manuscript") -> str:
    """Number captions and resolve ``@tbl-…``/``@fig-…`` references the way Quarto's
    crossref does, for the pandoc path: "Table 1." before each table caption,
    "Figure 1." before each figure caption, and ``@tbl-x`` → ``[Table 1](#tbl-x)``.
    ``external`` maps an id to the document it lives in (``supplement.qmd``) with its
    label in ``labels`` ("Table S2"). An unknown reference raises InputError."""
    external = external or {}
    lines = text.split("\n")
    current = None
    for i, line in enumerate(lines):
        m = TABLE_DIV.match(line)
        if m:
            current = m.group(1)
            continue
        if current and line.startswith(": "):
            lines[i] = f": **{labels[current]}.** {line[2:]}"
            current = None
        elif current and line.startswith(":::"):
            current = None
    text = "\n".join(lines)
    text = FIGURE.sub(lambda m: f"![**{labels[m.group(3)]}.** {m.group(1)}]({m.group(2)})"
                                f"{{#{m.group(3)}{m.group(4)}}}", text)

    def ref(m):
        ident = m.group(1).rstrip(".")
        tail = m.group(1)[len(ident):]
        if ident not in labels:
            raise InputError(f"{source}: reference @{ident} to a table or figure that is not "
                             f"in the document or its supplement")
        target = f"{external.get(ident, '')}#{ident}"
        return f"[{labels[ident].replace(' ', NBSP)}]({target}){tail}"

    return XREF.sub(ref, text)


# Body width and tables for the HTML (pandoc's default body is 36em, which cut
# captions of scrolling tables): tables are the width of the text, cells wrap.
HTML_STYLE = """<style>
body { max-width: 58em; }
table { display: table; width: 100%; max-width: 100%; table-layout: auto;
        font-size: 0.85em; overflow: visible; }
table caption, figcaption { caption-side: top; text-align: left; white-space: normal; }
td, th { overflow-wrap: anywhere; hyphens: auto; vertical-align: top; }
td[style*="right"] { overflow-wrap: normal; white-space: nowrap; }
h1, h2, h3, h4 { overflow-wrap: anywhere; }
figure img { max-width: 100%; height: auto; }
a[href^="#num-"], a[href*=".html#num-"] { color: inherit; text-decoration: underline dotted; }
</style>"""

# Typst preamble (the PDF): smaller type in tables, captions numbered by the
# resolver (so Typst's own "Table 1:" is dropped), tables may break across pages.
TYPST_PREAMBLE = """#show table: set text(size: TABLE_PT)
#show table: set par(justify: false)
#show table: set table(inset: (x: 3pt, y: 4pt))
#show table: it => { show "_": "_" + sym.zws; it }
#show figure: set block(breakable: true)
#show figure.caption: it => align(left, it.body)
#show figure.where(kind: table): set figure.caption(position: top)
""".replace("TABLE_PT", TABLE_PT)


PLACEHOLDER = re.compile(r"(?<!\{)\{([A-Za-z_]\w*(?:\.\w+)*)\}(?!\})")


def _config_value(config: dict, dotted: str):
    value = config
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(dotted)
        value = value[part]
    return value


NOT_REPORTED = "not reported"


def checklist_markdown(checklist: dict, config: dict, source: str = "coreq.yaml",
                       section_doc: str = "") -> str:
    """The COREQ table (Markdown, with ``num`` and ``if`` shortcodes still in it) from
    the checklist YAML (see ``workflow/report/coreq.yaml``) and the study config.

    An item's answer is its ``study`` key's value in the config (``study.<key>``),
    its ``answer`` template, or both ("value; answer"). In a template, ``{study.X}``
    is the study's metadata and reads "not reported" when the study has not stated
    it; other ``{config.path}`` placeholders must exist. An item whose ``study`` key
    is not stated and that has no ``answer`` reads "not reported" — never an invented
    answer. ``where`` lists the sections (heading ids) that report the item, linked
    into ``section_doc`` (the main text's file; empty: this document).

    Raises :class:`InputError` naming the item when numbering is not 1..32 without
    gaps, an item has neither ``study`` nor ``answer``, or a placeholder outside
    ``study`` is not in the config."""
    rows, numbers = [], []
    for domain in checklist.get("domains", []):
        for item in domain.get("items", []):
            n = item.get("n")
            numbers.append(n)

            def fill(text, n=n):
                def one(m):
                    try:
                        value = _config_value(config, m.group(1))
                    except KeyError:
                        if m.group(1).startswith("study."):
                            return NOT_REPORTED
                        raise InputError(f"{source}: item {n}: placeholder {{{m.group(1)}}} "
                                         f"is not in the study config") from None
                    return md_escape(" ".join(str(value).split())) if value not in (None, "") \
                        else NOT_REPORTED
                parts = re.split(r"(\{\{<.*?>\}\})", str(text))
                return "".join(p if p.startswith("{{<") else
                               PLACEHOLDER.sub(one, md_escape_keep_braces(p)) for p in parts)

            key, template = item.get("study"), item.get("answer")
            if not key and not template:
                raise InputError(f"{source}: item {n} ({item.get('topic')}): give `study` "
                                 f"(the study metadata key that answers it) or `answer`")
            stated = None
            if key:
                value = (config.get("study") or {}).get(key)
                stated = " ".join(str(value).split()) if value not in (None, "") else None
            answer = "; ".join(x for x in ([md_escape(stated)] if stated else [])
                               + ([fill(template)] if template else []) if x)
            where = item.get("where") or []
            if key and not stated and not template:
                answer, where = NOT_REPORTED, []
            shown = ", ".join(f"[{w.replace('-', ' ').capitalize()}]({section_doc}#{w})"
                              for w in where) or "–"
            rows.append(f"| {n} | {md_escape(item.get('topic', ''))} | {answer} | {shown} |")
        rows.append(None)
    numbers_ok = numbers == list(range(1, len(numbers) + 1)) and len(numbers) == 32
    if not numbers_ok:
        raise InputError(f"{source}: COREQ items must be numbered 1 to 32 in order, "
                         f"got {numbers}")
    head = ["| No. | Item | Answer | Reported in |", "|--:|:-------|:------------------|:----|"]
    domains = [(d.get("name", ""), [i.get("n") for i in d.get("items", [])])
               for d in checklist.get("domains", [])]
    caption = ("COREQ checklist [@tong2007] for this study: "
               + "; ".join(f"{md_escape(d)} (items {ns[0]}–{ns[-1]})"
                           for d, ns in domains if ns)
               + ". \u201cNot reported\u201d: the study's configuration does not state it.")
    body = [r for r in rows if r is not None]
    # 32 items: taller than a page at 9 pt, so it may break across pages (a rule set
    # for an earlier, short table must not carry over to it)
    return wrap_wide("\n".join(["::: {#tbl-coreq}", "", *head, *body, "", f": {caption}", "",
                                ":::"]), LINE_CHARS, len(body))


def md_escape_keep_braces(text: str) -> str:
    """:func:`md_escape` but leaving ``{`` ``}`` (placeholders are filled after)."""
    return "".join("\\" + ch if ch in MD_SPECIAL - {"{", "}"} else ch for ch in str(text))


def engine(backend: str | None = None) -> tuple[str, str]:
    """``(backend, "pandoc 3.9")``: which engine will render, with its version."""
    if backend is None:
        backend = "quarto" if shutil.which("quarto") else "pandoc"
    exe = (shutil.which("quarto") or "quarto") if backend == "quarto" else pandoc_path()
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        version = (out.stdout.strip().splitlines() or ["?"])[0].split()[-1]
    except (OSError, subprocess.SubprocessError):
        version = "?"
    return backend, f"{backend} {version}"


def colophon(backend: str, version: str, formats: list[str]) -> str:
    """The colophon sentence: which engine rendered this document."""
    import importlib.metadata as md
    parts = [f"This document was rendered by {md_escape(version)}"
             + (" (the copy bundled with the pypandoc-binary package; Quarto was not found)"
                if backend == "pandoc" else "")
             + " from the numbers registry"]
    if "pdf" in formats:
        try:
            tv = md.version("typst")
        except md.PackageNotFoundError:
            tv = "?"
        parts.append(f"the PDF was typeset from pandoc's Typst output by the typst Python "
                     f"package {tv} with its embedded fonts")
    return "[" + "; ".join(parts) + ".]{#colophon}"


def load_segments(paths, registry: dict | None = None) -> dict:
    """Segment ID → ``{"session_id", "speaker_id", "text"}`` from segment TSVs.

    With the ``registry``, only the segments the audit appendix can quote (the first
    ``AUDIT_SEGMENTS`` of each number) are kept, and only their sessions' files are
    read: 2,000 sessions hold over two million segments."""
    from concord.tsvio import read_tsv
    wanted = None
    if registry is not None:
        wanted = {sid for e in registry.get("numbers", {}).values()
                  for sid in e.get("segments", [])[:AUDIT_SEGMENTS]}
        sessions = {sid.rsplit("-T", 1)[0] for sid in wanted}
        paths = [p for p in paths if Path(p).stem in sessions]
    out = {}
    for p in paths:
        df = read_tsv(p, required=["segment_id", "session_id", "speaker_id", "text"])
        if wanted is not None:
            df = df[df["segment_id"].isin(wanted)]
        for row in df[["segment_id", "session_id", "speaker_id", "text"]].itertuples(index=False):
            out[row.segment_id] = {"session_id": row.session_id, "speaker_id": row.speaker_id,
                                   "text": row.text}
    return out


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------

def pandoc_path() -> str:
    import pypandoc
    return pypandoc.get_pandoc_path()


FORMATS = ("html", "docx", "pdf")


EXT = {"html": "html", "docx": "docx", "pdf": "pdf"}
# every pipe table takes the text width, its columns sized by the dashes of its rule
# line (pandoc does so only for tables with a line longer than --columns), which the
# resolver makes as wide as the column's longest word; output lines are not wrapped
PANDOC_TABLES = ["--columns=8", "--wrap=none"]


def for_format(text: str, fmt: str, labels: dict | None = None,
               external: dict | None = None, source: str = "manuscript") -> str:
    """The resolved text as the bundled pandoc gets it for one format: tables and
    figures numbered with their references resolved (:func:`number_crossrefs`), and
    links into the companion documents (``supplement.qmd#…``) pointing at the same
    format (``supplement.pdf#…``)."""
    if labels is None:
        labels = crossref_labels(text)
    text = number_crossrefs(text, labels, external, source)
    return re.sub(r"\]\(([\w-]+)\.qmd#", lambda m: f"]({m.group(1)}.{EXT[fmt]}#", text)


def _run_pandoc(cmd, text, cwd, env, log, what):
    if log:  # the style sheet passed inline is the template's, not worth a log line
        shown = [a.split(":", 1)[0] + ":<style>" if a.startswith("--variable=header-includes:")
                 else a for a in cmd]
        log(f"render: pandoc: {' '.join(shown)}")
    proc = subprocess.run(cmd, input=text, cwd=cwd, env=env, capture_output=True, text=True)
    if log and proc.stderr.strip():
        log(proc.stderr.strip())
    if proc.returncode != 0:
        raise RuntimeError(f"pandoc failed writing {what} (exit {proc.returncode}): "
                           f"{proc.stderr.strip()[-2000:]}")
    return proc


def _render_pdf(text: str, target: Path, bibliography: str, resource_path: str, env: dict,
                log=None) -> str:
    """PDF without LaTeX: the bundled pandoc writes Typst, the ``typst`` wheel compiles
    it offline with its embedded fonts only (system fonts ignored: same bytes on any
    machine), dated ``SOURCE_DATE_EPOCH``. Figure paths become root-relative
    (``/results/...``) with the Typst root at the first resource folder."""
    import typst
    from concord.atomic import temp_path
    typ = temp_path(target.with_suffix(".typ"))
    cmd = [pandoc_path(), "--from", "markdown", "--to", "typst", "--standalone",
           "--citeproc", f"--bibliography={bibliography}", *PANDOC_TABLES,
           "--output", typ.name]
    try:
        _run_pandoc(cmd, text, target.parent, env, log, "Typst")
        text = typ.read_text(encoding="utf-8")
    finally:
        typ.unlink(missing_ok=True)
    root = Path(resource_path.split(os.pathsep)[0]).resolve()
    text = re.sub(r'image\("(?!/)([^"]+)"', lambda m: f'image("/{m.group(1)}"', text)
    text = TYPST_PREAMBLE + text
    try:
        pdf = typst.compile(text.encode("utf-8"), root=str(root), ignore_system_fonts=True,
                            format="pdf",
                            timestamp=int(env.get("SOURCE_DATE_EPOCH", DEFAULT_EPOCH)))
    except RuntimeError as exc:   # typst.TypstError: message + diagnostic
        raise RuntimeError(f"typst failed compiling {target.name}: {exc}") from exc
    from concord.atomic import write_bytes  # temporary file + rename
    write_bytes(target, pdf)
    if log:
        log(f"render: typst {getattr(typst, '__version__', '')} compiled {target.name} "
            f"(embedded fonts, root {root.name or root})")
    return str(target)


def render(resolved_md: str, formats: list[str], outdir, bibliography,
           resource_path: list | str = ".", backend: str | None = None,
           stem: str = "manuscript", log=None, labels: dict | None = None,
           external: dict | None = None) -> dict:
    """Render ``resolved_md`` to ``outdir/{stem}.{fmt}`` for each format.

    The text is first written to ``outdir/{stem}.qmd`` (Quarto syntax: ``@tbl-…``
    references, links to ``supplement.qmd#…``). Quarto (when ``shutil.which("quarto")``
    finds it, or ``backend="quarto"``) renders that file for HTML and DOCX; otherwise
    the bundled pandoc (``backend="pandoc"``) renders :func:`for_format` of it, with
    tables and figures numbered (``labels``: id → "Table 1", from
    :func:`crossref_labels` over this document and its companion; ``external``: id →
    the companion's ``.qmd`` for what lives there). PDF always goes through pandoc
    and Typst. Paths in the text (figures) are looked up along ``resource_path`` (a
    list, or an ``os.pathsep``-joined string). Returns ``{fmt: path}``.
    """
    outdir = Path(outdir).resolve()
    outdir.mkdir(parents=True, exist_ok=True)
    # relative to outdir, where the backend runs: the path ends up in the document's
    # metadata (DOCX custom properties), and must not carry this machine's folders
    bibliography = os.path.relpath(Path(bibliography).resolve(), outdir)
    if isinstance(resource_path, (list, tuple)):
        resource_path = os.pathsep.join(str(Path(p).resolve()) for p in resource_path)
    if backend is None:
        backend = "quarto" if shutil.which("quarto") else "pandoc"
    if backend not in ("quarto", "pandoc"):
        raise ValueError(f"unknown backend {backend!r}")
    if log:
        log(f"render: backend {backend}" + ("" if backend == "quarto" else
            f" (bundled pandoc {pandoc_path()}; quarto not used)"))
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise InputError(f"manuscript.formats: unsupported format(s) {', '.join(unknown)} "
                         f"(supported: {', '.join(FORMATS)})")
    src = outdir / f"{stem}.qmd"
    from concord.atomic import replacing, write_text  # temporary file + rename
    write_text(src, resolved_md)
    env = dict(os.environ)
    env.setdefault("SOURCE_DATE_EPOCH", DEFAULT_EPOCH)
    if labels is None:
        labels = crossref_labels(resolved_md)
    out = {}
    for fmt in formats:
        target = outdir / f"{stem}.{fmt}"
        if fmt == "pdf" or backend == "pandoc":
            text = for_format(resolved_md, fmt, labels, external, source=src.name)
        if fmt == "pdf":
            out[fmt] = _render_pdf(text, target, bibliography, resource_path, env, log)
            continue
        with replacing(target) as tmp:   # the backend writes tmp; renamed when whole
            if backend == "quarto":
                cmd = [shutil.which("quarto") or "quarto", "render", str(src), "--to", fmt,
                       "--output", tmp.name, "-M", f"bibliography:{bibliography}",
                       f"--resource-path={resource_path}"]
                if fmt == "html":
                    cmd += ["-M", "embed-resources:true", "--mathml"]
                if log:
                    log(f"render: quarto: {' '.join(cmd)}")
                proc = subprocess.run(cmd, cwd=outdir, env=env, capture_output=True, text=True)
                if log and proc.stderr.strip():
                    log(proc.stderr.strip())
                if proc.returncode != 0:
                    raise RuntimeError(f"quarto failed rendering {fmt} (exit {proc.returncode}): "
                                       f"{proc.stderr.strip()[-2000:]}")
            else:
                cmd = [pandoc_path(), "--from", "markdown", "--to", fmt, *PANDOC_TABLES,
                       "--standalone", "--citeproc", f"--bibliography={bibliography}",
                       f"--resource-path={resource_path}", "--output", tmp.name]
                if fmt == "html":
                    cmd += ["--embed-resources", "--mathml",
                            f"--variable=header-includes:{HTML_STYLE}"]
                _run_pandoc(cmd, text, outdir, env, log, fmt)
            if not tmp.exists():
                raise RuntimeError(f"{backend} reported success but {target} was not written")
        out[fmt] = str(target)
    return out

