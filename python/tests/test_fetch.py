"""Downloading the UCI zip, against a loopback HTTP server the test runs."""

from __future__ import annotations

import hashlib
import logging
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from retail_files import uci_zip_bytes, zip_bytes

from retail_rfm.errors import LoadError
from retail_rfm.fetch import fetch_dataset
from retail_rfm.load import load_dataset

pytestmark = pytest.mark.usefixtures("loader_env")


@dataclass
class Route:
    body: bytes
    status: int = 200
    # Announce this many bytes instead of len(body): a cut-off transfer.
    content_length: int | None = None
    delay: float = 0.0


@dataclass
class FakeArchive:
    """A loopback HTTP server: routes by path, counts requests per path."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return self.base_url + path


@pytest.fixture
def archive(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeArchive]:
    state: FakeArchive

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] = state.hits.get(self.path, 0) + 1
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404, "Not Found")
                return
            time.sleep(route.delay)
            self.send_response(route.status)
            length = route.content_length
            self.send_header("Content-Length", str(length or len(route.body)))
            self.send_header("Content-Type", "application/zip")
            self.end_headers()
            self.wfile.write(route.body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.block_on_close = False
    state = FakeArchive(f"http://127.0.0.1:{server.server_address[1]}")
    # A proxy from the environment must not carry loopback requests away.
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


ZIP_PATH = "/static/public/352/online+retail.zip"


def serve_zip(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch, route: Route
) -> str:
    archive.routes[ZIP_PATH] = route
    url = archive.url(ZIP_PATH)
    monkeypatch.setenv("ONLINE_RETAIL_URL", url)
    return url


def cache_files(cache: Path) -> list[str]:
    return sorted(p.name for p in cache.iterdir()) if cache.exists() else []


def test_download_is_verified_cached_and_reused(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    body = uci_zip_bytes()
    serve_zip(archive, monkeypatch, Route(body))
    cache = tmp_path / "cache"

    first = fetch_dataset()
    second = fetch_dataset()

    assert first == second == cache / "online+retail.zip"
    assert first.read_bytes() == body
    digest = hashlib.sha256(body).hexdigest()
    sidecar = cache / "online+retail.zip.sha256"
    assert sidecar.read_text().split() == [digest, "online+retail.zip"]
    assert archive.hits == {ZIP_PATH: 1}  # the second call used the cache
    assert cache_files(cache) == ["online+retail.zip", "online+retail.zip.sha256"]


def test_load_without_a_path_downloads_and_loads(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serve_zip(archive, monkeypatch, Route(uci_zip_bytes()))
    monkeypatch.setenv("ONLINE_RETAIL_PATH", "")  # empty means unset
    raw = tmp_path / "raw"

    result = load_dataset(None, raw)

    assert result.source == tmp_path / "cache" / "online+retail.zip"
    assert result.rows == 4
    table = pq.read_table(raw / "part-00000.parquet")
    assert set(table["_source_file"].to_pylist()) == {"online+retail.zip"}


def test_changed_cache_file_is_downloaded_again(
    archive: FakeArchive,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = uci_zip_bytes()
    serve_zip(archive, monkeypatch, Route(body))
    cached = fetch_dataset()
    cached.write_bytes(body[:-10])  # damaged after it was verified

    with caplog.at_level(logging.WARNING, logger="retail_rfm.fetch"):
        again = fetch_dataset()

    assert archive.hits == {ZIP_PATH: 2}
    assert again.read_bytes() == body
    assert "no longer matches the recorded" in caplog.text


def test_cache_without_sidecar_is_not_trusted(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    serve_zip(archive, monkeypatch, Route(uci_zip_bytes()))
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "online+retail.zip").write_bytes(b"left over from an old run")

    path = fetch_dataset()

    assert archive.hits == {ZIP_PATH: 1}
    assert path.read_bytes() == uci_zip_bytes()


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        pytest.param(
            Route(uci_zip_bytes()[:-200], content_length=len(uci_zip_bytes())),
            "is truncated: received",
            id="connection-cut-short",
        ),
        pytest.param(
            Route(uci_zip_bytes()[:-200]),
            "is not a valid zip archive",
            id="truncated-zip-served-whole",
        ),
        pytest.param(
            Route(b"<html>Service Unavailable</html>"),
            "is not a valid zip archive",
            id="error-page-with-200",
        ),
        pytest.param(
            Route(zip_bytes({"Online Retail.csv": b"a,b\n"})),
            "does not hold 'Online Retail.xlsx'",
            id="zip-without-workbook",
        ),
        pytest.param(Route(b"", status=503), "HTTP 503", id="http-503"),
    ],
)
def test_bad_download_is_rejected_and_nothing_cached(
    archive: FakeArchive,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    route: Route,
    problem: str,
) -> None:
    url = serve_zip(archive, monkeypatch, route)

    with pytest.raises(LoadError) as caught:
        fetch_dataset()

    assert url in str(caught.value)
    assert problem in str(caught.value)
    assert cache_files(tmp_path / "cache") == []  # no zip, no temp file


def test_corrupt_member_fails_the_crc_check(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = bytearray(zip_bytes({"Online Retail.xlsx": b"A" * 5000}, stored=True))
    # Flip one byte of the member's (uncompressed) data: only the CRC shows it.
    body[1000] ^= 0xFF
    serve_zip(archive, monkeypatch, Route(bytes(body)))

    with pytest.raises(LoadError, match=r"'Online Retail\.xlsx' fails its CRC"):
        fetch_dataset()
    assert archive.hits == {ZIP_PATH: 1}


def test_expected_sha256_is_enforced(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = uci_zip_bytes()
    serve_zip(archive, monkeypatch, Route(body))

    monkeypatch.setenv("ONLINE_RETAIL_SHA256", "0" * 64)
    with pytest.raises(LoadError, match="but ONLINE_RETAIL_SHA256 expects 0000"):
        fetch_dataset()

    monkeypatch.setenv("ONLINE_RETAIL_SHA256", hashlib.sha256(body).hexdigest())
    assert fetch_dataset().read_bytes() == body


def test_missing_url_names_the_url(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ONLINE_RETAIL_URL", archive.url("/gone.zip"))

    with pytest.raises(LoadError, match=r"download of http://127\.0\.0\.1:\d+/gone"
                       r"\.zip failed: HTTP 404"):  # fmt: skip
        fetch_dataset()


def test_unreachable_server_names_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/online+retail.zip"
    monkeypatch.setenv("ONLINE_RETAIL_URL", url)
    monkeypatch.setenv("no_proxy", "127.0.0.1")

    with pytest.raises(LoadError, match=re.escape(f"cannot download {url}: ")):
        fetch_dataset()


def test_slow_server_times_out(
    archive: FakeArchive, monkeypatch: pytest.MonkeyPatch
) -> None:
    serve_zip(archive, monkeypatch, Route(uci_zip_bytes(), delay=2.0))

    started = time.monotonic()
    with pytest.raises(LoadError, match="timed out"):
        fetch_dataset(timeout=0.3)
    assert time.monotonic() - started < 1.5
