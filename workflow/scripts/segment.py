"""Snakemake script for rule segment: one de-identified transcript -> segments."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import segment as seg  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
with open(sm.input.text, encoding="utf-8", newline="") as fh:
    content = fh.read()
participants = read_tsv(sm.input.participants, required=["participant_id", "session_id"])
segments = seg.segment_text(content, sm.params.session, sm.params.group, participants,
                            moderator_id=sm.params.moderator_id, unit=sm.params.unit,
                            abbreviations=list(sm.params.abbreviations),
                            source=str(sm.input.text))
write_tsv(segments, sm.output.segments)  # already in file order (turn, sentence)
print(f"{sm.params.session}: {len(segments)} segments", file=sys.stderr)
