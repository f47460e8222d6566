"""Kubernetes names for skills and actions.

Skill names come in many spellings (`cortex/simplejob-skill`, `My_Skill`); Kubernetes wants
DNS-1123 labels. The mapping is readable and stable: lower case, runs of other characters become
one `-`, and a short hash of the original replaces the tail only when the result is too long.
Two originals may still map to one name (`a_b`, `a-b`): validation reports that, since a silent
overwrite of one skill by another is the worst outcome.
"""

from __future__ import annotations

import functools
import hashlib
import re

MAX_NAME = 63
_HASH_LEN = 6
_INVALID = re.compile(r"[^a-z0-9]+")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")


def short_hash(text: str, length: int = _HASH_LEN) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


@functools.lru_cache(maxsize=8192)  # a thousand skills' objects ask for the same few thousand names
def k8s_name(*parts: str, max_length: int = MAX_NAME) -> str:
    """A DNS-1123 label (lower case, digits, '-'; at most `max_length`) for the joined parts."""
    original = "-".join(parts)
    name = _INVALID.sub("-", original.lower()).strip("-") or "x"
    if len(name) <= max_length:
        return name
    suffix = short_hash(original)
    return f"{name[: max_length - len(suffix) - 1].rstrip('-')}-{suffix}"


def skill_name(skill: str) -> str:
    return k8s_name(skill)


def action_name(skill: str, action: str) -> str:
    """The name of one action's objects; `hello/hello` reads as `hello`, not `hello-hello`."""
    base = k8s_name(skill)
    part = k8s_name(action)
    return base if part == base else k8s_name(base, part)


def is_label_value(value: str) -> bool:
    return len(value) <= MAX_NAME and bool(_LABEL_VALUE.fullmatch(value))


TASK_CONTAINER = "task"  # the container of a task's pod that runs the skill's code


def path_like(name: str) -> bool:
    """An action name is a folder name under actions/: never a path that leads elsewhere."""
    return name in ("", ".", "..") or any(c in name for c in "/\\") or any(ord(c) < 32 for c in name)


# A CronJob's runs are Jobs named <cronjob>-<minutes since 1970> (11 characters more), so the API
# server refuses a CronJob name over 52 characters.
MAX_CRON_JOB_NAME = 52


def cron_job_name(action: str) -> str:
    """The CronJob of a scheduled action: its objects' name, shortened to fit if it must be."""
    return k8s_name(action, max_length=MAX_CRON_JOB_NAME)
