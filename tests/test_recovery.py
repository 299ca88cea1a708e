"""Interrupted runs recover by themselves (issue 14): Snakemake is killed with SIGKILL
at several points of a real run of the mini study; its jobs are orphaned and go on,
as after the audit's ``kill -9``. The documented resume (``make run`` =
``python -m concord.recover``) must unlock the stale lock, make the incomplete
outputs again and end with ``results/`` byte-identical to an uninterrupted run,
with no temporary file left and no output replaced by an orphan."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import REPO, make_study

# (name, "the run got this far" -- the kill happens as soon as it holds)
KILL_POINTS = [
    ("deidentify", lambda w: any((w / "results" / "deid").glob("*.txt"))),
    ("coding", lambda w: (w / "results" / "coding").is_dir()),
    ("render", lambda w: (w / "results" / "manuscript" / "numbers.json").exists()),
]


def _args(work: Path) -> list[str]:
    return ["--snakefile", str(REPO / "Snakefile"), "--directory", str(work),
            "--configfile", str(work / "config.yaml"), "--cores", "2"]


def _files(work: Path) -> dict:
    return {p.relative_to(work): p.read_bytes()
            for p in sorted((work / "results").rglob("*")) if p.is_file()}


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.workflow
@pytest.mark.parametrize("point", [p[0] for p in KILL_POINTS])
def test_run_killed_with_sigkill_resumes_to_identical_results(mini_run, tmp_path, point):
    reached = dict(KILL_POINTS)[point]
    work = make_study(tmp_path / "mini")
    env = dict(os.environ, XDG_CACHE_HOME=str(work / ".cache"))
    run = subprocess.Popen([sys.executable, "-m", "snakemake", *_args(work)], cwd=work,
                           env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)   # its own group: the orphans stay in it
    try:
        deadline = time.monotonic() + 600
        while not reached(work) and run.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert run.poll() is None, f"the run ended before reaching {point}"
        os.kill(run.pid, signal.SIGKILL)              # Snakemake only; its jobs go on
        run.wait()
        assert any((work / ".snakemake" / "locks").iterdir()), "expected a stale lock"

        resumed = subprocess.run([sys.executable, "-m", "concord.recover", *_args(work)],
                                 cwd=work, env=env, capture_output=True, text=True,
                                 timeout=900)
        assert resumed.returncode == 0, resumed.stdout[-3000:] + resumed.stderr[-3000:]
        assert "unlocking and resuming" in resumed.stdout

        deadline = time.monotonic() + 120            # let the orphans finish (or fail)
        while _group_alive(run.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        if _group_alive(run.pid):
            os.killpg(run.pid, signal.SIGKILL)       # only the processes this test started
    got, want = _files(work), _files(mini_run)
    assert [str(p) for p in got if ".concord-tmp-" in p.name] == []
    assert sorted(map(str, got)) == sorted(map(str, want))
    assert [str(p) for p in want if got[p] != want[p]] == []
    again = subprocess.run([sys.executable, "-m", "snakemake", *_args(work), "--dry-run"],
                           cwd=work, env=env, capture_output=True, text=True)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_a_live_run_is_never_unlocked(tmp_path):
    """A lock held by a Snakemake running in the folder (its cwd or --directory) is
    not stale; once that process is gone it is."""
    from concord import recover
    work = (tmp_path / "w").resolve()
    (work / ".snakemake" / "locks").mkdir(parents=True)
    (work / ".snakemake" / "locks" / "0.input.lock").write_text("x")
    assert recover.stale_lock(work)
    stand_in = tmp_path / "snakemake"          # argv looks like `python .../snakemake`
    stand_in.write_text("import time\ntime.sleep(60)\n")
    for cwd, extra in ((work, []), (tmp_path, ["--directory", "w"])):
        live = subprocess.Popen([sys.executable, str(stand_in), *extra], cwd=cwd)
        try:
            for _ in range(100):
                if live.pid in recover.live_snakemake(work):
                    break
                time.sleep(0.05)
            assert live.pid in recover.live_snakemake(work)
            assert not recover.stale_lock(work)
        finally:
            live.kill()
            live.wait()
    assert recover.stale_lock(work)
