"""Snakemake script for rule `manifest`: checksum every file under results/ with the
rule, inputs, params and code that made it (see concord/provenance.py)."""
import sys

sys.stderr = open(snakemake.log[0], "w", encoding="utf-8")  # noqa: F821

import json  # noqa: E402
import os  # noqa: E402

from concord import provenance  # noqa: E402


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main(sm):
    plan = json.loads(sm.params.plan)
    basedir = sm.params.basedir
    package_prefix = provenance.portable(
        os.path.join(basedir, "workflow", "scripts", "concord"), [os.getcwd(), basedir]) + "/"
    commit = provenance.git_commit(basedir)
    df = provenance.build_manifest(plan, package_prefix=package_prefix, commit=commit,
                                   search=[basedir], log=log)
    missing = sorted({part for i in df["inputs"] for part in i.split(";") if part.endswith("=missing")})
    for m in missing:
        log(f"manifest: input not found: {m}")
    provenance.write_manifest(df, sm.output.manifest)
    log(f"manifest: {len(df)} files, commit {commit}, "
        f"{(df['rule'] == '-').sum()} not declared by any rule")


main(snakemake)  # noqa: F821
