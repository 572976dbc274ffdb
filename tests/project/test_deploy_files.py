"""The server files kept in step with the code: the image's entrypoint (run here with a
stand-in `python`), the commands it passes to `python -m bot`, what .dockerignore lets the
Dockerfile copy, and deploy/haproxy.cfg against the balancer the tests run and
docs/operations.md.
`make image-test` builds and runs the image itself (tests/image/)."""

from __future__ import annotations

import fnmatch
import os
import re
import subprocess
from pathlib import Path

import pytest

from bot.__main__ import COMMANDS
from tests.support.cluster import HAPROXY_CONFIG

ROOT = Path(__file__).resolve().parents[2]
ENTRYPOINT = ROOT / "deploy" / "docker-entrypoint.sh"


def _entrypoint(tmp_path: Path, *args: str, **env: str) -> list[str]:
    """Run the entrypoint with a `python` that records its arguments; the calls, in order."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    calls = tmp_path / "calls"
    fake = bin_dir / "python"
    fake.write_text(f'#!/bin/sh\necho "python $*" >> {calls}\n')
    fake.chmod(0o755)
    environment = {"PATH": f"{bin_dir}:{os.environ['PATH']}", **env}
    subprocess.run(["/bin/sh", str(ENTRYPOINT), *args], env=environment, check=True, timeout=30)
    return calls.read_text().splitlines() if calls.exists() else []


def test_no_command_migrates_then_runs_the_bot(tmp_path: Path) -> None:
    assert _entrypoint(tmp_path) == ["python -m bot migrate", "python -m bot"]


@pytest.mark.parametrize("off", ["0", "false", "no"])
def test_migrate_on_start_off_runs_the_bot_only(tmp_path: Path, off: str) -> None:
    assert _entrypoint(tmp_path, MIGRATE_ON_START=off) == ["python -m bot"]


@pytest.mark.parametrize("args", [("worker",), ("backup", "/app/data/b.db"), ("--help",)])
def test_a_bot_command_runs_without_migrating(tmp_path: Path, args: tuple[str, ...]) -> None:
    assert _entrypoint(tmp_path, *args) == [f"python -m bot {' '.join(args)}"]


def test_anything_else_runs_as_given(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    assert _entrypoint(tmp_path, "touch", str(marker)) == []
    assert marker.exists()


def test_the_entrypoint_knows_every_command_of_python_m_bot() -> None:
    """A command added to `python -m bot` must reach it, not be run as a program."""
    match = re.search(r"^\s*-\* \| ([a-z| -]+)\)$", ENTRYPOINT.read_text(), re.MULTILINE)
    assert match is not None
    listed = {name.strip() for name in match.group(1).split("|")}
    assert listed == set(COMMANDS)


def _admitted(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore (exclude everything, then `!` exceptions) lets `path` in."""
    admitted = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.lstrip("!").rstrip("/")
        if body == "**" or fnmatch.fnmatch(path, body) or path.startswith(body + "/"):
            admitted = negated
    return admitted


def test_dockerignore_admits_everything_the_dockerfile_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    sources = []
    for line in (ROOT / "Dockerfile").read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            sources += [w.rstrip("/") for w in words[1:-1]]
    assert "requirements.txt" in sources and "bot" in sources
    for source in sources:
        assert (ROOT / source).exists(), source
        assert _admitted(source, patterns), f"{source} is kept out by .dockerignore"
    assert not _admitted(".env", patterns) and not _admitted("tests", patterns)


def _readme_haproxy_block() -> str:
    readme = (ROOT / "docs" / "operations.md").read_text()
    start = readme.index("The balancer the tests use (`tests/support/cluster.py`)")
    block_start = readme.index("```\n", start) + len("```\n")
    return readme[block_start : readme.index("```\n", block_start)]


def test_the_haproxy_example_is_the_one_the_tests_run_and_the_readme_shows() -> None:
    shipped = (ROOT / "deploy" / "haproxy.cfg").read_text()
    config = "".join(line for line in shipped.splitlines(keepends=True) if line[:1] != "#")
    assert config.lstrip("\n") == _readme_haproxy_block()
    # The tests bind 127.0.0.1 without TLS and list their own instances: the rest is equal.
    as_tested = re.sub(r"    bind :443 ssl crt \S+", "    bind 127.0.0.1:{port}", config)
    as_tested = re.sub(r"(    server instance\d .*\n)+", "{servers}\n", as_tested)
    assert as_tested.lstrip("\n") == HAPROXY_CONFIG
