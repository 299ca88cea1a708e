"""Leak gate on real speech: false alarms, recall of planted names, throughput.

Real text nobody here wrote: the four QMSum meetings in ../shared/fixtures/transcripts/
(AMI ES2004a, IS1003a, TS3004a; ICSI Bed003; CC BY 4.0), written as de-identified
outputs are (``SPEAKER<TAB>text``). A fictional roster whose names are mostly also
English words (Hope, Grace, Will, May, Mark, Bill, Rose, June; surnames Stone, Bell,
Hunt, Park, Marsh, Green) plus O'Brien and José Ñúñez. Nobody of that roster is in the
meetings, so every hit on the clean text is a false alarm. Then names are planted in
forms real transcripts and manuscripts have them (sentence start, mid-sentence,
possessive, full name, typographic apostrophe, unaccented, lower case) and the share
found is the recall. Compared with the gate on main before this change (``--old``:
the file at ef0adca) and with a naive case-insensitive gate.

    .venv/bin/python benchmarks/gate_bench.py [--old /tmp/old_privacy.py]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import random
import re
import sys
import time
from pathlib import Path

import pandas as pd

from concord import deidentify as deid
from concord import privacy as pv

FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "transcripts"
MEETINGS = ["qmsum_ES2004a", "qmsum_IS1003a", "qmsum_TS3004a", "qmsum_Bed003"]
PEOPLE = [("Hope", "Marsh"), ("Grace", "Bell"), ("Will", "Stone"), ("May", "Chen"),
          ("Mark", "Hunt"), ("Bill", "Park"), ("Rose", "Green"), ("June", "Fisher"),
          ("Niamh", "O'Brien"), ("José", "Ñúñez"), ("Carla", "Duarte"), ("Ilse", "Corrigan")]
FORMS = {  # form -> (template, how the name is written)
    "sentence start": ("{g} here again, I think.", lambda g, s: g),
    "mid-sentence": ("we should ask {g} about that", lambda g, s: g),
    "possessive": ("that was {s}'s idea", lambda g, s: s),
    "full name": ("thanks to {g} {s} for the notes", lambda g, s: None),
    "typographic apostrophe": ("that was {s}'s idea", lambda g, s: s.replace("'", "’")),
    "unaccented": ("{g} {s} said so", lambda g, s: None),
    "lower case (not a word)": ("talk to {g} later", lambda g, s: g.lower()),
}


def meetings() -> str:
    out = []
    for m in MEETINGS:
        d = json.loads((FIXTURES / f"{m}.json").read_text(encoding="utf-8"))
        out += [f"{t['speaker']}\t{re.sub(r'{[a-z]+}', '', t['content']).strip()}"
                for t in d["turns"]]
    return "\n".join(out) + "\n"


def roster() -> pd.DataFrame:
    return pd.DataFrame([[f"P{i:02d}", "S1", f"P{i:02d}", f"{g} {s}", ""]
                         for i, (g, s) in enumerate(PEOPLE, 1)], columns=deid.ROSTER_COLUMNS)


def plant(text: str, seed: int = 7):
    """Insert one sentence per person and form into random turns; return the text and
    the planted name spans (start, end, form)."""
    rng = random.Random(seed)
    lines = text.split("\n")
    plants = []
    for form, (tpl, how) in FORMS.items():
        for g, s in PEOPLE:
            if form == "lower case (not a word)" and pv.is_common_word(g):
                continue     # a common word in lower case is the word: not a name
            if form == "typographic apostrophe" and "'" not in s:
                continue
            name = how(g, s)
            if form == "full name":
                name = f"{g} {s}"
            if form == "unaccented":
                if g != "José":
                    continue
                name = "Jose Nunez"
            sentence = tpl.replace("{g} {s}", name).replace("{g}", name).replace("{s}", name)
            plants.append((rng.randrange(len(lines)), sentence, name, form))
    for i, sentence, name, form in plants:
        lines[i] = lines[i] + " " + sentence[0].upper() + sentence[1:] \
            if form == "sentence start" else lines[i] + " " + sentence
    out = "\n".join(lines)
    spans = []
    # locate each planted sentence (unique) and the name inside it
    for i, sentence, name, form in plants:
        shown = sentence[0].upper() + sentence[1:] if form == "sentence start" else sentence
        at = out.index(shown)
        k = at + shown.index(name)
        spans.append((k, k + len(name), form))
    return out, spans


def run(gate_hits, text, spans):
    t = time.perf_counter()
    hits = gate_hits(text)
    secs = time.perf_counter() - t
    found = {f: [0, 0] for f in FORMS}
    for s, e, form in spans:
        found[form][1] += 1
        found[form][0] += any(hs < e and s < he for hs, he in hits)
    false = [h for h in hits if not any(h[0] < e and s < h[1] for s, e, _ in spans)]
    return found, false, secs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", help="privacy.py of main before this change (git show ef0adca:...)")
    args = ap.parse_args()
    clean = meetings()
    text, spans = plant(clean)
    terms = pv.identifiers(roster(), [])
    gate = pv.Gate(terms)
    naive = pv.Gate([pv.Term(t.text, t.type, t.source, False) for t in terms])
    gates = {"this gate": lambda x: [(s, e) for s, e, _ in gate.hits(x)],
             "case-insensitive": lambda x: [(s, e) for s, e, _ in naive.hits(x)]}
    if args.old:
        spec = importlib.util.spec_from_file_location("old_privacy", args.old)
        old = importlib.util.module_from_spec(spec)
        sys.modules["old_privacy"] = old
        spec.loader.exec_module(old)
        ids = old.identifiers(roster(), [])
        m = old.compile_identifiers(ids)
        gates["main before (ef0adca)"] = lambda x: [(s, e) for s, e, _ in m.finditer(x)]
    words = len(clean.split())
    print(f"{len(MEETINGS)} real meetings, {words:,} words, {len(clean.encode()) / 1e6:.2f} MB; "
          f"{len(terms)} identifiers ({sum(t.cased for t in terms)} common words, "
          f"matched only capitalised); {len(spans)} planted names\n")
    rows = []
    for name, fn in gates.items():
        _, false_clean, secs = run(fn, clean, [])
        found, _, _ = run(fn, text, spans)
        total = sum(v[1] for v in found.values())
        hit = sum(v[0] for v in found.values())
        rows.append([name, f"{hit}/{total} = {hit / total:.2f}",
                     *[f"{v[0]}/{v[1]}" for v in found.values()],
                     len(false_clean), f"{len(false_clean) / words * 1e4:.1f}",
                     f"{len(clean.encode()) / 1e6 / secs:.1f}"])
    cols = ["gate", "recall", *FORMS, "false alarms", "per 10k words", "MB/s"]
    print(pd.DataFrame(rows, columns=cols).T.to_string(header=False))


if __name__ == "__main__":
    main()
