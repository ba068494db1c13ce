"""Download the UCI Online Retail zip into a local cache, checked.

The cached zip sits beside a ``.sha256`` sidecar written when the download
was verified. A later call reuses the zip only while its sha256 still matches
the sidecar (and ONLINE_RETAIL_SHA256, when set); otherwise it downloads
again and logs why.

Environment:

- ONLINE_RETAIL_URL: where to download from (default: the UCI archive).
- ONLINE_RETAIL_SHA256: the sha256 the download must have (optional).
- RETAIL_RFM_CACHE_DIR: the cache folder; else $XDG_CACHE_HOME/retail-rfm,
  else ~/.cache/retail-rfm.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import logging
import os
import re
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from pathlib import Path

from retail_rfm.errors import LoadError
from retail_rfm.source_files import XLSX_MEMBER

log = logging.getLogger(__name__)

DEFAULT_URL = "https://archive.ics.uci.edu/static/public/352/online+retail.zip"
URL_ENV = "ONLINE_RETAIL_URL"
SHA256_ENV = "ONLINE_RETAIL_SHA256"
CACHE_DIR_ENV = "RETAIL_RFM_CACHE_DIR"
DEFAULT_FILE_NAME = "online_retail.zip"

# Seconds to connect or to wait for the next bytes, and for the whole download.
SOCKET_TIMEOUT = 60.0
TOTAL_TIMEOUT = 900.0
CHUNK_BYTES = 1 << 20
USER_AGENT = "retail-rfm-loader"


def _env(name: str) -> str | None:
    value = os.environ.get(name, "").strip()
    return value or None


def dataset_url() -> str:
    return _env(URL_ENV) or DEFAULT_URL


def cache_dir() -> Path:
    explicit = _env(CACHE_DIR_ENV)
    if explicit:
        return Path(explicit).expanduser().absolute()
    xdg = _env("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base.absolute() / "retail-rfm"


def expected_sha256() -> str | None:
    value = _env(SHA256_ENV)
    if value is None:
        return None
    value = value.lower()
    if not re.fullmatch(r"[0-9a-f]{64}", value):
        raise LoadError(f"{SHA256_ENV}={value!r} is not a sha256 (64 hex digits)")
    return value


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _cache_name(url: str) -> str:
    name = Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name
    return name if name.endswith(".zip") else DEFAULT_FILE_NAME


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path: Path) -> str | None:
    try:
        text = _sidecar(path).read_text(encoding="utf-8")
    except OSError:
        return None
    words = text.split()
    return words[0].lower() if words else None


def _write_sidecar(path: Path, digest: str) -> None:
    sidecar = _sidecar(path)
    temp = sidecar.with_name(f".{sidecar.name}.tmp")
    temp.write_text(f"{digest}  {path.name}\n", encoding="utf-8")
    temp.replace(sidecar)


def _cache_problem(path: Path, expected: str | None) -> str | None:
    """Why the cached zip cannot be reused, or None when it can."""
    recorded = _read_sidecar(path)
    if recorded is None:
        return f"no readable {_sidecar(path).name} beside it"
    try:
        actual = sha256_file(path)
    except OSError as exc:
        return f"it cannot be read ({exc})"
    if actual != recorded:
        return f"its sha256 {actual} no longer matches the recorded {recorded}"
    if expected is not None and actual != expected:
        return f"its sha256 {actual} differs from {SHA256_ENV}={expected}"
    return None


def check_zip(path: Path, url: str) -> None:
    """The download must be an intact zip holding the workbook."""
    try:
        with zipfile.ZipFile(path) as archive:
            broken = archive.testzip()
            names = archive.namelist()
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        raise LoadError(
            f"download of {url} is not a valid zip archive ({exc}); "
            "it may be truncated or an error page"
        ) from exc
    if broken is not None:
        raise LoadError(
            f"download of {url} is corrupt: member {broken!r} fails its CRC"
        )
    if not any(Path(name).name == XLSX_MEMBER for name in names):
        raise LoadError(
            f"download of {url} does not hold '{XLSX_MEMBER}' "
            f"(it holds {', '.join(names[:10]) or 'nothing'})"
        )


def _download(url: str, destination: Path, timeout: float) -> tuple[int, str]:
    """Stream ``url`` into ``destination``; return (bytes, sha256)."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest = hashlib.sha256()
    received = 0
    deadline = time.monotonic() + TOTAL_TIMEOUT
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status = getattr(response, "status", 200)
        if status != 200:
            raise LoadError(
                f"download of {url} failed: HTTP {status} {response.reason}"
            )
        length_header = response.headers.get("Content-Length")
        expected_length = int(length_header) if length_header else None
        with destination.open("wb") as handle:
            while chunk := response.read(CHUNK_BYTES):
                handle.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if time.monotonic() > deadline:
                    raise LoadError(
                        f"download of {url} took longer than {TOTAL_TIMEOUT:.0f} s "
                        f"({received} bytes received)"
                    )
    if expected_length is not None and received != expected_length:
        raise LoadError(
            f"download of {url} is truncated: received {received} of "
            f"{expected_length} bytes"
        )
    return received, digest.hexdigest()


def fetch_dataset(
    url: str | None = None, cache: Path | None = None, timeout: float = SOCKET_TIMEOUT
) -> Path:
    """The path of a verified copy of the dataset zip, downloading it if needed."""
    url = url or dataset_url()
    cache = cache or cache_dir()
    expected = expected_sha256()
    target = cache / _cache_name(url)

    if target.is_file():
        problem = _cache_problem(target, expected)
        if problem is None:
            log.info("using cached %s (sha256 matches its sidecar)", target)
            return target
        log.warning("not reusing cached %s: %s; downloading again", target, problem)

    try:
        cache.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(
            dir=cache, prefix=f".{target.name}.", suffix=".part"
        )
        os.close(handle)
    except OSError as exc:
        raise LoadError(f"cannot write the download cache {cache}: {exc}") from exc
    temp = Path(temp_name)
    started = time.perf_counter()
    log.info("downloading %s to %s", url, target)
    try:
        size, digest = _download(url, temp, timeout)
        check_zip(temp, url)
        if expected is not None and digest != expected:
            raise LoadError(
                f"download of {url} has sha256 {digest}, but {SHA256_ENV} "
                f"expects {expected}"
            )
        temp.replace(target)
        _write_sidecar(target, digest)
    except urllib.error.HTTPError as exc:
        raise LoadError(
            f"download of {url} failed: HTTP {exc.code} {exc.reason}"
        ) from exc
    except urllib.error.URLError as exc:
        raise LoadError(f"cannot download {url}: {exc.reason}") from exc
    except TimeoutError as exc:
        raise LoadError(
            f"download of {url} timed out (no data for {timeout:g} s)"
        ) from exc
    except http.client.IncompleteRead as exc:
        raise LoadError(
            f"download of {url} is truncated: the connection closed early ({exc!r})"
        ) from exc
    except (http.client.HTTPException, OSError) as exc:
        raise LoadError(f"download of {url} failed: {exc}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    log.info(
        "downloaded %d bytes from %s to %s in %.1f s (sha256 %s)",
        size,
        url,
        target,
        time.perf_counter() - started,
        digest,
    )
    return target
