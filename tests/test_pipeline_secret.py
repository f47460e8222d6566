"""The pipeline hands the registry password to `pulumi config set --secret` on its standard input:
never as an argument, which every local user's `ps` reads while the command runs."""

from __future__ import annotations

import json
import stat
import types

import pytest
from pulumi import automation as auto

from skillship_pipeline.engine import REGISTRY_PASSWORD_KEY, EngineError, set_secret

FAKE_PULUMI = """#!/usr/bin/env python3
import json, sys
if sys.argv[1:] == ["version"]:  # what the Automation API asks first
    print("v3.274.1")
    sys.exit(0)
json.dump({"argv": sys.argv[1:], "stdin": sys.stdin.read()}, open(sys.argv[0] + ".seen", "w"))
sys.exit(int(open(sys.argv[0] + ".code").read()))
"""


def _stack(tmp_path, code: int):
    root = tmp_path / "engine"
    (root / "bin").mkdir(parents=True)
    pulumi = root / "bin" / "pulumi"
    pulumi.write_text(FAKE_PULUMI)
    pulumi.chmod(pulumi.stat().st_mode | stat.S_IEXEC)
    (root / "bin" / "pulumi.code").write_text(str(code))
    workspace = auto.LocalWorkspace(
        work_dir=str(tmp_path), pulumi_command=auto.PulumiCommand(root=str(root), skip_version_check=True)
    )
    return types.SimpleNamespace(workspace=workspace, name="dev"), root / "bin" / "pulumi.seen"


def test_the_password_goes_on_standard_input_not_the_command_line(tmp_path):
    stack, seen = _stack(tmp_path, 0)
    set_secret(stack, REGISTRY_PASSWORD_KEY, "s3cret-value")
    said = json.loads(seen.read_text())
    assert said["stdin"] == "s3cret-value"
    assert not any("s3cret-value" in arg for arg in said["argv"])
    assert said["argv"][:5] == ["config", "set", "--secret", "--raw", REGISTRY_PASSWORD_KEY]  # --raw: exactly as given
    assert said["argv"][said["argv"].index("--stack") + 1] == "dev"


def test_a_refused_secret_stops_the_stage_without_echoing_the_value(tmp_path):
    stack, _ = _stack(tmp_path, 1)
    with pytest.raises(EngineError) as caught:
        set_secret(stack, REGISTRY_PASSWORD_KEY, "s3cret-value")
    assert REGISTRY_PASSWORD_KEY in str(caught.value) and "s3cret-value" not in str(caught.value)
