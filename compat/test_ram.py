"""RAM (2015-05-01) through alibabacloud-ram20150501 (V3 and `v2` signing) and, for XML, through
aliyun-python-sdk-core's CommonRequest."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET

import pytest
from alibabacloud_ram20150501 import models as rm
from alibabacloud_tea_openapi.exceptions import ClientException

import helpers as h
from helpers import expect_sdk_error


# -- users ------------------------------------------------------------------------------------


def test_user_lifecycle(ep, sig):
    ram = h.ram_client(ep, ep.root, v2=sig)
    name = h.unique("user")
    u = ram.create_user(rm.CreateUserRequest(user_name=name, display_name="Dee", comments="hello")).body.user
    assert u.user_name == name and u.display_name == "Dee" and u.user_id and u.create_date

    got = ram.get_user(rm.GetUserRequest(user_name=name)).body.user
    assert (got.user_id, got.user_name, got.display_name, got.comments) == (u.user_id, name, "Dee", "hello")

    names = [x.user_name for x in _all_users(ram)]
    assert names.count(name) == 1

    new_name = name + "-b"
    upd = ram.update_user(
        rm.UpdateUserRequest(user_name=name, new_user_name=new_name, new_display_name="Dee B")
    ).body.user
    assert (upd.user_name, upd.display_name, upd.user_id) == (new_name, "Dee B", u.user_id)
    expect_sdk_error(lambda: ram.get_user(rm.GetUserRequest(user_name=name)), "EntityNotExist.User", 404)
    assert ram.get_user(rm.GetUserRequest(user_name=new_name)).body.user.user_id == u.user_id

    expect_sdk_error(
        lambda: ram.create_user(rm.CreateUserRequest(user_name=new_name)), "EntityAlreadyExists.User", 409
    )
    ram.delete_user(rm.DeleteUserRequest(user_name=new_name))
    expect_sdk_error(lambda: ram.get_user(rm.GetUserRequest(user_name=new_name)), "EntityNotExist.User", 404)
    expect_sdk_error(lambda: ram.delete_user(rm.DeleteUserRequest(user_name=new_name)), "EntityNotExist.User", 404)


def _all_users(ram):
    out, marker = [], None
    while True:
        b = ram.list_users(rm.ListUsersRequest(marker=marker, max_items=100)).body
        out.extend(b.users.user or [])
        if not b.is_truncated:
            return out
        marker = b.marker


def test_user_with_attached_policy_cannot_be_deleted(ram, make_user):
    u = make_user("AliyunOSSReadOnlyAccess")
    ram.delete_access_key(rm.DeleteAccessKeyRequest(user_name=u.name, user_access_key_id=u.creds.access_key_id))
    expect_sdk_error(lambda: ram.delete_user(rm.DeleteUserRequest(user_name=u.name)), "DeleteConflict.User.Policy", 409)
    ram.detach_policy_from_user(
        rm.DetachPolicyFromUserRequest(policy_type="System", policy_name="AliyunOSSReadOnlyAccess", user_name=u.name)
    )
    ram.delete_user(rm.DeleteUserRequest(user_name=u.name))


def test_bad_user_name(ram):
    expect_sdk_error(
        lambda: ram.create_user(rm.CreateUserRequest(user_name="bad name!")), "InvalidParameter.UserName.InvalidChars", 400
    )
    expect_sdk_error(
        lambda: ram.create_user(rm.CreateUserRequest(user_name="x" * 65)), "InvalidParameter.UserName.Length", 400
    )


# -- access keys ------------------------------------------------------------------------------


def test_access_key_lifecycle(ep, ram, make_user):
    u = make_user()
    keys = ram.list_access_keys(rm.ListAccessKeysRequest(user_name=u.name)).body.access_keys.access_key
    assert [(k.access_key_id, k.status) for k in keys] == [(u.creds.access_key_id, "Active")]
    # The key works.
    ident = h.sts_client(ep, u.creds).get_caller_identity().body
    assert ident.identity_type == "RAMUser" and ident.arn == u.arn

    # A second key is allowed, a third is not.
    k2 = ram.create_access_key(rm.CreateAccessKeyRequest(user_name=u.name)).body.access_key
    assert k2.status == "Active" and k2.access_key_secret and k2.access_key_id != u.creds.access_key_id
    expect_sdk_error(
        lambda: ram.create_access_key(rm.CreateAccessKeyRequest(user_name=u.name)), "LimitExceeded.User.AccessKey", 409
    )
    ids = {k.access_key_id for k in ram.list_access_keys(rm.ListAccessKeysRequest(user_name=u.name)).body.access_keys.access_key}
    assert ids == {u.creds.access_key_id, k2.access_key_id}
    # The list never carries secrets.
    raw = ram.list_access_keys(rm.ListAccessKeysRequest(user_name=u.name)).body.to_map()
    assert k2.access_key_secret not in json.dumps(raw)

    # Inactive: requests signed with it are refused, in every signing mode.
    ram.update_access_key(
        rm.UpdateAccessKeyRequest(user_name=u.name, user_access_key_id=u.creds.access_key_id, status="Inactive")
    )
    statuses = {k.access_key_id: k.status for k in ram.list_access_keys(rm.ListAccessKeysRequest(user_name=u.name)).body.access_keys.access_key}
    assert statuses[u.creds.access_key_id] == "Inactive"
    for v2 in (False, True):
        expect_sdk_error(lambda: h.sts_client(ep, u.creds, v2).get_caller_identity(), "InvalidAccessKeyId.Inactive", 400)
    # Reactivated, it works again.
    ram.update_access_key(
        rm.UpdateAccessKeyRequest(user_name=u.name, user_access_key_id=u.creds.access_key_id, status="Active")
    )
    assert h.sts_client(ep, u.creds).get_caller_identity().body.identity_type == "RAMUser"

    # Deleted: unknown.
    ram.delete_access_key(rm.DeleteAccessKeyRequest(user_name=u.name, user_access_key_id=u.creds.access_key_id))
    expect_sdk_error(lambda: h.sts_client(ep, u.creds).get_caller_identity(), "InvalidAccessKeyId.NotFound", 404)
    left = ram.list_access_keys(rm.ListAccessKeysRequest(user_name=u.name)).body.access_keys.access_key
    assert [k.access_key_id for k in left] == [k2.access_key_id]
    # The other key is unaffected.
    assert h.sts_client(ep, h.Creds(k2.access_key_id, k2.access_key_secret)).get_caller_identity().body.user_id == u.user_id


def test_update_access_key_bad_status(ram, make_user):
    u = make_user()
    expect_sdk_error(
        lambda: ram.update_access_key(
            rm.UpdateAccessKeyRequest(user_name=u.name, user_access_key_id=u.creds.access_key_id, status="Sleeping")
        ),
        "InvalidParameter.Status",
        400,
    )


def test_user_with_access_keys_cannot_be_deleted(ram, make_user):
    u = make_user()
    e = expect_sdk_error(lambda: ram.delete_user(rm.DeleteUserRequest(user_name=u.name)), "DeleteConflict.User.AccessKey", 409)
    assert e.status_code == 409


# -- roles ------------------------------------------------------------------------------------


def test_role_lifecycle(ep, sig):
    ram = h.ram_client(ep, ep.root, v2=sig)
    name = h.unique("role")
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    r = ram.create_role(
        rm.CreateRoleRequest(role_name=name, assume_role_policy_document=trust, description="d1", max_session_duration=7200)
    ).body.role
    assert r.role_name == name
    assert r.arn == f"acs:ram::{ep.account_id}:role/{name}"
    assert r.role_id and r.create_date and r.description == "d1" and r.max_session_duration == 7200
    assert json.loads(r.assume_role_policy_document) == json.loads(trust)

    g = ram.get_role(rm.GetRoleRequest(role_name=name)).body.role
    assert (g.role_id, g.arn, g.description, g.max_session_duration) == (r.role_id, r.arn, "d1", 7200)
    assert g.update_date
    assert json.loads(g.assume_role_policy_document) == json.loads(trust)

    assert [x.role_name for x in _all_roles(ram)].count(name) == 1

    trust2 = h.trust_policy(f"acs:ram::{ep.account_id}:user/somebody", service=["eas.pai.aliyuncs.com"])
    u = ram.update_role(
        rm.UpdateRoleRequest(
            role_name=name, new_assume_role_policy_document=trust2, new_description="d2", new_max_session_duration=3600
        )
    ).body.role
    assert (u.description, u.max_session_duration) == ("d2", 3600)
    g = ram.get_role(rm.GetRoleRequest(role_name=name)).body.role
    assert json.loads(g.assume_role_policy_document) == json.loads(trust2)
    assert g.description == "d2" and g.role_id == r.role_id

    ram.delete_role(rm.DeleteRoleRequest(role_name=name))
    e = expect_sdk_error(lambda: ram.get_role(rm.GetRoleRequest(role_name=name)), "EntityNotExist.Role", 404)
    assert "role does not exist" in e.message
    expect_sdk_error(lambda: ram.delete_role(rm.DeleteRoleRequest(role_name=name)), "EntityNotExist.Role", 404)


def _all_roles(ram):
    out, marker = [], None
    while True:
        b = ram.list_roles(rm.ListRolesRequest(marker=marker, max_items=1000)).body
        out.extend(b.roles.role or [])
        if not b.is_truncated:
            return out
        marker = b.marker


@pytest.mark.parametrize("bad", ["bad_name", "has space", "a/b", "ümlaut", "x:y"])
def test_role_name_invalid_chars(ram, ep, bad):
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    expect_sdk_error(
        lambda: ram.create_role(rm.CreateRoleRequest(role_name=bad, assume_role_policy_document=trust)),
        "InvalidParameter.RoleName.InvalidChars",
        400,
    )


def test_role_name_length(ram, ep):
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    expect_sdk_error(
        lambda: ram.create_role(rm.CreateRoleRequest(role_name="r" * 65, assume_role_policy_document=trust)),
        "InvalidParameter.RoleName.Length",
        400,
    )
    # 64 is fine.
    name = "r" + h.unique("x").replace("-", "") * 4
    name = name[:64]
    ram.create_role(rm.CreateRoleRequest(role_name=name, assume_role_policy_document=trust))
    ram.delete_role(rm.DeleteRoleRequest(role_name=name))


@pytest.mark.parametrize(
    "doc",
    [
        "not json",
        "{}",
        '{"Version":"1"}',
        '{"Version":"2","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1:root"]}}]}',
        '{"Version":"1","Statement":[{"Effect":"Maybe","Action":"sts:AssumeRole","Principal":{"RAM":["acs:ram::1:root"]}}]}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}',
        '{"Version":"1","Statement":[',
    ],
)
def test_role_malformed_trust_policy(ram, doc):
    expect_sdk_error(
        lambda: ram.create_role(rm.CreateRoleRequest(role_name=h.unique("mal"), assume_role_policy_document=doc)),
        "MalformedPolicyDocument",
        400,
    )


def test_update_role_malformed_trust_policy(ram, make_role):
    r = make_role()
    expect_sdk_error(
        lambda: ram.update_role(rm.UpdateRoleRequest(role_name=r.role_name, new_assume_role_policy_document="{")),
        "MalformedPolicyDocument",
        400,
    )
    # Unchanged.
    g = ram.get_role(rm.GetRoleRequest(role_name=r.role_name)).body.role
    assert g.assume_role_policy_document == r.assume_role_policy_document


def test_role_duplicate(ram, make_role, ep):
    r = make_role()
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    expect_sdk_error(
        lambda: ram.create_role(rm.CreateRoleRequest(role_name=r.role_name, assume_role_policy_document=trust)),
        "EntityAlreadyExists.Role",
        409,
    )


def test_role_bad_max_session_duration(ram, ep):
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    for bad in (3599, 43201):
        expect_sdk_error(
            lambda: ram.create_role(
                rm.CreateRoleRequest(role_name=h.unique("msd"), assume_role_policy_document=trust, max_session_duration=bad)
            ),
            "InvalidParameter.MaxSessionDuration",
            400,
        )


def test_list_roles_pagination(ram, make_role, sig, ep):
    client = h.ram_client(ep, ep.root, v2=sig)
    mine = {make_role(prefix="page").role_name for _ in range(5)}
    seen, marker, pages = [], None, 0
    while True:
        b = client.list_roles(rm.ListRolesRequest(marker=marker, max_items=2)).body
        items = b.roles.role or []
        pages += 1
        assert len(items) <= 2
        seen.extend(x.role_name for x in items)
        if not b.is_truncated:
            assert not b.marker
            break
        assert b.marker and len(items) == 2
        marker = b.marker
        assert pages < 1000
    assert len(seen) == len(set(seen)), "a role was listed twice"
    assert mine <= set(seen)
    assert set(seen) == {r.role_name for r in _all_roles(client)}
    assert pages >= 3


def test_list_roles_bad_max_items(ram):
    for bad in (0, 1001):
        expect_sdk_error(lambda: ram.list_roles(rm.ListRolesRequest(max_items=bad)), "InvalidParameter.MaxItems", 400)


def test_list_users_pagination(ram, make_user):
    mine = {make_user(prefix="upage").name for _ in range(5)}
    seen, marker = [], None
    while True:
        b = ram.list_users(rm.ListUsersRequest(marker=marker, max_items=2)).body
        seen.extend(x.user_name for x in (b.users.user or []))
        if not b.is_truncated:
            break
        marker = b.marker
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)


# -- policies and versions --------------------------------------------------------------------


def test_policy_versions(ram, sig, ep):
    client = h.ram_client(ep, ep.root, v2=sig)
    name = h.unique("pol")
    doc1 = h.policy_doc("oss:GetObject", "acs:oss:*:*:bucket/*")
    p = client.create_policy(rm.CreatePolicyRequest(policy_name=name, policy_document=doc1, description="first")).body.policy
    assert (p.policy_name, p.policy_type, p.default_version, p.description) == (name, "Custom", "v1", "first")
    assert p.create_date

    g = client.get_policy(rm.GetPolicyRequest(policy_name=name, policy_type="Custom")).body
    assert g.policy.default_version == "v1" and g.policy.policy_name == name
    assert g.default_policy_version.version_id == "v1"
    assert g.default_policy_version.is_default_version is True
    assert json.loads(g.default_policy_version.policy_document) == json.loads(doc1)

    expect_sdk_error(
        lambda: client.create_policy(rm.CreatePolicyRequest(policy_name=name, policy_document=doc1)),
        "EntityAlreadyExists.Policy",
        409,
    )

    # Versions v2..v5 (v5 set as default).
    docs = {"v1": doc1}
    for i in range(2, 6):
        d = h.policy_doc("oss:GetObject", f"acs:oss:*:*:bucket{i}/*")
        v = client.create_policy_version(
            rm.CreatePolicyVersionRequest(policy_name=name, policy_document=d, set_as_default=(i == 5))
        ).body.policy_version
        assert v.version_id == f"v{i}" and v.is_default_version == (i == 5)
        docs[v.version_id] = d
    g = client.get_policy(rm.GetPolicyRequest(policy_name=name, policy_type="Custom")).body
    assert g.policy.default_version == "v5" and g.default_policy_version.version_id == "v5"
    assert json.loads(g.default_policy_version.policy_document) == json.loads(docs["v5"])

    # The sixth is refused without a rotate strategy.
    d6 = h.policy_doc("oss:ListObjects")
    expect_sdk_error(
        lambda: client.create_policy_version(rm.CreatePolicyVersionRequest(policy_name=name, policy_document=d6)),
        "LimitExceeded.Policy.Version",
        409,
    )
    expect_sdk_error(
        lambda: client.create_policy_version(
            rm.CreatePolicyVersionRequest(policy_name=name, policy_document=d6, rotate_strategy="None")
        ),
        "LimitExceeded.Policy.Version",
        409,
    )
    # With the rotate strategy, the oldest non-default version (v1) goes.
    v6 = client.create_policy_version(
        rm.CreatePolicyVersionRequest(
            policy_name=name, policy_document=d6, rotate_strategy="DeleteOldestNonDefaultVersionWhenLimitExceeded"
        )
    ).body.policy_version
    assert v6.version_id == "v6" and not v6.is_default_version
    vs = client.list_policy_versions(rm.ListPolicyVersionsRequest(policy_name=name)).body.policy_versions.policy_version
    assert sorted(v.version_id for v in vs) == ["v2", "v3", "v4", "v5", "v6"]
    assert [v.version_id for v in vs if v.is_default_version] == ["v5"]
    assert all(v.create_date for v in vs)

    # Set default, then the default cannot be deleted; another version can.
    client.set_default_policy_version(rm.SetDefaultPolicyVersionRequest(policy_name=name, version_id="v3"))
    g = client.get_policy(rm.GetPolicyRequest(policy_name=name, policy_type="Custom")).body
    assert g.policy.default_version == "v3" and g.default_policy_version.version_id == "v3"
    e = expect_sdk_error(
        lambda: client.delete_policy_version(rm.DeletePolicyVersionRequest(policy_name=name, version_id="v3")),
        "DeleteConflict.Policy.Version.Default",
        409,
    )
    assert e.code.startswith("DeleteConflict")
    client.delete_policy_version(rm.DeletePolicyVersionRequest(policy_name=name, version_id="v5"))
    vs = client.list_policy_versions(rm.ListPolicyVersionsRequest(policy_name=name)).body.policy_versions.policy_version
    assert sorted(v.version_id for v in vs) == ["v2", "v3", "v4", "v6"]

    gv = client.get_policy_version(rm.GetPolicyVersionRequest(policy_name=name, version_id="v4")).body.policy_version
    assert gv.version_id == "v4" and json.loads(gv.policy_document) == json.loads(docs["v4"])
    expect_sdk_error(
        lambda: client.get_policy_version(rm.GetPolicyVersionRequest(policy_name=name, version_id="v1")),
        "EntityNotExist.Policy.Version",
        404,
    )
    expect_sdk_error(
        lambda: client.set_default_policy_version(rm.SetDefaultPolicyVersionRequest(policy_name=name, version_id="v9")),
        "EntityNotExist.Policy.Version",
        404,
    )

    # Deleting the policy (non-default versions still there) — either refused with a
    # DeleteConflict or cascades; after removing them it must work.
    for v in ("v2", "v4", "v6"):
        client.delete_policy_version(rm.DeletePolicyVersionRequest(policy_name=name, version_id=v))
    client.delete_policy(rm.DeletePolicyRequest(policy_name=name))
    expect_sdk_error(
        lambda: client.get_policy(rm.GetPolicyRequest(policy_name=name, policy_type="Custom")), "EntityNotExist.Policy", 404
    )


def test_create_policy_version_bad_rotate_strategy(ram, make_policy):
    name = make_policy(h.policy_doc("oss:GetObject"))
    expect_sdk_error(
        lambda: ram.create_policy_version(
            rm.CreatePolicyVersionRequest(policy_name=name, policy_document=h.policy_doc("oss:*"), rotate_strategy="Bogus")
        ),
        "InvalidParameter.RotateStrategy",
        400,
    )


@pytest.mark.parametrize(
    "doc",
    [
        "[]",
        "{",
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject"}]}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Principal":{"RAM":"*"}}]}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"oss:GetObject","Resource":"*","Condition":{"NoSuchOperator":{"a":"b"}}}]}',
    ],
)
def test_create_policy_malformed(ram, doc):
    expect_sdk_error(
        lambda: ram.create_policy(rm.CreatePolicyRequest(policy_name=h.unique("bad"), policy_document=doc)),
        "MalformedPolicyDocument",
        400,
    )


def test_create_policy_too_long(ram):
    doc = json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": ["acs:oss:*:*:b/" + "k" * 6200]}]}
    )
    expect_sdk_error(
        lambda: ram.create_policy(rm.CreatePolicyRequest(policy_name=h.unique("big"), policy_document=doc)),
        "MalformedPolicyDocument",
        400,
    )


def test_policy_name_rules(ram):
    doc = h.policy_doc("oss:GetObject")
    expect_sdk_error(
        lambda: ram.create_policy(rm.CreatePolicyRequest(policy_name="bad.name", policy_document=doc)),
        "InvalidParameter.PolicyName.InvalidChars",
        400,
    )
    expect_sdk_error(
        lambda: ram.create_policy(rm.CreatePolicyRequest(policy_name="AliyunOSSReadOnlyAccess", policy_document=doc)),
        "EntityAlreadyExists.Policy",
        409,
    )


def test_system_policy_get_and_list(ram):
    g = ram.get_policy(rm.GetPolicyRequest(policy_name="AliyunOSSReadOnlyAccess", policy_type="System")).body
    assert g.policy.policy_type == "System" and g.default_policy_version.version_id == "v1"
    doc = json.loads(g.default_policy_version.policy_document)
    assert doc["Statement"][0]["Action"] == ["oss:Get*", "oss:List*"]
    expect_sdk_error(
        lambda: ram.get_policy(rm.GetPolicyRequest(policy_name="NoSuchSystemPolicy", policy_type="System")),
        "EntityNotExist.Policy",
        404,
    )
    expect_sdk_error(
        lambda: ram.get_policy(rm.GetPolicyRequest(policy_name="AliyunOSSReadOnlyAccess", policy_type="Weird")),
        "InvalidParameter.PolicyType",
        400,
    )
    listed = ram.list_policies(rm.ListPoliciesRequest(policy_type="System")).body.policies.policy
    names = {p.policy_name for p in listed}
    assert {"AliyunSTSAssumeRoleAccess", "AliyunOSSReadOnlyAccess", "AliyunRAMReadOnlyAccess"} <= names
    assert all(p.policy_type == "System" for p in listed)


def test_list_policies_custom(ram, make_policy):
    mine = {make_policy(h.policy_doc("oss:GetObject"), prefix="lp") for _ in range(3)}
    seen, marker = [], None
    while True:
        b = ram.list_policies(rm.ListPoliciesRequest(policy_type="Custom", marker=marker, max_items=2)).body
        items = b.policies.policy or []
        assert all(p.policy_type == "Custom" for p in items)
        seen.extend(p.policy_name for p in items)
        if not b.is_truncated:
            break
        marker = b.marker
    assert len(seen) == len(set(seen))
    assert mine <= set(seen)


# -- attachments ------------------------------------------------------------------------------


def test_attach_detach_role(ram, make_role, make_policy, sig, ep):
    client = h.ram_client(ep, ep.root, v2=sig)
    r = make_role()
    custom = make_policy(h.policy_doc("oss:GetObject"))
    client.attach_policy_to_role(
        rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunOSSReadOnlyAccess", role_name=r.role_name)
    )
    client.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=custom, role_name=r.role_name))
    ps = client.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=r.role_name)).body.policies.policy
    assert {(p.policy_name, p.policy_type) for p in ps} == {("AliyunOSSReadOnlyAccess", "System"), (custom, "Custom")}
    assert all(p.attach_date and p.default_version for p in ps)

    # Attaching twice is a conflict.
    e = expect_sdk_error(
        lambda: client.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=custom, role_name=r.role_name)
        ),
        "EntityAlreadyExists.Role.Policy",
        409,
    )
    assert e.status_code == 409

    # The attachment count shows.
    g = client.get_policy(rm.GetPolicyRequest(policy_name=custom, policy_type="Custom")).body.policy
    assert g.attachment_count == 1

    # Role with policies cannot be deleted; an attached policy cannot be deleted.
    expect_sdk_error(lambda: client.delete_role(rm.DeleteRoleRequest(role_name=r.role_name)), "DeleteConflict.Role.Policy", 409)
    with pytest.raises(ClientException) as ei:
        client.delete_policy(rm.DeletePolicyRequest(policy_name=custom))
    assert ei.value.status_code == 409 and ei.value.code.startswith("DeleteConflict.Policy"), ei.value.code

    client.detach_policy_from_role(
        rm.DetachPolicyFromRoleRequest(policy_type="System", policy_name="AliyunOSSReadOnlyAccess", role_name=r.role_name)
    )
    client.detach_policy_from_role(rm.DetachPolicyFromRoleRequest(policy_type="Custom", policy_name=custom, role_name=r.role_name))
    assert not client.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=r.role_name)).body.policies.policy
    with pytest.raises(ClientException) as ei:
        client.detach_policy_from_role(
            rm.DetachPolicyFromRoleRequest(policy_type="Custom", policy_name=custom, role_name=r.role_name)
        )
    assert ei.value.status_code == 404 and ei.value.code.startswith("EntityNotExist"), ei.value.code
    client.delete_policy(rm.DeletePolicyRequest(policy_name=custom))
    client.delete_role(rm.DeleteRoleRequest(role_name=r.role_name))


def test_attach_missing_things(ram, make_role):
    r = make_role()
    expect_sdk_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunNoSuchPolicy", role_name=r.role_name)
        ),
        "EntityNotExist.Policy",
        404,
    )
    expect_sdk_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=h.unique("none"), role_name=r.role_name)
        ),
        "EntityNotExist.Policy",
        404,
    )
    expect_sdk_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AliyunOSSReadOnlyAccess", role_name=h.unique("none"))
        ),
        "EntityNotExist.Role",
        404,
    )
    expect_sdk_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="Bogus", policy_name="AliyunOSSReadOnlyAccess", role_name=r.role_name)
        ),
        "InvalidParameter.PolicyType",
        400,
    )
    expect_sdk_error(
        lambda: ram.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=h.unique("none"))),
        "EntityNotExist.Role",
        404,
    )


def test_custom_policies_per_role_limit(ram, make_role, make_policy):
    r = make_role()
    for _ in range(5):
        p = make_policy(h.policy_doc("oss:GetObject"), prefix="lim")
        ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=p, role_name=r.role_name))
    p = make_policy(h.policy_doc("oss:GetObject"), prefix="lim")
    expect_sdk_error(
        lambda: ram.attach_policy_to_role(rm.AttachPolicyToRoleRequest(policy_type="Custom", policy_name=p, role_name=r.role_name)),
        "LimitExceeded.Role.Policy",
        409,
    )


def test_attach_detach_user(ram, make_user, make_policy):
    u = make_user()
    custom = make_policy(h.policy_doc("ram:GetRole"))
    ram.attach_policy_to_user(rm.AttachPolicyToUserRequest(policy_type="Custom", policy_name=custom, user_name=u.name))
    ram.attach_policy_to_user(
        rm.AttachPolicyToUserRequest(policy_type="System", policy_name="AliyunSTSAssumeRoleAccess", user_name=u.name)
    )
    ps = ram.list_policies_for_user(rm.ListPoliciesForUserRequest(user_name=u.name)).body.policies.policy
    assert {(p.policy_name, p.policy_type) for p in ps} == {(custom, "Custom"), ("AliyunSTSAssumeRoleAccess", "System")}
    expect_sdk_error(
        lambda: ram.attach_policy_to_user(rm.AttachPolicyToUserRequest(policy_type="Custom", policy_name=custom, user_name=u.name)),
        "EntityAlreadyExists.User.Policy",
        409,
    )
    with pytest.raises(ClientException) as ei:
        ram.delete_policy(rm.DeletePolicyRequest(policy_name=custom))
    assert ei.value.status_code == 409 and ei.value.code.startswith("DeleteConflict.Policy"), ei.value.code
    ram.detach_policy_from_user(rm.DetachPolicyFromUserRequest(policy_type="Custom", policy_name=custom, user_name=u.name))
    ps = ram.list_policies_for_user(rm.ListPoliciesForUserRequest(user_name=u.name)).body.policies.policy
    assert [p.policy_name for p in ps] == ["AliyunSTSAssumeRoleAccess"]
    ram.delete_policy(rm.DeletePolicyRequest(policy_name=custom))
    expect_sdk_error(
        lambda: ram.list_policies_for_user(rm.ListPoliciesForUserRequest(user_name=h.unique("none"))),
        "EntityNotExist.User",
        404,
    )


# -- XML through the old SDK ------------------------------------------------------------------


def _common(ep, action, fmt="XML", **params):
    from aliyunsdkcore.request import CommonRequest

    r = CommonRequest(domain=ep.ram, version=h.RAM_VERSION, action_name=action)
    r.set_protocol_type("http")
    r.set_method("POST")
    r.set_accept_format(fmt)
    for k, v in params.items():
        r.add_query_param(k, v)
    return r


def test_xml_via_old_sdk(ep, old, make_role):
    r = make_role()
    status, _headers, body, exc = old._implementation_of_do_action(_common(ep, "GetRole", RoleName=r.role_name))
    assert exc is None and status == 200, body
    root = ET.fromstring(body)
    assert root.tag == "GetRoleResponse"
    assert root.findtext("Role/RoleName") == r.role_name
    assert root.findtext("Role/Arn") == r.arn
    assert root.findtext("RequestId")

    # Lists repeat the item element.
    make_role()
    status, _h, body, exc = old._implementation_of_do_action(_common(ep, "ListRoles", MaxItems="2"))
    assert status == 200, body
    root = ET.fromstring(body)
    assert root.tag == "ListRolesResponse"
    assert len(root.findall("Roles/Role")) == 2
    assert root.findtext("IsTruncated") == "true"

    # Errors in XML too.
    status, _h, body, exc = old._implementation_of_do_action(_common(ep, "GetRole", RoleName=h.unique("none")))
    assert status == 404
    root = ET.fromstring(body)
    assert root.tag == "Error" and root.findtext("Code") == "EntityNotExist.Role" and root.findtext("RequestId")
    # The old SDK only parses JSON error bodies: on XML it reports SDK.UnknownServerError with the
    # raw body (its own limitation), but still a clean ServerException with the status.
    assert exc is not None and exc.http_status == 404 and "EntityNotExist.Role" in exc.message


def test_json_via_old_sdk(ep, old, make_role):
    r = make_role()
    body = old.do_action_with_exception(_common(ep, "GetRole", "JSON", RoleName=r.role_name))
    assert json.loads(body)["Role"]["RoleId"] == r.role_id
    from aliyunsdkcore.acs_exception.exceptions import ServerException

    with pytest.raises(ServerException) as ei:
        old.do_action_with_exception(_common(ep, "GetRole", "JSON", RoleName=h.unique("none")))
    assert (ei.value.error_code, ei.value.http_status) == ("EntityNotExist.Role", 404)
    assert ei.value.request_id


# -- authorization ----------------------------------------------------------------------------


def test_user_without_permissions_is_denied(ep, make_user, sig):
    u = make_user()
    ram = h.ram_client(ep, u.creds, v2=sig)
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    name = h.unique("denied")
    e = expect_sdk_error(
        lambda: ram.create_role(rm.CreateRoleRequest(role_name=name, assume_role_policy_document=trust)), "NoPermission", 403
    )
    assert "not authorized" in e.message
    _check_denied_detail(e, ep, u.name, "ram:CreateRole")
    expect_sdk_error(lambda: ram.list_roles(rm.ListRolesRequest()), "NoPermission", 403)
    expect_sdk_error(lambda: ram.create_user(rm.CreateUserRequest(user_name=h.unique("x"))), "NoPermission", 403)
    # Nothing was created.
    expect_sdk_error(lambda: h.ram_client(ep, ep.root).get_role(rm.GetRoleRequest(role_name=name)), "EntityNotExist.Role", 404)


def _check_denied_detail(e: ClientException, ep, display_name: str, action: str):
    d = e.data.get("AccessDeniedDetail")
    assert d, e.data
    assert d["AuthAction"] == action
    assert d["NoPermissionType"] in ("ImplicitDeny", "ExplicitDeny")
    assert d["AuthPrincipalOwnerId"] == ep.account_id
    assert d["AuthPrincipalDisplayName"] == display_name
    assert d["AuthPrincipalType"] == "SubUser"
    assert d["PolicyType"]
    base64.b64decode(d["EncodedDiagnosticMessage"], validate=True)
    # The SDK also exposes it as its own attribute.
    assert e.access_denied_detail, "ClientException.access_denied_detail is empty"
    assert e.access_denied_detail.get("AuthAction") == action


def test_read_only_user(ep, make_user, make_role):
    r = make_role()
    u = make_user("AliyunRAMReadOnlyAccess")
    ram = h.ram_client(ep, u.creds)
    assert ram.get_role(rm.GetRoleRequest(role_name=r.role_name)).body.role.role_id == r.role_id
    assert r.role_name in {x.role_name for x in _all_roles(ram)}
    ram.list_policies_for_role(rm.ListPoliciesForRoleRequest(role_name=r.role_name))
    ram.get_policy(rm.GetPolicyRequest(policy_name="AliyunOSSReadOnlyAccess", policy_type="System"))
    trust = h.trust_policy(f"acs:ram::{ep.account_id}:root")
    e = expect_sdk_error(
        lambda: ram.create_role(rm.CreateRoleRequest(role_name=h.unique("ro"), assume_role_policy_document=trust)),
        "NoPermission",
        403,
    )
    _check_denied_detail(e, ep, u.name, "ram:CreateRole")
    expect_sdk_error(lambda: ram.delete_role(rm.DeleteRoleRequest(role_name=r.role_name)), "NoPermission", 403)
    expect_sdk_error(
        lambda: ram.attach_policy_to_role(
            rm.AttachPolicyToRoleRequest(policy_type="System", policy_name="AdministratorAccess", role_name=r.role_name)
        ),
        "NoPermission",
        403,
    )
    # Self-escalation is refused too.
    expect_sdk_error(
        lambda: ram.attach_policy_to_user(
            rm.AttachPolicyToUserRequest(policy_type="System", policy_name="AdministratorAccess", user_name=u.name)
        ),
        "NoPermission",
        403,
    )


def test_resource_scoped_custom_policy(ep, make_user, make_role, make_policy):
    allowed, other = make_role(), make_role()
    pol = make_policy(h.policy_doc("ram:GetRole", f"acs:ram::{ep.account_id}:role/{allowed.role_name}"))
    u = make_user(custom=[pol])
    ram = h.ram_client(ep, u.creds)
    ram.get_role(rm.GetRoleRequest(role_name=allowed.role_name))
    expect_sdk_error(lambda: ram.get_role(rm.GetRoleRequest(role_name=other.role_name)), "NoPermission", 403)


def test_explicit_deny_wins(ep, make_user, make_role, make_policy):
    r = make_role()
    deny = make_policy(h.policy_doc("ram:GetRole", "*", effect="Deny"))
    u = make_user("AliyunRAMReadOnlyAccess", custom=[deny])
    ram = h.ram_client(ep, u.creds)
    e = expect_sdk_error(lambda: ram.get_role(rm.GetRoleRequest(role_name=r.role_name)), "NoPermission", 403)
    assert e.data["AccessDeniedDetail"]["NoPermissionType"] == "ExplicitDeny"
    ram.list_roles(rm.ListRolesRequest())


def test_policy_change_takes_effect_immediately(ep, ram, make_user, make_role):
    r = make_role()
    u = make_user()
    uram = h.ram_client(ep, u.creds)
    expect_sdk_error(lambda: uram.get_role(rm.GetRoleRequest(role_name=r.role_name)), "NoPermission", 403)
    ram.attach_policy_to_user(
        rm.AttachPolicyToUserRequest(policy_type="System", policy_name="AliyunRAMReadOnlyAccess", user_name=u.name)
    )
    uram.get_role(rm.GetRoleRequest(role_name=r.role_name))
    ram.detach_policy_from_user(
        rm.DetachPolicyFromUserRequest(policy_type="System", policy_name="AliyunRAMReadOnlyAccess", user_name=u.name)
    )
    expect_sdk_error(lambda: uram.get_role(rm.GetRoleRequest(role_name=r.role_name)), "NoPermission", 403)


def test_new_default_version_takes_effect(ep, ram, make_user, make_role, make_policy):
    r = make_role()
    pol = make_policy(h.policy_doc("ram:ListRoles"))
    u = make_user(custom=[pol])
    uram = h.ram_client(ep, u.creds)
    expect_sdk_error(lambda: uram.get_role(rm.GetRoleRequest(role_name=r.role_name)), "NoPermission", 403)
    ram.create_policy_version(
        rm.CreatePolicyVersionRequest(policy_name=pol, policy_document=h.policy_doc("ram:GetRole"), set_as_default=True)
    )
    uram.get_role(rm.GetRoleRequest(role_name=r.role_name))
    ram.set_default_policy_version(rm.SetDefaultPolicyVersionRequest(policy_name=pol, version_id="v1"))
    expect_sdk_error(lambda: uram.get_role(rm.GetRoleRequest(role_name=r.role_name)), "NoPermission", 403)


def test_user_manages_own_access_keys_only_with_permission(ep, make_user):
    u = make_user()
    ram = h.ram_client(ep, u.creds)
    expect_sdk_error(lambda: ram.list_access_keys(rm.ListAccessKeysRequest()), "NoPermission", 403)


def test_list_policies_all_types_paginates(ram, make_policy):
    """ListPolicies without PolicyType (system then custom) honours MaxItems on every page and
    lists every policy exactly once."""
    mine = {make_policy(h.policy_doc("oss:GetObject"), prefix="lpa") for _ in range(3)}
    seen, marker, pages = [], None, 0
    while True:
        b = ram.list_policies(rm.ListPoliciesRequest(marker=marker, max_items=2)).body
        items = b.policies.policy or []
        pages += 1
        assert len(items) <= 2, f"page {pages} has {len(items)} items with MaxItems=2"
        seen.extend((p.policy_type, p.policy_name) for p in items)
        if not b.is_truncated:
            break
        assert b.marker
        marker = b.marker
        assert pages < 2000
    assert len(seen) == len(set(seen)), "a policy was listed twice"
    names = {n for _, n in seen}
    assert mine <= names
    assert {"AliyunSTSAssumeRoleAccess", "AliyunRAMReadOnlyAccess"} <= names
    # Same set as the unpaginated listing of both types.
    system = {p.policy_name for p in ram.list_policies(rm.ListPoliciesRequest(policy_type="System", max_items=1000)).body.policies.policy}
    assert {n for t, n in seen if t == "System"} == system


def test_list_system_policies_paginates(ram):
    everything = {p.policy_name for p in ram.list_policies(rm.ListPoliciesRequest(policy_type="System", max_items=1000)).body.policies.policy}
    seen, marker = [], None
    while True:
        b = ram.list_policies(rm.ListPoliciesRequest(policy_type="System", marker=marker, max_items=3)).body
        items = b.policies.policy or []
        assert len(items) <= 3
        seen.extend(p.policy_name for p in items)
        if not b.is_truncated:
            break
        marker = b.marker
    assert len(seen) == len(set(seen)) and set(seen) == everything


def test_update_user_lengths(ram, make_user):
    u = make_user()
    for req in (
        rm.UpdateUserRequest(user_name=u.name, new_display_name="d" * 129),
        rm.UpdateUserRequest(user_name=u.name, new_comments="c" * 129),
    ):
        with pytest.raises(ClientException) as ei:
            ram.update_user(req)
        assert ei.value.status_code == 400 and ei.value.code.startswith("InvalidParameter."), ei.value.code
    got = ram.get_user(rm.GetUserRequest(user_name=u.name)).body.user
    assert got.display_name == u.name and not got.comments


def test_renamed_user_keeps_keys_and_policies(ep, ram, make_user):
    u = make_user("AliyunRAMReadOnlyAccess")
    new = u.name + "-renamed"
    ram.update_user(rm.UpdateUserRequest(user_name=u.name, new_user_name=new))
    ident = h.sts_client(ep, u.creds).get_caller_identity().body
    assert ident.arn == f"acs:ram::{ep.account_id}:user/{new}" and ident.user_id == u.user_id
    h.ram_client(ep, u.creds).list_roles(rm.ListRolesRequest(max_items=1))
    ps = ram.list_policies_for_user(rm.ListPoliciesForUserRequest(user_name=new)).body.policies.policy
    assert [p.policy_name for p in ps] == ["AliyunRAMReadOnlyAccess"]
    other = make_user()
    expect_sdk_error(
        lambda: ram.update_user(rm.UpdateUserRequest(user_name=new, new_user_name=other.name)), "EntityAlreadyExists.User", 409
    )


def test_access_key_of_another_user(ram, make_user):
    a, b = make_user(), make_user()
    expect_sdk_error(
        lambda: ram.update_access_key(
            rm.UpdateAccessKeyRequest(user_name=b.name, user_access_key_id=a.creds.access_key_id, status="Inactive")
        ),
        "EntityNotExist.User.AccessKey",
        404,
    )
    expect_sdk_error(
        lambda: ram.delete_access_key(rm.DeleteAccessKeyRequest(user_name=b.name, user_access_key_id=a.creds.access_key_id)),
        "EntityNotExist.User.AccessKey",
        404,
    )


def test_user_cannot_touch_root_keys(ep, ram, make_user):
    """A RAM user with full RAM access manages its own keys when it names no user, never the
    account's root keys."""
    u = make_user("AliyunRAMFullAccess")
    uram = h.ram_client(ep, u.creds)
    keys = uram.list_access_keys(rm.ListAccessKeysRequest()).body.access_keys.access_key
    assert [k.access_key_id for k in keys] == [u.creds.access_key_id]
    with pytest.raises(ClientException) as ei:
        uram.update_access_key(rm.UpdateAccessKeyRequest(user_access_key_id=ep.access_key_id, status="Inactive"))
    assert 400 <= ei.value.status_code < 500
    h.sts_client(ep, ep.root).get_caller_identity()


def test_role_session_cannot_touch_root_keys(ep, ram, assumer, make_role):
    """A role session, even with full RAM access, must not list, create, disable or delete the
    account's root AccessKeys by leaving out UserName (that would hand it the root account)."""
    from alibabacloud_sts20150401 import models as sm

    role = make_role(system=["AliyunRAMFullAccess"])
    s = h.creds_of(
        h.sts_client(ep, assumer.creds).assume_role(sm.AssumeRoleRequest(role_arn=role.arn, role_session_name="esc")).body
    )
    sram = h.ram_client(ep, s)
    before = {k.access_key_id: k.status for k in ram.list_access_keys(rm.ListAccessKeysRequest()).body.access_keys.access_key}

    def refused(fn):
        with pytest.raises(ClientException) as ei:
            fn()
        assert 400 <= ei.value.status_code < 500, ei.value.code

    refused(lambda: sram.list_access_keys(rm.ListAccessKeysRequest()))
    refused(lambda: sram.create_access_key(rm.CreateAccessKeyRequest()))
    refused(lambda: sram.update_access_key(rm.UpdateAccessKeyRequest(user_access_key_id=ep.access_key_id, status="Inactive")))
    refused(lambda: sram.delete_access_key(rm.DeleteAccessKeyRequest(user_access_key_id=ep.access_key_id)))
    after = {k.access_key_id: k.status for k in ram.list_access_keys(rm.ListAccessKeysRequest()).body.access_keys.access_key}
    assert after == before
    # Naming a user works as usual.
    keys = sram.list_access_keys(rm.ListAccessKeysRequest(user_name=assumer.name)).body.access_keys.access_key
    assert [k.access_key_id for k in keys] == [assumer.creds.access_key_id]
