"""Snakemake script for the segment rules: the de-identified transcripts of one
shard of sessions -> one segments TSV per session."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import segment as seg  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
roles = {s: dict(r) for s, r in (sm.params.get("roles") or {}).items()}
participants = read_tsv(sm.input.participants, required=["participant_id", "session_id"])
for session, group, text, out in zip(sm.params.sessions, sm.params.groups, sm.input.texts,
                                     sm.output.segments):
    with open(text, encoding="utf-8", newline="") as fh:
        content = fh.read()
    segments = seg.segment_text(content, session, group, participants,
                                roles=roles.get(session), unit=sm.params.unit,
                                moderator_id=sm.params.get("moderator_id") or "MOD",
                                abbreviations=list(sm.params.abbreviations), source=str(text))
    write_tsv(segments, out)  # already in file order (turn, sentence)
    print(f"{session}: {len(segments)} segments", file=sys.stderr)
