"""STS (2015-04-01): AssumeRole and GetCallerIdentity through alibabacloud-sts20150401 (V3 and
`v2`), aliyun-python-sdk-sts (old SDK, V1), and hand-signed requests for what SDKs never send
(replays, stale timestamps).

Not covered here, on purpose:
- The alibabacloud_credentials `ram_role_arn` provider (and the old SDK's RamRoleArnCredential)
  hard-code `protocol = 'https'` for their AssumeRole call; keyless serves plain HTTP, so they
  cannot reach it without a TLS proxy. Their *signature dialect* (V1 with `quote_plus`) is still
  covered below by `test_credentials_library_signing_dialect`, which signs with the library's
  own helpers and only replaces the transport.
- Token expiry: keyless has no test clock over HTTP and the shortest session is 900 s; expiry
  (`InvalidSecurityToken.Expired`) is covered by the Rust tests with a fake clock.
"""

from __future__ import annotations

import calendar
import json
import time
import uuid

import pytest
from alibabacloud_ram20150501 import models as rm
from alibabacloud_sts20150401 import models as sm
from alibabacloud_tea_openapi.exceptions import ClientException

import helpers as h
from helpers import expect_sdk_error


def _assume(ep, creds, role_arn, session="sess-1", v2=False, **kw):
    return h.sts_client(ep, creds, v2).assume_role(
        sm.AssumeRoleRequest(role_arn=role_arn, role_session_name=session, **kw)
    ).body


def _check_assumed(ep, body, role, session, duration=3600):
    assert body.assumed_role_user.arn == f"acs:ram::{ep.account_id}:role/{role.role_name}/{session}"
    assert body.assumed_role_user.assumed_role_id == f"{role.role_id}:{session}"
    c = body.credentials
    assert c.access_key_id.startswith("STS.")
    assert c.access_key_secret and c.security_token
    exp = calendar.timegm(time.strptime(c.expiration, "%Y-%m-%dT%H:%M:%SZ"))
    assert abs(exp - (time.time() + duration)) < 120, c.expiration
    assert body.request_id


def _check_identity(ep, ident, role, session):
    assert ident.identity_type == "AssumedRoleUser"
    assert ident.arn == f"acs:ram::{ep.account_id}:assumed-role/{role.role_name}/{session}"
    assert ident.account_id == ep.account_id
    assert ident.role_id == role.role_id
    assert ident.principal_id == f"{role.role_id}:{session}"


# -- the happy paths --------------------------------------------------------------------------


def test_assume_role_new_sdk(ep, assumer, make_role, sig):
    role = make_role()
    body = _assume(ep, assumer.creds, role.arn, "new-sdk", v2=sig, duration_seconds=900)
    _check_assumed(ep, body, role, "new-sdk", 900)
    # The session works in both signing modes.
    for v2 in (False, True):
        ident = h.sts_client(ep, h.creds_of(body), v2).get_caller_identity().body
        _check_identity(ep, ident, role, "new-sdk")


def test_assume_role_default_and_max_duration(ep, assumer, make_role):
    role = make_role(max_session=7200)
    _check_assumed(ep, _assume(ep, assumer.creds, role.arn, "dflt"), role, "dflt", 3600)
    _check_assumed(ep, _assume(ep, assumer.creds, role.arn, "max", duration_seconds=7200), role, "max", 7200)


def test_assume_role_old_sdk(ep, assumer, make_role):
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient
    from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

    role = make_role()
    client = h.old_client(assumer.creds)
    req = AssumeRoleRequest()
    req.set_RoleArn(role.arn)
    req.set_RoleSessionName("old-sdk")
    req.set_DurationSeconds(1800)
    req.set_Policy(json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:Get*", "Resource": "*"}]}))
    h.old_request(req, ep.sts)
    out = json.loads(client.do_action_with_exception(req))
    assert out["AssumedRoleUser"]["Arn"] == f"acs:ram::{ep.account_id}:role/{role.role_name}/old-sdk"
    assert out["AssumedRoleUser"]["AssumedRoleId"] == f"{role.role_id}:old-sdk"
    cred = out["Credentials"]
    assert cred["AccessKeyId"].startswith("STS.")

    sts_client = AcsClient(
        region_id="cn-hangzhou",
        credential=StsTokenCredential(cred["AccessKeyId"], cred["AccessKeySecret"], cred["SecurityToken"]),
        timeout=h.HTTP_TIMEOUT,
    )
    ident = json.loads(sts_client.do_action_with_exception(h.old_request(GetCallerIdentityRequest(), ep.sts)))
    assert ident["IdentityType"] == "AssumedRoleUser"
    assert ident["Arn"] == f"acs:ram::{ep.account_id}:assumed-role/{role.role_name}/old-sdk"
    assert ident["RoleId"] == role.role_id
    # And the new SDK accepts credentials issued through the old one.
    new_ident = h.sts_client(ep, h.Creds(cred["AccessKeyId"], cred["AccessKeySecret"], cred["SecurityToken"])).get_caller_identity().body
    assert new_ident.arn == ident["Arn"]


def test_get_caller_identity_user(ep, make_user, sig):
    u = make_user()
    ident = h.sts_client(ep, u.creds, sig).get_caller_identity().body
    assert ident.identity_type == "RAMUser"
    assert ident.arn == u.arn
    assert ident.account_id == ep.account_id
    assert ident.user_id == u.user_id and ident.principal_id == u.user_id


def test_get_caller_identity_root(ep, sig):
    ident = h.sts_client(ep, ep.root, sig).get_caller_identity().body
    assert ident.identity_type == "Account"
    assert ident.arn == f"acs:ram::{ep.account_id}:root"
    assert ident.account_id == ep.account_id
    assert ident.user_id == ep.account_id


def test_get_caller_identity_old_sdk(ep, old):
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

    ident = json.loads(old.do_action_with_exception(h.old_request(GetCallerIdentityRequest(), ep.sts)))
    assert ident["IdentityType"] == "Account" and ident["AccountId"] == ep.account_id


def test_credentials_library_signing_dialect(ep, assumer, make_role):
    """The credentials library signs V1 with `quote_plus` (space → `+` before the outer
    encoding). Sign exactly as its ram_role_arn provider does, send it over HTTP."""
    from alibabacloud_credentials.utils import parameter_helper as ph

    role = make_role(system=["AliyunRAMReadOnlyAccess"])
    # A session policy with spaces is where the two dialects differ.
    policy = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetRole", "Resource": "*"}]})
    assert " " in policy
    q = {
        "Action": "AssumeRole",
        "Format": "JSON",
        "Version": "2015-04-01",
        "DurationSeconds": "3600",
        "RoleArn": role.arn,
        "RoleSessionName": "creds-lib",
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "Timestamp": ph.get_iso_8061_date(),
        "SignatureNonce": ph.get_uuid(),
        "Policy": policy,
        "AccessKeyId": assumer.creds.access_key_id,
    }
    sts = ph.compose_string_to_sign("GET", q)
    q["Signature"] = ph.sign_string(sts, assumer.creds.access_key_secret + "&")
    url = ph.compose_url(ep.sts, q, "http")
    r = h.raw(ep.sts, "GET", url[len("http://" + ep.sts):])
    assert r.status == 200, r.body
    out = r.json()
    assert out["AssumedRoleUser"]["Arn"].endswith(f":role/{role.role_name}/creds-lib")
    c = h.Creds(out["Credentials"]["AccessKeyId"], out["Credentials"]["AccessKeySecret"], out["Credentials"]["SecurityToken"])
    ram = h.ram_client(ep, c)
    ram.get_role(rm.GetRoleRequest(role_name=role.role_name))
    expect_sdk_error(lambda: ram.list_roles(rm.ListRolesRequest()), "NoPermission", 403)


def test_assume_role_get_method(ep, assumer, make_role):
    """GET with a hand-signed V1 query (the docs' and the credentials library's form)."""
    role = make_role()
    q = h.v1_query("AssumeRole", h.STS_VERSION, assumer.creds, {"RoleArn": role.arn, "RoleSessionName": "get-1"}, method="GET")
    r = h.raw(ep.sts, "GET", "/?" + q)
    assert r.status == 200, r.body
    assert r.json()["AssumedRoleUser"]["AssumedRoleId"] == f"{role.role_id}:get-1"


def test_role_chaining(ep, assumer, make_role):
    """A role session with sts:AssumeRole may assume a role that trusts its role."""
    first = make_role(system=["AliyunSTSAssumeRoleAccess"])
    second = make_role(trust=h.trust_policy(first.arn))
    s1 = h.creds_of(_assume(ep, assumer.creds, first.arn, "hop-1"))
    s2 = _assume(ep, s1, second.arn, "hop-2")
    _check_assumed(ep, s2, second, "hop-2")
    _check_identity(ep, h.sts_client(ep, h.creds_of(s2)).get_caller_identity().body, second, "hop-2")
    # The user itself is not trusted by the second role.
    expect_sdk_error(lambda: _assume(ep, assumer.creds, second.arn), "NoPermission", 403)


def test_trust_names_the_user(ep, make_user, make_role):
    a = make_user("AliyunSTSAssumeRoleAccess")
    b = make_user("AliyunSTSAssumeRoleAccess")
    role = make_role(trust=h.trust_policy(a.arn))
    _assume(ep, a.creds, role.arn)
    expect_sdk_error(lambda: _assume(ep, b.creds, role.arn), "NoPermission", 403)


def test_trust_external_id(ep, assumer, make_role):
    trust = json.dumps(
        {
            "Version": "1",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "sts:AssumeRole",
                    "Principal": {"RAM": [f"acs:ram::{ep.account_id}:root"]},
                    "Condition": {"StringEquals": {"sts:ExternalId": "abc=123"}},
                }
            ],
        }
    )
    role = make_role(trust=trust)
    expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn), "NoPermission", 403)
    expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn, external_id="abc=124"), "NoPermission", 403)
    _assume(ep, assumer.creds, role.arn, external_id="abc=123")
    _assume(ep, assumer.creds, role.arn, v2=True, external_id="abc=123")
    expect_sdk_error(
        lambda: _assume(ep, assumer.creds, role.arn, external_id="bad id!"), "InvalidParameter.ExternalId", 400
    )


# -- AssumeRole refusals ----------------------------------------------------------------------


def test_trust_names_another_account(ep, assumer, make_role, sig):
    role = make_role(trust=h.trust_policy("acs:ram::1234567890123456:root"))
    e = expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn, v2=sig), "NoPermission", 403)
    assert e.data["Message"] == "You are not authorized to do this action. You should be authorized by RAM."


def test_trust_names_only_a_service(ep, assumer, make_role, sig):
    role = make_role(trust=h.trust_policy(service=["eas.pai.aliyuncs.com"]))
    expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn, v2=sig), "NoPermission", 403)


def test_caller_without_assume_role_permission(ep, make_user, make_role, sig):
    u = make_user()  # trusted (same account root) but no sts:AssumeRole
    role = make_role()
    e = expect_sdk_error(lambda: _assume(ep, u.creds, role.arn, v2=sig), "NoPermission", 403)
    d = e.data.get("AccessDeniedDetail") or {}
    assert d.get("AuthAction") == "sts:AssumeRole", e.data


def test_assume_role_permission_scoped_to_other_role(ep, make_user, make_role, make_policy):
    allowed, other = make_role(), make_role()
    pol = make_policy(h.policy_doc("sts:AssumeRole", allowed.arn))
    u = make_user(custom=[pol])
    _assume(ep, u.creds, allowed.arn)
    expect_sdk_error(lambda: _assume(ep, u.creds, other.arn), "NoPermission", 403)


def test_explicit_deny_of_assume_role(ep, make_user, make_role, make_policy):
    role = make_role()
    deny = make_policy(h.policy_doc("sts:AssumeRole", role.arn, effect="Deny"))
    u = make_user("AliyunSTSAssumeRoleAccess", custom=[deny])
    e = expect_sdk_error(lambda: _assume(ep, u.creds, role.arn), "NoPermission", 403)
    assert e.data["AccessDeniedDetail"]["NoPermissionType"] == "ExplicitDeny"


def test_root_cannot_assume(ep, make_role, sig):
    role = make_role()
    e = expect_sdk_error(lambda: _assume(ep, ep.root, role.arn, v2=sig), "NoPermission", 403)
    assert e.data["Message"] == "Roles may not be assumed by root accounts."


def test_root_cannot_assume_old_sdk(ep, old, make_role):
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest

    role = make_role()
    req = AssumeRoleRequest()
    req.set_RoleArn(role.arn)
    req.set_RoleSessionName("root")
    with pytest.raises(ServerException) as ei:
        old.do_action_with_exception(h.old_request(req, ep.sts))
    assert (ei.value.error_code, ei.value.http_status) == ("NoPermission", 403)
    assert ei.value.message == "Roles may not be assumed by root accounts."


def test_missing_role(ep, assumer, sig):
    arn = f"acs:ram::{ep.account_id}:role/{h.unique('nope')}"
    expect_sdk_error(lambda: _assume(ep, assumer.creds, arn, v2=sig), "EntityNotExist.Role", 404)


@pytest.mark.parametrize(
    "arn",
    ["not-an-arn", "acs:ram::abc:role/x", "acs:ram::1234567890123456:user/x", "acs:ram::1234567890123456:role/"],
)
def test_bad_role_arn(ep, assumer, arn):
    expect_sdk_error(lambda: _assume(ep, assumer.creds, arn), "InvalidParameter.RoleArn", 400)


@pytest.mark.parametrize("duration", [100, 899, 3601, 43200, -1, 0])
def test_bad_duration(ep, assumer, make_role, duration, sig):
    role = make_role()  # MaxSessionDuration 3600
    expect_sdk_error(
        lambda: _assume(ep, assumer.creds, role.arn, v2=sig, duration_seconds=duration), "InvalidParameter.DurationSeconds", 400
    )


def test_duration_above_role_max(ep, assumer, make_role):
    role = make_role(max_session=7200)
    expect_sdk_error(
        lambda: _assume(ep, assumer.creds, role.arn, duration_seconds=7201), "InvalidParameter.DurationSeconds", 400
    )


def test_non_numeric_duration(ep, assumer, make_role):
    role = make_role()
    r = h.v1_call(
        ep.sts, "AssumeRole", h.STS_VERSION, assumer.creds, {"RoleArn": role.arn, "RoleSessionName": "s1", "DurationSeconds": "1h"}
    )
    h.assert_vendor_error(r, "InvalidParameter.DurationSeconds", 400)


@pytest.mark.parametrize("session", ["a", "has space", "x" * 65, "a/b", "sess:1", "ü-name"])
def test_bad_session_name(ep, assumer, make_role, session, sig):
    role = make_role()
    expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn, session, v2=sig), "InvalidParameter.RoleSessionName", 400)


@pytest.mark.parametrize(
    "policy",
    [
        "not json",
        "{}",
        '{"Version":"1"}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole"}]}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*","Principal":{"RAM":"*"}}]}',
        '{"Version":"9","Statement":[{"Effect":"Allow","Action":"ram:GetRole","Resource":"*"}]}',
    ],
)
def test_malformed_session_policy(ep, assumer, make_role, policy, sig):
    role = make_role()
    expect_sdk_error(
        lambda: _assume(ep, assumer.creds, role.arn, v2=sig, policy=policy), "InvalidParameter.PolicyGrammar", 400
    )


def test_oversized_session_policy(ep, assumer, make_role, sig):
    role = make_role()
    resources = [f"acs:ram::{ep.account_id}:role/r{i:04d}" for i in range(80)]
    policy = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "ram:GetRole", "Resource": resources}]})
    assert len(policy) > 2048
    expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn, v2=sig, policy=policy), "InvalidParameter.PolicySize", 400)


def test_missing_parameters(ep, assumer, make_role):
    role = make_role()
    r = h.v1_call(ep.sts, "AssumeRole", h.STS_VERSION, assumer.creds, {"RoleSessionName": "s1"})
    assert h.assert_vendor_error(r, "MissingParameter", 400)["Message"].find("RoleArn") >= 0
    r = h.v1_call(ep.sts, "AssumeRole", h.STS_VERSION, assumer.creds, {"RoleArn": role.arn})
    assert "RoleSessionName" in h.assert_vendor_error(r, "MissingParameter", 400)["Message"]


# -- credentials that are wrong ---------------------------------------------------------------


def _flip_middle(s: str) -> str:
    i = len(s) // 2
    c = s[i]
    repl = "A" if c != "A" else "B"
    return s[:i] + repl + s[i + 1:]


def test_tampered_security_token(ep, assumer, make_role, sig):
    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    bad = h.Creds(c.access_key_id, c.access_key_secret, _flip_middle(c.security_token))
    with pytest.raises(ClientException) as ei:
        h.sts_client(ep, bad, sig).get_caller_identity()
    e = ei.value
    assert e.status_code == 400 and e.code.startswith("InvalidSecurityToken."), (e.code, e.message)
    assert e.code == "InvalidSecurityToken.Malformed", e.code
    # Truncated, and garbage.
    for tok in (c.security_token[: len(c.security_token) // 2], "garbage", "x" * 5000):
        with pytest.raises(ClientException) as ei:
            h.sts_client(ep, h.Creds(c.access_key_id, c.access_key_secret, tok), sig).get_caller_identity()
        assert ei.value.status_code == 400 and ei.value.code.startswith("InvalidSecurityToken."), ei.value.code


def test_tampered_security_token_old_sdk(ep, assumer, make_role):
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.client import AcsClient
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    client = AcsClient(
        region_id="cn-hangzhou",
        credential=StsTokenCredential(c.access_key_id, c.access_key_secret, _flip_middle(c.security_token)),
        timeout=h.HTTP_TIMEOUT,
    )
    with pytest.raises(ServerException) as ei:
        client.do_action_with_exception(h.old_request(GetCallerIdentityRequest(), ep.sts))
    assert ei.value.http_status == 400 and ei.value.error_code.startswith("InvalidSecurityToken."), ei.value


def test_token_of_another_session(ep, assumer, make_role):
    role = make_role()
    a = h.creds_of(_assume(ep, assumer.creds, role.arn, "sess-a"))
    b = h.creds_of(_assume(ep, assumer.creds, role.arn, "sess-b"))
    mixed = h.Creds(a.access_key_id, a.access_key_secret, b.security_token)
    with pytest.raises(ClientException) as ei:
        h.sts_client(ep, mixed).get_caller_identity()
    assert ei.value.status_code == 400 and ei.value.code.startswith("InvalidSecurityToken."), ei.value.code


def test_sts_key_without_token(ep, assumer, make_role, sig):
    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    expect_sdk_error(
        lambda: h.sts_client(ep, h.Creds(c.access_key_id, c.access_key_secret), sig).get_caller_identity(),
        "MissingSecurityToken",
        400,
    )


def test_wrong_secret_new_sdk(ep, make_user, sig):
    u = make_user()
    bad = h.Creds(u.creds.access_key_id, u.creds.access_key_secret[:-1] + ("x" if u.creds.access_key_secret[-1] != "x" else "y"))
    e = expect_sdk_error(lambda: h.sts_client(ep, bad, sig).get_caller_identity(), "SignatureDoesNotMatch", 400)
    assert "server string to sign is:" in e.data["Message"]


def test_wrong_secret_with_sts_credentials(ep, assumer, make_role, sig):
    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    bad = h.Creds(c.access_key_id, "wrong-secret", c.security_token)
    expect_sdk_error(lambda: h.sts_client(ep, bad, sig).get_caller_identity(), "SignatureDoesNotMatch", 400)


def test_wrong_secret_old_sdk(ep, make_user):
    """The old SDK evaluates `Message.split(':')[1]` on SignatureDoesNotMatch; the server's
    vendor-worded message must let it raise a clean ServerException (not IndexError). When the
    server's string-to-sign equals the client's, the SDK renames the code InvalidAccessKeySecret."""
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

    u = make_user()
    client = h.old_client(h.Creds(u.creds.access_key_id, "definitely-wrong"))
    with pytest.raises(ServerException) as ei:
        client.do_action_with_exception(h.old_request(GetCallerIdentityRequest(), ep.sts))
    assert ei.value.http_status == 400
    assert ei.value.error_code == "InvalidAccessKeySecret", (ei.value.error_code, ei.value.message)
    # With parameters that need encoding (spaces, JSON) the two strings-to-sign still agree.
    req = AssumeRoleRequest()
    req.set_RoleArn(f"acs:ram::{ep.account_id}:role/whatever")
    req.set_RoleSessionName("s1")
    req.set_Policy('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}')
    with pytest.raises(ServerException) as ei:
        client.do_action_with_exception(h.old_request(req, ep.sts))
    assert (ei.value.error_code, ei.value.http_status) == ("InvalidAccessKeySecret", 400), ei.value.message


def test_unknown_access_key(ep, sig):
    bad = h.Creds("LTAI" + uuid.uuid4().hex[:20], "secret")
    e = expect_sdk_error(lambda: h.sts_client(ep, bad, sig).get_caller_identity(), "InvalidAccessKeyId.NotFound", 404)
    assert "not found" in e.data["Message"]


def test_unknown_access_key_old_sdk(ep):
    from aliyunsdkcore.acs_exception.exceptions import ServerException
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

    client = h.old_client(h.Creds("LTAI" + uuid.uuid4().hex[:20], "secret"))
    with pytest.raises(ServerException) as ei:
        client.do_action_with_exception(h.old_request(GetCallerIdentityRequest(), ep.sts))
    assert (ei.value.error_code, ei.value.http_status) == ("InvalidAccessKeyId.NotFound", 404)


# -- replay and clock skew --------------------------------------------------------------------


def test_replayed_nonce_v1(ep, make_user):
    u = make_user()
    q = h.v1_query("GetCallerIdentity", h.STS_VERSION, u.creds)
    first = h.raw(ep.sts, "POST", "/?" + q)
    assert first.status == 200, first.body
    second = h.raw(ep.sts, "POST", "/?" + q)
    h.assert_vendor_error(second, "SignatureNonceUsed", 400)


def test_replayed_nonce_v3(ep, make_user):
    u = make_user()
    target, headers, _ = h.v3_request(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds)
    first = h.raw(ep.sts, "POST", target, None, headers)
    assert first.status == 200, first.body
    second = h.raw(ep.sts, "POST", target, None, headers)
    h.assert_vendor_error(second, "SignatureNonceUsed", 400)


def test_replayed_assume_role_issues_nothing(ep, assumer, make_role):
    role = make_role()
    q = h.v1_query("AssumeRole", h.STS_VERSION, assumer.creds, {"RoleArn": role.arn, "RoleSessionName": "once"})
    assert h.raw(ep.sts, "POST", "/?" + q).status == 200
    r = h.raw(ep.sts, "POST", "/?" + q)
    h.assert_vendor_error(r, "SignatureNonceUsed", 400)
    assert b"SecurityToken" not in r.body


def test_same_nonce_other_key_is_fine(ep, make_user):
    a, b = make_user(), make_user()
    nonce = uuid.uuid4().hex
    for u in (a, b):
        r = h.v1_call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds, nonce=nonce)
        assert r.status == 200, r.body


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60, -24 * 3600])
def test_skewed_timestamp_v1(ep, make_user, offset):
    u = make_user()
    r = h.v1_call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds, timestamp=h.iso_now(offset))
    h.assert_vendor_error(r, "InvalidTimeStamp.Expired", 400)


@pytest.mark.parametrize("offset", [-20 * 60, 20 * 60])
def test_skewed_timestamp_v3(ep, make_user, offset):
    u = make_user()
    r = h.v3_call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds, date=h.iso_now(offset))
    h.assert_vendor_error(r, "InvalidTimeStamp.Expired", 400)


def test_small_skew_is_accepted(ep, make_user):
    u = make_user()
    for offset in (-10 * 60, 10 * 60):
        assert h.v1_call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds, timestamp=h.iso_now(offset)).status == 200
        assert h.v3_call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds, date=h.iso_now(offset)).status == 200


def test_malformed_timestamp(ep, make_user):
    u = make_user()
    r = h.v1_call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds, timestamp="yesterday")
    b = h.assert_vendor_error(r, status=400)
    assert b["Code"].startswith("InvalidTimeStamp"), b


def test_hand_signers_agree_with_server(ep, make_user):
    """Guards the hand-made signers used above: a fresh, correct request succeeds."""
    u = make_user()
    for call in (h.v1_call, h.v3_call):
        r = call(ep.sts, "GetCallerIdentity", h.STS_VERSION, u.creds)
        assert r.status == 200, r.body
        assert r.json()["Arn"] == u.arn


# -- what a session may do --------------------------------------------------------------------


def test_session_policy_intersection(ep, assumer, make_role, sig):
    role = make_role(system=["AliyunRAMReadOnlyAccess"])
    other = make_role()
    policy = h.policy_doc("ram:GetRole")
    c = h.creds_of(_assume(ep, assumer.creds, role.arn, "narrow", v2=sig, policy=policy))
    ram = h.ram_client(ep, c, v2=sig)
    assert ram.get_role(rm.GetRoleRequest(role_name=other.role_name)).body.role.role_id == other.role_id
    e = expect_sdk_error(lambda: ram.list_roles(rm.ListRolesRequest()), "NoPermission", 403)
    d = e.data.get("AccessDeniedDetail") or {}
    assert d.get("AuthPrincipalType") == "AssumedRoleUser", e.data
    assert d.get("AuthAction") == "ram:ListRoles"
    # The session policy cannot widen the role: CreateRole is not in the role's policies.
    wide = h.creds_of(_assume(ep, assumer.creds, role.arn, "wide", policy=h.policy_doc("ram:*")))
    expect_sdk_error(
        lambda: h.ram_client(ep, wide).create_role(
            rm.CreateRoleRequest(role_name=h.unique("x"), assume_role_policy_document=h.trust_policy(f"acs:ram::{ep.account_id}:root"))
        ),
        "NoPermission",
        403,
    )
    # Without a session policy the role's read-only access applies in full.
    full = h.creds_of(_assume(ep, assumer.creds, role.arn, "full"))
    h.ram_client(ep, full).list_roles(rm.ListRolesRequest())


def test_session_policy_deny(ep, assumer, make_role):
    role = make_role(system=["AliyunRAMReadOnlyAccess"])
    policy = json.dumps(
        {
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": "ram:*", "Resource": "*"},
                {"Effect": "Deny", "Action": "ram:GetRole", "Resource": "*"},
            ],
        }
    )
    c = h.creds_of(_assume(ep, assumer.creds, role.arn, policy=policy))
    ram = h.ram_client(ep, c)
    ram.list_roles(rm.ListRolesRequest())
    expect_sdk_error(lambda: ram.get_role(rm.GetRoleRequest(role_name=role.role_name)), "NoPermission", 403)


def test_session_without_policies_is_denied(ep, assumer, make_role):
    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    expect_sdk_error(lambda: h.ram_client(ep, c).get_role(rm.GetRoleRequest(role_name=role.role_name)), "NoPermission", 403)
    # GetCallerIdentity needs no permission.
    h.sts_client(ep, c).get_caller_identity()


def test_detach_takes_effect_for_existing_session(ep, ram, assumer, make_role):
    role = make_role(system=["AliyunRAMReadOnlyAccess"])
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    sram = h.ram_client(ep, c)
    sram.get_role(rm.GetRoleRequest(role_name=role.role_name))
    ram.detach_policy_from_role(
        rm.DetachPolicyFromRoleRequest(policy_type="System", policy_name="AliyunRAMReadOnlyAccess", role_name=role.role_name)
    )
    expect_sdk_error(lambda: sram.get_role(rm.GetRoleRequest(role_name=role.role_name)), "NoPermission", 403)
    # And attaching takes effect too.
    ram.attach_policy_to_role(
        rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunRAMReadOnlyAccess", role_name=role.role_name)
    )
    sram.get_role(rm.GetRoleRequest(role_name=role.role_name))


def test_custom_policy_version_change_reaches_sessions(ep, ram, assumer, make_role, make_policy):
    pol = make_policy(h.policy_doc("ram:GetRole"))
    role = make_role(custom=[pol])
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    sram = h.ram_client(ep, c)
    sram.get_role(rm.GetRoleRequest(role_name=role.role_name))
    ram.create_policy_version(
        rm.CreatePolicyVersionRequest(policy_name=pol, policy_document=h.policy_doc("ram:ListRoles"), set_as_default=True)
    )
    expect_sdk_error(lambda: sram.get_role(rm.GetRoleRequest(role_name=role.role_name)), "NoPermission", 403)
    sram.list_roles(rm.ListRolesRequest())


def test_deleted_role_ends_sessions(ep, ram, assumer, make_role):
    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    h.sts_client(ep, c).get_caller_identity()
    ram.delete_role(rm.DeleteRoleRequest(role_name=role.role_name))
    with pytest.raises(ClientException) as ei:
        h.sts_client(ep, c).get_caller_identity()
    assert ei.value.status_code == 400 and ei.value.code.startswith("InvalidSecurityToken."), ei.value.code
    # A role re-created under the same name is another role: the old session stays dead.
    ram.create_role(
        rm.CreateRoleRequest(role_name=role.role_name, assume_role_policy_document=role.assume_role_policy_document)
    )
    with pytest.raises(ClientException) as ei:
        h.sts_client(ep, c).get_caller_identity()
    assert ei.value.code.startswith("InvalidSecurityToken."), ei.value.code
    # New sessions of the new role work.
    _assume(ep, assumer.creds, role.arn)


def test_trust_policy_update_does_not_end_sessions_but_blocks_new(ep, ram, assumer, make_role):
    role = make_role()
    c = h.creds_of(_assume(ep, assumer.creds, role.arn))
    ram.update_role(
        rm.UpdateRoleRequest(role_name=role.role_name, new_assume_role_policy_document=h.trust_policy("acs:ram::1234567890123456:root"))
    )
    expect_sdk_error(lambda: _assume(ep, assumer.creds, role.arn), "NoPermission", 403)
    h.sts_client(ep, c).get_caller_identity()


def test_deleted_user_key_cannot_assume(ep, ram, make_user, make_role):
    u = make_user("AliyunSTSAssumeRoleAccess")
    role = make_role()
    _assume(ep, u.creds, role.arn)
    ram.update_access_key(rm.UpdateAccessKeyRequest(user_name=u.name, user_access_key_id=u.creds.access_key_id, status="Inactive"))
    expect_sdk_error(lambda: _assume(ep, u.creds, role.arn), "InvalidAccessKeyId.Inactive", 400)


def test_endpoint_with_scheme(ep, make_user):
    """`Config(endpoint="http://host:port")`: the SDK then sends and signs the literal header
    `host: http://host:port`; keyless accepts it (the documented form has no scheme)."""
    from alibabacloud_sts20150401.client import Client as StsClient

    u = make_user()
    for v2 in (False, True):
        cfg = h.sdk_config("http://" + ep.sts, u.creds, v2)
        ident = StsClient(cfg).get_caller_identity().body
        assert ident.arn == u.arn


def test_xml_format_sts(ep, old, make_user):
    import xml.etree.ElementTree as ET

    from aliyunsdkcore.request import CommonRequest

    def req(action, **params):
        r = CommonRequest(domain=ep.sts, version=h.STS_VERSION, action_name=action)
        r.set_protocol_type("http")
        r.set_method("POST")
        r.set_accept_format("XML")
        for k, v in params.items():
            r.add_query_param(k, v)
        return r

    status, _h, body, _e = old._implementation_of_do_action(req("GetCallerIdentity"))
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == "GetCallerIdentityResponse" and root.findtext("IdentityType") == "Account"
    status, _h, body, _e = old._implementation_of_do_action(
        req("AssumeRole", RoleArn=f"acs:ram::{ep.account_id}:role/x", RoleSessionName="s1")
    )
    assert status == 403
    root = ET.fromstring(body)
    assert root.tag == "Error" and root.findtext("Code") == "NoPermission"
