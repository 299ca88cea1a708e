"""Detection over a session: every registered detector (:data:`DETECTORS`) over the
turns its gate lets through, in one pass over the joined turns, then overlap
resolution."""

from __future__ import annotations

import re

from concord.deid import gates
from concord.deid.common import Candidate, _CROSSES_SENTENCE
from concord.deid.detectors import DETECTORS, PRIORITY
from concord.deid.detectors.places import _gazetteer
from concord.deid.gates import _View
from concord.deid.roster import NameIndex
from concord.transcripts import one_space


def detect(text: str, names: NameIndex, gazetteer_regex=None, places=None) -> list[Candidate]:
    """All candidate identifiers in one turn's text (overlapping, unresolved)."""
    return detect_turns([text], names, gazetteer_regex, places)[0]


def detect_turns(texts: list[str], names: NameIndex, gazetteer_regex=None,
                 places=None) -> list[list[Candidate]]:
    """:func:`detect` for every turn of a session, in one pass per detector over the
    joined turns (:class:`_View`). A detector runs only over the turns that meet a
    necessary condition of its pattern (its ``gate``: a digit, an ``@``, a month, a
    title word ...), tested per turn with substring tests: the same candidates, found
    faster."""
    out: list[list[Candidate]] = [[] for _ in texts]
    full = _View(texts, range(len(texts)))
    g = gates._gates_session(full, texts)
    views: dict[str, _View | None] = {k: (full if len(v) == len(texts) else _View(texts, v))
                                      if v else None for k, v in g.items()}
    for d in DETECTORS:
        if d.name == "roster":
            for i, c in names.find_in(full.text, full.starts, texts):
                out[i].append(c)
        elif d.name == "gazetteer":
            if gazetteer_regex is not None:
                for i, t in enumerate(texts):
                    out[i] += _gazetteer(gazetteer_regex, places or {}, t)
        else:
            v = full if d.gate == "all" else views[d.gate]
            if v is not None:
                v.place(d.find(v.text), out)
    # An identifier never runs across a sentence end ("... Tarrow. Clinically"):
    # such a match is a detector error and would also merge two coding units.
    # (a sentence end needs one of ".!?" inside the match: tested first, in C)
    return [[x for x in c if not _crosses_sentence(t, x.start, x.end)] if c else c
            for t, c in zip(texts, out)]


def _crosses_sentence(text: str, start: int, end: int) -> bool:
    return ((text.find(".", start, end) != -1 or text.find("!", start, end) != -1
             or text.find("?", start, end) != -1)
            and _CROSSES_SENTENCE.search(text, start, end) is not None)


def _prefer_roster(cands: list[Candidate], text: str) -> list[Candidate]:
    """Merge adjacent roster matches of one person ("Tom Baker" = alias + surname) and
    drop cue-found names (title, kinship, propagated) whose words are all roster
    matches, so that a known person keeps his or her pseudonym."""
    roster = sorted((c for c in cands if c.detector == "roster"), key=lambda c: c.start)
    merged: list[Candidate] = []
    for c in roster:
        if (merged and merged[-1].pseudonym == c.pseudonym
                and c.start >= merged[-1].end and not text[merged[-1].end:c.start].strip()):
            merged[-1] = Candidate(merged[-1].start, c.end, "NAME", "roster", c.pseudonym)
        else:
            merged.append(Candidate(c.start, c.end, c.type, c.detector, c.pseudonym))
    out = [c for c in cands if c.detector != "roster"] + merged
    cue = ("title", "kinship", "named", "propagated")

    def covered(c: Candidate) -> bool:
        for m in re.finditer(r"\S+", text[c.start:c.end]):
            a, b = c.start + m.start(), c.start + m.end()
            if not any(r.start <= a and b <= r.end for r in merged):
                return False
        return True

    return [c for c in out if c.detector not in cue or not covered(c)]


def resolve(cands: list[Candidate], text: str = "") -> list[Candidate]:
    """Non-overlapping candidates: longest first, then detector priority, then position."""
    if text:
        cands = _prefer_roster(cands, text)
    chosen: list[Candidate] = []
    for c in sorted(cands, key=lambda c: (-(c.end - c.start),
                                          PRIORITY.get(c.detector, PRIORITY["roster"]),
                                          c.start)):
        if all(c.end <= o.start or c.start >= o.end for o in chosen):
            chosen.append(c)
    return sorted(chosen, key=lambda c: c.start)



def find_spans(text: str, names: NameIndex | None = None) -> list[tuple[int, int, str, str]]:
    """(start, end, type, detector) of what de-identification redacts in free text,
    without a session (no roster unless ``names`` is given, no propagation): each
    line is a turn. Uncertain candidates count with their suggestion (what an
    undecided run does). For benchmarks and for tools that scan other text."""
    if names is None:
        names = _EMPTY_NAMES[0] if _EMPTY_NAMES else _empty_names()
    lines, starts, pos = [], [], 0
    for line in text.split("\n"):
        lines.append(one_space(line))
        starts.append(pos)
        pos += len(line) + 1
    out = []
    for off, line, cands in zip(starts, lines, detect_turns(lines, names)):
        kept = [c for c in cands if c.suggest == "redact"]
        for c in resolve(kept, line):
            out.append((off + c.start, off + c.end, c.type, c.detector))
    return out


_EMPTY_NAMES: list = []


def _empty_names() -> NameIndex:
    import pandas as pd
    from concord.deid.common import ROSTER_COLUMNS
    _EMPTY_NAMES.append(NameIndex(pd.DataFrame(columns=ROSTER_COLUMNS), ""))
    return _EMPTY_NAMES[0]
