"""SQL style: sqlfluff (config in .sqlfluff) passes on every model, test and
analysis, the config catches what the style forbids, nothing is excluded
wholesale, and the pre-commit hooks run offline from the project's .venv."""

from __future__ import annotations

import configparser
import os
import re
import subprocess
import sys
from pathlib import Path

from retail_rfm.dbt_project import PROJECT_DIR

SQL_FOLDERS = ("models", "tests", "analyses")
BIN = Path(sys.executable).parent


def _sqlfluff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "sqlfluff"), *args],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        check=False,
    )


def test_every_sql_file_lints_clean() -> None:
    done = _sqlfluff("lint", *SQL_FOLDERS)
    assert done.returncode == 0, done.stdout + done.stderr
    files = [p for folder in SQL_FOLDERS for p in (PROJECT_DIR / folder).rglob("*.sql")]
    assert len(files) >= 20, files


def test_the_config_rejects_what_the_style_forbids(tmp_path: Path) -> None:
    bad = tmp_path / "bad_style.sql"
    bad.write_text(
        "SELECT\n"
        "    customer_id\n"
        "    , count(*) orders\n"
        "    , sum(quantity * unit_price) as "
        + "net_revenue_of_every_line_the_customer_ever_bought_from_us\n"
        "from invoice_lines\n"
        "group by customer_id\n"
    )
    done = _sqlfluff("lint", "--config", str(PROJECT_DIR / ".sqlfluff"), str(bad))
    assert done.returncode != 0
    for rule in ("CP01", "LT04", "LT05", "AL02"):
        assert rule in done.stdout, f"{rule} not reported:\n{done.stdout}"


def test_no_blanket_exclusions() -> None:
    config = configparser.ConfigParser()
    config.read(PROJECT_DIR / ".sqlfluff")
    for section in config.sections():
        assert "exclude_rules" not in config[section], section
        assert "ignore" not in config[section], section
    assert not (PROJECT_DIR / ".sqlfluffignore").exists()
    # Each inline exclusion names its rule and says why on the line above.
    for folder in SQL_FOLDERS:
        for path in (PROJECT_DIR / folder).rglob("*.sql"):
            lines = path.read_text().splitlines()
            for number, line in enumerate(lines):
                if not re.search(r"--\s*noqa", line):
                    continue
                assert re.search(r"--\s*noqa: [A-Z]{2}\d{2}", line), (
                    f"{path}:{number + 1}: a noqa must name its rules"
                )
                assert lines[number - 1].strip().startswith("--"), (
                    f"{path}:{number + 1}: no reason given above the noqa"
                )


def test_pre_commit_hooks_run_offline(tmp_path: Path) -> None:
    files = [
        "models/marts/customer_rfm.sql",
        "analyses/outlier_lines.sql",
        "python/retail_rfm/report.py",
    ]
    done = subprocess.run(
        [str(BIN / "pre-commit"), "run", "--files", *files],
        cwd=PROJECT_DIR,
        env={**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit")},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    for hook in ("sqlfluff lint", "ruff check", "ruff format --check"):
        assert re.search(rf"{re.escape(hook)}.*Passed", done.stdout), done.stdout
