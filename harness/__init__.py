"""What the tests and the benchmarks both run Skillship in: a control plane on loopback
(cluster.py), the real node's sandbox (realnode/), the built engine (engine.py) and its driver
(stacks.py, driver.py), the program under the SDK's mocks (run_program.py), project copies
(project.py), the example consumer as a process (records.py), and the certificates, schemas and
HTTP handler they share. Neither tests/ nor bench/ is imported from here."""

from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
