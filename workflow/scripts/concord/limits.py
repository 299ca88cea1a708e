"""Deterministic limits on untrusted input: sizes and counts, never wall-clock time.

A transcript, a coder's export or a sheet comes from outside the project. Whatever
it holds, the work Concord does on it must be bounded by its size, and a file past a
limit must fail the same way on every machine, at once, naming the file, the line
and what to do -- not after minutes, and not depending on the machine's load.

Limits (module constants, each far above anything a real study produced: the
longest turn of the four real meetings in ``../shared/fixtures/transcripts`` (AMI and
ICSI via QMSum, 2,085 turns) has 1,411 characters; an hour-long monologue is about
50,000):

``MAX_FILE_BYTES``     one transcript, sheet or coder file, checked before it is read
``MAX_LINE_CHARS``     one line of a text file (a transcript, a sheet)
``MAX_TURN_CHARS``     one speaker turn after continuation lines are joined
``MAX_ARCHIVE_BYTES``  the total uncompressed size of a DOCX or QDPX archive
``MAX_ARCHIVE_MEMBERS`` the number of members of such an archive
``MAX_MEMBER_RATIO``   uncompressed / compressed size of any one member (a zip bomb
                       compresses by 1000:1 and more; real DOCX XML by about 10:1)

Archives are checked from the ZIP central directory (the sizes every member
declares) before anything is decompressed; :func:`read_member` then stops reading a
member at its declared size, so a directory that lies cannot smuggle more.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from concord.tsvio import InputError

MAX_FILE_BYTES = 200 * 1024 * 1024
MAX_LINE_CHARS = 200_000
MAX_TURN_CHARS = 200_000
MAX_ARCHIVE_BYTES = 200 * 1024 * 1024
MAX_ARCHIVE_MEMBERS = 10_000
MAX_MEMBER_RATIO = 200
_RATIO_FLOOR = 1024 * 1024   # members smaller than this may compress as well as they like


def check_file_size(path, limit: int | None = None) -> None:
    """A user's file is at most ``limit`` bytes (default :data:`MAX_FILE_BYTES`),
    checked with ``stat`` before a byte is read."""
    import os
    limit = MAX_FILE_BYTES if limit is None else limit
    size = os.path.getsize(path)
    if size > limit:
        raise InputError(f"{path}: the file has {size:,} bytes, more than the limit of "
                         f"{limit:,} (concord.limits.MAX_FILE_BYTES); check that it is the "
                         f"right file, remove embedded media, or split it")


def check_line(length: int, source: str, number: int, unit: str = "line",
               limit: int | None = None) -> None:
    """One line (a DOCX paragraph) of ``length`` characters is within the limit."""
    limit = MAX_LINE_CHARS if limit is None else limit
    if length > limit:
        raise InputError(
            f"{source}, {unit} {number}: the {unit} has {length:,} characters, more than "
            f"the limit of {limit:,} (concord.limits.MAX_LINE_CHARS); a {unit} this long is "
            f"not a transcript {unit} -- check that the file is the right one and that its "
            f"line breaks survived the export, or split the {unit}")


def check_lines(text: str, source: str, limit: int | None = None) -> None:
    """Every line of ``text`` is at most ``limit`` characters (default
    :data:`MAX_LINE_CHARS`); else an :class:`InputError` naming the first long line.
    Linear in the text (one ``find`` per line)."""
    limit = MAX_LINE_CHARS if limit is None else limit
    if len(text) <= limit:
        return
    start, number = 0, 1
    while True:
        end = text.find("\n", start)
        stop = len(text) if end < 0 else end
        check_line(stop - start, source, number, limit=limit)
        if end < 0:
            return
        start, number = end + 1, number + 1


def check_turn(length: int, source: str, line: int, unit: str = "line",
               limit: int | None = None) -> None:
    """A speaker turn of ``length`` characters starting at ``line`` is within the limit."""
    limit = MAX_TURN_CHARS if limit is None else limit
    if length > limit:
        raise InputError(
            f"{source}, {unit} {line}: the speaker turn starting here has {length:,} "
            f"characters, more than the limit of {limit:,} (concord.limits.MAX_TURN_CHARS); "
            f"a missing speaker label merges turns -- add the labels, or split the turn")


def check_archive(data: bytes, source: str, kind: str = "archive",
                  max_bytes: int | None = None, max_members: int | None = None,
                  max_ratio: int | None = None) -> zipfile.ZipFile:
    """Open a ZIP (DOCX, QDPX) after checking its central directory: member count,
    total declared uncompressed size and each member's compression ratio.
    Returns the open :class:`zipfile.ZipFile`; raises :class:`InputError`."""
    max_bytes = MAX_ARCHIVE_BYTES if max_bytes is None else max_bytes
    max_members = MAX_ARCHIVE_MEMBERS if max_members is None else max_members
    max_ratio = MAX_MEMBER_RATIO if max_ratio is None else max_ratio
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError,
            NotImplementedError) as exc:
        raise InputError(f"{source}: not a {kind} (ZIP) archive ({exc}); save or export "
                         f"the file again") from None
    if len(infos) > max_members:
        raise InputError(f"{source}: the {kind} has {len(infos):,} members, more than the "
                         f"limit of {max_members:,} (concord.limits.MAX_ARCHIVE_MEMBERS); "
                         f"this is not an ordinary {kind} -- export it again")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise InputError(f"{source}: the {kind} unpacks to {total:,} bytes, more than the "
                         f"limit of {max_bytes:,} (concord.limits.MAX_ARCHIVE_BYTES); remove "
                         f"embedded media or split the file")
    for i in infos:
        if i.file_size > _RATIO_FLOOR and i.file_size > max_ratio * max(i.compress_size, 1):
            raise InputError(f"{source}: archive member {i.filename!r} expands "
                             f"{i.file_size // max(i.compress_size, 1):,}-fold ({i.file_size:,} "
                             f"bytes), more than the limit of {max_ratio}:1 "
                             f"(concord.limits.MAX_MEMBER_RATIO); an archive like this is a "
                             f"zip bomb, not a document -- do not process it")
    return zf


def read_member(zf: zipfile.ZipFile, name: str, source: str) -> bytes:
    """One member's bytes, reading no more than its declared size (+1 to notice a lie)."""
    info = zf.getinfo(name)
    try:
        with zf.open(info) as fh:
            data = fh.read(info.file_size + 1)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, ValueError) as exc:
        raise InputError(f"{source}: archive member {name!r} cannot be read ({exc}); export "
                         f"the file again") from None
    if len(data) > info.file_size:
        raise InputError(f"{source}: archive member {name!r} is larger than its declared "
                         f"size; the archive is damaged or forged -- export it again")
    return data


def compile_pattern(pattern: str, where: str):
    """A user-supplied regular expression (codebook ``patterns.regex``) compiled for
    RE2 (google-re2), which matches in time linear in the text whatever the pattern:
    ``(a+)+$`` cannot backtrack. Case-insensitive, as the automatic coder has always
    matched. RE2 has no backreferences (``\\1``) and no lookaround (``(?=``, ``(?<!``);
    such a pattern, or one whose automaton would pass RE2's memory budget, is an
    :class:`InputError` naming ``where`` (file and code) and the pattern. ``\\b`` is an
    ASCII word boundary in RE2: next to a non-ASCII letter (``café``) use a term or a
    phrase instead."""
    import re2
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    try:
        return re2.compile(pattern, options)
    except (re2.error, TypeError, ValueError) as exc:
        why = exc.args[0] if exc.args else exc
        why = why.decode("utf-8", "replace") if isinstance(why, bytes) else str(why)
        raise InputError(f"{where}: invalid regular expression {pattern!r}: does not compile "
                         f"for RE2, the linear-time engine ({why}); RE2 has no backreferences "
                         f"or lookaround -- rewrite the pattern, or use terms, phrases and "
                         f"exclude phrases (YAML needs \\\\ for a backslash inside double "
                         f"quotes)") from None


def inside_study(path, where: str, data_root: str | None = None, what: str = "file") -> Path:
    """``path`` (relative to the study folder, the working directory) resolved with
    symlinks followed; it must lie inside the study folder or inside ``data_root``
    (config key ``data_root``), else an :class:`InputError` naming ``where`` (the sheet
    and line, or the config key). ``../../etc/passwd`` never reaches a reader."""
    base = Path.cwd().resolve()
    roots = [base] + ([(base / data_root).resolve()] if data_root else [])
    resolved = (base / str(path)).resolve()
    if any(resolved == r or r in resolved.parents for r in roots):
        return resolved
    allowed = "the study folder" + (" or data_root" if data_root else "")
    raise InputError(f"{where}: {what} {str(path)!r} lies outside {allowed}; move it into "
                     f"the study folder, or set data_root in config.yaml to the folder that "
                     f"holds it")
