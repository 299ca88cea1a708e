"""CPU seconds of the learn rule at scale (issue #15, "Scale (priority 5)" in BENCHMARKS.md).

    .venv/bin/python benchmarks/learned_scale_bench.py --study RUN --replicas 10 \\
        --work /tmp/learned-rep [--out DIR] [--profile FILE]

``RUN``: a study folder after ``snakemake ... results/coding/codings.tsv`` (results/
segments, results/deid, results/coding/codings.tsv and coverage.tsv; the codebook in
scale/codebook.yaml or config/codebook.yaml). Its sessions S0001..S<n> are repeated
``--replicas`` times as sessions S0001..S<n * replicas> (segments, texts, every coder's
codings and coverage; written once into ``--work``), so a 200-session study stands in
for 2,000 sessions. The replicas repeat texts: this times the rule, it says nothing about
agreement (``learned_bench.py`` measures that on AnnoMI).

Then it runs ``workflow/scripts/learn.py`` itself (the script the rule runs, with the
config defaults of ``learn:``, ``agreement:`` and one thread) in this process, outputs
into ``--out``, and prints the script's own per-step CPU log and the total.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import resource
import runpy
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]


def defaults(section: str) -> dict:
    schema = yaml.safe_load((REPO / "workflow/schemas/config.schema.yaml").read_text())
    props = schema["properties"][section]["properties"]
    return {k: v.get("default") for k, v in props.items()}


def renumber(ids: pd.Series, offset: int) -> pd.Series:
    """S0001... -> S<0001 + offset>... (the session part of session and segment IDs)."""
    num = ids.str.slice(1, 5).astype(int) + offset
    return "S" + num.map("{:04d}".format) + ids.str.slice(5)


def replicate(study: Path, work: Path, replicas: int) -> None:
    """Write the replicated study into ``work`` (once)."""
    if (work / "results/coding/coverage.tsv").is_file():
        return
    segs = sorted((study / "results/segments").glob("S*.tsv"))
    n = len(segs)
    (work / "results/segments").mkdir(parents=True, exist_ok=True)
    (work / "results/deid").mkdir(parents=True, exist_ok=True)
    (work / "results/coding").mkdir(parents=True, exist_ok=True)
    for p in segs:
        df = pd.read_csv(p, sep="\t", dtype=str, keep_default_na=False)
        for r in range(replicas):
            off = r * n
            out = df.assign(segment_id=renumber(df["segment_id"], off),
                            session_id=renumber(df["session_id"], off))
            sid = out["session_id"].iloc[0]
            out.to_csv(work / "results/segments" / f"{sid}.tsv", sep="\t", index=False)
            link = work / "results/deid" / f"{sid}.txt"
            if not link.exists():
                os.symlink(study / "results/deid" / f"{p.stem}.txt", link)
    for name, col in (("codings.tsv", "segment_id"), ("coverage.tsv", "session_id")):
        df = pd.read_csv(study / "results/coding" / name, sep="\t", dtype=str,
                         keep_default_na=False)
        parts = [df.assign(**{col: renumber(df[col], r * n)}) for r in range(replicas)]
        pd.concat(parts, ignore_index=True).to_csv(work / "results/coding" / name, sep="\t",
                                                   index=False)


def snakemake_object(study: Path, work: Path, out: Path) -> SimpleNamespace:
    book = study / "scale/codebook.yaml"
    book = book if book.is_file() else study / "config/codebook.yaml"
    sessions = sorted(p.stem for p in (work / "results/segments").glob("S*.tsv"))
    codebook = yaml.safe_load(book.read_text(encoding="utf-8"))
    code_roles = {c["id"]: list(c["roles"]) for c in codebook["codes"] if c.get("roles")}
    ag = defaults("agreement")
    ag["thresholds"] = {"reliable": 0.8, "tentative": 0.667}
    names = ["codings", "evaluation", "agreement", "next", "qdpx", "forest", "numbers"]
    files = ["codings.tsv", "evaluation.tsv", "agreement.tsv", "next.tsv", "next.qdpx",
             "alpha_forest.png", "numbers.json"]
    out.mkdir(parents=True, exist_ok=True)
    return SimpleNamespace(
        input=SimpleNamespace(codings=str(work / "results/coding/codings.tsv"),
                              coverage=str(work / "results/coding/coverage.tsv"),
                              segments=[str(work / f"results/segments/{s}.tsv") for s in sessions],
                              deid=[str(work / f"results/deid/{s}.txt") for s in sessions],
                              codebook=str(book)),
        output=SimpleNamespace(**{k: str(out / f) for k, f in zip(names, files)}),
        log=[str(out / "learn.log")],
        params=SimpleNamespace(learn=defaults("learn"), unit_roles=["participant"],
                               code_roles=code_roles, agreement=ag, prevalence_coder="machine",
                               study_id="scale", title="learned coder at scale"))


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--study", type=Path, required=True)
    ap.add_argument("--replicas", type=int, default=10)
    ap.add_argument("--work", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--script", type=Path, default=REPO / "workflow/scripts/learn.py",
                    help="the learn script to run (another checkout's, for a before/after)")
    ap.add_argument("--profile", type=Path, default=None, help="write cProfile stats here")
    a = ap.parse_args(argv)
    t = time.perf_counter()
    replicate(a.study.resolve(), a.work.resolve(), a.replicas)
    print(f"replicated study in {a.work} ({time.perf_counter() - t:.0f} s)", flush=True)
    out = a.out or a.work / "learned"
    sm = snakemake_object(a.study.resolve(), a.work.resolve(), out)
    stderr = sys.stderr
    c0, w0 = time.process_time(), time.perf_counter()
    prof = cProfile.Profile() if a.profile else None
    try:
        if prof:
            prof.enable()
        runpy.run_path(str(a.script), init_globals={"snakemake": sm}, run_name="__main__")
    finally:
        if prof:
            prof.disable()
            prof.dump_stats(str(a.profile))
        if sys.stderr is not stderr:
            sys.stderr.close()
            sys.stderr = stderr
    cpu, wall = time.process_time() - c0, time.perf_counter() - w0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    log = Path(sm.log[0]).read_text(encoding="utf-8").splitlines()
    print("\n".join(line for line in log if "CPU" in line))
    print(f"learn.py: {cpu:.1f} s CPU ({wall:.0f} s wall), peak RSS {rss:.0f} MB; outputs in {out}")


if __name__ == "__main__":
    main()
