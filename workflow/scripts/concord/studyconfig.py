"""Loading and checking a study before any job runs.

``workflow/rules/common.smk`` calls these functions when the workflow is parsed,
so a bad sheet or codebook stops the run before the first job. Every error is an
:class:`~concord.tsvio.InputError` naming the file, the line (sheets: the header is
line 1) or the field, and what to fix.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import re
from pathlib import Path

import jsonschema
import pandas as pd
import yaml
from snakemake import __version__ as snakemake_version
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

from concord import limits
from concord.tsvio import InputError, decode_utf8, read_tsv


def _load_schema(path) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _field_path(error) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _explain(err) -> str:
    """A schema error in words: a value that fails a pattern or a type is named with
    the schema's description of the expected form (not the raw regex)."""
    desc = err.schema.get("description") if isinstance(err.schema, dict) else None
    if err.validator == "pattern" and desc:
        return f"{err.instance!r} is not in the expected form: {desc}"
    if err.validator == "type" and desc:
        return f"{err.message}: {desc}"
    return err.message


def _schema_error(data, schema_path):
    """Validate with ``snakemake.utils.validate``; return the first
    ``(row index or None, jsonschema.ValidationError)`` or ``None`` if valid."""
    try:
        validate(data, schema=str(Path(schema_path).resolve()), set_default=False)
    except WorkflowError as exc:
        cause = exc.__context__
        if not isinstance(cause, jsonschema.ValidationError):
            raise
        row = re.match(r"Error validating row (\d+)", str(exc.args[0]) if exc.args else "")
        return (int(row.group(1)) if row else None), cause
    return None


def _validated_marker(path, schema_path) -> Path:
    """Where a sheet that passed its schema is remembered: a file named by the SHA-256
    of the sheet, the schema and the validator versions, under Snakemake's own
    ``.snakemake/`` folder. Validating is one jsonschema call per row (about 4 s for
    the 28,000 rows of a 2,000-session study), so an unchanged sheet is not validated
    again on every ``snakemake`` call; any edit to the sheet or schema validates anew."""
    h = hashlib.sha256()
    for part in (Path(schema_path).read_bytes(), Path(path).read_bytes(),
                 importlib.metadata.version("jsonschema").encode(), snakemake_version.encode()):
        h.update(hashlib.sha256(part).digest())
    return Path(".snakemake") / "concord" / "validated" / h.hexdigest()


CONFIG_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / "config.schema.yaml"


def section_defaults(section: str, schema_path=CONFIG_SCHEMA) -> dict:
    """The schema's defaults of one config section (``deidentify`` -> ``{"keys_dir":
    "restricted/keys", ...}``), for tools that read a study's config outside a run."""
    props = _load_schema(schema_path)["properties"][section]["properties"]
    return {k: v["default"] for k, v in props.items() if "default" in v}


def validate_config(config: dict, schema_path, source: str = "config") -> dict:
    """Validate a study's config and fill every schema default in place (one source
    for each default: the schema). A missing required key or a wrong value is an
    :class:`InputError` naming ``source``, the key and what it is for."""
    schema = _load_schema(schema_path)
    found = _schema_error(config, schema_path)
    if found is not None:
        err = found[1]
        where = _field_path(err)
        if err.validator == "required":
            missing = re.match(r"'([^']+)' is a required property", err.message)
            key = ".".join(p for p in (where if where != "(top level)" else "",
                                       missing.group(1) if missing else "") if p)
            sub = schema
            for part in key.split("."):
                sub = sub.get("properties", {}).get(part, {})
            what = sub.get("description", "see workflow/schemas/config.schema.yaml")
            raise InputError(f"{source}: key '{key}' is required and not set ({what}); "
                             f"add it (config/README.md lists every key)")
        if where == "groups" and err.validator == "minItems":
            raise InputError(f"{source}: key 'groups': declare at least {err.validator_value} "
                             f"groups (id, label) and set each session's and participant's "
                             f"group in the sessions and participants sheets")
        raise InputError(f"{source}: key '{where}': {_explain(err)} (see "
                         f"workflow/schemas/config.schema.yaml and config/README.md)")
    validate(config, schema=str(Path(schema_path).resolve()), set_default=True)
    return config


#: the marker ``concord init`` writes into values the user must replace (the study's
#: title, group labels, the example codes): a run stops while one is left.
PLACEHOLDER = "TO FILL IN"


def _placeholders(data, path: str = "") -> list[str]:
    """Dotted keys (``study.title``, ``groups.0.label``) of string values holding
    :data:`PLACEHOLDER`, in document order."""
    if isinstance(data, str):
        return [path or "(top level)"] if PLACEHOLDER in data else []
    items = data.items() if isinstance(data, dict) else \
        enumerate(data) if isinstance(data, list) else ()
    return [k for key, value in items
            for k in _placeholders(value, f"{path}.{key}" if path else str(key))]


def _placeholder_lines(path) -> list[int]:
    """Line numbers of ``path`` holding the marker outside a ``#`` comment."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return [n for n, line in enumerate(text.splitlines(), 1)
            if PLACEHOLDER in line.split("#", 1)[0]]


def check_placeholders(config: dict, codebook: dict, config_source, codebook_path) -> None:
    """Stop while a value ``concord init`` wrote to be replaced is still there: it
    would print in the manuscript ("TO FILL IN: the study's title", an EXAMPLE code).
    Unstated metadata is left out (or commented out), which reads "not reported".
    One :class:`InputError` names every such key with its file and line."""
    found = []
    for source, data in ((config_source, config), (codebook_path, codebook)):
        keys = _placeholders(data)
        if keys:
            lines = _placeholder_lines(source)
            where = f"{source}, line{'s' if len(lines) > 1 else ''} " \
                    f"{', '.join(map(str, lines))}" if lines else str(source)
            found.append(f"{where}: {', '.join(keys)}")
    if found:
        raise InputError(f"values written by `concord init` to be replaced still read "
                         f"'{PLACEHOLDER}': {'; '.join(found)}. State them (the title, the "
                         f"groups' labels, your own codes); optional metadata you do not "
                         f"state is deleted or left commented out and reads 'not reported'")


def load_coders(config: dict, schema_path) -> pd.DataFrame:
    """The human coders sheet, which may be absent from the config or hold only its
    header: no human coding yet (an empty frame with the sheet's columns)."""
    columns = ["coder", "session_id", "path"]
    path = config.get("coders")
    if not path:
        return pd.DataFrame(columns=columns)
    df = read_tsv(path, required=columns)
    if df.empty:
        return df
    return load_sheet(path, schema_path)


def read_text(path, what: str = "file") -> str:
    """A user's text file as UTF-8 (a BOM is dropped); not UTF-8 is an
    :class:`InputError` naming the file and the line."""
    return decode_utf8(Path(path).read_bytes(), path, f"the {what}", encoding="utf-8-sig")


def load_sheet(path, schema_path, key: str | None = None, restricted: bool = False) -> pd.DataFrame:
    """Read a TSV sheet and validate every row against a JSON schema.

    Rows are validated with ``snakemake.utils.validate``; the error is translated
    to name the file, the line and the column. ``key`` (if given) must be unique.
    ``restricted`` sheets (the roster) never echo cell values in errors.
    """
    schema = _load_schema(schema_path)
    if Path(path).is_file():  # bounded size and lines, UTF-8, before pandas sees it
        limits.check_file_size(path)
        limits.check_lines(read_text(path, "sheet"), str(path))
    df = read_tsv(path, required=list(schema.get("required", [])))
    if df.empty:
        raise InputError(f"{path}: no rows; the sheet needs at least one")
    marker = _validated_marker(path, schema_path)
    found = None if marker.is_file() else _schema_error(df, schema_path)
    if found is None:
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    else:
        row, err = found
        field = _field_path(err)
        hint = schema["properties"].get(field, {}).get("description", f"see {schema_path}")
        line = f"line {row + 2}" if row is not None else "a row"
        why = (f"fails '{err.validator}: {err.validator_value}'" if restricted else err.message)
        raise InputError(f"{path}, {line}: column '{field}': {why} ({hint})")
    if key is not None:
        dup = df[df[key].duplicated(keep="first")]
        if len(dup):
            i = dup.index[0]
            first = df.index[df[key] == df.loc[i, key]][0]
            shown = "value" if restricted else repr(df.loc[i, key])
            raise InputError(f"{path}, line {i + 2}: {key} {shown} already used on line "
                             f"{first + 2}; each {key} must be unique")
    return df


def load_codebook(path, schema_path) -> dict:
    """Load the codebook YAML, validate it against its schema, then check what a
    schema cannot: unique IDs, known parents and categories, no parent cycles,
    compilable regexes. Errors name the code and the field."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: codebook not found")
    try:
        book = yaml.safe_load(read_text(path, "codebook"))
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(book, dict):
        raise InputError(f"{path}: expected a mapping with version, title, categories and codes")
    found = _schema_error(book, schema_path)
    if found is not None:
        err = found[1]
        where = _field_path(err)
        parts = list(err.absolute_path)
        if len(parts) >= 2 and parts[0] == "codes" and isinstance(parts[1], int):
            code = book["codes"][parts[1]]
            code_id = code.get("id", f"#{parts[1] + 1}") if isinstance(code, dict) else f"#{parts[1] + 1}"
            field = ".".join(str(p) for p in parts[2:]) or "(the code entry)"
            raise InputError(f"{path}: code {code_id}: field '{field}': {_explain(err)}")
        raise InputError(f"{path}: field '{where}': {_explain(err)}")

    ids: dict[str, int] = {}
    for i, code in enumerate(book["codes"]):
        if code["id"] in ids:
            raise InputError(f"{path}: code {code['id']}: field 'id': duplicate ID "
                             f"(codes #{ids[code['id']] + 1} and #{i + 1}); IDs must be unique")
        ids[code["id"]] = i
    categories = set(book["categories"])
    for code in book["codes"]:
        if code["category"] not in categories:
            raise InputError(f"{path}: code {code['id']}: field 'category': {code['category']!r} "
                             f"is not one of the declared categories {sorted(categories)}")
        parent = code.get("parent")
        if parent is not None and parent not in ids:
            raise InputError(f"{path}: code {code['id']}: field 'parent': unknown code {parent!r}")
        for j, pattern in enumerate(code.get("patterns", {}).get("regex", [])):
            limits.compile_pattern(str(pattern), f"{path}: code {code['id']}: field "
                                   f"'patterns.regex[{j}]'")  # RE2 (linear time) or error
    parents = {c["id"]: c.get("parent") for c in book["codes"]}
    for start in parents:
        seen, node = [], start
        while node is not None:
            if node in seen:
                raise InputError(f"{path}: code {start}: field 'parent': cycle "
                                 f"{' -> '.join(seen + [node])}")
            seen.append(node)
            node = parents.get(node)
    return book


def check_study(config: dict, sessions: pd.DataFrame, participants: pd.DataFrame,
                coders: pd.DataFrame) -> None:
    """Cross-sheet checks: groups, sessions and files referenced must exist."""
    groups = [g["id"] for g in config["groups"]]
    if len(set(groups)) != len(groups):
        raise InputError(f"config: groups: duplicate group id in {groups}")
    sessions_path, participants_path = config["sessions"], config["participants"]
    root = config.get("data_root")  # paths stay inside the study folder or data_root
    for key in ("roster", "gold"):
        if config.get("deidentify", {}).get(key):
            limits.inside_study(config["deidentify"][key], f"config: deidentify.{key}", root)
    group_of = dict(zip(sessions["session_id"], sessions["group"]))
    for i, row in enumerate(sessions.to_dict("records")):
        where = f"{sessions_path}, line {i + 2}"
        if row["group"] not in groups:
            raise InputError(f"{where}: group {row['group']!r} is not declared in config groups "
                             f"{groups}; add it to config.yaml or fix the sheet")
        limits.inside_study(row["transcript"], where, root, "transcript")
        if not Path(row["transcript"]).is_file():
            raise InputError(f"{where}: transcript {row['transcript']!r} does not exist; "
                             f"fix the path (relative to the working directory)")
    for i, row in enumerate(participants.to_dict("records")):
        where = f"{participants_path}, line {i + 2}"
        if row["session_id"] not in group_of:
            raise InputError(f"{where}: session_id {row['session_id']!r} is not in {sessions_path}")
        group = group_of[row["session_id"]]
        if row["group"] != group:
            raise InputError(f"{where}: group {row['group']!r} differs from its session's group "
                             f"{group!r} in {sessions_path}")
    for i, row in enumerate(coders.to_dict("records")):
        where = f"{config['coders']}, line {i + 2}"
        if row["session_id"] not in group_of:
            raise InputError(f"{where}: session_id {row['session_id']!r} is not in {sessions_path}")
        limits.inside_study(row["path"], where, root, "coder file")
        if not Path(row["path"]).is_file():
            raise InputError(f"{where}: coder file {row['path']!r} does not exist; fix the path")
    dup = coders[coders.duplicated(["coder", "session_id"], keep="first")]
    if len(dup):
        i = dup.index[0]
        raise InputError(f"{config['coders']}, line {i + 2}: coder {coders.loc[i, 'coder']!r} is "
                         f"listed twice for session {coders.loc[i, 'session_id']!r}")


def check_roster(config: dict, roster: pd.DataFrame, participants: pd.DataFrame,
                 sessions: pd.DataFrame) -> None:
    """The participants sheet and the restricted roster must describe the sessions.

    Participants are keyed by (participant_id, session_id): one person may attend
    several sessions under one ID with the same attributes (``roles.check_participants``).
    Every roster row names a speaker of a known session: an ID of the participants
    sheet enrolled in that session (same role when the roster gives one), or another
    speaker (``MOD``, ``MOD2``, ``NOTE1``: a facilitator unless its ``role`` says
    otherwise; a role that is a coding unit, ``code.roles``, must be in the participants
    sheet so it is counted). IDs like ``P07`` must be in the participants sheet.
    Messages never echo names."""
    from concord import roles as roles_mod

    path = config["deidentify"]["roster"]
    roles_mod.check_participants(participants, config["participants"])
    units = roles_mod.unit_roles(config)
    enrolled = set(zip(participants["participant_id"], participants["session_id"]))
    role_of = roles_mod.people_roles(participants)
    session_ids = set(sessions["session_id"])
    labels: dict[tuple[str, str], int] = {}
    for i, row in enumerate(roster.to_dict("records")):
        where = f"{path}, line {i + 2}"
        pid, sid = row["participant_id"], row["session_id"]
        if sid not in session_ids:
            raise InputError(f"{where}: session_id {sid!r} is not in {config['sessions']}")
        given = str(row.get("role", "") or "").strip()
        if given and not roles_mod.ROLE_RE.match(given):
            raise InputError(f"{where}: column 'role' is not a role name (lower-case letters, "
                             "digits, underscores, e.g. facilitator, interpreter)")
        if pid in role_of.index:
            if (pid, sid) not in enrolled:
                raise InputError(f"{where}: participant {pid} has no row for session {sid!r} "
                                 f"in {config['participants']}; add one (a person attending "
                                 "several sessions has one row per session)")
            if given and given != role_of[pid]:
                raise InputError(f"{where}: role of {pid} differs from its role in "
                                 f"{config['participants']}; give one role per person")
        else:
            role = given or roles_mod.FACILITATOR
            if re.fullmatch(r"P[0-9]+", pid):
                raise InputError(f"{where}: participant_id {pid!r} is not in "
                                 f"{config['participants']}; add a row (or use a speaker ID "
                                 "such as MOD, MOD2 or NOTE1 for a facilitator)")
            if role in units:
                raise InputError(f"{where}: speaker {pid} has role {role!r}, a coding-unit "
                                 f"role (code.roles); list {pid} in {config['participants']} "
                                 "so that it is counted")
        label_key = (sid, row["speaker_label"].casefold())
        if label_key in labels:
            raise InputError(f"{where}: the speaker label is already used on line "
                             f"{labels[label_key]} for session {sid}; labels must be unique per session")
        labels[label_key] = i + 2
    missing = sorted(enrolled - set(zip(roster["participant_id"], roster["session_id"])))
    if missing:
        shown = ", ".join(f"{p} ({s})" for p, s in missing[:5])
        raise InputError(f"{path}: participant(s) {shown} from {config['participants']} have "
                         "no roster row for that session; add their name and speaker label "
                         "(a participant who never speaks still needs their name, so that "
                         "mentions of it are redacted)")


def shards(session_ids, size: int) -> dict[str, list[str]]:
    """Split the sessions into shards of ``size`` consecutive sorted IDs, each named
    after its first session: ``{"A01": ["A01", "A02"], "A03": [...]}``.

    Stable: a shard's members depend only on the sorted IDs, so changing a
    transcript changes one shard's inputs, and sessions appended after the last ID
    (the usual case: S0101 after S0100) leave every full shard as it was."""
    if size < 1:
        raise InputError(f"config: shard_size must be >= 1 (got {size})")
    ids = sorted(session_ids)
    return {ids[i]: ids[i:i + size] for i in range(0, len(ids), size)}
