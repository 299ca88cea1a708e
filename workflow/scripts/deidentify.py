"""Snakemake script for the deidentify rules: each raw transcript of one shard of
sessions -> de-identified text, redaction log (no originals) and the restricted key
(mode 0600), and the shard's counts against the gold identifier spans (if any). The
roster and the matchers are loaded once per shard."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import json  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402

from concord import atomic  # noqa: E402
from concord import deid  # noqa: E402
from concord.deid import restricted, review  # noqa: E402
from concord import privacy  # noqa: E402
from concord import transcripts  # noqa: E402
from concord.tsvio import write_tsv  # noqa: E402


sm = snakemake  # noqa: F821
roster = deid.load_roster(sm.input.roster, sm.params.moderator_id)
study_names = None
if sm.input.get("lexicon"):
    with open(sm.input.lexicon, encoding="utf-8") as fh:
        study_names = json.load(fh)["names"]
codebook = set(sm.params.codebook_terms)
for line in review.roster_codebook_overlap(roster, codebook):  # never the name itself
    print(f"warning: roster line {line}: a name is also a codebook term or code label; its "
          f"mentions go to the review list, never silently redacted", file=sys.stderr)
common = dict(moderator_id=sm.params.moderator_id,
              gazetteer=deid.read_gazetteer(sm.params.gazetteer),
              extra_names=deid.read_gazetteer(sm.params.names),
              study_names=study_names,
              # restricted lists (contract B): absent files are empty
              allow=review.load_allow(sm.input.get("allow", None)),
              deny=review.load_deny(sm.input.get("deny", None)),
              decisions=review.load_decisions(sm.input.get("decisions", None)),
              codebook=codebook)
avoid = None
if sm.input.get("study_transcripts"):  # surrogates / date shift: study-wide originals
    avoid = set()
    for sid, fmt, path in zip(sm.params.study_sessions, sm.params.study_formats,
                              sm.input.study_transcripts):
        avoid |= deid.study_originals({sid: transcripts.read_raw(path)}, roster, fmt=fmt, **common)

gold = None
if sm.input.get("gold"):  # the shard's rows (each session's are picked from these)
    gold = privacy.read_gold(sm.input.gold)
    gold = gold[gold["session_id"].isin(set(sm.params.sessions))]
counts = []
reviews = sm.output.get("review", None) or [None] * len(sm.params.sessions)
for session, fmt, source, text_out, redactions_out, key_out, review_out in zip(
        sm.params.sessions, sm.params.formats, sm.input.transcripts,
        sm.output.texts, sm.output.redactions, sm.output.key_files, reviews):
    started = time.perf_counter()
    raw = transcripts.read_raw(source)  # InputError if not UTF-8 (file, line)
    result = deid.deidentify_session(
        raw, roster, session, source=str(source), fmt=fmt,
        replacement=sm.params.replacement, date_shift=bool(sm.params.date_shift),
        study_id=str(sm.params.study_id), avoid=avoid, **common)
    atomic.write_text(text_out, result.text)  # temporary file + rename
    write_tsv(result.redactions, redactions_out, sort_by=["start"])
    # 0600 via exclusive create + rename in a 0700 folder (never through a symlink)
    restricted.write_private_json(result.key, key_out)
    if review_out is not None:
        restricted.write_private(review_out, review.review_table(result.review).to_csv(
            sep="\t", index=False, lineterminator="\n"))
    if gold is not None:
        counts.append(privacy.session_counts(gold, result, raw, session, str(source)))
    print(f"{session}: {len(result.redactions)} redactions, {len(result.review)} to review, "
          f"{os.path.getsize(source)} bytes, "
          f"{time.perf_counter() - started:.2f} s", file=sys.stderr)
# counts only (type, gold, hidden, ...); an empty table without gold
write_tsv(pd.concat(counts, ignore_index=True) if counts else
          pd.DataFrame(columns=privacy.COUNT_COLUMNS), sm.output.evaluation)
