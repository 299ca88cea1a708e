"""Ages (the number only)."""

from __future__ import annotations

import re

from concord.deid.common import AGE_NUM_RE, KIN_WORDS, NUMWORD_RE, _UNITS

_DURATION_AFTER = (r"(?!\s*(?:%|percent|mg|milligrams?|ml|cc|kg|kilos?|lbs?|pounds?|minutes?|"
                   r"mins?|hours?|hrs?|days?|weeks?|months?|years?|cycles?|rounds?|times?|"
                   r"doses?|pills?|tablets?|miles?|feet|foot|inches|cm|mm|o'clock|a\.?m\b|"
                   r"p\.?m\b|out\b|of\b|x\b|treatments?|infusions?|sessions?|visits?|kids|"
                   r"children|grandchildren|people|patients?|st\b|nd\b|rd\b|th\b|\.\d|,\d|"
                   r"[/:-]\d))")
_AGE_CUE = re.compile(
    r"\b(?:I'm|I’m|I\s+am|I\s+was|[Ss]he's|[Hh]e's|[Ss]he’s|[Hh]e’s|[Ss]he\s+is|[Hh]e\s+is|"
    r"[Ss]he\s+was|[Hh]e\s+was|turned|turning|turn|[Aa]ged|[Aa]ge(?:\s+of)?|at\s+age|just\s+turned)\s+"
    r"(?P<v>" + AGE_NUM_RE + r")(?![\w-])" + _DURATION_AFTER, re.IGNORECASE)
_AGE_REL = re.compile(
    r"\b(?:lived\s+to(?:\s+be)?|died\s+at|passed\s+(?:away\s+)?at|made\s+it\s+to)\s+"
    r"(?P<v>" + AGE_NUM_RE + r")(?![\w-])" + _DURATION_AFTER
    + r"|\b(?:" + "|".join(re.escape(w) for w in sorted(KIN_WORDS, key=len, reverse=True))
    + r")s?\s+(?:is|was|will\s+be|just\s+turned|turned|turns)\s+(?P<w>" + AGE_NUM_RE
    + r")(?![\w-])" + _DURATION_AFTER, re.IGNORECASE)
_AGE_YEARS = re.compile(
    r"(?<![\w.-])(?P<v>\d{1,3}|" + NUMWORD_RE + r")(?:\s+|-)years?(?:\s+|-)old\b",
    re.IGNORECASE)

_AGE_OLD = re.compile(  # ages over 89 after "at" ("at 94 she still gardens")
    r"\b[Aa]t\s+(?P<v>9[0-9]|1[01][0-9]|ninety(?:[- ](?:" + "|".join(_UNITS) + r"))?)(?![\w-])"
    + _DURATION_AFTER + r"(?!\s*(?:degrees|mph|dollars|bucks))", re.IGNORECASE)
