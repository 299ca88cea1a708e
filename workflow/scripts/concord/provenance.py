"""Provenance: the manifest of ``results/``, ``concord verify`` and ``concord trace``.

Manifest (``results/provenance/manifest.tsv``), one row per file under ``results/``
(except the manifest itself and ``results/privacy/``, which is written after it),
sorted by path:

============  ==============================================================
path          the file, relative to the working directory
sha256        its SHA-256
bytes         its size
rule          the workflow rule that declares it as output (``-`` when no rule
              does: a stray file, listed so nothing under results/ is hidden)
inputs        ``name:path=sha256`` of each input of that job (``name`` is the
              rule's name for it, e.g. ``transcript``), ``;``-separated, sorted
              by path (``=missing`` when the input is gone)
params_sha256 SHA-256 of the job's params (JSON of the resolved values)
code_sha256   SHA-256 of the rule's script and the concord modules it imports
software      ``name=version`` of Python and the direct dependencies
commit        ``git rev-parse HEAD`` of the workflow, or ``unknown``
============  ==============================================================

Where rule / inputs / params come from: the Snakefile passes a *plan*
(:func:`plan_from_rules`) built from the workflow's rule objects
(``rules.X.output/input/params``, the same attributes a Snakefile uses to refer to
another rule), expanded over the session wildcard. We do not read
``.snakemake/metadata``: its format is internal (``record_format_version``), it is
missing under ``--drop-metadata``, and Snakemake 9 can keep it in a database
instead (``persistence/db.py``). Paths are made relative to the working directory
or the workflow folder, so two runs in two folders give the same bytes.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import platform
import re
import subprocess
from importlib import metadata as importlib_metadata
from pathlib import Path

import pandas as pd

from concord.numbers import sha256_file
from concord.tsvio import InputError, read_tsv, write_tsv

COLUMNS = ["path", "sha256", "bytes", "rule", "inputs", "params_sha256", "code_sha256",
           "software", "commit"]
PACKAGES = ["concord", "snakemake", "pandas", "numpy", "nltk", "krippendorff", "scipy",
            "matplotlib", "pypandoc-binary", "pyyaml", "python-docx", "typst", "lxml"]
MANIFEST = "results/provenance/manifest.tsv"
EXCLUDE = ("results/privacy/",)


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------

def portable(path, roots: list[str]) -> str:
    """``path`` relative to the first root that contains it (else as given)."""
    p = str(path)
    if not os.path.isabs(p):
        return os.path.normpath(p)
    for root in roots:
        rel = os.path.relpath(p, root)
        if not rel.startswith(".."):
            return rel
    return p


def _strip_roots(text: str, roots: list[str]) -> str:
    for root in sorted({str(r).rstrip("/") for r in roots}, key=len, reverse=True):
        if root:
            text = text.replace(root + "/", "")
    return text


# ---------------------------------------------------------------------------
# the plan: which rule made which file, from what, with which params
# ---------------------------------------------------------------------------

class _Wildcards(dict):
    """What input/params functions receive: ``w.session`` and ``w["session"]``."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc


def _format(pattern: str, wildcards: dict) -> str:
    return re.sub(r"\{(\w+)(?:,[^}]*)?\}", lambda m: str(wildcards[m.group(1)]), pattern)


def _call(func, wildcards, inputs, outputs):
    names = list(inspect.signature(func).parameters)
    kwargs = {"input": inputs, "output": outputs, "threads": 1, "resources": {}}
    args = [wildcards] + [kwargs[n] for n in names[1:] if n in kwargs]
    return func(*args)


def _input_function(item):
    """The function behind an input item (plain, or wrapped as by ``unpack()``)."""
    if callable(item):
        return item
    if getattr(item, "is_callable", lambda: False)():
        for inner in (getattr(item, "callable", None), getattr(item, "_file", None)):
            if callable(inner):
                return inner
            if callable(getattr(inner, "callable", None)):
                return inner.callable
        raise ValueError(f"provenance: cannot resolve the input function {item!r}")
    return None


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    if isinstance(value, dict):
        return [x for v in value.values() for x in _flat(v)]
    return [value]


def _jsonable(value):
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def plan_from_rules(rules, wildcard_values: dict[str, list[str]], roots: list[str],
                    skip: tuple[str, ...] = ("all",)) -> dict:
    """``{output path: {"rule", "script", "inputs", "params"}}`` for every output
    under ``results/`` of every rule (each wildcard expanded over
    ``wildcard_values``). ``rules`` are Snakemake rule objects (``workflow.rules``).

    Inputs and params that are functions are called with the wildcards, as
    Snakemake does. A rule with a wildcard not in ``wildcard_values`` is planned
    with ``"unresolved"`` inputs (named, not dropped).
    """
    plan: dict[str, dict] = {}
    for rule in rules:
        if rule.name in skip:
            continue
        outputs = [str(o) for o in rule.output]
        if not any(o.startswith("results/") for o in outputs):
            continue
        script = None
        if getattr(rule, "script", None):
            base = str(getattr(rule.basedir, "path", rule.basedir))
            script = portable(os.path.normpath(os.path.join(base, rule.script)), roots)
        names = sorted(getattr(rule, "wildcard_names", set()) or set())
        unknown = [n for n in names if n not in wildcard_values]
        combos = [{}]
        for n in names:
            if n in wildcard_values:
                combos = [dict(c, **{n: v}) for c in combos for v in wildcard_values[n]]
        for combo in combos:
            w = _Wildcards(combo)
            entry = {"rule": rule.name, "script": script}
            if unknown:
                entry.update(inputs="unresolved", params=f"unresolved wildcards {unknown}")
                outs = outputs
            else:
                outs = [_format(o, combo) for o in outputs]
                out_ns = _Wildcards({k: _format(str(v), combo)
                                     for k, v in rule.output.items()})
                inputs = []   # (name, path): the name says what an input is for
                named = list(rule.input.items())
                covered = {id(x) for _, v in named for x in _flat(v)}
                # unnamed inputs (e.g. unpack(func)) are listed without a name
                named = [("", v) for v in rule.input if id(v) not in covered] + named
                for name, value in named:
                    for item in _flat(value):
                        func = _input_function(item)
                        if func is None:
                            inputs.append((name, _format(str(item), combo)))
                            continue
                        got = _call(func, w, None, out_ns)
                        if isinstance(got, dict):          # unpack(): named inputs
                            inputs += [(k, str(x)) for k, v in got.items() for x in _flat(v)]
                        else:
                            inputs += [(name, str(x)) for x in _flat(got)]
                in_ns = _Wildcards({k: v for k, v in rule.input.items()})
                params = {}
                for name, value in rule.params.items():
                    try:
                        if callable(value):
                            value = _call(value, w, in_ns, out_ns)
                        elif isinstance(value, str):
                            value = _format(value, combo)
                    except Exception as exc:  # noqa: BLE001 - recorded, not hidden
                        value = f"unresolved ({type(exc).__name__})"
                    params[name] = _jsonable(value)
                entry.update(params=json.loads(_strip_roots(json.dumps(params, sort_keys=True),
                                                            roots)))
                inputs = [(n, portable(p, roots)) for n, p in inputs]
                per_output = _pair_sessions(rule, params, inputs)
                shared = None                    # the job's whole input list, sorted once
            for o in outs:
                if not o.startswith("results/"):
                    continue
                if not unknown:
                    ins = per_output(o)
                    if ins is inputs:
                        shared = shared or sorted(set(ins), key=lambda x: (x[1], x[0]))
                        listed = shared
                    else:
                        listed = sorted(set(ins), key=lambda x: (x[1], x[0]))
                    entry = dict(entry, inputs=listed)
                plan[o] = entry
    return plan


def _pair_sessions(rule, params: dict, inputs: list[tuple[str, str]]):
    """For a shard rule (``params.sessions`` = its n sessions, per-session outputs as
    named lists of n files): a function ``output -> inputs`` that keeps, of each
    named input list of n files named after the sessions, only the file of the
    output's own session, so that a session's row in the manifest names its own
    transcript, not the shard's 50. Inputs named ``study_*`` (read whole by every
    session, e.g. for surrogates) are never paired. Other rules: all inputs."""
    sessions = params.get("sessions")
    index: dict[str, int] = {}
    if isinstance(sessions, list) and sessions:
        for _, files in rule.output.items():
            files = [str(f) for f in _flat(files)]
            if len(files) == len(sessions):
                index.update({f: i for i, f in enumerate(files)})
    if not index:
        return lambda output: inputs
    by_name: dict[str, list[str]] = {}
    for name, path in inputs:
        by_name.setdefault(name, []).append(path)
    paired = {name for name, paths in by_name.items()
              if name and not name.startswith("study_") and len(paths) == len(sessions)
              and all(Path(p).name.split(".")[0] == s for p, s in zip(paths, sessions))}

    def per_output(output):
        i = index.get(output)
        if i is None:
            return inputs
        return [(n, p) for n, p in inputs if n not in paired] + \
               [(n, by_name[n][i]) for n in sorted(paired)]
    return per_output


def workflow_plan(workflow, sessions: list[str], exclude=("results/privacy/",
                                                        "results/provenance/")) -> dict:
    """:func:`plan_from_rules` for a running Snakemake ``workflow`` object (all rules
    but ``all`` and ``manifest``), paths relative to the working directory or the
    workflow folder."""
    key = (id(workflow), tuple(sessions), os.getcwd())
    if key not in _PLANS:      # asked for by the manifest rule's input and its params
        _PLANS[key] = plan_from_rules(workflow.rules, {"session": list(sessions)},
                                      [os.getcwd(), str(workflow.basedir)],
                                      skip=("all", "manifest"))
    return _PLANS[key]


_PLANS: dict = {}


def workflow_targets(workflow, sessions: list[str],
                     exclude=("results/privacy/", "results/provenance/")) -> list[str]:
    """The concrete outputs under results/ the manifest waits for."""
    return sorted(p for p in workflow_plan(workflow, sessions)
                  if "{" not in p and not p.startswith(tuple(exclude)))


# ---------------------------------------------------------------------------
# the manifest
# ---------------------------------------------------------------------------

def software_versions() -> str:
    out = [f"python={platform.python_version()}"]
    for name in PACKAGES:
        try:
            out.append(f"{name}={importlib_metadata.version(name)}")
        except importlib_metadata.PackageNotFoundError:
            out.append(f"{name}=absent")
    return " ".join(out)


def git_commit(folder) -> str:
    """The commit checked out in ``folder``, or ``unknown`` (no git, not a repo)."""
    try:
        proc = subprocess.run(["git", "-C", str(folder), "rev-parse", "HEAD"],
                              capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    commit = proc.stdout.strip()
    return commit if proc.returncode == 0 and re.fullmatch(r"[0-9a-f]{40}", commit) else "unknown"


def _sha_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def code_sha256(script: str | None, inputs: list[str], package_prefix: str,
                search: list[str] | None = None) -> str:
    """SHA-256 over the script and the concord modules among the inputs (each as
    ``path\\0bytes\\0``, sorted by path; files looked up as in :func:`locate`)."""
    h = hashlib.sha256()
    files = sorted({p for p in inputs if p.startswith(package_prefix)} | ({script} if script else set()))
    for p in files:
        f = Path(locate(p, ["."] + list(search or [])))
        h.update(p.encode() + b"\0")
        h.update(f.read_bytes() if f.is_file() else b"missing")
        h.update(b"\0")
    return h.hexdigest()


def results_files(root: str = "results", exclude=(MANIFEST,) + EXCLUDE) -> list[str]:
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in filenames:
            p = os.path.join(dirpath, f).replace(os.sep, "/")
            if p == MANIFEST or any(p.startswith(e) for e in exclude if e.endswith("/")) \
                    or p in exclude:
                continue
            out.append(p)
    return sorted(out)


def locate(path: str, search: list[str]) -> str:
    """The file a portable path names: the first of ``search`` folders holding it."""
    if os.path.isabs(path):
        return path
    for folder in search:
        candidate = os.path.join(folder, path)
        if os.path.isfile(candidate):
            return candidate
    return path


def build_manifest(plan: dict, package_prefix: str = "workflow/scripts/concord/",
                   commit: str = "unknown", software: str | None = None,
                   root: str = "results", search: list[str] | None = None,
                   log=None) -> pd.DataFrame:
    """One row per file under ``root`` (see the module docstring). Paths in the
    plan are portable (:func:`portable`): looked up in the working directory, then
    in each of ``search`` (the workflow folder)."""
    software = software or software_versions()
    search = ["."] + list(search or [])
    hashes: dict[str, str] = {}

    def sha(p):
        if p not in hashes:
            f = locate(p, search)
            hashes[p] = sha256_file(f) if os.path.isfile(f) else "missing"
        return hashes[p]

    # outputs of rules with wildcards the plan could not expand: match by pattern
    patterns = [(re.compile("^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(k)) + "$"), e)
                for k, e in sorted(plan.items()) if "{" in k]
    rows = []
    for path in results_files(root):
        entry = plan.get(path)
        if entry is None:
            entry = next((e for rx, e in patterns if rx.match(path)), None)
        if entry is None:
            if log:
                log(f"manifest: {path} is not the declared output of any rule (listed as '-')")
            rows.append([path, sha(path), os.path.getsize(path), "-", "", "", "", software, commit])
            continue
        inputs = entry["inputs"]
        if isinstance(inputs, str):
            in_text, code = inputs, code_sha256(entry.get("script"), [], package_prefix, search)
        else:
            in_text = ";".join(f"{n}:{p}={sha(p)}" for n, p in inputs)
            code = code_sha256(entry.get("script"), [p for _, p in inputs], package_prefix, search)
        params = _sha_text(json.dumps(entry.get("params"), sort_keys=True, ensure_ascii=False))
        rows.append([path, sha(path), os.path.getsize(path), entry["rule"], in_text, params,
                     code, software, commit])
    return pd.DataFrame(rows, columns=COLUMNS)


def write_manifest(df: pd.DataFrame, path=MANIFEST) -> None:
    write_tsv(df, path, sort_by=["path"])


# ---------------------------------------------------------------------------
# verify
# ---------------------------------------------------------------------------

def _parse_inputs(text: str) -> list[tuple[str, str, str]]:
    """``name:path=sha256;…`` -> [(name, path, sha256)]."""
    out = []
    for part in (text or "").split(";"):
        if "=" in part:
            left, _, h = part.rpartition("=")
            name, _, p = left.partition(":")
            out.append((name, p, h))
    return out


def workflow_folder() -> str:
    """The folder holding ``workflow/scripts/concord`` (this package's checkout)."""
    return str(Path(__file__).resolve().parents[3])


def verify(manifest=MANIFEST, root: str = ".", search: list[str] | None = None) -> dict:
    """Recompute the hashes of every file the manifest lists.

    Returns ``{"drifted": [...], "missing": [...], "unlisted": [...],
    "inputs_drifted": [...], "inputs_unavailable": [...], "checked": n}`` — each a
    sorted list of ``path`` (inputs: ``path (in manifest for rule R)``).
    A results file that changed or is gone, a file under results/ the manifest does
    not list, or an input whose bytes changed, is drift. An input that is not
    present (e.g. a restricted roster on the auditor's machine) is *unavailable*.
    Inputs are looked up in ``root``, then in ``search`` (default: the workflow
    folder this package belongs to, where ``workflow/scripts/...`` live).
    """
    mpath = Path(root) / manifest
    df = read_tsv(mpath, required=COLUMNS)
    out = {k: [] for k in ("drifted", "missing", "unlisted", "inputs_drifted",
                           "inputs_unavailable")}
    listed = set()
    inputs: dict[tuple[str, str], str] = {}
    for i, row in df.iterrows():
        p = row["path"]
        listed.add(p)
        f = Path(root) / p
        if not f.is_file():
            out["missing"].append(p)
        elif sha256_file(f) != row["sha256"]:
            out["drifted"].append(p)
        for _, ip, ih in _parse_inputs(row["inputs"]):
            inputs.setdefault((ip, ih), row["rule"])
    for (ip, ih), rule in sorted(inputs.items()):
        if ip.startswith("results/"):
            continue  # results files are checked as rows
        f = Path(locate(ip, [str(root)] + list(search if search is not None
                                                 else [workflow_folder()])))
        if not f.is_file():
            out["inputs_unavailable"].append(ip)
        elif ih != "missing" and sha256_file(f) != ih:
            out["inputs_drifted"].append(f"{ip} (input of rule {rule})")
    cwd = os.getcwd()
    try:
        os.chdir(root)
        present = results_files("results")
    finally:
        os.chdir(cwd)
    out["unlisted"] = [p for p in present if p not in listed]
    for k in out:
        out[k] = sorted(set(out[k]))
    out["checked"] = len(df)
    return out


def verify_failed(report: dict) -> bool:
    return any(report[k] for k in ("drifted", "missing", "unlisted", "inputs_drifted"))


# ---------------------------------------------------------------------------
# trace
# ---------------------------------------------------------------------------

def _session_of(segment_id: str) -> str:
    m = re.match(r"^(.+)-T\d{4}-S\d{2}$", segment_id)
    if not m:
        raise InputError(f"trace: segment id {segment_id!r} is not SESSION-Tnnnn-Snn")
    return m.group(1)


def _in_results(root: Path, rel: str) -> Path | None:
    """``root/rel`` when it lies inside ``root/results`` (symlinks followed), else
    None: ``trace`` prints lines of files the registry names, and a registry edited to
    name ``restricted/roster.tsv`` or ``../../etc/passwd`` must not make it read them."""
    results = (Path(root) / "results").resolve()
    path = (Path(root) / str(rel)).resolve()
    return path if results in path.parents else None


def trace(key: str, root: str = ".", registry: str = "results/manuscript/numbers.json",
          manifest: str = MANIFEST, max_segments: int = 10) -> list[str]:
    """The chain behind one registry number, as printable lines: registry entry →
    source file lines (with a checksum check) → segments (ID, session, speaker
    pseudonym, de-identified text) → de-identified transcript lines → SHA-256 of
    the raw transcript the de-identified file was made from (from the manifest).
    Only de-identified text and hashes are printed: never a raw line, name or key.
    """
    root = Path(root)
    reg_path = root / registry
    if not reg_path.is_file():
        raise InputError(f"{reg_path}: numbers registry not found (run the workflow first)")
    reg = json.loads(reg_path.read_text(encoding="utf-8"))
    numbers = reg.get("numbers", {})
    if key not in numbers:
        import difflib
        close = difflib.get_close_matches(key, list(numbers), n=3)
        raise InputError(f"{reg_path}: no number {key!r}"
                         + (f"; did you mean {', '.join(close)}?" if close else
                            "; `concord trace --list` lists the keys"))
    e = numbers[key]
    src = e.get("source", {})
    out = [f"number   {key} = {e.get('display')}  (value {e.get('value')!r})",
           f"meaning  {e.get('meaning', '')}",
           f"rule     {e.get('rule', '?')}",
           f"registry {registry}"]
    sfile = src.get("file", "")
    spath = _in_results(root, sfile)
    if spath is None:
        out.append(f"source   {sfile}  (not read: trace reads only files under results/)")
    elif spath.is_file():
        now = sha256_file(spath)
        state = "matches" if now == src.get("sha256") else f"DRIFTED (now {now})"
        out.append(f"source   {sfile}  sha256 {src.get('sha256')} ({state})")
        lines = spath.read_text(encoding="utf-8").splitlines()
        wanted = [n for n in src.get("lines", []) if 1 <= n <= len(lines)]
        if wanted and wanted[0] != 1 and sfile.endswith(".tsv"):
            out.append(f"  {1:>6}: {lines[0]}")
        for n in wanted:
            out.append(f"  {n:>6}: {lines[n - 1]}")
    else:
        out.append(f"source   {sfile}  sha256 {src.get('sha256')} (file not present)")
    segs = list(e.get("segments", []))
    rows = {}
    if segs:
        by_session: dict[str, list[str]] = {}
        for s in segs:
            by_session.setdefault(_session_of(s), []).append(s)
        shown = segs[:max_segments]
        out.append(f"segments {len(segs)}" + (f" (first {len(shown)} shown)" if len(segs) > len(shown) else ""))
        tables = {}
        for s in shown:
            sess = _session_of(s)
            if sess not in tables:
                tpath = _in_results(root, f"results/segments/{sess}.tsv")
                tables[sess] = (read_tsv(tpath).set_index("segment_id")
                                if tpath is not None and tpath.is_file() else None)
            t = tables[sess]
            if t is None or s not in t.index:
                out.append(f"  {s}  (not found in results/segments/{sess}.tsv)")
                continue
            r = t.loc[s]
            rows[s] = r
            out.append(f"  {s}  session {sess}  speaker {r['speaker_id']}  \"{r['text']}\"")
        out.append("de-identified transcript lines")
        for sess in sorted({_session_of(s) for s in rows}):
            dpath = _in_results(root, f"results/deid/{sess}.txt")
            turns = sorted({int(rows[s]["turn"]) for s in rows if _session_of(s) == sess})
            if dpath is None or not dpath.is_file():
                out.append(f"  results/deid/{sess}.txt (not present)")
                continue
            dlines = dpath.read_text(encoding="utf-8").splitlines()
            out.append(f"  results/deid/{sess}.txt  sha256 {sha256_file(dpath)}")
            for n in turns:
                text = dlines[n - 1] if n <= len(dlines) else "(no such line)"
                out.append(f"  {n:>6}: {text}")
        mpath = root / manifest
        out.append("raw transcripts (SHA-256 only; the raw text is never shown)")
        mf = read_tsv(mpath).set_index("path") if mpath.is_file() else None
        for sess in sorted(by_session):
            deid = f"results/deid/{sess}.txt"
            if mf is None or deid not in mf.index:
                out.append(f"  {sess}: no manifest row for {deid} (run the manifest rule)")
                continue
            raw = [(p, h) for n, p, h in _parse_inputs(mf.loc[deid, "inputs"])
                   if n == "transcripts"]
            if not raw:
                out.append(f"  {sess}: the manifest names no 'transcripts' input for {deid}")
            for p, h in raw:
                out.append(f"  {sess}: {p}  sha256 {h}")
    else:
        out.append("segments none (this number is not computed from transcript segments)")
    return out


def list_keys(root: str = ".", registry: str = "results/manuscript/numbers.json") -> list[str]:
    reg_path = Path(root) / registry
    if not reg_path.is_file():
        raise InputError(f"{reg_path}: numbers registry not found (run the workflow first)")
    reg = json.loads(reg_path.read_text(encoding="utf-8"))
    return [f"{k}\t{v.get('display')}\t{v.get('meaning', '')}"
            for k, v in sorted(reg.get("numbers", {}).items())]
