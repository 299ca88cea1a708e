# Stage 3b: the learned coder (docs/learned.md). Trained on the reference coding
# (learn.target, default the consensus), cross-validated by session, it codes every
# unit, is compared with the humans and the keyword coder as one more rater
# (`learned`, never part of the consensus), and lists the units a person should code
# next. The concordance stages count its codes only with `concordance.coder: learned`.


rule learn:
    input:
        codings="results/coding/codings.tsv",
        coverage="results/coding/coverage.tsv",
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        deid=expand("results/deid/{session}.txt", session=SESSION_IDS),
        codebook=config["codebook"],
        code=package("agreement", "code", "refiqda", "roles", "stages", "atomic")
        + [str(PACKAGE / "learned" / f"{m}.py") for m in ("__init__", "model", "stage", "registry")],
    output:
        codings="results/learned/codings.tsv",
        evaluation="results/learned/evaluation.tsv",
        agreement="results/learned/agreement.tsv",
        next="results/learned/next.tsv",
        qdpx="results/learned/next.qdpx",
        forest="results/learned/alpha_forest.png",
        numbers="results/learned/numbers.json",
    log:
        "logs/learn.log",
    benchmark:
        "logs/benchmarks/learn.tsv"
    params:
        learn=config["learn"],
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
        agreement=config["agreement"],
        prevalence_coder=config["concordance"]["coder"],
        study_id=config["study"]["id"],
        title=config["study"]["title"],
    threads: 1
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/learn.py"


# only with concordance.coder: learned (the manifest asks for every rule's outputs)
if config["concordance"]["coder"] == "learned":

    rule learned_merge:
        input:
            codings="results/coding/codings.tsv",
            learned="results/learned/codings.tsv",
            code=package(),
        output:
            codings="results/learned/all_codings.tsv",
        log:
            "logs/learned_merge.log",
        conda:
            "../envs/concord.yaml"
        script:
            "../scripts/learned_merge.py"


# the codings the concordance stages read: the learned coder's only when asked for
CONCORDANCE_CODINGS = (
    "results/learned/all_codings.tsv"
    if config["concordance"]["coder"] == "learned"
    else "results/coding/codings.tsv"
)

FRAGMENTS.append("results/learned/numbers.json")
