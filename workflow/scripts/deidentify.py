"""Snakemake script for rule deidentify: one session's raw transcript -> de-identified
text, redaction log (no originals) and the restricted key (mode 0600)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import json  # noqa: E402
from pathlib import Path  # noqa: E402

from concord import deidentify as deid  # noqa: E402
from concord import privacy  # noqa: E402
from concord import transcripts  # noqa: E402
from concord.tsvio import write_tsv  # noqa: E402


sm = snakemake  # noqa: F821
roster = deid.load_roster(sm.input.roster, sm.params.moderator_id)
study_names = None
if sm.input.get("lexicon"):
    with open(sm.input.lexicon, encoding="utf-8") as fh:
        study_names = json.load(fh)["names"]
raw = transcripts.read_raw(sm.input.transcript)  # InputError if not UTF-8 (file, line)
common = dict(moderator_id=sm.params.moderator_id,
              gazetteer=deid.read_gazetteer(sm.params.get("gazetteer", None)),
              extra_names=deid.read_gazetteer(sm.params.get("names", None)),
              study_names=study_names)
avoid = None
if sm.input.get("study_transcripts"):  # surrogates / date shift: study-wide originals
    raws = {sid: transcripts.read_raw(path) for sid, path in
            zip(sm.params.study_sessions, sm.input.study_transcripts)}
    avoid = set()
    for sid, fmt in zip(sm.params.study_sessions, sm.params.study_formats):
        avoid |= deid.study_originals({sid: raws[sid]}, roster, fmt=fmt, **common)
result = deid.deidentify_session(
    raw, roster, sm.params.session, moderator_id=sm.params.moderator_id,
    gazetteer=deid.read_gazetteer(sm.params.get("gazetteer", None)),
    extra_names=deid.read_gazetteer(sm.params.get("names", None)),
    source=str(sm.input.transcript), study_names=study_names, fmt=sm.params.get("fmt", "auto"),
    replacement=sm.params.get("replacement", "tags"),
    date_shift=bool(sm.params.get("date_shift", False)),
    study_id=str(sm.params.get("study_id", "")), avoid=avoid)

out = Path(sm.output.text)
out.parent.mkdir(parents=True, exist_ok=True)
with open(out, "w", encoding="utf-8", newline="\n") as fh:
    fh.write(result.text)
write_tsv(result.redactions, sm.output.redactions, sort_by=["start"])
privacy.write_private_json(result.key, sm.output.key)  # 0600, even if it existed
print(f"{sm.params.session}: {len(result.redactions)} redactions", file=sys.stderr)
