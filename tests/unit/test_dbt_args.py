import json

import pytest

from orchestration.dbt_args import build_args, dbt_vars


def test_plain_build_has_no_vars():
    assert build_args() == ["build"]


def test_as_of_is_normalised_to_seconds():
    args = build_args(as_of="2024-03-15T00:00")
    assert args[:2] == ["build", "--vars"]
    assert json.loads(args[2]) == {"as_of": "2024-03-15 00:00:00"}


def test_full_refresh_flag():
    assert build_args(full_refresh=True) == ["build", "--full-refresh"]


@pytest.mark.parametrize("bad", ["yesterday", "2024-13-01", "2024-03-15T00:00:00+02:00"])
def test_bad_as_of_is_refused_with_a_reason(bad):
    with pytest.raises(ValueError, match="as_of"):
        dbt_vars(bad)


def test_an_incremental_build_can_leave_the_unit_tests_out():
    assert build_args(unit_tests=False) == ["build", "--exclude-resource-type", "unit_test"]
    assert build_args(full_refresh=True, unit_tests=True) == ["build", "--full-refresh"]
