"""Rule coding_export: one REFI-QDA project per planned coder (de-identified texts,
codebook, no codings) and the SHA-256 of each session's de-identified text."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from pathlib import Path  # noqa: E402

import pandas as pd  # noqa: E402

from concord import code, refiqda, stages  # noqa: E402
from concord.segment import read_segments  # noqa: E402
from concord.tsvio import write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
sessions = list(sm.params.sessions)
texts = {s: Path(p).read_bytes().decode("utf-8") for s, p in zip(sessions, sm.input.texts)}
segments = pd.concat([read_segments(p) for p in sm.input.segments], ignore_index=True)
book = code.read_codebook(sm.input.codebook)
none = pd.DataFrame(columns=["segment_id", "coder", "code"])
for coder, out in zip(sm.params.coders, sm.output.projects):
    Path(out).write_bytes(refiqda.project_to_qdpx(
        sm.params.study_id, sm.params.title, book, texts, segments, none, [coder]))
hashes = pd.DataFrame({"session_id": sessions,
                       stages.SHA_COLUMN: [stages.sha256_text(texts[s]) for s in sessions]})
write_tsv(hashes, sm.output.hashes)
print(f"{len(sm.output.projects)} projects, {len(sessions)} sessions", file=sys.stderr)
