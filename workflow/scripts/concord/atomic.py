"""Atomic outputs: every file Concord writes appears whole or not at all.

Every writer (TSV, JSON, PNG, HTML, DOCX, PDF, QDPX, keys) writes a temporary file
in the target's own folder and renames it over the target (``os.replace``, atomic
on POSIX within one file system). A failure -- an exception, a full disk -- removes
the temporary file (``finally``); a job killed outright (SIGKILL) can leave one,
named ``.<name>.concord-tmp-<pid>-<random><suffix>``, which :func:`sweep` removes
once no process with that PID is alive (the workflow sweeps ``results/`` and the
keys folder when it starts).

A job whose Snakemake died cannot replace a newer output. When Snakemake is
killed (``kill -9``) its running jobs are orphaned and go on; a resumed run then
deletes and rewrites their outputs. Before each rename, :func:`commit` checks

* that every process between this one and the nearest Snakemake process that
  started it (the ``bash`` of a ``shell:``/``script:`` job and Snakemake itself) is
  still the same living process (PID and start time, zombies count as dead), and
* when running under Snakemake: that the target was not written by anyone else
  since this process started (Snakemake removes a job's outputs before it starts
  the job, so a target newer than the job is another run's output), nor changed
  since this process last wrote it.

Either failure raises :class:`StaleJobError`, the temporary file is removed and the
newer output stays. Outside Snakemake (a test, ``concord qdpx export``) only the
direct parent is checked.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path

_TMP_TAG = ".concord-tmp-"
_TMP_NAME = re.compile(r"^\..+\.concord-tmp-(?P<pid>\d+)-[0-9a-f]+(\.[^.]*)?$")


class StaleJobError(RuntimeError):
    """This job's Snakemake is gone or a newer output replaced the target."""


def _is_snakemake(proc) -> bool:
    try:
        argv = proc.cmdline()
    except Exception:  # noqa: BLE001 - gone or not ours: not a Snakemake we can see
        return False
    if not argv:
        return False
    if os.path.basename(argv[0]) == "snakemake":
        return True
    if os.path.basename(argv[0]).startswith("python") and len(argv) > 1:
        return os.path.basename(argv[1]) == "snakemake" or argv[1:3] == ["-m", "snakemake"]
    return False


class _Job:
    """This process's ancestry (up to its Snakemake) and start time, taken once."""

    def __init__(self):
        self.pid = os.getpid()
        self.start_ns = None
        self.chain: list[tuple[int, float]] = []
        self.under_snakemake = False
        self.written: dict[str, tuple[int, int, int]] = {}
        try:
            import psutil
        except ImportError:  # pragma: no cover - psutil is a Snakemake dependency
            self.chain = [(os.getppid(), -1.0)]
            return
        me = psutil.Process()
        self.start_ns = int(me.create_time() * 1e9)
        parents = me.parents()
        for p in parents:
            try:
                self.chain.append((p.pid, p.create_time()))
            except Exception:  # noqa: BLE001 - vanished meanwhile: check it later
                self.chain.append((p.pid, -1.0))
            if _is_snakemake(p):
                self.under_snakemake = True
                break
        if not self.under_snakemake:
            self.chain = self.chain[:1]

    def dead_ancestor(self) -> int | None:
        """The PID of the first ancestor that is gone, else None."""
        if not self.chain:
            return None
        try:
            import psutil
        except ImportError:  # pragma: no cover
            return None if os.getppid() == self.chain[0][0] else self.chain[0][0]
        for pid, created in self.chain:
            try:
                p = psutil.Process(pid)
                if (created >= 0 and p.create_time() != created) or \
                        p.status() == psutil.STATUS_ZOMBIE:
                    return pid
            except psutil.NoSuchProcess:
                return pid
            except psutil.Error:  # noqa: PERF203 - access denied: assume alive
                continue
        return None


_JOB: _Job | None = None


def _job() -> _Job:
    global _JOB
    if _JOB is None or _JOB.pid != os.getpid():   # a forked child is its own job
        _JOB = _Job()
    return _JOB


def temp_path(path: str | os.PathLike) -> Path:
    """A fresh temporary name beside ``path`` keeping its suffix (tools that infer the
    format from the name still work): ``.<name>.concord-tmp-<pid>-<hex><suffix>``."""
    path = Path(path)
    return path.with_name(f".{path.name}{_TMP_TAG}{os.getpid()}-{secrets.token_hex(4)}"
                          f"{path.suffix}")


def commit(tmp: str | os.PathLike, path: str | os.PathLike) -> None:
    """Rename ``tmp`` over ``path`` unless this job is stale (see module docstring).
    On refusal ``tmp`` is removed and :class:`StaleJobError` raised."""
    tmp, path = Path(tmp), Path(path)
    job = _job()
    why = None
    dead = job.dead_ancestor()
    if dead is not None:
        why = (f"process {dead}, which started this job, is gone (Snakemake was killed?); "
               f"a resumed run writes this file")
    elif job.under_snakemake and job.start_ns is not None:
        key = os.path.abspath(path)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            mine = job.written.get(key)
            now = (st.st_dev, st.st_ino, st.st_mtime_ns)
            if mine is not None and mine != now:
                why = "the file was replaced by another process after this job wrote it"
            elif mine is None and st.st_mtime_ns > job.start_ns:
                why = "a newer version was written by another process after this job started"
    if why is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise StaleJobError(f"{path}: not replaced: {why}")
    os.replace(tmp, path)
    if job.under_snakemake:
        st = os.stat(path)
        job.written[os.path.abspath(path)] = (st.st_dev, st.st_ino, st.st_mtime_ns)


@contextlib.contextmanager
def replacing(path: str | os.PathLike, private: bool = False):
    """``with replacing(out) as tmp: tool(..., output=tmp)``: a temporary path beside
    ``out`` for a writer that takes a file name (matplotlib, pandoc); committed over
    ``out`` when the block succeeds and the file exists, removed in any case.
    ``private``: the folder is created 0700."""
    path = Path(path)
    if private:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        if not tmp.exists():
            raise FileNotFoundError(f"{path}: the writer did not produce {tmp.name}")
        commit(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


@contextlib.contextmanager
def open_atomic(path: str | os.PathLike, mode: str = "w", private: bool = False,
                encoding: str | None = "utf-8", newline: str | None = "\n"):
    """``open()`` for writing that lands atomically: ``mode`` ``"w"`` or ``"wb"``.
    ``private``: the file is created 0600 (exclusive create: a symlink planted at
    the temporary name is never followed) and the folder 0700."""
    if mode not in ("w", "wb"):
        raise ValueError(f"open_atomic: mode {mode!r}")
    path = Path(path)
    with replacing(path, private=private) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                     0o600 if private else 0o666)
        if private:
            os.fchmod(fd, 0o600)
        if mode == "wb":
            fh = os.fdopen(fd, "wb")
        else:
            fh = os.fdopen(fd, "w", encoding=encoding, newline=newline)
        with fh:
            yield fh


def write_bytes(path: str | os.PathLike, data: bytes, private: bool = False) -> None:
    with open_atomic(path, "wb", private=private) as fh:
        fh.write(data)


def write_text(path: str | os.PathLike, text: str, private: bool = False) -> None:
    with open_atomic(path, "w", private=private) as fh:
        fh.write(text)


def sweep(folders, log=None) -> list[str]:
    """Remove temporary files left by killed writers (their PID is not alive) under
    ``folders``; returns the removed paths."""
    removed = []
    for folder in folders:
        if not folder or not os.path.isdir(folder):
            continue
        for dirpath, _dirs, files in os.walk(folder):
            for f in files:
                m = _TMP_NAME.match(f) if _TMP_TAG in f else None
                if m is None or _pid_alive(int(m.group("pid"))):
                    continue
                p = os.path.join(dirpath, f)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(p)
                    removed.append(p)
                    if log:
                        log(f"removed {p}: left by a writer that was killed")
    return removed


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
