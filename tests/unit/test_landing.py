import os

from orchestration.landing import landing_fingerprint, landing_listing


def test_fingerprint_changes_when_a_file_is_added_or_rewritten(tmp_path):
    (tmp_path / "twcs").mkdir()
    empty = landing_fingerprint(tmp_path)
    f = tmp_path / "twcs" / "a.csv"
    f.write_text("x")
    added = landing_fingerprint(tmp_path)
    assert added != empty
    assert landing_fingerprint(tmp_path) == added  # stable while nothing changes
    f.write_text("xy")
    os.utime(f, ns=(1, 1))
    assert landing_fingerprint(tmp_path) != added


def test_hidden_files_and_missing_folder_are_ignored(tmp_path):
    (tmp_path / ".partial.csv").write_text("x")
    assert landing_listing(tmp_path) == []
    assert landing_listing(tmp_path / "absent") == []
