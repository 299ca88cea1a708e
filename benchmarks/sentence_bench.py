"""Which sentence splitter? Side by side on the English Golden Rules (the Pragmatic
Segmenter's 48 rules, ../shared/fixtures/sentences/golden_rules_en.json) and on real
meeting speech (the QMSum/AMI/ICSI turns in ../shared/fixtures/transcripts/), plus how
the synthetic demo's segment boundaries change. Prints figures; not part of the test run.

    .venv/bin/python benchmarks/sentence_bench.py

Splitters:
  punkt-concord-0   NLTK Punkt without data, the config's 15 abbreviations and a list of
                    spoken sentence starters (Concord's set-up until this change)
  punkt-configured  the same Punkt with pySBD's 200 English abbreviations, single
                    letters (initials) and the config's list as ``abbrev_types``
  pysbd             pySBD 0.3.4, English, ``clean=False``, as shipped
  concord-whole     pySBD on every whole turn + exact offsets + the spoken-language
                    rules (Concord until session 21)
  concord           the same spans, pySBD only on the pieces of a turn that may hold a
                    boundary (concord.segment.sentence_spans; what the workflow runs)

Speed is sentences per CPU second (``time.process_time``), the best of three runs.
"""
import json
import statistics
import sys
import time
from pathlib import Path

import pysbd
from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer
from pysbd.lang.english import English

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT.parent / "shared" / "fixtures"
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from concord import segment as seg  # noqa: E402
from concord import transcripts  # noqa: E402
from concord.tsvio import read_tsv  # noqa: E402

ABBREV = ["dr", "mr", "mrs", "ms", "prof", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m",
          "approx", "jr", "sr"]  # config/config.yaml segment.abbreviations
# Concord's Punkt set-up before this change (segment.py at ef0adca), kept for comparison
OLD_STARTERS = set("""
i i'm i've i'd i'll it it's we we're they they're he she you you're the a an and but so
then that that's this there there's what when why how who where which if because or
also just maybe yes yeah no not nothing well um uh oh okay ok my our your his her their
honestly actually really sure right thank thanks do did does is was are were can could
would should in on at for with after before now one some many most all everyone nobody
let let's like as even still first second last
""".split())


def punkt(abbrevs):
    params = PunktParameters()
    params.abbrev_types = set(abbrevs)
    params.sent_starters = set(OLD_STARTERS)
    tok = PunktSentenceTokenizer(params)
    return lambda text: [(s, e) for s, e in tok.span_tokenize(text)]


def pysbd_spans():
    sbd = pysbd.Segmenter(language="en", clean=False, char_span=True)

    def spans(text):
        out = []
        for t in sbd.segment(text):
            stripped = t.sent.strip()
            if stripped:
                a = t.start + len(t.sent) - len(t.sent.lstrip())
                out.append((a, a + len(stripped)))
        return out
    return spans


SPLITTERS = {
    "punkt-concord-0": punkt(ABBREV),
    "punkt-configured": punkt(set(English.Abbreviation.ABBREVIATIONS) | set(ABBREV)
                              | set("abcdefghijklmnopqrstuvwxyz")),
    "pysbd": pysbd_spans(),
    "concord-whole": lambda text: seg._spans(text, ABBREV, fast=False),
    "concord": lambda text: seg.sentence_spans(text, ABBREV),
}


def golden(split):
    rules = json.loads((FIXTURES / "sentences" / "golden_rules_en.json").read_text())["rules"]
    ok, failed = 0, []
    for r in rules:
        got = [r["text"][a:b].strip() for a, b in split(r["text"])]
        if got == r["expected_sentences"]:
            ok += 1
        else:
            failed.append(r["id"])
    return ok, len(rules), failed


def qmsum_turns():
    out = []
    for f in sorted((FIXTURES / "transcripts").glob("qmsum_*.json")):
        out += [t.text for t in transcripts.parse_qmsum(f.read_bytes(), source=f.name)]
    return out


def demo_turns():
    """The de-identified demo (study A) when the de-identifier is importable, else the
    raw synthetic turns (splitting differs only around names vs [NAME-n] tags)."""
    out = []
    sessions = read_tsv(ROOT / "config" / "sessions.tsv")
    try:
        from concord import deidentify as deid
        roster = deid.load_roster(ROOT / "resources/demo/study_a/restricted/roster.tsv")
    except (ImportError, AttributeError):
        deid = None
    for r in sessions.itertuples(index=False):
        raw = (ROOT / r.transcript).read_text(encoding="utf-8")
        if deid is not None:
            text = deid.deidentify_session(raw, roster, r.session_id, source=r.transcript).text
            out += [line.split("\t", 1)[1] for line in text.split("\n") if "\t" in line]
        else:
            out += [t.text for t in transcripts.parse(raw, None, r.transcript, "auto",
                                                      log=open("/dev/null", "w"))]
    return out


def speed(split, turns, repeat=3):
    """(sentences, sentences per CPU second: the best of ``repeat`` runs)"""
    best, n = float("inf"), 0
    for _ in range(repeat):
        t0 = time.process_time()
        n = sum(len(split(t)) for t in turns)
        best = min(best, time.process_time() - t0)
    return n, n / best


def main():
    real = qmsum_turns()
    demo = demo_turns()
    print(f"turns: QMSum (AMI + ICSI, real) {len(real)}, demo study A {len(demo)}")
    print(f"{'splitter':18s} {'Golden Rules':>12s}  {'QMSum sents':>11s} {'sents/s':>8s}  "
          f"{'demo sents':>10s} {'sents/s':>8s}  failed rules")
    for name, split in SPLITTERS.items():
        ok, n, failed = golden(split)
        q_n, q_rate = speed(split, real)
        d_n, d_rate = speed(split, demo)
        print(f"{name:18s} {ok:>7d} / {n:<3d}  {q_n:>11.0f} {q_rate:>8.0f}  {d_n:>10.0f} "
              f"{d_rate:>8.0f}  {failed}")
    old, new = SPLITTERS["punkt-concord-0"], SPLITTERS["concord"]
    changed, examples, n_old, n_new = 0, [], 0, 0
    for t in demo:
        a, b = old(t), new(t)
        n_old, n_new = n_old + len(a), n_new + len(b)
        if a != b:
            changed += 1
            if len(examples) < 8:
                examples.append(([t[s:e] for s, e in a], [t[s:e] for s, e in b]))
    words = statistics.mean(seg.count_words(t[s:e]) for t in demo for s, e in new(t))
    print(f"demo: {changed} of {len(demo)} turns split differently; segments "
          f"{n_old} (Punkt set-up) -> {n_new} (concord); mean words per segment {words:.2f}")
    for a, b in examples:
        print("  punkt  :", a)
        print("  concord:", b)


if __name__ == "__main__":
    main()
