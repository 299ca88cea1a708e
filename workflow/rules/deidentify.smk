# Stage 1: de-identification, one job per shard of sessions. The roster and the keys are
# restricted; only the de-identified text and a redaction log (no originals)
# enter results/.

from concord.deid import review as deid_review

# the package concord/deid/ (every module), imported by the deidentify scripts
DEID_CODE = sorted(str(f) for f in (PACKAGE / "deid").rglob("*.py"))
DEID = config["deidentify"]
REVIEW_DIR = DEID["review_dir"]
# words of the codebook's code ids, labels, terms and phrases: never silently redacted
# (they go to the review list). A parameter, not the codebook file as an input, so a
# regex, definition or exclude edit does not rerun de-identification; a term edit does.
CODEBOOK_TERMS = sorted(deid_review.codebook_terms(config["codebook"]))



rule deid_lexicon:
    input:
        unpack(deid_lists),
        transcripts=transcripts(SESSION_IDS),
        roster=config["deidentify"]["roster"],
        code=package("deidentify", "privacy", "transcripts") + DEID_CODE,
    output:
        lexicon=f"{KEYS_DIR}/study_lexicon.json",
    log:
        "logs/deid_lexicon.log",
    benchmark:
        "logs/benchmarks/deid_lexicon.tsv"
    params:
        sessions=SESSION_IDS,
        moderator_id=config["deidentify"]["moderator_id"],
        gazetteer=config["deidentify"]["gazetteer"],
        names=config["deidentify"]["names"],
        codebook_terms=CODEBOOK_TERMS,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/deid_lexicon.py"


# One rule per shard (common.smk: SHARDS): Snakemake outputs cannot be functions of
# a wildcard, and a shard's per-session files must stay declared outputs.
SURROGATES = (config["deidentify"]["replacement"] == "surrogates"
              or config["deidentify"]["date_shift"])

for shard, members in SHARDS.items():

    rule:
        name:
            f"deidentify_{shard}"
        input:
            unpack(deid_lexicon),
            unpack(deid_gold),
            unpack(deid_lists),
            transcripts=transcripts(members),
            roster=config["deidentify"]["roster"],
            code=package("deidentify", "privacy", "transcripts") + DEID_CODE,
            # surrogates and shifted dates must not equal an original of any session
            study_transcripts=transcripts(SESSION_IDS) if SURROGATES else [],
        output:
            texts=per_session("results/deid/{session}.txt", members),
            redactions=per_session("results/deid/{session}.redactions.tsv", members),
            key_files=per_session(f"{KEYS_DIR}/{{session}}.json", members),
            # uncertain candidates for a person (contract B; `concord deid review`)
            review=per_session(f"{REVIEW_DIR}/{{session}}.tsv", members),
            # counts against the gold spans (deidentify.gold), summed by deid_evaluation
            evaluation=f"results/deid/evaluation/{shard}.tsv",
        log:
            f"logs/deidentify/{shard}.log",
        benchmark:
            f"logs/benchmarks/deidentify/{shard}.tsv"
        params:
            sessions=members,
            formats=[session_row(s)["format"] for s in members],
            moderator_id=config["deidentify"]["moderator_id"],
            gazetteer=config["deidentify"]["gazetteer"],
            names=config["deidentify"]["names"],
            # tags (default) or surrogates; dates shifted per participant (offsets in the key)
            replacement=config["deidentify"]["replacement"],
            date_shift=config["deidentify"]["date_shift"],
            study_id=config["study"]["id"],
            study_sessions=SESSION_IDS if SURROGATES else [],
            study_formats=[session_row(s)["format"] for s in SESSION_IDS] if SURROGATES else [],
            codebook_terms=CODEBOOK_TERMS,
        conda:
            "../envs/concord.yaml"
        script:
            "../scripts/deidentify.py"


rule deid_summary:
    input:
        redactions=expand("results/deid/{session}.redactions.tsv", session=SESSION_IDS),
        code=package("deidentify") + DEID_CODE,
    output:
        summary="results/deid/summary.tsv",
        numbers="results/deid/numbers.json",
    log:
        "logs/deid_summary.log",
    benchmark:
        "logs/benchmarks/deid_summary.tsv"
    params:
        sessions=SESSION_IDS,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/deid_summary.py"


FRAGMENTS.append("results/deid/numbers.json")


# Recall and precision against gold identifier spans (config deidentify.gold; the
# demo studies set it), summed over the counts each deidentify shard wrote for its
# sessions (nothing is de-identified twice). Without gold the fragment says recall
# was not measured.
rule deid_evaluation:
    input:
        unpack(deid_gold),
        counts=[f"results/deid/evaluation/{shard}.tsv" for shard in SHARDS],
        code=package("deidentify", "privacy", "transcripts") + DEID_CODE,
    output:
        evaluation="results/deid/evaluation.tsv",
        numbers="results/deid/evaluation.numbers.json",
    log:
        "logs/deid_evaluation.log",
    benchmark:
        "logs/benchmarks/deid_evaluation.tsv"
    params:
        sessions=SESSION_IDS,
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/deid_evaluation.py"


FRAGMENTS.append("results/deid/evaluation.numbers.json")
