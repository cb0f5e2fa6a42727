"""`keyless up` stops every instance and agent cleanly on SIGTERM, and the next start on the same
data dir resumes the services (issue 4 item 4, issue 7 item 1). A separate `keyless up`, not the
session one, because this test stops and restarts it.
"""

import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

from alibabacloud_eas20210701 import models as em
from alibabacloud_eas20210701.client import Client as Eas
from alibabacloud_ram20150501 import models as rm
from alibabacloud_ram20150501.client import Client as Ram
from alibabacloud_tea_openapi.models import Config

from conftest import _binary, _parse_env


def _start(data: Path, log):
    p = subprocess.Popen([str(_binary()), "up", "--data-dir", str(data), "--port", "0"],
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    env_file = data / "endpoints.env"
    deadline = time.monotonic() + 30
    while not env_file.exists():
        assert p.poll() is None and time.monotonic() < deadline, "keyless up did not start"
        time.sleep(0.05)
    time.sleep(0.2)
    return p, _parse_env(env_file)


def _clients(env):
    cfg = lambda ep: Config(access_key_id=env["KEYLESS_ACCESS_KEY_ID"], access_key_secret=env["KEYLESS_ACCESS_KEY_SECRET"],
                            endpoint=env[ep], protocol="http", region_id=env["KEYLESS_REGION"])
    return Ram(cfg("KEYLESS_RAM_ENDPOINT")), Eas(cfg("KEYLESS_EAS_ENDPOINT"))


def _wait_status(eas, region, name, want, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        s = eas.describe_service(region, name).body.status
        if s == want:
            return
        assert time.monotonic() < deadline, f"{name} is {s}, not {want}"
        time.sleep(0.2)


def _procs(data: Path) -> list[str]:
    out = subprocess.run(["pgrep", "-af", str(data)], capture_output=True, text=True).stdout
    return [l for l in out.splitlines() if "pgrep" not in l]


def test_sigterm_stops_instances_and_restart_resumes_them():
    with tempfile.TemporaryDirectory(prefix="keyless-restart-") as tmp:
        data = Path(tmp) / "data"
        log = open(Path(tmp) / "up.log", "ab")
        p, env = _start(data, log)
        ram, eas = _clients(env)
        region = env["KEYLESS_REGION"]
        role = "restart-" + uuid.uuid4().hex[:8]
        trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": ["eas.pai.aliyuncs.com"]}}]}
        arn = ram.create_role(rm.CreateRoleRequest(role_name=role, assume_role_policy_document=json.dumps(trust))).body.role.arn
        name = "restart_" + uuid.uuid4().hex[:8]
        body = {"name": name, "metadata": {"instance": 1},
                "containers": [{"image": "x:1", "command": 'echo "started $(date +%s%N)"; sleep 86400'}],
                "options": {"enable_ram_role": True}, "role_arn": arn}
        eas.create_service(em.CreateServiceRequest(body=json.dumps(body)))
        _wait_status(eas, region, name, "Running")
        service_log = data / "services" / env["KEYLESS_ACCOUNT_ID"] / name / "service.log"
        deadline = time.monotonic() + 30
        while "started" not in (service_log.read_text() if service_log.exists() else ""):
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert any("keyless agent" in l for l in _procs(data)), _procs(data)

        # SIGTERM: everything stops cleanly, nothing is left behind.
        p.terminate()
        assert p.wait(timeout=30) == 0
        time.sleep(0.5)
        assert _procs(data) == [], _procs(data)
        assert not (data / "endpoints.env").exists()
        starts_before = service_log.read_text().count("started ")

        # The next start brings the service back.
        p, env = _start(data, log)
        try:
            ram, eas = _clients(env)
            _wait_status(eas, region, name, "Running")
            deadline = time.monotonic() + 30
            while service_log.read_text().count("started ") <= starts_before:
                assert time.monotonic() < deadline, service_log.read_text()[-2000:]
                time.sleep(0.1)
            assert any("keyless agent" in l for l in _procs(data))
        finally:
            p.terminate()
            assert p.wait(timeout=30) == 0
            log.close()


def test_default_relative_data_dir_runs_instances():
    """Regression: `keyless up` on its default, relative `keyless-data` dir (the README's first
    command) must run instances — the runner needs absolute paths."""
    with tempfile.TemporaryDirectory(prefix="keyless-reldir-") as tmp:
        log = open(Path(tmp) / "up.log", "ab")
        p = subprocess.Popen([str(_binary()), "up", "--port", "0"], cwd=tmp, stdout=log,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        data = Path(tmp) / "keyless-data"
        try:
            deadline = time.monotonic() + 30
            while not (data / "endpoints.env").exists():
                assert p.poll() is None and time.monotonic() < deadline, "keyless up did not start"
                time.sleep(0.05)
            time.sleep(0.2)
            env = _parse_env(data / "endpoints.env")
            ram, eas = _clients(env)
            region = env["KEYLESS_REGION"]
            role = "reldir-" + uuid.uuid4().hex[:8]
            trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                    "Principal": {"Service": ["eas.pai.aliyuncs.com"]}}]}
            arn = ram.create_role(rm.CreateRoleRequest(role_name=role, assume_role_policy_document=json.dumps(trust))).body.role.arn
            name = "reldir_" + uuid.uuid4().hex[:8]
            body = {"name": name, "metadata": {"instance": 1},
                    "containers": [{"image": "x:1", "command": 'echo "uri=$ALIBABA_CLOUD_CREDENTIALS_URI"; sleep 86400'}],
                    "options": {"enable_ram_role": True}, "role_arn": arn}
            eas.create_service(em.CreateServiceRequest(body=json.dumps(body)))
            _wait_status(eas, region, name, "Running")
            service_log = data / "services" / env["KEYLESS_ACCOUNT_ID"] / name / "service.log"
            deadline = time.monotonic() + 30
            while "uri=http://127.0.0.1:" not in (service_log.read_text() if service_log.exists() else ""):
                assert time.monotonic() < deadline, (service_log.read_text() if service_log.exists() else "no log")
                time.sleep(0.1)
        finally:
            p.terminate()
            assert p.wait(timeout=30) == 0
            log.close()
