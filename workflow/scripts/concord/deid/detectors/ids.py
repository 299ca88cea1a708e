"""Identifying numbers: record numbers after a cue, long digit runs."""

from __future__ import annotations

import re

_RECORD = re.compile(
    r"\b(?:MRN|M\.R\.N\.|[Mm]edical\s+[Rr]ecord(?:\s+(?:[Nn]umber|[Nn]o\.?|#))?|"
    r"[Rr]ecord\s+(?:[Nn]umber|[Nn]o\.?|#)|[Pp]atient\s+(?:ID|[Nn]umber|[Nn]o\.?)|"
    r"[Cc]hart\s+(?:[Nn]umber|[Nn]o\.?)|[Aa]ccount\s+(?:[Nn]umber|[Nn]o\.?)|"
    r"[Mm]ember\s+(?:ID|[Nn]umber)|[Pp]olicy\s+[Nn]umber|[Ii]nsurance\s+(?:ID|[Nn]umber)|"
    r"ID(?:\s+[Nn]umber)?|SSN|[Ss]ocial\s+[Ss]ecurity(?:\s+[Nn]umber)?)"
    r"(?:\s*(?:is|was|:|#|number|no\.?))*\s*"
    r"(?P<v>[A-Z]{0,4}[-\s]?\d[\d-]{3,}[A-Za-z0-9]*)")
# (the digit patterns open with the digit and test what precedes it by a lookbehind of
# two characters: re then skips to the next digit in C; same matches as the forms with
# the lookbehind first, which tests/test_deid_scan_speed.py keeps and compares)
_LONGNUM = re.compile(r"\d(?<![\w.,]\d)\d{5,}(?![\w.,]\d)")

from stdnum import iban, luhn  # noqa: E402
from stdnum.gb import nhs  # noqa: E402
from stdnum.us import ssn  # noqa: E402

from concord.deid.common import Candidate, guarded  # noqa: E402

# python-stdnum validators: a number is an ID only if its check digits (or, for
# SSNs, the issuing rules) hold -- no cue word needed
_SSN = re.compile(r"\d(?<![\w-]\d)\d{2}([- ]?)\d{2}\1\d{4}(?![\w-]|[.,]\d)")
_NHS = re.compile(r"\d(?<![\w-]\d)\d{2}([- ]?)\d{3}\1\d{4}(?![\w-]|[.,]\d)")
_CARD = re.compile(r"\d(?<![\w-]\d)\d{3}([- ]?)\d{4}\1\d{4}\1\d{1,7}(?![\w-]|[.,]\d)")
_IBAN = re.compile(r"\b[A-Za-z]{2}\d{2}(?: ?[A-Za-z0-9]{4}){2,7}(?: ?[A-Za-z0-9]{1,4})?\b")
# UK National Insurance number (format rules of HMRC's NIM39110)
_NINO = re.compile(r"\b(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]"
                   r" ?\d{2} ?\d{2} ?\d{2} ?[A-D]\b")
# passport / driving licence / NHS / NI numbers after their cue (shapes vary by country)
_DOC_CUE = re.compile(
    r"\b(?i:passport|driv(?:er['’]?s|ing)\s+licen[cs]e|licen[cs]e|NHS|national\s+insurance|"
    r"NI|national\s+id|ID\s+card|tax\s+id|TIN|VAT|EIN|ITIN|routing|sort\s+code|IBAN|card)"
    r"(?:\s*(?:number|no\.?|#|is|was|:|num))*\s*(?P<v>[A-Z0-9][A-Z0-9 -]{4,22}[0-9])\b")


def checked_numbers(text: str) -> list[Candidate]:
    """SSNs, NHS numbers, payment cards (Luhn), IBANs and NI numbers that pass their
    validator, with or without a cue word."""
    out = []
    for rx, ok in ((_SSN, lambda v: ssn.is_valid(re.sub(r"\D", "", v))),
                   (_NHS, lambda v: nhs.is_valid(re.sub(r"\D", "", v))),
                   (_CARD, lambda v: 13 <= len(re.sub(r"\D", "", v)) <= 19
                    and luhn.is_valid(re.sub(r"\D", "", v))),
                   (_IBAN, iban.is_valid), (_NINO, lambda v: True)):
        # (a guard for _IBAN, a letter, would reject few positions and slow it down)
        for m in (rx if rx is _IBAN else guarded(rx)).finditer(text):
            if ok(m.group()):
                out.append(Candidate(m.start(), m.end(), "ID", "id-checked"))
    for m in guarded(_DOC_CUE).finditer(text):
        v = m.group("v")
        if sum(ch.isdigit() for ch in v) >= 5:
            s, e = m.span("v")
            out.append(Candidate(s, e, "ID", "id-cue"))
    return out
