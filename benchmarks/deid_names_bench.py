"""Person names without a roster: recall and precision on a public set (whole, the
even half it was developed on, the odd half held out), the demo with its roster, what
the name pass redacts and reviews in real meeting speech, and its CPU time.

    .venv/bin/python benchmarks/deid_names_bench.py --presidio-synth PATH \
        [--qmsum ../shared/fixtures/transcripts] [--list] [--out names.json]

Not a test. Compare with another version of the package by putting its
``workflow/scripts`` first on ``PYTHONPATH`` (e.g. main exported with
``git archive main workflow/scripts | tar -x -C /tmp/main``).

* presidio-research ``data/synth_dataset_v2.json`` (MIT; 1,500 synthetic texts,
  857 PERSON spans; https://github.com/microsoft/presidio-research), each line a
  turn, no roster (:func:`concord.deid.detect.find_spans`): PERSON recall (every
  non-space character of the gold span redacted), character precision of all
  redactions (as ``deid_bench.py``), and of the name detectors' redactions alone;
* the demo studies with their rosters and codebook (``deid_bench.py``'s (a)): recall
  over all gold spans and codebook terms redacted on their own;
* the four QMSum meetings (AMI, ICSI; CC BY 4.0) through
  :func:`concord.deid.deidentify_session` with a roster of their role labels: NAME
  key entries, and review rows; ``--list`` prints them (public corpus text);
* CPU seconds of :func:`concord.deid.detectors.names.free_names` over the demo's
  turns (warm caches, best of 5), and MB/s per core.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import deid_bench as bench  # noqa: E402

NAME_DETECTORS = {"name-freq", "name-unknown", "named", "title", "kinship", "propagated"}


def person_scores(docs) -> dict:
    from concord.deid.detect import find_spans
    found = [find_spans(t) for t, _ in docs]
    res = bench.score(docs, [[(s, e) for s, e, _, _ in f] for f in found], bench.UNSCORED)
    red = red_in = 0
    for (text, gold), spans in zip(docs, found):
        ing = bytearray(len(text) + 1)
        for s, e, _ in gold:
            ing[s:e] = b"\x01" * (e - s)
        for s, e, _, det in spans:
            if det in NAME_DETECTORS:
                for i in range(s, e):
                    if not text[i].isspace():
                        red += 1
                        red_in += ing[i]
    recall, n = res["recall"]["PERSON"]
    return {"person_recall": recall, "person_spans": n, "precision": res["precision"],
            "name_precision": red_in / red if red else float("nan")}


def demo() -> dict:
    from concord.deid import review
    from concord.textnorm import fold
    codebook = bench.REPO / "config" / "codebook.yaml"
    terms = review.codebook_terms(codebook)
    out = {}
    for study in ("study_a", "study_b"):
        sessions = bench.load_demo(study)
        found, _, originals = bench.concord_demo(sessions, codebook)
        res = bench.score([(raw, gold) for _, raw, gold, _ in sessions], found)
        recall = bench.grouped(res, {t: "all" for t in res["recall"]})["all"]
        out[study] = {"recall": recall[0], "spans": recall[1], "precision": res["precision"],
                      "codebook_terms_redacted": sum(1 for o in originals if fold(o) in terms)}
    return out


def deidentify_qmsum(folder: Path) -> dict:
    """{meeting: (raw text, deidentify_session result)} for the QMSum meetings in
    ``folder``, each with a roster of its speaker labels and invented names."""
    import pandas as pd
    from concord import deid, transcripts
    out = {}
    for p in sorted(folder.glob("qmsum_*.json")):
        raw = transcripts.read_raw(p)
        doc = json.loads(raw)
        roster = pd.DataFrame([dict(participant_id=f"P{i}", session_id=p.stem, speaker_label=s,
                                    full_name=f"Xq{i} Zv{i}", aliases="")
                               for i, s in enumerate(doc["speakers"])])
        out[p.stem] = (raw, deid.deidentify_session(raw, roster, p.stem, fmt="qmsum"))
    return out


def qmsum(folder: Path) -> dict:
    out = {}
    for stem, (_, res) in deidentify_qmsum(folder).items():
        names = res.redactions[res.redactions["type"] == "NAME"]
        out[stem] = {
            "name_redactions": len(names),
            "name_entries": sorted(e["original"] for e in res.key["entries"]
                                   if e["type"] == "NAME"),
            "review": sorted((r["text"], r["suggestion"]) for r in res.review)}
    return out


def name_pass_cpu() -> dict:
    from concord.deid.detectors import names
    from concord.deid.gates import _SEP
    texts = []
    for study in ("study_a", "study_b"):
        for _, raw, _, _ in bench.load_demo(study):
            texts.append(_SEP.join(ln.split(":", 1)[-1].strip() for ln in raw.splitlines()
                                   if ln.strip() and not ln.startswith("#")))
    for t in texts:
        names.free_names(t)   # lexicons and per-word caches
    best = float("inf")
    for _ in range(5):
        t0 = time.process_time()
        for t in texts:
            names.free_names(t)
        best = min(best, time.process_time() - t0)
    mb = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    return {"cpu_s": best, "mb": mb, "mb_per_s": mb / best}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--presidio-synth", type=Path, required=True)
    ap.add_argument("--qmsum", type=Path,
                    default=bench.REPO.parent / "shared" / "fixtures" / "transcripts")
    ap.add_argument("--list", action="store_true", help="print the QMSum names and reviews")
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    docs = bench.load_synth(a.presidio_synth)
    report = {"synth": {"all": person_scores(docs), "even (development)": person_scores(docs[0::2]),
                        "odd (held out)": person_scores(docs[1::2])},
              "demo": demo(), "name_pass": name_pass_cpu()}
    if a.qmsum.is_dir():
        report["qmsum"] = qmsum(a.qmsum)
    for half, r in report["synth"].items():
        print(f"presidio {half:20s} PERSON recall {r['person_recall']:.3f} "
              f"({r['person_spans']}), precision {r['precision']:.3f}, "
              f"name detectors' precision {r['name_precision']:.3f}")
    for study, r in report["demo"].items():
        print(f"demo {study}: recall {r['recall']:.4f} ({r['spans']}), precision "
              f"{r['precision']:.3f}, codebook terms redacted {r['codebook_terms_redacted']}")
    r = report["name_pass"]
    print(f"name pass: {r['cpu_s']:.3f} CPU s for {r['mb']:.2f} MB ({r['mb_per_s']:.1f} MB/s)")
    for sid, r in report.get("qmsum", {}).items():
        print(f"{sid}: {r['name_redactions']} NAME redactions, {len(r['review'])} review rows")
        if a.list:
            print("   names:", ", ".join(r["name_entries"]))
            print("   review:", ", ".join(f"{t} ({s})" for t, s in r["review"]))
    if a.out:
        a.out.write_text(json.dumps(report, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
