"""The loader's S3 writer, against an S3 EMULATOR (moto's server mode on
127.0.0.1), not against Amazon S3: no AWS service is reachable from here.

What this shows: the URL handling, that pyarrow's S3 client writes the part
file and the manifest under the prefix, that a second load replaces the rows
and removes other part files, and the error a missing bucket gives. What it
cannot show: real S3 permissions (IAM), regions, or EMR reading the files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pyarrow.parquet as pq
import pytest
from conftest import free_ports
from moto.server import ThreadedMotoServer
from retail_files import GOOD_ROWS, write_csv

from retail_rfm import paths
from retail_rfm.cli import EXIT_LOAD_ERROR, main
from retail_rfm.errors import LoadError
from retail_rfm.load import load_dataset

BUCKET = "retail-test"
PREFIX = "retail/raw/online_retail/invoice_lines"
URL = f"s3://{BUCKET}/{PREFIX}"


@pytest.fixture
def s3_emulator(loader_env: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """moto's S3 emulator on a free loopback port, with an empty bucket; the
    AWS variables point every S3 client (pyarrow's too) at it."""
    [port] = free_ports(1)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "emulator")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "emulator")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    client().create_bucket(Bucket=BUCKET)
    try:
        yield endpoint
    finally:
        server.stop()


def client():
    return boto3.client("s3")


def objects() -> dict[str, bytes]:
    """The objects under the prefix, by name. pyarrow leaves an empty
    "folder marker" object (key ending in /) after a delete; Spark and EMRFS
    read such keys as a folder, not as data, so it is left out here."""
    listed = client().list_objects_v2(Bucket=BUCKET, Prefix=PREFIX)
    return {
        item["Key"].removeprefix(PREFIX + "/"): client()
        .get_object(Bucket=BUCKET, Key=item["Key"])["Body"]
        .read()
        for item in listed.get("Contents", [])
        if not item["Key"].endswith("/")
    }


def test_load_writes_the_raw_table_under_an_s3_prefix(
    s3_emulator: str, tmp_path: Path
) -> None:
    source = write_csv(tmp_path / "lines.csv")
    result = load_dataset(source, URL)
    assert result.raw_location == URL
    stored = objects()
    assert sorted(stored) == ["_load.json", "part-00000.parquet"]
    (tmp_path / "part.parquet").write_bytes(stored["part-00000.parquet"])
    table = pq.read_table(tmp_path / "part.parquet")
    assert table.num_rows == len(GOOD_ROWS)
    assert table["InvoiceNo"].to_pylist() == [row[0] for row in GOOD_ROWS]
    manifest = json.loads(stored["_load.json"])
    assert (manifest["file"], manifest["rows"]) == ("lines.csv", len(GOOD_ROWS))


def test_loading_again_replaces_rows_and_old_parts(
    s3_emulator: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    client().put_object(Bucket=BUCKET, Key=f"{PREFIX}/part-00001.parquet", Body=b"x")
    load_dataset(write_csv(tmp_path / "all.csv"), URL)
    # From the environment this time, with a trailing slash.
    monkeypatch.setenv("RETAIL_RAW_LOCATION", URL + "/")
    assert paths.raw_location() == URL
    load_dataset(write_csv(tmp_path / "three.csv", GOOD_ROWS[:3]))
    stored = objects()
    assert sorted(stored) == ["_load.json", "part-00000.parquet"]
    (tmp_path / "part.parquet").write_bytes(stored["part-00000.parquet"])
    assert pq.read_table(tmp_path / "part.parquet").num_rows == 3
    assert json.loads(stored["_load.json"])["rows"] == 3


def test_missing_bucket_is_a_load_error(
    s3_emulator: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = write_csv(tmp_path / "lines.csv")
    code = main(
        ["load", "--path", str(source), "--raw-location", "s3://no-such-bucket/raw/x"]
    )
    err = capsys.readouterr().err
    assert code == EXIT_LOAD_ERROR
    assert "cannot write the raw table to s3://no-such-bucket/raw/x" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("location", "message"),
    [
        ("gs://bucket/raw", "not to gs://"),
        ("hdfs:///user/raw", "not to hdfs://"),
        ("s3://bucket", "give a bucket and a prefix"),
        ("s3://bucket/", "give a bucket and a prefix"),
    ],
)
def test_unusable_urls_are_refused_before_reading(
    location: str, message: str, loader_env: Path
) -> None:
    with pytest.raises(LoadError, match=message):
        load_dataset(Path("never-read.csv"), location)
