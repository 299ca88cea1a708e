"""De-identification throughput, session 21: each faster form gives exactly what the
form it replaces gives, on real text (both demo studies, the QMSum meetings and the
QualCoder transcript in ../shared/fixtures, the presidio-research texts when present)
and on random strings of the characters the patterns care about."""

import json
import random
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures" / "transcripts"
PRESIDIO = Path("/tmp/deid/data/synth_dataset_v2.json")


def _real_texts() -> list[str]:
    texts = [p.read_text(encoding="utf-8")
             for study in ("study_a", "study_b")
             for p in sorted((REPO / "resources" / "demo" / study / "transcripts").glob("*.txt"))]
    for p in sorted(FIXTURES.glob("qmsum_*.json")):
        doc = json.loads(p.read_text(encoding="utf-8"))
        items = doc.get("meeting_transcripts", doc.get("turns"))
        texts.append("\n".join(it["content"] for it in items))
    q = FIXTURES / "qualcoder_example_transcript.txt"
    if q.exists():
        texts.append(q.read_text(encoding="utf-8"))
    if PRESIDIO.exists():
        texts += [x["full_text"] for x in json.loads(PRESIDIO.read_text(encoding="utf-8"))]
    return texts


def _random_texts(alphabet: str, n: int = 4000, seed: int = 21) -> list[str]:
    rnd = random.Random(seed)
    return ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(1, 40))) for _ in range(n)]


# upper and lower case (accented, exotic case), the O'/D'/L' prefixes, apostrophes,
# hyphens, digits, "t" after an apostrophe
_CAP_ALPHABET = "ODLAaoldtTéÉŁßİıſK\u212a'’-`_ 1\n.x"


def test_capitalised_word_scans_equal_the_lookbehind_forms():
    """``CAP_WORD_RE`` (opens with a character class) finds the same words as the
    lookbehind form it replaced, with and without the contraction lookahead."""
    from concord.deid.common import CAP_RE, CAP_WORD_RE
    pairs = [(re.compile(r"(?<![^\W\d_])" + CAP_RE), re.compile(CAP_WORD_RE)),
             (re.compile(r"(?<![^\W\d_])" + CAP_RE + r"(?![^\W\d_]|['’]t\b)"),
              re.compile(CAP_WORD_RE + r"(?![^\W\d_]|['’]t\b)"))]
    texts = _real_texts() + _random_texts(_CAP_ALPHABET)
    texts += ["O'Brien D’Arcy L'Oréal don't Don't O'Brien't Smith-Jones't xO'Brien Ö'Brien",
              "O'", "'O'Brien", "éO'Brien", "O’Ñúñez-Łukasz"]
    assert len(texts) > 4000
    n = 0
    for old, new in pairs:
        for t in texts:
            got = [m.span() for m in new.finditer(t)]
            assert got == [m.span() for m in old.finditer(t)], t[:80]
            n += len(got)
        # (with a start position: the lookbehind sees the text before it)
        for t in texts[:200]:
            for pos in (1, 7):
                assert ([m.span() for m in new.finditer(t, pos)]
                        == [m.span() for m in old.finditer(t, pos)])
    assert n > 10_000
    from concord.deid.detectors import names, places
    assert names._CAP_TOKEN.pattern == pairs[1][1].pattern
    assert places._PLACE_TOKEN.pattern == pairs[0][1].pattern
