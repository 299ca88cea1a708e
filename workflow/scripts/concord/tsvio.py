"""Reading and writing the TSV files of the data contract.

Every table in ``results/`` is UTF-8, tab-separated, with a header, no index
column, ``\\n`` line endings, rows sorted by the caller's key and floats written
with a fixed number of significant digits, so that two runs give the same bytes.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd


class InputError(ValueError):
    """Bad user input: the message names the file, the line or row and the fix."""


def read_tsv(path: str | os.PathLike, required: list[str] | None = None,
             only: bool = False) -> pd.DataFrame:
    """Read a TSV as strings (no type guessing, empty cells stay "").

    ``required`` columns that are missing raise :class:`InputError` naming the file.
    ``only``: parse just the required columns (a study-wide stage reading two million
    segments need not hold their text when it does not use it).
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        wanted = set(required or []) if only else None
        df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False,
                         quoting=csv.QUOTE_NONE, encoding="utf-8",
                         usecols=(lambda c: c in wanted) if only else None)
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: file is empty; expected a header line") from None
    except pd.errors.ParserError as exc:
        raise InputError(f"{path}: not a valid TSV ({exc})") from None
    except UnicodeDecodeError:  # pandas gives an offset in its buffer: decode the file
        decode_utf8(path.read_bytes(), path, advice="save the file as UTF-8 (tab-separated)")
        raise
    missing = [c for c in (required or []) if c not in df.columns]
    if missing:
        header = pd.read_csv(path, sep="\t", nrows=0, quoting=csv.QUOTE_NONE).columns if only \
            else df.columns
        raise InputError(f"{path}: missing column(s) {', '.join(missing)}; "
                         f"header has {', '.join(header)}")
    return df


def decode_utf8(data: bytes, source, subject: str = "", advice: str = "save it as UTF-8",
                encoding: str = "utf-8") -> str:
    """``data`` decoded; bytes that are not UTF-8 are an :class:`InputError` naming
    ``source`` and the line of the first bad byte (``subject``: "the sheet" ...)."""
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        what = f"{subject} is not" if subject else "not"
        raise InputError(f"{source}, line {line}: {what} UTF-8 text (byte {exc.start}); "
                         f"{advice}") from None


def format_value(value, digits: int = 6) -> str:
    """Format one cell deterministically (floats to ``digits`` significant digits)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NA"
        return f"{value:.{digits}g}"
    try:  # numpy scalars
        import numpy as np
        if isinstance(value, np.bool_):
            return "true" if bool(value) else "false"
        if isinstance(value, np.floating):
            return format_value(float(value), digits)
        if isinstance(value, np.integer):
            return str(int(value))
    except ImportError:  # pragma: no cover
        pass
    return str(value)


def _column_text(col: pd.Series, digits: int) -> list[str]:
    """One column as cells, exactly as :func:`format_value` formats each value, with
    fast paths for plain numpy dtypes and all-string columns (issue 8: tables of
    millions of rows)."""
    values = col.tolist()                      # Python scalars (NaN stays a float)
    kind = col.dtype.kind if isinstance(col.dtype, np.dtype) else ""
    if kind in "iu":
        return [str(v) for v in values]
    if kind == "b":
        return ["true" if v else "false" for v in values]
    if kind == "f":
        return ["NA" if v != v else f"{v:.{digits}g}" for v in values]
    if all(type(v) is str for v in values):
        return values
    return [format_value(v, digits) for v in values]


def write_tsv(df: pd.DataFrame, path: str | os.PathLike, sort_by: list[str] | None = None,
              digits: int = 6) -> None:
    """Write ``df`` as a deterministic TSV (optionally sorted by ``sort_by``)."""
    if sort_by:
        df = df.sort_values(sort_by, kind="mergesort")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = [_column_text(df.iloc[:, j], digits) for j in range(df.shape[1])]
    header = "\t".join(map(str, df.columns))
    body = "".join("\t".join(cells) + "\n" for cells in zip(*columns)) if columns else \
        "\n" * len(df)
    # a tab or newline inside a cell would shift columns or rows: find it and refuse
    if body.count("\n") != len(df) or body.count("\t") != len(df) * max(df.shape[1] - 1, 0):
        for cells in columns:
            for c in cells:
                if "\t" in c or "\n" in c:
                    raise ValueError(f"{path}: a cell contains a tab or newline: {c[:40]!r}")
    from concord.atomic import write_text  # temporary file + rename; see concord.atomic
    write_text(path, header + "\n" + body)
