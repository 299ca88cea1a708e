"""Postal addresses as whole blocks: street, house and unit numbers, town, region,
postcode and country, in one turn or dictated over consecutive turns.

An address is redacted only where it is anchored on strong evidence (:data:`_ANCHOR`):

* a house number before a capitalised street name and a street-type word ("12 Oak
  Street", "3968 Bay St", "119 Countess Close", "5 Green Pass"); the street types are
  the USPS standard suffixes (USPS Publication 28, Appendix C1) and British ones;
* a street word before the name ("Rue de la Gare", "Rua Vinte e Cinco de Setembro
  1257", "ul. Zamkowa 33", "Via delle Coste 41", "C/ Señores Curas 88") or inside it
  ("Hauptstraße 5", "Koskikatu 25", "Hersnapvej 75", "Hlíðarvegur 97") or after it
  ("Erzsébet tér 19.", "Piroska u. 97.", "Filadelfeos Str.");
* a building number, a street name and a house number ("92597 Jahu 80"), or a street
  name and number after an address cue ("lives at", "lives on", "my address is",
  "the corner of");
* a unit, box or military address ("Apt. 864", "Suite 12", "P.O. Box 149",
  "PSC 6293, Box 8158", "APO AE 85103", "USNS Sekerková");
* a town, a region code and a postcode ("Colorado Springs, CO 70079").

From an anchor the block is extended over the parts an address is written with, to the
left (building and unit numbers, "the corner of", "Name and" of a crossing) and to the
right (numbers, units, capitalised words of any script, region codes, postcodes,
commas, parenthesised names, known places, particles such as "de", "del", "nad"),
stopping at a sentence end or at a lower-case word. A block that reaches the end of
its turn continues into the next turns while each of them is an address line and
nothing else (at most :data:`MAX_LINES`: "Artilleros" / ", CO" / "Uruguay 64677"):
a written address split into lines, or dictated over short turns. A turn is an
address line only if every token is such a part and a capitalised word in it is
neither a sentence word ("Okay", "Thanks") nor a common English word unless it is a
known place: a reply ("Okay, thanks.") never is.

What is not anchored is left to the other place detectors (gazetteer places, bare ZIP
codes, UK postcodes, place cues): a number and a capitalised word alone ("Chapter 5",
"Windows 10", "Stage 4") are not an address.
"""

from __future__ import annotations

import functools
import re

from concord.deid.common import _CROSSES_SENTENCE, MONTHS, STOP_CAPS, Candidate

# USPS Publication 28, Appendix C1 (street suffixes: the primary names and the common
# abbreviations), plus British and Irish street types (Close, Gardens, Mews, Rise ...)
_USPS = """Alley Aly Annex Arcade Avenue Ave Av Bayou Beach Bend Bluff Bluffs Bottom
Boulevard Blvd Branch Bridge Brook Brooks Burg Burgs Bypass Camp Canyon Cape Causeway
Center Centers Circle Cir Circles Cliff Cliffs Club Common Commons Corner Corners Course
Court Ct Courts Cove Coves Creek Crescent Cres Crest Crossing Crossroad Curve Dale Dam
Divide Drive Dr Drives Estate Estates Expressway Expy Extension Extensions Falls Ferry
Field Fields Flat Flats Ford Fords Forest Forge Forges Fork Forks Fort Freeway Fwy
Garden Gardens Gateway Glen Glens Green Greens Grove Groves Harbor Harbors Haven Heights
Highway Hwy Hill Hills Hollow Inlet Island Islands Isle Junction Junctions Key Keys
Knoll Knolls Lake Lakes Land Landing Lane Ln Light Lights Loaf Lock Locks Lodge Loop Mall
Manor Manors Meadow Meadows Mews Mill Mills Mission Motorway Mount Mountain Mountains
Neck Orchard Oval Overpass Park Parks Parkway Pkwy Pass Passage Path Pike Pine Pines
Place Pl Plain Plains Plaza Point Points Port Ports Prairie Radial Ramp Ranch Rapid
Rapids Rest Ridge Ridges River Road Rd Roads Route Row Rue Run Shoal Shoals Shore Shores
Skyway Spring Springs Spur Spurs Square Sq Squares Station Stravenue Stream Street St Str
Streets Summit Terrace Ter Throughway Trace Track Trafficway Trail Trailer Tunnel
Turnpike Underpass Union Unions Valley Valleys Viaduct View Views Village Villages Ville
Vista Walk Walks Wall Way Ways Well Wells Close Rise Parade Wynd Broadway Quay Embankment
Esplanade Promenade Hey Chase Drove Gate Yard""".split()
_STREET_TYPE = "(?:" + "|".join(sorted(_USPS, key=len, reverse=True)) + r")\.?"
# the types that are not also ordinary words: matched in lower case too
_STREET_TYPE_LOWER = (r"(?:street|avenue|road|boulevard|lane|drive|str\.?|st\.?|ave\.?|rd\.?|"
                      r"blvd\.?|ln\.?|dr\.?|hwy\.?|pkwy\.?|ct\.?)")
# street words before the name (French, Portuguese, Spanish, Italian, Catalan, Polish,
# Czech/Slovak, Hungarian, Greek ...), any case
_STREET_BEFORE = (r"(?:(?i:rue|rua|calle|carrer|avenida|avda\.?|viale|vicolo|piazza|praça|"
                  r"praca|strada|chemin|bd\.|allée|ulica|ul\.|utca|trg|náměstí|nábřeží|"
                  r"travessa|estrada|c/)|Via|Avenue|Av\.?|Plaza|Place|Corso|Largo|Ronda|Rambla|"
                  r"Camino|Paseo|Quai|Impasse|Boulevard|Λεωφόρος|Οδός|Λεωφ\.|Οδ\.)")
# street words inside a name (German, Nordic, Baltic, Dutch, Finnish ...)
_STREET_IN = (r"(?:straße|strasse|straat|str\.|weg|wei|vej|veien|vegen|vägen|vegur|gata|"
              r"gatan|gate|gade|gasse|gässli|platz|plein|laan|dreef|singel|gracht|kade|"
              r"steeg|katu|kuja|tie|polku|raitti|stræde|straede|stræti|straeti|braut|"
              r"torget|torv|allé|allee|ring|damm|ufer|markt|graben|hove|ves|gaarden)")
# street types written after the name (Hungarian, Slovene, Czech ...), any case
_STREET_AFTER = r"(?:u\.|utca|út|útja|tér|tere|köz|sor|krt\.|körút|rkp\.|rakpart|fasor|ulica|str\.?|Str\.?)"
_NUM = r"\d{1,6}[A-Za-z]?\.?(?![\w])"
_NUMWORD = r"(?:\d{1,6}[A-Za-z]?)"
_W = r"[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*"      # a word of letters, any script
_CAPW = r"(?:[ODL]['’])?(?=[^\W\d_])(?=\w)[^\W\d_a-zß-öø-ÿ][^\W\d_]*(?:[-'’][^\W\d_]+)*\.?"
# the same without a period: after a cue, "moved to Kestrel Point. I'm 62 now" holds no
# street and number (the period ends the sentence)
_CAPW_NO_STOP = _CAPW[:-len(r"\.?")]
_PART = r"(?:de|del|della|delle|dei|des|du|do|da|dos|das|di|la|le|les|van|der|den|von|e|y|u|" \
        r"nad|pod|na|am|im|an|sur|sous|upon|on|of|al|el|ter|ten|het|St\.?|Ste?\.?|Sankt)"
_UNIT = r"(?i:apt\.?|apartment|suite|ste\.?|unit|flat|floor|fl\.|room|bldg\.?|building|box)"
_CUE = (r"(?i:\blive[sd]?\s+(?:at|on)|\bliving\s+(?:at|on)|\baddress(?:es)?\s*(?:is|was|:)?"
        r"|\bcorner\s+of|\bside\s+of|\blocated\s+(?:at|on)|\bstay(?:s|ing)?\s+(?:at|on)"
        r"|\bmoved\s+to)")

_ANCHOR = re.compile(
    # (every anchor starts a word: one test rejects the positions inside words)
    r"(?<![\w])(?:"
    # house number, street name (particles inside), street type
    rf"(?<![\w.,])\d{{1,6}}[A-Za-z]?\s+(?:[NSEW]\.?\s+)?(?:(?:{_CAPW}|\d{{1,3}}(?:st|nd|rd|th)|{_PART})\s+){{0,3}}"
    rf"(?:{_CAPW}|\d{{1,3}}(?:st|nd|rd|th))\s+{_STREET_TYPE}(?![\w])"
    rf"|(?<![\w.,])\d{{1,6}}[A-Za-z]?\s+(?P<lw>(?:(?:{_CAPW}|[a-z]+)\s+){{1,3}}){_STREET_TYPE_LOWER}(?![\w])"
    # street word before the name, optional number
    rf"|(?<![\w.])(?:{_STREET_BEFORE})\s+(?:(?:{_PART}|{_W})\s+){{0,3}}{_CAPW}(?:\s+{_NUM})?"
    rf"|(?<![\w.])(?:{_STREET_BEFORE})\s+(?:(?:{_PART}|{_W})\s+){{0,3}}{_W}\s+{_NUM}"
    rf"|(?<![\w.,])\d{{1,6}}[A-Za-z]?\s+(?:{_STREET_BEFORE}|(?:avenue|av\.?|place|boulevard|via|r\.?))"
    rf"\s+(?:(?:{_PART}|{_W})\s+){{0,3}}{_W}"
    # a street word inside the name, house number
    rf"|(?<![\w])(?P<sw>[^\W\d_][^\W\d_'’-]*{_STREET_IN})\s+{_NUM}"
    # a street type after the name, house number
    rf"|(?<![\w])(?:{_CAPW}\s+){{1,3}}(?:[a-z]+\s+)?{_STREET_AFTER}\s+{_NUM}"
    rf"|(?<![\w])(?:{_W}\s+){{1,2}}(?:út|utca|tér|útja|körút|vej|veien|vegen|vei|gata|gatan|"
    rf"gade|põik|maantee|puiestee|tänav)\s+{_NUM}"
    rf"|(?<![\w])(?:{_CAPW}\s+){{1,2}}(?:gate|tee|vag|väg|weg|straat|laan)\s+{_NUM}"
    # building number, street, house number ("92597 Jahu 80")
    rf"|(?<![\w.,])\d{{2,6}}\s+(?:{_CAPW}\s+){{1,3}}\d{{1,4}}[A-Za-z]?(?![\w])"
    # a street and number after an address cue
    rf"|(?:{_CUE})\s+(?P<c>(?:{_CAPW_NO_STOP}\s+){{1,3}}(?:[a-z]{{2,}}\s+)?\d{{1,5}}[A-Za-z]?\.?)(?![\w])"
    # a street and number before "street"/"St."
    rf"|(?:{_CAPW}\s+){{1,3}}\d{{1,5}}\s+(?:St\.|[Ss]treet)"
    # a named street without a number ("Main Street", "Elm Avenue")
    rf"|(?<![\w])(?P<ns>(?:{_CAPW}\s+){{1,3}})(?:Street|Road|Avenue|Boulevard|Lane|Drive|Parkway|"
    rf"Highway|Terrace|Crescent)(?![\w])"
    # units and boxes
    rf"|(?<![\w])(?:P\.?\s?O\.?\s+[Bb]ox|[Pp]ost\s+[Oo]ffice\s+[Bb]ox|(?i:PSC)|{_UNIT})\s*#?\s*\d{{1,6}}[A-Za-z]?(?![\w])"
    # military post (APO/FPO/DPO) and ships
    r"|\b(?i:[AFD]PO)\s+(?i:A[AEP])\s+\d{5}\b"
    rf"|\b(?i:USNS|USNV|USS|USCGC)\s+{_W}"
    # town, region code, postcode
    rf"|(?:{_CAPW}\s+){{0,2}}{_CAPW},\s+[A-Z]{{2,3}}\s+\d{{4,6}}(?:-\d{{3,4}})?(?![\w]))")

# the second street of a crossing ("and King Forges", "and ul. Cicha 86")
_CROSSING = re.compile(rf"\s+(?:(?:{_CAPW}|{_PART})\s+){{0,3}}(?:{_STREET_TYPE}|\d{{1,5}})(?![\w])"
                       rf"|\s+(?:{_STREET_BEFORE})\s")
# tokens of a block: words (with internal apostrophes, hyphens, periods), commas,
# parentheses, "#", "/"
_TOKEN = re.compile(r"[^\s,;()#/]+|[,;()#/]")
_SENT_END = re.compile(r"[!?]$|(?<![A-Z])(?<!\b[A-Za-z]{2})\.$")
_ABBREV = frozenset("""st. str. ave. av. rd. dr. blvd. apt. ste. u. ul. rkp. krt. no. nr.
r. avda. bd. fl. bldg. pl. sq. ct. ln. p.o. cres. ter. hwy. pkwy. c/ n. s. e. w.""".split())
_PARTICLES = frozenset(re.findall(r"\w+", _PART)) | {"a", "St.", "Ste."}
_UNIT_WORDS = frozenset("apt apt. apartment suite ste ste. unit flat floor fl. room bldg "
                        "bldg. building box psc po p.o. #".split())
_LEFT_CUES = ("the corner of", "corner of")
_NON_PLACE_CAPS = STOP_CAPS | frozenset(MONTHS) | frozenset(
    "Okay Yeah Yep Nope Thanks Right Sure Um Uh Hmm Mm Mhm Oh Ah So".split())
_MONTH_WORDS = frozenset(MONTHS) | frozenset(m[:3] for m in MONTHS) | {"Sept"}
MAX_LINES = 5
MAX_LINE_TOKENS = 10


def _is_num(tok: str) -> bool:
    t = tok.rstrip(".")
    return bool(t) and (t.isdigit() or re.fullmatch(
        r"\d{1,6}[A-Za-z]|\d+-\d+|[A-Z]{1,2}\d[A-Z\d]?|\d[A-Z]{2}", t) is not None)


def _is_cap(tok: str) -> bool:
    """Capitalised (any script; a leading symbol such as the "∆" of Greek
    transliterations is skipped)."""
    for ch in tok:
        if ch.isalpha():
            return ch.isupper()
        if ch.isdigit():
            return False
    return False


@functools.lru_cache(maxsize=65536)
def _common(tok: str) -> bool:
    """A capitalised word that is a sentence word or a common English word and not
    a known place."""
    from concord.deid import lexicons
    t = tok.rstrip(".")
    if t in _NON_PLACE_CAPS:
        return True
    if t.isupper() and len(t) <= 3:    # a region code ("CO", "NSW")
        return False
    f = lexicons.fold_word(t)
    if f in lexicons.places():
        return False
    return lexicons.zipf(t.lower()) >= 4.5


@functools.lru_cache(maxsize=65536)
def _common_word(word: str) -> bool:
    from concord.deid import lexicons
    return lexicons.zipf(word.lower()) >= 3.0


@functools.lru_cache(maxsize=65536)
def _function_word(word: str) -> bool:
    from concord.deid import lexicons
    return word.islower() and lexicons.zipf(word) >= 5.5


def _part(tok: str, nxt: str | None, strict: bool) -> bool:
    """Can ``tok`` be part of an address block (``nxt``: the token after it)?"""
    low = tok.lower()
    if tok.endswith(":"):    # a label ("Mobile:", "Fax:")
        return False
    if tok in (",", "(", ")", "#", "/", ";"):
        return tok != ";"
    if _is_num(tok) or low in _UNIT_WORDS or low in _ABBREV:
        return True
    if _is_cap(tok):
        return not (strict and _common(tok)) and tok.rstrip(".") not in _NON_PLACE_CAPS
    if low in _PARTICLES or tok in _PARTICLES:
        return nxt is not None and (_is_cap(nxt) or _is_num(nxt))
    # a lower-case known place ("calgary alberta")
    from concord.deid import lexicons
    return len(tok) > 3 and lexicons.fold_word(tok.rstrip(".")) in lexicons.places()


_LAST_WORD = re.compile(r"[^\W\d_]+$")


def _ends_on_abbreviation(text: str, pos: int) -> bool:
    """Does the anchor end on an abbreviation whose period follows ("Elm St" + ".")?
    A full word before a period ends a sentence: "we moved to Kestrel Point. I'm 62
    now" is no address running on into the next sentence."""
    m = _LAST_WORD.search(text, max(0, pos - 12), pos)
    return m is not None and m.group().lower() + "." in _ABBREV


def _extend_right(text: str, pos: int, limit: int) -> int:
    """The end of the block that starts before ``pos`` (tokens up to ``limit``)."""
    toks = [(m.start(), m.end(), m.group()) for m in _TOKEN.finditer(text, pos, limit)]
    end = pos
    i = 0
    while i < len(toks):
        s, e, tok = toks[i]
        nxt = toks[i + 1][2] if i + 1 < len(toks) else None
        if tok.lower() == "and" and _CROSSING.match(text, toks[i][1]):
            i += 1     # a crossing: "... and Mathias Pass", "... and Kuusiku 7"
            continue
        if tok == "." and i == 0 and _ends_on_abbreviation(text, pos):
            end = e       # the period of an abbreviation the anchor ended on ("Apt.")
            i += 1
            continue
        if not _part(tok, nxt, strict=False):
            break
        if tok in (",", "/") and (nxt is None or not _part(nxt, None, strict=True)) or \
                tok == "(" and (nxt is None or not _is_cap(nxt)):
            break
        end = e
        if tok.endswith(".") and tok.lower() not in _ABBREV and not _is_num(tok) \
                and _SENT_END.search(tok):
            break
        if tok.endswith(".") and _is_num(tok) and nxt is not None and \
                nxt.lower().rstrip(".") not in _UNIT_WORDS and not _is_num(nxt):
            break   # "in 2016. See you" (a Hungarian "út 13. Suite 4" goes on)
        i += 1
    # never end on a dangling comma, parenthesis or "and"
    while end > pos and text[end - 1] in ",(/ ":
        end -= 1
    return end


_LEFT_TOKEN = re.compile(r"(?:(?P<num>\d{1,6}[A-Za-z]?)|(?P<unit>(?i:apt\.?|apartment|suite|"
                         r"ste\.?|unit|flat))\s*#?\s*(?P<un>\d{1,6})|(?P<and>"
                         rf"{_CAPW}\s+and)|(?P<corner>(?i:the\s+)?corner\s+of))\s*,?\s*$")


def _extend_left(text: str, start: int, floor: int) -> int:
    """The start of the block: building and unit numbers, a crossing's first street,
    "the corner of" before the anchor."""
    while True:
        m = _LEFT_TOKEN.search(text, max(floor, start - 60), start)
        if not m or m.end() != start:
            return start
        if m.group("and"):
            word = m.group("and").split()[0]
            if _common(word):
                return start
        start = m.start()


def _line_ok(line: str, strict: bool = True) -> bool:
    """Is this turn an address line and nothing else ("Artilleros", ", CO",
    "Uruguay 64677", "Suite 282", "ΑΓΙΟΣ ∆ΟΜΕΤΙΟΣ")?"""
    toks = _TOKEN.findall(line)
    if not toks or len(toks) > MAX_LINE_TOKENS:
        return False
    if not any(_is_cap(t) or _is_num(t) for t in toks):
        return False
    for i, t in enumerate(toks):
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        if not _part(t, nxt, strict=strict):
            return False
        if t.endswith((".", "!", "?")) and t.lower() not in _ABBREV and not _is_num(t):
            return False
    return True


_TRAIL = re.compile(r"(?:[\s,;(/]|(?<![A-Z\d])(?<!\b[A-Za-z]{2})(?<!\bu)(?<!\bApt)(?<!\bSte)"
                    r"(?<!\bStr)(?<!\bRd)(?<!\bAve)(?<!\bBlvd)[.?!])+$")


def _trim(seg: str) -> str:
    """Without a trailing comma or sentence end ("... Cyprus." -> "... Cyprus")."""
    return _TRAIL.sub("", seg)
_LEAD = re.compile(r"[\s>?*•·\-–—|:]*")


# every anchor holds a digit, a street word written before the name or a ship prefix:
# the anchor pattern runs only over windows of the lines around one (cheap tests first)
_DIGIT = re.compile(r"\d")
# characters of an anchor before and after its digit or street word
_BEFORE, _AFTER = 60, 50
# street words that start an address without a number ("Rue de la Paix", "Via Roma"):
# searched as written (a lower-case one is found through the digit of its number)
_TRIGGER_WORDS = ("Rue ", "Rua ", "Calle ", "Carrer ", "Via ", "Viale ", "Avenida ", "Piazza ",
                  "Plaza ", "Praça ", "Ulica ", "ul. ", "Utca ", "Avenue ", "Boulevard ",
                  "Λεωφόρος ", "Οδός ", "USNS ", "USNV ", "USS ", "USCGC ", "usns ", "usnv ",
                  "uss ", "uscgc ", " Street",
                  " Road", " Avenue", " Boulevard", " Lane", " Drive", " Parkway", " Highway",
                  " Terrace", " Crescent")


# where a trigger word can be: one scan for them all (the words without a leading
# space; the regex opens with their first letters, which re skips to in C), then each
# word tested there -- every occurrence of every word, as one str.find loop per word
# finds them (no word overlaps itself; tests/test_deid_scan_speed.py)
_TRIGGER_CORES = re.compile("|".join(re.escape(w) for w in sorted(
    {w.lstrip(" ") for w in _TRIGGER_WORDS}, key=lambda w: (-len(w), w))))


def _trigger_hits(text: str) -> list[int]:
    """The positions of the trigger words (:data:`_TRIGGER_WORDS`) in ``text``: each
    occurrence; a word without a leading space only at the start of a word."""
    hits = []
    m = _TRIGGER_CORES.search(text)
    while m is not None:
        i = m.start()
        for w in _TRIGGER_WORDS:
            if w[0] == " ":
                if i > 0 and text.startswith(w, i - 1):
                    hits.append(i - 1)
            elif text.startswith(w, i) and (i == 0 or not text[i - 1].isalnum()):
                hits.append(i)
        m = _TRIGGER_CORES.search(text, i + 1)
    return hits


def _windows(text: str) -> list[tuple[int, int]]:
    """Merged windows of the text around each digit and street word (within its line)."""
    hits = []
    pos = 0
    while True:
        m = _DIGIT.search(text, pos)
        if m is None:
            break
        h = m.start()
        hits.append(h)
        le = text.find("\n", h)
        pos = h + _AFTER // 2 if le < 0 else min(h + _AFTER // 2, le)
    hits += _trigger_hits(text)
    out: list[list[int]] = []
    for h in sorted(hits):
        ls = text.rfind("\n", 0, h) + 1
        le = text.find("\n", h)
        le = len(text) if le < 0 else le
        a, b = max(ls, h - _BEFORE), min(le, h + _AFTER)
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _anchors(text: str):
    for a, b in _windows(text):
        yield from _ANCHOR.finditer(text, a, b)


def address_blocks(text: str) -> list[Candidate]:
    """Address blocks (see the module docstring). ``text`` may hold several turns
    joined by newlines (the session view): a block is split at the newlines, one
    candidate per turn."""
    out: list[Candidate] = []
    n = len(text)
    last_end = -1
    for m in _anchors(text):
        if m.start() < last_end:
            continue
        s, e = (m.start("c"), m.end("c")) if m.group("c") else m.span()
        if m.group("sw") and _common_word(m.group("sw")):
            continue   # "During 2017", "Tie 5"
        first = text[s:e].split(None, 1)[0].rstrip(".,")
        if first in _MONTH_WORDS:
            continue    # "May 21, 2016" is a date
        if m.group("ns") is not None:
            words = m.group("ns").split()
            k = 0
            while k < len(words) and words[k].rstrip(".") in _NON_PLACE_CAPS:
                k += 1
            if k == len(words) or any(w.rstrip(".") in _NON_PLACE_CAPS for w in words[k:]):
                continue    # "The Street", "Hit The Road"
            s = text.index(words[k], s)
        if m.group("lw") and any(_function_word(w) for w in m.group("lw").split()):
            continue   # "2 miles down the road"
        line_start = text.rfind("\n", 0, s) + 1
        line_end = text.find("\n", e)
        line_end = n if line_end < 0 else line_end
        s = _extend_left(text, s, line_start)
        e = max(e, _extend_right(text, e, line_end))
        spans = [(s, e)]
        # continuation lines: the block reaches the end of its line
        if not text[e:line_end].strip(" ,"):
            pos = line_end
            lines = 0
            while pos < n and lines < MAX_LINES:
                nl = text.find("\n", pos + 1)
                nl = n if nl < 0 else nl
                line = text[pos + 1:nl]
                if not line.strip() or line.strip() == "\x00":
                    pos = nl
                    continue
                lead = _LEAD.match(line).end()
                body = line[lead:].rstrip()
                if not _line_ok(body, strict=lines == 0 and not any(ch.isdigit() for ch in body)):
                    break
                spans.append((pos + 1 + lead, pos + 1 + lead + len(body)))
                lines += 1
                pos = nl
        for a, b in spans:
            # "út 13. Suite 104": a period before a capital would read as a sentence
            # end (and such a candidate is dropped): one candidate per part
            cuts = [a] + [x.end() for x in _CROSSES_SENTENCE.finditer(text, a, b)] + [b]
            for a2, b2 in zip(cuts, cuts[1:]):
                # only the block's end loses a sentence period ("Avda." stays)
                seg = _trim(text[a2:b2]) if b2 == b else text[a2:b2].rstrip(" ,")
                if b2 == b and seg.endswith(".") and text[a2 + len(seg):a2 + len(seg) + 1] == " ":
                    seg = seg[:-1] if seg[-2:-1].isdigit() else seg   # "... 2016. See"
                lead = len(seg) - len(seg.lstrip())
                if seg.strip():
                    out.append(Candidate(a2 + lead, a2 + len(seg), "LOCATION", "address"))
        last_end = spans[-1][1]
    return out
