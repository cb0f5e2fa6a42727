"""EAS (2021-07-01) through alibabacloud-eas20210701 7.0.0 (V3 and `signature_algorithm='v2'`,
i.e. ROA v2): every route, the role rules of the seed with their messages, and the seed's usage
example end to end (code mounted from OSS, third-party libraries installed, credentials from
`$ALIBABA_CLOUD_CREDENTIALS_URI` and `/etc/ram/credentials`, the output in the service log).

Tests that need instances to run use the real runner of `keyless up` (ProcessRunner); they
assert the intended behaviour and fail while the runner cannot start instances.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest
from alibabacloud_eas20210701 import models as em
from alibabacloud_eas20210701.client import Client as EasClient
from alibabacloud_ram20150501 import models as rm
from alibabacloud_tea_openapi.exceptions import ClientException

import helpers as h
from helpers import expect_sdk_error

FAQ = (
    "unable to render, error: failed to assume role for user, reason: "
    "You are not authorized to do this action. You should be authorized by RAM."
)
SETTLING = ("Creating", "Updating", "Starting")


def _env(keyless) -> dict:
    out = {}
    for line in (keyless.data_dir / "endpoints.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


@pytest.fixture(scope="session")
def eas_env(keyless) -> dict:
    env = _env(keyless)
    for k in ("KEYLESS_EAS_ENDPOINT", "KEYLESS_WORKSPACE_ID", "KEYLESS_OSS_BUCKET"):
        assert env.get(k), f"{k} missing from endpoints.env"
    return env


def eas_client(env: dict, creds: h.Creds, v2: bool = False) -> EasClient:
    return EasClient(h.sdk_config(env["KEYLESS_EAS_ENDPOINT"], creds, v2))


@pytest.fixture(scope="session")
def eas(eas_env, root):
    return eas_client(eas_env, root)


@pytest.fixture(scope="session")
def region(ep) -> str:
    return ep.region


def sname(prefix: str = "svc") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def service_json(name: str, command: str = "sleep 3600", **extra) -> str:
    cfg = {
        "name": name,
        "metadata": {"instance": 1, "cpu": 1, "memory": 1000},
        "containers": [{"image": "registry.example/demo:1.0", "command": command, "port": 8000}],
    }
    cfg.update(extra)
    return json.dumps(cfg)


def create(client: EasClient, body: str, **kw):
    return client.create_service(em.CreateServiceRequest(body=body, **kw)).body


def settle(client: EasClient, region: str, name: str, timeout: float = 300.0):
    deadline = time.monotonic() + timeout
    while True:
        d = client.describe_service(region, name).body
        if d.status not in SETTLING:
            return d
        assert time.monotonic() < deadline, f"{name} still {d.status}"
        time.sleep(0.2)


def events(client: EasClient, region: str, name: str):
    return client.describe_service_event(region, name, em.DescribeServiceEventRequest(page_size="1000")).body.events


def delete_quietly(client: EasClient, region: str, name: str):
    try:
        client.delete_service(region, name)
    except ClientException:
        pass


# -- every route ------------------------------------------------------------------------------


def test_every_route(eas_env, root, region, sig):
    client = eas_client(eas_env, root, v2=sig)
    name = sname("routes")
    body = service_json(name, zzz_unknown={"kept": True})
    r = create(client, body, labels={"team": "a"}, workspace_id=eas_env["KEYLESS_WORKSPACE_ID"])
    assert (r.service_name, r.status, r.region) == (name, "Creating", region)
    assert r.service_id.startswith("eas-m-") and r.request_id
    try:
        d = settle(client, region, name)
        assert d.service_config == body  # echoed verbatim, unknown fields kept
        assert d.workspace_id == eas_env["KEYLESS_WORKSPACE_ID"]
        assert [(l.label_key, l.label_value) for l in d.labels] == [("team", "a")]
        assert d.total_instance == 1 and d.image == "registry.example/demo:1.0"
        assert d.status == "Running", (d.status, d.message, [e.message for e in events(client, region, name)])

        listed = client.list_services(em.ListServicesRequest(service_name=name, page_size=10)).body
        assert listed.total_count == 1 and listed.services[0].service_name == name
        assert client.list_services(em.ListServicesRequest(label={"team": "a"})).body.total_count >= 1

        evs = events(client, region, name)
        reasons = [e.reason for e in evs]
        assert "Creating" in reasons and "Running" in reasons, reasons
        assert all(e.time.endswith("Z") and e.type in ("Normal", "Warning") for e in evs)

        inst = client.list_service_instances(region, name, em.ListServiceInstancesRequest()).body
        assert inst.total_count == 1 and inst.instances[0].instance_name == f"{name}-0"

        u = client.update_service(region, name, em.UpdateServiceRequest(body=json.dumps({"metadata": {"instance": 2}})))
        assert u.body.request_id and u.body.message
        d = settle(client, region, name)
        assert d.total_instance == 2 and d.current_version == 2
        assert json.loads(d.service_config)["metadata"]["cpu"] == 1  # merged

        u = client.update_service(
            region,
            name,
            em.UpdateServiceRequest(update_type="replace", body=json.dumps({"containers": [{"command": "sleep 3600"}]})),
        )
        assert u.body.message
        d = settle(client, region, name)
        assert d.total_instance == 1 and "zzz_unknown" not in json.loads(d.service_config)

        assert client.stop_service(region, name).body.message
        assert client.describe_service(region, name).body.status == "Stopped"
        assert client.start_service(region, name).body.message
        assert settle(client, region, name).status == "Running"
    finally:
        assert client.delete_service(region, name).body.message
    expect_sdk_error(lambda: client.describe_service(region, name), "ServiceNotFound", 404)


def test_validation_errors_name_the_field(eas, region):
    for body, field in [
        ({"containers": [{"command": "x"}]}, '"name"'),
        ({"name": "Bad-Name", "containers": [{"command": "x"}]}, '"name"'),
        ({"name": sname(), "metadata": {"instance": 0}, "containers": [{"command": "x"}]}, '"metadata.instance"'),
        ({"name": sname(), "metadata": {"workspace_id": "999999"}, "containers": [{"command": "x"}]}, '"metadata.workspace_id"'),
        ({"name": sname(), "containers": [{"image": "x"}]}, '"containers[0].command"'),
        ({"name": sname(), "containers": [{"command": "x", "env": {"A": "1"}}]}, '"containers[0].env"'),
        ({"name": sname(), "containers": [{"command": "x", "prepare": {"pythonRequirements": "oss2"}}]},
         '"containers[0].prepare.pythonRequirements"'),
        ({"name": sname(), "containers": [{"command": "x"}], "options": {"enable_ram_role": "yes"}},
         '"options.enable_ram_role"'),
    ]:
        e = expect_sdk_error(lambda: create(eas, json.dumps(body)), "InvalidParameter", 400)
        assert field in e.message, (field, e.message)
    expect_sdk_error(lambda: create(eas, "not json"), "InvalidParameter", 400)
    name = sname("dupe")
    create(eas, service_json(name))
    try:
        expect_sdk_error(lambda: create(eas, service_json(name)), "ServiceAlreadyExists", 409)
    finally:
        delete_quietly(eas, region, name)
    expect_sdk_error(lambda: eas.describe_service(region, sname("missing")), "ServiceNotFound", 404)
    expect_sdk_error(lambda: eas.start_service(region, sname("missing")), "ServiceNotFound", 404)


def test_ram_user_needs_eas_permissions(eas_env, make_user, region):
    nobody = make_user()
    client = eas_client(eas_env, nobody.creds)
    e = expect_sdk_error(lambda: client.list_services(em.ListServicesRequest()), "NoPermission", 403)
    assert e.data["AccessDeniedDetail"]["AuthAction"] == "eas:ListServices"


# -- the role rules ---------------------------------------------------------------------------


def test_one_role_per_service(eas, ep, make_role):
    a = make_role(trust=h.trust_policy(service=["eas.pai.aliyuncs.com"]))
    b = make_role(trust=h.trust_policy(service=["eas.pai.aliyuncs.com"]))
    for role_arn in ([a.arn, b.arn], f"{a.arn},{b.arn}"):
        body = service_json(sname("tworoles"), options={"enable_ram_role": True}, role_arn=role_arn)
        e = expect_sdk_error(lambda: create(eas, body), "InvalidParameter", 400)
        assert '"role_arn"' in e.message and "one RAM role only" in e.message, e.message


def test_custom_role_must_exist(eas, ep):
    arn = f"acs:ram::{ep.account_id}:role/no-such-role-{uuid.uuid4().hex[:6]}"
    body = service_json(sname("norole"), options={"enable_ram_role": True}, role_arn=arn)
    e = expect_sdk_error(lambda: create(eas, body), "EntityNotExist.Role", 404)
    assert arn in e.message and "existing RAM role" in e.message, e.message


def test_ram_user_needs_pass_role(eas_env, ep, make_user, make_role, make_policy, region):
    role = make_role(trust=h.trust_policy(service=["eas.pai.aliyuncs.com"]))
    dev = make_user("AliyunPAIEASFullAccess")
    client = eas_client(eas_env, dev.creds)
    name = sname("pass")
    body = service_json(name, options={"enable_ram_role": True}, role_arn=role.arn)
    e = expect_sdk_error(lambda: create(client, body), "NoPermission", 403)
    assert "ram:PassRole" in e.message and role.arn in e.message, e.message
    assert e.data["AccessDeniedDetail"]["AuthAction"] == "ram:PassRole"
    # The seed's policy grants it.
    policy = make_policy(h.policy_doc("ram:PassRole", f"acs:ram::*:role/{role.role_name}"))
    h.ram_client(ep, ep.root).attach_policy_to_user(
        rm.AttachPolicyToUserRequest(policy_type="Custom", policy_name=policy, user_name=dev.name)
    )
    try:
        assert create(client, body).status == "Creating"
    finally:
        delete_quietly(client, region, name)


def test_default_role_is_the_service_linked_role(eas, eas_env, ram, region):
    name = sname("defrole")
    body = service_json(
        name,
        metadata={"instance": 1, "workspace_id": eas_env["KEYLESS_WORKSPACE_ID"]},
        options={"enable_ram_role": True},
    )
    create(eas, body)
    try:
        role = ram.get_role(rm.GetRoleRequest(role_name="AliyunServiceRoleForPaiEas")).body.role
        assert role.is_service_linked_role is True
        assert "eas.pai.aliyuncs.com" in role.assume_role_policy_document
        pols = ram.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name="AliyunServiceRoleForPaiEas")).body
        assert "AliyunServiceRolePolicyForPaiEas" in [p.policy_name for p in pols.policies.policy]
        d = settle(eas, region, name)
        msgs = [e.message for e in events(eas, region, name)]
        assert any(eas_env["KEYLESS_OSS_BUCKET"] in m for m in msgs), msgs
        assert d.status == "Running", (d.message, msgs)
    finally:
        delete_quietly(eas, region, name)


def test_default_role_without_workspace_has_no_oss(eas, region):
    name = sname("nows")
    create(eas, service_json(name, options={"enable_ram_role": True}))
    try:
        settle(eas, region, name)
        evs = events(eas, region, name)
        warn = [e for e in evs if e.type == "Warning" and e.reason == "DefaultRoleNoOss"]
        assert warn and "metadata.workspace_id" in warn[0].message, [(e.reason, e.message) for e in evs]
    finally:
        delete_quietly(eas, region, name)


def test_untrusted_role_shows_the_faq_event_until_fixed(eas, ep, ram, make_role, region):
    # The FAQ's original trust policy: the account and another service, not EAS.
    role = make_role(trust=h.trust_policy(f"acs:ram::{ep.account_id}:root", service=["xxx.aliyuncs.com"]))
    name = sname("faq")
    create(eas, service_json(name, options={"enable_ram_role": True}, role_arn=role.arn))
    try:
        d = settle(eas, region, name)
        assert d.status == "Failed"
        evs = events(eas, region, name)
        assert FAQ in [e.message for e in evs if e.type == "Warning"], [e.message for e in evs]
        # The FAQ's fix: add eas.pai.aliyuncs.com to Principal.Service.
        fixed = h.trust_policy(f"acs:ram::{ep.account_id}:root", service=["xxx.aliyuncs.com", "eas.pai.aliyuncs.com"])
        ram.update_role(rm.UpdateRoleRequest(role_name=role.role_name, new_assume_role_policy_document=fixed))
        eas.update_service(region, name, em.UpdateServiceRequest(body="{}"))
        d = settle(eas, region, name)
        assert d.status == "Running", (d.message, [e.message for e in events(eas, region, name)])
    finally:
        delete_quietly(eas, region, name)


def test_untrusted_role_then_start_service(eas, ep, ram, make_role, region):
    role = make_role(trust=h.trust_policy(service=["xxx.aliyuncs.com"]))
    name = sname("faqstart")
    create(eas, service_json(name, options={"enable_ram_role": True}, role_arn=role.arn))
    try:
        d = settle(eas, region, name)
        assert (d.status, d.message) == ("Failed", FAQ)
        ram.update_role(rm.UpdateRoleRequest(
            role_name=role.role_name,
            new_assume_role_policy_document=h.trust_policy(service=["xxx.aliyuncs.com", "eas.pai.aliyuncs.com"]),
        ))
        eas.start_service(region, name)
        assert settle(eas, region, name).status == "Running"
    finally:
        delete_quietly(eas, region, name)


def test_agent_api_refuses_bad_tokens(eas_env):
    r = h.raw(eas_env["KEYLESS_EAS_ENDPOINT"], "GET", "/internal/agent/v1/credentials",
              headers={"Authorization": "Bearer " + "0" * 64})
    assert r.status == 401 and r.json()["Code"] == "InvalidToken"
    r = h.raw(eas_env["KEYLESS_EAS_ENDPOINT"], "GET", "/internal/agent/v1/credentials")
    assert r.status == 401


# -- the seed's usage example, end to end -----------------------------------------------------

SCRIPT = r'''
import json, os, sys, time, urllib.request
from itertools import islice
uri = os.environ["ALIBABA_CLOUD_CREDENTIALS_URI"]
c = json.load(urllib.request.urlopen(uri, timeout=10))
print("uri", c["Code"], c["AccessKeyId"].startswith("STS."), flush=True)
for _ in range(100):
    try:
        f = json.load(open("/etc/ram/credentials"))
        break
    except (OSError, ValueError):
        time.sleep(0.1)
print("file", f["Code"], flush=True)
import oss2
from alibabacloud_credentials import providers
auth = oss2.ProviderAuth(providers.DefaultCredentialsProvider())
bucket = oss2.Bucket(auth, "http://" + os.environ["KEYLESS_OSS_ENDPOINT"], os.environ["BUCKET"])
for b in islice(oss2.ObjectIterator(bucket), 10):
    print("key", b.key, flush=True)
print("done", flush=True)
time.sleep(3600)
'''


def test_seed_usage_example(eas, eas_env, ep, keyless, region):
    import oss2

    bucket_name = eas_env["KEYLESS_OSS_BUCKET"]
    bucket = oss2.Bucket(
        oss2.Auth(ep.access_key_id, ep.access_key_secret), "http://" + eas_env["KEYLESS_OSS_ENDPOINT"], bucket_name
    )
    bucket.put_object("code/xx.py", SCRIPT.encode())
    name = sname("seed")
    body = json.dumps({
        "name": name,
        "metadata": {"instance": 1, "workspace_id": eas_env["KEYLESS_WORKSPACE_ID"]},
        "containers": [{
            "image": "registry.example/demo:1.0",
            "command": "python /mnt/data/xx.py",
            "env": [{"name": "BUCKET", "value": bucket_name}],
            "prepare": {"pythonRequirements": ["alibabacloud_credentials==1.0.12", "oss2==2.19.1"]},
        }],
        "storage": [{"oss": {"path": f"oss://{bucket_name}/code/", "readOnly": True}, "mount_path": "/mnt/data/"}],
        "options": {"enable_ram_role": True},
    })
    create(eas, body)
    try:
        d = settle(eas, region, name, timeout=600)
        assert d.status == "Running", (d.message, [e.message for e in events(eas, region, name)])
        log = Path(keyless.data_dir) / "services" / ep.account_id / name / "service.log"
        deadline = time.monotonic() + 120
        text = ""
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace") if log.exists() else ""
            if "done" in text:
                break
            time.sleep(0.5)
        assert "uri Success True" in text, text[-2000:]
        assert "file Success" in text, text[-2000:]
        assert "key code/xx.py" in text, text[-2000:]
    finally:
        delete_quietly(eas, region, name)
