"""The policy config: the shipped file validates, and an invalid one is refused with key and problem."""

from pathlib import Path

import pytest
import yaml

from policy.base import SCOPE_EXCLUSION_IDS, PolicyConfigError
from policy.config import default_policy, load_policy
from policy.paths import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "config" / "policy.yaml"


def _variant(tmp_path: Path, change) -> Path:
    data = yaml.safe_load(SHIPPED.read_text())
    change(data)
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def test_shipped_policy_is_valid_and_complete():
    policy = load_policy(SHIPPED)
    assert [s.id for s in policy.scope_exclusions] == list(SCOPE_EXCLUSION_IDS)
    assert set(policy.response_targets_minutes) == {"emergency", "high", "normal", "low"}
    assert dict(policy.priority_lookup())["1 - critical"] == "emergency"
    assert policy.fair_use.plans["unlimited"].units_per_seat_month == 1.0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["fair_use"]["plans"]["unlimited"].update(units_per_seat_month=0),
         "fair_use.plans.unlimited.units_per_seat_month: Input should be greater than 0"),
        (lambda d: d["scope_exclusions"].pop(), "scope_exclusions: Value error, must list each"),
        (lambda d: d["business_hours"].update(monday=[["18:00", "08:00"]]),
         "business_hours: Value error, monday: interval 18:00-08:00 ends before it starts"),
        (lambda d: d["priority_map"]["low"].append("P1"),
         "priority_map: Value error, value 'p1' maps to both emergency and low"),
        (lambda d: d["fair_use"].update(watch_ratio=1.5),
         "fair_use.watch_ratio: Input should be less than or equal to 1"),
        (lambda d: d.update(surprise=1), "surprise: Extra inputs are not permitted"),
        (lambda d: d["scope_classification"]["semantic"].update(dim=100),
         "scope_classification.semantic.dim: Input should be 64, 128 or 256"),
        (lambda d: d["emergency"]["dampeners"][0].update(unless_sets=["no_such_set"]),
         "unless_sets names unknown term set(s) no_such_set"),
        (lambda d: d["scope_classification"]["dampeners"][0].update(unless_sets=["no_substitute"]),
         "unless_sets applies to emergency dampeners only"),
    ],
)
def test_invalid_policy_names_key_and_problem(tmp_path, change, message):
    path = _variant(tmp_path, change)
    with pytest.raises(PolicyConfigError) as err:
        load_policy(path)
    assert str(path) in str(err.value)
    assert message in str(err.value)


def test_invalid_policy_fails_the_run(msp_env, monkeypatch, tmp_path, run_pipeline):
    from tests.builders import known_msp

    known_msp(msp_env["landing"])
    bad = _variant(tmp_path, lambda d: d["fair_use"].update(rolling_months=0))
    monkeypatch.setenv("MSP_POLICY", str(bad))
    import importlib

    import pipelines.definitions

    importlib.reload(pipelines.definitions)
    with pytest.raises(PolicyConfigError, match="fair_use.rolling_months"):
        run_pipeline(["2026-01-01"])


def test_the_policy_in_force_is_read_again_when_the_file_changes(tmp_path, monkeypatch):
    path = tmp_path / "policy.yaml"
    shipped = (PROJECT_ROOT / "config" / "policy.yaml").read_text()
    path.write_text(shipped)
    monkeypatch.setenv("MSP_POLICY", str(path))
    first = default_policy()
    assert default_policy() is first  # parsed once per content
    path.write_text(shipped + "\n# edited\n")
    assert default_policy() is not first  # an edit is read afresh, in every caller
    path.write_text("not: [valid")
    with pytest.raises(PolicyConfigError, match="not valid YAML"):
        default_policy()
