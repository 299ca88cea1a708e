"""Scale benchmark (issue 8): the whole workflow on SIMULATED studies of N sessions.

    .venv/bin/python benchmarks/scale_bench.py --sessions 4 100 2000 [--shard-size 100]
        [--compare 100] [--workdir /tmp/concord-scale] [--cores 2]

For each N, in WORKDIR/N (config/, resources/, workflow/ linked from this repository,
the study made by ``concord simulate --sessions N``, its codebook copied so that it
can be edited), it measures, one after another:

clean          snakemake from nothing to ``rule all`` (manuscript, manifest, leak gate)
no-op          the same command again (nothing to do)
one transcript a moderator line appended to one transcript (gold offsets unchanged)
codebook       one term added to one code's pattern

Each line gives the wall time and the peak resident memory of Snakemake and all its
jobs together (psutil, sampled every 0.2 s). After the clean run, the per-stage table
reads the Snakemake benchmark files every rule writes (``logs/benchmarks/``): wall
seconds summed over a stage's jobs, the largest job's peak RSS, and throughput (MB of
the stage's input text, segments) per second of job time.

``--compare N`` runs that study twice more, side by side with the sharded run: one job
per session (``shard_size=1``), and one job per session with Snakemake job groups
(``--groups`` / ``--group-components``; Snakemake ignores groups when it runs jobs
locally, so this measures whether they help here: they do not).
Nothing here is a test; figures go to BENCHMARKS.md with the command that made them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import psutil

REPO = Path(__file__).resolve().parents[1]
PY = Path(sys.executable)
SHARD_STAGES = ("deidentify", "segment", "code_machine")


class PeakRSS(threading.Thread):
    """Peak summed RSS of a process and its descendants, sampled every 0.2 s."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.proc, self.peak, self.stop = psutil.Process(pid), 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            try:
                procs = [self.proc] + self.proc.children(recursive=True)
                total = 0
                for p in procs:
                    try:
                        total += p.memory_info().rss
                    except psutil.Error:
                        pass
                self.peak = max(self.peak, total)
            except psutil.Error:
                return
            self.stop.wait(0.2)


def snakemake(work: Path, cores: int, extra: list[str]) -> tuple[float, float]:
    """Run the workflow in ``work``; (wall seconds, peak MB)."""
    cmd = [str(PY), "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--cores",
           str(cores), "--configfile", "scale/config.yaml", "--config", "codebook=scale/codebook.yaml",
           *extra]
    start = time.perf_counter()
    with open(work / "bench.log", "a") as log:
        log.write("\n$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, cwd=work, stdout=log, stderr=subprocess.STDOUT,
                                env=dict(os.environ, XDG_CACHE_HOME=str(work / ".cache")))
        sampler = PeakRSS(proc.pid)
        sampler.start()
        code = proc.wait()
        sampler.stop.set()
        sampler.join()
    wall = time.perf_counter() - start
    if code != 0:
        sys.exit(f"snakemake failed in {work} (exit {code}); see {work / 'bench.log'}")
    return wall, sampler.peak / 1e6


def prepare(base: Path, n: int, label: str, share: float) -> Path:
    """WORKDIR/<label>: links to the repo, the simulated study (made once per N and
    share, and shared by the labels), nothing from an earlier run."""
    study = base / f"study-{n}-{share:g}"
    if not (study / "config.yaml").is_file():
        t = time.perf_counter()
        subprocess.run([str(PY), "-m", "concord.cli", "simulate", "--sessions", str(n), "--out",
                        str(study), "--sheet-root", "scale", "--coded-share", str(share)],
                       check=True, cwd=REPO, stdout=subprocess.DEVNULL)
        print(f"  simulate --sessions {n}: {time.perf_counter() - t:.1f} s", flush=True)
    work = base / label
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    for d in ("config", "resources", "workflow"):
        (work / d).symlink_to(REPO / d)
    shutil.copytree(study, work / "scale", copy_function=os.link)   # hard links: no copy
    cb = work / "scale" / "codebook.yaml"
    cb.unlink(missing_ok=True)
    shutil.copy(REPO / "config" / "codebook.yaml", cb)
    return work


def touch_transcript(work: Path) -> str:
    sessions = pd.read_csv(work / "scale" / "sessions.tsv", sep="\t", dtype=str)
    row = sessions.iloc[len(sessions) // 2]
    path = work / row.transcript
    data = path.read_bytes()                 # replace the file (hard link to the study)
    path.unlink()
    path.write_bytes(data + b"MODERATOR: One last thing: thank you all for coming today.\n")
    return row.session_id


def touch_codebook(work: Path) -> None:
    cb = work / "scale" / "codebook.yaml"
    text = cb.read_text(encoding="utf-8")
    assert "terms: [survival, survive," in text
    cb.write_text(text.replace("terms: [survival, survive,", "terms: [survival, survive, outlive,", 1),
                  encoding="utf-8")


def stage_table(work: Path) -> pd.DataFrame:
    """Per stage: jobs, summed job wall s, largest job peak RSS, throughput."""
    rows = []
    for f in sorted((work / "logs" / "benchmarks").rglob("*.tsv")):
        b = pd.read_csv(f, sep="\t").iloc[0]
        stage = f.parent.name if f.parent.name in SHARD_STAGES else f.stem
        cpu = pd.to_numeric(b.get("cpu_time", float("nan")), errors="coerce")
        rows.append((stage, float(b["s"]), float(cpu), float(b["max_rss"])))
    df = pd.DataFrame(rows, columns=["stage", "s", "cpu", "max_rss"])
    out = df.groupby("stage").agg(jobs=("s", "size"), seconds=("s", "sum"),
                                  cpu_s=("cpu", "sum"), peak_mb=("max_rss", "max"))
    raw_mb = sum(p.stat().st_size for p in (work / "scale" / "transcripts").glob("*")) / 1e6
    deid_mb = sum(p.stat().st_size for p in (work / "results" / "deid").glob("*.txt")) / 1e6
    segments = sum(sum(1 for _ in open(p, encoding="utf-8")) - 1
                   for p in (work / "results" / "segments").glob("*.tsv")
                   if p.name not in ("summary.tsv", "participants_by_group.tsv"))
    out["MB/s"] = ""
    out["segments/s"] = ""
    if "deidentify" in out.index:
        out.loc["deidentify", "MB/s"] = f"{raw_mb / out.loc['deidentify', 'seconds']:.2f}"
    if "segment" in out.index:
        out.loc["segment", "MB/s"] = f"{deid_mb / out.loc['segment', 'seconds']:.2f}"
        out.loc["segment", "segments/s"] = f"{segments / out.loc['segment', 'seconds']:,.0f}"
    if "code_machine" in out.index:
        out.loc["code_machine", "segments/s"] = f"{segments / out.loc['code_machine', 'seconds']:,.0f}"
    print(f"  corpus: {raw_mb:.1f} MB raw transcripts, {deid_mb:.1f} MB de-identified, "
          f"{segments:,} segments")
    return out.sort_values("seconds", ascending=False)


def groups_args(work: Path) -> list[str]:
    """Every per-session rule in one group, 25 sessions' jobs per group job."""
    sessions = pd.read_csv(work / "scale" / "sessions.tsv", sep="\t", dtype=str)["session_id"]
    return ["--groups", *[f"{st}_{s}=persession" for st in SHARD_STAGES for s in sessions],
            "--group-components", "persession=25"]


def run_study(base: Path, n: int, shard: int, cores: int, label: str, share: float,
              extra=(), changes: bool = True) -> dict:
    work = prepare(base, n, label, share)
    extra = [f"shard_size={shard}", *extra]     # continues --config
    res = {}
    res["clean"] = snakemake(work, cores, extra)
    print(f"  {label}: clean {res['clean'][0]:.1f} s, peak {res['clean'][1]:.0f} MB", flush=True)
    table = stage_table(work)
    res["noop"] = snakemake(work, cores, extra)
    print(f"  {label}: no-op {res['noop'][0]:.1f} s", flush=True)
    if changes:
        sid = touch_transcript(work)
        res["transcript"] = snakemake(work, cores, extra)
        print(f"  {label}: one transcript ({sid}) {res['transcript'][0]:.1f} s", flush=True)
        touch_codebook(work)
        res["codebook"] = snakemake(work, cores, extra)
        print(f"  {label}: codebook pattern {res['codebook'][0]:.1f} s", flush=True)
    res["stages"] = table
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, nargs="+", default=[4, 100, 2000])
    ap.add_argument("--shard-size", type=int, default=None,
                    help="shard_size for the sharded runs (default: the config default)")
    ap.add_argument("--compare", type=int, nargs="*", default=[],
                    help="N for which one-job-per-session runs are measured side by side")
    ap.add_argument("--coded-share", type=float, default=1.0,
                    help="share of sessions double-coded by the simulated human coders")
    ap.add_argument("--workdir", default="/tmp/concord-scale")
    ap.add_argument("--cores", type=int, default=2)
    ap.add_argument("--clean-only", action="store_true",
                    help="only the clean run (no no-op, transcript or codebook rerun); the "
                         "learned coder (rule learn) is part of every run")
    args = ap.parse_args()
    base = Path(args.workdir)
    base.mkdir(parents=True, exist_ok=True)
    import yaml
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    shard = args.shard_size or schema["properties"]["shard_size"]["default"]
    print(f"# Concord scale benchmark: {args.cores} cores, shard_size {shard}, "
          f"human double-coding share {args.coded_share:g}, "
          f"{psutil.cpu_count()} CPUs, {psutil.virtual_memory().total / 2**30:.0f} GiB", flush=True)
    summary = []
    for n in args.sessions:
        print(f"\n## N = {n}", flush=True)
        res = run_study(base, n, shard, args.cores, f"run-{n}", args.coded_share,
                        changes=not args.clean_only)
        clean = res["clean"][0]
        summary.append((n, f"sharded ({shard})", clean, res["noop"][0],
                        res.get("transcript", (None,))[0], res.get("codebook", (None,))[0],
                        max(v[1] for k, v in res.items() if k != "stages")))
        print(res["stages"].to_string())
        if not args.clean_only:
            print(f"  one transcript / clean = {res['transcript'][0] / clean:.1%}; "
                  f"codebook / clean = {res['codebook'][0] / clean:.1%}")
        if n in args.compare:
            per = run_study(base, n, 1, args.cores, f"run-{n}-per-session", args.coded_share,
                            changes=False)
            grp = run_study(base, n, 1, args.cores, f"run-{n}-groups", args.coded_share,
                            extra=groups_args(base / f"run-{n}-per-session"), changes=False)
            for label, r in (("one job per session", per), ("per session + job groups", grp)):
                summary.append((n, label, r["clean"][0], r["noop"][0], None, None,
                                max(r["clean"][1], r["noop"][1])))
                print(f"  {label}: clean {r['clean'][0] / clean:.2f}x the sharded run")
    print("\n| N | layout | clean s | no-op s | one transcript s | codebook s | peak MB |")
    print("|---|---|---|---|---|---|---|")
    for n, label, c, o, t, k, m in summary:
        f = (lambda v: "–" if v is None else f"{v:.1f}")
        print(f"| {n:,} | {label} | {f(c)} | {f(o)} | {f(t)} | {f(k)} | {m:,.0f} |")


if __name__ == "__main__":
    main()
