"""Strict schema validation: Kubernetes kinds with kubernetes-validate, Istio kinds with the CRD
schemas that Istio publishes in its `istio.io/api` Go module (fetched by the Go toolchain)."""

from __future__ import annotations

import copy
import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml

KUBERNETES_VERSIONS = [f"1.{minor}" for minor in range(29, int(kubernetes_validate.latest_version().split(".")[1]) + 1)]
ISTIO_API_VERSIONS = ["v1.24.2", "v1.31.4"]  # the oldest Istio with every mode we support, and a current one


@functools.cache
def istio_crd_file(version: str) -> Path:
    """The module is in Go's module cache after the first download (CI warms it in .ci/run)."""
    done = subprocess.run(
        ["go", "mod", "download", "-json", f"istio.io/api@{version}"],
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=mod"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"cannot fetch istio.io/api@{version} with the Go toolchain: {done.stdout}{done.stderr}")
    return Path(json.loads(done.stdout)["Dir"]) / "kubernetes" / "customresourcedefinitions.gen.yaml"


def _strict(schema: Any) -> Any:
    """Reject unknown fields, as the API server's structural-schema pruning would drop them."""
    if isinstance(schema, dict):
        schema = {k: _strict(v) for k, v in schema.items()}
        if (
            "properties" in schema
            and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")
        ):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


@functools.cache
def istio_schemas(version: str) -> dict[tuple[str, str], dict]:
    schemas = {}
    for crd in yaml.safe_load_all(istio_crd_file(version).read_text()):
        if not crd or crd.get("kind") != "CustomResourceDefinition":
            continue
        spec = crd["spec"]
        for served in spec["versions"]:
            root = copy.deepcopy(served["schema"]["openAPIV3Schema"])
            root.setdefault("properties", {}).update(
                apiVersion={"type": "string"}, kind={"type": "string"}, metadata={"type": "object"}
            )
            schemas[(f"{spec['group']}/{served['name']}", spec["names"]["kind"])] = _strict(root)
    return schemas


def schema_errors(obj: dict) -> list[str]:
    """Every schema violation of `obj` in every supported version (empty when valid)."""
    key = (obj["apiVersion"], obj["kind"])
    errors = []
    if key[0].endswith(".istio.io/v1"):
        for version in ISTIO_API_VERSIONS:
            schema = istio_schemas(version).get(key)
            if schema is None:
                errors.append(f"Istio {version} has no CRD for {key}")
                continue
            for error in jsonschema.Draft7Validator(schema).iter_errors(obj):
                errors.append(f"Istio {version}: {'/'.join(map(str, error.absolute_path))}: {error.message}")
        return errors
    for version in KUBERNETES_VERSIONS:
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"Kubernetes {version}: {'/'.join(map(str, exc.path))}: {exc.message}")
    return errors
