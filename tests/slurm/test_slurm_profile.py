"""profiles/slurm names real rules: Snakemake silently ignores set-resources and
groups entries for a rule that does not exist (e.g. after a rename), so a typo or
a renamed rule would quietly lose its memory and time limits on a cluster.

The SLURM run itself is tests/slurm/run_slurm_test.sh (needs root and daemons)."""

from __future__ import annotations

from pathlib import Path

import yaml

from conftest import REPO, make_study, snakemake

PROFILE = REPO / "profiles" / "slurm" / "config.yaml"


def test_profile_rule_names_exist(tmp_path: Path):
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    named = set(profile.get("set-resources", {})) | set(profile.get("groups", {}))
    assert {"render", "agreement", "concordance", "combine_codings"} <= named

    work = make_study(tmp_path / "mini")
    rules = set(snakemake(work, "--list-rules").stdout.split())
    assert "render" in rules and "all" in rules   # the listing itself is sane
    assert named - rules == set(), f"profiles/slurm names unknown rules: {sorted(named - rules)}"


def test_profile_uses_the_slurm_executor_with_valid_resource_expressions():
    profile = yaml.safe_load(PROFILE.read_text(encoding="utf-8"))
    assert profile["executor"] == "slurm"
    # default-resources are Python expressions over input.size_mb and attempt:
    # evaluate them as Snakemake does for a 0 MB and a 500 MB input, attempts 1 and 2
    for size_mb, attempt in [(0, 1), (500, 2)]:
        ns = {"input": type("I", (), {"size_mb": size_mb}), "attempt": attempt, "max": max, "int": int}
        values = {k: eval(str(v), ns) for k, v in profile["default-resources"].items()}
        assert values["mem_mb"] >= 1000 * attempt and values["runtime"] >= 10 * attempt
    assert eval(profile["default-resources"]["mem_mb"], {"input": type("I", (), {"size_mb": 500}),
                                                         "attempt": 1, "max": max, "int": int}) == 10000
