"""Which Punkt? Untrained vs explicit parameters (Concord's choice) vs trained on the
corpus, measured on the de-identified demo corpus (study A) and on a hand-labelled set
of spoken-language cases. Prints figures; not part of the test run.

    .venv/bin/python benchmarks/punkt_choice.py
"""
import re
import statistics
import sys
from pathlib import Path

from nltk.tokenize.punkt import PunktSentenceTokenizer, PunktTrainer

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from concord import deidentify as deid  # noqa: E402
from concord import segment as seg  # noqa: E402
from concord.tsvio import read_tsv  # noqa: E402

ABBREV = ["dr", "mr", "mrs", "ms", "prof", "st", "vs", "etc", "e.g", "i.e", "a.m", "p.m",
          "approx", "jr", "sr"]
# hand-labelled: the correct sentences of each case (written for this benchmark)
GOLD = [
    ["Dr. Okafor explained it.", "Then we went home."],
    ["Mrs. Hale came at 3 p.m. and left."],
    ["Things like fatigue, e.g. the tiredness, matter."],
    ["I take 2.5 mg a day.", "It helps."],
    ["I was...", "I was scared."],
    ["It was -- how do I say -- hard."],
    ["Was it hard?", "No.", "It was fine."],
    ['He said "no way."', "Then he left."],
    ["Three things: 1. fatigue, 2. nausea, 3. hair."],
    ["My list was fatigue, nausea, etc.", "Then the scans."],
    ["We met at 10 a.m.", "The nurse came."],
    ["I went to St. [FACILITY] twice.", "It was fine."],
    ["Dr. [NAME-1] and Dr. [NAME-2] agreed.", "So we started."],
    ["You know, day by day.", "That's how I live now."],
    ["I know.", "I know it's hard."],
]


def corpus():
    roster = deid.load_roster(ROOT / "resources/demo/study_a/restricted/roster.tsv")
    out = []
    for r in read_tsv(ROOT / "config/sessions.tsv").itertuples(index=False):
        raw = (ROOT / r.transcript).read_text(encoding="utf-8")
        text = deid.deidentify_session(raw, roster, r.session_id, source=r.transcript).text
        out += [line.split("\t", 1)[1] for line in text.split("\n") if "\t" in line]
    return out


def split(tok, text):
    return [text[s:e] for s, e in tok.span_tokenize(text)]


def main():
    turns = corpus()
    trainer = PunktTrainer()
    trainer.INCLUDE_ALL_COLLOCS = True
    trainer.train("\n".join(turns), finalize=True)
    trained = PunktSentenceTokenizer(trainer.get_params())
    ours = seg._tokenizer(tuple(sorted(seg._norm_abbrev(a) for a in ABBREV)))
    tokenizers = {"untrained": PunktSentenceTokenizer(), "explicit (Concord)": ours,
                  "trained on corpus": trained}
    learned = sorted(trainer.get_params().abbrev_types)
    print(f"turns in study A (de-identified): {len(turns)}")
    print(f"abbreviations learned by training on the corpus ({len(learned)}): "
          f"{', '.join(learned[:40])}")
    abbrev_end = re.compile(r"\b(?:Dr|Mr|Mrs|Ms|St|Prof|vs|e\.g|i\.e|a\.m|p\.m)\.$", re.I)
    for name, tok in tokenizers.items():
        sents = [s for t in turns for s in split(tok, t)]
        words = [seg.count_words(s) for s in sents]
        false_abbrev = sum(1 for t in turns for s in split(tok, t)[:-1] if abbrev_end.search(s))
        correct = sum(split(tok, " ".join(g)) == g for g in GOLD)
        print(f"{name:20s} sentences {len(sents):6d}  mean words {statistics.mean(words):5.2f}  "
              f"splits right after a title/abbreviation {false_abbrev:4d}  "
              f"hand-labelled cases right {correct}/{len(GOLD)}")


if __name__ == "__main__":
    main()
