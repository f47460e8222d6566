"""The folder of engine binaries the end-to-end suite runs (tools/engine/build.sh prints it)."""

from __future__ import annotations

import os
from pathlib import Path

BINARIES = ("pulumi", "pulumi-resource-kubernetes", "kube-apiserver", "kube-controller-manager", "etcd")


class EngineMissing(Exception):
    pass


def engine_bin_folder(given: Path, scratch: Path) -> Path:
    """`given` as a folder named `bin`, after checking that it holds every binary.

    The Automation API finds the CLI at ROOT/bin/pulumi, so the folder's name matters; a folder
    named otherwise (SKILLSHIP_ENGINE_BIN=/opt/engine) is linked as `scratch/bin`."""
    missing = [name for name in BINARIES if not (given / name).is_file() or not os.access(given / name, os.X_OK)]
    if missing:
        raise EngineMissing(
            f"{given} has no executable {', '.join(missing)}: SKILLSHIP_ENGINE_BIN must name the "
            "folder tools/engine/build.sh prints on its last line"
        )
    if given.name == "bin":
        return given
    link = scratch / "bin"
    link.symlink_to(given.resolve(), target_is_directory=True)
    return link
