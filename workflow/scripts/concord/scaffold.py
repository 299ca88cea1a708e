"""``concord init``: a new study folder from raw transcripts (pure functions + one writer).

A study is a folder (PLAN contract A)::

    DIR/config/config.yaml        study metadata to fill in (COREQ items), groups, sheets
    DIR/config/sessions.tsv       one row per transcript: S01, S02 ... (format detected)
    DIR/config/participants.tsv   pseudonymous IDs P01 ... for the detected speakers
    DIR/config/codebook.yaml      a starter codebook: two clearly marked example codes
    DIR/config/coders.tsv         header only: no human coding yet
    DIR/restricted/               0700, git-ignored: raw transcripts (copied, 0600),
                                  roster.tsv (speaker labels -> names to fill in, 0600)
    DIR/.gitignore, DIR/README.md what to fill in next

``concord run DIR`` then runs the repository's Snakefile with ``--directory DIR`` and
DIR's own config; every relative path in the config and sheets is relative to DIR.

Speaker labels may be names: they are written only under ``restricted/`` and never
printed; :func:`init_study` returns counts. Session IDs are ``S01``... (not the file
names, which may also hold names); ``restricted/transcripts/sources.tsv`` says which
file each session came from.
"""

from __future__ import annotations

import io
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from concord import roles
from concord import transcripts as tr
from concord.tsvio import InputError

# labels that name a role rather than a person: the first per session is the moderator
_FACILITATOR = re.compile(r"^(moderator|facilitator|interviewer|host|chair|mod|researcher)\b",
                          re.IGNORECASE)
# labels that are not a person's name (so not a name to redact or to look for): a
# role (concord.roles: Interviewee, Client 2, Moderator), a label with a digit
# (Speaker 2, P3, QualCoder's [id1]) or an unknown voice
_GENERIC = re.compile(r"\d|^(?:(?:unknown|unidentified)\s+)?"
                      r"(?:speaker|person|voice|unknown|unidentified|p|mod|s)$", re.IGNORECASE)
# the file name a copied transcript gets, by format (every format transcripts.py reads)
EXTENSIONS = {"labelled": ".txt", "labelled_multiline": ".txt", "webvtt": ".vtt", "srt": ".srt",
              "docx": ".docx", "pdf": ".pdf", "qmsum": ".json"}


@dataclass
class Session:
    session_id: str
    source: str          # the path given (restricted: may hold a name)
    format: str
    labels: list[str]    # speaker labels in order of first turn (restricted)
    turns: int
    ids: dict[str, str] = field(default_factory=dict)  # label -> participant_id
    in_text: list[str] = field(default_factory=list)  # labels also said in the turns


_PREFIX = re.compile(r"^[ \t]*([^\s:\[\](){}<>#@*][^:\[\](){}<>\n]{0,39}?)[ \t]*:[ \t]")


def recurring_labels(text: str) -> list[str] | None:
    """Speaker labels of a transcript whose labels the parser does not take on their own
    (lower case: ``interviewer:``, ``interviewee:``): the prefixes before ``': '`` that
    start at least two lines, at most four words, no sentence punctuation. None when
    fewer than two such labels are found (a transcript with one speaker is no study)."""
    counts: dict[str, int] = {}
    first: dict[str, str] = {}
    for line in text.splitlines():
        m = _PREFIX.match(line)
        if not m:
            continue
        lab = " ".join(m.group(1).split())
        if len(lab.split()) > 4 or re.search(r"[.,;!?\"“”]", lab):
            continue
        key = lab.casefold()
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, lab)
    labels = [first[k] for k, n in counts.items() if n >= 2]
    return labels if len(labels) >= 2 else None


def _parse_labelled(raw, path, labels):
    """Labelled text: one line per turn, else turns continued over several lines,
    labels alone on their line (Otter, Rev): ``(format, turns)``."""
    try:
        return "labelled", tr.parse(raw, labels, source=str(path), fmt="labelled",
                                    log=io.StringIO())
    except InputError as exc:
        try:
            turns = tr.parse(raw, labels, source=str(path), fmt="labelled_multiline",
                             log=io.StringIO())
        except InputError:
            turns = None
        if not turns:
            raise exc from None
        return "labelled_multiline", turns


def detect_session(path, session_id: str) -> Session:
    """Parse one transcript with :mod:`concord.transcripts` (format detected) and
    collect its speaker labels in order of appearance."""
    raw = tr.read_raw(path)
    fmt, _ = tr.detect_format(raw)
    try:
        if fmt == "labelled":
            fmt, turns = _parse_labelled(raw, path, None)
        else:
            turns = tr.parse(raw, None, source=str(path), fmt=fmt, log=io.StringIO())
    except InputError as first_error:
        if fmt in ("pdf", "docx"):  # the message's "make the line a '# ' comment"
            raise InputError(f"{first_error} (a {fmt.upper()} cannot be edited as text: "
                             f"save it as plain text, e.g. `pdftotext -nopgbrk FILE` or "
                             f"Word's 'Save as .txt', fix that copy and give it to concord "
                             f"init instead)") from None
        if fmt not in ("labelled", "labelled_multiline"):
            raise
        # labels the parser does not take on their own (lower case), recurring at line
        # starts: parsed as the roster's labels (the workflow parses with the roster)
        labels = recurring_labels(raw)
        if labels is None:
            raise
        try:
            fmt, turns = _parse_labelled(raw, path, labels)
        except InputError:
            raise first_error from None
    if not turns:
        raise InputError(f"{path}: no speaker turns found; a transcript needs lines like "
                         f"'Name: text', WebVTT cues with <v Name> voices, or a DOCX with "
                         f"bold speaker labels")
    labels: list[str] = []
    for t in turns:
        if t.label not in labels:
            labels.append(t.label)
    text = " ".join(t.text for t in turns)
    s = Session(session_id, str(path), fmt, labels, len(turns))
    # a label said in the talk is an identifier to the redactor and the gate, unless
    # it names a role ("Interviewee", "Client 2")
    s.in_text = [lab for lab in labels if not roles.is_role_label(lab)
                 and re.search(rf"(?<!\w){re.escape(lab)}(?!\w)", text, re.IGNORECASE)]
    return s


def assign_ids(sessions: list[Session]) -> None:
    """Pseudonymous IDs: the first facilitator-like label of a session (Moderator,
    Facilitator, Interviewer ...) is ``MOD``, further ones ``MOD2``...; every other
    speaker gets the next ``P01``, ``P02``... across the study (one per session and
    label: a person who attends two sessions is merged by editing the sheets)."""
    n = 0
    width = 2
    total = sum(1 for s in sessions for lab in s.labels if not _FACILITATOR.match(lab))
    if total >= 100:
        width = len(str(total))
    for s in sessions:
        mods = 0
        for lab in s.labels:
            if _FACILITATOR.match(lab):
                mods += 1
                s.ids[lab] = "MOD" if mods == 1 else f"MOD{mods}"
            else:
                n += 1
                s.ids[lab] = f"P{n:0{width}d}"


def study_design(sessions: list[Session]) -> tuple[str, str]:
    """The study design as the speakers suggest it (the schema's ``study.design``) and
    why: one participant speaker in every session is an interview study, two a dyad
    study, at most two with some of one an interview study, three or more a focus-group
    study, a mixture of two or fewer and three or more mixed. It is a
    suggestion written into the config with its reason, for the researcher to check."""
    counts = sorted({sum(1 for pid in s.ids.values() if pid.startswith("P")) for s in sessions})
    said = "/".join(map(str, counts))
    if counts == [2]:
        return "dyad", "every session has two participant speakers"
    if counts[-1] <= 2:
        return "interview", ("every session has one participant speaker" if counts == [1] else
                             f"sessions have {said} participant speakers")
    if counts[0] >= 3:
        return "focus_group", f"every session has {counts[0]} or more participant speakers"
    return "mixed", f"sessions have {said} participant speakers"


def placeholder_name(label: str, pid: str, session_id: str) -> str:
    """The roster's ``full_name`` before the user fills it in: the label itself when it
    looks like a person's name (``Maria``, ``Dr. Okafor``), else a marker that occurs
    in no transcript (``Speaker 2``, ``Moderator`` are not names to redact)."""
    if _GENERIC.search(label.strip()) or roles.is_role_label(label):
        return f"FILL-IN-{session_id}-{pid}"
    return label


def _tsv(rows: list[list[str]]) -> str:
    return "".join("\t".join(r) + "\n" for r in rows)


def _write_private(path: Path, data: bytes) -> None:
    """Exclusive create with mode 0600 (never follows or replaces an existing file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


CONFIG_TEMPLATE = """\
# Study configuration written by `concord init`. Replace every "TO FILL IN" value: the
# run stops, naming the line, while one is left (a manuscript never prints one).
# Every key is documented in the repository's config/README.md; a key you leave out
# gets the default documented there (the same for every study), never the demo's value.
# Relative paths are relative to this study folder.
study:
  id: {study_id}
  title: "TO FILL IN: the study's title"
  synthetic: false
  # how the data were collected: focus_group, interview, dyad or mixed; the manuscript's
  # words for the sessions follow it. concord init suggests it: {design_reason}.
  design: {design}
  # COREQ items, all optional: uncomment a line and state it. A key left commented out
  # reads "not reported" in the manuscript and the COREQ checklist (config/README.md
  # lists all of them: sampling, interview_guide, recording, duration, ethics ...).
  # research_question: "the research question or aim"
  # setting: "where the sessions took place (online, clinic, school ...)"
  # dates: "when the sessions were held"
  # recruitment: "how participants were approached and selected"
  # facilitators: "who moderated (credentials, occupation, gender, experience)"
  # ethics: "ethical approval and consent"

# The groups you compare. Every session belongs to one group (sessions.tsv and
# participants.tsv, column group). `concord init` put all sessions in group1: declare
# your groups here and set the group column of both sheets. With one group the run
# works and registers the between-group comparisons as not applicable.
groups:
  - id: group1
    label: "TO FILL IN: group label"
    # stakeholder: "who the group is (teachers, patients, policymakers ...)"

sessions: config/sessions.tsv
participants: config/participants.tsv
coders: config/coders.tsv       # header only: no human coding yet (coding in stages)
codebook: config/codebook.yaml

deidentify:
  roster: restricted/roster.tsv # speaker labels -> full names and aliases (restricted)
  keys_dir: restricted/keys

code:
  coders: [C1, C2]              # planned coders: one REFI-QDA project each in results/coding/export/

# Your own introduction and discussion (Markdown files in this folder); without them
# the manuscript says they are to be written.
# manuscript:
#   introduction: manuscript/introduction.md
#   discussion: manuscript/discussion.md
"""

CODEBOOK_TEMPLATE = """\
# Starter codebook written by `concord init`. The two codes below are EXAMPLES:
# replace them with your own (the run stops while a "TO FILL IN" value is left).
# Schema: workflow/schemas/codebook.schema.yaml; `concord qdc import FILE.qdc --out
# config/codebook.yaml` turns a codebook exported from NVivo, ATLAS.ti, MAXQDA or
# Taguette into this form (add patterns for the automatic coder).
# patterns drive the automatic coder (terms: word stems; phrases: word sequences;
# regex: case-insensitive; exclude: vetoes an overlapping match).
version: "0.1.0"   # major.minor.patch
title: "TO FILL IN: codebook title"
categories: [example]
codes:
  - id: EXAMPLE_TIME
    name: "EXAMPLE - replace: time pressure"
    category: example
    parent: null
    definition: "TO FILL IN (example code). Talk about not having enough time."
    include: "Lack of time, being rushed, deadlines."
    exclude: "Dates and schedules mentioned without pressure."
    examples: ["We never have enough time for this."]
    patterns:
      terms: [rushed, deadline, deadlines]
      phrases: ["enough time", "no time", "short of time"]
      negation: flag
  - id: EXAMPLE_SUPPORT
    name: "EXAMPLE - replace: support"
    category: example
    parent: null
    definition: "TO FILL IN (example code). Help received from or given to others."
    include: "Being helped, supported or backed by colleagues, family, services."
    exclude: "Technical support for equipment."
    examples: ["My colleagues really supported me."]
    patterns:
      terms: [support, supported, supportive, help, helped, helpful]
      negation: flag
"""

README_TEMPLATE = """\
# {study_id}: a Concord study folder

Written by `concord init` from {n_sessions} transcript(s) ({n_participants} participant
speaker(s), {n_facilitators} facilitator speaker(s) detected). Nothing here has been
run yet. What to fill in, in this order:

1. `restricted/roster.tsv` (restricted: never commit or share it): for every speaker
   label, the person's `full_name` and any `aliases` (nicknames, first names, comma-
   separated). Rows reading `FILL-IN-...` are labels that are not a name
   (`Speaker 2`): put the person's name there. The moderator is `MOD`; set it on the
   right row if a facilitator was not recognised, in `config/participants.tsv` too
   (remove the moderator's row there). {n_in_text} label(s) also occur as words in the
   transcripts: a label is an identifier (redacted, and looked for by the leak gate),
   so a label that is a role, not a name ("Marketing", "Chair"), is better listed in
   `restricted/allow.txt` or replaced by a neutral label in the transcript.
2. `config/config.yaml`: every value reading "TO FILL IN" (the title, the groups'
   labels; declare your `groups`), then the COREQ metadata you can state (research
   question, setting, dates, recruitment, facilitators ...: uncomment the lines; what
   stays commented out reads "not reported"). The run stops, naming the file and
   line, while a "TO FILL IN" value is left here or in the codebook.
3. `config/sessions.tsv` and `config/participants.tsv`: the `group` of each session and
   participant; the `order` in which sessions were held; participants' attributes.
   The same person in two sessions: give both rows one `participant_id`.
4. `config/codebook.yaml`: replace the two EXAMPLE codes with your codebook (or
   `concord qdc import FILE.qdc --out config/codebook.yaml` for one exported from your
   QDA program, then add patterns for the automatic coder).

Then, from the Concord repository's environment:

    concord run {dir_hint} --cores 4      # de-identify, segment, code, manuscript

With `config/coders.tsv` still empty, the run codes automatically, writes one REFI-QDA
project per planned coder (`code.coders`) to `results/coding/export/`, and the
manuscript says human coding is pending. Give each coder their `.qdpx`, import what
they send back in `config/coders.tsv` (`coder`, `session_id`, `path`), run again:
only coding and what follows is redone. `results/`, `logs/` and `restricted/` stay
in this folder; an interrupted run resumes with the same command (add
`--rerun-incomplete` if Snakemake asks for it).
"""

GITIGNORE = """\
# written by concord init: never commit names, keys or raw transcripts
/restricted/
/results/
/logs/
/.snakemake/
"""

CODERS_HEADER = "coder\tsession_id\tpath\n"


def study_id_from(dirname: str) -> str:
    sid = re.sub(r"[^A-Za-z0-9_]+", "_", dirname).strip("_")
    return sid or "study"


def init_study(out, transcripts: list, study_id: str | None = None) -> dict:
    """Write a new study folder ``out`` from ``transcripts``; return counts.

    Refuses to write into a folder that already holds ``config/`` or ``restricted/``
    (no partial overwrite of a study). Everything is parsed first: a transcript that
    cannot be read stops before anything is written."""
    out = Path(out)
    if not transcripts:
        raise InputError("concord init: give at least one transcript (--transcripts FILE ...)")
    for sub in ("config", "restricted"):
        if (out / sub).exists():
            raise InputError(f"{out / sub}: already exists; concord init writes a new study "
                             f"folder (choose another DIR or remove it)")
    width = max(2, len(str(len(transcripts))))
    sessions = []
    for i, path in enumerate(transcripts, 1):
        if not Path(path).is_file():
            raise InputError(f"{path}: transcript not found")
        sessions.append(detect_session(path, f"S{i:0{width}d}"))
    assign_ids(sessions)
    sid = study_id or study_id_from(out.resolve().name)
    design, design_reason = study_design(sessions)

    (out / "config").mkdir(parents=True, exist_ok=True)
    restricted = out / "restricted"
    restricted.mkdir(mode=0o700)
    os.chmod(restricted, 0o700)
    (restricted / "transcripts").mkdir(mode=0o700)
    os.chmod(restricted / "transcripts", 0o700)

    session_rows = [["session_id", "group", "transcript", "format", "order"]]
    source_rows = [["session_id", "source"]]
    participant_rows = [["participant_id", "session_id", "group"]]
    roster_rows = [["participant_id", "session_id", "speaker_label", "full_name", "aliases"]]
    for order, s in enumerate(sessions, 1):
        dest = f"restricted/transcripts/{s.session_id}{EXTENSIONS[s.format]}"
        _write_private(out / dest, Path(s.source).read_bytes())
        session_rows.append([s.session_id, "group1", dest, s.format, str(order)])
        source_rows.append([s.session_id, str(Path(s.source).resolve())])
        for lab in s.labels:
            pid = s.ids[lab]
            if pid.startswith("P"):
                participant_rows.append([pid, s.session_id, "group1"])
            roster_rows.append([pid, s.session_id, lab, placeholder_name(lab, pid, s.session_id), ""])
    _write_private(restricted / "transcripts" / "sources.tsv", _tsv(source_rows).encode())
    _write_private(restricted / "roster.tsv", _tsv(roster_rows).encode())
    (out / "config" / "sessions.tsv").write_text(_tsv(session_rows), encoding="utf-8")
    (out / "config" / "participants.tsv").write_text(_tsv(participant_rows), encoding="utf-8")
    (out / "config" / "coders.tsv").write_text(CODERS_HEADER, encoding="utf-8")
    (out / "config" / "config.yaml").write_text(CONFIG_TEMPLATE.format(
        study_id=sid, design=design, design_reason=design_reason),
                                                encoding="utf-8")
    (out / "config" / "codebook.yaml").write_text(CODEBOOK_TEMPLATE, encoding="utf-8")
    (out / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
    counts = {"sessions": len(sessions),
              "participants": len(participant_rows) - 1,
              "facilitators": len(roster_rows) - len(participant_rows),
              "turns": sum(s.turns for s in sessions),
              "design": design, "design_reason": design_reason,
              "formats": {f: sum(1 for s in sessions if s.format == f)
                          for f in sorted({s.format for s in sessions})},
              "unnamed_labels": sum(1 for r in roster_rows[1:] if r[3].startswith("FILL-IN-")),
              # a label said as a word in the talk (a role: "Marketing", "Chair") is an
              # identifier to the de-identification and the leak gate
              "labels_in_text": len({lab for s in sessions for lab in s.in_text})}
    (out / "README.md").write_text(README_TEMPLATE.format(
        study_id=sid, n_sessions=counts["sessions"], n_participants=counts["participants"],
        n_facilitators=counts["facilitators"], n_in_text=counts["labels_in_text"],
        dir_hint=out.name or "."), encoding="utf-8")
    return counts


def _category_id(name: str) -> str:
    """A codebook category id (``^[a-z][a-z_]*$``) from a QDA program's set name."""
    slug = re.sub(r"[^a-z]+", "_", name.casefold()).strip("_")
    return slug if slug and slug[0].isalpha() else f"set_{slug}".rstrip("_")


def study_codebook(book: dict, source: str) -> dict:
    """A codebook read from a REFI-QDA ``.qdc`` (:func:`concord.refiqda.qdc_to_codebook`)
    in the form a study's ``config/codebook.yaml`` takes: version, a title, categories
    from the program's code sets (``uncategorised`` for codes in none), no GUIDs or
    colours. What only the study team can write -- the title, a missing definition --
    reads "TO FILL IN", so the run stops until it is written; codes have no patterns
    (the automatic coder does not apply them until terms or phrases are added)."""
    from concord.studyconfig import PLACEHOLDER
    ids: dict[str, str] = {}
    for name in book.get("categories") or []:
        cid = _category_id(name)
        while cid in ids.values():
            cid += "_"
        ids[name] = cid
    codes = []
    for c in book["codes"]:
        if c.get("category") is None:
            ids.setdefault("", "uncategorised")
        code = {"id": c["id"], "name": c["name"],
                "category": ids[c.get("category") or ""],
                "parent": c.get("parent"),
                "definition": c.get("definition")
                or f"{PLACEHOLDER}: the definition of {c['name']!r}"}
        code.update({k: c[k] for k in ("include", "exclude", "examples") if c.get(k)})
        code["patterns"] = {}
        codes.append(code)
    used = {c["category"] for c in codes}
    return {"version": "0.1.0",
            "title": f"{PLACEHOLDER}: codebook title (imported from {Path(source).name})",
            "categories": [cid for cid in ids.values() if cid in used],
            "codes": codes}
