"""Writing restricted files safely (contract B in the team plan).

* :func:`ensure_dir`: the folder (and missing parents up to the first existing one)
  created 0700 before anything is written in it; an existing folder is tightened to
  0700; a symlink in its place is refused.
* :func:`write_private`: the file is written to a new name in the same folder with
  ``O_CREAT | O_EXCL | O_NOFOLLOW`` (so an attacker's symlink or file there is never
  followed or reused), mode 0600 whatever the umask (``fchmod``), flushed, then
  renamed over the target (``os.replace`` replaces a symlink at the target itself,
  never the file it points to).

Messages name the path's folder, never the content.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from pathlib import Path

from concord.tsvio import InputError


def ensure_dir(path) -> Path:
    """Create ``path`` (0700) if needed; refuse a symlink; return it."""
    path = Path(path)
    missing = []
    p = path
    while not p.exists() and not p.is_symlink():
        missing.append(p)
        if p.parent == p:
            break
        p = p.parent
    for d in reversed(missing):
        try:
            os.mkdir(d, 0o700)
        except FileExistsError:
            pass
        os.chmod(d, 0o700, follow_symlinks=False)
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise InputError(f"{path}: a restricted folder must be a real folder, not a symlink or "
                         f"a file; remove it and rerun")
    if stat.S_IMODE(st.st_mode) & 0o077:
        os.chmod(path, 0o700)
    return path


def write_private(path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` (mode 0600) via an exclusive new file + rename."""
    path = Path(path)
    ensure_dir(path.parent)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    tmp = path.parent / f".{path.name}.{secrets.token_hex(8)}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(tmp, flags, 0o600)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(raw)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if tmp.exists():
            tmp.unlink()
        raise


def write_private_json(obj, path) -> None:
    write_private(path, json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=True) + "\n")
