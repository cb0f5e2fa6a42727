"""Benchmark helper (run with the compat venv): deploys through the official EAS SDK against a
running `keyless up`.

  eas_deploy.py DATA_DIR uri        → deploys `bench_agent` (a role-bearing service whose instance
                                      prints its credentials URI) and prints the URI and the
                                      agent's pid as JSON
  eas_deploy.py DATA_DIR deploy N   → N times: CreateService (command `sleep 3600`, with a role) →
                                      Running; prints the times and the median as JSON
"""
import json, statistics, sys, time, uuid
from pathlib import Path

from alibabacloud_eas20210701 import models as em
from alibabacloud_eas20210701.client import Client as Eas
from alibabacloud_ram20150501 import models as rm
from alibabacloud_ram20150501.client import Client as Ram
from alibabacloud_tea_openapi.models import Config

data = Path(sys.argv[1])
env = dict(l.split("=", 1) for l in (data / "endpoints.env").read_text().splitlines() if "=" in l and not l.startswith("#"))
cfg = lambda ep: Config(access_key_id=env["KEYLESS_ACCESS_KEY_ID"], access_key_secret=env["KEYLESS_ACCESS_KEY_SECRET"],
                        endpoint=env[ep], protocol="http", region_id=env["KEYLESS_REGION"])
ram, eas, region = Ram(cfg("KEYLESS_RAM_ENDPOINT")), Eas(cfg("KEYLESS_EAS_ENDPOINT")), env["KEYLESS_REGION"]


def role() -> str:
    name = "bench-" + uuid.uuid4().hex[:8]
    trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                            "Principal": {"Service": ["eas.pai.aliyuncs.com"]}}]}
    arn = ram.create_role(rm.CreateRoleRequest(role_name=name, assume_role_policy_document=json.dumps(trust))).body.role.arn
    ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunOSSReadOnlyAccess", role_name=name))
    return arn


def deploy(name: str, command: str, arn: str) -> float:
    body = {"name": name, "metadata": {"instance": 1}, "containers": [{"image": "bench:1", "command": command}],
            "options": {"enable_ram_role": True}, "role_arn": arn}
    t0 = time.monotonic()
    eas.create_service(em.CreateServiceRequest(body=json.dumps(body)))
    while True:
        s = eas.describe_service(region, name).body.status
        if s == "Running":
            return time.monotonic() - t0
        if s == "Failed":
            raise SystemExit(f"{name} failed")
        time.sleep(0.005)


arn = role()
if sys.argv[2] == "uri":
    name = "bench_agent_" + uuid.uuid4().hex[:6]
    deploy(name, 'echo "URI=$ALIBABA_CLOUD_CREDENTIALS_URI"; sleep 86400', arn)
    log = data / "services" / env["KEYLESS_ACCOUNT_ID"] / name / "service.log"
    for _ in range(200):
        text = log.read_text() if log.exists() else ""
        uri = next((l[4:] for l in text.splitlines() if l.startswith("URI=")), None)
        if uri:
            break
        time.sleep(0.05)
    print(json.dumps({"service": name, "uri": uri}))
else:
    times = []
    for i in range(int(sys.argv[3])):
        name = f"bench_deploy_{uuid.uuid4().hex[:6]}"
        times.append(deploy(name, "sleep 3600", arn))
        eas.delete_service(region, name)
    print(json.dumps({"deploy_to_running_s": [round(t, 3) for t in times], "median_s": round(statistics.median(times), 3)}))
