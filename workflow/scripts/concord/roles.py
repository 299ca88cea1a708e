"""Speaker roles: who speaks in a session, which speakers' segments are coding units,
and which codes apply to which role (pure functions).

Every speaker of a de-identified transcript has a **role**:

* speakers listed in the participants sheet take the sheet's ``role`` column
  (default ``participant``): a study of therapy sessions lists ``T01`` with role
  ``therapist`` and ``C01`` with role ``client``;
* every other speaker ID of the roster (``MOD``, ``MOD2``, ``NOTE1``, ``INT1``) takes the
  roster's ``role`` column, default ``facilitator`` (moderator, co-moderator,
  note-taker and interpreter are all facilitators unless the study says otherwise).

Roles are lower-case words (``participant``, ``facilitator``, ``therapist``,
``caregiver``, ``note_taker``). Which roles are coding units is the study's choice,
``code.roles`` (default ``[participant]``): only segments of those roles are coded,
by the automatic coder and the human coders. A code of the codebook may declare
``roles: [...]``; on a segment of another role it is *not applicable*: missing for
agreement (not "absent") and outside its prevalence denominator.

The segment files carry the role of each segment (``role`` column); older segment
files without it are read as ``participant`` when ``participant_id`` is set and
``facilitator`` otherwise (:func:`segment_roles`).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from concord.tsvio import InputError, read_tsv

PARTICIPANT = "participant"
FACILITATOR = "facilitator"
DEFAULT_UNIT_ROLES = (PARTICIPANT,)
ROLE_RE = re.compile(r"^[a-z][a-z0-9_]*$")

#: speaker labels that name a role, not a person ("Therapist: ...", "Interviewer 2:",
#: "Client:"). They are never identifiers; the leak gate excludes them
#: (:func:`role_labels`).
ROLE_WORDS = frozenset("""
participant participants facilitator facilitators moderator moderators comoderator
co-moderator assistant observer note-taker notetaker note_taker interviewer interviewee
respondent speaker therapist client counsellor counselor counselee clinician patient
caregiver carer doctor nurse physician interpreter translator researcher chair
host guest member audience unknown unidentified inaudible crosstalk
""".split())


def unit_roles(config: dict) -> tuple[str, ...]:
    """``code.roles`` of a study config (default ``("participant",)``), checked."""
    roles = (config.get("code") or {}).get("roles") or list(DEFAULT_UNIT_ROLES)
    for r in roles:
        if not ROLE_RE.match(str(r)):
            raise InputError(f"config code.roles: {r!r} is not a role name (lower-case "
                             "letters, digits, underscores; e.g. participant, therapist)")
    return tuple(sorted(set(roles)))


def code_roles(codebook: dict) -> dict[str, tuple[str, ...] | None]:
    """Code ID -> the roles it applies to (``None``: every coding-unit role)."""
    out = {}
    for c in codebook.get("codes", []):
        r = c.get("roles")
        out[c["id"]] = tuple(sorted(set(r))) if r else None
    return out


def check_code_roles(codebook: dict, units: tuple[str, ...], path="codebook") -> None:
    """A code's roles must be coding-unit roles (else it could never be applied)."""
    for c in codebook.get("codes", []):
        for r in c.get("roles") or []:
            if r not in units:
                raise InputError(f"{path}: code {c['id']}: field 'roles': {r!r} is not a "
                                 f"coding-unit role (config code.roles: {', '.join(units)}); "
                                 "add it to code.roles or fix the code")


def role_of_row(row: dict, default: str) -> str:
    r = str(row.get("role", "") or "").strip()
    return r or default


def speaker_roles(participants: pd.DataFrame, roster: pd.DataFrame | None = None
                  ) -> dict[tuple[str, str], str]:
    """``(session_id, speaker_id) -> role`` for every speaker the sheets know: the
    participants sheet (default ``participant``), then the roster's other IDs
    (default ``facilitator``). The roster is read for IDs and roles only."""
    out: dict[tuple[str, str], str] = {}
    for row in participants.to_dict("records"):
        out[(row["session_id"], row["participant_id"])] = role_of_row(row, PARTICIPANT)
    if roster is not None:
        for row in roster.to_dict("records"):
            key = (row["session_id"], row["participant_id"])
            if key not in out:
                out[key] = role_of_row(row, FACILITATOR)
    return out


def people_roles(participants: pd.DataFrame) -> pd.Series:
    """participant_id -> role from the participants sheet (one role per ID, checked by
    :func:`check_participants`)."""
    if "role" in participants.columns:
        r = participants["role"].fillna("").astype(str).str.strip().replace("", PARTICIPANT)
    else:
        r = pd.Series(PARTICIPANT, index=participants.index)
    return pd.Series(r.to_numpy(), index=participants["participant_id"].to_numpy()) \
        .groupby(level=0).first()


def unit_people(participants: pd.DataFrame, units=DEFAULT_UNIT_ROLES) -> pd.DataFrame:
    """The rows of the participants sheet whose role is a coding-unit role."""
    if "role" not in participants.columns:
        return participants if PARTICIPANT in units else participants.iloc[0:0]
    r = participants["role"].fillna("").astype(str).str.strip().replace("", PARTICIPANT)
    return participants[r.isin(list(units)).to_numpy()]


def segment_roles(segments: pd.DataFrame, moderator_id: str | None = None) -> pd.Series:
    """The role of each segment: its ``role`` column, or for segment tables written
    before roles existed ``facilitator`` for ``moderator_id``'s segments (when given)
    or those with an empty ``participant_id``, else ``participant``."""
    if "role" in segments.columns:
        return segments["role"].astype(str)
    if moderator_id and "speaker_id" in segments.columns:
        fac = (segments["speaker_id"] == moderator_id).to_numpy()
    elif "participant_id" in segments.columns:
        fac = (segments["participant_id"].fillna("").astype(str) == "").to_numpy()
    else:
        fac = np.zeros(len(segments), dtype=bool)
    return pd.Series(np.where(fac, FACILITATOR, PARTICIPANT), index=segments.index)


def with_roles(segments: pd.DataFrame, moderator_id: str | None = None) -> pd.DataFrame:
    """``segments`` with a ``role`` column (added by :func:`segment_roles` when absent)."""
    if "role" in segments.columns:
        return segments
    return segments.assign(role=segment_roles(segments, moderator_id).to_numpy())


def is_unit(segments: pd.DataFrame, units=DEFAULT_UNIT_ROLES) -> pd.Series:
    """Boolean mask: the segment is a coding unit (its role is in ``units``)."""
    return segment_roles(segments).isin(list(units))


def applicable(segments: pd.DataFrame, roles: tuple[str, ...] | None,
               units=DEFAULT_UNIT_ROLES) -> np.ndarray:
    """Boolean array: a code with ``roles`` (None = every unit role) applies to the
    segment (the segment is a coding unit of one of those roles)."""
    r = segment_roles(segments)
    allowed = list(units) if roles is None else [x for x in roles if x in units]
    return r.isin(allowed).to_numpy()


def applicability(segments: pd.DataFrame, codes: list[str], roles_of: dict | None,
                  units=DEFAULT_UNIT_ROLES) -> np.ndarray:
    """codes x segments boolean: code k applies to segment u."""
    roles_of = roles_of or {}
    r = segment_roles(segments)
    base = r.isin(list(units)).to_numpy()
    out = np.empty((len(codes), len(segments)), dtype=bool)
    cache: dict = {}
    for k, c in enumerate(codes):
        key = roles_of.get(c)
        key = tuple(sorted(key)) if key else None
        if key not in cache:
            cache[key] = base if key is None else r.isin([x for x in key if x in units]).to_numpy()
        out[k] = cache[key]
    return out


def role_labels(participants: pd.DataFrame | None = None, roster: pd.DataFrame | None = None,
                config: dict | None = None) -> frozenset[str]:
    """Words that name a role rather than a person, case-folded: the built-in role
    words (:data:`ROLE_WORDS`), the study's roles (sheets and ``code.roles``) and the
    codebook's code roles. Speaker labels such as "Therapist", "Client 2" or
    "Moderator" are not identifiers; the leak gate and the redactor may skip them."""
    words = set(ROLE_WORDS)
    for df in (participants, roster):
        if df is not None and "role" in df.columns:
            words |= {str(r).strip() for r in df["role"] if str(r).strip()}
    if config:
        words |= set((config.get("code") or {}).get("roles") or [])
    out = set()
    for w in words:
        w = w.casefold()
        out |= {w, w.replace("_", " "), w.replace("_", "-")}
    return frozenset(out)


def is_role_label(label: str, labels: frozenset[str] | None = None) -> bool:
    """True when a speaker label names a role, optionally numbered: "Therapist",
    "Client 2", "Moderator-1", "INTERVIEWER"."""
    labels = labels or role_labels()
    base = re.sub(r"[\s_-]*\d+$", "", str(label).strip()).casefold()
    return base in labels


def check_participants(participants: pd.DataFrame, path) -> None:
    """The participants sheet is keyed by (participant_id, session_id): one person may
    attend several sessions under one ID, and their attributes (every column but
    session_id and group) must then agree across rows. Errors name the file and both
    lines, never a cell value of a restricted sheet."""
    seen: dict[tuple[str, str], int] = {}
    first: dict[str, int] = {}
    attrs = [c for c in participants.columns if c not in ("participant_id", "session_id",
                                                          "group")]
    rows = participants.to_dict("records")
    for i, row in enumerate(rows):
        line = i + 2
        key = (row["participant_id"], row["session_id"])
        if key in seen:
            raise InputError(f"{path}, line {line}: participant {key[0]} is listed twice for "
                             f"session {key[1]} (line {seen[key]}); keep one row per person "
                             "and session")
        seen[key] = line
        role = role_of_row(row, PARTICIPANT)
        if not ROLE_RE.match(role):
            raise InputError(f"{path}, line {line}: role {role!r} is not a role name "
                             "(lower-case letters, digits, underscores, e.g. participant, "
                             "therapist, caregiver)")
        pid = row["participant_id"]
        if pid in first:
            j = first[pid]
            for col in attrs:
                a = role_of_row(rows[j - 2], PARTICIPANT) if col == "role" else \
                    str(rows[j - 2].get(col, "") or "")
                b = role if col == "role" else str(row.get(col, "") or "")
                if a != b:
                    raise InputError(f"{path}, line {line}: participant {pid} attends several "
                                     f"sessions, but column '{col}' differs from line {j}; "
                                     "a person's attributes must be the same on every row")
        else:
            first[pid] = line


def read_segment_columns(path, columns: list[str], only: bool = True) -> pd.DataFrame:
    """Read ``columns`` of a segment file plus its ``role`` (derived by
    :func:`segment_roles` for files written before roles existed)."""
    with open(path, encoding="utf-8") as fh:
        header = fh.readline().rstrip("\r\n").split("\t")
    cols = list(columns) + (["role"] if "role" in header and "role" not in columns else [])
    cols = [c for c in cols if c != "role" or "role" in header]
    return with_roles(read_tsv(path, cols, only=only))
