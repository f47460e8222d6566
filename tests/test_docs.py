"""The manual beside the code (docs/) says what the code does: every command and option, every
setting and every diagnostic code is documented, nothing documented is gone, and every link leads
somewhere."""

from __future__ import annotations

import ast
import re

import pytest
import typer.main

from skillship.cli import app
from skillship.stack.settings import SECRET_KEYS, StackSettings
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


# Where users read commands: the manual, the front page, and the README and CI notes `init` writes.
COMMAND_PAGES = (
    *sorted(DOCS.glob("*.md")),
    REPO / "README.md",
    *sorted((REPO / "skillship/templates/project").glob("*.md")),
)
_MENTION = re.compile(r"`((?:skillship|skillship-pipeline)(?: [^`\n]*)?)`")
_FENCED_SH = re.compile(r"^```(?:sh|bash|console)\n(.*?)^```", re.S | re.M)


def _command_mentions() -> list[tuple[str, str]]:
    """Every `skillship ...` and `skillship-pipeline ...` the pages show, in a code span or a shell
    block, with where it is (page:line)."""
    found = []
    for page in COMMAND_PAGES:
        text = page.read_text()
        for match in _MENTION.finditer(text):
            found.append((f"{page.name}:{text.count(chr(10), 0, match.start()) + 1}", match.group(1)))
        for block in _FENCED_SH.finditer(text):
            first = text.count("\n", 0, block.start(1)) + 1
            for offset, line in enumerate(block.group(1).splitlines()):
                for part in re.split(r"&&|\|\||;|\|", line.split(" #", 1)[0]):
                    words = part.split()
                    if words and words[0].rsplit("/", 1)[-1] in ("skillship", "skillship-pipeline"):
                        found.append(
                            (f"{page.name}:{first + offset}", " ".join([words[0].rsplit("/", 1)[-1], *words[1:]]))
                        )
    return found


def _problem(mention: str) -> str | None:
    """What is wrong with one mention: a command or an option the program does not have."""
    from skillship_pipeline.__main__ import app as pipeline

    words = mention.split()
    group = typer.main.get_command(app if words[0] == "skillship" else pipeline)
    rest = [w for w in words[1:] if not w.startswith("<")]
    if not rest:
        return None  # the program's name, or `skillship <version>`: nothing to check
    command = group
    if not rest[0].startswith("-"):
        if not re.fullmatch(r"[a-z][a-z-]*", rest[0]):
            return None  # a placeholder (PATH, "...") in prose
        if rest[0] not in group.commands:
            return f"no command {words[0]} {rest[0]}"
        command = group.commands[rest[0]]
    known = {"--help"} | {opt for param in command.params for opt in [*param.opts, *param.secondary_opts]}
    named = set()
    for word in rest:
        for option in re.findall(r"(?<![\w-])(--?[A-Za-z][A-Za-z-]*)", word.split("=", 1)[0]):
            named.add(option)
    unknown = sorted(named - known)
    return f"{' '.join(words[:2])} has no option {', '.join(unknown)}" if unknown else None


def test_every_command_the_pages_show_exists_with_every_option_they_give_it():
    """The other way round from the test above: a page cannot keep a command or an option the
    program no longer has (nor one it never had)."""
    mentions = _command_mentions()
    assert len(mentions) > 60  # the pages were read
    problems = [f"{where}: `{mention}`: {problem}" for where, mention in mentions if (problem := _problem(mention))]
    assert problems == []


@pytest.mark.parametrize(
    ("mention", "problem"),
    [
        ("skillship render --stak dev", "skillship render has no option --stak"),
        ("skillship deploy --stack dev", "no command skillship deploy"),
        (
            "skillship-pipeline promote -s/--stack NAME [--timeout S] [--dry-run]",
            "skillship-pipeline promote has no option --dry-run",
        ),
        ("skillship status -s/--stack NAME [--wait]", None),
        ("skillship --version", None),
        ("skillship builder --use/--no-use", None),
    ],
)
def test_a_mention_of_what_the_program_lacks_is_found(mention, problem):
    assert _problem(mention) == problem
