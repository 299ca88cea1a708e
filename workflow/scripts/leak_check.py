"""Snakemake script for rule leak_check: scan every file under results/ for every
original identifier of the roster and the keys; fail (values never shown) on a hit,
else write the per-file report."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

from concord import deidentify as deid  # noqa: E402
from concord import privacy  # noqa: E402
from concord.tsvio import write_tsv  # noqa: E402

sm = snakemake  # noqa: F821
roster = deid.load_roster(sm.input.roster, sm.params.moderator_id)
keys = privacy.load_keys(sm.input.key_files)
table, hits = privacy.leak_check(sm.params.results_dir, roster, keys,
                                 exclude=[sm.output.report])
print(f"leak gate: {len(table)} files, {int(table['checked_bytes'].sum())} bytes, "
      f"{int(table['identifiers_checked'].max() if len(table) else 0)} identifiers; "
      f"{(table['kind'] == 'image-skipped').sum()} images listed, not read", file=sys.stderr)
if hits:
    msg = privacy.leak_message(hits)
    print(msg, file=sys.stderr)
    raise privacy.LeakError(msg)
write_tsv(table, sm.output.report)
