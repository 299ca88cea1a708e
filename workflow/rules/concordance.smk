# Stage 5: what each stakeholder group talks about, and how far groups agree.


rule concordance:
    input:
        codings=CONCORDANCE_CODINGS,
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        participants=config["participants"],
        codebook=config["codebook"],
        code=package("concordance", "roles"),
    output:
        prevalence="results/concordance/prevalence.tsv",
        pairwise="results/concordance/pairwise.tsv",
        categories="results/concordance/categories.tsv",
        category_differences="results/concordance/category_differences.tsv",
        kendall_w="results/concordance/kendall_w.tsv",
        code_tests="results/concordance/code_tests.tsv",
        cooccurrence="results/concordance/cooccurrence.tsv",
        heatmap=report(
            "results/concordance/prevalence_heatmap.png",
            caption="../report/captions/prevalence_heatmap.rst",
            category="Concordance",
        ),
        rank_matrix=report(
            "results/concordance/rank_concordance.png",
            caption="../report/captions/rank_concordance.rst",
            category="Concordance",
        ),
        category_figure=report(
            "results/concordance/category_shares.png",
            caption="../report/captions/category_shares.rst",
            category="Concordance",
        ),
        numbers="results/concordance/numbers.json",
    log:
        "logs/concordance.log",
    benchmark:
        "logs/benchmarks/concordance.tsv"
    params:
        groups=config["groups"],
        coder=ANALYSIS_CODER,
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
        seed=config["concordance"]["seed"],
        bootstrap=config["concordance"]["bootstrap"],
        ci=config["concordance"]["ci"],
        top_k=config["concordance"]["top_k"],
        permutations=config["concordance"]["permutations"],
        fdr=config["concordance"]["fdr"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/concordance.py"


FRAGMENTS.append("results/concordance/numbers.json")
FIGURES.append("results/concordance/prevalence_heatmap.png")
FIGURES.append("results/concordance/rank_concordance.png")
FIGURES.append("results/concordance/category_shares.png")


rule saturation:
    input:
        codings=CONCORDANCE_CODINGS,
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        sessions=config["sessions"],
        participants=config["participants"],
        code=package("saturation", "roles"),
    output:
        curve="results/concordance/saturation.tsv",
        summary="results/concordance/saturation_summary.tsv",
        figure=report(
            "results/concordance/saturation_curves.png",
            caption="../report/captions/saturation_curves.rst",
            category="Concordance",
        ),
        numbers="results/concordance/saturation.numbers.json",
    log:
        "logs/saturation.log",
    benchmark:
        "logs/benchmarks/saturation.tsv"
    params:
        groups=config["groups"],
        coder=ANALYSIS_CODER,
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
        saturation=config["concordance"]["saturation"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/saturation.py"


rule quotes:
    input:
        codings=CONCORDANCE_CODINGS,
        coverage="results/coding/coverage.tsv",
        machine=expand("results/coding/machine/{session}.tsv", session=SESSION_IDS),
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        codebook=config["codebook"],
        code=package("quotes", "roles"),
    output:
        exemplars="results/quotes/exemplars.tsv",
        numbers="results/quotes/numbers.json",
    log:
        "logs/quotes.log",
    benchmark:
        "logs/benchmarks/quotes.tsv"
    params:
        groups=config["groups"],
        coder=ANALYSIS_CODER,
        unit_roles=UNIT_ROLES,
        code_roles=CODE_ROLES,
        quotes=config["concordance"]["quotes"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/quotes.py"


FRAGMENTS.append("results/concordance/saturation.numbers.json")
FRAGMENTS.append("results/quotes/numbers.json")
FIGURES.append("results/concordance/saturation_curves.png")
