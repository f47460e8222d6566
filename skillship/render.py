"""Writing objects to disk: one YAML file per object, in a stable order and with stable names."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillship.yamlemit import to_yaml

MARKER = ".skillship-render"


class RenderError(Exception):
    """Nothing was written."""


class UnsafeTarget(RenderError):
    """The folder asked for is one `render` must never replace (a file, the current folder, the
    project, or a folder that holds them)."""


def check_target(out_dir: Path, keep: list[Path]) -> None:
    """Refuse an output folder whose replacement would delete a file that is not a render:
    an existing non-folder, any folder in `keep` (the current folder, the project, the workspace)
    or one that holds them. Raises UnsafeTarget; nothing is written."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UnsafeTarget(f"{out_dir} is a file, not a folder; choose a folder for --out")
    target = Path(os.path.realpath(out_dir))
    for place in keep:
        real = Path(os.path.realpath(place))
        if target == real or target in real.parents:
            raise UnsafeTarget(
                f"{out_dir} holds {place}; render replaces the whole folder, so choose a folder "
                "of its own for --out (e.g. rendered/manifests)"
            )


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    kind: str
    name: str
    namespace: str | None


def file_name(index: int, obj: dict[str, Any]) -> str:
    """`003-job-hello-1a2b3c4d.yaml`: the index keeps `kubectl apply -f DIR` in dependency order."""
    return f"{index:03d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def _write_new(path: Path, text: str, mode: int) -> None:
    """One new file, with the fewest calls: Python's text-file layers doubled the cost of render
    for thousands of small files."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.write(descriptor, text.encode("utf-8"))
    finally:
        os.close(descriptor)


def write_objects(objects: list[dict[str, Any]], out_dir: Path, *, private: bool = False) -> list[RenderedFile]:
    """Replace `out_dir` with the objects' files. Refuses a non-empty folder that it did not write.
    `private` (decrypted secrets inside): the folder and its files are readable by the owner only.

    The files are written to a new hidden folder beside `out_dir`, of a name no one else holds
    (mkdtemp), which then takes `out_dir`'s place: a failed render leaves the old one as it was,
    and nothing `render` did not make is ever deleted."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise RenderError(f"{out_dir} holds files that skillship did not write; choose another --out")
    out_dir = Path(os.path.abspath(out_dir))  # `.` or `sub/..` have no name to put a sibling beside
    file_mode = 0o600 if private else 0o644
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".rendering", dir=out_dir.parent))
    except OSError as exc:
        raise RenderError(f"could not write {out_dir}: {exc.strerror or exc}") from None
    retired: Path | None = None
    try:
        written = []
        for index, obj in enumerate(objects):
            name = file_name(index, obj)
            _write_new(staging / name, to_yaml(obj), file_mode)
            meta = obj["metadata"]
            written.append(RenderedFile(out_dir / name, obj["kind"], meta["name"], meta.get("namespace")))
        _write_new(
            staging / MARKER, "written by `skillship render`; the whole folder is replaced on each run\n", file_mode
        )
        if not private:  # mkdtemp made it owner-only; a plain render is as readable as any folder
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)
        if out_dir.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".old", dir=out_dir.parent))
            out_dir.rename(retired / "old")
        staging.rename(out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if retired is not None and (retired / "old").exists() and not out_dir.exists():
            (retired / "old").rename(out_dir)
        raise RenderError(f"could not write {out_dir}: {exc.strerror or exc}") from None
    finally:
        if retired is not None:
            shutil.rmtree(retired, ignore_errors=True)
    return written
