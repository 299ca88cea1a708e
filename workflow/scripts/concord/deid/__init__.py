"""De-identification of raw focus-group transcripts (pure functions), as a package.

Modules: :mod:`~concord.deid.common` (records, types, shared word lists),
:mod:`~concord.deid.roster` (roster loading, :class:`NameIndex`),
:mod:`~concord.deid.matcher` (many-string word matcher),
:mod:`~concord.deid.detectors` (the registry :data:`DETECTORS`; one module per family:
contact, ids, dates, ages, places, names), :mod:`~concord.deid.gates` (necessary
conditions), :mod:`~concord.deid.detect` (detection and overlap resolution),
:mod:`~concord.deid.surrogates` (surrogates, date shifting),
:mod:`~concord.deid.assemble` (:func:`deidentify_session`),
:mod:`~concord.deid.review` (review list, decisions, allow/deny lists),
:mod:`~concord.deid.restricted` (0700 folders, 0600 files, no symlinks),
:mod:`~concord.deid.evaluate` (summary, recall against gold spans).

A raw transcript in the ``labelled`` format has ``#`` header lines, blank lines
and turns ``Label: text``. :func:`deidentify_session` turns it into

* the de-identified text: one line per turn, ``SPEAKER<TAB>text``, the speaker
  replaced by its pseudonym (``P07`` or the moderator id, e.g. ``MOD``);
* redactions: ``start``, ``end`` (offsets of the *replacement* in the
  de-identified file content), ``type``, ``replacement``, ``detector`` -- never
  the original string;
* key entries ``original -> replacement`` (restricted, written 0600 by the script).

Detectors (all offline, rule-based; candidates are collected on the raw turn text,
overlaps are resolved longest-first, then by detector priority):

``email``, ``url``
    address patterns -> ``[EMAIL]``, ``[URL]``.
``roster``
    every roster person of the whole study (not only this session): full name,
    first name, surname, aliases, any case (``maria``, ``MARIA``), possessives
    (``Maria's`` -> ``[P07]'s``), word-bounded, longest first -> ``[P07]`` /
    ``[MOD]``. A name token that is also a common English word (``Hope``,
    ``June``, ``Rose``, ``Will``, see :data:`COMMON_WORD_NAMES`) only matches in
    its capitalised form, not at the start of a sentence, and (for month names)
    not after a date preposition ("in May") or before a day number. A token
    shared by several roster people is resolved to the one in this session if
    unique, otherwise it becomes a generic ``[NAME-n]``.
``phone``
    North-American and international numbers, 7-digit local numbers -> ``[PHONE]``.
``record``
    a cue (``MRN``, ``medical record number``, ``patient ID``, ``chart number``
    ...) followed by a code; only the code is replaced -> ``MRN [ID]``.
``long-number``
    any other run of 6+ digits -> ``[ID]``.
``date``
    dates more specific than a year: ``3/3/21``, ``2021-03-03``, ``March 3rd``,
    ``March 3, 2021``, ``3rd of March``, ``the third of March``, ``March the
    third``, ``March 2021``, a holiday with its year (``Thanksgiving 2021``), a day
    or month/day after a date preposition (``by the 14th``, ``on 10/14``) ->
    ``[DATE]``. A month name alone, and a holiday without a year, are kept.
``age``
    ``I'm 47``, ``I am forty-seven``, ``turned 60``, ``aged 52``, ``47 years old``,
    ``47-year-old``; only the number is replaced -> ``I'm [AGE]``,
    ``[AGE] years old``. Durations (``I'm 2 weeks out``) are not ages.
    Relatives' ages too: ``my mom is 93``, ``lived to 91``, ``died at 88``, and
    ages over 89 after "at" (``at 94 she still gardens``).
``facility``
    capitalised words before a cue word (``Memorial``, ``General``, ``Hospital``,
    ``Clinic``, ``Cancer Center``, ``Medical Center``, ``Regional``, ``Pavilion``,
    ``Institute``, ``Center`` ...), ``Memorial`` +
    capitalised words, ``St. X`` / ``Saint X`` -> ``[FACILITY]``.
``title``
    a title (any case: ``dr.`` as transcribed; also ``Reverend``, ``Chaplain``) and
    a capitalised name: ``Dr. Okafor`` -> ``Dr. [NAME-1]`` (the title is kept, so
    the role stays readable).
``named``
    ``named X``, ``called X``, ``name is X`` -> ``named [NAME-n]`` (pets too: they
    are over-redacted rather than risk a person).
``kinship``
    a kinship or relationship cue and a capitalised name: ``my husband Tom`` ->
    ``my husband [NAME-2]``; a month that is also a first name counts here
    (``my mom June``), unless a day number follows (then it is a date).
``propagated``
    a name found by ``title``, ``kinship`` or ``named`` (or a place found by a cue)
    anywhere in the session is also
    replaced where it occurs alone (same rules as roster names).
``place-cue``
    capitalised words after a residence/travel cue (``we moved to Glenhaven``,
    ``drove in from Harbor Falls``, ``patients from out around Fenwick``,
    ``... Medical Center in Alder Bay``) -> ``[LOCATION]``; propagated like names.
``address``, ``zip``, ``admin-unit``
    street addresses (number, capitalised words, a street type: ``1423 Maple Ridge
    Drive``, ``Apt 4``), PO boxes, ZIP codes after a cue (``ZIP is 02139``) or a
    state code (``MA 02139``), counties/parishes/boroughs/townships (``Travis
    County``) -> ``[LOCATION]``.
``gazetteer``
    place names from an optional list (``deidentify.gazetteer``) -> ``[LOCATION]``.

``[NAME-n]`` numbers are per session, in order of first appearance, and the same
string (case-insensitively) always gets the same number.
"""

from concord.deid.assemble import (deidentify_session, read_gazetteer, study_lexicon,
                                   study_originals)
from concord.deid.common import (COMMON_WORD_NAMES, REDACTION_COLUMNS, ROSTER_COLUMNS, TYPES,
                                 Candidate, Result, Turn)
from concord.deid.detect import detect, detect_turns, resolve
from concord.deid.detectors import DETECTORS, PRIORITY, Detector
from concord.deid.evaluate import recall_by_type, summarise
from concord.deid.roster import NameIndex, check_roster_identities, load_roster, parse_labelled
from concord.deid.surrogates import RosterSurrogates, Surrogates, date_offset, shift_date

__all__ = ["COMMON_WORD_NAMES", "DETECTORS", "PRIORITY", "REDACTION_COLUMNS", "ROSTER_COLUMNS",
           "TYPES", "Candidate", "Detector", "NameIndex", "Result", "RosterSurrogates",
           "Surrogates", "Turn", "check_roster_identities", "date_offset", "deidentify_session",
           "detect", "detect_turns", "load_roster", "parse_labelled", "read_gazetteer",
           "recall_by_type", "resolve", "shift_date", "study_lexicon", "study_originals",
           "summarise"]
