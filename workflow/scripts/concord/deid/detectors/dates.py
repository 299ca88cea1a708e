"""Dates more specific than a year."""

from __future__ import annotations

import re

from concord.deid.common import DAYNUM_RE, MONTH_RE, ORD_RE, YEAR_RE

_DATE = re.compile(
    r"\b\d{4}-\d{1,2}-\d{1,2}(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?\b"
    r"|\b\d{1,2}[/.-]\d{1,2}[/.-](?:\d{4}|\d{2})\b"
    r"|\b\d{1,2}/(?:19|20)\d\d\b"
    rf"|\b{MONTH_RE}\s+(?:the\s+)?(?:{DAYNUM_RE}|{ORD_RE})\b{YEAR_RE}?"
    rf"|\b(?:the\s+)?(?:{DAYNUM_RE}|{ORD_RE})\s+(?:of\s+)?{MONTH_RE}(?!\w){YEAR_RE}?"
    rf"|\b{MONTH_RE}\s+(?:of\s+)?(?:19|20)\d\d\b")

_HOLIDAYS = (r"(?:Thanksgiving|Christmas(?:\s+Eve|\s+Day)?|New\s+Year['’]s(?:\s+Eve|\s+Day)?|"
             r"Easter|Halloween|Valentine['’]s\s+Day|Independence\s+Day|(?:the\s+)?Fourth\s+of\s+"
             r"July|Memorial\s+Day|Labor\s+Day|Mother['’]s\s+Day|Father['’]s\s+Day)")
_DATE_HOLIDAY = re.compile(  # a holiday with its year is a specific date
    rf"\b{_HOLIDAYS}\s+(?:of\s+)?(?:19|20)\d\d\b")
_DATE_DAY = re.compile(
    # a day of the month alone ("by the 14th"), month/day without a year ("was 10/14"),
    # after a date cue; only the date is redacted
    r"\b(?:on|by|until|till|since|before|after|from)\s+"
    r"(?P<v>the\s+(?:[12][0-9]|3[01]|0?[1-9])(?:st|nd|rd|th)\b"
    r"|(?:1[0-2]|0?[1-9])/(?:3[01]|[12][0-9]|0?[1-9])(?![\d/]))")
