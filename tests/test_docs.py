"""The manual beside the code (docs/) says what the code does: every command and option, every
setting and every diagnostic code is documented, nothing documented is gone, and every link leads
somewhere."""

from __future__ import annotations

import ast
import re

import pytest
import typer.main

from skillship.cli import app
from skillship.settings import SECRET_KEYS, StackSettings
from tests.conftest import REPO

DOCS = REPO / "docs"
# The calls that report a diagnostic, and where their code is: Diagnostics.error/.warning(file,
# line, field, code, message); StackProblems' (code, message, ...); Diagnostic(file, line, field,
# severity, code, message).
_CODE_ARGUMENT = {"error": 3, "warning": 3, "setting": 0, "setting_warning": 0, "file": 0, "file_warning": 0}


def _commands(typer_app=app):
    group = typer.main.get_command(typer_app)
    return sorted(group.commands.items())


def _table_keys(text: str) -> set[str]:
    """The backquoted names in the first column of every table row."""
    keys: set[str] = set()
    for line in text.splitlines():
        if line.startswith("| `"):
            keys.update(re.findall(r"`([^`]+)`", line.split("|")[1]))
    return keys


@pytest.mark.parametrize(("program", "page_name"), [("skillship", "cli.md"), ("skillship-pipeline", "pipelines.md")])
def test_every_command_and_option_is_in_its_page(program, page_name):
    from skillship_pipeline.__main__ import app as pipeline

    page = (DOCS / page_name).read_text()
    missing = []
    for name, command in _commands(app if program == "skillship" else pipeline):
        if getattr(command, "hidden", False):
            continue  # internal: the pipeline's own children (one shard stack each), nobody types it
        if f"`{program} {name}" not in page:
            missing.append(f"command {name}")
        for param in command.params:
            if getattr(param, "hidden", False):
                continue  # a deprecated spelling, which warns when used
            for opt in [*param.opts, *param.secondary_opts]:
                if opt.startswith("-") and not re.search(rf"`[^`]*{program} {name}\b[^`]*{re.escape(opt)}\b", page):
                    missing.append(f"{name} {opt}")
    assert missing == []


def test_every_setting_is_in_the_settings_page_and_every_key_there_is_a_setting():
    # `stack` and `shard` are no keys: both come from the Pulumi stack's name
    fields = StackSettings.model_fields.items()
    aliases = {field.alias or name for name, field in fields if name not in ("stack", "shard")}
    documented = _table_keys((DOCS / "settings.md").read_text())
    assert aliases | SECRET_KEYS == documented


def _emitted_codes() -> tuple[set[str], set[str]]:
    """(codes, prefixes of codes made by f-strings) passed to the calls that report a diagnostic."""
    codes: set[str] = set()
    prefixes: set[str] = set()
    for path in sorted((REPO / "skillship").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            index = None
            if isinstance(func, ast.Attribute) and func.attr in _CODE_ARGUMENT:
                index = _CODE_ARGUMENT[func.attr]
            elif isinstance(func, ast.Name) and func.id == "Diagnostic":
                index = 4
            elif isinstance(func, ast.Name) and func.id in ("ReadRefused", "FileMissing"):
                index = 0  # the reading door's refusals become diagnostics with their code
            if index is None or len(node.args) <= index:
                continue
            argument = node.args[index]
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                codes.add(argument.value)
            elif isinstance(argument, ast.JoinedStr) and isinstance(argument.values[0], ast.Constant):
                prefixes.add(str(argument.values[0].value))
    return codes, prefixes


def test_every_diagnostic_code_is_in_the_validation_page_and_every_code_there_is_reported():
    codes, prefixes = _emitted_codes()
    assert {"yaml-syntax", "stack-unknown-skill", "namespace-shared", "proxy-stop"} <= codes  # the scan works
    documented = _table_keys((DOCS / "validation.md").read_text())
    documented = {code for code in documented if re.fullmatch(r"[a-z]+(-[a-z]+)*", code)}
    assert codes - documented == set(), "document these codes in docs/validation.md"
    made_by_prefix = {code for code in documented - codes if any(code.startswith(p) for p in prefixes)}
    assert documented - codes - made_by_prefix == set(), "docs/validation.md names codes nothing reports"


@pytest.mark.parametrize("page", ["README.md", *sorted(p.name for p in DOCS.glob("*.md"))])
def test_every_link_of_the_manual_leads_to_a_file(page):
    path = REPO / page if page == "README.md" else DOCS / page
    broken = []
    for target in re.findall(r"\]\(([^)]+)\)", path.read_text()):
        if target.startswith(("http://", "https://", "#")):
            continue
        if not (path.parent / target.split("#", 1)[0]).exists():
            broken.append(target)
    assert broken == []


def test_the_readme_stays_a_front_page():
    """What Skillship is, the two commands, one skill, links: the reference lives in docs/."""
    readme = (REPO / "README.md").read_text()
    assert len(readme.splitlines()) < 100
    assert all(f"(docs/{p.name})" in readme for p in DOCS.glob("*.md"))
