"""Replacement strategies other than tags: surrogates and date shifting."""

from __future__ import annotations

import re

import pandas as pd

from concord.deid.common import MONTHS, _ORD_UNITS, Candidate
from concord.deid.roster import _name_tokens

# Invented name parts: first names and surnames are syllable pairs from these
# lists (e.g. "Vessora", "Quarlow"), picked by a hash of study id + participant id
# (never of the original), skipping any that equals a roster name, alias or an
# original identifier of the session (checked in :class:`Surrogates`).
_FIRST_A = ["Ael", "Bre", "Cal", "Dov", "Ely", "Fen", "Gav", "Hal", "Isk", "Jor", "Kes",
            "Lur", "Mav", "Nol", "Orv", "Pel", "Quen", "Ros", "Sev", "Tam", "Ulv", "Ves",
            "Wyl", "Yor", "Zan"]
_FIRST_B = ["ara", "eth", "ine", "ora", "ric", "wen", "ian", "elle", "omir", "issa"]
_LAST_A = ["Ash", "Brin", "Corr", "Dun", "Elm", "Farr", "Glen", "Hask", "Ivel", "Kerr",
           "Lorn", "Merr", "Norr", "Pell", "Quar", "Rend", "Stav", "Thorn", "Varr", "Wend"]
_LAST_B = ["ow", "ick", "by", "ley", "mere", "wick", "ton", "stead"]
SURROGATE_FIRST = [a + b for a in _FIRST_A for b in _FIRST_B]
SURROGATE_LAST = [a + b for a in _LAST_A for b in _LAST_B]
SURROGATE_PLACES = [a + b for a in _FIRST_A for b in ["holm", "haven", "moor", "ford"]]
SURROGATE_FACILITY_KINDS = ["Hospital", "Medical Center", "Clinic", "Cancer Center"]
AGE_OVER_89 = "90 or older"


def _hash(*parts) -> int:
    import hashlib
    return int(hashlib.sha256("|".join(map(str, parts)).encode("utf-8")).hexdigest()[:15], 16)


def _pick(pool: list[str], seed: int, forbidden: set[str]) -> str:
    """The first string of ``pool`` from ``seed % len(pool)`` on whose words are not
    in ``forbidden`` (casefolded); pairs of pool strings if every one is taken."""
    n = len(pool)
    for i in range(n):
        s = pool[(seed + i) % n]
        if not any(w.casefold() in forbidden for w in s.split()):
            return s
    for i in range(n * n):
        s = pool[(seed + i) % n] + "-" + pool[(seed // n + i) % n].lower()
        if s.casefold() not in forbidden:
            return s
    raise ValueError("surrogate pool exhausted")


def _match_case(original: str, surrogate: str) -> str:
    letters = [ch for ch in original if ch.isalpha()]
    if len(letters) > 1 and all(ch.isupper() for ch in letters):
        return surrogate.upper()
    return surrogate


def _roster_words(roster: pd.DataFrame) -> set[str]:
    words: set[str] = set()
    for row in roster.itertuples(index=False):
        for s in [row.full_name, str(row.speaker_label)] + str(row.aliases).split(";"):
            words.update(re.findall(r"\w+", s.casefold()))
    return words


class RosterSurrogates:
    """Roster person -> (surrogate first name, surrogate surname), one per
    participant_id of the whole study, distinct, seeded by study id + participant id."""

    def __init__(self, roster: pd.DataFrame, study_id: str):
        self.forbidden = _roster_words(roster)
        self.first: dict[str, str] = {}
        self.last: dict[str, str] = {}
        self.surname_forms: dict[str, set[str]] = {}
        taken = set(self.forbidden)
        for row in roster.itertuples(index=False):
            toks = _name_tokens(row.full_name)
            if len(toks) > 1:
                self.surname_forms.setdefault(row.participant_id, set()).add(
                    toks[-1].casefold())
        for pid in sorted(set(roster["participant_id"])):
            f = _pick(SURROGATE_FIRST, _hash(study_id, pid, "first"), taken)
            taken.add(f.casefold())
            la = _pick(SURROGATE_LAST, _hash(study_id, pid, "last"), taken)
            taken.add(la.casefold())
            self.first[pid], self.last[pid] = f, la
        self.used = taken  # roster words and every roster surrogate

    def mention(self, pid: str, original: str) -> str:
        words = original.split()
        if len(words) > 1:
            s = f"{self.first[pid]} {self.last[pid]}"
        elif original.casefold() in self.surname_forms.get(pid, ()):
            s = self.last[pid]
        else:
            s = self.first[pid]
        return _match_case(original, s)


_ORD_WORDS = {w: i for i, w in enumerate(
    ["first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
     "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
     "seventeenth", "eighteenth", "nineteenth", "twentieth"], start=1)}
_ORD_WORDS.update({f"twenty-{u}": 20 + i for i, u in enumerate(_ORD_UNITS, start=1)})
_ORD_WORDS.update({"thirtieth": 30, "thirty-first": 31})
_ORD_BY_NUM = {v: k for k, v in _ORD_WORDS.items()}
_MONTH_INDEX = {m[:3].casefold(): i for i, m in enumerate(MONTHS, start=1)}
_MON = r"(?P<mon>[A-Za-z]+\.?)"
_DAYW = r"(?P<day>\d{1,2}(?:st|nd|rd|th)?|(?:twenty|thirty)[- ][a-z]+|[a-z]+)"
_YR = r"(?P<yr>,?\s+(?:19|20)\d\d)?"
_SHIFT_FORMS = [
    ("mon-year", re.compile(rf"{_MON}\s+(?P<of>of\s+)?(?P<y>(?:19|20)\d\d)", re.IGNORECASE)),
    ("slash", re.compile(r"(?P<m>\d{1,2})(?P<sep>[/.-])(?P<d>\d{1,2})(?:[/.-](?P<y>\d{4}|\d{2}))?")),
    ("iso", re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})")),
    ("mon-day", re.compile(rf"{_MON}(?P<the>\s+the)?\s+{_DAYW}{_YR}", re.IGNORECASE)),
    ("day-mon", re.compile(rf"(?P<the>the\s+)?{_DAYW}\s+(?P<of>of\s+)?{_MON}{_YR}",
                           re.IGNORECASE)),
]


def _suffix(d: int) -> str:
    return "th" if 10 <= d % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(d % 10, "th")


def shift_date(original: str, days: int) -> str | None:
    """``original`` (a detected date) moved by ``days``, in its own style; None when
    the form is not understood (then the tag is used)."""
    import datetime as dt
    s = " ".join(original.split())
    for form, rx in _SHIFT_FORMS:
        m = rx.fullmatch(s)
        if not m:
            continue
        g = m.groupdict()
        if form == "mon-year":  # month precision: the middle of the month moves
            mkey = g["mon"].rstrip(".")[:3].casefold()
            if mkey not in _MONTH_INDEX:
                return None
            new = dt.date(int(g["y"]), _MONTH_INDEX[mkey], 15) + dt.timedelta(days=days)
            name = _match_case(g["mon"], MONTHS[new.month - 1])
            return f"{name} {'of ' if g['of'] else ''}{new.year}"
        if form in ("slash", "iso"):
            mon, day = int(g["m"]), int(g["d"])
            y = g.get("y")
            year = (int(y) + (2000 if len(y) == 2 else 0)) if y else None
        else:
            mkey = g["mon"].rstrip(".")[:3].casefold()
            if mkey not in _MONTH_INDEX:
                return None
            mon = _MONTH_INDEX[mkey]
            dw = g["day"].casefold().replace(" ", "-")
            if dw[:1].isdigit():
                day = int(re.match(r"\d+", dw).group())
            elif dw in _ORD_WORDS:
                day = _ORD_WORDS[dw]
            else:
                return None
            year = int(g["yr"].strip(", ")) if g.get("yr") else None
        ref = year or (2020 if (mon, day) == (2, 29) else 2021)
        try:
            new = dt.date(ref, mon, day) + dt.timedelta(days=days)
        except ValueError:
            return None
        if form == "slash":
            mm = f"{new.month:0{len(g['m'])}d}"
            dd = f"{new.day:0{len(g['d'])}d}"
            out = f"{mm}{g['sep']}{dd}"
            if g["y"]:
                out += g["sep"] + (f"{new.year % 100:02d}" if len(g["y"]) == 2 else str(new.year))
            return out
        if form == "iso":
            return f"{new.year:04d}-{new.month:0{len(g['m'])}d}-{new.day:0{len(g['d'])}d}"
        mon_word = g["mon"]
        name = MONTHS[new.month - 1]
        if mon_word.rstrip(".").casefold() not in (mm.casefold() for mm in MONTHS):
            name = name[:3] + ("." if mon_word.endswith(".") else "")  # abbreviated
        name = _match_case(mon_word, name)
        dw = g["day"]
        if dw[:1].isdigit():
            day_s = str(new.day) + (_suffix(new.day) if not dw.isdigit() else "")
        else:
            day_s = _ORD_BY_NUM[new.day]
        yr = ""
        if g.get("yr"):
            yr = ("," if "," in g["yr"] else "") + " " + str(new.year)
        if form == "mon-day":
            return f"{name}{' the' if g['the'] else ''} {day_s}{yr}"
        return f"{'the ' if g['the'] else ''}{day_s} {'of ' if g['of'] else ''}{name}{yr}"
    return None


def date_offset(study_id: str, speaker: str, session: str, moderator_id: str) -> int:
    """Days (±1..365) by which a speaker's dates move: per participant across the
    study, per session for the moderator. Seeded; goes to the key, never to results."""
    h = _hash(study_id, session if speaker == moderator_id else "", speaker, "date_shift")
    days = 1 + h % 365
    return days if (h >> 20) % 2 else -days


def _gate_strings(strings) -> set[str]:
    """Casefolded, single-spaced; only what the leak gate looks for (at least 2
    characters; a letter, or 5+ digits)."""
    out = {" ".join(x.split()).casefold() for x in strings}
    return {x for x in out if len(x) > 1 and (re.search(r"[^\W\d_]", x)
                                              or len(re.sub(r"\D", "", x)) >= 5)}


def _contains_any(s: str, strings: set[str]) -> bool:
    """Whether a word-bounded part of ``s`` (no letter or digit just before or after,
    as the leak gate matches) is in ``strings`` (casefolded, single-spaced)."""
    s = " ".join(s.split()).casefold()
    starts = [i for i in range(len(s)) if i == 0 or not s[i - 1].isalnum()]
    ends = [j for j in range(1, len(s) + 1) if j == len(s) or not s[j].isalnum()]
    return any(s[i:j] in strings for i in starts for j in ends if j > i)


def _age_value(s: str) -> int | None:
    s = s.strip().casefold()
    if s.isdigit():
        return int(s)
    if s.startswith("ninety"):
        return 90
    return None


class Surrogates:
    """Replacement strings for one session in ``surrogates`` mode (see
    :func:`deidentify_session`)."""

    def __init__(self, roster_sur: RosterSurrogates, study_id: str, session: str,
                 originals: set[str]):
        self.r = roster_sur
        self.study_id, self.session = study_id, session
        self.forbidden = set(roster_sur.used)
        for o in originals:
            self.forbidden.update(re.findall(r"\w+", o.casefold()))
        self.forbidden_full = _gate_strings(originals)
        self.seen: dict[tuple, str] = {}
        self.counts: dict[str, int] = {}

    def _new(self, kind: str, pool: list[str]) -> str:
        n = self.counts[kind] = self.counts.get(kind, 0) + 1
        s = _pick(pool, _hash(self.study_id, self.session, kind, n), self.forbidden)
        self.forbidden.add(s.casefold())
        self.forbidden.update(w.casefold() for w in s.split())
        return s

    def other(self, c: Candidate, original: str) -> str | None:
        """Surrogate for a non-roster identifier; None -> use the tag."""
        k = (c.type, " ".join(original.split()).casefold())
        if c.type == "AGE":
            v = _age_value(original)
            return AGE_OVER_89 if v is not None and v > 89 else None
        if c.type == "DATE":
            return None
        if k in self.seen:
            return _match_case(original, self.seen[k])
        n = sum(1 for x in self.seen if x[0] == c.type) + 1
        if c.type == "NAME":
            if len(original.split()) > 1:
                s = self._new("NAME", SURROGATE_FIRST) + " " + self._new("NAME-last",
                                                                          SURROGATE_LAST)
            elif c.detector == "title":
                s = self._new("NAME-last", SURROGATE_LAST)
            else:
                s = self._new("NAME", SURROGATE_FIRST)
        elif c.type == "LOCATION":
            if c.detector == "zip":
                s = f"{n - 1:05d}"
            elif c.detector == "address":
                s = f"{100 * n} {self._new('street', SURROGATE_LAST)} Lane"
            else:
                s = self._new("LOCATION", SURROGATE_PLACES)
        elif c.type == "FACILITY":
            place = self._new("FACILITY", SURROGATE_PLACES)
            s = f"{place} {SURROGATE_FACILITY_KINDS[_hash(self.study_id, place) % 4]}"
        elif c.type == "PHONE":
            digits = re.sub(r"\D", "", original)
            # 555-00xx: the fictional 555-01xx range is what invented transcripts use
            s = ("555-555-" if len(digits) >= 10 else "555-") + f"00{n % 100:02d}"
        elif c.type == "EMAIL":
            s = f"user{n}@example.org"
        elif c.type == "URL":
            s = f"www.example.org/page{n}"
        elif c.type == "ID":
            s = f"ZZ{n:06d}"
        else:
            return None
        if _contains_any(s, self.forbidden_full):
            return None
        self.seen[k] = s
        return _match_case(original, s)
