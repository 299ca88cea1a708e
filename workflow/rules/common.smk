# Load and validate the study: config, sheets and codebook. Any error stops the
# run before the first job, naming the file, the row or field and what to fix.
from pathlib import Path

from snakemake.utils import validate

from concord import studyconfig

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"

validate(config, schema="../schemas/config.schema.yaml")

SESSIONS = studyconfig.load_sheet(config["sessions"], SCHEMAS / "sessions.schema.yaml", key="session_id")
PARTICIPANTS = studyconfig.load_sheet(config["participants"], SCHEMAS / "participants.schema.yaml", key="participant_id")
CODERS = studyconfig.load_sheet(config["coders"], SCHEMAS / "coders.schema.yaml")
ROSTER = studyconfig.load_sheet(config["deidentify"]["roster"], SCHEMAS / "roster.schema.yaml", restricted=True)
CODEBOOK = studyconfig.load_codebook(config["codebook"], SCHEMAS / "codebook.schema.yaml")
studyconfig.check_study(config, SESSIONS, PARTICIPANTS, CODERS)
studyconfig.check_roster(config, ROSTER, PARTICIPANTS, SESSIONS)

SESSION_IDS = sorted(SESSIONS["session_id"])

# The per-session stages run in shards: one job per SHARD_SIZE consecutive sessions
# (a job loops over its sessions in one process). Snakemake's per-job cost is large
# and grows faster than linearly with the number of jobs; see BENCHMARKS.md.
SHARDS = studyconfig.shards(SESSION_IDS, int(config.get("shard_size", 25)))

# Each stage's .smk appends the numbers-registry fragments and the figures it
# writes; the manuscript stage (included last) merges and embeds them.
FRAGMENTS = []
FIGURES = []
KEYS_DIR = config["deidentify"]["keys_dir"]


# Opt-in (deidentify.study_lexicon: true): names and places found by cues in any
# session (restricted), so that each session also redacts those found elsewhere.
# The price: one changed transcript reruns every session's de-identification.
# Off, the leak gate still catches such a name (it checks every key against every
# output); add it to deidentify.names / deidentify.gazetteer.
STUDY_LEXICON = bool(config["deidentify"].get("study_lexicon", False))


def deid_lexicon(wildcards):
    return {"lexicon": f"{KEYS_DIR}/study_lexicon.json"} if STUDY_LEXICON else {}


def deid_gold(wildcards):
    gold = config["deidentify"].get("gold")
    return {"gold": gold} if gold else {}


def deid_lists(wildcards=None):
    """The restricted review decisions, allow- and deny-list (team contract B) that
    exist: declared inputs of the deidentify rules, so a new decision reruns them;
    absent files are empty lists."""
    d = config["deidentify"]
    files = {"decisions": d.get("decisions", "restricted/decisions.tsv"),
             "allow": d.get("allow", "restricted/allow.txt"),
             "deny": d.get("deny", "restricted/deny.txt")}
    return {k: v for k, v in files.items() if Path(v).exists()}


SESSIONS_BY_ID = SESSIONS.set_index("session_id")


def session_row(session):
    return SESSIONS_BY_ID.loc[session]


def transcripts(sessions):
    return [session_row(s)["transcript"] for s in sessions]


def per_session(pattern, sessions):
    """The files of ``pattern`` (with ``{session}``) for these sessions, in order."""
    return [pattern.format(session=s) for s in sessions]


def coder_files():
    return sorted(CODERS["path"].unique())


PACKAGE = Path(workflow.basedir) / "workflow" / "scripts" / "concord"


def package(*modules):
    """The concord modules a rule's script imports, declared as inputs so that a
    change to the package (not only to the thin script) reruns the rule."""
    return [str(PACKAGE / f"{m}.py") for m in sorted({"tsvio", "numbers", *modules})]
