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
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from concord import deidentify as deid

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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--large-roster", type=int, default=0, metavar="N")
    ap.add_argument("--sessions", type=int, default=50)
    args = ap.parse_args()
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
