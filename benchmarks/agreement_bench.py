"""Benchmark: the full agreement computation (concord.agreement.compute_agreement: human
vs human per code and overall incl. MASI alpha, each human vs the automatic coder, per
stakeholder group) on a synthetic study of 100,000 units x 30 codes x 3 human coders
(+ the automatic coder), with 1,000 bootstrap resamples.

Prints wall time and peak memory (resident set size, ``resource.getrusage``). Targets:
under 10 s and under 2 GB on 2 cores. Run::

    .venv/bin/python benchmarks/agreement_bench.py [--units N] [--codes K]
        [--resamples R] [--method patterns|units|both] [--profile] [--blas-threads=N]

``--study DIR`` benchmarks a workflow run folder instead of synthetic data (its
results/coding/{codings,coverage}.tsv and results/segments/<session>.tsv, e.g. a
``concord simulate --sessions N`` study). Besides the whole-process peak RSS (which
includes building the input), the stage's own peak is printed: the peak RSS counter
is reset (``/proc/self/clear_refs``) after the input is built.

``--method units`` runs the module as of commit ``--units-rev`` (default 8f23cdf, the
last one that resampled units: resamples x units weight matrices), loaded with
``git show``; ``patterns`` the working tree (resample weights per distinct per-unit row,
multinomial); ``both`` runs each in its own process (so peak RSS is per method) on the
same synthetic data and prints them side by side with the largest difference of the
point estimates (must be 0) and of the interval bounds (Monte Carlo noise).

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
import gc  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

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


ROOT = Path(__file__).resolve().parents[1]
MODULE = "workflow/scripts/concord/agreement.py"


def load_module(method: str, rev: str):
    """The agreement module: the working tree (patterns) or as of ``rev`` (units)."""
    if method == "patterns":
        return ag
    src = subprocess.run(["git", "show", f"{rev}:{MODULE}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp(prefix="agreement_units_")) / "agreement_units.py"
    path.write_text(src, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("agreement_units", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["agreement_units"] = mod
    spec.loader.exec_module(mod)
    return mod


def side_by_side(args) -> None:
    """Each method in its own process; one table."""
    runs = {}
    for m in ("units", "patterns"):
        out = Path(tempfile.mkdtemp(prefix="agreement_bench_")) / f"{m}.json"
        cmd = [sys.executable, __file__, "--method", m, "--units", str(args.units),
               "--codes", str(args.codes), "--coders", str(args.coders),
               "--resamples", str(args.resamples), "--units-rev", args.units_rev,
               *(["--study", args.study] if args.study else []),
               f"--blas-threads={args.blas_threads}", "--json", str(out)]
        print(f"--- {m}: {' '.join(cmd[1:])}", flush=True)
        subprocess.run(cmd, check=True)
        runs[m] = json.loads(out.read_text())
    u, p = runs["units"], runs["patterns"]
    print(f"\n{'':32s}{'units':>12s}{'patterns':>12s}{'ratio':>8s}")
    for key, label in (("wall", "wall s"), ("cpu", "CPU s"), ("peak_mb", "peak RSS MB"),
                       ("stage_peak_mb", "peak RSS during stage MB")):
        print(f"{label:32s}{u[key]:12.2f}{p[key]:12.2f}{u[key] / p[key]:8.1f}")
    est, bound = 0.0, 0.0
    for t in u["tables"]:
        a, b = np.array(u["tables"][t]["est"], float), np.array(p["tables"][t]["est"], float)
        assert np.array_equal(np.isnan(a), np.isnan(b)), t
        est = max(est, float(np.nanmax(np.abs(a - b), initial=0)))
        a, b = np.array(u["tables"][t]["ci"], float), np.array(p["tables"][t]["ci"], float)
        bound = max(bound, float(np.nanmax(np.abs(a - b), initial=0)))
    print(f"point estimates: largest |units - patterns| = {est:g} (must be 0)")
    print(f"interval bounds / p_below: largest |units - patterns| = {bound:.4f} "
          "(Monte Carlo noise)")


def from_study(root: str):
    """Codings, coverage, segments and codes of a workflow run folder."""
    from concord.tsvio import read_tsv
    root = Path(root)
    codings = read_tsv(root / "results/coding/codings.tsv")
    coverage = read_tsv(root / "results/coding/coverage.tsv")
    sessions = sorted(set(coverage["session_id"]))
    segments = pd.concat([read_tsv(root / "results/segments" / f"{s}.tsv") for s in sessions],
                         ignore_index=True)
    return codings, coverage, segments, sorted(set(codings["code"]))


def reset_peak() -> bool:
    """Reset the kernel's peak RSS counter of this process (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def peak_mb() -> float:
    """VmHWM (peak RSS since the last reset) in MB, or NaN."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=100_000)
    ap.add_argument("--codes", type=int, default=30)
    ap.add_argument("--coders", type=int, default=3)
    ap.add_argument("--resamples", type=int, default=1000)
    ap.add_argument("--method", choices=("patterns", "units", "both"), default="patterns",
                    help="bootstrap: per distinct unit row (working tree), per unit (as of "
                         "--units-rev), or both side by side")
    ap.add_argument("--units-rev", default="8f23cdf")
    ap.add_argument("--study", help="a workflow run folder instead of synthetic data")
    ap.add_argument("--json", help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help="print the top cProfile entries")
    ap.add_argument("--blas-threads", default="1",
                    help="OpenBLAS threads, as --blas-threads=N (default 1, as under Snakemake)")
    args = ap.parse_args()
    if args.method == "both":
        side_by_side(args)
        return
    mod = load_module(args.method, args.units_rev)

    t0 = time.perf_counter()
    if args.study:
        codings, coverage, segments, codes = from_study(args.study)
    else:
        codings, coverage, segments, codes = synthetic(args.units, args.codes, args.coders)
    t_gen = time.perf_counter() - t0
    rss_gen = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'study ' + args.study if args.study else 'synthetic data'}: {len(segments):,} "
          f"segments, {len(codes)} codes, "
          f"{coverage['coder'].nunique()} coders incl. machine, {len(codings):,} coding rows "
          f"({t_gen:.1f} s, peak RSS so far {rss_gen:.0f} MB)")
    gc.collect()
    rss_in = peak_mb() if reset_peak() else float("nan")

    prof = cProfile.Profile() if args.profile else None
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    if prof:
        prof.enable()
    res = mod.compute_agreement(codings, coverage, segments, codes, moderator_id="MOD",
                               seed=20261123, bootstrap=args.resamples, ci=0.95,
                               reliable=0.8, tentative=0.667)
    if prof:
        prof.disable()
    wall = time.perf_counter() - t0
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    stage_peak = peak_mb()
    ov = res.overall.set_index("measure")
    print(f"agreement stage ({args.method}): {wall:.2f} s wall for {args.resamples} resamples "
          f"(tables: by_code {len(res.by_code)} rows, human_vs_machine "
          f"{len(res.human_vs_machine)}, by_group {len(res.by_group)}); CPU time {cpu:.2f} s")
    print(f"peak memory (RSS): whole process {peak:.0f} MB; during the stage {stage_peak:.0f} "
          f"MB (input held: {rss_in:.0f} MB); BLAS threads "
          f"{os.environ['OPENBLAS_NUM_THREADS']}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")
    print(f"pooled alpha {ov.loc['pooled_alpha', 'value']:.4f} "
          f"[{ov.loc['pooled_alpha', 'ci_low']:.4f}, {ov.loc['pooled_alpha', 'ci_high']:.4f}]; "
          f"MASI alpha {ov.loc['masi_alpha', 'value']:.4f} ({ov.loc['masi_alpha', 'note']})")
    print(f"targets: < 10 s -> {'met' if wall < 10 else 'NOT met'}; "
          f"< 2048 MB -> {'met' if peak < 2048 else 'NOT met'}")
    if prof:
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    if args.json:
        est_cols = ["percent_agreement", "cohen_kappa", "fleiss_kappa", "gwet_ac1",
                    "krippendorff_alpha"]
        ci_cols = ["ci_low", "ci_high", "p_below_threshold"]
        tables = {t: {"est": df[est_cols].to_numpy(float).ravel().tolist(),
                      "ci": df[ci_cols].to_numpy(float).ravel().tolist()}
                  for t, df in (("by_code", res.by_code), ("machine", res.human_vs_machine),
                                ("group", res.by_group))}
        tables["overall"] = {"est": res.overall["value"].to_numpy(float).tolist(),
                             "ci": res.overall[["ci_low", "ci_high"]].to_numpy(float)
                             .ravel().tolist()}
        Path(args.json).write_text(json.dumps({"wall": wall, "cpu": cpu, "peak_mb": peak,
                                               "stage_peak_mb": stage_peak,
                                               "tables": tables}))


if __name__ == "__main__":
    main()
