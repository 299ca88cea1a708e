# Load and validate the study: config, sheets and codebook. Any error stops the
# run before the first job, naming the file, the row or field and what to fix.
from pathlib import Path

from snakemake.utils import validate

from concord import studyconfig

SCHEMAS = Path(workflow.basedir) / "workflow" / "schemas"

# Every default comes from the schema (filled here, once); a missing required key
# stops the run naming the key. Paths to the repository's own neutral files are
# resolved against the workflow's folder, not the study folder.
studyconfig.validate_config(config, SCHEMAS / "config.schema.yaml",
                            source=(workflow.overwrite_configfiles or ["config/config.yaml"])[-1])
REPORT = Path(workflow.basedir) / "workflow" / "report"
for _key, _file in (("source", "manuscript.qmd"), ("bibliography", "references.bib"),
                    ("checklist", "coreq.yaml"), ("supplement", "supplement.qmd")):
    config["manuscript"].setdefault(_key, str(REPORT / _file))

SESSIONS = studyconfig.load_sheet(config["sessions"], SCHEMAS / "sessions.schema.yaml", key="session_id")
PARTICIPANTS = studyconfig.load_sheet(config["participants"], SCHEMAS / "participants.schema.yaml")
# Coding in stages: no coders sheet, or one with only its header = no human coders yet.
CODERS = studyconfig.load_coders(config, SCHEMAS / "coders.schema.yaml")
HUMAN_CODERS = sorted(set(CODERS["coder"]))
# whose codings the group comparisons use: the automatic coder until humans have coded
ANALYSIS_CODER = config["concordance"]["coder"] if HUMAN_CODERS else "machine"
ROSTER = studyconfig.load_sheet(config["deidentify"]["roster"], SCHEMAS / "roster.schema.yaml", restricted=True)
CODEBOOK = studyconfig.load_codebook(config["codebook"], SCHEMAS / "codebook.schema.yaml")
# a value `concord init` wrote to be replaced ("TO FILL IN") never reaches a manuscript
studyconfig.check_placeholders(config, CODEBOOK, (workflow.overwrite_configfiles
                                                  or ["config/config.yaml"])[-1], config["codebook"])
studyconfig.check_study(config, SESSIONS, PARTICIPANTS, CODERS)
studyconfig.check_roster(config, ROSTER, PARTICIPANTS, SESSIONS)

# Speaker roles (concord/roles.py): which speakers' segments are coding units
# (code.roles) and which codes apply to which role. IDs and roles only, no names.
from concord import roles as speaker_roles_mod

UNIT_ROLES = list(speaker_roles_mod.unit_roles(config))
speaker_roles_mod.check_code_roles(CODEBOOK, tuple(UNIT_ROLES), config["codebook"])
CODE_ROLES = {c: list(r) for c, r in speaker_roles_mod.code_roles(CODEBOOK).items() if r}
SPEAKER_ROLES = speaker_roles_mod.speaker_roles(PARTICIPANTS, ROSTER)


def session_roles(sessions):
    """{session: {speaker_id: role}} of these sessions (the segment rule's params)."""
    wanted = set(sessions)
    out = {s: {} for s in sorted(wanted)}
    for (sess, spk), role in sorted(SPEAKER_ROLES.items()):
        if sess in wanted:
            out[sess][spk] = role
    return out

SESSION_IDS = sorted(SESSIONS["session_id"])

# The per-session stages run in shards: one job per SHARD_SIZE consecutive sessions
# (a job loops over its sessions in one process). Snakemake's per-job cost is large
# and grows faster than linearly with the number of jobs; see BENCHMARKS.md.
SHARDS = studyconfig.shards(SESSION_IDS, config["shard_size"])

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
STUDY_LEXICON = config["deidentify"]["study_lexicon"]


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
    files = {"decisions": d["decisions"], "allow": d["allow"], "deny": d["deny"]}
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


# Temporary files a killed job left (concord.atomic; only those whose process is gone)
# are removed before any job runs, so a resumed run lists and scans only whole files.
onstart:
    from concord import atomic

    atomic.sweep(["results", KEYS_DIR])
