# Stage 4: inter-coder agreement per code and overall: human vs human, each human vs
# the automatic coder, and per stakeholder group; forest plot of alpha per code.


rule agreement:
    input:
        codings="results/coding/codings.tsv",
        coverage="results/coding/coverage.tsv",
        not_applicable="results/coding/not_applicable.tsv",
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        codebook=config["codebook"],
        code=package("agreement", "code", "roles"),
    output:
        by_code="results/agreement/by_code.tsv",
        overall="results/agreement/overall.tsv",
        machine="results/agreement/human_vs_machine.tsv",
        by_group="results/agreement/by_group.tsv",
        forest=report(
            "results/agreement/alpha_forest.png",
            caption="../report/captions/alpha_forest.rst",
            category="Agreement",
        ),
        numbers="results/agreement/numbers.json",
    log:
        "logs/agreement.log",
    benchmark:
        "logs/benchmarks/agreement.tsv"
    params:
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
        seed=config["agreement"]["seed"],
        bootstrap=config["agreement"]["bootstrap"],
        ci=config["agreement"]["ci"],
        thresholds=config["agreement"]["thresholds"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/agreement.py"


FRAGMENTS.append("results/agreement/numbers.json")
FIGURES.append("results/agreement/alpha_forest.png")
