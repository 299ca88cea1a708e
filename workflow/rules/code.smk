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
        # each coder file is checked against the SHA-256 of these (concord/stages.py)
        texts=expand("results/deid/{session}.txt", session=SESSION_IDS),
        coders=config["coders"] if "coders" in config else [],
        coder_files=coder_files(),
        codebook=config["codebook"],
        code=package("code", "refiqda", "stages", "roles"),
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
        min_overlap=config["code"]["min_overlap"],
        consensus=config["code"]["consensus"],
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
        code=package("code", "stages", "roles"),
    output:
        evaluation="results/coding/machine_evaluation.tsv",
        numbers="results/coding/numbers.json",
    log:
        "logs/machine_evaluation.log",
    benchmark:
        "logs/benchmarks/machine_evaluation.tsv"
    params:
        analysis_coder=ANALYSIS_CODER,
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/machine_evaluation.py"


FRAGMENTS.append("results/coding/numbers.json")


# Coding in stages: one REFI-QDA project per planned coder (code.coders) holding the
# de-identified texts (each source states its SHA-256) and the codebook, no codings,
# for NVivo, ATLAS.ti, MAXQDA or QualCoder; text_sha256.tsv lists the SHA-256 that
# span files must carry. Depends only on texts, segments and codebook: importing the
# coders' files later does not redo it.
rule coding_export:
    input:
        texts=expand("results/deid/{session}.txt", session=SESSION_IDS),
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        codebook=config["codebook"],
        code=package("code", "refiqda", "stages"),
    output:
        projects=expand("results/coding/export/{coder}.qdpx", coder=config["code"]["coders"]),
        hashes="results/coding/export/text_sha256.tsv",
    log:
        "logs/coding_export.log",
    benchmark:
        "logs/benchmarks/coding_export.tsv"
    params:
        sessions=SESSION_IDS,
        coders=config["code"]["coders"],
        study_id=config["study"]["id"],
        title=config["study"]["title"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/coding_export.py"
