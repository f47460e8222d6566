"""tools/cached-go-build.sh: whatever the suite builds is built once, safely, whoever asks.

A tiny Go module stands in for the engine (no downloads: it imports only the standard library).
Its PREPARE hook sleeps, so two callers really overlap, and a build can be killed halfway."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARY = REPO / "tools" / "cached-go-build.sh"

pytestmark = pytest.mark.skipif(shutil.which("go") is None, reason="needs Go on PATH")


def _module(root: Path, greeting: str = "hello") -> Path:
    wrapper = root / "tiny"
    wrapper.mkdir(parents=True)
    (wrapper / "go.mod").write_text("module example.com/tiny\n\ngo 1.22\n")
    (wrapper / "go.sum").write_text("")
    (wrapper / "main.go").write_text(f'package main\n\nimport "fmt"\n\nfunc main() {{ fmt.Println("{greeting}") }}\n')
    return wrapper


def _caller(cache: Path, wrapper: Path, marker: Path, pause: float) -> list[str]:
    """A bash process that sources the library and builds the module, as build.sh does. The pause
    is a variable: PREPARE's body is part of the cache key, so it must read the same each time."""
    # The build's scratch folders (mktemp's, go's) stay under the test's folder: a build the test
    # kills cannot clean up after itself, and must not leave them in the host's /tmp.
    scratch = cache.parent / "scratch"
    script = f"""
set -euo pipefail
mkdir -p {scratch}
export TMPDIR={scratch}
source {LIBRARY}
prepare() {{ touch {marker}.$$; sleep "$PAUSE"; }}
PAUSE={pause}
cached_go_build {cache} {wrapper} tiny . "" prepare
echo "$(readlink -f {cache}/bin/tiny)"
"""
    return ["bash", "-c", script]


def _start(command: list[str]) -> subprocess.Popen:
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def test_two_concurrent_builds_into_one_cache_both_succeed_and_build_once(tmp_path):
    wrapper = _module(tmp_path)
    cache = tmp_path / "cache"
    marker = tmp_path / "prepared"
    first = _start(_caller(cache, wrapper, marker, 2))
    second = _start(_caller(cache, wrapper, marker, 2))
    outs = [p.communicate(timeout=300) for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outs
    built_paths = {out.strip().splitlines()[-1] for out, _ in outs}
    assert len(built_paths) == 1
    binary = Path(built_paths.pop())
    assert subprocess.run([binary], capture_output=True, text=True).stdout == "hello\n"
    messages = "".join(err for _, err in outs)
    assert messages.count("building") == 1 and messages.count("cached") == 1, messages
    assert len(list(tmp_path.glob("prepared.*"))) == 1  # the waiting caller never started a build of its own
    assert not list(binary.parent.glob("*.partial*"))


def test_a_build_killed_halfway_is_never_taken_for_a_built_one(tmp_path):
    wrapper = _module(tmp_path)
    cache = tmp_path / "cache"
    marker = tmp_path / "prepared"
    doomed = _start(_caller(cache, wrapper, marker, 60))
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob("prepared.*")):
        assert time.monotonic() < deadline and doomed.poll() is None, "the build never reached its prepare step"
        time.sleep(0.05)
    os.killpg(doomed.pid, signal.SIGKILL)
    doomed.wait(timeout=30)
    folders = [f for f in cache.iterdir() if f.name.startswith("tiny-")]
    assert folders and not (folders[0] / "tiny").exists()
    # A half-written binary from an earlier kill, as `go build` would leave it under its own name.
    (folders[0] / "tiny.partial.12345").write_bytes(b"\x7fELF half")

    again = subprocess.run(_caller(cache, wrapper, marker, 0), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert "building" in again.stderr  # the lock the dead build held is free, and nothing counts as built
    binary = Path(again.stdout.strip().splitlines()[-1])
    assert subprocess.run([binary], capture_output=True, text=True).stdout == "hello\n"
    assert not list(folders[0].glob("*.partial*"))


def test_a_changed_module_gets_a_new_binary_and_the_link_follows(tmp_path):
    cache = tmp_path / "cache"
    marker = tmp_path / "prepared"
    old = subprocess.run(_caller(cache, _module(tmp_path / "a", "old"), marker, 0), capture_output=True, text=True)
    wrapper = _module(tmp_path / "b", "new")
    (wrapper / "go.mod").write_text("module example.com/tiny\n\ngo 1.23\n")
    new = subprocess.run(_caller(cache, wrapper, marker, 0), capture_output=True, text=True)
    assert old.returncode == new.returncode == 0, (old.stderr, new.stderr)
    assert old.stdout != new.stdout
    assert subprocess.run([cache / "bin" / "tiny"], capture_output=True, text=True).stdout == "new\n"
