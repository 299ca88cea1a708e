"""What is uncertain goes to a person (contract B in the team plan).

De-identification writes ``restricted/review/{session}.tsv``: one row per uncertain
candidate (:data:`REVIEW_COLUMNS`; raw offsets; restricted, 0600), with what the run
did (``suggestion``: ``redact`` or ``keep``). ``concord deid review`` records a
person's decisions in ``restricted/decisions.tsv`` (:data:`DECISION_COLUMNS`); the
next run applies them (the file is a declared input of the deidentify rules). Until
a candidate is decided the suggestion is applied, so an undecided run is as safe as
the detectors make it.

Uncertain are:

* a roster name that is also a common English word (Hope, Grace, Will, Trust) at a
  sentence start ("Hope is what keeps me going") -> keep, unless the sentence makes it
  a name ("Hope here again.", "Bill is what my wife calls me") -> redact;
* a capitalised word that is neither a known English word nor a known name nor place
  (Szöllössy, Ibrance) -> redact;
* any candidate that is also a codebook term or code label (a participant named Trust
  against the TRUST theme) -> keep, unless a capitalised name mid-sentence -> redact.

``restricted/allow.txt`` (one term per line: never an identifier) and
``restricted/deny.txt`` (``term<TAB>TYPE``, TYPE default NAME: always redacted) apply to
every session. All comparisons use :func:`concord.textnorm.fold`. Messages never quote
a term: they name the file and line.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from concord.textnorm import fold
from concord.tsvio import InputError

REVIEW_COLUMNS = ["candidate_id", "session_id", "line", "start", "end", "text", "type",
                  "reason", "context", "suggestion"]
DECISION_COLUMNS = ["session_id", "text", "type", "decision", "note"]
DECISIONS = ("redact", "keep")
_CONTEXT = 40


def _lines(path) -> list[tuple[int, str]]:
    """(line number, stripped line) of a restricted list; absent file = none."""
    if not path or not Path(path).is_file():
        return []
    text = Path(path).read_text(encoding="utf-8")
    return [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), start=1)
            if ln.strip() and not ln.lstrip().startswith("#")]


def load_allow(path) -> set[str]:
    """Folded terms that are never identifiers."""
    return {fold(" ".join(t.split())) for _, t in _lines(path)}


def load_deny(path) -> list[tuple[str, str]]:
    """(term, TYPE) pairs always redacted; TYPE defaults to NAME."""
    from concord.deid.common import TYPES
    out = []
    for i, ln in _lines(path):
        term, _, type_ = ln.partition("\t")
        type_ = type_.strip().upper() or "NAME"
        if type_ not in TYPES:
            raise InputError(f"{path}, line {i}: type is not one of {', '.join(TYPES)}; write "
                             f"term<TAB>TYPE (TYPE optional, default NAME)")
        term = " ".join(term.split())
        if len(term) < 2 or not re.match(r"\w", term):
            raise InputError(f"{path}, line {i}: the term must start with a letter or digit "
                             f"and have at least 2 characters")
        out.append((term, type_))
    return out


def load_decisions(path) -> dict[tuple[str, str], str]:
    """(session_id or '*', folded text) -> 'redact' | 'keep'. A decision for one
    session wins over one for '*'."""
    if not path or not Path(path).is_file():
        return {}
    from concord.tsvio import read_tsv
    df = read_tsv(path, required=["session_id", "text", "decision"])
    out: dict[tuple[str, str], str] = {}
    for i, row in enumerate(df.itertuples(index=False), start=2):
        d = str(row.decision).strip().lower()
        if d not in DECISIONS:
            raise InputError(f"{path}, line {i}: decision must be 'redact' or 'keep'")
        sess = str(row.session_id).strip() or "*"
        out[(sess, fold(" ".join(str(row.text).split())))] = d
    return out


def decision_for(decisions: dict, session: str, text: str) -> str | None:
    k = fold(" ".join(text.split()))
    return decisions.get((session, k)) or decisions.get(("*", k))


def codebook_terms(path) -> set[str]:
    """Folded words of the codebook's code ids, names, terms and phrases (what must never
    be silently redacted)."""
    if not path or not Path(path).is_file():
        return set()
    import yaml
    book = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    words: set[str] = set()
    for code in book.get("codes", []) or []:
        pats = code.get("patterns") or {}
        for s in ([str(code.get("id", "")), str(code.get("name", ""))]
                  + [str(x) for x in pats.get("terms", []) or []]
                  + [str(x) for x in pats.get("phrases", []) or []]):
            words.update(w for w in re.findall(r"[^\W\d_]+", fold(s)) if len(w) > 2)
    return words


def roster_codebook_overlap(roster: pd.DataFrame, terms: set[str]) -> list[int]:
    """Roster lines (1-based file lines) with a name token that is a codebook term;
    the caller warns ("roster line 4: a name is also a codebook term") -- no name."""
    lines = []
    for i, row in enumerate(roster.itertuples(index=False), start=2):
        toks = re.findall(r"[^\W\d_]+", fold(f"{row.full_name} {row.aliases}"))
        if any(t in terms for t in toks):
            lines.append(i)
    return lines


def review_row(session: str, line: int, raw_start: int, raw_end: int, turn_text: str,
               start: int, end: int, type_: str, reason: str, suggestion: str) -> dict:
    a, b = max(0, start - _CONTEXT), min(len(turn_text), end + _CONTEXT)
    context = (turn_text[a:start] + "[[" + turn_text[start:end] + "]]" + turn_text[end:b])
    return {"candidate_id": f"{session}:{line}:{raw_start}", "session_id": session,
            "line": line, "start": raw_start, "end": raw_end, "text": turn_text[start:end],
            "type": type_, "reason": reason, "context": " ".join(context.split()),
            "suggestion": suggestion}


def review_table(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=REVIEW_COLUMNS)
