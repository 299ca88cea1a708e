"""The sentence splitter's fast path (concord.segment: cut a turn at boundaries pySBD
always makes, run pySBD only on the pieces that may hold another) gives exactly the
spans of pySBD run on the whole turn (``_spans(..., fast=False)``, the splitter before
the fast path): on real turns and on random strings built to hit the pySBD rules that
look across a sentence boundary."""

import json
import random
import re
from pathlib import Path

import pytest

from concord import segment as seg

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
ANNOMI = Path("/tmp/learned-data/AnnoMI-full.csv")  # uccollab/AnnoMI, where present
ABBREV = ["dr", "mr", "mrs", "ms", "prof", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m",
          "approx", "jr", "sr"]  # config/config.yaml segment.abbreviations


def differ(texts, abbrev=ABBREV):
    """The texts whose fast spans differ from pySBD on the whole text, and how many of
    the texts the fast path cut at least once (so a pass is not a vacuous one)."""
    key = seg._abbrev_key(tuple(abbrev))
    bad = [t for t in texts
           if seg._spans(t, abbrev, fast=True) != seg._spans(t, abbrev, fast=False)]
    return bad, sum(1 for t in texts if seg._cuts(t, key))


# --- real turns ------------------------------------------------------------------------

def qmsum_turns():
    from concord import transcripts
    files = sorted((FIXTURES / "transcripts").glob("qmsum_*.json"))
    if not files:
        pytest.skip(f"no QMSum meetings in {FIXTURES / 'transcripts'} (shared fixtures absent)")
    return [t.text for f in files for t in transcripts.parse_qmsum(f.read_bytes(), source=f.name)]


def test_qmsum_meetings_same_spans():
    """Every turn of the four QMSum meetings (AMI + ICSI, real meeting speech)."""
    turns = qmsum_turns()
    bad, cut = differ(turns)
    assert not bad, bad[:3]
    assert len(turns) > 1900 and cut > 300


def test_golden_rules_same_spans():
    path = FIXTURES / "sentences" / "golden_rules_en.json"
    if not path.exists():
        pytest.skip(f"{path} is absent (the shared fixtures sit beside the clone)")
    texts = [r["text"] for r in json.loads(path.read_text(encoding="utf-8"))["rules"]]
    for abbrev in ([], ABBREV):
        bad, _ = differ(texts, abbrev)
        assert not bad, bad


def test_demo_study_a_deidentified_same_spans():
    """The de-identified demo (study A): tags such as ``[NAME-1].`` end sentences."""
    from concord import deidentify as deid
    from concord.tsvio import read_tsv
    demo = ROOT / "resources" / "demo" / "study_a"
    roster = deid.load_roster(demo / "restricted" / "roster.tsv")
    turns = []
    for row in read_tsv(ROOT / "config" / "sessions.tsv").itertuples(index=False):
        raw = (ROOT / row.transcript).read_text(encoding="utf-8")
        text = deid.deidentify_session(raw, roster, row.session_id, source=row.transcript).text
        turns += [line.split("\t", 1)[1] for line in text.split("\n") if "\t" in line]
    bad, cut = differ(turns)
    assert not bad, bad[:3]
    assert len(turns) > 1500 and cut > len(turns) // 3


def test_annomi_utterances_same_spans():
    """AnnoMI's counselling utterances (133 real MI sessions), where the file is."""
    import csv
    if not ANNOMI.exists():
        pytest.skip(f"{ANNOMI} is absent (uccollab/AnnoMI, not committed)")
    with open(ANNOMI, newline="", encoding="utf-8") as fh:
        texts = sorted({row["utterance_text"] for row in csv.DictReader(fh)})
    bad, cut = differ(texts)
    assert not bad, bad[:3]
    assert len(texts) > 7000 and cut > 1000


# --- adversarial strings -----------------------------------------------------------------

WORDS = "it was fine then so we really think that the nurse said scan pain hope time".split()
STARTS = ["I", "I'm", "We", "The", "It", "Then", "So", "Yes", "No", "Okay", "Right", "A",
          "[NAME-1]", "[P01]", "[laughter]", "Who", "However", "There", "Mm-hmm"]
# the pySBD rules that look across a boundary, or at the start/end of the text
HAZARDS = {
    "abbreviation": ["Dr.", "Mr.", "St.", "etc.", "approx.", "No.", "no.", "fig.", "Gen.",
                     "vs.", "Co. KG", "Inc.", "Jan.", "art.", "p.", "pp.", "Is.", "me."],
    "multi-period": ["e.g.", "i.e.", "U.S.", "Ph.D.", "egg.", "ice.", "Ice.", "use.", "eng.",
                     "U.S.A.", "I.V.", "d.phil."],
    "letter": ["J.", "A.", "I.", "a.", "b.", "c.", "i.", "ii.", "x.", "v."],
    "number": ["1.", "2.", "3.", "12.", "13.", "2.5", "3:30", "45.", "1)", "a)", "b)", "9.",
               "10."],
    "quote": ["'cause", "'", "\"", "“", "”", "‘", "’", "don't", "cousins'", "'em", "I 've",
              "it 's", "'yes.'", "\"no.\""],
    "bracket": ["[", "]", "[laughter]", "(", ")", "(i)", "{", "}", "[inaudible.]", "(a)"],
    "dash": ["--", "--", "—", "-", "so --", "-- well"],
    "punctuation": ["...", "…", "?!", "!!", "??", ". . .", "....", "..", "!", "?", "!?"],
    "exclamation": ["Yahoo!", "Yum!", "!Kung", "Yahoo"],
    "time": ["a.m.", "P.M.", "p.m.", "A.M.", "10 a.m.", "5 P.M."],
    "space": ["  ", "\t", "\u00a0", "\n", "\r", "\u2028"],
    "symbol": ["∯", "ȸ", "♨", "☝", "&ᓴ&", "。", "！", "°", "•"],
}
ENDS = [". ", ". ", ". ", "? ", "! ", ", ", " ", "... ", ".  ", ". . . "]


def adversarial(n: int, seed: int):
    """Spoken-looking sentences with one to three hazards of one or two kinds inserted
    (standalone, glued to a word, or at a sentence start or end)."""
    rng = random.Random(seed)
    kinds = sorted(HAZARDS)
    for _ in range(n):
        pool = [h for k in rng.sample(kinds, rng.choice([1, 1, 2])) for h in HAZARDS[k]]
        parts = []
        for _ in range(rng.randint(2, 7)):
            words = [rng.choice(STARTS)] + rng.choices(WORDS, k=rng.randint(0, 6))
            parts.append(" ".join(words) + rng.choice(ENDS))
        text = "".join(parts)
        for _ in range(rng.randint(1, 3)):
            h = rng.choice(pool)
            spaces = [i for i, ch in enumerate(text) if ch == " "] or [len(text)]
            i = rng.choice(spaces)
            glue = rng.choice(["", " ", " ", ". ", " I "])
            text = text[:i] + " " + h + glue + text[i + 1:]
        yield text.strip() if rng.random() < 0.5 else text


def test_adversarial_strings_same_spans():
    texts = list(adversarial(1500, seed=21))
    for abbrev in (ABBREV, []):
        bad, cut = differ(texts, abbrev)
        assert not bad, bad[:3]
        assert cut > len(texts) // 3  # the hazards sit beside real cuts


def test_mutated_real_turns_same_spans():
    """QMSum turns with hazards inserted at random word boundaries."""
    rng = random.Random(16)
    turns = [t for t in qmsum_turns() if t.count(" ") > 3]
    hazards = [h for hs in HAZARDS.values() for h in hs]
    texts = []
    for _ in range(800):
        t = rng.choice(turns)
        for _ in range(rng.randint(1, 2)):
            i = rng.choice([i for i, ch in enumerate(t) if ch == " "])
            t = t[:i] + " " + rng.choice(hazards) + rng.choice(["", " ", ". ", "? "]) + t[i + 1:]
        texts.append(t)
    bad, cut = differ(texts)
    assert not bad, bad[:3]
    assert cut > 100


# --- pySBD looks across boundaries: the cases a naive cut gets wrong ---------------------

def naive(text, abbrev=ABBREV):
    """Cut at every '<word>[.?!] <Capital>' and run pySBD on each piece: what the fast
    path would do without its checks."""
    key = seg._abbrev_key(tuple(abbrev))
    cuts = [m.end() for m in re.finditer(r"[A-Za-z\]]{2,}[.!?] (?=[A-Z\[])", text)]
    out = []
    for a, b in zip([0] + cuts, cuts + [len(text)]):
        out += [a + e for e in seg._pysbd_ends(text[a:b].rstrip(" "), key)]
    return out


@pytest.mark.parametrize("text", [
    # an abbreviation before the period: pySBD keeps the sentence going
    "I saw Dr. Okafor there. Then we left.",
    # a multi-period entry is tried only where it occurs verbatim: with 'i.e' in the turn,
    # 'Ice.' before a lower-case word is an abbreviation to pySBD
    "Ice. gov said so. Then i.e. the rest came.",
    # list items are numbered across the whole text ("a." here, "b." there: a list)
    "We had a. Fatigue was bad. Then b. Nausea came.",
    "Reasons were 1. Cost. Then 2. Time. That is it.",
    # text between '--' pairs, or between quotes, is one unit to pySBD
    "It was -- fine. Really fine. Then -- we left.",
    "She said 'fine. Then we left' and laughed. So it went.",
    "She said \"fine. Then we left\" and laughed. So it went.",
    # pySBD's exclamation words
    "Then she said Yum! Then we ate.",
    # '?!' at the start switches off a pySBD rule for the whole text
    "?! Okay. Then we left?! It was late.",
])
def test_cross_boundary_cases(text):
    """Each case is one where pySBD on the whole turn and pySBD on naively cut pieces
    differ (so the case is real), and the fast path agrees with the whole turn."""
    key = seg._abbrev_key(tuple(ABBREV))
    assert naive(text) != seg._pysbd_ends(text, key), "not a cross-boundary case"
    assert seg._spans(text, ABBREV, fast=True) == seg._spans(text, ABBREV, fast=False)


@pytest.mark.parametrize("text", ["Okay. Then it was fine.’", "Okay. Then it was fine.]",
                                  "Okay. Then it was fine?!", "Okay. Then Dr. [NAME-1] came…",
                                  "We went to ſt. on foot. Then we came.",
                                  "We went to \u212aY. on foot. Then we came."])
def test_piece_forms(text):
    """The last piece of a turn is one sentence only when nothing but one . ? ! follows
    its last word: pySBD makes "fine.’" two sentences ("fine." and "’"). A ``ſt.``
    (long s) is ``st.`` only ignoring case: pySBD protects it only if ``st`` is written
    somewhere in the turn."""
    assert seg._spans(text, ABBREV, fast=True) == seg._spans(text, ABBREV, fast=False)


def test_fast_path_cuts_plain_speech():
    """Plain speech is cut at each sentence and needs no pySBD at all."""
    text = ("I think so. It was hard. Why did it happen? Nobody knew! [NAME-1] said it. "
            "Then Dr. [NAME-2] came.")
    key = seg._abbrev_key(tuple(ABBREV))
    cuts = seg._cuts(text, key)
    assert len(cuts) == 5
    pieces = [text[a:b] for a, b in zip([0] + cuts, cuts + [len(text)])]
    protected = seg._cut_rules(key)[3]
    assert all(seg._one_sentence(p, protected) for p in pieces)
    assert seg.sentence_spans(text, ABBREV) == seg._spans(text, ABBREV, fast=False)


def test_no_cut_covers_pysbd_symbols():
    """Every non-ASCII character in pySBD's English rules (its placeholders and the quote
    and bracket forms it pairs up) stops the fast path, except the letters of its
    exclamation words and the apostrophe ’ (paired only with ‘)."""
    import pysbd
    src = Path(pysbd.__file__).parent
    files = [src / "processor.py", src / "abbreviation_replacer.py", src / "between_punctuation.py",
             src / "lists_item_replacer.py", src / "exclamation_words.py",
             src / "punctuation_replacer.py", *sorted((src / "lang" / "common").glob("*.py")),
             src / "lang" / "english.py"]
    chars = {ch for f in files for ch in f.read_text(encoding="utf-8") if ord(ch) > 127}
    missing = {ch for ch in chars - set("’ûũʼ") if not seg._NO_CUT.search(ch)}
    assert not missing, sorted(missing)
