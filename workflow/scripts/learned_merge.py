"""Rule learned_merge: the codings of every coder plus the learned coder's, for the
concordance stages when ``concordance.coder: learned`` (never part of the consensus)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import pandas as pd  # noqa: E402

from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
cols = ["segment_id", "coder", "code"]
both = pd.concat([read_tsv(sm.input.codings, required=cols, only=True),
                  read_tsv(sm.input.learned, required=cols, only=True)], ignore_index=True)
write_tsv(both[cols], sm.output.codings, sort_by=cols)
