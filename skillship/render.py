"""Writing objects to disk: one YAML file per object, in a stable order and with stable names."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

MARKER = ".skillship-render"


class RenderError(Exception):
    """Nothing was written."""


@dataclass(frozen=True)
class RenderedFile:
    path: Path
    kind: str
    name: str
    namespace: str | None


def file_name(index: int, obj: dict) -> str:
    """`003-job-hello-1a2b3c4d.yaml`: the index keeps `kubectl apply -f DIR` in dependency order."""
    return f"{index:03d}-{obj['kind'].lower()}-{obj['metadata']['name']}.yaml"


def to_yaml(obj: dict) -> str:
    return yaml.safe_dump(obj, sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)


def write_objects(objects: list[dict], out_dir: Path) -> list[RenderedFile]:
    """Replace `out_dir` with the objects' files. Refuses a non-empty folder that it did not write."""
    if out_dir.exists() and any(out_dir.iterdir()) and not (out_dir / MARKER).exists():
        raise RenderError(f"{out_dir} holds files that skillship did not write; choose another --out")
    staging = out_dir.with_name(f".{out_dir.name}.rendering")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        written = []
        for index, obj in enumerate(objects):
            name = file_name(index, obj)
            (staging / name).write_text(to_yaml(obj), encoding="utf-8")
            meta = obj["metadata"]
            written.append(RenderedFile(out_dir / name, obj["kind"], meta["name"], meta.get("namespace")))
        (staging / MARKER).write_text("written by `skillship render`; the whole folder is replaced on each run\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise RenderError(f"could not write {out_dir}: {exc.strerror or exc}") from None
    return written
