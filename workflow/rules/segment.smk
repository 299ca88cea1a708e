# Stage 2: segmentation of de-identified turns into coding units, one job per
# session; segment IDs are stable and offsets point into the de-identified text.


rule segment:
    input:
        text="results/deid/{session}.txt",
        participants=config["participants"],
        code=package("segment"),
    output:
        segments="results/segments/{session}.tsv",
    log:
        "logs/segment/{session}.log",
    params:
        session="{session}",
        group=lambda w: session_row(w.session)["group"],
        moderator_id=config["deidentify"]["moderator_id"],
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
        code=package("segment"),
    output:
        summary="results/segments/summary.tsv",
        participants="results/segments/participants_by_group.tsv",
        numbers="results/segments/numbers.json",
    log:
        "logs/segment_summary.log",
    params:
        groups=config["groups"],
        unit=config["segment"]["unit"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/segment_summary.py"


FRAGMENTS.append("results/segments/numbers.json")
