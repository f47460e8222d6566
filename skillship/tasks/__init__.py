"""Tasks in a cluster: their state, ad-hoc runs, and waiting for workloads to start."""
