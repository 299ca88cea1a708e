"""The roster: loading and checking it, parsing labelled transcripts, and the
roster names of a whole study matched in a session (:class:`NameIndex`)."""

from __future__ import annotations

import re
import weakref

import pandas as pd

from concord.deid.common import (COMMON_WORD_NAMES, MONTHS, ORD_RE, ROSTER_COLUMNS, STOP_CAPS,
                                 Candidate, Turn, _DATE_PREP, _SENT_END)
from concord.deid import lexicons
from concord.deid.matcher import _word_hits, _word_regex, fold_text
from concord.textnorm import fold
from concord.tsvio import InputError, read_tsv


def load_roster(path, moderator_id: str = "MOD") -> pd.DataFrame:
    """Read the restricted roster (errors never echo names); see
    :func:`check_roster_identities`."""
    df = read_tsv(path, required=ROSTER_COLUMNS)
    for col in ["participant_id", "session_id", "speaker_label", "full_name"]:
        empty = df.index[df[col].str.strip() == ""]
        if len(empty):
            raise InputError(f"{path}, line {empty[0] + 2}: column '{col}' is empty; "
                             f"every roster row needs a {col}")
    dup = df[df.duplicated(["session_id", "speaker_label"], keep="first")]
    if len(dup):
        raise InputError(f"{path}, line {dup.index[0] + 2}: the same speaker_label appears "
                         f"twice for session {df.loc[dup.index[0], 'session_id']}; "
                         f"labels must be unique within a session")
    check_roster_identities(df, path, moderator_id)
    return df


def check_roster_identities(df: pd.DataFrame, path, moderator_id: str = "MOD") -> None:
    """One participant_id is one person, one person is one participant_id.

    * the same participant_id twice in one session -> error (duplicate ID);
    * one participant_id with different full names (in different sessions) -> error,
      except ``moderator_id``: the moderator role has one pseudonym whoever moderates;
    * one full name (case- and space-insensitive) under two participant_ids -> error
      naming both lines: either they are one person (use one ID) or two people with
      the same name, who must be told apart in the roster (e.g. a middle initial in
      ``full_name``) -- otherwise every mention would get the wrong pseudonym.

    A shared *first* name or surname (two Marias) is allowed: the bare token goes to
    the person of the session if unique there, otherwise to a generic ``[NAME-n]``
    (redacted, but not linked to either pseudonym). Messages never quote names.
    """
    seen_sess: dict[tuple, int] = {}
    seen_id: dict[str, tuple[int, str]] = {}
    seen_name: dict[str, tuple[int, str]] = {}
    for i, row in enumerate(df.itertuples(index=False), start=2):
        pid, sess = row.participant_id.strip(), row.session_id.strip()
        name = " ".join(row.full_name.split()).casefold()
        if (pid, sess) in seen_sess:
            raise InputError(f"{path}, line {i}: participant_id {pid} appears twice in session "
                             f"{sess} (also line {seen_sess[(pid, sess)]}); give each "
                             f"participant of a session a distinct participant_id")
        seen_sess[(pid, sess)] = i
        if pid in seen_id and seen_id[pid][1] != name and pid != moderator_id:
            raise InputError(f"{path}, line {i}: participant_id {pid} has a different full_name "
                             f"than on line {seen_id[pid][0]}; one participant_id is one "
                             f"person: fix the name or use a new participant_id")
        seen_id.setdefault(pid, (i, name))
        if name in seen_name and seen_name[name][1] != pid:
            j, other = seen_name[name]
            raise InputError(f"{path}, lines {j} and {i}: participants {other} and {pid} have the "
                             f"same full_name; if they are one person use one participant_id, "
                             f"otherwise tell them apart in full_name (e.g. a middle initial)")
        seen_name.setdefault(name, (i, pid))


def parse_labelled(text: str, labels: set[str], source: str) -> list[Turn]:
    """Parse a ``labelled`` transcript; every turn's label must be in ``labels``."""
    turns = []
    pos = 0
    for i, raw in enumerate(text.split("\n"), start=1):
        line_start = pos
        pos += len(raw) + 1
        raw = raw.rstrip("\r")
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if ":" not in line:
            raise InputError(f"{source}, line {i}: expected 'Label: text' (a speaker label, "
                             f"a colon, the turn); add the speaker label or make the line a "
                             f"'#' comment")
        label, body = line.split(":", 1)
        label = label.strip()
        if label not in labels:
            # never the label itself (it is often a name): its length and position
            raise InputError(f"{source}, line {i}: the speaker label before the first colon "
                             f"({len(label)} characters) is not in the roster for this "
                             f"session; add a roster row with this speaker_label (or fix the "
                             f"label in the transcript)")
        body_start = raw.index(":") + 1
        stripped = body.strip()
        body_start = line_start + raw.index(stripped, body_start) if stripped else line_start
        # keep offsets: every whitespace character becomes one space
        turns.append(Turn(i, label, re.sub(r"\s", " ", stripped), body_start))
    return turns


def _name_tokens(full_name: str) -> list[str]:
    toks = [t.strip(",") for t in full_name.split()]
    return [t for t in toks if len(t) > 1 and not t.endswith(".") and t not in STOP_CAPS]


def _sentence_initial(text: str, start: int) -> bool:
    return bool(_SENT_END.search(text[:start]))


def is_common(name: str) -> bool:
    """A roster name token that is also an ordinary English word (hand list
    :data:`COMMON_WORD_NAMES`, or by word and census name frequency,
    :func:`concord.deid.lexicons.is_common_word`: Hope, Will, Trust, Chair)."""
    return name.lower() in COMMON_WORD_NAMES or lexicons.is_common_word(name)


def _name_ok(name: str, text: str, start: int, end: int) -> bool:
    """Case and context rules for a (case- and accent-insensitive) name match at
    text[start:end]."""
    found = text[start:end]
    if " " in name.strip() or not is_common(name):
        return True  # multi-word names and non-word names: any case
    if not found[:1].isupper() or (found.isupper() and len(found) > 1):
        return False
    if _sentence_initial(text, start):
        return False
    if name.capitalize() in MONTHS:
        if _DATE_PREP.search(text[:start]) or re.match(r"\s+(?:the\s+)?\d|\s+" + ORD_RE,
                                                         text[end:]):
            return False
    return True


# a sentence-initial common-word name that the sentence makes a name: "Hope here
# again.", "Will speaking", "Bill is what my wife calls me", "Grace, you said ..."
_CLEARLY_NAME = re.compile(
    r"\s+(?:here|speaking|again)\b|['’]s\s+my\s+name\b|\s+is\s+my\s+name\b"
    r"|\s+is\s+what\b[^.!?]{0,40}\bcall(?:s|ed)?\s+me\b"
    r"|\s+(?:said|says|mentioned|told|asked)\b"
    # a vocative before a question or a turn-taking phrase: "Grace, what keeps you going?"
    r"|,\s+(?:what|how|why|when|where|who|which|do|did|does|would|could|can|will|are|is|"
    r"have|you|your|anything|any|go\s+ahead|over\s+to\s+you|thoughts|thank)\b")


def _review_roster_word(name: str, text: str, start: int, end: int) -> Candidate | None:
    """A common-word roster name that :func:`_name_ok` rejected: a name after all
    (redacted), uncertain (review list), or a word (nothing)."""
    found = text[start:end]
    if " " in name.strip() or not found[:1].isupper() or (found.isupper() and len(found) > 1):
        return None
    if not _sentence_initial(text, start):
        return None  # a month after a date word ("in May")
    if _CLEARLY_NAME.match(text, end):
        return Candidate(start, end, "NAME", "roster")
    suggest = "redact" if lexicons.zipf(name) < 4.5 else "keep"
    return Candidate(start, end, "NAME", "roster", reason="roster name that is also a common "
                     "word, at a sentence start", suggest=suggest)


class _RosterNames:
    """The session-independent part of the roster names of a whole study: every
    form (full name, name tokens, aliases; casefolded -> as written), the
    participant ids per form, overall and per session, and one matcher.
    Built once per roster object (see :func:`_roster_cache`)."""

    def __init__(self, roster: pd.DataFrame):
        self.by_name: dict[str, set[str]] = {}
        self.local: dict[str, dict[str, set[str]]] = {}
        self.forms: dict[str, str] = {}
        for row in roster.itertuples(index=False):
            names = [row.full_name.strip()] + _name_tokens(row.full_name)
            names += [a.strip() for a in str(row.aliases).split(";") if a.strip()]
            local = self.local.setdefault(row.session_id, {})
            for n in names:
                if len(n) < 2:
                    continue
                k = fold(" ".join(n.split()))
                self.forms.setdefault(k, n)
                self.by_name.setdefault(k, set()).add(row.participant_id)
                local.setdefault(k, set()).add(row.participant_id)
        self.regex = _word_regex(self.forms)


class _RosterCache:
    """What a study roster gives every session: names and matcher, each session's
    speaker labels, roster surrogates per study id."""

    def __init__(self, roster: pd.DataFrame):
        self.names = _RosterNames(roster)
        self.labels: dict[str, dict[str, str]] = {}
        for sess, label, pid in zip(roster["session_id"], roster["speaker_label"],
                                    roster["participant_id"]):
            self.labels.setdefault(sess, {})[label.strip()] = pid
        self.surrogates: dict = {}  # study id -> surrogates.RosterSurrogates


_ROSTERS: dict[int, tuple] = {}


def _roster_cache(roster: pd.DataFrame) -> _RosterCache:
    """The :class:`_RosterCache` of this roster object, built on first use and reused
    for every further session of the process (a sharded job runs many sessions with
    one roster of thousands of participants). Keyed on the object's identity (held
    by a weak reference, so a new roster loaded at the same address is not taken for
    the old one) and its shape: do not modify a roster in place between calls."""
    hit = _ROSTERS.get(id(roster))
    if hit is not None and hit[0]() is roster and hit[1] == roster.shape:
        return hit[2]
    cache = _RosterCache(roster)
    for k in [k for k, v in _ROSTERS.items() if v[0]() is None]:
        del _ROSTERS[k]
    _ROSTERS[id(roster)] = (weakref.ref(roster), roster.shape, cache)
    return cache


class NameIndex:
    """Roster names of the whole study -> pseudonyms, for one session."""

    def __init__(self, roster: pd.DataFrame, session: str):
        rn = _roster_cache(roster).names
        self.forms = rn.forms
        self.regex = rn.regex
        self._by_name = rn.by_name
        self._local = rn.local.get(session, {})
        self._pseudonym: dict[str, str | None] = {}

    def pseudonym(self, k: str) -> str | None:
        """The participant id of form ``k``: unique in the study, else unique in this
        session, else None (ambiguous -> generic [NAME-n])."""
        if k not in self._pseudonym:
            ids = self._by_name[k]
            if len(ids) == 1:
                self._pseudonym[k] = next(iter(ids))
            elif len(self._local.get(k, ())) == 1:
                self._pseudonym[k] = next(iter(self._local[k]))
            else:
                self._pseudonym[k] = None
        return self._pseudonym[k]

    def find(self, text: str) -> list[Candidate]:
        return [c for _, c in self.find_in(text, [0], [text])]

    def find_in(self, full: str, starts: list[int], texts: list[str]):
        """(turn index, candidate in turn offsets) for the turns ``texts`` joined in
        ``full`` (turn i at ``starts[i]``). Forms are compared folded (case, accents,
        apostrophes: "O’Brien" is roster "O'Brien", "Jose Nunez" is "José Ñúñez")."""
        if self.regex is None:
            return
        ffull = fold_text(full)  # same length: turn i is still at starts[i]
        folded = [ffull[a:a + len(t)] for a, t in zip(starts, texts)]
        for i, s, e, found in _word_hits(self.regex, ffull, starts, folded):
            k = " ".join(found.split())
            name = self.forms[k]
            pid = self.pseudonym(k)
            det = "roster" if pid else "roster-ambiguous"
            if not _name_ok(name, texts[i], s, e):
                c = _review_roster_word(name, texts[i], s, e)
                if c is not None:
                    c.pseudonym, c.detector = pid, det
                    yield i, c
                continue
            yield i, Candidate(s, e, "NAME", "roster" if pid else "roster-ambiguous", pid)
