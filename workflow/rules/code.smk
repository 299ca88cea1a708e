# Stage 3: codebook application. The automatic coder runs per shard of sessions; human
# coders' files (by segment, by character span or QDPX) are imported and checked,
# a consensus is formed (majority or adjudicator), and the machine coder is
# evaluated against it.


for shard, members in SHARDS.items():

    rule:
        name:
            f"code_machine_{shard}"
        input:
            segments=per_session("results/segments/{session}.tsv", members),
            codebook=config["codebook"],
            code=package("code", "roles"),
        output:
            codings=per_session("results/coding/machine/{session}.tsv", members),
        log:
            f"logs/code_machine/{shard}.log",
        benchmark:
            f"logs/benchmarks/code_machine/{shard}.tsv"
        params:
            sessions=members,
            unit_roles=UNIT_ROLES,
            code_roles=CODE_ROLES,
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
        code=package("code", "refiqda", "roles"),
    output:
        codings="results/coding/codings.tsv",
        coverage="results/coding/coverage.tsv",
        not_applicable="results/coding/not_applicable.tsv",
    log:
        "logs/combine_codings.log",
    benchmark:
        "logs/benchmarks/combine_codings.tsv"
    params:
        sessions=SESSION_IDS,
        min_overlap=config["code"].get("min_overlap", 0.5),
        consensus=config["code"].get("consensus", {"method": "majority"}),
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/combine_codings.py"


rule machine_evaluation:
    input:
        codings="results/coding/codings.tsv",
        coverage="results/coding/coverage.tsv",
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        codebook=config["codebook"],
        code=package("code", "roles"),
    output:
        evaluation="results/coding/machine_evaluation.tsv",
        numbers="results/coding/numbers.json",
    log:
        "logs/machine_evaluation.log",
    benchmark:
        "logs/benchmarks/machine_evaluation.tsv"
    params:
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/machine_evaluation.py"


FRAGMENTS.append("results/coding/numbers.json")
