"""SKILLSHIP_ENGINE_BIN may name any folder of engine binaries; a wrong one is named, not a crash later."""

from __future__ import annotations

import pytest

from harness.engine import BINARIES, EngineMissing, engine_bin_folder


def _folder(path, names=BINARIES, mode=0o755):
    path.mkdir()
    for name in names:
        (path / name).write_text("#!/bin/sh\n")
        (path / name).chmod(mode)
    return path


def test_a_folder_named_bin_is_used_as_it_is(tmp_path):
    given = _folder(tmp_path / "bin")
    assert engine_bin_folder(given, tmp_path / "scratch") == given


def test_a_folder_named_otherwise_is_linked_as_bin_so_the_cli_is_found_at_root_bin_pulumi(tmp_path):
    given = _folder(tmp_path / "engine-binaries")
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    folder = engine_bin_folder(given, scratch)
    assert folder.name == "bin"
    assert (folder.parent / "bin" / "pulumi").resolve() == (given / "pulumi").resolve()


def test_missing_binaries_are_named(tmp_path):
    given = _folder(tmp_path / "bin", names=("pulumi", "etcd"))
    with pytest.raises(EngineMissing) as caught:
        engine_bin_folder(given, tmp_path)
    message = str(caught.value)
    assert "pulumi-resource-kubernetes, kube-apiserver, kube-controller-manager" in message
    assert "tools/engine/build.sh" in message


def test_a_binary_that_is_not_executable_counts_as_missing(tmp_path):
    given = _folder(tmp_path / "bin", mode=0o644)
    with pytest.raises(EngineMissing, match="no executable pulumi,"):
        engine_bin_folder(given, tmp_path)
