# Stage 2: segmentation of de-identified turns into coding units, one job per
# shard of sessions (common.smk); segment IDs are stable and offsets point into
# the de-identified text.


for shard, members in SHARDS.items():

    rule:
        name:
            f"segment_{shard}"
        input:
            texts=per_session("results/deid/{session}.txt", members),
            participants=config["participants"],
            code=package("segment", "roles"),
        output:
            segments=per_session("results/segments/{session}.tsv", members),
        log:
            f"logs/segment/{shard}.log",
        benchmark:
            f"logs/benchmarks/segment/{shard}.tsv"
        params:
            sessions=members,
            groups=[session_row(s)["group"] for s in members],
            roles=session_roles(members),
            unit=config["segment"]["unit"],
            abbreviations=config["segment"]["abbreviations"],
        conda:
            "../envs/concord.yaml"
        script:
            "../scripts/segment.py"


rule segment_summary:
    input:
        segments=expand("results/segments/{session}.tsv", session=SESSION_IDS),
        sessions=config["sessions"],
        participants=config["participants"],
        code=package("segment", "roles"),
    output:
        summary="results/segments/summary.tsv",
        participants="results/segments/participants_by_group.tsv",
        numbers="results/segments/numbers.json",
    log:
        "logs/segment_summary.log",
    benchmark:
        "logs/benchmarks/segment_summary.tsv"
    params:
        groups=config["groups"],
        unit=config["segment"]["unit"],
        unit_roles=UNIT_ROLES,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/segment_summary.py"


FRAGMENTS.append("results/segments/numbers.json")
