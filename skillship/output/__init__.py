"""What the core writes: rendered manifests, the YAML emitter, the wiring drawing."""
