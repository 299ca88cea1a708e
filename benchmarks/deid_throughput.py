"""De-identification throughput in MB/s per core on a large SIMULATED corpus.

    .venv/bin/python benchmarks/deid_throughput.py [--seeds 3] [--profile]
    .venv/bin/python benchmarks/deid_throughput.py --large-roster 10000 [--sessions 50]

The corpus: Study B as committed (resources/demo/study_b, 22 sessions) plus Study B
regenerated with ``--seeds`` further seeds by ``concord simulate`` (into a temporary
folder), each with its own roster. One process, one core: every session is
de-identified with :func:`concord.deidentify.deidentify_session` exactly as the rule
does (roster of the whole study); parsing included, file reading and writing not.
Prints MB (UTF-8 bytes of the raw transcripts), CPU seconds of this single-threaded
process (and wall-clock seconds) and MB per CPU second ("per core"; robust to other
load on the machine); ``--profile`` prints the top cProfile entries. Target (issue 3):
>= 5 MB/s per core.

``--large-roster N``: the sharding case (issue 8: one process de-identifies many
sessions with the roster of a whole study). Rosters of Study B regenerated with
further seeds are concatenated (session and participant ids made unique, the
moderator kept as ``MOD``) until they hold >= N rows; the first ``--sessions``
sessions of Study B are de-identified once with Study B's own roster (100-odd rows)
and once with the large roster that contains it, in one process (the large roster's
matcher is built on the first session and reused). Prints seconds per session for both.

``--sets`` (issue 12, throughput): MB/s per core on each of Study A and Study B as
committed (with roster and codebook, :func:`deidentify_session` per session as the rule
runs it, parsing included), the presidio-research synthetic set (``--presidio-synth
PATH``: 1,500 short texts through :func:`concord.deid.detect.find_spans`, i.e. the
per-call overhead) and the QMSum meetings in ``--qmsum DIR`` (default
``../shared/fixtures/transcripts``; each meeting's turns, one per line, through
``find_spans``). Each set runs in a fresh process; the one-time cost of that process
(import, then every word list of ``concord.deid.lexicons`` and a first call on a short
text: place names, census names, libphonenumber metadata) is reported apart and is not
part of the MB/s. ``--repeat N`` takes the fastest of N processes (other helpers load
the machine); ``--profile`` adds the top cProfile entries (internal time) per set.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

_t0 = time.process_time()
from concord import deidentify as deid  # noqa: E402

IMPORT_CPU = time.process_time() - _t0
REPO = Path(__file__).resolve().parents[1]


def corpora(seeds: int, tmp: Path) -> list[Path]:
    dirs = [REPO / "resources" / "demo" / "study_b"]
    for k in range(seeds):
        out = tmp / f"seed{k}"
        subprocess.run([sys.executable, "-m", "concord.cli", "simulate", "--out", str(out),
                        "--study", "b", "--seed", str(1000 + k), "--no-sheets", "--no-readme"],
                       check=True, cwd=REPO, capture_output=True)
        dirs.append(out / "study_b")
    return dirs


def load(dirs: list[Path]) -> list[tuple]:
    jobs = []
    for d in dirs:
        roster = deid.load_roster(d / "restricted" / "roster.tsv")
        for t in sorted((d / "transcripts").glob("*.txt")):
            jobs.append((t.read_text(encoding="utf-8"), roster, t.stem, str(t)))
    return jobs


def run(jobs) -> int:
    n = 0
    for raw, roster, sid, src in jobs:
        n += len(deid.deidentify_session(raw, roster, sid, source=src).redactions)
    return n


def large_roster(n: int, tmp: Path):
    """Study B's roster plus renamed copies of further seeds' rosters, >= n rows."""
    import pandas as pd
    base = REPO / "resources" / "demo" / "study_b"
    frames = [deid.load_roster(base / "restricted" / "roster.tsv")]
    k = 0
    while sum(len(f) for f in frames) < n:
        out = tmp / f"roster{k}"
        subprocess.run([sys.executable, "-m", "concord.cli", "simulate", "--out", str(out),
                        "--study", "b", "--seed", str(2000 + k), "--no-sheets",
                        "--no-readme"], check=True, cwd=REPO, capture_output=True)
        r = deid.load_roster(out / "study_b" / "restricted" / "roster.tsv")
        r["session_id"] = f"X{k}_" + r["session_id"]
        r["participant_id"] = [p if p == "MOD" else f"X{k}_{p}" for p in r["participant_id"]]
        # one full name is one participant_id: a name drawn again gets a suffix
        r["full_name"] = r["full_name"] + f" X{k}"
        frames.append(r)
        k += 1
    big = pd.concat(frames, ignore_index=True)
    deid.check_roster_identities(big, "large roster")
    return frames[0], big


def per_session(jobs, roster) -> float:
    """CPU seconds per session."""
    t0 = time.process_time()
    for raw, _, sid, src in jobs:
        deid.deidentify_session(raw, roster, sid, source=src)
    return (time.process_time() - t0) / len(jobs)


def main_large(n: int, sessions: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        small, big = large_roster(n, Path(tmp))
    base = REPO / "resources" / "demo" / "study_b" / "transcripts"
    jobs = [(t.read_text(encoding="utf-8"), None, t.stem, str(t))
            for t in sorted(base.glob("*.txt"))]
    jobs = (jobs * (sessions // len(jobs) + 1))[:sessions]
    sys.stderr = io.StringIO()  # transcripts.parse states the detected format per file
    t0 = time.process_time()
    deid.deidentify_session(jobs[0][0], big, jobs[0][2], source=jobs[0][3])
    build = time.process_time() - t0
    deid.deidentify_session(jobs[0][0], small, jobs[0][2], source=jobs[0][3])
    t_small = per_session(jobs, small)
    t_big = per_session(jobs, big)
    sys.stderr = sys.__stderr__
    print(f"{sessions} sessions; roster {len(small)} rows: {t_small * 1000:.1f} ms/session; "
          f"roster {len(big)} rows: {t_big * 1000:.1f} ms/session (CPU) "
          f"(first session incl. building the matcher: {build:.2f} s)")


# ---------------------------------------------------------------------------
# --sets: one process per set

SETS = ("study_a", "study_b", "presidio", "qmsum")


def _set_inputs(name: str, presidio: str | None, qmsum: str):
    """(MB, a function running the set once)."""
    if name in ("study_a", "study_b"):
        from concord.deid import review
        base = REPO / "resources" / "demo" / name
        roster = deid.load_roster(base / "restricted" / "roster.tsv")
        terms = review.codebook_terms(REPO / "config" / "codebook.yaml")
        raws = [(t.stem, t.read_text(encoding="utf-8"))
                for t in sorted((base / "transcripts").glob("*.txt"))]

        def run():
            for sid, raw in raws:
                deid.deidentify_session(raw, roster, sid, source=sid, fmt="labelled",
                                        codebook=terms)
        return sum(len(r.encode("utf-8")) for _, r in raws) / 1e6, run
    from concord import transcripts
    from concord.deid.detect import find_spans
    if name == "presidio":
        data = json.loads(Path(presidio).read_text(encoding="utf-8"))
        texts = [x["full_text"] for x in data]
    else:
        texts = []
        for p in sorted(Path(qmsum).glob("qmsum_*.json")):
            doc = json.loads(p.read_text(encoding="utf-8"))
            items = doc.get("meeting_transcripts", doc.get("turns"))
            texts.append("\n".join(transcripts.qmsum_text(it["content"]) for it in items))
    return (sum(len(t.encode("utf-8")) for t in texts) / 1e6,
            lambda: [find_spans(t) for t in texts])


def load_once() -> None:
    """What a process pays once: every word list of :mod:`concord.deid.lexicons` (its
    functions without arguments), then a first call on a short text (patterns,
    libphonenumber metadata)."""
    from concord.deid import lexicons
    from concord.deid.detect import find_spans
    for f in list(vars(lexicons).values()):
        if callable(f) and hasattr(f, "cache_info") and \
                getattr(f, "__wrapped__", f).__code__.co_argcount == 0:
            f()
    find_spans("warm up: Maria lives in London, call 555-123-4567 on March 3rd.")


def set_worker(name: str, presidio: str | None, qmsum: str, profile: bool) -> None:
    t0 = time.process_time()
    load_once()
    load = time.process_time() - t0
    mb, run = _set_inputs(name, presidio, qmsum)
    if profile:
        prof = cProfile.Profile()
        prof.enable()
    t0 = time.process_time()
    run()
    cpu = time.process_time() - t0
    top = ""
    if profile:
        prof.disable()
        out = io.StringIO()
        pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(12)
        top = out.getvalue()
    print(json.dumps({"mb": mb, "cpu": cpu, "load": load, "import": IMPORT_CPU, "top": top}))


def main_sets(args) -> None:
    names = [s for s in SETS if s != "presidio" or args.presidio_synth]
    print("set        MB      CPU s   MB/s per core   one-time CPU s: import, lists + 1st call")
    for name in names:
        runs = []
        for _ in range(args.repeat):
            cmd = [sys.executable, __file__, "--set-worker", name, "--qmsum", args.qmsum]
            if args.presidio_synth:
                cmd += ["--presidio-synth", args.presidio_synth]
            if args.profile and not runs:
                cmd.append("--profile")
            out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=REPO)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        best = min(runs, key=lambda r: r["cpu"])
        print(f"{name:9s} {best['mb']:6.3f}  {best['cpu']:6.2f}   {best['mb'] / best['cpu']:6.2f}"
              f"          {min(r['import'] for r in runs):5.2f}  "
              f"{min(r['load'] for r in runs):5.2f}")
        if args.profile:
            print(runs[0]["top"])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--large-roster", type=int, default=0, metavar="N")
    ap.add_argument("--sessions", type=int, default=50)
    ap.add_argument("--sets", action="store_true")
    ap.add_argument("--presidio-synth", help="presidio-research synth_dataset_v2.json")
    ap.add_argument("--qmsum", default=str(REPO.parent / "shared" / "fixtures" / "transcripts"))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--set-worker", choices=SETS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.set_worker:
        return set_worker(args.set_worker, args.presidio_synth, args.qmsum, args.profile)
    if args.sets:
        return main_sets(args)
    if args.large_roster:
        return main_large(args.large_roster, args.sessions)
    with tempfile.TemporaryDirectory() as tmp:
        jobs = load(corpora(args.seeds, Path(tmp)))
    mb = sum(len(j[0].encode("utf-8")) for j in jobs) / 1e6
    sys.stderr = io.StringIO()  # transcripts.parse states the detected format per file
    run(jobs[:1])  # warm-up: compile regexes
    t0, c0 = time.perf_counter(), time.process_time()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    n = run(jobs)
    secs, cpu = time.perf_counter() - t0, time.process_time() - c0
    sys.stderr = sys.__stderr__
    # per core = per CPU second of this (single-threaded) process, robust to other
    # load on the machine; the wall-clock figure is printed beside it
    print(f"sessions {len(jobs)}, {mb:.2f} MB, {n} redactions, {cpu:.2f} CPU s "
          f"({secs:.2f} s wall), {mb / cpu:.2f} MB/s per core (target >= 5)")
    if args.profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
