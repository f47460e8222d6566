"""The Pulumi program: one Workspace component for the stack's settings."""
