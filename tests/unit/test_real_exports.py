"""The loaders on the real exports in ../shared/data (skipped when that folder is absent)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from orchestration.loader import FORMATS, ensure_raw_schema, load_file

pytestmark = pytest.mark.shared_data


def load(con, path: Path):
    ensure_raw_schema(con)
    return load_file(con, path, FORMATS["twcs"], path.name)


@pytest.mark.parametrize(
    ("relative", "rows"),
    [
        ("twcs/random_5k.csv", 5000),
        ("twcs/kaggle_sample.csv", 93),  # CRLF
        ("twcs/spreadsheet_mangled/head_121_rows.csv", 121),
        ("twcs/brand_outbound_7brands/AppleSupport.csv", 10983),  # BOM, CRLF, TRUE/FALSE, mojibake
        ("twcs/brand_outbound_7brands/SpotifyCares.csv", 10986),
    ],
)
def test_real_twcs_files_load_every_row(con, shared_data, relative, rows):
    result = load(con, shared_data / relative)
    assert (result.status, result.rows_read, result.rows_loaded, result.rows_rejected) == (
        "loaded",
        rows,
        rows,
        0,
    )


def test_random_5k_float_ids_are_normalised(con, shared_data):
    load(con, shared_data / "twcs/random_5k.csv")
    # spreadsheet-written parent ids such as 192625.0 become 192625
    assert con.execute(
        "select count(*) from raw.twcs_messages where in_response_to_tweet_id like '%.%'"
    ).fetchone() == (0,)
    assert con.execute("select count(*) from raw.twcs_messages where tweet_id = '192624'").fetchone() == (1,)


def test_excel_saved_file_keeps_real_rows_and_rejects_blank_sheet_rows(con, shared_data, tmp_path):
    with zipfile.ZipFile(shared_data / "twcs/spreadsheet_mangled/excel_saved_twcs.zip") as z:
        z.extract("twcs/twcs.csv", tmp_path)
    result = load(con, tmp_path / "twcs" / "twcs.csv")
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (1_048_574, 999, 1_047_575)
    assert con.execute("select distinct reason from raw.rejected_rows").fetchall() == [("blank row",)]
