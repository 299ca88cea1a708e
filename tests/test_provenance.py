"""Provenance: the manifest, concord verify / trace, and fine-grained caching (dry runs)."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from concord import provenance
from concord.tsvio import InputError
import os

import yaml

from conftest import REPO, make_study

MANIFEST = "results/provenance/manifest.tsv"
ROSTER_NAMES = ["Anna", "Kowalski", "Annie", "Ben", "Miller", "Benny", "Carla", "Duarte",
                "Dana", "Whitfield", "Eli", "Brandt", "Fay", "Okonjo", "Sam Rivera"]


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def concord(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "concord.cli", *args], cwd=cwd,
                          capture_output=True, text=True)


# ---------------------------------------------------------------------------
# unit: build_manifest + verify on hand-made files
# ---------------------------------------------------------------------------

@pytest.fixture
def tiny(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "raw.txt").write_text("raw\n")
    (tmp_path / "workflow/scripts/concord").mkdir(parents=True)
    (tmp_path / "workflow/scripts/concord/m.py").write_text("x = 1\n")
    (tmp_path / "workflow/scripts/s.py").write_text("print()\n")
    (tmp_path / "results/a").mkdir(parents=True)
    (tmp_path / "results/a/out.tsv").write_text("k\tv\nx\t1\n")
    (tmp_path / "results/a/two.txt").write_text("two\n")
    plan = {"results/a/out.tsv": {"rule": "r1", "script": "workflow/scripts/s.py",
                                  "inputs": [["transcript", "raw.txt"],
                                             ["code", "workflow/scripts/concord/m.py"]],
                                  "params": {"n": 3}}}
    df = provenance.build_manifest(plan, commit="unknown", software="python=x")
    provenance.write_manifest(df, MANIFEST)
    return tmp_path


def test_manifest_rows_hashes_and_stray_files(tiny):
    m = pd.read_csv(tiny / MANIFEST, sep="\t", dtype=str, keep_default_na=False)
    assert list(m.columns) == provenance.COLUMNS
    assert list(m.path) == ["results/a/out.tsv", "results/a/two.txt"]    # not itself
    row = m.iloc[0]
    assert row.sha256 == sha(tiny / "results/a/out.tsv") and row.bytes == "8"   # k TAB v NL x TAB 1 NL
    assert row.rule == "r1"
    assert row.inputs == (f"transcript:raw.txt={sha(tiny / 'raw.txt')};"
                          f"code:workflow/scripts/concord/m.py="
                          f"{sha(tiny / 'workflow/scripts/concord/m.py')}")
    assert row.params_sha256 == hashlib.sha256(b'{"n": 3}').hexdigest()
    assert m.iloc[1].rule == "-"                                          # listed, not hidden
    assert provenance.verify(MANIFEST, ".")["checked"] == 2
    assert not provenance.verify_failed(provenance.verify(MANIFEST, "."))


def test_code_hash_changes_with_script_or_module(tiny):
    plan_inputs = ["workflow/scripts/concord/m.py"]
    before = provenance.code_sha256("workflow/scripts/s.py", plan_inputs, "workflow/scripts/concord/")
    (tiny / "workflow/scripts/concord/m.py").write_text("x = 2\n")
    after = provenance.code_sha256("workflow/scripts/s.py", plan_inputs, "workflow/scripts/concord/")
    assert before != after


def test_verify_names_every_drifted_file(tiny):
    (tiny / "results/a/out.tsv").write_text("k\tv\nx\t2\n")
    (tiny / "results/a/two.txt").unlink()
    (tiny / "results/a/new.txt").write_text("new\n")
    (tiny / "raw.txt").write_text("edited\n")
    r = provenance.verify(MANIFEST, ".", search=[])
    assert r["drifted"] == ["results/a/out.tsv"]
    assert r["missing"] == ["results/a/two.txt"]
    assert r["unlisted"] == ["results/a/new.txt"]
    assert r["inputs_drifted"] == ["raw.txt (input of rule r1)"]
    proc = concord("verify", cwd=tiny)
    assert proc.returncode == 1
    for name in ("results/a/out.tsv", "results/a/two.txt", "results/a/new.txt", "raw.txt"):
        assert name in proc.stdout


def test_verify_missing_manifest_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="file not found"):
        provenance.verify(MANIFEST, str(tmp_path))


# ---------------------------------------------------------------------------
# end to end on the mini study
# ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def frozen(tmp_path_factory) -> Path:
    """A snapshot of the workflow (Snakefile, profiles, workflow/): other engineers
    edit the live tree while tests run, and a package edit would (rightly) rerun
    jobs in the middle of a caching test."""
    snap = tmp_path_factory.mktemp("frozen")
    shutil.copy2(REPO / "Snakefile", snap / "Snakefile")
    for d in ("profiles", "workflow"):
        shutil.copytree(REPO / d, snap / d, ignore=shutil.ignore_patterns("__pycache__"))
    return snap


def snakemake(work: Path, *args: str, snakefile: Path | None = None):
    """conftest.snakemake, with the frozen Snakefile (set by the prov_run fixture)."""
    env = dict(os.environ, XDG_CACHE_HOME=str(work / ".cache"))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(snakefile or SNAKEFILE[0]),
           "--directory", str(work), "--configfile", str(work / "config.yaml"),
           "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=work)
    if proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


SNAKEFILE = [REPO / "Snakefile"]


@pytest.fixture(scope="module")
def prov_run(tmp_path_factory, frozen) -> Path:
    """The mini study run from scratch up to the manifest (all of results/), with the
    frozen workflow."""
    SNAKEFILE[0] = frozen / "Snakefile"
    work = make_study(tmp_path_factory.mktemp("prov") / "mini")
    cfg = yaml.safe_load((work / "config.yaml").read_text(encoding="utf-8"))
    cfg["manuscript"]["source"] = str(frozen / "workflow/report/manuscript.qmd")
    cfg["manuscript"]["bibliography"] = str(frozen / "workflow/report/references.bib")
    cfg["shard_size"] = 1            # one job per session: M1 and M2 in shards of their own
    (work / "config.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")
    snakemake(work, MANIFEST)
    return work


def test_manifest_lists_every_result_with_its_rule(prov_run, frozen):
    m = pd.read_csv(prov_run / MANIFEST, sep="\t", dtype=str, keep_default_na=False)
    files = sorted(str(p.relative_to(prov_run)) for p in (prov_run / "results").rglob("*")
                   if p.is_file() and str(p.relative_to(prov_run)) != MANIFEST)
    assert list(m.path) == files
    assert "-" not in set(m.rule)                     # every file has a declaring rule
    rows = m.set_index("path")
    for path, row in rows.iterrows():
        assert row.sha256 == sha(prov_run / path), path
    assert rows.loc["results/deid/M1.txt", "rule"] == "deidentify_M1"   # shard M1
    assert rows.loc["results/segments/M2.tsv", "rule"] == "segment_M2"
    assert rows.loc["results/manuscript/manuscript.html", "rule"] == "render"
    deid_inputs = rows.loc["results/deid/M1.txt", "inputs"]
    raw = prov_run / "transcripts" / "M1.txt"
    assert f"transcripts:transcripts/M1.txt={sha(raw)}" in deid_inputs
    assert "workflow/scripts/concord/deidentify.py=" in deid_inputs
    assert "=missing" not in (prov_run / MANIFEST).read_text()         # every input found
    assert "/tmp" not in (prov_run / MANIFEST).read_text() and str(prov_run) not in \
        (prov_run / MANIFEST).read_text()
    # the same params and code give the same hashes; different sessions, different params
    assert rows.loc["results/segments/M1.tsv", "code_sha256"] == \
        rows.loc["results/segments/M2.tsv", "code_sha256"]
    assert rows.loc["results/segments/M1.tsv", "params_sha256"] != \
        rows.loc["results/segments/M2.tsv", "params_sha256"]
    # the commit is what git says for the workflow folder ("unknown" outside a checkout;
    # pytest's basetemp may lie inside the repository, then it is the repository's HEAD)
    head = subprocess.run(["git", "-C", str(frozen), "rev-parse", "HEAD"],
                          capture_output=True, text=True)
    assert set(m.commit) == {head.stdout.strip() if head.returncode == 0 else "unknown"}
    assert re.fullmatch(r"[0-9a-f]{40}", provenance.git_commit(REPO))
    assert "snakemake=" in m.software.iloc[0] and "typst=" in m.software.iloc[0]


def test_verify_and_trace_on_the_run(prov_run, frozen, tmp_path):
    ok = concord("verify", "--workflow", str(frozen), cwd=prov_run)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    listing = concord("trace", "--list", cwd=prov_run)
    assert listing.returncode == 0
    keys = [line.split("\t")[0] for line in listing.stdout.splitlines()]
    registry = json.loads((prov_run / "results/manuscript/numbers.json").read_text())
    assert keys == sorted(registry["numbers"])
    key = next(k for k, e in sorted(registry["numbers"].items()) if e["segments"])
    entry = registry["numbers"][key]
    out = concord("trace", key, cwd=prov_run)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    seg = entry["segments"][0]
    session = seg.split("-")[0]
    segs = pd.read_csv(prov_run / f"results/segments/{session}.tsv", sep="\t", dtype=str,
                       keep_default_na=False).set_index("segment_id")
    assert seg in text and segs.loc[seg, "text"] in text and segs.loc[seg, "speaker_id"] in text
    deid_line = (prov_run / f"results/deid/{session}.txt").read_text().splitlines()[
        int(segs.loc[seg, "turn"]) - 1]
    assert deid_line in text
    assert sha(prov_run / "transcripts" / f"{session}.txt") in text
    raw = (prov_run / "transcripts" / f"{session}.txt").read_text()
    for name in ROSTER_NAMES:                       # no identifier, no raw line
        assert not re.search(rf"\b{re.escape(name)}\b", text), name
    assert not any(line in text for line in raw.splitlines() if line and not line.startswith("#"))
    bad = concord("trace", "no.such.key", cwd=prov_run)
    assert bad.returncode == 2 and "no number 'no.such.key'" in bad.stderr
    # tampering with a result: verify names it
    tampered = tmp_path / "t"
    shutil.copytree(prov_run, tampered, symlinks=True)
    p = tampered / "results/agreement/by_code.tsv"
    p.write_text(p.read_text().replace("\t0.", "\t1.", 1))
    r = concord("verify", "--workflow", str(frozen), cwd=tampered)
    assert r.returncode == 1 and "DRIFTED (checksum differs): results/agreement/by_code.tsv" in r.stdout


# ---------------------------------------------------------------------------
# caching: dry runs after one change
# ---------------------------------------------------------------------------

def planned_jobs(work: Path) -> set[tuple[str, str]]:
    """(stage, shard or '') of every job a dry run would run (shards of one session
    here, named after it: ("deidentify", "M2"))."""
    proc = snakemake(work, "-n", MANIFEST)
    jobs = set()
    for line in proc.stdout.splitlines():
        m = re.match(r"^(?:local)?(?:rule|checkpoint) (\w+):", line)
        if m:
            rule = m.group(1)
            shard = re.match(r"^(deidentify|segment|code_machine)_(M\d+)$", rule)
            jobs.add((shard.group(1), shard.group(2)) if shard else (rule, ""))
    if not jobs:
        assert "Nothing to be done" in proc.stdout, proc.stdout[-2000:]
    return jobs


@pytest.fixture
def cached(prov_run, tmp_path) -> Path:
    work = tmp_path / "cached"
    shutil.copytree(prov_run, work, symlinks=True)     # copy2 keeps mtimes
    # catch up with package edits made since prov_run (other work in a live tree);
    # normally nothing to do. Then the folder is up to date *after being moved*.
    snakemake(work, MANIFEST)
    return work


def test_nothing_changed_means_no_job(cached):
    assert planned_jobs(cached) == set()


def test_codebook_pattern_change_skips_deidentify_and_segment(cached):
    cb = cached / "codebook.yaml"
    text = cb.read_text()
    # an exclude phrase (a coding pattern that is not a codebook word: code ids, labels,
    # terms and phrases are inputs of de-identification, which never redacts them)
    assert 'phrases: ["side effects"]' in text
    cb.write_text(text.replace('phrases: ["side effects"]',
                               'phrases: ["side effects"]\n      exclude: ["no side effects"]'))
    jobs = planned_jobs(cached)
    rules = {r for r, _ in jobs}
    assert {("code_machine", "M1"), ("code_machine", "M2")} <= jobs
    assert {"agreement", "concordance", "numbers", "render", "manifest"} <= rules
    assert not rules & {"deidentify", "segment", "segment_summary", "deid_summary"}


def test_one_transcript_changed_reruns_its_session_and_aggregates(cached):
    t = cached / "transcripts" / "M2.txt"
    t.write_text(t.read_text().replace("What do you weigh", "What do you consider"))
    jobs = planned_jobs(cached)
    per_session = {(r, s) for r, s in jobs if s}
    assert ("deidentify", "M2") in per_session and ("segment", "M2") in per_session
    assert not any(s == "M1" for _, s in per_session), sorted(per_session)
    assert {"segment_summary", "numbers", "render", "manifest"} <= {r for r, _ in jobs}


def test_params_change_reruns_that_stage_and_what_depends_on_it(cached):
    cfg = cached / "config.yaml"
    text = cfg.read_text()
    assert "bootstrap: 200" in text
    cfg.write_text(text.replace("bootstrap: 200", "bootstrap: 300", 1))   # agreement's
    rules = {r for r, _ in planned_jobs(cached)}
    assert "agreement" in rules and {"numbers", "render", "manifest"} <= rules
    assert not rules & {"deidentify", "segment", "code_machine", "combine_codings"}


def test_outputs_of_unexpanded_wildcards_are_matched_by_pattern(tiny):
    plan = {"results/a/{name}.txt": {"rule": "r2", "script": None, "inputs": "unresolved",
                                     "params": "unresolved wildcards ['name']"}}
    df = provenance.build_manifest(plan, commit="unknown", software="python=x")
    rows = df.set_index("path")
    assert rows.loc["results/a/two.txt", "rule"] == "r2"
    assert rows.loc["results/a/two.txt", "inputs"] == "unresolved"
    assert rows.loc["results/a/out.tsv", "rule"] == "-"          # no pattern: listed as stray


def test_shard_size_changes_jobs_not_results(prov_run, mini_run):
    """prov_run: one job per session (shard_size 1); mini_run: both sessions in one
    shard (the default). Every result but the manifest's job records and the shards'
    own count tables (results/deid/evaluation/<shard>.tsv) is the same."""
    assert "shard_size" not in yaml.safe_load((mini_run / "config.yaml").read_text())
    compared = 0
    for stage in ("deid", "segments", "coding", "agreement", "concordance", "quotes"):
        ours, theirs = (sorted(p.relative_to(run) for p in (run / "results" / stage).rglob("*")
                               if p.is_file() and p.parent.name != "evaluation")
                        for run in (prov_run, mini_run))
        assert ours == theirs and ours, stage
        for rel in ours:
            assert (prov_run / rel).read_bytes() == (mini_run / rel).read_bytes(), rel
            compared += 1
    assert compared > 20
    assert sorted(p.name for p in (prov_run / "results/deid/evaluation").iterdir()) == \
        ["M1.tsv", "M2.tsv"]
    assert sorted(p.name for p in (mini_run / "results/deid/evaluation").iterdir()) == ["M1.tsv"]
    manifest = pd.read_csv(mini_run / MANIFEST, sep="\t", dtype=str).set_index("path")
    assert manifest.loc["results/deid/M2.txt", "rule"] == "deidentify_M1"   # shard M1 holds M2
    assert "transcripts:transcripts/M2.txt=" in manifest.loc["results/deid/M2.txt", "inputs"]
    assert "M1.txt" not in manifest.loc["results/deid/M2.txt", "inputs"]  # its own input only
