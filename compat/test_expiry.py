"""Expired STS credentials through the official clients (issue 3 item 7, issue 5 item 6): a token
issued for 900 s is presented to a restarted `keyless up` whose clock is just past its expiry
(`--clock-offset-secs`, a testing flag) while still within the ±15-minute signature window, so the
clients' own timestamps stay valid and only the token has expired. STS answers
`InvalidSecurityToken.Expired`, OSS `SecurityTokenExpired`, MaxCompute
`AuthenticationRequestExpired`; fresh credentials issued after the restart work.
"""

import calendar
import json
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import oss2
import pytest
from alibabacloud_ram20150501 import models as rm
from alibabacloud_ram20150501.client import Client as Ram
from alibabacloud_sts20150401 import models as sm
from alibabacloud_sts20150401.client import Client as Sts
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config
from odps import ODPS, errors
from odps.accounts import StsAccount

from conftest import _binary, _parse_env


def _start(data: Path, log, offset: int = 0):
    args = [str(_binary()), "up", "--data-dir", str(data), "--port", "0"]
    if offset:
        args += ["--clock-offset-secs", str(offset)]
    env_file = data / "endpoints.env"
    p = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while not env_file.exists():
        assert p.poll() is None and time.monotonic() < deadline, "keyless up did not start"
        time.sleep(0.05)
    time.sleep(0.2)
    return p, _parse_env(env_file)


def _cfg(env, ep, ak, sk, token=None):
    return Config(access_key_id=ak, access_key_secret=sk, security_token=token, endpoint=env[ep],
                  protocol="http", region_id=env["KEYLESS_REGION"])


def test_expired_tokens_are_refused_by_every_service():
    with tempfile.TemporaryDirectory(prefix="keyless-expiry-") as tmp:
        data = Path(tmp) / "data"
        log = open(Path(tmp) / "up.log", "ab")
        p, env = _start(data, log)
        root = (env["KEYLESS_ACCESS_KEY_ID"], env["KEYLESS_ACCESS_KEY_SECRET"])
        ram = Ram(_cfg(env, "KEYLESS_RAM_ENDPOINT", *root))
        user, role = "exp-" + uuid.uuid4().hex[:6], "exp-role-" + uuid.uuid4().hex[:6]
        ram.create_user(rm.CreateUserRequest(user_name=user))
        ram.attach_policy_to_user(rm.AttachPolicyToUserRequest(policy_type="System", policy_name="AliyunSTSAssumeRoleAccess", user_name=user))
        key = ram.create_access_key(rm.CreateAccessKeyRequest(user_name=user)).body.access_key
        trust = {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"RAM": [f"acs:ram::{env['KEYLESS_ACCOUNT_ID']}:root"]}}]}
        ram.create_role(rm.CreateRoleRequest(role_name=role, assume_role_policy_document=json.dumps(trust)))
        for pol in ("AliyunOSSReadOnlyAccess", "AliyunMaxComputeReadOnlyAccess"):
            ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="System", policy_name=pol, role_name=role))
        arn = f"acs:ram::{env['KEYLESS_ACCOUNT_ID']}:role/{role}"
        sts = Sts(_cfg(env, "KEYLESS_STS_ENDPOINT", key.access_key_id, key.access_key_secret))
        creds = sts.assume_role(sm.AssumeRoleRequest(role_arn=arn, role_session_name="exp", duration_seconds=900)).body.credentials
        expires = calendar.timegm(time.strptime(creds.expiration, "%Y-%m-%dT%H:%M:%SZ"))
        time.sleep(2.5)
        p.terminate()
        assert p.wait(timeout=30) == 0

        # Restart "just after" the expiry: server time = expiry + 2 s, clients' clocks within 900 s.
        offset = expires + 2 - int(time.time())
        assert offset <= 900, offset
        p, env = _start(data, log, offset)
        try:
            s = (creds.access_key_id, creds.access_key_secret, creds.security_token)
            with pytest.raises(ClientException) as e:
                Sts(_cfg(env, "KEYLESS_STS_ENDPOINT", *s)).get_caller_identity()
            assert (e.value.code, e.value.status_code) == ("InvalidSecurityToken.Expired", 400)

            bucket = oss2.Bucket(oss2.StsAuth(*s), "http://" + env["KEYLESS_OSS_ENDPOINT"], env["KEYLESS_OSS_BUCKET"])
            with pytest.raises(oss2.exceptions.ServerError) as e:
                list(oss2.ObjectIterator(bucket, max_keys=1))
            assert (e.value.status, e.value.code) == (403, "SecurityTokenExpired")

            o = ODPS(account=StsAccount(*s), project=env["KEYLESS_MAXCOMPUTE_PROJECT"], endpoint=env["KEYLESS_MAXCOMPUTE_ENDPOINT"])
            with pytest.raises(errors.AuthenticationRequestExpired):
                list(o.list_tables())

            # New credentials issued by the restarted server work: the clocks are compatible.
            sts = Sts(_cfg(env, "KEYLESS_STS_ENDPOINT", key.access_key_id, key.access_key_secret))
            fresh = sts.assume_role(sm.AssumeRoleRequest(role_arn=arn, role_session_name="fresh")).body.credentials
            me = Sts(_cfg(env, "KEYLESS_STS_ENDPOINT", fresh.access_key_id, fresh.access_key_secret, fresh.security_token)).get_caller_identity()
            assert me.body.arn.endswith(f":assumed-role/{role}/fresh")
        finally:
            p.terminate()
            assert p.wait(timeout=30) == 0
            log.close()
