"""The benchmarks' synthetic workspaces are valid workspaces of the real format."""

from __future__ import annotations

from bench.generate import LARGE_FILE_EVERY, generate_workspace
from skillship import load_workspace
from skillship.images.digest import context_files


def test_generated_workspace_validates_with_jobs_daemons_and_agents(tmp_path):
    root = generate_workspace(tmp_path / "ws", LARGE_FILE_EVERY)
    workspace, diagnostics = load_workspace(root)
    assert diagnostics.items == []
    kinds = {a.type for s in workspace.skills for a in s.skill.actions}
    assert kinds == {"job", "daemon"} and len(workspace.skills) == LARGE_FILE_EVERY
    assert len(workspace.agents) == LARGE_FILE_EVERY // 10
    sent = [f for s in workspace.skills for f in context_files(s.build_context(s.skill.actions[0].name))]
    assert any(f == "model.bin" for f in sent)  # the large file is part of a context
    assert not any("__pycache__" in f for f in sent)  # and .dockerignore is honoured


def test_generation_is_deterministic(tmp_path):
    first = generate_workspace(tmp_path / "a", 5)
    second = generate_workspace(tmp_path / "b", 5)
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    assert all((first / f).read_bytes() == (second / f).read_bytes() for f in files)
