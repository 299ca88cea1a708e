# Concord: focus-group analysis from raw transcripts to a traceable manuscript.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/deidentify.smk"
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
