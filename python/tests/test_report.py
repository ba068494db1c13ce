"""The segment report of the main job, written from the full build: an HTML
page a person can open, with every plot a readable PNG."""

from __future__ import annotations

import base64
import re
from io import BytesIO
from pathlib import Path

import pytest
from conftest import LakeBuild
from PIL import Image, ImageStat

from retail_rfm import cli
from retail_rfm.report import CLUSTER_MODEL, has_model

SECTIONS = (
    "Segment sizes and revenue",
    "The recency by frequency-monetary grid",
    "R, F and M scores",
    "Recency, frequency and monetary value",
    "Where net revenue goes",
    "Clusters",
)


def _check_png(data: bytes, what: str) -> Image.Image:
    assert data.startswith(b"\x89PNG\r\n\x1a\n"), f"{what} is not a PNG"
    assert len(data) > 15_000, f"{what} is suspiciously small ({len(data)} bytes)"
    image = Image.open(BytesIO(data))
    image.load()
    assert image.width >= 600 and image.height >= 250, (what, image.size)
    # A plot, not a blank canvas: the pixels vary.
    assert max(ImageStat.Stat(image.convert("L")).stddev) > 10, f"{what} is blank"
    return image


@pytest.fixture(scope="module")
def report_dir(full_build: LakeBuild, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`retail-rfm report`, the report step of the main job, on the full build."""
    assert full_build.build.success, "\n".join(full_build.problems())
    out = tmp_path_factory.mktemp("reports")
    env = {
        **full_build.project.env,
        "DBT_TARGET_PATH": str(full_build.project.target_path),
    }
    with pytest.MonkeyPatch.context() as patch:
        for name, value in env.items():
            patch.setenv(name, value)
        assert cli.main(["report", "--report-dir", str(out)]) == 0
    return out


def test_report_page_has_every_section_and_readable_plots(report_dir: Path) -> None:
    page = (report_dir / "segments.html").read_text(encoding="utf-8")
    titles = re.findall(r"<h2>(.*?)</h2>", page)
    assert titles == list(SECTIONS)
    assert "4,339 customers scored as of 2011-12-10" in page
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', page)
    pngs = sorted((report_dir / "segments").glob("*.png"))
    assert len(images) == len(pngs) >= 5
    for index, encoded in enumerate(images):
        _check_png(base64.b64decode(encoded), f"embedded image {index}")
    for png in pngs:
        _check_png(png.read_bytes(), png.name)


def test_report_table_lists_every_segment(report_dir: Path) -> None:
    page = (report_dir / "segments.html").read_text(encoding="utf-8")
    for segment in ("Champions", "Loyal", "At Risk", "Hibernating", "Lost"):
        assert f"<td>{segment}</td>" in page
    assert "<td>Champions</td><td class=num>862</td>" in page


def test_cluster_section_follows_the_model(
    report_dir: Path, full_build: LakeBuild
) -> None:
    page = (report_dir / "segments.html").read_text(encoding="utf-8")
    if has_model(full_build.project, CLUSTER_MODEL):
        assert '<figure id="clusters">' in page
        assert (report_dir / "segments" / "clusters.png").is_file()
    else:
        assert 'id="clusters-absent"' in page
        assert f"no <code>{CLUSTER_MODEL}</code> model" in page
        assert not (report_dir / "segments" / "clusters.png").exists()
