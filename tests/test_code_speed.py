"""The automatic coder's fast path (issue 15, scale: code indexes, one RE2 gate for all
regexes, tokens by ``regex.split``) codes every segment as the plain per-code matcher
it replaced (kept here as the reference): real meeting speech, real counselling
utterances, the demo transcripts, and adversarial strings and codebooks."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from nltk.tokenize import RegexpTokenizer

from concord import code

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO.parent / "shared" / "fixtures"
ANNOMI = Path("/tmp/learned-data/AnnoMI-full.csv")   # uccollab/AnnoMI, never copied here
CUES = frozenset(code.normalize(c) for c in ["no", "not", "never", "n't", "without",
                                             "nothing", "none", "nor"])

# ---------------------------------------------------------------- the reference matcher
# concord.code.match_segment as of main f2e2e88: NLTK's RegexpTokenizer, every code's
# terms, phrases and regexes tried on every segment.
_NLTK = RegexpTokenizer(code.TOKEN_PATTERN)


def _ref_runs(seq, pattern):
    return [i for i in range(len(seq) - len(pattern) + 1) if seq[i:i + len(pattern)] == pattern]


def reference_match(text, compiled, window, cues):
    spans = list(_NLTK.span_tokenize(text))
    words = [code.normalize(text[a:b]) for a, b in spans]
    stems = tuple(map(code._stem_word, words))
    out = []
    for c in compiled.codes:
        cands = []
        for pst, rule in c.phrases:
            for i in _ref_runs(stems, pst):
                cands.append((spans[i][0], 0, spans[i + len(pst) - 1][1], i, rule))
        for i, s in enumerate(stems):
            rule = c.terms.get(s)
            if rule is not None:
                cands.append((spans[i][0], 1, spans[i][1], i, rule))
        for rx, rule in c.regex:
            for m in rx.finditer(text):
                if m.end() == m.start():
                    continue
                first = next((k for k, (a, b) in enumerate(spans) if b > m.start()), len(spans))
                cands.append((m.start(), 2, m.end(), first, rule))
        if not cands:
            continue
        vetoes = [(spans[i][0], spans[i + len(ex) - 1][1])
                  for ex in c.exclude for i in _ref_runs(stems, ex)]
        chosen = None
        for start, _p, end, first, rule in sorted(cands):
            if any(start < ve and vs < end for vs, ve in vetoes):
                continue
            neg = code._negated(text, spans, words, first, window, cues)
            if not neg:
                chosen = (text[start:end], rule, False)
                break
            if chosen is None and c.negation == "flag":
                chosen = (text[start:end], rule, True)
        if chosen is not None:
            out.append((c.id, *chosen))
    return out


# ---------------------------------------------------------------- codebooks and texts

DEMO_BOOK = yaml.safe_load((REPO / "config" / "codebook.yaml").read_text(encoding="utf-8"))

# codes sharing stems, a term that is also a phrase, a phrase that is a prefix of
# another, duplicate rules, regexes that match the empty string, anchors, a group,
# non-ASCII, inline flags; exclude phrases; negation skip
ADVERSARIAL_BOOK = {"version": "x", "codes": [
    {"id": "A", "patterns": {"terms": ["hope", "hoping", "side-effect", "can"],
                             "phrases": ["side effect", "hope so", "I hope"],
                             "regex": [r"x*", r"^well\b", r"\bend$"], "exclude": ["hope so"]}},
    {"id": "B", "patterns": {"terms": ["hope", "not", "n't", "café"],
                             "phrases": ["side effect profile", "do n't"],
                             "regex": [r"(?i)CAFÉ", r"(sid)e", r"\bdon'?t\b"],
                             "negation": "skip"}},
    {"id": "C", "patterns": {"terms": ["year", "years"], "phrases": ["year of life"],
                             "regex": [r"\d+\s*years?"], "exclude": ["years ago", "hope"]}},
    {"id": "D", "patterns": {"regex": [r"[’']s\b", r"\bmilestones?\b"]}},
    {"id": "E", "patterns": {"terms": ["straße", "İstanbul", "ǅemal"]}},
]}

WORDS = ("hope hoping hopeful side effect effects profile year years of life ago I we can "
         "cannot can't don't won’t n't not no never without nothing nor none well end "
         "café CAFÉ straße STRASSE İstanbul ǅemal milestone milestones 5 10 year's it's "
         "side-effect sid_e x xx _ — – , ; : . ! ? ( ) [ ] ' ’ \" \t \n").split(" ")


def adversarial_texts(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        k = rng.randint(0, 25)
        pieces = [rng.choice(WORDS) for _ in range(k)]
        seps = [rng.choice(["", " ", " ", " ", "  ", "-", "'"]) for _ in range(k)]
        out.append("".join(p + s for p, s in zip(pieces, seps)))
    return out


def qmsum_texts() -> list[str]:
    files = sorted((FIXTURES / "transcripts").glob("qmsum_*.json"))
    if not files:
        pytest.skip("../shared/fixtures/transcripts absent (real QMSum meetings)")
    return [t["content"] for f in files for t in json.loads(f.read_text())["turns"]]


def demo_texts() -> list[str]:
    """Every third line of the demo transcripts (speaker label cut off)."""
    texts = []
    for f in sorted((REPO / "resources" / "demo").rglob("*.txt")):
        texts += [ln.split(":", 1)[-1] for ln in f.read_text(encoding="utf-8").splitlines()]
    assert texts, "resources/demo has no transcripts"
    return texts[::3]


def annomi_texts() -> list[str]:
    if not ANNOMI.is_file():
        pytest.skip(f"{ANNOMI} absent (uccollab/AnnoMI, real counselling transcripts)")
    import pandas as pd
    d = pd.read_csv(ANNOMI, dtype=str, keep_default_na=False)
    return sorted(set(d["utterance_text"]))


def assert_same(texts, book, window=3):
    compiled = code.compile_codebook(book)
    no_gate = dataclasses.replace(compiled, regex_gate=None)   # the fallback: every regex
    coded = 0
    for text in texts:
        want = reference_match(text, compiled, window, CUES)
        assert code.match_segment(text, compiled, window, CUES) == want, text
        assert code.match_segment(text, no_gate, window, CUES) == want, text
        coded += bool(want)
    return coded


# ---------------------------------------------------------------- tests

def test_tokenizer_equals_nltk_regexp_tokenizer():
    texts = qmsum_texts()[:500] + demo_texts()[:500] + adversarial_texts(2000, 1)
    for text in texts:
        assert code.tokenize(text) == list(_NLTK.span_tokenize(text)), text


@pytest.mark.parametrize("book", [DEMO_BOOK, ADVERSARIAL_BOOK], ids=["demo", "adversarial"])
def test_fast_matcher_equals_reference_on_real_meeting_speech(book):
    assert assert_same(qmsum_texts(), book) > 0


def test_fast_matcher_equals_reference_on_demo_transcripts():
    texts = demo_texts()
    assert assert_same(texts, DEMO_BOOK, window=5) > 0
    assert assert_same(texts[:300], ADVERSARIAL_BOOK) > 0   # its x* runs per character


def test_fast_matcher_equals_reference_on_annomi_utterances():
    assert assert_same(annomi_texts(), DEMO_BOOK) > 0


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fast_matcher_equals_reference_on_adversarial_strings(seed):
    texts = adversarial_texts(1500, seed)
    assert assert_same(texts, ADVERSARIAL_BOOK) > 500
    assert assert_same(texts, DEMO_BOOK, window=2) > 0


@settings(max_examples=300, derandomize=True, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_fast_matcher_equals_reference_on_arbitrary_unicode(text):
    compiled = code.compile_codebook(ADVERSARIAL_BOOK)
    assert code.match_segment(text, compiled, 3, CUES) == \
        reference_match(text, compiled, 3, CUES)
    assert code.tokenize(text) == list(_NLTK.span_tokenize(text))


def test_regex_gate_absent_when_codebook_has_no_regex():
    compiled = code.compile_codebook({"codes": [{"id": "H", "patterns": {"terms": ["hope"]}}]})
    assert compiled.regex_gate is None and compiled.regex_codes == ()
    assert code.match_segment("I hope", compiled, 3, CUES) == [("H", "hope", "term:hope", False)]
