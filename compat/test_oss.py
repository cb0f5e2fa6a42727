"""OSS through the official SDKs, unchanged: oss2 2.19.1 (V1 with `Auth`, `StsAuth` and
`ProviderAuth` over the seed's credentials chain fed by a local credentials-URI server; V4 with
`AuthV4` / `ProviderAuthV4` and `region=`) and alibabacloud-oss-v2 1.4.1 (V4 and V1 mode, path
style, plain HTTP).

Covered: bucket and object lifecycle, listings with delimiters, paging and URL encoding, range
reads, copy, batch delete, a 20 MiB `oss2.resumable_upload` (multipart) and resumable download,
presigned GETs (`bucket.sign_url`, V1 and V4), and denials: a role with AliyunOSSReadOnlyAccess
cannot put, a role limited to one prefix cannot read another, tampered tokens, wrong secrets and
unknown keys are refused with the vendor's codes.

Not covered here, on purpose: token *expiry*. The shortest STS session is 900 s and keyless has no
test clock over HTTP; `SecurityTokenExpired` (and expired presigned URLs, and request-time skew)
are covered by the Rust tests with a manual clock (`crates/server/tests/oss_auth.rs`).
"""

from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import alibabacloud_oss_v2 as ossv2
import oss2
import pytest
from alibabacloud_sts20150401 import models as sm

import helpers as h

TIMEOUT = h.HTTP_TIMEOUT


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def env(keyless) -> dict:
    """endpoints.env of the running `keyless up`."""
    out = {}
    for line in (Path(keyless.data_dir) / "endpoints.env").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    for k in ("KEYLESS_OSS_ENDPOINT", "KEYLESS_OSS_BUCKET", "KEYLESS_REGION"):
        assert out.get(k), f"{k} missing from endpoints.env"
    return out


@pytest.fixture(scope="module")
def endpoint(env) -> str:
    return "http://" + env["KEYLESS_OSS_ENDPOINT"]


@pytest.fixture(scope="module")
def ws_bucket(env) -> str:
    """The workspace's default bucket, owned by the root account."""
    return env["KEYLESS_OSS_BUCKET"]


def unique_bucket() -> str:
    return f"kl-{uuid.uuid4().hex[:16]}"


def unique_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}/"


def oss2_auth(kind: str, creds: h.Creds):
    if kind == "v1":
        if creds.security_token:
            return oss2.StsAuth(creds.access_key_id, creds.access_key_secret, creds.security_token)
        return oss2.Auth(creds.access_key_id, creds.access_key_secret)
    if kind == "v4":
        provider = oss2.credentials.StaticCredentialsProvider(
            creds.access_key_id, creds.access_key_secret, creds.security_token or ""
        )
        return oss2.ProviderAuthV4(provider) if creds.security_token else oss2.AuthV4(
            creds.access_key_id, creds.access_key_secret
        )
    raise ValueError(kind)


def oss2_bucket(env, endpoint, name, auth, kind="v1", **kw) -> oss2.Bucket:
    if kind == "v4" or isinstance(auth, oss2.ProviderAuthV4):
        kw["region"] = env["KEYLESS_REGION"]
    return oss2.Bucket(auth, endpoint, name, connect_timeout=TIMEOUT, **kw)


def v2_client(env, creds: h.Creds, v1: bool = False) -> ossv2.Client:
    cfg = ossv2.config.load_default()
    cfg.credentials_provider = ossv2.credentials.StaticCredentialsProvider(
        creds.access_key_id, creds.access_key_secret, creds.security_token
    )
    cfg.region = env["KEYLESS_REGION"]
    cfg.endpoint = "http://" + env["KEYLESS_OSS_ENDPOINT"]
    cfg.use_path_style = True
    cfg.disable_ssl = True
    cfg.retry_max_attempts = 1
    if v1:
        cfg.signature_version = "v1"
    return ossv2.Client(cfg)


def v2_error(fn):
    """Runs `fn`, expecting an oss-v2 service error; returns it."""
    with pytest.raises(ossv2.exceptions.OperationError) as ei:
        fn()
    err = ei.value.unwrap()
    assert isinstance(err, ossv2.exceptions.ServiceError), repr(err)
    assert err.request_id, err
    return err


def assume(ep, assumer, role, **kw) -> h.Creds:
    body = h.sts_client(ep, assumer.creds).assume_role(
        sm.AssumeRoleRequest(role_arn=role.arn, role_session_name="oss-compat", **kw)
    ).body
    return h.creds_of(body)


@pytest.fixture
def credentials_uri(monkeypatch):
    """A local credentials-URI endpoint serving whatever `set(creds)` stored; the seed's
    `providers.DefaultCredentialsProvider()` reaches it through ALIBABA_CLOUD_CREDENTIALS_URI."""
    state = {"creds": None, "hits": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            state["hits"] += 1
            c = state["creds"]
            body = json.dumps(
                {
                    "Code": "Success",
                    "AccessKeyId": c.access_key_id,
                    "AccessKeySecret": c.access_key_secret,
                    "SecurityToken": c.security_token,
                    "Expiration": state["expiration"],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    for k in ("ALIBABA_CLOUD_ACCESS_KEY_ID", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALIBABA_CLOUD_SECURITY_TOKEN",
              "ALIBABA_CLOUD_ECS_METADATA", "ALIBABA_CLOUD_ROLE_ARN", "ALIBABA_CLOUD_OIDC_TOKEN_FILE"):
        monkeypatch.delenv(k, raising=False)
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", f"http://127.0.0.1:{srv.server_address[1]}/credentials")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(Path(__file__).parent / "no-such-credentials.ini"))

    def set_creds(creds: h.Creds, expiration: str):
        state["creds"] = creds
        state["expiration"] = expiration

    state["set"] = set_creds
    try:
        yield state
    finally:
        srv.shutdown()
        srv.server_close()


# -- oss2 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_oss2_bucket_and_object_lifecycle(env, endpoint, root, kind):
    auth = oss2_auth(kind, root)
    name = unique_bucket()
    b = oss2_bucket(env, endpoint, name, auth, kind)
    b.create_bucket()
    info = b.get_bucket_info()
    assert info.name == name
    assert info.owner.id == env["KEYLESS_ACCOUNT_ID"]
    assert info.location == "oss-" + env["KEYLESS_REGION"]
    svc = oss2.Service(auth, endpoint, connect_timeout=TIMEOUT, **({"region": env["KEYLESS_REGION"]} if kind == "v4" else {}))
    names = [x.name for x in oss2.BucketIterator(svc)]
    assert name in names and env["KEYLESS_OSS_BUCKET"] in names

    data = b"hello from oss2 " + kind.encode()
    r = b.put_object("dir/obj one.txt", data, headers={"Content-Type": "text/plain", "x-oss-meta-who": "compat"})
    assert r.etag == hashlib.md5(data).hexdigest().upper()
    g = b.get_object("dir/obj one.txt")
    assert g.read() == data
    assert g.headers["Content-Type"] == "text/plain"
    assert g.headers["x-oss-meta-who"] == "compat"
    hd = b.head_object("dir/obj one.txt")
    assert hd.content_length == len(data) and hd.etag == r.etag
    meta = b.get_object_meta("dir/obj one.txt")
    assert meta.content_length == len(data)
    assert b.object_exists("dir/obj one.txt") and not b.object_exists("dir/nope")
    b.copy_object(name, "dir/obj one.txt", "dir/copy.txt")
    assert b.get_object("dir/copy.txt").read() == data

    with pytest.raises(oss2.exceptions.NoSuchKey) as ei:
        b.get_object("dir/nope")
    assert ei.value.status == 404 and ei.value.request_id
    with pytest.raises(oss2.exceptions.NotFound):
        b.head_object("dir/nope")

    with pytest.raises(oss2.exceptions.BucketNotEmpty):
        b.delete_bucket()
    res = b.batch_delete_objects(["dir/obj one.txt", "dir/copy.txt"])
    assert sorted(res.deleted_keys) == ["dir/copy.txt", "dir/obj one.txt"]
    b.delete_object("dir/already-gone")
    b.delete_bucket()
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        b.get_bucket_info()


KEYS = ["a b+c.txt", "dir/1.txt", "dir/2.txt", "dir/sub/3.txt", "日本/ü%.txt", "z&<>'\".txt"]


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_oss2_listings_with_delimiters_and_url_encoding(env, endpoint, root, ws_bucket, kind):
    b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, root), kind)
    p = unique_prefix()
    for k in KEYS:
        b.put_object(p + k, k.encode())
    # ObjectIterator sends encoding-type=url; keys come back decoded.
    top = list(oss2.ObjectIterator(b, prefix=p, delimiter="/", max_keys=2))
    files = [o.key for o in top if not o.is_prefix()]
    dirs = [o.key for o in top if o.is_prefix()]
    assert files == [p + "a b+c.txt", p + "z&<>'\".txt"]
    assert dirs == [p + "dir/", p + "日本/"]
    every = [o.key for o in oss2.ObjectIterator(b, prefix=p, max_keys=2)]
    assert every == [p + k for k in sorted(KEYS, key=lambda s: s.encode())]
    v2 = [o.key for o in oss2.ObjectIteratorV2(b, prefix=p, max_keys=2)]
    assert v2 == every
    v2d = list(oss2.ObjectIteratorV2(b, prefix=p + "dir/", delimiter="/", fetch_owner=True))
    assert [o.key for o in v2d] == [p + "dir/1.txt", p + "dir/2.txt", p + "dir/sub/"]
    assert v2d[0].owner.id == env["KEYLESS_ACCOUNT_ID"]
    # All six Contents fields.
    res = b.list_objects(prefix=p + "dir/1")
    (o,) = res.object_list
    assert (o.key, o.size, o.type, o.storage_class) == (p + "dir/1.txt", 9, "Normal", "Standard")
    assert o.etag == hashlib.md5(b"dir/1.txt").hexdigest().upper() and o.last_modified > 0
    start = b.list_objects_v2(prefix=p, start_after=p + "dir/sub/3.txt")
    assert [x.key for x in start.object_list] == [p + "z&<>'\".txt", p + "日本/ü%.txt"]
    for k in KEYS:
        b.delete_object(p + k)


def test_oss2_range_reads(env, endpoint, root, ws_bucket):
    b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", root))
    key = unique_prefix() + "range.bin"
    data = bytes(range(256)) * 4
    b.put_object(key, data)
    r = b.get_object(key, byte_range=(10, 19))
    assert r.status == 206 and r.read() == data[10:20]
    assert r.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert b.get_object(key, byte_range=(1000, None)).read() == data[1000:]
    assert b.get_object(key, byte_range=(None, 24)).read() == data[-24:]
    # Out of range: the vendor serves the whole object.
    full = b.get_object(key, byte_range=(5000, 6000))
    assert full.status == 200 and full.read() == data
    b.delete_object(key)


def test_oss2_resumable_upload_20mib(env, endpoint, root, ws_bucket, tmp_path):
    b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", root))
    key = unique_prefix() + "big.bin"
    data = os.urandom(20 << 20)
    src = tmp_path / "big.bin"
    src.write_bytes(data)
    r = oss2.resumable_upload(
        b, key, str(src), multipart_threshold=1 << 20, part_size=4 << 20, num_threads=4,
        store=oss2.ResumableStore(root=str(tmp_path)),
    )
    assert r.etag.endswith("-5"), r.etag
    head = b.head_object(key)
    assert head.content_length == len(data) and head.object_type == "Multipart"
    out = tmp_path / "out.bin"
    oss2.resumable_download(
        b, key, str(out), multiget_threshold=1 << 20, part_size=4 << 20, num_threads=4,
        store=oss2.ResumableDownloadStore(root=str(tmp_path)),
    )
    assert hashlib.md5(out.read_bytes()).digest() == hashlib.md5(data).digest()
    assert hashlib.md5(b.get_object(key).read()).digest() == hashlib.md5(data).digest()
    b.delete_object(key)


@pytest.mark.parametrize("kind", ["v1", "v4"])
def test_oss2_presigned_get(env, endpoint, root, ws_bucket, kind):
    b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, root), kind)
    key = unique_prefix() + "signed file+1.txt"
    b.put_object(key, b"presigned")
    url = b.sign_url("GET", key, 60)
    with urllib.request.urlopen(url, timeout=TIMEOUT) as resp:
        assert resp.status == 200 and resp.read() == b"presigned"
    if kind == "v1":
        expired = b.sign_url("GET", key, -10)
        with pytest.raises(urllib.error.HTTPError) as ei:
            urllib.request.urlopen(expired, timeout=TIMEOUT)
        assert ei.value.code == 403 and b"AccessDenied" in ei.value.read()
    tampered = url.replace(key.split("/")[0], unique_prefix().rstrip("/"))
    with pytest.raises(urllib.error.HTTPError) as ei:
        urllib.request.urlopen(tampered, timeout=TIMEOUT)
    assert ei.value.code == 403 and b"SignatureDoesNotMatch" in ei.value.read()
    b.delete_object(key)


# -- alibabacloud-oss-v2 ----------------------------------------------------------------------


@pytest.mark.parametrize("v1", [False, True], ids=["v4", "v1"])
def test_oss_v2_lifecycle_and_listings(env, root, ws_bucket, v1):
    c = v2_client(env, root, v1)
    name = unique_bucket()
    c.put_bucket(ossv2.PutBucketRequest(bucket=name))
    assert name in [x.name for x in c.list_buckets(ossv2.ListBucketsRequest()).buckets]
    assert c.get_bucket_info(ossv2.GetBucketInfoRequest(bucket=name)).bucket_info.name == name
    for k in KEYS:
        r = c.put_object(ossv2.PutObjectRequest(bucket=name, key=k, body=k.encode()))
        assert r.status_code == 200 and r.etag == '"' + hashlib.md5(k.encode()).hexdigest().upper() + '"'
    g = c.get_object(ossv2.GetObjectRequest(bucket=name, key="a b+c.txt"))
    assert g.body.read() == b"a b+c.txt"
    g = c.get_object(ossv2.GetObjectRequest(bucket=name, key="a b+c.txt", range_header="bytes=2-4"))
    assert g.status_code == 206 and g.body.read() == b"b+c"
    hd = c.head_object(ossv2.HeadObjectRequest(bucket=name, key="dir/1.txt"))
    assert hd.content_length == 9
    err = v2_error(lambda: c.head_object(ossv2.HeadObjectRequest(bucket=name, key="nope")))
    assert (err.status_code, err.code) == (404, "NoSuchKey")
    err = v2_error(lambda: c.get_object(ossv2.GetObjectRequest(bucket=name, key="nope")))
    assert (err.status_code, err.code) == (404, "NoSuchKey")

    keys = []
    for page in c.list_objects_v2_paginator().iter_page(ossv2.ListObjectsV2Request(bucket=name, max_keys=2)):
        keys += [o.key for o in page.contents or []]
    assert keys == sorted(KEYS, key=lambda s: s.encode())
    r = c.list_objects_v2(ossv2.ListObjectsV2Request(bucket=name, delimiter="/"))
    assert [o.key for o in r.contents] == ["a b+c.txt", "z&<>'\".txt"]
    assert [p.prefix for p in r.common_prefixes] == ["dir/", "日本/"]
    r = c.list_objects(ossv2.ListObjectsRequest(bucket=name, prefix="dir/", delimiter="/"))
    assert [o.key for o in r.contents] == ["dir/1.txt", "dir/2.txt"]
    assert [p.prefix for p in r.common_prefixes] == ["dir/sub/"]

    err = v2_error(lambda: c.delete_bucket(ossv2.DeleteBucketRequest(bucket=name)))
    assert (err.status_code, err.code) == (409, "BucketNotEmpty")
    d = c.delete_multiple_objects(
        ossv2.DeleteMultipleObjectsRequest(bucket=name, objects=[ossv2.DeleteObject(key=k) for k in KEYS])
    )
    assert sorted(o.key for o in d.deleted_objects) == sorted(KEYS)
    c.delete_bucket(ossv2.DeleteBucketRequest(bucket=name))
    err = v2_error(lambda: c.get_bucket_info(ossv2.GetBucketInfoRequest(bucket=name)))
    assert (err.status_code, err.code) == (404, "NoSuchBucket")


def test_oss_v2_multipart(env, root, ws_bucket):
    c = v2_client(env, root)
    key = unique_prefix() + "mp.bin"
    parts = [os.urandom(256 * 1024), os.urandom(256 * 1024), b"tail"]
    up = c.initiate_multipart_upload(ossv2.InitiateMultipartUploadRequest(bucket=ws_bucket, key=key))
    done = []
    for i, p in enumerate(parts, 1):
        r = c.upload_part(ossv2.UploadPartRequest(bucket=ws_bucket, key=key, upload_id=up.upload_id, part_number=i, body=p))
        done.append(ossv2.UploadPart(part_number=i, etag=r.etag))
    listed = c.list_parts(ossv2.ListPartsRequest(bucket=ws_bucket, key=key, upload_id=up.upload_id))
    assert [p.part_number for p in listed.parts] == [1, 2, 3]
    r = c.complete_multipart_upload(
        ossv2.CompleteMultipartUploadRequest(
            bucket=ws_bucket, key=key, upload_id=up.upload_id,
            complete_multipart_upload=ossv2.CompleteMultipartUpload(parts=done),
        )
    )
    assert r.etag.endswith('-3"'), r.etag
    assert c.get_object(ossv2.GetObjectRequest(bucket=ws_bucket, key=key)).body.read() == b"".join(parts)
    c.delete_object(ossv2.DeleteObjectRequest(bucket=ws_bucket, key=key))


# -- STS credentials --------------------------------------------------------------------------


def test_sts_sessions_in_every_client(ep, env, endpoint, ws_bucket, assumer, make_role, credentials_uri):
    from alibabacloud_credentials import providers

    role = make_role(system=["AliyunOSSFullAccess"])
    s = assume(ep, assumer, role)
    assert s.access_key_id.startswith("STS.")
    p = unique_prefix()
    # oss2 StsAuth (V1, signed x-oss-security-token) and ProviderAuthV4.
    for kind in ("v1", "v4"):
        b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, s), kind)
        b.put_object(p + kind, kind.encode())
        assert b.get_object(p + kind).read() == kind.encode()
        assert [o.key for o in oss2.ObjectIterator(b, prefix=p + kind)] == [p + kind]
    # The seed's example: ProviderAuth over the legacy default chain, which ends at the
    # credentials URI.
    body = h.sts_client(ep, assumer.creds).assume_role(
        sm.AssumeRoleRequest(role_arn=role.arn, role_session_name="via-uri")
    ).body
    credentials_uri["set"](h.creds_of(body), body.credentials.expiration)
    auth = oss2.ProviderAuth(providers.DefaultCredentialsProvider())
    b = oss2.Bucket(auth, endpoint, ws_bucket, connect_timeout=TIMEOUT)
    assert [o.key for o in oss2.ObjectIterator(b, prefix=p)] == [p + "v1", p + "v4"]
    b.put_object(p + "provider", b"seed")
    assert credentials_uri["hits"] >= 2
    # oss-v2 in V4 (signed token) and V1 mode (unsigned `security-token` header).
    for v1 in (False, True):
        c = v2_client(env, s, v1)
        k = p + ("v2-v1" if v1 else "v2-v4")
        c.put_object(ossv2.PutObjectRequest(bucket=ws_bucket, key=k, body=b"v2"))
        assert c.get_object(ossv2.GetObjectRequest(bucket=ws_bucket, key=k)).body.read() == b"v2"
    root_b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", ep.root))
    for o in oss2.ObjectIterator(root_b, prefix=p):
        root_b.delete_object(o.key)


def test_read_only_role_cannot_put(ep, env, endpoint, ws_bucket, root, assumer, make_role):
    key = unique_prefix() + "ro.txt"
    oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", root)).put_object(key, b"readable")
    role = make_role(system=["AliyunOSSReadOnlyAccess"])
    s = assume(ep, assumer, role)
    for kind in ("v1", "v4"):
        b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, s), kind)
        assert b.get_object(key).read() == b"readable"
        assert key in [o.key for o in oss2.ObjectIterator(b, prefix=key)]
        with pytest.raises(oss2.exceptions.AccessDenied) as ei:
            b.put_object(key, b"overwrite")
        assert ei.value.status == 403 and ei.value.code == "AccessDenied"
        with pytest.raises(oss2.exceptions.AccessDenied):
            b.delete_object(key)
    err = v2_error(lambda: v2_client(env, s).put_object(ossv2.PutObjectRequest(bucket=ws_bucket, key=key, body=b"x")))
    assert (err.status_code, err.code) == (403, "AccessDenied")
    err = v2_error(lambda: v2_client(env, s, v1=True).put_object(ossv2.PutObjectRequest(bucket=ws_bucket, key=key, body=b"x")))
    assert (err.status_code, err.code) == (403, "AccessDenied")
    assert oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", root)).get_object(key).read() == b"readable"


def test_prefix_limited_role_cannot_read_another_prefix(ep, env, endpoint, ws_bucket, root, assumer, make_role, make_policy):
    base = unique_prefix()
    mine, theirs = base + "mine/", base + "theirs/"
    rb = oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", root))
    rb.put_object(mine + "a", b"a")
    rb.put_object(theirs + "b", b"b")
    doc = json.dumps({
        "Version": "1",
        "Statement": [
            {"Effect": "Allow", "Action": ["oss:GetObject", "oss:PutObject"],
             "Resource": f"acs:oss:*:*:{ws_bucket}/{mine}*"},
            {"Effect": "Allow", "Action": "oss:ListObjects", "Resource": f"acs:oss:*:*:{ws_bucket}",
             "Condition": {"StringLike": {"oss:Prefix": f"{mine}*"}}},
        ],
    })
    role = make_role(custom=[make_policy(doc)])
    s = assume(ep, assumer, role)
    for kind in ("v1", "v4"):
        b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, s), kind)
        assert b.get_object(mine + "a").read() == b"a"
        b.put_object(mine + kind, b"ok")
        assert [o.key for o in oss2.ObjectIterator(b, prefix=mine)] == [mine + "a", mine + "v1"] + ([mine + "v4"] if kind == "v4" else [])
        with pytest.raises(oss2.exceptions.AccessDenied):
            b.get_object(theirs + "b")
        with pytest.raises(oss2.exceptions.AccessDenied):
            b.put_object(theirs + "x", b"x")
        with pytest.raises(oss2.exceptions.AccessDenied):
            list(oss2.ObjectIterator(b, prefix=theirs))
    err = v2_error(lambda: v2_client(env, s).get_object(ossv2.GetObjectRequest(bucket=ws_bucket, key=theirs + "b")))
    assert (err.status_code, err.code) == (403, "AccessDenied")
    for k in (mine + "a", mine + "v1", mine + "v4", theirs + "b"):
        rb.delete_object(k)


def test_bad_credentials_are_refused(ep, env, endpoint, ws_bucket, root, assumer, make_role):
    role = make_role(system=["AliyunOSSFullAccess"])
    s = assume(ep, assumer, role)
    token = s.security_token
    mid = len(token) // 2
    tampered = token[:mid] + ("A" if token[mid] != "A" else "B") + token[mid + 1:]
    bad = h.Creds(s.access_key_id, s.access_key_secret, tampered)
    for kind in ("v1", "v4"):
        b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, bad), kind)
        with pytest.raises(oss2.exceptions.ServerError) as ei:
            b.get_object("anything")
        assert (ei.value.status, ei.value.code) == (403, "InvalidSecurityToken"), ei.value
    err = v2_error(lambda: v2_client(env, bad, v1=True).get_object(ossv2.GetObjectRequest(bucket=ws_bucket, key="x")))
    assert (err.status_code, err.code) == (403, "InvalidSecurityToken")

    wrong = h.Creds(root.access_key_id, "0" * 30)
    for kind in ("v1", "v4"):
        b = oss2_bucket(env, endpoint, ws_bucket, oss2_auth(kind, wrong), kind)
        with pytest.raises(oss2.exceptions.SignatureDoesNotMatch) as ei:
            b.get_object("anything")
        assert ei.value.status == 403
        assert ei.value.details.get("StringToSign"), ei.value.details
    ghost = h.Creds("LTAI" + "x" * 20, "0" * 30)
    with pytest.raises(oss2.exceptions.ServerError) as ei:
        oss2_bucket(env, endpoint, ws_bucket, oss2_auth("v1", ghost)).get_object("anything")
    assert (ei.value.status, ei.value.code) == (403, "InvalidAccessKeyId")
    # No credentials at all.
    with pytest.raises(oss2.exceptions.AccessDenied):
        oss2.Bucket(oss2.AnonymousAuth(), endpoint, ws_bucket).get_object("anything")
