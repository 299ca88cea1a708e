"""Resume a workflow run that was interrupted (Snakemake killed, machine rebooted).

``python -m concord.recover [snakemake args]`` (what ``make run`` calls) does three
things in the working directory (the study folder), then runs Snakemake:

1. removes temporary files that killed writers left under ``results/`` and
   ``restricted/`` (:func:`concord.atomic.sweep`: only those whose process is gone);
2. if Snakemake's lock is still there (``.snakemake/locks/``) and **no Snakemake
   process is running in this folder** (its working directory or ``--directory``),
   the lock is stale: it runs ``snakemake --unlock`` with the same arguments. A lock
   held by a live Snakemake is left alone and Snakemake then refuses to start, as
   it should;
3. runs ``snakemake --rerun-incomplete`` with the arguments: outputs of jobs that
   were running when the run died are recognised by Snakemake's incomplete markers,
   deleted and made again. Outputs land by rename (:mod:`concord.atomic`), so a file
   that exists is whole, and a job orphaned by the crash cannot overwrite what the
   resumed run writes.

The profile ``profiles/default`` sets ``rerun-incomplete`` too, so a plain
``snakemake --cores N`` also resumes incomplete outputs; only a stale lock needs
this wrapper (or ``snakemake --unlock`` by hand).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from concord import atomic


def _directory(args: list[str]) -> Path:
    for i, a in enumerate(args):
        if a in ("--directory", "-d") and i + 1 < len(args):
            return Path(args[i + 1]).resolve()
        if a.startswith("--directory="):
            return Path(a.split("=", 1)[1]).resolve()
    return Path.cwd().resolve()


def live_snakemake(directory: Path, exclude: int | None = None) -> list[int]:
    """PIDs of running Snakemake processes whose study folder is ``directory``."""
    import psutil
    found = []
    for p in psutil.process_iter(["pid"]):
        if p.pid in (os.getpid(), exclude) or not atomic._is_snakemake(p):
            continue
        try:
            if p.status() == psutil.STATUS_ZOMBIE:
                continue
            argv, cwd = p.cmdline(), Path(p.cwd()).resolve()
        except psutil.Error:
            continue
        where = cwd
        for i, a in enumerate(argv):
            if a in ("--directory", "-d") and i + 1 < len(argv):
                where = (cwd / argv[i + 1]).resolve()
            elif a.startswith("--directory="):
                where = (cwd / a.split("=", 1)[1]).resolve()
        if where == directory:
            found.append(p.pid)
    return found


def stale_lock(directory: Path) -> bool:
    """A lock file exists and no Snakemake runs in ``directory``."""
    locks = directory / ".snakemake" / "locks"
    held = locks.is_dir() and any(locks.iterdir())
    return held and not live_snakemake(directory)


def prepare(args: list[str], snakemake: list[str] | None = None, log=print) -> None:
    """Steps 1 and 2 of the module docstring for the study folder ``args`` name."""
    snakemake = snakemake or [sys.executable, "-m", "snakemake"]
    directory = _directory(args)
    for p in atomic.sweep([directory / "results", directory / "restricted"]):
        log(f"concord recover: removed {os.path.relpath(p, directory)} (left by a killed job)")
    if stale_lock(directory):
        log("concord recover: the previous run was interrupted (stale lock, no Snakemake "
            "running here); unlocking and resuming")
        subprocess.run([*snakemake, "--unlock", *args], check=True,
                       stdout=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    snakemake = [sys.executable, "-m", "snakemake"]
    prepare(args, snakemake)
    return subprocess.run([*snakemake, "--rerun-incomplete", *args]).returncode


if __name__ == "__main__":
    sys.exit(main())
