"""The raw table a load writes, the settings it reads, and the CLI around it."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from retail_files import GOOD_ROWS, HEADER, as_loaded, write_csv, write_zip

import retail_rfm.load
import retail_rfm.raw_table
from retail_rfm import paths
from retail_rfm.cli import main
from retail_rfm.errors import LoadError
from retail_rfm.load import load_dataset

pytestmark = pytest.mark.usefixtures("loader_env")

PART = "part-00000.parquet"
PYTHON_DIR = Path(__file__).resolve().parents[1]


def test_load_writes_one_parquet_file_with_load_columns(
    tmp_path: Path, raw_dir: Path
) -> None:
    source = write_csv(tmp_path / "lines.csv.gz")
    before = datetime.now(UTC)

    result = load_dataset(source, raw_dir)

    assert result.rows == len(GOOD_ROWS)
    assert result.raw_location == raw_dir
    assert result.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()
    assert sorted(p.name for p in raw_dir.iterdir()) == ["_load.json", PART]

    table = pq.read_table(raw_dir / PART)
    assert table.schema == pa.schema(
        [(name, pa.string()) for name in HEADER]
        + [
            ("_source_file", pa.string()),
            ("_source_row_number", pa.int64()),
            ("_loaded_at", pa.timestamp("us", tz="UTC")),
        ]
    )
    assert [[r[c] for c in HEADER] for r in table.to_pylist()] == as_loaded(GOOD_ROWS)
    assert set(table["_source_file"].to_pylist()) == {"lines.csv.gz"}
    assert table["_source_row_number"].to_pylist() == list(range(1, len(GOOD_ROWS) + 1))
    loaded_at = set(table["_loaded_at"].to_pylist())
    assert len(loaded_at) == 1
    assert before <= loaded_at.pop() <= datetime.now(UTC)

    manifest = json.loads((raw_dir / "_load.json").read_text())
    assert manifest["file"] == "lines.csv.gz"
    assert manifest["sha256"] == result.sha256
    assert manifest["rows"] == len(GOOD_ROWS)
    assert manifest["loaded_at"].endswith("Z")


def test_loading_the_same_file_twice_replaces_rows(
    tmp_path: Path, raw_dir: Path
) -> None:
    source = write_csv(tmp_path / "lines.csv")

    first = load_dataset(source, raw_dir)
    first_loaded_at = pq.read_table(raw_dir / PART)["_loaded_at"][0].as_py()
    second = load_dataset(source, raw_dir)

    table = pq.read_table(raw_dir)  # the whole folder, as Spark would read it
    assert first.rows == second.rows == table.num_rows == len(GOOD_ROWS)
    assert table["_loaded_at"][0].as_py() > first_loaded_at
    assert sorted(p.name for p in raw_dir.iterdir()) == ["_load.json", PART]


def test_a_smaller_file_replaces_a_larger_one(tmp_path: Path, raw_dir: Path) -> None:
    load_dataset(write_csv(tmp_path / "all.csv"), raw_dir)
    load_dataset(write_csv(tmp_path / "two.csv", GOOD_ROWS[:2]), raw_dir)

    table = pq.read_table(raw_dir)
    assert table.num_rows == 2
    assert set(table["_source_file"].to_pylist()) == {"two.csv"}


def test_old_part_files_are_removed(tmp_path: Path, raw_dir: Path) -> None:
    raw_dir.mkdir(parents=True)
    for name in ("part-00000-abc.snappy.parquet", "part-00001-abc.snappy.parquet"):
        pq.write_table(pa.table({"InvoiceNo": ["stale"]}), raw_dir / name)
    (raw_dir / "_SUCCESS").write_text("")

    load_dataset(write_csv(tmp_path / "lines.csv"), raw_dir)

    assert sorted(p.name for p in raw_dir.iterdir()) == ["_SUCCESS", "_load.json", PART]
    assert "stale" not in pq.read_table(raw_dir / PART)["InvoiceNo"].to_pylist()


def test_a_failed_write_leaves_the_previous_table_and_no_temp_file(
    tmp_path: Path, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_dataset(write_csv(tmp_path / "lines.csv"), raw_dir)
    before = {p.name: p.read_bytes() for p in raw_dir.iterdir()}

    def disk_full(*args: object, **kwargs: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(retail_rfm.raw_table.pq, "write_table", disk_full)
    with pytest.raises(LoadError, match=r"cannot write the raw table to .*No space"):
        load_dataset(write_csv(tmp_path / "two.csv", GOOD_ROWS[:2]), raw_dir)

    assert {p.name: p.read_bytes() for p in raw_dir.iterdir()} == before


def test_zip_loads_with_its_own_name_as_source_file(
    tmp_path: Path, raw_dir: Path
) -> None:
    result = load_dataset(write_zip(tmp_path / "online+retail.zip"), raw_dir)

    table = pq.read_table(raw_dir / PART)
    assert result.rows == table.num_rows == 4
    assert set(table["_source_file"].to_pylist()) == {"online+retail.zip"}


# --- where things are -----------------------------------------------------------


def test_default_raw_location_is_under_the_lake(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("RETAIL_LAKE_DIR")
    monkeypatch.chdir(tmp_path)
    assert paths.lake_dir() == tmp_path.resolve() / ".lake"
    assert paths.raw_location() == (
        tmp_path.resolve() / ".lake" / "raw" / "online_retail" / "invoice_lines"
    )

    monkeypatch.setenv("RETAIL_LAKE_DIR", "elsewhere")
    assert paths.raw_location().parents[2] == tmp_path.resolve() / "elsewhere"

    monkeypatch.setenv("RETAIL_RAW_LOCATION", str(tmp_path / "raw"))
    assert paths.raw_location() == tmp_path.resolve() / "raw"

    monkeypatch.setenv("RETAIL_RAW_LOCATION", "")
    assert paths.raw_location().name == "invoice_lines"

    # An S3 prefix stays text, as given (it goes into the catalog as is).
    monkeypatch.setenv("RETAIL_RAW_LOCATION", "s3://bucket/raw/")
    assert paths.raw_location() == "s3://bucket/raw"
    monkeypatch.setenv("RETAIL_RAW_LOCATION", "gs://bucket/raw")
    with pytest.raises(LoadError, match="not to gs://"):
        paths.raw_location()


def test_load_uses_the_lake_when_no_location_is_given(
    tmp_path: Path, loader_env: Path
) -> None:
    result = load_dataset(write_csv(tmp_path / "lines.csv"))

    expected = loader_env / "raw" / "online_retail" / "invoice_lines"
    assert result.raw_location == expected
    assert pq.read_table(expected / PART).num_rows == len(GOOD_ROWS)


def test_path_comes_from_env_and_empty_env_means_download(
    tmp_path: Path, raw_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from_env = write_csv(tmp_path / "env.csv", GOOD_ROWS[:3])
    monkeypatch.setenv("ONLINE_RETAIL_PATH", str(from_env))
    assert load_dataset(None, raw_dir).source == from_env

    downloads: list[bool] = []
    downloaded = write_zip(tmp_path / "online+retail.zip")

    def fake_fetch() -> Path:
        downloads.append(True)
        return downloaded

    monkeypatch.setattr(retail_rfm.load, "fetch_dataset", fake_fetch)
    monkeypatch.setenv("ONLINE_RETAIL_PATH", "")
    result = load_dataset(None, raw_dir)
    assert downloads == [True]
    assert (result.source, result.rows) == (downloaded, 4)


# --- the command line -------------------------------------------------------------


def test_cli_load_prints_what_it_loaded(
    tmp_path: Path, raw_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "lines.csv")

    code = main(["load", "--path", str(source), "--raw-location", str(raw_dir)])

    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith(f"loaded {len(GOOD_ROWS)} rows from {source} into {raw_dir}")
    assert (raw_dir / PART).is_file()


def test_cli_load_error_exits_2_with_the_message_only(
    tmp_path: Path, raw_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.csv.gz"

    code = main(["load", "--path", str(missing), "--raw-location", str(raw_dir)])

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err == f"retail-rfm load: error: {missing}: file not found\n"


def test_python_dash_m_runs_the_cli(tmp_path: Path, raw_dir: Path) -> None:
    bad = write_csv(tmp_path / "bad.csv", [GOOD_ROWS[0], GOOD_ROWS[1][:7]])
    env = {**os.environ, "PYTHONPATH": str(PYTHON_DIR)}

    ok = subprocess.run(
        [sys.executable, "-m", "retail_rfm", "load", "--path",
         str(write_csv(tmp_path / "ok.csv")), "--raw-location", str(raw_dir)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    failed = subprocess.run(
        [sys.executable, "-m", "retail_rfm", "load", "--path", str(bad)],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip

    assert ok.returncode == 0, ok.stderr
    assert "loaded 7 rows" in ok.stdout
    assert "loaded 7 rows" in ok.stderr  # the log line, with timestamps
    assert failed.returncode == 2
    assert "bad.csv, row 2 (line 3): expected 8 fields, found 7" in failed.stderr
    assert "Traceback" not in failed.stderr
