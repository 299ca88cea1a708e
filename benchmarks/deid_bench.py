"""De-identification recall, precision and throughput: Concord against its peers.

    .venv/bin/python benchmarks/deid_bench.py --presidio-synth PATH \
        [--peers-python /tmp/peers/bin/python] [--out results.json]

Not a test. Two corpora:

(a) the demo corpora's gold identifier spans (``resources/demo/study_{a,b}``; written
    by this project's simulator: Concord is tuned to them, read these numbers as a
    regression check, not as evidence), Concord with each study's roster and the demo
    codebook, exactly as the deidentify rule runs; the peers without a roster;
(b) a public PII data set with character-level gold spans that nobody on this team
    wrote: ``data/synth_dataset_v2.json`` of microsoft/presidio-research (MIT licence;
    1,500 synthetic sentences, 2,813 spans; https://github.com/microsoft/presidio-research).
    Not committed here: pass its path. Concord runs without a roster
    (:func:`concord.deid.detect.find_spans`, each line a turn).

Metrics, per gold type: *recall* = share of gold spans whose every non-space character
is inside some redaction (of any type: hidden is what matters); *precision* = share of
redacted non-space characters that lie inside a gold span of any type (on (b) the
ORGANIZATION, TITLE and NRP spans are not scored for recall -- Concord does not treat
them as identifiers -- but redacting them is not counted against precision). MB/s per
core = UTF-8 megabytes of input / CPU seconds of the detecting process (detection only,
no file I/O; one process, one core).

Peers run in a throwaway virtual environment (never in requirements): presidio-analyzer
(its pattern recognizers only: the spaCy NER engine needs a model from outside PyPI),
scrubadub (default detectors) and philter-lite (its default configuration), each in a
subprocess of ``--peers-python`` running this file with ``--peer-worker NAME``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# (b): presidio-research entity types -> the groups the targets are stated for
GROUPS = {
    "PERSON": "names",
    "STREET_ADDRESS": "places", "GPE": "places", "ZIP_CODE": "places",
    "PHONE_NUMBER": "structured", "EMAIL_ADDRESS": "structured", "CREDIT_CARD": "structured",
    "IBAN_CODE": "structured", "US_SSN": "structured", "IP_ADDRESS": "structured",
    "DOMAIN_NAME": "structured", "US_DRIVER_LICENSE": "structured", "DATE_TIME": "structured",
    "AGE": "age",
}
UNSCORED = {"ORGANIZATION", "TITLE", "NRP"}


def load_synth(path: Path) -> list[tuple[str, list[tuple[int, int, str]]]]:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    return [(x["full_text"], [(s["start_position"], s["end_position"], s["entity_type"])
                              for s in x["spans"]]) for x in data]


def load_demo(study: str):
    """(session id, raw text, gold spans, roster, codebook path) per demo session."""
    import pandas as pd
    from concord import deid
    base = REPO / "resources" / "demo" / study
    roster = deid.load_roster(base / "restricted" / "roster.tsv")
    gold = pd.read_csv(base / "gold_identifiers.tsv", sep="\t", dtype=str,
                       keep_default_na=False)
    out = []
    for t in sorted((base / "transcripts").glob("*.txt")):
        g = gold[gold["session_id"] == t.stem]
        spans = [(int(r.start), int(r.end), r.type) for r in g.itertuples(index=False)]
        out.append((t.stem, t.read_text(encoding="utf-8"), spans, roster))
    return out


def score(docs: list[tuple[str, list]], found: list[list[tuple[int, int]]],
          unscored=frozenset()) -> dict:
    """Recall per gold type, precision (characters), over documents."""
    per: dict[str, list[int]] = {}
    red_chars = red_in_gold = 0
    for (text, gold), spans in zip(docs, found):
        covered = bytearray(len(text) + 1)
        for s, e in spans:
            covered[s:e] = b"\x01" * (e - s)
        in_gold = bytearray(len(text) + 1)
        for s, e, ty in gold:
            in_gold[s:e] = b"\x01" * (e - s)
            if ty in unscored:
                continue
            idx = [i for i in range(s, e) if not text[i].isspace()]
            r = per.setdefault(ty, [0, 0])
            r[0] += 1
            r[1] += all(covered[i] for i in idx)
        for i, ch in enumerate(text):
            if covered[i] and not ch.isspace():
                red_chars += 1
                red_in_gold += in_gold[i]
    out = {"recall": {t: (h / n, n) for t, (n, h) in sorted(per.items())},
           "precision": red_in_gold / red_chars if red_chars else float("nan")}
    return out


def grouped(res: dict, groups: dict) -> dict:
    agg: dict[str, list[float]] = {}
    for ty, (r, n) in res["recall"].items():
        g = groups.get(ty, ty)
        a = agg.setdefault(g, [0.0, 0])
        a[0] += r * n
        a[1] += n
    return {g: (h / n, n) for g, (h, n) in sorted(agg.items())}


# ---------------------------------------------------------------------------
# Concord

def concord_free(texts: list[str]) -> tuple[list[list[tuple[int, int]]], float]:
    from concord.deid.detect import find_spans
    find_spans("warm up: Maria lives in London.")  # load the data once, outside the timing
    t0 = time.process_time()
    out = [[(s, e) for s, e, _, _ in find_spans(t)] for t in texts]
    return out, time.process_time() - t0


def concord_demo(sessions, codebook) -> tuple[list, float, list]:
    """With the roster and codebook, as the rule runs; also the redacted originals."""
    from concord import deid
    from concord.deid import review
    terms = review.codebook_terms(codebook)
    deid.deidentify_session(sessions[0][1], sessions[0][3], sessions[0][0], codebook=terms)
    t0 = time.process_time()
    found, originals = [], []
    for sid, raw, _, roster in sessions:
        res = deid.deidentify_session(raw, roster, sid, codebook=terms)
        found.append([(s, e) for s, e, _, _ in res.raw_spans])
        originals += [raw[s:e] for s, e, _, _ in res.raw_spans]
    return found, time.process_time() - t0, originals


# ---------------------------------------------------------------------------
# peers (run inside the throwaway environment)

def _peer_presidio():
    """Every predefined English recognizer that needs no NLP model (patterns, checksums,
    libphonenumber); the spaCy NER recognizer is left out (no model from PyPI)."""
    from presidio_analyzer import RecognizerRegistry
    reg = RecognizerRegistry()
    reg.load_predefined_recognizers(languages=["en"])
    recs = [r for r in reg.recognizers
            if "Spacy" not in type(r).__name__ and "Ner" not in type(r).__name__]

    def run(text):
        out = []
        for r in recs:
            for x in r.analyze(text, r.supported_entities, None) or []:
                out.append((x.start, x.end))
        return out
    return run


def _peer_scrubadub():
    import scrubadub
    scrubber = scrubadub.Scrubber()

    def run(text):
        return [(f.beg, f.end) for f in scrubber.iter_filth(text)]
    return run


def _peer_philter():
    import philter_lite
    config = Path(philter_lite.__file__).parent / "configs" / "philter_delta.toml"
    patterns = philter_lite.load_filters(str(config))

    def run(text):
        include_map, _exclude_map, _ = philter_lite.detect_phi(text, patterns=patterns)
        return [(s, e) for s, e in include_map.filecoords()]
    return run


def peer_worker(name: str) -> None:
    texts = json.loads(sys.stdin.read())
    run = {"presidio": _peer_presidio, "scrubadub": _peer_scrubadub,
           "philter": _peer_philter}[name]()
    run("warm up: Maria lives in London, call 555-123-4567.")
    t0 = time.process_time()
    out = [run(t) for t in texts]
    json.dump({"spans": out, "cpu": time.process_time() - t0}, sys.stdout)


def run_peer(python: str, name: str, texts: list[str]):
    proc = subprocess.run([python, __file__, "--peer-worker", name], input=json.dumps(texts),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        return None, proc.stderr.strip().splitlines()[-1:] or ["failed"]
    res = json.loads(proc.stdout)
    return [[tuple(x) for x in s] for s in res["spans"]], res["cpu"]


# ---------------------------------------------------------------------------

def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presidio-synth", type=Path, help="presidio-research synth_dataset_v2.json")
    ap.add_argument("--peers-python", help="python of a venv with the peers installed")
    ap.add_argument("--peers", default="presidio,scrubadub,philter")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--peer-worker")
    a = ap.parse_args(argv)
    if a.peer_worker:
        peer_worker(a.peer_worker)
        return 0
    report: dict = {}
    peers = [p for p in a.peers.split(",") if p] if a.peers_python else []

    # (b) public data set, no roster
    if a.presidio_synth:
        docs = load_synth(a.presidio_synth)
        texts = [t for t, _ in docs]
        mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
        systems = {"concord": concord_free(texts)}
        for p in peers:
            systems[p] = run_peer(a.peers_python, p, texts)
        report["synth"] = {}
        for name, (found, cpu) in systems.items():
            if found is None:
                report["synth"][name] = {"error": cpu}
                continue
            res = score(docs, found, UNSCORED)
            report["synth"][name] = {"by_type": res["recall"], "groups": grouped(res, GROUPS),
                                     "precision": res["precision"], "mb_per_s": mb / cpu,
                                     "mb": mb}

    # (a) demo corpora with gold spans
    from concord.deid import review
    from concord.textnorm import fold
    codebook = REPO / "config" / "codebook.yaml"
    terms = review.codebook_terms(codebook)
    report["demo"] = {}
    for study in ("study_a", "study_b"):
        sessions = load_demo(study)
        docs = [(raw, gold) for _, raw, gold, _ in sessions]
        mb = sum(len(raw.encode("utf-8")) for _, raw, _, _ in sessions) / 1e6
        found, cpu, originals = concord_demo(sessions, codebook)
        # a codebook term redacted on its own (not inside a name or place)
        lost = sum(1 for o in originals if fold(o) in terms)
        systems = {"concord": (found, cpu)}
        for p in peers:
            systems[p] = run_peer(a.peers_python, p, [raw for _, raw, _, _ in sessions])
        report["demo"][study] = {}
        for name, (f, c) in systems.items():
            if f is None:
                report["demo"][study][name] = {"error": c}
                continue
            res = score(docs, f)
            entry = {"by_type": res["recall"], "precision": res["precision"],
                     "mb_per_s": mb / c, "mb": mb,
                     "recall_all": grouped(res, {t: "all" for t in res["recall"]})["all"]}
            if name == "concord":
                entry["codebook_terms_redacted"] = lost
            report["demo"][study][name] = entry
    text = json.dumps(report, indent=1, sort_keys=True)
    if a.out:
        a.out.write_text(text + "\n", encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
