"""Study loading: sheets and codebook errors name the file, line or code and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from concord.studyconfig import load_codebook, load_sheet, shards
from concord.tsvio import InputError

REPO = Path(__file__).resolve().parents[1]
SCHEMAS = REPO / "workflow" / "schemas"
MINI = REPO / "tests" / "data" / "mini"


def write_codebook(tmp_path, mutate) -> Path:
    book = yaml.safe_load((MINI / "codebook.yaml").read_text(encoding="utf-8"))
    mutate(book)
    path = tmp_path / "codebook.yaml"
    path.write_text(yaml.safe_dump(book), encoding="utf-8")
    return path


def test_mini_codebook_loads():
    book = load_codebook(MINI / "codebook.yaml", SCHEMAS / "codebook.schema.yaml")
    assert [c["id"] for c in book["codes"]] == ["DAILY_LIFE", "FAMILY", "HOPE"]


def test_default_codebook_loads():
    book = load_codebook(REPO / "config" / "codebook.yaml", SCHEMAS / "codebook.schema.yaml")
    assert len(book["codes"]) >= 10
    assert {c["category"] for c in book["codes"]} == set(book["categories"])


@pytest.mark.parametrize("mutate, message", [
    (lambda b: b["codes"].append(dict(b["codes"][0])),
     "code DAILY_LIFE: field 'id': duplicate ID (codes #1 and #4)"),
    (lambda b: b["codes"][1].update(category="spiritual"),
     "code FAMILY: field 'category': 'spiritual' is not one of the declared categories"),
    (lambda b: (b["codes"][0].update(parent="HOPE"), b["codes"][2].update(parent="DAILY_LIFE")),
     "field 'parent': cycle"),
    (lambda b: b["codes"][2]["patterns"].update(regex=["[unclosed"]),
     "code HOPE: field 'patterns.regex[0]': invalid regular expression"),
    (lambda b: b["codes"][1].update(id="family"),
     "code family: field 'id': 'family' is not in the expected form: upper-case letters"),
    (lambda b: b.update(version="1.0"),
     "field 'version': '1.0' is not in the expected form: three numbers major.minor.patch"),
    (lambda b: b.update(version=1.0),
     "field 'version': 1.0 is not of type 'string': three numbers major.minor.patch"),
    (lambda b: b.pop("version"),
     "field '(top level)': 'version' is a required property"),
], ids=["duplicate-id", "unknown-category", "parent-cycle", "bad-regex", "bad-id", "version-two-numbers",
    "version-unquoted", "no-version"])
def test_codebook_errors_name_code_and_field(tmp_path, mutate, message):
    path = write_codebook(tmp_path, mutate)
    with pytest.raises(InputError) as err:
        load_codebook(path, SCHEMAS / "codebook.schema.yaml")
    assert str(path) in str(err.value) and message in str(err.value)


def test_sheet_errors_name_line_and_column(tmp_path):
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tsession_id\tgroup\nP01\tM1\tpatients\nP02\t\tpatients\n",
                    encoding="utf-8")
    with pytest.raises(InputError, match=r"participants\.tsv, line 3: column 'session_id'"):
        load_sheet(path, SCHEMAS / "participants.schema.yaml", key="participant_id")


def test_sheet_duplicate_key_and_missing_column(tmp_path):
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tsession_id\tgroup\nP01\tM1\ta\nP01\tM2\ta\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 3: participant_id 'P01' already used on line 2"):
        load_sheet(path, SCHEMAS / "participants.schema.yaml", key="participant_id")
    path.write_text("participant_id\tgroup\nP01\ta\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"missing column\(s\) session_id"):
        load_sheet(path, SCHEMAS / "participants.schema.yaml")


def test_restricted_sheet_never_echoes_values(tmp_path):
    path = tmp_path / "roster.tsv"
    path.write_text("participant_id\tsession_id\tspeaker_label\tfull_name\taliases\n"
                    "Maria Lopez\tM1\tMaria\tMaria Lopez\t\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        load_sheet(path, SCHEMAS / "roster.schema.yaml", restricted=True)
    assert "line 2" in str(err.value) and "Maria" not in str(err.value)


def test_shards_are_consecutive_sorted_ids_named_after_their_first():
    ids = ["S0003", "S0001", "S0005", "S0002", "S0004"]
    assert shards(ids, 2) == {"S0001": ["S0001", "S0002"], "S0003": ["S0003", "S0004"],
                              "S0005": ["S0005"]}
    assert shards(ids, 1) == {s: [s] for s in sorted(ids)}
    assert shards(ids, 50) == {"S0001": sorted(ids)}


def test_appending_sessions_leaves_full_shards_alone():
    before = shards([f"S{i:04d}" for i in range(1, 101)], 25)
    after = shards([f"S{i:04d}" for i in range(1, 131)], 25)
    assert all(after[k] == v for k, v in before.items())
    assert sorted(after) == ["S0001", "S0026", "S0051", "S0076", "S0101", "S0126"]


def test_shard_size_must_be_positive():
    with pytest.raises(InputError, match="shard_size must be >= 1"):
        shards(["A"], 0)



def test_a_validated_sheet_is_remembered_until_it_changes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "participants.tsv"
    path.write_text("participant_id\tsession_id\tgroup\nP01\tM1\tpatients\n", encoding="utf-8")
    load_sheet(path, SCHEMAS / "participants.schema.yaml", key="participant_id")
    markers = list((tmp_path / ".snakemake" / "concord" / "validated").iterdir())
    assert len(markers) == 1
    load_sheet(path, SCHEMAS / "participants.schema.yaml", key="participant_id")
    assert len(list(markers[0].parent.iterdir())) == 1         # the same sheet: no new entry
    path.write_text("participant_id\tsession_id\tgroup\nP01\t\tpatients\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2: column 'session_id'"):   # edited: checked
        load_sheet(path, SCHEMAS / "participants.schema.yaml", key="participant_id")
    assert len(list(markers[0].parent.iterdir())) == 1         # a failing sheet is not kept
