"""The data contract's TSV writer: deterministic cells for every column type."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from concord.tsvio import write_tsv


def test_write_tsv_formats_every_dtype_like_format_value(tmp_path):
    df = pd.DataFrame({"id": ["b", "a", "c"], "n": np.array([3, 1, 2], dtype=np.int64),
                       "x": [0.1234567891, float("nan"), 2.0], "ok": [True, False, True],
                       "mixed": [None, 1.5, "z"], "nullable": pd.array([1, None, 3], dtype="Int64")})
    write_tsv(df, tmp_path / "t.tsv", sort_by=["id"])
    assert (tmp_path / "t.tsv").read_text() == (
        "id\tn\tx\tok\tmixed\tnullable\n"
        "a\t1\tNA\tfalse\t1.5\t<NA>\n"
        "b\t3\t0.123457\ttrue\t\t1\n"
        "c\t2\t2\ttrue\tz\t3\n")
    with pytest.raises(ValueError, match="a cell contains a tab or newline"):
        write_tsv(pd.DataFrame({"t": ["ok", "tab\there"]}), tmp_path / "bad.tsv")
    assert not (tmp_path / "bad.tsv").exists()
