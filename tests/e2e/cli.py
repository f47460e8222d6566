"""`skillship` as a user runs it: a process in the project folder, with the test's environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support.jsondocs import check_document


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        """The document, checked for what every --json document promises (tests/support/jsondocs.py)."""
        return check_document(json.loads(self.stdout))


@dataclass
class Cli:
    project: Path
    env: dict[str, str]
    # How `skillship` is started: this interpreter's, or the console script of another install.
    command: tuple[str, ...] = (sys.executable, "-m", "skillship")

    def __call__(self, *args: str, env: dict[str, str] | None = None) -> Result:
        done = subprocess.run(
            [*self.command, *args],
            cwd=self.project,
            capture_output=True,
            text=True,
            timeout=180,
            env={**os.environ, **self.env, **(env or {})},
        )
        assert "Traceback" not in done.stderr, done.stderr
        return Result(done.returncode, done.stdout, done.stderr)

    def start(self, *args: str) -> subprocess.Popen:
        """The command, still running: for what streams (`logs --follow`, `status --wait`)."""
        return subprocess.Popen(
            [*self.command, *args],
            cwd=self.project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env={**os.environ, **self.env},
        )
