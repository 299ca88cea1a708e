# Concord: focus-group analysis from raw transcripts to a traceable manuscript.
from snakemake.utils import min_version

min_version("9.0")


# A study's own config only: config/config.yaml of the working directory (the study
# folder: `concord run DIR` = --directory DIR), or, when --configfile is given, that
# file alone. Never both: a key the study leaves out gets the schema's documented
# default (common.smk), never the demo's value.
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/deidentify.smk"
include: "workflow/rules/privacy.smk"
include: "workflow/rules/segment.smk"
include: "workflow/rules/code.smk"
include: "workflow/rules/learn.smk"
include: "workflow/rules/agreement.smk"
include: "workflow/rules/concordance.smk"
include: "workflow/rules/manuscript.smk"


# The leak gate runs last: it needs the manuscript, the provenance manifest and
# every other output, and scans all of results/ for original identifiers.
rule all:
    input:
        expand("results/manuscript/manuscript.{fmt}", fmt=config["manuscript"]["formats"]),
        "results/provenance/manifest.tsv",
        "results/privacy/leak_check.tsv",
        rules.coding_export.output,
