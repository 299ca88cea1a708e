"""Summary counts and recall against gold identifier spans."""

from __future__ import annotations

import pandas as pd

from concord.deid.common import TYPES
from concord.tsvio import InputError


def summarise(redactions: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Counts per session and type (wide): session_id, total, one column per type,
    then a final row ``all``. ``redactions`` maps session id -> redactions table."""
    if "all" in redactions:
        raise InputError("session id 'all' is reserved for the totals row of "
                         "results/deid/summary.tsv; rename the session")
    extra = sorted({t for df in redactions.values() for t in df["type"]} - set(TYPES))
    types = TYPES + extra
    rows = []
    for sid in sorted(redactions):
        counts = redactions[sid]["type"].value_counts()
        rows.append([sid, int(counts.sum())] + [int(counts.get(t, 0)) for t in types])
    df = pd.DataFrame(rows, columns=["session_id", "total"] + types)
    total = ["all"] + [int(df[c].sum()) for c in ["total"] + types]
    return pd.concat([df, pd.DataFrame([total], columns=df.columns)], ignore_index=True)


# ---------------------------------------------------------------------------
# evaluation against gold identifier spans (e.g. the demo corpus)

def recall_by_type(gold: pd.DataFrame, raw_spans: list, raw_text: str) -> pd.DataFrame:
    """Recall of gold identifier spans (``start``, ``end``, ``type`` in raw offsets).

    A gold span counts as *hidden* when every non-space character of it lies inside
    some redaction (of any type), and as *typed* when one of the covering
    redactions also has the gold type. Returns type, gold, hidden, recall, typed.
    """
    covered = bytearray(len(raw_text) + 1)
    by_type: dict[str, bytearray] = {}
    for s, e, ty, _ in raw_spans:
        covered[s:e] = b"\x01" * (e - s)
        by_type.setdefault(ty, bytearray(len(raw_text) + 1))[s:e] = b"\x01" * (e - s)
    rows = {}
    for g in gold.itertuples(index=False):
        s, e = int(g.start), int(g.end)
        idx = [i for i in range(s, e) if not raw_text[i].isspace()]
        hidden = all(covered[i] for i in idx)
        typed = hidden and any(by_type.get(g.type, b"\x00" * (e + 1))[i] for i in idx)
        r = rows.setdefault(g.type, [0, 0, 0])
        r[0] += 1
        r[1] += hidden
        r[2] += typed
    out = pd.DataFrame([[t, n, h, h / n if n else float("nan"), ty]
                        for t, (n, h, ty) in sorted(rows.items())],
                       columns=["type", "gold", "hidden", "recall", "typed"])
    return out
