"""De-identification throughput in MB/s per core on a large SIMULATED corpus.

    .venv/bin/python benchmarks/deid_throughput.py [--seeds 3] [--profile]

The corpus: Study B as committed (resources/demo/study_b, 22 sessions) plus Study B
regenerated with ``--seeds`` further seeds by ``concord simulate`` (into a temporary
folder), each with its own roster. One process, one core: every session is
de-identified with :func:`concord.deidentify.deidentify_session` exactly as the rule
does (roster of the whole study); parsing included, file reading and writing not.
Prints MB (UTF-8 bytes of the raw transcripts), seconds and MB/s; ``--profile``
prints the top cProfile entries. Target (issue 3): >= 5 MB/s per core.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        jobs = load(corpora(args.seeds, Path(tmp)))
    mb = sum(len(j[0].encode("utf-8")) for j in jobs) / 1e6
    sys.stderr = io.StringIO()  # transcripts.parse states the detected format per file
    run(jobs[:1])  # warm-up: compile regexes
    t0 = time.perf_counter()
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
    n = run(jobs)
    secs = time.perf_counter() - t0
    sys.stderr = sys.__stderr__
    print(f"sessions {len(jobs)}, {mb:.2f} MB, {n} redactions, {secs:.2f} s, "
          f"{mb / secs:.2f} MB/s per core (target >= 5)")
    if args.profile:
        prof.disable()
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
