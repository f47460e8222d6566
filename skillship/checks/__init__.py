"""Checking a workspace read from its files: naming rules, skills, wiring, agents."""
