"""Rule code_machine: apply the automatic coder to one session's segments."""
import sys

sys.stderr = open(snakemake.log[0], "w")  # noqa: F821

from concord import code  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

codebook = code.compile_codebook(code.read_codebook(snakemake.input.codebook))  # noqa: F821
segments = read_tsv(snakemake.input.segments,  # noqa: F821
                    required=["segment_id", "speaker_id", "text"])
codings = code.code_segments(segments, codebook,
                             moderator_id=snakemake.params.moderator_id,  # noqa: F821
                             window=snakemake.params.negation_window,  # noqa: F821
                             cues=snakemake.params.negation_cues)  # noqa: F821
write_tsv(codings, snakemake.output.codings, sort_by=["segment_id", "code"])  # noqa: F821
print(f"{snakemake.input.segments}: {len(codings)} codings of "  # noqa: F821
      f"{codings['segment_id'].nunique()} segments", file=sys.stderr)
