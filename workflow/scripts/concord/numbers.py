"""The numbers registry: every number in the manuscript, with its provenance.

Each stage that computes numbers writes a *fragment* (``results/<stage>/numbers.json``)
with :func:`write_fragment`; the manuscript stage merges the fragments into
``results/manuscript/numbers.json``. An entry is::

    {"value": 0.812, "display": "0.81", "meaning": "Krippendorff's alpha for HOPE ...",
     "rule": "agreement", "source": {"file": "results/agreement/by_code.tsv",
     "lines": [4], "sha256": "..."}, "segments": ["A1-T0012-S01", ...]}

``lines`` are 1-based line numbers in the source file (the header is line 1), so
``sed -n 4p results/agreement/by_code.tsv`` shows the row. A fragment may also hold
``tables``: ``{name: {"caption": str, "columns": [str], "rows": [[cell]]}}`` where a
cell is literal text (a label) or ``{"num": key}`` (a number from the registry).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def display(value, digits: int = 2, percent: bool = False) -> str:
    """How a value is shown in the text: ints as is, floats rounded, NaN as 'NA'."""
    if value is None:
        return "NA"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    value = float(value)
    if math.isnan(value):
        return "NA"
    if percent:
        return f"{round_half_up(100 * value, max(digits - 2, 0))}%"
    return round_half_up(value, digits)


def round_half_up(value: float, digits: int) -> str:
    """``value`` with ``digits`` decimals, halves rounded away from zero as a journal
    expects (1/8 -> 12.5 -> "13", not Python's "12"); the registry keeps the exact value.
    The shortest repr of the float is rounded, so 0.125 is a half and 2.675 (stored as
    2.67499999…) is too."""
    from decimal import ROUND_HALF_UP, Decimal
    q = Decimal(1).scaleb(-digits)
    out = Decimal(repr(float(value))).quantize(q, rounding=ROUND_HALF_UP)
    return f"{out:.{digits}f}" if out != 0 else f"{0:.{digits}f}"


class Fragment:
    """Collects registry entries for one rule, all pointing at files it wrote."""

    def __init__(self, rule: str):
        self.rule = rule
        self.numbers: dict[str, dict] = {}
        self.tables: dict[str, dict] = {}
        self._hashes: dict[str, str] = {}

    def _sha(self, file: str) -> str:
        if file not in self._hashes:
            self._hashes[file] = sha256_file(file)
        return self._hashes[file]

    def add(self, key: str, value, meaning: str, file: str, lines: list[int] | None = None,
            segments: list[str] | None = None, digits: int = 2, percent: bool = False,
            shown: str | None = None, undefined: str | None = None) -> str:
        """Register a number; ``file`` must already be written. Returns ``key``.

        A statistic that cannot be computed is still registered, with ``value``
        None and ``undefined`` the reason in words ("every code had the same
        prevalence in group X"): the entry then carries ``"undefined": reason`` and
        displays as "undefined", so the manuscript never meets a missing key and can
        say why (:func:`is_undefined`)."""
        if key in self.numbers:
            raise ValueError(f"numbers registry: duplicate key {key!r}")
        if hasattr(value, "item"):  # numpy scalar -> python
            value = value.item()
        if isinstance(value, float) and math.isnan(value):
            json_value = None
        else:
            json_value = value
        self.numbers[key] = {
            "value": json_value,
            "display": shown if shown is not None else display(value, digits, percent),
            "meaning": meaning,
            "rule": self.rule,
            "source": {"file": str(file), "lines": sorted(int(x) for x in (lines or [])),
                       "sha256": self._sha(str(file))},
            "segments": sorted(segments or []),
        }
        if undefined is not None:
            self.numbers[key].update(value=None, display=shown or "undefined", undefined=undefined)
        return key

    def table(self, name: str, caption: str, columns: list[str], rows: list[list]) -> None:
        for row in rows:
            for cell in row:
                if isinstance(cell, dict) and cell.get("num") not in self.numbers:
                    raise ValueError(f"table {name!r}: unknown number key {cell!r}")
        self.tables[name] = {"caption": caption, "columns": columns, "rows": rows}

    def write(self, path: str | os.PathLike) -> None:
        write_json({"numbers": self.numbers, "tables": self.tables}, path)


def is_undefined(entry: dict) -> bool:
    """True for a registry entry registered as undefined (see :meth:`Fragment.add`)."""
    return "undefined" in entry


def write_json(obj, path: str | os.PathLike) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    from concord.atomic import open_atomic  # temporary file + rename
    with open_atomic(path) as fh:
        json.dump(obj, fh, indent=1, sort_keys=True, ensure_ascii=False)
        fh.write("\n")


def merge(fragments: list[dict]) -> dict:
    """Merge fragments into one registry; a key defined twice is an error."""
    out = {"numbers": {}, "tables": {}}
    for frag in fragments:
        for part in ("numbers", "tables"):
            for key, val in frag.get(part, {}).items():
                if key in out[part]:
                    raise ValueError(f"numbers registry: {part[:-1]} {key!r} defined twice")
                out[part][key] = val
    return out
