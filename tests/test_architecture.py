"""The layering contract in .importlinter must cover every core module, including new ones."""

from __future__ import annotations

import configparser
import importlib
import pkgutil

import pytest

import skillship
from tests.conftest import REPO


def test_every_core_module_is_under_the_purity_contract():
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    listed = set(config["importlinter:contract:core-is-pure"]["source_modules"].split())
    core = {
        f"skillship.{info.name}"
        for info in pkgutil.iter_modules(skillship.__path__)
        if info.name not in {"cli", "templates", "__main__"}
    }
    assert core == listed, "add new core modules to .importlinter (or move them under skillship.cli)"


def test_every_core_module_has_its_place_in_the_layers():
    """A module missing from the layers contract could import anything: the contract would not see it."""
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    layers = config["importlinter:contract:core-layers"]["layers"].split("\n")
    placed = [name.strip() for layer in layers for name in layer.split("|") if name.strip()]
    core = {f"skillship.{info.name}" for info in pkgutil.iter_modules(skillship.__path__)}
    assert sorted(placed) == sorted(core - {"skillship.__main__", "skillship.templates"})


def test_the_runtime_contract_is_spelled_only_in_its_module():
    """Names the core writes into pods and the runtime reads there (skillship_runtime.contract):
    spelled anywhere else, a rename on one side would silently break the other."""
    import ast

    from skillship_runtime import contract

    distinctive = {
        value
        for name, value in vars(contract).items()
        if name.isupper()
        and isinstance(value, str)
        and len(value) > 6
        and value not in (contract.MESSAGE_FILE, contract.MESSAGE_VOLUME, contract.ENVELOPE_FORMAT)
    }  # words used for other things too
    assert {"SKILLSHIP_TARGETS", "/records/", "/var/run/skillship/message"} <= distinctive
    found = []
    for folder in ("skillship", "skillship_runtime", "skillship_components"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "contract.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Constant) and node.value in distinctive:
                    found.append(f"{path.relative_to(REPO)}:{node.lineno} {node.value!r}")
    assert found == [], "import these from skillship_runtime.contract:\n" + "\n".join(found)


@pytest.mark.parametrize("package", ["skillship", "skillship.plan"])
def test_a_packages_lazy_names_are_the_ones_it_lists_and_each_resolves(package):
    """skillship and skillship.plan load their names on first use: the list, the map and the
    modules must agree."""
    import importlib

    lazy = importlib.import_module(package)
    assert sorted(lazy.__all__) == sorted(lazy._HOMES)
    for name in lazy.__all__:
        assert getattr(lazy, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nothing_by_this_name'"):
        lazy.nothing_by_this_name  # noqa: B018


@pytest.mark.parametrize("package", ["skillship", "skillship.plan", "skillship.manifests"])
def test_every_name_a_package_exports_loads_and_an_unknown_one_is_an_attribute_error(package):
    """The packages load their names on first use (skillship.lazy): each must still be there."""
    module = importlib.import_module(package)
    for name in module.__all__:
        assert getattr(module, name).__name__ == name
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'nothing'"):
        module.nothing  # noqa: B018


def test_no_module_of_the_harness_shares_a_name_with_the_standard_librarys():
    """harness/driver.py runs as a script in an installed project's virtualenv, with harness/ first
    on sys.path: a harness/http.py hid the standard library's http from the Pulumi SDK."""
    import sys

    names = {path.stem for path in (REPO / "harness").iterdir() if path.suffix == ".py" or path.is_dir()}
    assert names & set(sys.stdlib_module_names) == set()
