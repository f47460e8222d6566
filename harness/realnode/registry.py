"""An image registry on 127.0.0.1, inside the sandbox, over TLS with a throwaway CA and basic auth.

distribution's `registry` (tools/node/build.sh). The CA signs only the suite's registries'
certificates and lives as long as the suite. The password is random per run: tests that check it
never leaks look for it in everything they captured.

A second, public registry (`Registry(..., public_of=private)`) serves anyone without credentials,
as Docker Hub serves base images to anyone: the Dockerfiles' `FROM` resolves there, so a build
needs no login, and a wrong password is refused where a user meets it, at the push.
"""

from __future__ import annotations

import base64
import json
import secrets
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import bcrypt
import yaml

from harness.cluster import free_port, spawn_tied
from harness.pki import certificate, new_key, pem_certificate, pem_key
from harness.realnode.sandbox import Sandbox


class Registry:
    USERNAME = "skillship-e2e"

    def __init__(self, directory: Path, bin_dir: Path, sandbox: Sandbox, *, public_of: Registry | None = None) -> None:
        """`public_of`: serve without authentication, with a certificate from that registry's CA,
        which the sandbox already trusts."""
        self.public_of = public_of
        self.directory = directory
        self.bin_dir = bin_dir
        self.sandbox = sandbox
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.password = secrets.token_urlsafe(18)
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> Registry:
        self.directory.mkdir(parents=True, exist_ok=True)
        key = new_key()
        if self.public_of is None:
            self.ca_key = new_key()
            self.ca = certificate("skillship-e2e-registry-ca", self.ca_key, ca=True)
        else:
            self.ca_key, self.ca = self.public_of.ca_key, self.public_of.ca
        served = certificate("skillship-e2e-registry", key, self.ca_key, self.ca.subject, ca=False, ips=("127.0.0.1",))
        self.ca_file = self._write("ca.crt", pem_certificate(self.ca))
        cert_file, key_file = (
            self._write("registry.crt", pem_certificate(served)),
            self._write("registry.key", pem_key(key)),
        )
        config = {
            "version": 0.1,
            "log": {"level": "warn", "accesslog": {"disabled": True}},
            "storage": {"filesystem": {"rootdirectory": str(self.directory / "data")}, "delete": {"enabled": True}},
            "http": {
                "addr": self.host,
                "tls": {"certificate": str(cert_file), "key": str(key_file)},
                "debug": {"addr": ""},
            },
        }
        if self.public_of is None:
            htpasswd = self._write(
                "htpasswd",
                f"{self.USERNAME}:".encode() + bcrypt.hashpw(self.password.encode(), bcrypt.gensalt(rounds=6)) + b"\n",
            )
            config["auth"] = {"htpasswd": {"realm": "skillship-e2e", "path": str(htpasswd)}}
            self._trust_inside_sandbox()
        else:
            self.trust_bundle = self.public_of.trust_bundle  # one CA: the sandbox trusts it already
        self.config_file = self._write("config.yml", yaml.safe_dump(config).encode())
        self._serve()
        self.sandbox.forward(self.port)
        self._wait_ready(timeout)
        return self

    def _serve(self) -> None:
        log = open(self.directory / "registry.log", "ab")
        self.process = spawn_tied(
            self.sandbox.command([str(self.bin_dir / "registry"), "serve", str(self.config_file)]), log
        )

    @contextmanager
    def down(self) -> Iterator[None]:
        """The registry stopped for the block (its port refuses connections), then served again
        from the same storage."""
        self.stop()
        try:
            yield
        finally:
            self._serve()
            self._wait_ready(30)

    def _trust_inside_sandbox(self) -> None:
        """Add the CA to the sandbox's system trust store, as a node of a real cluster has its
        registry's CA installed: containerd, BuildKit and every Go program there read this file.
        A bind mount in the sandbox's private mount namespace: the host's file is untouched."""
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        self.trust_bundle = self._write("ca-bundle.crt", system.read_bytes() + b"\n" + self.ca_file.read_bytes())
        self.trust_bundle.chmod(0o644)
        self.sandbox.run(["mount", "--bind", str(self.trust_bundle), str(system)], check=True)

    def docker_config(self) -> str:
        """A Docker config (`config.json`, or a dockerconfigjson Secret's content) with this
        registry's login: what a client or a pod needs to pull and push here."""
        auth = base64.b64encode(f"{self.USERNAME}:{self.password}".encode()).decode()
        return json.dumps({"auths": {self.host: {"auth": auth}}})

    def _write(self, name: str, data: bytes) -> Path:
        path = self.directory / name
        path.write_bytes(data)
        path.chmod(0o600)
        return path

    def _wait_ready(self, timeout: float) -> None:
        context = ssl.create_default_context(cafile=str(self.ca_file))
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the registry exited: {(self.directory / 'registry.log').read_text()[-2000:]}")
            try:
                urllib.request.urlopen(f"https://{self.host}/v2/", context=context, timeout=2)
                return  # up, and open to anyone (the public registry)
            except urllib.error.HTTPError as exc:
                if exc.code == 401:  # up, and asking for credentials
                    return
                last = str(exc)
            except OSError as exc:
                last = str(exc)
            time.sleep(0.2)
        raise RuntimeError(f"the registry was not ready within {timeout} s ({last})")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
