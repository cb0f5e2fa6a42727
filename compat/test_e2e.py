"""The source document's scenario end to end, through the official EAS SDK against a real
`keyless up` (issue 4 item 6, issue 7 item 3):

- an instance obtains its role's credentials four ways — the legacy
  `providers.DefaultCredentialsProvider()`, the 1.x `alibabacloud_credentials.client.Client()`,
  `curl $ALIBABA_CLOUD_CREDENTIALS_URI`, and `/etc/ram/credentials` — prints them masked, and runs
  GetCallerIdentity on each, which shows the role's assumed-role ARN;
- the document's Example 1 (OSS) and Example 2 (MaxCompute) programs, exactly as published with
  only the placeholders filled, put in a bucket, mounted at `/mnt/data/` through `storage`, run
  with `python /mnt/data/…py` with the third-party libraries the document lists — once with a
  custom `role_arn`, once with the PAI default role and `metadata.workspace_id` — and the service
  logs show the object keys and the table names.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import oss2
import pytest
from alibabacloud_ram20150501 import models as rm
from odps import ODPS

from test_eas import create, delete_quietly, eas, eas_env, events, region, settle, sname  # noqa: F401 (fixtures)

# The seed's programs, with its line breaks restored (the published page renders each as one
# block), byte for byte otherwise; only the `<…>` placeholders are replaced below.
EXAMPLE_1 = """import oss2
from alibabacloud_credentials.client import Client
from alibabacloud_credentials import providers
from itertools import islice

if __name__ == '__main__':
    auth = oss2.ProviderAuth(providers.DefaultCredentialsProvider())
    # <oss_endpoint>需替換為您的OSS Bucket名稱;<oss_bucket>需替換為您的OSS Bucket所在region的Endpoint。
    bucket = oss2.Bucket(auth, '<oss_endpoint>', '<oss_bucket>' )
    for b in islice(oss2.ObjectIterator(bucket), 10):
        print(b.key)
"""

EXAMPLE_2 = """from alibabacloud_credentials import providers
from odps.accounts import CredentialProviderAccount
from odps import ODPS

if __name__ == '__main__':
    account = CredentialProviderAccount(providers.DefaultCredentialsProvider())
    # <odps_project>需替換為您的Project名稱;<odps_endpoint>需替換為您的Project所在region的Endpoint。
    o = ODPS(
        account=account,
        project="<odps_project>",
        endpoint="<odps_endpoint>"
    )
    for t in o.list_tables():
        print(t)
"""

# The document's "third-party libraries" step: alibabacloud_credentials pyodps oss2 (pinned).
REQUIREMENTS = ["alibabacloud_credentials==1.0.12", "pyodps==0.13.2", "oss2==2.19.1"]

FOUR_WAYS = r'''
import json, os, subprocess, time
from alibabacloud_tea_openapi.models import Config
from alibabacloud_sts20150401.client import Client as Sts

def mask(s):
    return s[:6] + "***" + s[-2:]

def whoami(ak, sk, tok):
    c = Config(access_key_id=ak, access_key_secret=sk, security_token=tok,
               endpoint=os.environ["KEYLESS_STS_ENDPOINT"], protocol="http", region_id="cn-hangzhou")
    return Sts(c).get_caller_identity().body.arn

def report(way, ak, sk, tok):
    print(f"{way}: AccessKeyId={mask(ak)} AccessKeySecret={mask(sk)} SecurityToken={mask(tok)} "
          f"Arn={whoami(ak, sk, tok)}", flush=True)

from alibabacloud_credentials import providers
c = providers.DefaultCredentialsProvider().get_credentials()
report("legacy-provider", c.get_access_key_id(), c.get_access_key_secret(), c.get_security_token())

from alibabacloud_credentials.client import Client
c = Client().get_credential()
report("client-1.x", c.get_access_key_id(), c.get_access_key_secret(), c.get_security_token())

out = subprocess.run(["curl", "-s", os.environ["ALIBABA_CLOUD_CREDENTIALS_URI"]], capture_output=True, text=True, check=True)
d = json.loads(out.stdout)
assert d["Code"] == "Success"
report("curl-uri", d["AccessKeyId"], d["AccessKeySecret"], d["SecurityToken"])

d = json.load(open("/etc/ram/credentials"))
report("etc-ram-file", d["AccessKeyId"], d["AccessKeySecret"], d["SecurityToken"])
print("FOUR-WAYS-DONE", flush=True)
time.sleep(86400)
'''


def _log(keyless, ep, name: str) -> Path:
    return Path(keyless.data_dir) / "services" / ep.account_id / name / "service.log"


def _wait_log(keyless, ep, name: str, needle: str, timeout: float = 180.0) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        p = _log(keyless, ep, name)
        text = p.read_text(errors="replace") if p.exists() else ""
        if needle in text:
            return text
        time.sleep(0.5)
    raise AssertionError(f"{needle!r} never appeared in the log of {name}:\n{text[-3000:]}")


def _deploy(eas, region, cfg: dict, timeout: float = 900.0):
    create(eas, json.dumps(cfg))
    d = settle(eas, region, cfg["name"], timeout=timeout)
    assert d.status == "Running", (d.message, [(e.reason, e.message) for e in events(eas, region, cfg["name"])])
    return d


def _eas_trust() -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": ["eas.pai.aliyuncs.com"]}}]})


@pytest.fixture(scope="module")
def env(keyless):
    out = {}
    for line in (keyless.data_dir / "endpoints.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


@pytest.fixture(scope="module")
def seeded(env, ep):
    """Objects in the workspace bucket (the example programs among them) and tables in the
    workspace project, created with the root key."""
    bucket = oss2.Bucket(oss2.Auth(ep.access_key_id, ep.access_key_secret), "http://" + env["KEYLESS_OSS_ENDPOINT"],
                         env["KEYLESS_OSS_BUCKET"])
    oss_endpoint = "http://" + env["KEYLESS_OSS_ENDPOINT"]
    ex1 = EXAMPLE_1.replace("'<oss_endpoint>'", repr(oss_endpoint)).replace("'<oss_bucket>'", repr(env["KEYLESS_OSS_BUCKET"]))
    ex2 = EXAMPLE_2.replace('"<odps_project>"', json.dumps(env["KEYLESS_MAXCOMPUTE_PROJECT"])).replace(
        '"<odps_endpoint>"', json.dumps(env["KEYLESS_MAXCOMPUTE_ENDPOINT"]))
    # Only the placeholders changed.
    assert ex1.count("\n") == EXAMPLE_1.count("\n") and "<oss_bucket>'" not in ex1
    bucket.put_object("code/oss_example.py", ex1.encode())
    bucket.put_object("code/odps_example.py", ex2.encode())
    bucket.put_object("code/four_ways.py", FOUR_WAYS.encode())
    for i in range(3):
        bucket.put_object(f"data/sample-{i}.csv", f"id,value\n{i},x\n".encode())
    o = ODPS(ep.access_key_id, ep.access_key_secret, env["KEYLESS_MAXCOMPUTE_PROJECT"], endpoint=env["KEYLESS_MAXCOMPUTE_ENDPOINT"])
    for t in ("e2e_users", "e2e_orders"):
        o.create_table(t, "id bigint, name string", if_not_exists=True)
    return {"bucket": env["KEYLESS_OSS_BUCKET"]}


def _config(name, bucket, command, requirements, **extra):
    cfg = {
        "name": name,
        "metadata": {"instance": 1, "cpu": 1, "memory": 2000},
        "containers": [{"image": "registry.example/pai-demo:1.0", "command": command,
                        "prepare": {"pythonRequirements": requirements}}],
        "storage": [{"oss": {"path": f"oss://{bucket}/code/", "readOnly": True}, "mount_path": "/mnt/data/"}],
        "options": {"enable_ram_role": True},
    }
    cfg.update(extra)
    return cfg


EXAMPLES_CMD = "python /mnt/data/oss_example.py && python /mnt/data/odps_example.py && echo EXAMPLES-DONE && sleep 86400"


def _check_examples(text: str):
    for key in ("code/four_ways.py", "code/odps_example.py", "code/oss_example.py", "data/sample-0.csv"):
        assert f"\n{key}\n" in text or text.startswith(f"{key}\n") or f"{key}\n" in text, text[-3000:]
    assert "e2e_users" in text and "e2e_orders" in text, text[-3000:]


def test_examples_with_a_custom_role(eas, ep, ram, region, keyless, seeded):
    role = f"e2e-custom-{int(time.time() * 1000) % 10**9}"
    arn = ram.create_role(rm.CreateRoleRequest(role_name=role, assume_role_policy_document=_eas_trust())).body.role.arn
    for p in ("AliyunOSSReadOnlyAccess", "AliyunMaxComputeReadOnlyAccess"):
        ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="System", policy_name=p, role_name=role))
    name = sname("e2e_custom")
    try:
        _deploy(eas, region, _config(name, seeded["bucket"], EXAMPLES_CMD, REQUIREMENTS, role_arn=arn))
        text = _wait_log(keyless, ep, name, "EXAMPLES-DONE")
        _check_examples(text)
    finally:
        delete_quietly(eas, region, name)


def test_examples_with_the_default_role_and_workspace(eas, ep, region, keyless, env, seeded):
    name = sname("e2e_default")
    cfg = _config(name, seeded["bucket"], EXAMPLES_CMD, REQUIREMENTS)
    cfg["metadata"]["workspace_id"] = env["KEYLESS_WORKSPACE_ID"]
    try:
        _deploy(eas, region, cfg)
        text = _wait_log(keyless, ep, name, "EXAMPLES-DONE")
        _check_examples(text)
    finally:
        delete_quietly(eas, region, name)


def test_four_ways_to_the_role_credentials(eas, ep, ram, region, keyless, seeded):
    role = f"e2e-four-{int(time.time() * 1000) % 10**9}"
    arn = ram.create_role(rm.CreateRoleRequest(role_name=role, assume_role_policy_document=_eas_trust())).body.role.arn
    ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunOSSReadOnlyAccess", role_name=role))
    name = sname("e2e_four")
    reqs = REQUIREMENTS + ["alibabacloud-sts20150401==1.2.0", "alibabacloud-tea-openapi==0.4.6"]
    try:
        _deploy(eas, region, _config(name, seeded["bucket"], "python /mnt/data/four_ways.py", reqs, role_arn=arn))
        text = _wait_log(keyless, ep, name, "FOUR-WAYS-DONE")
        want = f"Arn=acs:ram::{ep.account_id}:assumed-role/{role}/"
        for way in ("legacy-provider", "client-1.x", "curl-uri", "etc-ram-file"):
            line = next((l for l in text.splitlines() if l.startswith(way + ":")), None)
            assert line is not None, text[-3000:]
            assert want in line, line
            assert "AccessKeyId=STS.**" in line.replace("STS.", "STS.**", 1) or "AccessKeyId=STS." in line
        # No secret ever reaches the service log: only masked values.
        creds = json.loads((Path(keyless.data_dir) / "services" / ep.account_id / name).joinpath("0", "creds", "credentials").read_text()) \
            if (Path(keyless.data_dir) / "services" / ep.account_id / name / "0" / "creds" / "credentials").exists() else None
        if creds:
            assert creds["AccessKeySecret"] not in text and creds["SecurityToken"] not in text
    finally:
        delete_quietly(eas, region, name)
