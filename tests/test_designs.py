"""Designs other than focus groups, end to end: a study of counselling dyads (one
group; therapist and client both coded; codes that belong to a role; a coder's "n/a"
mark; a session in which the client never speaks) runs to the manuscript, and every
statistic the design leaves undefined is registered with its reason."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from conftest import REPO, make_study, snakemake

DYAD = REPO / "tests" / "data" / "dyad"
pytestmark = pytest.mark.workflow


def tsv(path):
    return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)


@pytest.fixture(scope="module")
def dyad_run(tmp_path_factory):
    work = make_study(tmp_path_factory.mktemp("designs") / "dyad", src=DYAD)
    snakemake(work)
    return work


def test_dyad_segments_carry_roles_and_both_sides_are_coded(dyad_run):
    seg = tsv(dyad_run / "results/segments/D1.tsv").set_index("segment_id")
    assert seg.loc["D1-T0001-S01", "role"] == "therapist"
    assert seg.loc["D1-T0002-S01", "role"] == "client"
    machine = tsv(dyad_run / "results/coding/machine/D1.tsv")
    got = set(zip(machine.segment_id, machine.code))
    assert ("D1-T0001-S01", "QUESTION") in got and ("D1-T0002-S01", "CHANGE_TALK") in got
    roles = seg["role"].to_dict()
    for s, c in got:   # a code is only applied to the roles it belongs to
        assert roles[s] == ("client" if c in ("CHANGE_TALK", "SUSTAIN_TALK") else "therapist")
    na = tsv(dyad_run / "results/coding/not_applicable.tsv")
    assert list(map(tuple, na.values)) == [("D1-T0006-S01", "C2", "*")]


def test_alpha_per_code_over_the_units_of_its_role(dyad_run):
    bc = tsv(dyad_run / "results/agreement/by_code.tsv").set_index("code")
    # QUESTION over the 6 therapist units of D1, D2: C1 1,0,1,1,0,1 / C2 1,1,1,1,0,1:
    # n = 12, n1 = 9, n0 = 3, one disagreeing unit: alpha = 1 - 11 / 27
    assert bc.loc["QUESTION", "units"] == "6"
    assert float(bc.loc["QUESTION", "krippendorff_alpha"]) == pytest.approx(16 / 27)
    # CHANGE_TALK over the client units; D1-T0006 is n/a for C2, so 5 pairable units:
    # C1 1,0,1,1,0 / C2 1,0,1,0,0: n = 10, n1 = 5, n0 = 5: alpha = 1 - 9 / 25
    assert bc.loc["CHANGE_TALK", "units"] == "5"
    assert float(bc.loc["CHANGE_TALK", "krippendorff_alpha"]) == pytest.approx(16 / 25)
    assert bc.loc["SUSTAIN_TALK", "reliability"] == "undefined"


def test_prevalence_counts_people_of_the_codes_role_once(dyad_run):
    prev = tsv(dyad_run / "results/concordance/prevalence.tsv").set_index("code")
    # therapists T1 and T2 (T2 ran two sessions: one person), clients C1, C2, C3 (silent)
    assert (prev.loc["QUESTION", "participants_with"], prev.loc["QUESTION", "participants"]) \
        == ("2", "2")
    assert (prev.loc["CHANGE_TALK", "participants_with"],
            prev.loc["CHANGE_TALK", "participants"]) == ("2", "3")
    summary = tsv(dyad_run / "results/segments/participants_by_group.tsv")
    assert summary.set_index("group").loc["all", "participants"] == "5"


def test_every_undefined_statistic_is_registered_with_its_reason(dyad_run):
    numbers = json.loads((dyad_run / "results/manuscript/numbers.json").read_text())["numbers"]
    one_group = ["pairwise.spearman.max", "pairwise.spearman.max.pair", "pairwise.spearman.min",
                 "pairwise.spearman.min.pair", "pairwise.spearman.median",
                 "category.contrast", "category.contrast.diff", "category.contrast.diff_ci"]
    for key in one_group:
        assert numbers[key]["value"] is None and numbers[key]["display"] == "undefined", key
        assert "one group" in numbers[key]["undefined"], key
    assert "two or more groups" in numbers["concordance.kendall_w"]["undefined"]
    assert "only one value" in numbers["agreement.alpha.SUSTAIN_TALK"]["undefined"]
    assert numbers["agreement.units.QUESTION"]["value"] == 6
    assert (dyad_run / "results/manuscript/manuscript.html").exists()
