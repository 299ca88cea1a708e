"""Contact details: e-mail addresses, URLs, phone numbers."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL = re.compile(r"(?:\bhttps?://|\bwww\.)[^\s<>\"]+|\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|"
                  r"edu|gov|io|info|health|co\.uk|org\.uk)(?:/[^\s<>\"]*)?\b", re.IGNORECASE)
_PHONE = re.compile(
    r"(?<![\w+])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?!\w)"
    r"|(?<![\w+])\+\d{1,3}(?:[\s.-]?\(?\d{1,5}\)?){2,5}(?!\w)"
    r"|(?<![\w.-])\d{3}-\d{4}(?![\w-])"
    r"|(?<!\w)0\d{3,4}\s?\d{6}(?!\w)")

import functools  # noqa: E402
import ipaddress  # noqa: E402

import phonenumbers  # noqa: E402

from concord.deid.common import Candidate, guarded  # noqa: E402

# libphonenumber (Google's, via ``phonenumbers``): numbers in the national formats of
# these regions and every international (+CC) format; VALID = a number that can exist
_PHONE_REGIONS = ("US", "GB")  # + every +CC number in either


# where a phone number can be: digits with separators, 7+ characters
_PHONE_AREA = re.compile(r"(?:\+|\(|\b)\d[\d ().\-/]{5,24}\d\b")


# any digits after a phone cue ("Phone: 780 6326", "Mobile: 0688 843 79 56", "x0135")
_PHONE_CUE = re.compile(
    r"\b(?i:phone|tel|telephone|mobile|cell|fax|desk|office|landline|call\s+me\s+(?:at|on)|"
    r"text\s+me\s+(?:at|on)|reach\s+me\s+(?:at|on)|number\s+is)\s*(?:number)?\s*[:.#]?\s*"
    r"(?P<v>(?:\+|\()?\d[\d ().\-/]{4,20}\d(?:\s?(?:x|ext\.?)\s?\d{1,5})?)(?![\w])")


@functools.lru_cache(maxsize=65536)
def _phone_spans(seg: str) -> tuple[tuple[int, int], ...]:
    """The spans (in ``seg``) of the numbers libphonenumber finds in one digit run, for
    each region of :data:`_PHONE_REGIONS` in turn (a pure function of the run: cached,
    the same dates and numbers recur in a study)."""
    return tuple((m.start, m.end) for region in _PHONE_REGIONS
                 for m in phonenumbers.PhoneNumberMatcher(seg, region,
                                                          leniency=phonenumbers.Leniency.VALID))


def phones(text: str) -> list[Candidate]:
    """Phone numbers recognised by libphonenumber in the national formats of
    :data:`_PHONE_REGIONS` (and international ones); libphonenumber runs only over
    the digit runs that can hold one (it is slow on long text)."""
    seen: set[tuple[int, int]] = set()
    out = []
    for area in guarded(_PHONE_AREA).finditer(text):
        off = area.start()
        for s, e in _phone_spans(area.group()):
            span = (off + s, off + e)
            if span not in seen:
                seen.add(span)
                out.append(Candidate(span[0], span[1], "PHONE", "phone"))
    for m in guarded(_PHONE_CUE).finditer(text):
        out.append(Candidate(m.start("v"), m.end("v"), "PHONE", "phone"))
    return out


# an address read aloud: "hope dot d at gmail dot com", "j underscore smith at nhs dot net"
_SPOKEN_TLD = r"(?:com|org|net|edu|gov|io|info|me|co|uk|us|ca|au|ie|de|fr|mail)"
_SPOKEN_EMAIL = re.compile(
    r"\b[A-Za-z0-9]+(?:\s*(?:\bdot\b|\bunderscore\b|\bdash\b|\bhyphen\b|[._-])\s*[A-Za-z0-9]+)*"
    r"\s+(?:at|@)\s+[A-Za-z0-9-]+(?:\s+dot\s+[A-Za-z0-9-]+)*\s+dot\s+" + _SPOKEN_TLD + r"\b",
    re.IGNORECASE)
_SPOKEN_LEAD = re.compile(r"(?i)^(?:(?:is|me|at|to|it's|it’s|email|e-mail|mail|address|was|"
                          r"write|its|and|or|just|my|the|me\s+at)\s+)+")


def spoken_emails(text: str) -> list[Candidate]:
    out = []
    for m in _SPOKEN_EMAIL.finditer(text):
        s, e = m.span()
        lead = _SPOKEN_LEAD.match(text[s:e])
        if lead:  # "email me at ..." is not part of the address
            s += lead.end()
        if re.search(r"(?i)\s(?:at|@)\s", text[s:e]):
            out.append(Candidate(s, e, "EMAIL", "email-spoken"))
    return out


# a social-media handle: "@hopedelacroix" (not the @ of an e-mail address)
_HANDLE = re.compile(r"(?<![\w.@])@[A-Za-z0-9_](?:[A-Za-z0-9_.]{0,28}[A-Za-z0-9_])?(?![\w@])")


def handles(text: str) -> list[Candidate]:
    return [Candidate(m.start(), m.end(), "URL", "handle") for m in guarded(_HANDLE).finditer(text)]


# (opens with its first digit, tested for what precedes it after: re skips to digits)
_IP4 = re.compile(r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?![\w]|\.\d)")
_IP6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")


def ip_addresses(text: str) -> list[Candidate]:
    """IPv4 and IPv6 addresses (checked by :mod:`ipaddress`)."""
    out = []
    for rx in (_IP4, _IP6):
        for m in guarded(rx).finditer(text):
            try:
                ipaddress.ip_address(m.group())
            except ValueError:
                continue
            if rx is _IP6 and m.group().count(":") < 2:
                continue
            out.append(Candidate(m.start(), m.end(), "ID", "ip-address"))
    return out


# ---------------------------------------------------------------------------
# phone numbers in any national format, by their shape

# digit groups as phone numbers are written in most national plans: an optional +CC,
# an optional area code in parentheses, an optional "(0)" trunk prefix, then 2-6
# groups of digits joined by single spaces, hyphens or dots, 7-15 digits in all, an
# optional extension ("x 12", "ext. 345"): "024 971 50 30" (NL), "(08) 8747 6301" (AU),
# "0680 298 70 63" (FR), "71-33-52-22", "416 60 039" (SE), "21 253 109 8211",
# "0961-7596216", "+46 (0)8 928 571 38", "467 3395" (US local)
_PHONE_SHAPE = re.compile(
    r"(?<![\w$£€¥./:+#-])(?<!\d[.,])"
    r"(?P<p>(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?(?:\(0\)\s?)?"
    r"\d{1,5}(?:(?:[ .-]|\)\s?)\d{2,8}){1,5}"
    r"|\d{10,15})"
    r"(?P<x>\s?(?i:x|ext\.?|extension)\s?\d{1,5})?"
    r"(?![\w%/:]|[.,]\d|-\d|\s*(?:%|percent|per\b|dollars|bucks|pounds|euros|people|patients|"
    r"times|words|calories|mg|units|cases|deaths|miles|km|steps|years|months|days|hours|"
    r"minutes|seconds))")
_YEAR_GROUP = re.compile(r"(?:19|20)\d\d")

from concord.deid.detectors.dates import _DATE  # noqa: E402


def _other_identifier(num: str) -> bool:
    from stdnum import luhn
    from stdnum.gb import nhs
    from stdnum.us import ssn
    try:
        ipaddress.ip_address(num)
        return True
    except ValueError:
        pass
    digits = re.sub(r"\D", "", num)
    if re.fullmatch(r"\d{3}([- ]?)\d{2}\1\d{4}", num) and ssn.is_valid(digits):
        return True
    if re.fullmatch(r"\d{3}([- ]?)\d{3}\1\d{4}", num) and nhs.is_valid(digits):
        return True
    return 13 <= len(digits) <= 19 and luhn.is_valid(digits)


def phone_shapes(text: str) -> list[Candidate]:
    """Phone numbers by their shape (:data:`_PHONE_SHAPE`), in every national format
    without a region hint: what libphonenumber (:func:`phones`) cannot validate
    without knowing the country. Not a run of years ("2019 2020"), a decimal number
    ("1234.5678"), nor fewer than 7 digits."""
    out = []
    for m in guarded(_PHONE_SHAPE).finditer(text):
        num = m.group("p")
        groups = re.findall(r"\d+", num)
        digits = sum(len(g) for g in groups)
        if not 7 <= digits <= 15:
            continue
        if all(len(g) == 4 and _YEAR_GROUP.fullmatch(g) for g in groups):
            continue
        if "." in num and len(groups) < 3:
            continue
        if _DATE.fullmatch(num):    # "2021-03-03", "11.02.2022": a date
            continue
        if _other_identifier(num):  # an IP address, SSN, NHS or card number: an ID
            continue
        out.append(Candidate(m.start(), m.end(), "PHONE", "phone"))
    return out
