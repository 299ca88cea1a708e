# Stage 4: inter-coder agreement between the human coders, per code and overall.


rule agreement:
    input:
        codings="results/coding/codings.tsv",
        coverage="results/coding/coverage.tsv",
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        codebook=config["codebook"],
        code=package("agreement", "code"),
    output:
        by_code="results/agreement/by_code.tsv",
        overall="results/agreement/overall.tsv",
        numbers="results/agreement/numbers.json",
    log:
        "logs/agreement.log",
    params:
        moderator_id=config["deidentify"]["moderator_id"],
        seed=config["agreement"]["seed"],
        bootstrap=config["agreement"]["bootstrap"],
        ci=config["agreement"]["ci"],
        thresholds=config["agreement"]["thresholds"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/agreement.py"


FRAGMENTS.append("results/agreement/numbers.json")
