# Stage 1: de-identification, one job per session. The roster and the keys are
# restricted; only the de-identified text and a redaction log (no originals)
# enter results/.


rule deidentify:
    input:
        transcript=lambda w: session_row(w.session)["transcript"],
        roster=config["deidentify"]["roster"],
        code=package("deidentify"),
    output:
        text="results/deid/{session}.txt",
        redactions="results/deid/{session}.redactions.tsv",
        key=f"{KEYS_DIR}/{{session}}.json",
    log:
        "logs/deidentify/{session}.log",
    params:
        session="{session}",
        moderator_id=config["deidentify"]["moderator_id"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/deidentify.py"


rule deid_summary:
    input:
        redactions=expand("results/deid/{session}.redactions.tsv", session=SESSION_IDS),
        code=package("deidentify"),
    output:
        summary="results/deid/summary.tsv",
        numbers="results/deid/numbers.json",
    log:
        "logs/deid_summary.log",
    params:
        sessions=SESSION_IDS,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/deid_summary.py"


FRAGMENTS.append("results/deid/numbers.json")
