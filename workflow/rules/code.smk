# Stage 3: codebook application. The automatic coder runs per session; human
# coders' files are imported and checked, and a majority consensus is formed.


rule code_machine:
    input:
        segments="results/segments/{session}.tsv",
        codebook=config["codebook"],
        code=package("code"),
    output:
        codings="results/coding/machine/{session}.tsv",
    log:
        "logs/code_machine/{session}.log",
    params:
        moderator_id=config["deidentify"]["moderator_id"],
        negation_window=config["code"]["negation_window"],
        negation_cues=config["code"]["negation_cues"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/code_machine.py"


rule combine_codings:
    input:
        machine=expand("results/coding/machine/{session}.tsv", session=SESSION_IDS),
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        coders=config["coders"],
        coder_files=coder_files(),
        codebook=config["codebook"],
        code=package("code"),
    output:
        codings="results/coding/codings.tsv",
        coverage="results/coding/coverage.tsv",
    log:
        "logs/combine_codings.log",
    params:
        sessions=SESSION_IDS,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/combine_codings.py"
