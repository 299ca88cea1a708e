"""Benchmark: the full agreement computation (concord.agreement.compute_agreement: human
vs human per code and overall incl. MASI alpha, each human vs the automatic coder, per
stakeholder group) on a synthetic study of 100,000 units x 30 codes x 3 human coders
(+ the automatic coder), with 1,000 bootstrap resamples.

Prints wall time and peak memory (resident set size, ``resource.getrusage``). Targets:
under 10 s and under 2 GB on 2 cores. Run::

    .venv/bin/python benchmarks/agreement_bench.py [--units N] [--codes K]
        [--resamples R] [--profile] [--blas-threads=N]

On a shared machine multi-threaded OpenBLAS spins badly when the cores are busy
(measured here: 49 s with 2 BLAS threads at load 4 vs 8 s with 1), hence the default.
"""

from __future__ import annotations

import argparse
import os
import sys

# Snakemake runs the rule with OPENBLAS_NUM_THREADS = the job's threads (1 by default);
# do the same unless --blas-threads says otherwise (must be set before numpy loads).
_bt = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--blas-threads=")), "1")
os.environ["OPENBLAS_NUM_THREADS"] = os.environ["OMP_NUM_THREADS"] = _bt

import cProfile  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from concord import agreement as ag  # noqa: E402


def synthetic(n_units: int, n_codes: int, n_coders: int, n_sessions: int = 20,
              groups: int = 4, seed: int = 1):
    """Segments, codings and coverage: true codes with prevalence 2-20 %, each coder
    keeps the truth with a per-code probability 0.75-0.97 (else a random guess)."""
    rng = np.random.default_rng(seed)
    codes = [f"C{k:02d}" for k in range(n_codes)]
    per = n_units // n_sessions
    sess = np.repeat([f"S{s:02d}" for s in range(n_sessions)], per)
    n = len(sess)
    seg_ids = np.array([f"{s}-T{i:06d}-S01" for s, i in zip(sess, range(n))])
    group = np.array([f"g{int(s[1:]) % groups}" for s in sess])
    segments = pd.DataFrame({"segment_id": seg_ids, "session_id": sess,
                             "speaker_id": "P01", "group": group})
    prev = rng.uniform(0.02, 0.20, n_codes)
    truth = rng.random((n_codes, n)) < prev[:, None]
    coders = [f"H{c}" for c in range(n_coders)] + ["machine"]
    frames = []
    for c in coders:
        keep = rng.random((n_codes, n)) < rng.uniform(0.75, 0.97, n_codes)[:, None]
        guess = rng.random((n_codes, n)) < prev[:, None]
        k, u = np.nonzero(np.where(keep, truth, guess))
        frames.append(pd.DataFrame({"segment_id": seg_ids[u], "coder": c,
                                    "code": np.array(codes)[k]}))
    codings = pd.concat(frames, ignore_index=True)
    coverage = pd.DataFrame([(c, s) for c in coders for s in sorted(set(sess))],
                            columns=["coder", "session_id"])
    return codings, coverage, segments, codes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--codes", type=int, default=30)
    ap.add_argument("--coders", type=int, default=3)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    ap.add_argument("--blas-threads", default="1",
                    help="OpenBLAS threads, as --blas-threads=N (default 1, as under Snakemake)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    codings, coverage, segments, codes = synthetic(args.units, args.codes, args.coders)
    t_gen = time.perf_counter() - t0
    rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"synthetic data: {len(segments):,} units, {len(codes)} codes, {args.coders} human "
          f"coders + machine, {len(codings):,} coding rows ({t_gen:.1f} s, peak RSS so far "
          f"{rss_gen:.0f} MB)")

    prof = cProfile.Profile() if args.profile else None
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    res = ag.compute_agreement(codings, coverage, segments, codes, moderator_id="MOD",
                               seed=20261123, bootstrap=args.resamples, ci=0.95,
                               reliable=0.8, tentative=0.667)
    if prof:
        prof.disable()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ov = res.overall.set_index("measure")
    print(f"agreement stage: {wall:.2f} s wall for {args.resamples} resamples "
          f"(tables: by_code {len(res.by_code)} rows, human_vs_machine "
          f"{len(res.human_vs_machine)}, by_group {len(res.by_group)}); CPU time {cpu:.2f} s")
    print(f"peak memory (RSS, whole process): {peak:.0f} MB; BLAS threads "
          f"{os.environ['OPENBLAS_NUM_THREADS']}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")
    print(f"pooled alpha {ov.loc['pooled_alpha', 'value']:.4f} "
          f"[{ov.loc['pooled_alpha', 'ci_low']:.4f}, {ov.loc['pooled_alpha', 'ci_high']:.4f}]; "
          f"MASI alpha {ov.loc['masi_alpha', 'value']:.4f} ({ov.loc['masi_alpha', 'note']})")
    print(f"targets: < 10 s -> {'met' if wall < 10 else 'NOT met'}; "
          f"< 2048 MB -> {'met' if peak < 2048 else 'NOT met'}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
