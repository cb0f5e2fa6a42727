"""MaxCompute (ODPS) through pyodps 0.13.2, unchanged, against a real `keyless up`: `ODPS(...)` with
the root key (legacy and V4 signatures) and with STS credentials of assumed roles, `list_tables`,
`get_table`, `exist_table`, `create_table`, `delete_table`, and what RAM policies allow.

Not covered here, on purpose: STS token expiry (`AuthenticationRequestExpired`, on which pyodps
reloads its account and retries once) needs a clock past the shortest session (900 s); the Rust
tests (`crates/server/tests/odps_auth.rs`) cover it with a manual clock.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from alibabacloud_sts20150401 import models as sm
from odps import ODPS, errors
from odps.accounts import StsAccount
from odps.models import TableSchema
from odps.types import Column, Partition

import helpers as h


@dataclass
class MaxCompute:
    endpoint: str  # http://host:port/api
    host: str  # host:port
    project: str
    region: str


@pytest.fixture(scope="module")
def mc(keyless) -> MaxCompute:
    env = {}
    for line in (keyless.data_dir / "endpoints.env").read_text().splitlines():
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            env[k] = v
    endpoint = env["KEYLESS_MAXCOMPUTE_ENDPOINT"]
    assert endpoint.endswith("/api"), endpoint
    return MaxCompute(
        endpoint=endpoint,
        host=endpoint[len("http://"):-len("/api")],
        project=env["KEYLESS_MAXCOMPUTE_PROJECT"],
        region=env["KEYLESS_REGION"],
    )


def connect(mc: MaxCompute, creds: h.Creds, v4: bool = False) -> ODPS:
    """`ODPS(...)` as a user writes it: an access key pair, or an `StsAccount` for STS credentials."""
    region = mc.region if v4 else None
    if creds.security_token:
        account = StsAccount(creds.access_key_id, creds.access_key_secret, creds.security_token)
        return ODPS(account=account, project=mc.project, endpoint=mc.endpoint, region_name=region)
    return ODPS(creds.access_key_id, creds.access_key_secret, mc.project, endpoint=mc.endpoint, region_name=region)


def table_name() -> str:
    return "t_" + uuid.uuid4().hex[:12]


@pytest.fixture
def session(ep, assumer, make_role):
    """`session(*system_policies)` → STS credentials of a fresh role with those policies."""

    def make(*policies: str) -> h.Creds:
        role = make_role(system=policies)
        body = h.sts_client(ep, assumer.creds).assume_role(
            sm.AssumeRoleRequest(role_arn=role.arn, role_session_name="pyodps")
        ).body
        return h.creds_of(body)

    return make


# -- the root key -----------------------------------------------------------------------------


@pytest.mark.parametrize("v4", [False, True], ids=["legacy", "v4"])
def test_table_lifecycle_with_root_key(mc, root, v4):
    o = connect(mc, root, v4)
    name = table_name()
    assert not o.exist_table(name)
    t = o.create_table(name, "id bigint, name string", if_not_exists=True)
    assert t.name == name
    # Again: a no-op with if_not_exists.
    o.create_table(name, "id bigint, name string", if_not_exists=True)
    assert o.exist_table(name)

    got = o.get_table(name)
    assert [(c.name, str(c.type).lower()) for c in got.table_schema.columns] == [("id", "bigint"), ("name", "string")]
    assert got.table_schema.partitions == []
    assert got.type.value == "MANAGED_TABLE"
    assert got.owner == f"acs:ram::{root_account(mc, root)}:root"

    listed = {t.name: t for t in o.list_tables()}
    assert name in listed
    text = str(listed[name])  # repr needs Type and Schema
    assert "id" in text and "bigint" in text and "MANAGED_TABLE" in text

    o.delete_table(name, if_exists=True)
    assert not o.exist_table(name)
    o.delete_table(name, if_exists=True)
    with pytest.raises(errors.NoSuchTable):
        o.delete_table(name)


def root_account(mc, root) -> str:
    """The account id, as pyodps sees it in the project's owner."""
    owner = connect(mc, root).get_project().owner
    return owner.split(":")[3]


def test_table_schema_with_partitions_and_comments(mc, root):
    o = connect(mc, root)
    name = table_name()
    schema = TableSchema(
        columns=[Column("a", "bigint", comment="it's a"), Column("b", "decimal(10,2)"), Column("c", "map<string,array<bigint>>")],
        partitions=[Partition("ds", "string", comment="day")],
    )
    o.create_table(name, schema, comment="a table", lifecycle=7)
    t = o.get_table(name)
    assert [(c.name, str(c.type).lower(), c.comment or "") for c in t.table_schema.simple_columns] == [
        ("a", "bigint", "it's a"),
        ("b", "decimal(10,2)", ""),
        ("c", "map<string,array<bigint>>", ""),
    ]
    assert [(p.name, str(p.type).lower(), p.comment) for p in t.table_schema.partitions] == [("ds", "string", "day")]
    assert t.lifecycle == 7
    assert t.comment == "a table"
    assert "partitions" in str(t)
    o.delete_table(name)


def test_list_tables_with_prefix(mc, root):
    o = connect(mc, root)
    prefix = "pfx_" + uuid.uuid4().hex[:8]
    names = [f"{prefix}_{i}" for i in range(3)]
    for n in names:
        o.create_table(n, ("id bigint", "ds string"))
    assert sorted(t.name for t in o.list_tables(prefix=prefix)) == names
    for t in o.list_tables(prefix=prefix):
        assert t.table_schema.partitions[0].name == "ds"
    for n in names:
        o.delete_table(n)
    assert list(o.list_tables(prefix=prefix)) == []


def test_unsupported_sql_fails_the_instance(mc, root):
    o = connect(mc, root)
    with pytest.raises(errors.ODPSError) as ei:
        o.execute_sql("SELECT 1")
    assert "not supported" in str(ei.value)
    with pytest.raises(errors.ParseError):
        o.execute_sql("CREATE TABLE broken (a bigint")


def test_bad_credentials(mc, root):
    with pytest.raises(errors.SignatureNotMatch):
        list(connect(mc, h.Creds(root.access_key_id, "wrong-secret")).list_tables())
    with pytest.raises(errors.Unauthorized):
        list(connect(mc, h.Creds("LTAInosuchkey00000000000", "x")).list_tables())


def test_error_body_shape(mc):
    r = h.raw(mc.host, "GET", f"/api/projects/{mc.project}/tables")
    assert r.status == 401
    assert r.headers["content-type"] == "application/xml"
    for tag in ("Code", "Message", "RequestId", "HostId"):
        assert f"<{tag}>" in r.body.decode(), r.body
    # pyodps's probes: a bare 404 for tenants.
    r = h.raw(mc.host, "GET", f"/api/tenants?curr_project={mc.project}")
    assert (r.status, r.body) == (404, b"")


# -- STS credentials of assumed roles ---------------------------------------------------------


@pytest.mark.parametrize("v4", [False, True], ids=["legacy", "v4"])
def test_full_access_role(mc, session, v4):
    creds = session("AliyunMaxComputeFullAccess")
    o = connect(mc, creds, v4)
    name = table_name()
    o.create_table(name, "id bigint", if_not_exists=True)
    assert o.exist_table(name)
    assert name in [t.name for t in o.list_tables(prefix=name)]
    assert o.get_table(name).owner.startswith("acs:ram::") and "assumed-role/" in o.get_table(name).owner
    o.delete_table(name, if_exists=True)
    assert not o.exist_table(name)
    # `ODPS(..., sts_token=...)` builds the same StsAccount.
    o2 = ODPS(creds.access_key_id, creds.access_key_secret, mc.project, endpoint=mc.endpoint, sts_token=creds.security_token)
    assert isinstance(o2.account, StsAccount)
    list(o2.list_tables())


def test_read_only_role_lists_but_cannot_create(mc, root, session):
    name = table_name()
    connect(mc, root).create_table(name, "id bigint, name string")
    o = connect(mc, session("AliyunMaxComputeReadOnlyAccess"))
    listed = [t for t in o.list_tables(prefix=name)]
    assert [t.name for t in listed] == [name]
    print(listed[0])
    t = o.get_table(name)
    assert [c.name for c in t.table_schema.columns] == ["id", "name"]
    assert o.exist_table(name)
    assert not o.exist_table(name + "_missing")
    with pytest.raises(errors.NoPermission):
        o.create_table(table_name(), "id bigint")
    with pytest.raises(errors.NoPermission):
        o.delete_table(name)
    assert connect(mc, root).exist_table(name)
    connect(mc, root).delete_table(name)


def test_pai_default_role_reads_but_does_not_create(mc, root, session):
    name = table_name()
    connect(mc, root).create_table(name, "id bigint")
    o = connect(mc, session("AliyunServiceRolePolicyForPaiEas"))
    assert name in [t.name for t in o.list_tables(prefix=name)]
    assert o.exist_table(name)
    # It may run instances; the statement itself is denied (the instance fails).
    with pytest.raises(errors.NoPermission) as ei:
        o.create_table(table_name(), "id bigint")
    assert "odps:CreateTable" in str(ei.value)
    connect(mc, root).delete_table(name)


def test_role_without_maxcompute_access_is_refused(mc, session):
    o = connect(mc, session("AliyunOSSReadOnlyAccess"))
    with pytest.raises(errors.NoPermission) as ei:
        list(o.list_tables())
    assert "odps:ListTables" in str(ei.value)
    with pytest.raises(errors.NoPermission):
        o.exist_table("anything")
    with pytest.raises(errors.NoPermission):
        o.create_table(table_name(), "id bigint")
