"""Snakemake script for the code_machine rules: apply the automatic coder to the
segments of each session of one shard (the codebook is compiled once)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import roles  # noqa: E402
from concord import code  # noqa: E402
from concord.tsvio import write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
codebook = code.compile_codebook(code.read_codebook(sm.input.codebook))
for path, out in zip(sm.input.segments, sm.output.codings):
    segments = roles.read_segment_columns(path, ["segment_id", "speaker_id", "participant_id",
                                                 "text"], only=False)
    codings = code.code_segments(segments, codebook, window=sm.params.negation_window,
                                 cues=sm.params.negation_cues, units=tuple(sm.params.unit_roles),
                                 code_roles=dict(sm.params.code_roles))
    write_tsv(codings, out, sort_by=["segment_id", "code"])
    print(f"{path}: {len(codings)} codings of {codings['segment_id'].nunique()} segments",
          file=sys.stderr)
