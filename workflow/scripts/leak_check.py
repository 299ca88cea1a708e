"""Snakemake script for rule leak_check: remove the data of sessions no longer in the
study, then scan every output (results/, logs/, .snakemake/log/) for every original
identifier (roster, keys, 'redact' decisions, deny list). On a hit: move the leaking
files into the restricted quarantine, write the masked report results/privacy/leaks.tsv
and the originals (restricted), print the masked report and fail. Clean: write the
per-file report and remove a stale leaks.tsv."""
import json
import sys
from pathlib import Path

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import yaml  # noqa: E402

from concord import privacy  # noqa: E402
from concord.tsvio import read_tsv, write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
p = sm.params
removed = privacy.prune_removed_sessions(p.sessions, p.keys_dir, p.results_dir, p.review_dir)
if removed:
    print(f"removed {len(removed)} file(s) of session(s) no longer in the study: "
          f"{', '.join(removed)}", file=sys.stderr)

roster = read_tsv(sm.input.roster, required=["full_name"])
keys = privacy.load_keys(sm.input.key_files)
decisions = privacy.read_decisions(sm.input.get("decisions"))
deny = privacy.read_deny(sm.input.get("deny"))
exclusions = privacy.Exclusions.build(
    codebook=yaml.safe_load(Path(sm.input.codebook).read_text(encoding="utf-8")), allow=privacy.read_allow(sm.input.get("allow")),
    decisions=decisions, roster=roster, fixed_files=sm.input.template,
    fixed_texts=[privacy.rendered_references(d) for d in sm.input.documents if d.endswith(".html")]
    # the registry's keys are the tool's own names ("pairwise.spearman.max"), like headings
    + ["\n".join(json.loads(Path(sm.input.registry).read_text(encoding="utf-8"))["numbers"])])
gate = privacy.Gate(privacy.identifiers(roster, keys, deny, decisions), exclusions)
table, hits = privacy.scan_roots(".", p.roots, gate,
                                 exclude=[sm.output.report, p.leaks, sm.log[0]])
outside = ~table["file"].str.startswith(f"{p.results_dir}/")
print(f"leak gate: {len(gate.terms)} identifiers ({sum(t.cased for t in gate.terms)} matched "
      f"only where capitalised), {len(exclusions.code_ids)} code ids, "
      f"{len(exclusions.phrases)} excluded phrases, {len(exclusions.fixed)} fixed-text "
      f"trigrams; {len(table)} files ({int(outside.sum())} under logs), "
      f"{int(table['checked_bytes'].sum())} bytes; {gate.excluded} match(es) excluded; "
      f"{len(hits)} hit(s)", file=sys.stderr)
if hits:
    moved = privacy.quarantine(hits, ".", p.quarantine)
    privacy.write_leak_report(hits, moved, p.leaks, Path(p.quarantine) / "leaks.json")
    msg = privacy.leak_message(hits, moved)
    print(msg, file=sys.stderr)
    raise privacy.LeakError(msg)
Path(p.leaks).unlink(missing_ok=True)
(Path(p.quarantine) / "leaks.json").unlink(missing_ok=True)
# the report lists results/ only: logs change from run to run, the report must not
write_tsv(table[~outside].reset_index(drop=True), sm.output.report)
