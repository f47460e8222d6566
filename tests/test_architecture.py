"""The layering contract in .importlinter must cover every core module, including new ones."""

from __future__ import annotations

import configparser
import pkgutil

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
