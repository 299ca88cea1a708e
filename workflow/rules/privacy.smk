# The leak gate and the counts of the review decisions (concord/privacy.py).
# Restricted inputs (decisions, allow and deny lists) are optional: an absent file is
# an empty list. The quarantine lives beside the keys: <keys_dir>/../quarantine.
DEID = config["deidentify"]
RESTRICTED = {
    "decisions": DEID["decisions"],
    "allow": DEID["allow"],
    "deny": DEID["deny"],
}
QUARANTINE = str(Path(KEYS_DIR).parent / "quarantine")


# Counts of the review decisions (redact / keep, by type) for the methods section;
# counts only, never the text.
rule deid_decisions:
    input:
        # optional restricted input: absent = no decisions
        unpack(lambda w: {"decisions": RESTRICTED["decisions"]} if Path(RESTRICTED["decisions"]).is_file() else {}),
        code=package("privacy"),
    output:
        counts="results/deid/decisions.tsv",
        numbers="results/deid/decisions.numbers.json",
    log:
        "logs/deid_decisions.log",
    benchmark:
        "logs/benchmarks/deid_decisions.tsv"
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/deid_decisions.py"


FRAGMENTS.append("results/deid/decisions.numbers.json")


# The leak gate: after the manuscript and the manifest, every file under results/,
# logs/ and .snakemake/log/ is scanned for every original identifier of the roster,
# the keys, the 'redact' decisions and the deny list (values never printed); the
# template's fixed text, the codebook and the allow list are never hits. It first
# removes the data of sessions no longer in the study (results/ files named
# {session}.*, the key and the review list). A leak moves the leaking files into the
# quarantine, writes results/privacy/leaks.tsv (masked) and fails the run.
rule leak_check:
    input:
        # the restricted lists that exist (decisions.tsv, allow.txt, deny.txt)
        unpack(lambda w: {k: v for k, v in RESTRICTED.items() if Path(v).is_file()}),
        documents=expand("results/manuscript/manuscript.{fmt}", fmt=config["manuscript"]["formats"]),
        registry="results/manuscript/numbers.json",
        roster=DEID["roster"],
        key_files=expand(f"{KEYS_DIR}/{{session}}.json", session=SESSION_IDS),
        manifest="results/provenance/manifest.tsv",
        codebook=config["codebook"],
        # the template's fixed text (headings, bibliography, checklist): never a hit
        template=[
            config["manuscript"]["source"],
            config["manuscript"]["bibliography"],
            config["manuscript"].get(
                "checklist", str(Path(workflow.basedir) / "workflow" / "report" / "coreq.yaml")),
        ],
        # + the de-identification package (its case rule is the gate's) where it exists
        code=package("deidentify", "privacy", "textnorm") + DEID_CODE,
    output:
        report="results/privacy/leak_check.tsv",
    log:
        "logs/leak_check.log",
    benchmark:
        "logs/benchmarks/leak_check.tsv"
    params:
        # the folder of the outputs: results/, derived from the gate's own output
        results_dir=lambda w, output: str(Path(output.report).parent.parent),
        roots=lambda w, output: [str(Path(output.report).parent.parent), "logs", ".snakemake/log"],
        leaks="results/privacy/leaks.tsv",
        quarantine=QUARANTINE,
        sessions=SESSION_IDS,
        keys_dir=lambda w, input: str(Path(input.key_files[0]).parent),
        review_dir=DEID["review_dir"],
    conda:
        "../envs/concord.yaml"
    script:
        "../scripts/leak_check.py"
