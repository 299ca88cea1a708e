"""The detector registry.

A detector is one :class:`Detector` object: a ``name`` (unique), the ``label`` written
to ``redactions.tsv`` (several detectors may share one, e.g. the three date
patterns are all ``date``), the identifier ``type`` it finds, a ``priority`` (lower
wins an overlap of equal length), a ``gate`` (the key of a necessary condition in
:mod:`concord.deid.gates`: the detector runs only over the turns that meet it; ``all``
= every turn), ``find`` (text -> candidates, offsets in the text) and ``propagates``
(what it finds is also redacted where it occurs alone elsewhere in the study).

Adding a detector: write ``find`` in the module of its family (contact, ids, dates,
ages, places, names), add one :class:`Detector` to :data:`DETECTORS`, one test row in
``tests/test_deidentify.py::test_each_detector`` and a line in ``docs/extending.md``.
The roster matcher and the gazetteer depend on the study, not only the text: they are
registered with ``find=None`` and run by :func:`concord.deid.detect.detect_turns`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from concord.deid.common import Candidate, _pattern, _pattern2
from concord.deid.detectors import addresses, ages, contact, dates, ids, names, places
from concord.deid.common import KIN_RE, NAMED_RE, TITLE_RE


@dataclass(frozen=True)
class Detector:
    name: str
    label: str
    type: str
    priority: int
    gate: str
    find: Callable[[str], list[Candidate]] | None
    propagates: bool = False


def _re(regex, type_, label, group=None):
    return lambda text: _pattern(regex, text, type_, label, group)


def _re2(regex, type_, label, g1, g2):
    def find(text):
        a, b = _pattern2(regex, text, type_, label, g1, g2)
        return a + b
    return find


# In the order they run (the order of candidates before resolution).
DETECTORS: list[Detector] = [
    Detector("email", "email", "EMAIL", 0, "email", _re(contact._EMAIL, "EMAIL", "email")),
    Detector("url", "url", "URL", 1, "url", _re(contact._URL, "URL", "url")),
    Detector("roster", "roster", "NAME", 2, "all", None),
    Detector("phone", "phone", "PHONE", 3, "phone", _re(contact._PHONE, "PHONE", "phone")),
    Detector("record", "record", "ID", 4, "record", _re(ids._RECORD, "ID", "record", "v")),
    Detector("long-number", "long-number", "ID", 12, "digits6",
             _re(ids._LONGNUM, "ID", "long-number")),
    Detector("date", "date", "DATE", 5, "date", _re(dates._DATE, "DATE", "date")),
    Detector("age-cue", "age", "AGE", 11, "age_cue", _re(ages._AGE_CUE, "AGE", "age", "v")),
    Detector("age-years", "age", "AGE", 11, "age_years",
             _re(ages._AGE_YEARS, "AGE", "age", "v")),
    Detector("age-relative", "age", "AGE", 11, "age_rel",
             _re2(ages._AGE_REL, "AGE", "age", "v", "w")),
    Detector("place-cue", "place-cue", "LOCATION", 10, "place", places._place_cues,
             propagates=True),
    Detector("address", "address", "LOCATION", 6, "digit",
             _re(places._ADDRESS, "LOCATION", "address")),
    Detector("zip", "zip", "LOCATION", 6, "digits5",
             _re2(places._ZIP, "LOCATION", "zip", "v", "w")),
    Detector("date-holiday", "date", "DATE", 5, "digits4",
             _re(dates._DATE_HOLIDAY, "DATE", "date")),
    Detector("date-day", "date", "DATE", 5, "digit", _re(dates._DATE_DAY, "DATE", "date", "v")),
    Detector("date-month", "date", "DATE", 5, "month",
             _re(dates._DATE_MONTH, "DATE", "date", "v")),
    Detector("admin-unit", "admin-unit", "LOCATION", 10, "admin",
             _re(places._ADMIN_UNIT, "LOCATION", "admin-unit"), propagates=True),
    Detector("age-old", "age", "AGE", 11, "age_old", _re(ages._AGE_OLD, "AGE", "age", "v")),
    Detector("named", "named", "NAME", 8, "named",
             lambda x: names._cue_names(NAMED_RE, x, "named"), propagates=True),
    Detector("facility", "facility", "FACILITY", 6, "facility", places._facilities),
    Detector("title", "title", "NAME", 7, "title",
             lambda x: names._cue_names(TITLE_RE, x, "title"), propagates=True),
    Detector("kinship", "kinship", "NAME", 8, "kin",
             lambda x: names._cue_names(KIN_RE, x, "kinship"), propagates=True),
    Detector("gazetteer", "gazetteer", "LOCATION", 10, "all", None),
    # library-backed detectors (libphonenumber, python-stdnum, ipaddress, census names,
    # wordfreq, GeoNames)
    Detector("email-spoken", "email-spoken", "EMAIL", 0, "email_spoken", contact.spoken_emails),
    Detector("handle", "handle", "URL", 1, "email", contact.handles),
    Detector("phone-lib", "phone", "PHONE", 3, "digit", contact.phones),
    Detector("phone-shape", "phone", "PHONE", 3, "digit", contact.phone_shapes),
    Detector("id-checked", "id-checked", "ID", 4, "digit", ids.checked_numbers),
    Detector("ip-address", "ip-address", "ID", 4, "ip", contact.ip_addresses),
    Detector("postcode", "postcode", "LOCATION", 6, "postcode", places.postcodes),
    Detector("place-name", "place-name", "LOCATION", 10, "all", places.place_names),
    # address blocks (street, units, town, region, postcode; over consecutive turns)
    Detector("address-block", "address", "LOCATION", 6, "all", addresses.address_blocks),
    Detector("name-freq", "name-freq", "NAME", 9, "all", names.free_names),
]
PRIORITY_EXTRA = {"name-unknown": 13}

# priority per label (what a candidate carries); "propagated": names and places found
# by a propagating detector, matched where they occur alone
PRIORITY: dict[str, int] = {"propagated": 9, "roster-ambiguous": 2, **PRIORITY_EXTRA}
for _d in DETECTORS:
    PRIORITY.setdefault(_d.label, _d.priority)
# labels whose finds are propagated (study lexicon, bare mentions)
# A name redacted once is redacted wherever it recurs in the session (capitalised): the
# leak gate looks for every key entry everywhere, so a name found without a cue (census
# name, unknown capitalised word redacted on review's suggestion) propagates too.
PROPAGATING = tuple(dict.fromkeys([*(d.label for d in DETECTORS if d.propagates),
                                   "name-freq", "name-unknown"]))
