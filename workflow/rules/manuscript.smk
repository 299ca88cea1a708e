# Stage 6: the numbers registry and the manuscript rendered from it.


rule numbers:
    input:
        fragments=FRAGMENTS,
        code=package(),
    output:
        registry="results/manuscript/numbers.json",
    log:
        "logs/numbers.log",
    params:
        study=config["study"],
        # the config file the study metadata came from (a --configfile wins over the default)
        configfile=str((list(workflow.overwrite_configfiles) or workflow.configfiles
                        or ["config/config.yaml"])[-1]),
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/registry.py"


rule render:
    input:
        source=config["manuscript"]["source"],
        bibliography=config["manuscript"]["bibliography"],
        registry="results/manuscript/numbers.json",
        figures=FIGURES,
        code=package("manuscript"),
    output:
        documents=expand("results/manuscript/manuscript.{fmt}", fmt=config["manuscript"]["formats"]),
    log:
        "logs/render.log",
    params:
        formats=config["manuscript"]["formats"],
        study=config["study"],
        groups=config["groups"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/render.py"
