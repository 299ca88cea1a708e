"""Shared fixtures: run the real workflow (subprocess Snakemake) on a small study."""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
MINI = REPO / "tests" / "data" / "mini"
SCRIPTS = REPO / "workflow" / "scripts"


class NL(list):
    """Enough of snakemake's Namedlist for a rule script: positional and attribute
    access, ``.get()``."""

    def __init__(self, **kw):
        super().__init__(kw.values())
        self.__dict__.update(kw)

    def get(self, key, default=None):
        return self.__dict__.get(key, default)


def run_script(name: str, monkeypatch, **parts: dict) -> None:
    """Run ``workflow/scripts/<name>`` in-process with a stand-in ``snakemake`` object
    built from ``input=``, ``output=``, ``log=``, ``params=`` dicts."""
    monkeypatch.setattr(sys, "stderr", sys.stderr)  # the script redirects it; restore
    smk = type("Snakemake", (), {k: NL(**v) for k, v in parts.items()})()
    runpy.run_path(str(SCRIPTS / name), init_globals={"snakemake": smk}, run_name="__main__")


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """Run the repository's Snakefile in ``workdir`` with ``workdir/config.yaml``."""
    env = dict(os.environ, XDG_CACHE_HOME=str(workdir / ".cache"))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(workdir / "config.yaml"),
           "--cores", "2", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=workdir)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def make_study(dest: Path, src: Path = MINI) -> Path:
    """Copy a test study into ``dest`` and point its manuscript at the repo's source."""
    shutil.copytree(src, dest)
    cfg_path = dest / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text(encoding="utf-8"))
    cfg["manuscript"]["source"] = str(REPO / "workflow" / "report" / "manuscript.qmd")
    cfg["manuscript"]["bibliography"] = str(REPO / "workflow" / "report" / "references.bib")
    cfg_path.write_text(yaml.safe_dump(cfg, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return dest


@pytest.fixture(scope="session")
def mini_run(tmp_path_factory) -> Path:
    """The mini study, run once end to end; tests only read it."""
    work = make_study(tmp_path_factory.mktemp("e2e") / "mini")
    snakemake(work)
    return work
