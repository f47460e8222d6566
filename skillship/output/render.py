"""Writing objects to disk: one YAML file per object, in a stable order and with stable names."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from skillship.output.yamlemit import to_yaml
from skillship.source.door import Boundary

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


def output_problem(target: Path, project_dir: Path, workspace: Path, *, chosen: bool = False) -> str | None:
    """Why `render` (or `pulumi up` of a render stack) must not write `target`, or None: it lies
    among the workspace's skills, where it would be part of build contexts and change their images'
    tags on every render; or, for the stack's own renderDir (not a folder `chosen` on the command
    line), its real path leaves the project through a link."""
    real = os.path.realpath(target)
    if Boundary(workspace / "skills").holds(real):
        return (
            f"{target} lies among the workspace's skills, inside their build contexts: every render "
            "would change their images' tags; render elsewhere"
        )
    if not chosen and not Boundary(project_dir).holds(real):
        return f"{target} leads outside the project (to {real}); a stack renders only inside its project"
    return None


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
    (mkdtemp), which then takes `out_dir`'s place in one step where the kernel can exchange two
    names (renameat2), else in two renames. A render that fails or is interrupted (Ctrl-C) removes
    its staging folder and leaves the old render as it was; one killed between the two renames
    leaves the old render beside it, and the next render puts it back first."""
    out_dir = Path(os.path.abspath(out_dir))  # `.` or `sub/..` have no name to put a sibling beside
    _recover(out_dir)
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise RenderError(f"{out_dir} holds files that skillship did not write; choose another --out")
    file_mode = 0o600 if private else 0o644
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".rendering", dir=out_dir.parent))
    except OSError as exc:
        raise RenderError(f"could not write {out_dir}: {exc.strerror or exc}") from None
    try:
        written = _write_all(objects, staging, out_dir, file_mode)
        if not private:  # mkdtemp made it owner-only; a plain render is as readable as any folder
            umask = os.umask(0)
            os.umask(umask)
            staging.chmod(0o777 & ~umask)
        _swap_in(staging, out_dir)
    except OSError as exc:
        raise RenderError(f"could not write {out_dir}: {exc.strerror or exc}") from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # the new render's leftovers, or the old render
    return written


def _write_all(objects: list[dict[str, Any]], staging: Path, out_dir: Path, file_mode: int) -> list[RenderedFile]:
    written = []
    for index, obj in enumerate(objects):
        name = file_name(index, obj)
        _write_new(staging / name, to_yaml(obj), file_mode)
        meta = obj["metadata"]
        written.append(RenderedFile(out_dir / name, obj["kind"], meta["name"], meta.get("namespace")))
    _write_new(staging / MARKER, "written by `skillship render`; the whole folder is replaced on each run\n", file_mode)
    return written


def _swap_in(staging: Path, out_dir: Path) -> None:
    """`staging` takes `out_dir`'s name; the old render, if any, ends at `staging`'s."""
    if not out_dir.exists():
        staging.rename(out_dir)
        return
    if _exchange(staging, out_dir):
        return
    # No exchange here: two renames, the old render parked where the next render looks for it.
    parked = _parking(out_dir)
    if os.path.lexists(parked):  # not ours (_recover took any of ours): never replaced
        raise RenderError(f"{parked} is in the way: render parks the previous render there; move it")
    out_dir.rename(parked)
    try:
        staging.rename(out_dir)
    except BaseException:
        parked.rename(out_dir)
        raise
    parked.rename(staging)  # removed with the staging folder


def _parking(out_dir: Path) -> Path:
    return out_dir.parent / f".{out_dir.name}.previous"


def _recover(out_dir: Path) -> None:
    """A render killed between its two renames left the old render parked: put it back."""
    parked = _parking(out_dir)
    if parked.is_dir() and not parked.is_symlink() and (parked / MARKER).is_file():
        if out_dir.exists():
            shutil.rmtree(parked, ignore_errors=True)  # the new render made it: the old one is stale
        else:
            parked.rename(out_dir)


_RENAME_EXCHANGE = 2  # linux/fs.h
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> bool:
    """Swap two names in one step (Linux's renameat2 with RENAME_EXCHANGE); False where the
    kernel, the C library or the file system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    done = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    if done == 0:
        return True
    error = ctypes.get_errno()
    if error in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(error, os.strerror(error), str(second))
