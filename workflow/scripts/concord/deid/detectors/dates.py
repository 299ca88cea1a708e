"""Dates more specific than a year.

What is redacted, and why (HIPAA Safe Harbor, 45 CFR 164.514(b)(2)(i)(C): "all elements
of dates (except year) for dates directly related to an individual"; the same rule
guides the GDPR-era guidance we follow for participants outside the US):

* a full date in any written form ("2019-03-04 10:30", "3/4/2019", "4 March 2019",
  "March the fourth", "the 4th of March"), a month with its year ("March 2019"), a
  holiday with its year ("Christmas 2021"), a day of the month after a date cue ("by the
  14th", "since 10/14");
* a month named as a time (after a date cue: "in March", "since May", "last
  September", "early June", "back in April"): the month is an element of a date, and in
  a focus group it dates an event of the speaker's life (a diagnosis, a death, a move).
  A month is redacted only after such a cue: "May I ask", "the March for Science" and
  a participant called April keep their words (the roster decides on names).

What is kept, on purpose:

* a bare year ("in 2019", "since 1997"): Safe Harbor lets the year stand, and years
  carry the chronology an analyst needs (before/after a policy, a pandemic);
* a weekday alone ("on Saturday", "every Monday"): not an element of a date -- it
  names no particular day without a calendar date, and focus-group speech is full of
  routines ("chemo on Tuesdays") whose loss would harm the analysis;
* times of day ("at 10:30") and holidays without a year ("at Christmas").

On the presidio-research synthetic set 71 of the 119 DATE_TIME spans are a bare year (53) or
a weekday: they stay unredacted by this decision (BENCHMARKS.md reports the recall of
structured identifiers with and without them).
"""

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

# a month named as a time: after a date cue (the month only is redacted)
_DATE_MONTH = re.compile(
    r"\b(?i:in|since|until|till|by|last|next|early|late|mid|mid-|during|through|from|"
    r"before|after|around|this|that|of|every|each|(?:back|around|sometime|until)\s+in)"
    rf"\s+(?P<v>{MONTH_RE})(?![\w'’-])")

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
