"""Synthetic workspaces for the benchmarks: N skills in the real format, jobs and daemons, agents
that chain them, and build contexts with realistic files (a few large ones).

    python -m bench.generate DIR N [--seed S]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from skillship.scaffold import dockerfile

DAEMON_SHARE = 0.2  # one skill in five is a daemon
SKILLS_PER_AGENT = 10
LARGE_FILE_EVERY = 200  # one action in 200 ships a model file
LARGE_FILE_BYTES = 8 * 1024 * 1024

SKILL = """camel: 1.0.0
name: {name}
title: Synthetic {kind} {index}
description: Generated for the benchmarks.
inputs:
  - name: request
    title: request
    parameters:
      - name: text
        type: string
        required: true
    routing:
      all:
        action: {name}
        runtime: cortex/{runtime}
        output: response
outputs:
  - name: response
    title: response
    parameters:
      $ref: default/TResp
properties:
  - name: batch.size
    type: Number
    defaultValue: {batch}
  - name: mode
    type: Enum
    validValues: [fast, slow]
    defaultValue: fast
  - name: api.token
    type: String
    secure: true
actions:
  - name: {name}
    type: {kind}
    image: {name}
    command: []{port}
    environmentVariables: '"LOG_LEVEL"="info","WORKERS"="{workers}"'
tags:
  - label: generated
    value: "true"
"""

DOCKERFILE = dockerfile()  # what `skillship new` writes


def _source_file(rng: random.Random, lines: int) -> str:
    body = "\n".join(
        f"def step_{i}(record):\n    return {{'value': record.get('value', 0) + {rng.randint(0, 999)}}}\n"
        for i in range(lines)
    )
    return f'"""Generated module."""\n\n{body}\n'


def write_skill(root: Path, index: int, rng: random.Random) -> str:
    kind = "daemon" if rng.random() < DAEMON_SHARE else "job"
    name = f"{kind}-{index:05d}"
    skill = root / "skills" / name
    context = skill / "actions" / name
    (context / "lib").mkdir(parents=True)
    port = "\n    port: 5000\n    scaleCount: 1" if kind == "daemon" else ""
    (skill / "skill.yaml").write_text(
        SKILL.format(
            name=name,
            kind=kind,
            index=index,
            runtime="daemons" if kind == "daemon" else "jobs",
            batch=rng.randint(1, 512),
            port=port,
            workers=rng.randint(1, 8),
        )
    )
    (context / "Dockerfile").write_text(DOCKERFILE)
    (context / ".dockerignore").write_text("__pycache__/\n**/*.pyc\ndata/\n")
    (context / "requirements.txt").write_text("requests==2.32.3\npydantic==2.9.2\n")
    (context / "main.py").write_text(_source_file(rng, rng.randint(20, 60)))
    for module in range(rng.randint(3, 8)):
        (context / "lib" / f"module_{module}.py").write_text(_source_file(rng, rng.randint(10, 80)))
    (context / "lib" / "__pycache__").mkdir()
    (context / "lib" / "__pycache__" / "module_0.cpython-312.pyc").write_bytes(rng.randbytes(2048))  # ignored
    if index % LARGE_FILE_EVERY == LARGE_FILE_EVERY - 1:
        (context / "model.bin").write_bytes(rng.randbytes(LARGE_FILE_BYTES))
    request = skill / "invoke" / "request"
    request.mkdir(parents=True)
    (request / "message.json").write_text(json.dumps({"payload": {"text": f"record {index}"}}))
    return name


def write_agent(root: Path, number: int, names: list[str]) -> None:
    skills = "\n".join(f"  - skillName: {n}\n    refId: r{i}" for i, n in enumerate(names))
    mappings = [
        f"  - from:\n      input:\n        signalId: in-{number}\n"
        "    to:\n      skill:\n        refId: r0\n        input: request"
    ]
    mappings += [
        f"  - from:\n      skill:\n        refId: r{i}\n        output: response\n    to:\n      skill:\n"
        f"        refId: r{i + 1}\n        input: request"
        for i in range(len(names) - 1)
    ]
    (root / "agents" / f"agent-{number:04d}.yaml").write_text(
        f"camel: 1.0.0\nname: agent-{number:04d}\ntitle: chain {number}\n"
        f"inputs:\n  - name: in\n    signalId: in-{number}\n"
        f"outputs: []\nskills:\n{skills}\nmappings:\n" + "\n".join(mappings) + "\n"
    )


def generate_workspace(root: Path, skills: int, *, seed: int = 7) -> Path:
    """Write a workspace of `skills` skills under `root` (which must not exist yet)."""
    rng = random.Random(seed)
    (root / "agents").mkdir(parents=True)
    names = [write_skill(root, index, rng) for index in range(skills)]
    for number, start in enumerate(range(0, skills, SKILLS_PER_AGENT)):
        write_agent(root, number, names[start : start + SKILLS_PER_AGENT])
    return root


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory", type=Path)
    parser.add_argument("skills", type=int)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    generate_workspace(arguments.directory, arguments.skills, seed=arguments.seed)
