"""Snakemake script for rule deid_lexicon: names and places found by cues in any
session of the study (restricted, 0600), so that each session's de-identification
also redacts those found elsewhere ("my husband Luis" in one group, "Luis" alone in
another)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import deid  # noqa: E402
from concord.deid import restricted, review  # noqa: E402
from concord import transcripts  # noqa: E402

sm = snakemake  # noqa: F821
roster = deid.load_roster(sm.input.roster, sm.params.moderator_id)
raws = {sid: transcripts.read_raw(p) for sid, p in zip(sm.params.sessions, sm.input.transcripts)}
lexicon = deid.study_lexicon(raws, roster, moderator_id=sm.params.moderator_id,
                             gazetteer=deid.read_gazetteer(sm.params.gazetteer),
                             extra_names=deid.read_gazetteer(sm.params.names),
                             allow=review.load_allow(sm.input.get("allow", None)),
                             deny=review.load_deny(sm.input.get("deny", None)),
                             decisions=review.load_decisions(sm.input.get("decisions", None)),
                             codebook=set(sm.params.codebook_terms))
restricted.write_private_json({"names": lexicon}, sm.output.lexicon)
print(f"{len(lexicon)} cue-found names and places in {len(raws)} sessions", file=sys.stderr)
