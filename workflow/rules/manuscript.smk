# Stage 6: the numbers registry and the manuscript rendered from it.
import json
import os

from concord import provenance


rule numbers:
    input:
        fragments=FRAGMENTS,
        codebook=config["codebook"],   # what each code's entry holds (the methods say)
        code=package("manuscript"),    # design_entries, study_design_entries
    output:
        registry="results/manuscript/numbers.json",
    log:
        "logs/numbers.log",
    benchmark:
        "logs/benchmarks/numbers.tsv"
    params:
        study=config["study"],
        groups=config["groups"],
        unit=config["segment"]["unit"],
        roles=config["code"]["roles"],   # whose segments are the coding units
        # the config file the study metadata came from (a --configfile wins over the default)
        # (relative to the working directory when inside it: moving the folder is no change)
        configfile=os.path.relpath(str((list(workflow.overwrite_configfiles) or workflow.configfiles
                                        or ["config/config.yaml"])[-1])),
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/registry.py"


rule render:
    input:
        # the study's own introduction and discussion, when it supplies them
        unpack(lambda w: {k: config["manuscript"][k] for k in ("introduction", "discussion")
                          if config["manuscript"].get(k)}),
        source=config["manuscript"]["source"],
        supplement=config["manuscript"]["supplement"],
        bibliography=config["manuscript"]["bibliography"],
        registry="results/manuscript/numbers.json",
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        checklist=config["manuscript"]["checklist"],
        figures=FIGURES,
        code=package("manuscript"),
    output:
        documents=expand("results/manuscript/{doc}.{fmt}", doc=("manuscript", "supplement"),
                         fmt=config["manuscript"]["formats"]),
        resolved="results/manuscript/manuscript.qmd",
        supplement_resolved="results/manuscript/supplement.qmd",
    log:
        "logs/render.log",
    benchmark:
        "logs/benchmarks/render.tsv"
    params:
        formats=config["manuscript"]["formats"],
        study=config["study"],
        groups=config["groups"],
        # what the COREQ checklist may quote ({study.setting} …)
        config={k: config[k] for k in ("study", "groups", "segment", "agreement", "concordance")},
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/render.py"


# Provenance: every file under results/ (but the privacy check, which reads this
# manifest) with its checksum, rule, inputs, params and code. Which rule made
# which file comes from the workflow's rule objects, resolved when the DAG is built
# (see concord/provenance.py for why not .snakemake/metadata).
rule manifest:
    input:
        files=lambda w: provenance.workflow_targets(workflow, SESSION_IDS),
        code=package("provenance"),
    output:
        manifest="results/provenance/manifest.tsv",
    log:
        "logs/manifest.log",
    benchmark:
        "logs/benchmarks/manifest.tsv"
    params:
        plan=lambda w: json.dumps(provenance.workflow_plan(workflow, SESSION_IDS), sort_keys=True),
        basedir=lambda w: str(workflow.basedir),   # where workflow/ files of the plan live
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/manifest.py"
