"""Fixtures of the compatibility suite: one real `keyless up` per session, SDK clients, and
factories for fresh RAM users and roles.

The binary comes from `KEYLESS_BIN` (default `target/debug/keyless` under the repository root);
build it first: `cargo build -p keyless`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from alibabacloud_ram20150501 import models as rm  # noqa: E402

import helpers as h  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


def _binary() -> Path:
    p = Path(os.environ.get("KEYLESS_BIN", "target/debug/keyless"))
    if not p.is_absolute():
        p = REPO / p
    if not p.exists():
        pytest.exit(f"keyless binary not found at {p}: run `cargo build -p keyless` or set KEYLESS_BIN", 2)
    return p


def _parse_env(path: Path) -> dict:
    out = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


class Keyless:
    """A running `keyless up` in a temporary data dir."""

    def __init__(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="keyless-compat-")
        self.data_dir = Path(self.tmp.name) / "data"
        self.log_path = Path(self.tmp.name) / "keyless.log"
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [str(_binary()), "up", "--data-dir", str(self.data_dir), "--port", "0"],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self.endpoints = self._wait_ready()

    def log_text(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-4000:]

    def _wait_ready(self) -> h.Endpoints:
        env_file = self.data_dir / "endpoints.env"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"keyless up exited with {self.proc.returncode}:\n{self.log_text()}")
            if env_file.exists():
                env = _parse_env(env_file)
                keys = (
                    "KEYLESS_ACCOUNT_ID",
                    "KEYLESS_REGION",
                    "KEYLESS_ACCESS_KEY_ID",
                    "KEYLESS_ACCESS_KEY_SECRET",
                    "KEYLESS_RAM_ENDPOINT",
                    "KEYLESS_STS_ENDPOINT",
                )
                if all(env.get(k) for k in keys):
                    return h.Endpoints(
                        account_id=env["KEYLESS_ACCOUNT_ID"],
                        region=env["KEYLESS_REGION"],
                        access_key_id=env["KEYLESS_ACCESS_KEY_ID"],
                        access_key_secret=env["KEYLESS_ACCESS_KEY_SECRET"],
                        ram=env["KEYLESS_RAM_ENDPOINT"],
                        sts=env["KEYLESS_STS_ENDPOINT"],
                    )
            time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError(f"keyless up did not write {env_file} within {START_TIMEOUT}s:\n{self.log_text()}")

    def stop(self) -> int:
        """SIGTERM, then wait; returns the exit status (kills and fails after the timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"keyless up did not exit within {STOP_TIMEOUT}s of SIGTERM")
        finally:
            self.log.close()
        return rc


@pytest.fixture(scope="session")
def keyless():
    k = Keyless()
    try:
        yield k
    finally:
        rc = k.stop()
        log = k.log_path.read_text(errors="replace")[-4000:]
        k.tmp.cleanup()
        assert rc == 0, f"keyless up exited with {rc} after SIGTERM:\n{log}"


@pytest.fixture(scope="session")
def ep(keyless) -> h.Endpoints:
    return keyless.endpoints


@pytest.fixture(scope="session")
def root(ep) -> h.Creds:
    return ep.root


# -- clients with the root key ----------------------------------------------------------------


@pytest.fixture(scope="session")
def ram(ep):
    """New SDK RAM client, V3 (ACS3-HMAC-SHA256), root key."""
    return h.ram_client(ep, ep.root)


@pytest.fixture(scope="session")
def ram_v2(ep):
    """New SDK RAM client, `signature_algorithm='v2'` (V1 HMAC-SHA1), root key."""
    return h.ram_client(ep, ep.root, v2=True)


@pytest.fixture(scope="session")
def sts(ep):
    return h.sts_client(ep, ep.root)


@pytest.fixture(scope="session")
def sts_v2(ep):
    return h.sts_client(ep, ep.root, v2=True)


@pytest.fixture(scope="session")
def old(ep):
    """aliyun-python-sdk-core client, root key."""
    return h.old_client(ep.root)


@pytest.fixture(params=["v3", "v2"])
def sig(request) -> bool:
    """Parametrizes a test over the new SDK's two signature modes; the value is `v2`."""
    return request.param == "v2"


# -- factories --------------------------------------------------------------------------------


@pytest.fixture
def make_user(ep, ram):
    """`make_user(*system_policies, custom=[...])` → a fresh RAM user with an AccessKey and the
    given policies attached."""

    def make(*system: str, custom=(), prefix: str = "u") -> h.RamUser:
        name = h.unique(prefix)
        u = ram.create_user(rm.CreateUserRequest(user_name=name)).body.user
        k = ram.create_access_key(rm.CreateAccessKeyRequest(user_name=name)).body.access_key
        for p in system:
            ram.attach_policy_to_user(rm.AttachPolicyToUserRequest(policy_type="System", policy_name=p, user_name=name))
        for p in custom:
            ram.attach_policy_to_user(rm.AttachPolicyToUserRequest(policy_type="Custom", policy_name=p, user_name=name))
        return h.RamUser(
            name=name,
            user_id=u.user_id,
            creds=h.Creds(k.access_key_id, k.access_key_secret),
            arn=f"acs:ram::{ep.account_id}:user/{name}",
        )

    return make


@pytest.fixture
def make_role(ep, ram):
    """`make_role(trust=None, system=[...], custom=[...], max_session=None)` → a fresh role
    (default trust: the whole account) with the given policies attached; returns the SDK Role."""

    def make(trust=None, system=(), custom=(), max_session=None, prefix: str = "r"):
        name = h.unique(prefix)
        trust = trust or h.trust_policy(f"acs:ram::{ep.account_id}:root")
        role = ram.create_role(
            rm.CreateRoleRequest(role_name=name, assume_role_policy_document=trust, max_session_duration=max_session)
        ).body.role
        for p in system:
            ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="System", policy_name=p, role_name=name))
        for p in custom:
            ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=p, role_name=name))
        return role

    return make


@pytest.fixture
def make_policy(ram):
    """`make_policy(document)` → the name of a fresh custom policy."""

    def make(document: str, prefix: str = "p") -> str:
        name = h.unique(prefix)
        ram.create_policy(rm.CreatePolicyRequest(policy_name=name, policy_document=document))
        return name

    return make


@pytest.fixture
def assumer(make_user):
    """A RAM user allowed to assume roles (AliyunSTSAssumeRoleAccess)."""
    return make_user("AliyunSTSAssumeRoleAccess", prefix="assumer")
