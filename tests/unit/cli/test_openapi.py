"""``aigupiao openapi``: the document the dashboard generates its client from, with no
server, no database and no files besides ``--out``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from aigupiao.cli import app

runner = CliRunner()


def _check(document: dict[str, object]) -> None:
    assert document["openapi"].startswith("3.")  # type: ignore[attr-defined]
    paths = document["paths"]
    assert isinstance(paths, dict)
    for path in (
        "/api/health",
        "/api/cloud-local-trading/execute-trade",
        "/api/cloud-local-trading/cancel-order",
        "/api/exports/{command_id}/{kind}",
        "/api/orders",
    ):
        assert path in paths, path
    cancel = paths["/api/cloud-local-trading/cancel-order"]["post"]
    assert "404" in cancel["responses"] and "409" in cancel["responses"]
    download = paths["/api/exports/{command_id}/{kind}"]["get"]
    assert {p["name"] for p in download["parameters"]} >= {"command_id", "kind", "format"}


def test_prints_the_document_without_touching_a_database(tmp_path: Path) -> None:
    # A database URL that cannot be reached: the command must not even try.
    env = {
        **os.environ,
        "AIGUPIAO_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    }
    result = subprocess.run(
        [sys.executable, "-m", "aigupiao.cli", "openapi"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    _check(json.loads(result.stdout))
    assert list(tmp_path.iterdir()) == []  # no var/, no SQLite file


def test_out_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "web" / "openapi.json"
    result = runner.invoke(app, ["openapi", "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = json.loads(out.read_text(encoding="utf-8"))
    _check(document)
    assert document["info"]["title"] == "aigupiao cloud"
    assert str(out) in result.output
