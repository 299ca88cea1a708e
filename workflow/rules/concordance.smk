# Stage 5: what each stakeholder group talks about, and how far groups agree.


rule concordance:
    input:
        codings="results/coding/codings.tsv",
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        participants=config["participants"],
        codebook=config["codebook"],
        code=package("concordance"),
    output:
        prevalence="results/concordance/prevalence.tsv",
        pairwise="results/concordance/pairwise.tsv",
        heatmap="results/concordance/prevalence_heatmap.png",
        numbers="results/concordance/numbers.json",
    log:
        "logs/concordance.log",
    params:
        groups=config["groups"],
        coder=config["concordance"]["coder"],
        seed=config["concordance"]["seed"],
        bootstrap=config["concordance"]["bootstrap"],
        ci=config["concordance"]["ci"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/concordance.py"


FRAGMENTS.append("results/concordance/numbers.json")
FIGURES.append("results/concordance/prevalence_heatmap.png")
