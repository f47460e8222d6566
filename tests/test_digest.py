"""Build-context digests: what docker would send, and nothing else, decides the image tag."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from skillship.images import digest as digest_module
from skillship.images.digest import (
    CACHE_VERSION,
    ContextError,
    DigestCache,
    context_files,
    default_cache_file,
    digest_context,
)
from skillship.images.dockerignore import Ignore


@pytest.fixture
def context(tmp_path: Path) -> Path:
    root = tmp_path / "ctx"
    (root / "pkg").mkdir(parents=True)
    (root / "Dockerfile").write_text("FROM scratch\n")
    (root / "main.py").write_text("print(1)\n")
    (root / "pkg" / "lib.py").write_text("X = 1\n")
    return root


def later() -> int:
    """A clock past every test file's timestamp granule: the files read as settled (see _settled)."""
    return time.time_ns() + digest_module.SETTLE_NS + 10**9


@pytest.mark.parametrize(
    ("ignore", "files", "expected"),
    [
        ("*.pyc\n", ["a.pyc", "pkg/b.pyc"], ["pkg/b.pyc"]),  # docker anchors patterns at the root
        ("**/*.pyc\n", ["a.pyc", "pkg/b.pyc"], []),
        ("data/\n", ["data/x.csv", "data/sub/y.csv"], []),
        ("data\n!data/keep.csv\n", ["data/x.csv", "data/keep.csv"], ["data/keep.csv"]),
        ("# comment\n\n/secret.txt\n", ["secret.txt"], []),
        ("Dockerfile\n.dockerignore\n", [], []),  # always sent, so always counted
        ("*.pyc\r\ndata/\r\n", ["a.pyc", "data/x.csv", "b.py"], ["b.py"]),  # written on Windows
        ("\ufeffsecret.txt\n", ["secret.txt"], []),  # a byte-order mark before the first pattern
        ("  #draft.txt\n#keep.txt\n", ["#draft.txt", "#keep.txt"], ["#keep.txt"]),  # a comment from column 1 only
    ],
    ids=[
        "root-anchored",
        "double-star",
        "directory",
        "negation",
        "comments-and-slash",
        "never-the-dockerfile",
        "crlf-line-ends",
        "byte-order-mark",
        "comment-column",
    ],
)
def test_dockerignore_rules(context, ignore, files, expected):
    (context / ".dockerignore").write_text(ignore)
    for name in files:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    base = {".dockerignore", "Dockerfile", "main.py", "pkg/lib.py"}
    assert set(context_files(context)) == base | set(expected)


def test_digest_ignores_timestamps_but_not_content_or_mode(context):
    first = digest_context(context)
    os.utime(context / "main.py", (1, 1))
    assert digest_context(context) == first
    (context / "main.py").chmod(0o755)
    executable = digest_context(context)
    assert executable.sha256 != first.sha256
    (context / "main.py").write_text("print(2)\n")
    assert digest_context(context).sha256 not in (first.sha256, executable.sha256)


def test_the_dockerfiles_own_ignore_file_wins(context):
    """BuildKit and pulumi-docker-build read `Dockerfile.dockerignore` before `.dockerignore`: a file
    only `.dockerignore` excludes is sent, so editing it must change the tag."""
    (context / ".dockerignore").write_text("data/\n")
    (context / "data").mkdir()
    (context / "data" / "table.csv").write_text("1\n")
    (context / "notes.tmp").write_text("draft")
    assert "data/table.csv" not in context_files(context)
    (context / "Dockerfile.dockerignore").write_text("*.tmp\n")
    assert set(context_files(context)) == {
        ".dockerignore",
        "Dockerfile",
        "Dockerfile.dockerignore",
        "main.py",
        "pkg/lib.py",
        "data/table.csv",
    }
    before = digest_context(context)
    (context / "data" / "table.csv").write_text("2\n")
    assert digest_context(context).sha256 != before.sha256


def test_an_ignore_file_that_is_not_utf8_is_read_as_docker_reads_bytes(context):
    (context / ".dockerignore").write_bytes(b"caf\xe9.txt\nnotes.tmp\n")
    (context / "notes.tmp").write_text("draft")
    assert "notes.tmp" not in context_files(context)


def test_ignored_files_do_not_change_the_tag(context):
    (context / ".dockerignore").write_text("notes.txt\n")
    first = digest_context(context).tag
    (context / "notes.txt").write_text("scratch")
    assert digest_context(context).tag == first


def test_renaming_a_file_changes_the_tag(context):
    first = digest_context(context).tag
    (context / "main.py").rename(context / "app.py")
    assert digest_context(context).tag != first


def test_tag_is_a_valid_docker_tag(context):
    tag = digest_context(context).tag
    assert tag.startswith("ctx-") and len(tag) == 24 and tag[4:].isalnum()


def _second_run(context: Path, cache_file: Path, clock=time.time_ns, between=lambda: None) -> tuple:
    """Digest `context` into a new cache file and save it, do `between`, then digest it again from
    that file: (the first digest, the second run's digest, its (hits, misses))."""
    first = DigestCache(cache_file, clock=clock)
    digest = first.digest(context)
    first.save()
    between()
    again = DigestCache(cache_file, clock=clock)
    return digest, again.digest(context), (again.hits, again.misses)


def test_cache_reuses_an_unchanged_context(context, tmp_path):
    digest, again, counts = _second_run(context, tmp_path / "cache" / "digests.json", clock=later)
    assert again == digest
    assert counts == (1, 0)


def test_cache_sees_an_edit_even_with_the_old_size_and_mtime(context, tmp_path):
    """A same-size edit whose mtime is put back (`touch -r`, an editor keeping timestamps): the
    ctime still moves, and the remembered digest is dropped."""
    main = context / "main.py"
    old = main.stat()

    def same_size_edit_with_the_old_mtime() -> None:
        main.write_text("print(9)\n")
        os.utime(main, ns=(old.st_atime_ns, old.st_mtime_ns))

    settled = lambda: time.time_ns() + digest_module.SETTLE_NS + 10**9  # noqa: E731 - both runs remember
    before, after, counts = _second_run(
        context, tmp_path / "digests.json", clock=settled, between=same_size_edit_with_the_old_mtime
    )
    assert main.stat().st_ino == old.st_ino and main.stat().st_mtime_ns == old.st_mtime_ns
    assert after.sha256 != before.sha256 and after == digest_context(context)
    assert counts == (0, 1)


def test_cache_sees_a_file_replaced_by_another_with_the_same_timestamps(context, tmp_path, monkeypatch):
    """A file replaced by a rename (what editors and `git checkout` do) with the same size and, on a
    coarse filesystem, the same timestamps: only the inode tells, and it must."""
    now = time.time_ns()
    _coarse_filesystem(monkeypatch, mtime_ns=now, ctime_ns=now)

    def replace_by_rename() -> None:
        (context / "main.new").write_text("print(8)\n")
        (context / "main.new").replace(context / "main.py")

    before, after, counts = _second_run(
        context, tmp_path / "digests.json", clock=lambda: now + digest_module.SETTLE_NS + 1, between=replace_by_rename
    )
    assert after.sha256 != before.sha256 and after == digest_context(context)
    assert counts == (0, 1)


def _coarse_filesystem(monkeypatch, mtime_ns: int, ctime_ns: int) -> None:
    """Every file's mtime and ctime read as given: a filesystem whose timestamp granule (2 s on FAT,
    1 s on ext3 and HFS+, a clock tick on ext4) has not ended since the files were written, so an
    edit leaves them as they were."""
    real_walk = digest_module._walk

    def walk(ignore, top):
        return [
            (path, size, mtime_ns, ctime_ns, inode, mode) for path, size, _, _, inode, mode in real_walk(ignore, top)
        ]

    monkeypatch.setattr(digest_module, "_walk", walk)


def _same_size_edit(context: Path):
    return lambda: (context / "main.py").write_text("print(7)\n")  # the same (frozen) timestamps and inode


def test_an_edit_in_the_same_timestamp_granule_is_never_a_stale_hit(context, tmp_path, monkeypatch):
    """Git's "racy clean" case: an edit of the same size within one timestamp granule leaves size,
    mtime, ctime and inode as they were. A digest taken while a file's granule may still be open is
    not remembered, so the next run hashes the context again."""
    now = time.time_ns()
    _coarse_filesystem(monkeypatch, mtime_ns=now, ctime_ns=now)
    before, after, counts = _second_run(
        context, tmp_path / "digests.json", clock=lambda: now + 500_000_000, between=_same_size_edit(context)
    )
    assert after.sha256 != before.sha256 and after == digest_context(context)
    assert counts == (0, 1)


def test_an_extracted_archive_is_not_trusted_on_its_old_mtimes(context, tmp_path, monkeypatch):
    """`tar x` and `unzip` date files from the archive (years ago) while their ctime is the moment of
    extraction: the ctime alone says the granule may be open, and it must be heeded."""
    now = time.time_ns()
    years_ago = now - 5 * 365 * 86_400 * 10**9
    _coarse_filesystem(monkeypatch, mtime_ns=years_ago, ctime_ns=now)
    before, after, counts = _second_run(
        context, tmp_path / "digests.json", clock=lambda: now + 500_000_000, between=_same_size_edit(context)
    )
    assert after.sha256 != before.sha256 and after == digest_context(context)
    assert counts == (0, 1)


def test_a_settled_context_is_remembered(context, tmp_path, monkeypatch):
    """Once every file's granule has surely ended (SETTLE_NS after its last change), the digest is
    remembered and the next run only walks the context; one nanosecond earlier, it is not."""
    now = time.time_ns()
    _coarse_filesystem(monkeypatch, mtime_ns=now, ctime_ns=now)
    digest, again, counts = _second_run(
        context, tmp_path / "digests.json", clock=lambda: now + digest_module.SETTLE_NS + 1
    )
    assert again == digest
    assert counts == (1, 0)
    _, _, counts = _second_run(context, tmp_path / "early.json", clock=lambda: now + digest_module.SETTLE_NS)
    assert counts == (0, 1)


def test_a_file_dated_in_the_future_costs_a_hash_not_a_wrong_tag(context, tmp_path, monkeypatch):
    """`touch -d tomorrow`, or an archive from a machine whose clock runs ahead: its ctime has
    settled, its mtime says the file may still change. The context is hashed on every run until its
    timestamps are in the past, never trusted early."""
    now = time.time_ns()
    tomorrow = now + 86_400 * 10**9
    _coarse_filesystem(monkeypatch, mtime_ns=tomorrow, ctime_ns=now - 60 * 10**9)
    before, after, counts = _second_run(
        context, tmp_path / "digests.json", clock=lambda: now, between=_same_size_edit(context)
    )
    assert after.sha256 != before.sha256 and after == digest_context(context)
    assert counts == (0, 1)


@pytest.fixture
def deadline():
    """Fail, instead of hanging the suite, when a digest waits on something that never comes."""

    def expire(signum, frame):
        raise TimeoutError("the digest did not return within 10 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def test_named_pipes_and_sockets_count_by_type_and_are_never_opened(context, tmp_path, deadline):
    """Docker sends a named pipe or socket as what it is, never what it holds; opening a named pipe
    would wait for a writer forever, and a socket cannot be opened at all."""
    plain = digest_context(context)
    os.mkfifo(context / "events.pipe")
    with_pipe = digest_context(context)
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(str(context / "dev.sock"))
    try:
        with_socket = digest_context(context)
        assert {"events.pipe", "dev.sock"} <= set(context_files(context))
        assert len({plain.sha256, with_pipe.sha256, with_socket.sha256}) == 3
        assert DigestCache(tmp_path / "digests.json").digest(context) == with_socket
    finally:
        listener.close()
    (context / "dev.sock").unlink()
    (context / "events.pipe").unlink()
    (context / "events.pipe").write_text("")  # a regular empty file by the same name is not a pipe
    assert digest_context(context).sha256 not in (plain.sha256, with_pipe.sha256)


def test_a_file_that_cannot_be_read_is_named(context, tmp_path, monkeypatch):
    """A file removed between the walk and its read (an editor's swap file), or one the user may not
    read: the error names it, for the plan to report, instead of a traceback."""
    real_walk = digest_module._walk
    monkeypatch.setattr(digest_module, "_walk", lambda i, top: real_walk(i, top) + [("gone.swp", 5, 0, 0, 1, 0o100644)])
    for digest in (digest_context, DigestCache(tmp_path / "digests.json").digest):
        with pytest.raises(ContextError) as caught:
            digest(context)
        assert caught.value.path == str(context / "gone.swp")
        assert caught.value.reason == "No such file or directory"


def test_an_ignore_file_docker_refuses_is_named_not_guessed(context, tmp_path):
    """Docker would fail the build; the digest says why instead of inventing a tag."""
    (context / ".dockerignore").write_text("*.tmp\n[a-\n")
    for digest in (digest_context, DigestCache(tmp_path / "digests.json").digest):
        with pytest.raises(ContextError) as caught:
            digest(context)
        assert caught.value.path == str(context / ".dockerignore")
        assert caught.value.reason.startswith("docker refuses this ignore file, line 2: pattern '[a-'")

    (context / "Dockerfile.dockerignore").write_text("x*[\n")  # a glob Go reads; an expression that fails once reached
    with pytest.raises(ContextError) as caught:
        digest_context(context)
    assert caught.value.path == str(context / "Dockerfile.dockerignore")
    assert caught.value.reason.startswith(
        "docker refuses this ignore file, line 1: pattern 'x*[' is not a valid expression"
    )


def test_a_broken_cache_file_is_a_cold_cache(context, tmp_path):
    cache_file = tmp_path / "digests.json"
    cache_file.write_text("{not json")
    cache = DigestCache(cache_file)
    assert cache.digest(context) == digest_context(context)
    cache.save()
    assert json.loads(cache_file.read_text())["version"] == CACHE_VERSION


_DIGEST_IN_A_NEW_PROCESS = """
import sys, time
from pathlib import Path
from skillship.images.digest import SETTLE_NS, DigestCache
cache = DigestCache(Path(sys.argv[2]), clock=lambda: time.time_ns() + SETTLE_NS + 10**9)  # files settled
cache.digest(Path(sys.argv[1]))
cache.save()
print(cache.hits, cache.misses)
"""


def test_cache_hits_in_a_later_process(context, tmp_path):
    """The signature depends on the files alone, not on the process or its hash seed: the
    cache is for the next run."""
    cache_file = tmp_path / "digests.json"

    def run(seed: str) -> str:
        command = [sys.executable, "-c", _DIGEST_IN_A_NEW_PROCESS, str(context), str(cache_file)]
        return subprocess.run(
            command,
            check=True,
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent.parent,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout.split()

    assert run("1") == ["0", "1"]
    assert run("2") == ["1", "0"]


def test_cache_location_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SKILLSHIP_CACHE_DIR", "off")
    assert default_cache_file(tmp_path) is None
    monkeypatch.setenv("SKILLSHIP_CACHE_DIR", str(tmp_path / "c"))
    assert default_cache_file(tmp_path).parent == tmp_path / "c"


def test_a_damaged_cache_entry_is_a_miss_not_a_crash(context, tmp_path):
    cache_file = tmp_path / "digests.json"

    def damage() -> None:
        data = json.loads(cache_file.read_text())
        [entry] = data["contexts"].values()
        del entry["sha256"]
        cache_file.write_text(json.dumps(data))

    digest, again, counts = _second_run(context, cache_file, clock=later, between=damage)
    assert again == digest
    assert counts == (0, 1)


def test_remembered_answers_belong_to_their_own_dockerignore(tmp_path):
    """Matches are remembered per .dockerignore text: a path ignored in one context is still sent
    from a context whose .dockerignore says otherwise, in whichever order they are read."""
    contexts = {}
    for name, ignore in (("strict", "data/\n"), ("loose", "*.tmp\n"), ("strict-again", "data/\n")):
        root = tmp_path / name
        (root / "data").mkdir(parents=True)
        (root / "Dockerfile").write_text("FROM scratch\n")
        (root / ".dockerignore").write_text(ignore)
        (root / "data" / "x.csv").write_text("1\n")
        contexts[name] = root
    sent = {name: context_files(root) for name, root in contexts.items()}
    assert "data/x.csv" not in sent["strict"] and "data/x.csv" not in sent["strict-again"]
    assert "data/x.csv" in sent["loose"]


def test_remembered_answers_are_bounded(monkeypatch):
    monkeypatch.setattr(Ignore, "_MAX_ANSWERS", 10)
    ignore = Ignore("*.tmp\n")
    answers = [ignore.excludes(f"f{index}.tmp") for index in range(100)]
    assert all(answers)
    assert not ignore.excludes("f1.py")
    assert len(ignore._answers) == 10


@pytest.mark.parametrize("late", ["mtime", "ctime"])
def test_a_file_changed_exactly_at_the_horizon_is_not_yet_settled(context, tmp_path, monkeypatch, late):
    """Either timestamp alone, at the very last nanosecond of the settling time, keeps the digest
    from being remembered (bench/MUTATION.md: each half of the check was unheld on its own)."""
    now = time.time_ns()
    horizon = now + digest_module.SETTLE_NS
    old = now - 10 * digest_module.SETTLE_NS
    times = (
        {"mtime_ns": horizon - digest_module.SETTLE_NS, "ctime_ns": old}
        if late == "mtime"
        else {"mtime_ns": old, "ctime_ns": horizon - digest_module.SETTLE_NS}
    )
    _coarse_filesystem(monkeypatch, **times)
    _, _, counts = _second_run(context, tmp_path / "digests.json", clock=lambda: horizon)
    assert counts == (0, 1)
    _, _, counts = _second_run(context, tmp_path / "later.json", clock=lambda: horizon + 1)
    assert counts == (1, 0)


def test_a_cache_of_another_version_is_a_cold_cache(context, tmp_path):
    cache_file = tmp_path / "digests.json"
    first = DigestCache(cache_file, clock=later)
    first.digest(context)
    first.save()
    data = json.loads(cache_file.read_text())
    cache_file.write_text(json.dumps({**data, "version": data["version"] + 1}))
    again = DigestCache(cache_file, clock=later)
    again.digest(context)
    assert (again.hits, again.misses) == (0, 1)


def test_hits_and_misses_are_counted_and_an_unchanged_run_writes_nothing(context, tmp_path):
    cache_file = tmp_path / "nested" / "cache" / "digests.json"  # folders made as needed
    first = DigestCache(cache_file, clock=later)
    first.digest(context)
    first.digest(context)
    assert (first.hits, first.misses) == (1, 1)
    other = tmp_path / "other"
    shutil.copytree(context, other)
    cold = DigestCache(None, clock=later)
    cold.digest(context)
    cold.digest(other)
    assert (cold.hits, cold.misses) == (0, 2)  # each context its own miss
    first.save()
    written = cache_file.stat().st_mtime_ns
    again = DigestCache(cache_file, clock=later)
    for _ in range(3):
        again.digest(context)
    assert (again.hits, again.misses) == (3, 0)
    cache_file.write_text(cache_file.read_text())  # a marker: a rewrite would change its inode
    inode = cache_file.stat().st_ino
    again.save()
    assert cache_file.stat().st_ino == inode and written  # nothing new: the file is left as it was


def test_the_cache_lives_under_xdg_cache_home_or_the_home_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("SKILLSHIP_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_file(tmp_path).parent == tmp_path / "xdg" / "skillship"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_file(tmp_path).parent == tmp_path / "home" / ".cache" / "skillship"


def test_a_context_error_says_which_file_and_why():
    assert str(digest_module.ContextError("/ctx/main.py", "Permission denied")) == "/ctx/main.py: Permission denied"
