#!/usr/bin/env python3
"""Generate the OSS and MaxCompute (ODPS) signature vectors of `keyless-sign` with the official SDKs.

Not run by the tests: the JSON files it writes are committed, and `tests/vectors.rs` checks them.
Companion of `generate.py` (the OpenAPI dialects), built the same way: every case runs the
*unchanged* client against a tiny local `http.server` that records the request exactly as it
arrived (method, request-target, headers in wire order, body) and answers with a canned body. The
expected signature is the one on the wire; the expected string to sign / canonical request is
captured by wrapping (not replacing) the SDK's own function. Dates are whatever the SDK chose.

Setup (outside the repository; PyPI only):

    python3 -m venv /tmp/ossvenv
    /tmp/ossvenv/bin/pip install oss2==2.19.1 alibabacloud-oss-v2==1.4.1 pyodps==0.13.2
    /tmp/ossvenv/bin/python crates/sign/tests/vectors/generate_oss_odps.py

Every OSS client talks to `http://127.0.0.1:<port>`, so both use path-style addressing
(`/bucket/key`); each file records the bucket and the decoded key under `resource`, which is what
the server's router hands to the verifier. Dialects:

* `oss_v1/*`: oss2 `Auth` / `StsAuth` (header `OSS AK:sig`, STS token in `x-oss-security-token`),
  oss2 `sign_url` (presigned `OSSAccessKeyId`/`Expires`/`Signature`[/`security-token`]), and
  alibabacloud-oss-v2 with `signature_version='v1'` (token in the unsigned `security-token` header)
  and its V1 `presign`.
* `oss_v4/*`: oss2 `ProviderAuthV4` / `StsAuth(..., auth_version='v4')` with `region=`, oss-v2's
  default V4 signer (1.4.1 never sends `AdditionalHeaders`), and V4 presigned URLs of both.
* `odps/*`: pyodps `list_tables` / `exist_table` against `http://127.0.0.1:<port>/api`, legacy
  (`ODPS AK:sig`) and V4 (`region_name=`), with `AliyunAccount` and `StsAccount`.
"""

import importlib.metadata as md
import json
import os
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

import requests

OUT = os.path.dirname(os.path.abspath(__file__))

AK = "LTAI5tTestAccessKeyId"
SECRET = "kl-Test/Secret+with=odd&chars"
STS_AK = "STS.NTestTemporaryAccessKey"
STS_SECRET = "HtTestTemporarySecretValue123"
STS_TOKEN = "CAIS+testSecurityToken/with+slashes==" * 3

BUCKET = "keyless-bkt"
REGION = "cn-hangzhou"
KEY_SIMPLE = "data/hello.txt"
KEY_ODD = "data/c d+e (1)/ü 目录*~'!.txt"
UPLOAD_ID = "0004B9894A22E5B1888A1E29F823****"


def version(pkg):
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "?"


# --------------------------------------------------------------------------- capture server

CAPTURED = []


def oss_response(method, path, query):
    """A canned answer good enough for the clients to finish (or fail after sending)."""
    q = dict(parse_qsl(query, keep_blank_values=True))
    headers = [("x-oss-request-id", "5C3D9778CC1C2AEDF85BC1A0")]
    if path == "/" and method == "GET":
        body = (b'<?xml version="1.0" encoding="UTF-8"?><ListAllMyBucketsResult><Owner><ID>1</ID>'
                b'<DisplayName>1</DisplayName></Owner><Buckets></Buckets></ListAllMyBucketsResult>')
    elif "uploads" in q and method == "POST":
        body = ('<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><Bucket>' + BUCKET
                + '</Bucket><Key>k</Key><UploadId>' + UPLOAD_ID
                + '</UploadId></InitiateMultipartUploadResult>').encode()
    elif "uploadId" in q and method == "POST":
        body = ('<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><Location>l</Location>'
                '<Bucket>' + BUCKET + '</Bucket><Key>k</Key><ETag>"0A-1"</ETag>'
                '</CompleteMultipartUploadResult>').encode()
    elif method == "GET" and path.count("/") == 2 and path.endswith("/"):
        body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>' + BUCKET
                + '</Name><Prefix></Prefix><Marker></Marker><MaxKeys>100</MaxKeys><Delimiter></Delimiter>'
                '<IsTruncated>false</IsTruncated><KeyCount>0</KeyCount></ListBucketResult>').encode()
    elif method == "GET":
        body = b"hello"
        headers += [("ETag", '"5D41402ABC4B2A76B9719D911017C592"'),
                    ("Last-Modified", "Sat, 28 Nov 2026 04:33:36 GMT")]
    else:
        body = b""
        headers += [("ETag", '"5D41402ABC4B2A76B9719D911017C592"')]
    return 200, headers, body


def odps_response(method, path, query):
    if path.endswith("/tables"):
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Tables><Marker></Marker>'
                b'<MaxItems>1000</MaxItems></Tables>')
        return 200, [("Content-Type", "application/xml")], body
    body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchObject</Code><Message>no</Message>'
            b'<RequestId>r</RequestId><HostId>h</HostId></Error>')
    return 404, [("Content-Type", "application/xml")], body


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        CAPTURED.append({
            "method": self.command,
            "target": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8", "replace"),
        })
        parts = urlsplit(self.path)
        responder = odps_response if parts.path.startswith("/api/") else oss_response
        status, headers, out = responder(self.command, parts.path, parts.query)
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

    def log_message(self, *args):
        pass


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # keep-alive connections the clients drop at exit


SERVER = QuietServer(("127.0.0.1", 0), Handler)
PORT = SERVER.server_address[1]
ENDPOINT = f"http://127.0.0.1:{PORT}"
threading.Thread(target=SERVER.serve_forever, daemon=True).start()


def capture_all(fn):
    CAPTURED.clear()
    try:
        fn()
    except Exception as e:  # the canned response may not satisfy every model; the request is what counts
        print(f"  (client raised after sending: {type(e).__name__}: {str(e)[:100]})")
    return list(CAPTURED)


def capture(fn):
    """Runs `fn` (one SDK call) and returns the single request the server saw."""
    seen = capture_all(fn)
    assert len(seen) == 1, f"expected one request, saw {len(seen)}: {[r['target'] for r in seen]}"
    return seen[0]


def header(req, name):
    for k, v in req["headers"]:
        if k.lower() == name:
            return v
    raise KeyError(name)


def write(dialect, case, description, source, ak, secret, req, expected, extra=None):
    parts = urlsplit(req["target"])
    doc = {
        "dialect": dialect,
        "description": description,
        "source": source,
        "access_key_id": ak,
        "access_key_secret": secret,
    }
    doc.update(extra or {})
    doc["request"] = {
        "method": req["method"],
        "path": parts.path,
        "query": parts.query,
        "headers": req["headers"],
        "body": req["body"],
    }
    doc["expected"] = expected
    os.makedirs(os.path.join(OUT, dialect), exist_ok=True)
    with open(os.path.join(OUT, dialect, case + ".json"), "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {dialect}/{case}.json")


def query_param(req, name):
    for k, v in parse_qsl(urlsplit(req["target"]).query, keep_blank_values=True):
        if k == name:
            return v
    raise KeyError(name)


def resource(bucket, key):
    return {"resource": {"bucket": bucket, "key": key}}


# --------------------------------------------------------------------------- oss2

class Oss2Capture:
    """Wraps oss2's private string-to-sign builders (name-mangled) to record what they return."""

    def __init__(self):
        from oss2.auth import ProviderAuth, ProviderAuthV4
        self.seen = {}
        seen = self.seen
        self.patches = []

        def wrap(cls, attr, slot):
            orig = getattr(cls, attr)

            def wrapped(*a, **kw):
                out = orig(*a, **kw)
                seen[slot] = out.decode("utf-8") if isinstance(out, bytes) else out
                return out

            setattr(cls, attr, wrapped)
            self.patches.append((cls, attr, orig))

        wrap(ProviderAuth, "_ProviderAuth__get_bytes_to_sign", "string_to_sign")
        wrap(ProviderAuthV4, "_ProviderAuthV4__get_canonical_request_bytes", "canonical_request")
        wrap(ProviderAuthV4, "_ProviderAuthV4__get_string_to_sign_bytes", "string_to_sign")

    def restore(self):
        for cls, attr, orig in self.patches:
            setattr(cls, attr, orig)


def oss2_cases():
    import oss2
    from oss2.credentials import StaticCredentialsProvider

    cap = Oss2Capture()
    src = f"oss2 {version('oss2')}, captured by a local http.server"

    def v1_expected(req):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.split(":", 1)[1],
                "string_to_sign": cap.seen["string_to_sign"]}

    def v4_expected(req):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.split("Signature=", 1)[1].split(",")[0].strip(),
                "canonical_request": cap.seen["canonical_request"],
                "string_to_sign": cap.seen["string_to_sign"]}

    # ---- V1, long-term key
    bucket = oss2.Bucket(oss2.Auth(AK, SECRET), ENDPOINT, BUCKET)

    req = capture(lambda: bucket.get_object(KEY_SIMPLE))
    write("oss_v1", "oss2_get_object", "oss2 V1 GetObject, plain key", src, AK, SECRET, req,
          v1_expected(req), resource(BUCKET, KEY_SIMPLE))

    req = capture(lambda: bucket.get_object(KEY_ODD, byte_range=(0, 9),
                                            params={"response-content-type": "text/plain; charset=utf-8",
                                                    "response-cache-control": "no-cache"}))
    write("oss_v1", "oss2_get_object_odd_key_range_response_params",
          "oss2 V1 GetObject, key with space/+/unicode, Range, response-* sub-resources (signed, decoded)",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: bucket.put_object(KEY_ODD, b"hello world",
                                            headers={"Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==",
                                                     "x-oss-meta-Author": "Zoë",
                                                     "x-oss-meta-a": "1",
                                                     "x-oss-object-acl": "private"}))
    write("oss_v1", "oss2_put_object_odd_key_md5_meta",
          "oss2 V1 PutObject, odd key, Content-MD5, Content-Type guessed, x-oss-meta-* and x-oss-object-acl",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: bucket.list_objects(prefix="data/c d+e", delimiter="/", max_keys=100))
    write("oss_v1", "oss2_list_objects",
          "oss2 V1 ListObjects with prefix/delimiter/max-keys/encoding-type=url (none signed)",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, ""))

    req = capture(lambda: bucket.list_objects_v2(prefix="data/", max_keys=100))
    write("oss_v1", "oss2_list_objects_v2",
          "oss2 V1 ListObjectsV2: empty continuation-token= is a bare signed sub-resource",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, ""))

    req = capture(lambda: bucket.init_multipart_upload(KEY_ODD))
    write("oss_v1", "oss2_initiate_multipart", "oss2 V1 InitiateMultipartUpload, POST ?uploads",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: bucket.upload_part(KEY_ODD, UPLOAD_ID, 1, b"part one"))
    write("oss_v1", "oss2_upload_part", "oss2 V1 UploadPart, PUT ?partNumber=1&uploadId=...",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: bucket.complete_multipart_upload(
        KEY_ODD, UPLOAD_ID, [oss2.models.PartInfo(1, '"7D0F2E1A"')]))
    write("oss_v1", "oss2_complete_multipart", "oss2 V1 CompleteMultipartUpload, POST ?uploadId=...",
          src, AK, SECRET, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: oss2.Service(oss2.Auth(AK, SECRET), ENDPOINT).list_buckets())
    write("oss_v1", "oss2_list_buckets", "oss2 V1 ListBuckets, service-level resource `/`",
          src, AK, SECRET, req, v1_expected(req), resource("", ""))

    # ---- V1, STS
    sts_bucket = oss2.Bucket(oss2.StsAuth(STS_AK, STS_SECRET, STS_TOKEN), ENDPOINT, BUCKET)
    req = capture(lambda: sts_bucket.get_object(KEY_SIMPLE))
    write("oss_v1", "oss2_sts_get_object",
          "oss2 V1 StsAuth GetObject: x-oss-security-token header, signed with the x-oss-* headers",
          src, STS_AK, STS_SECRET, req, v1_expected(req), resource(BUCKET, KEY_SIMPLE))

    # ---- V1 presigned URLs (the URL is then fetched with requests, as a browser would)
    def presigned(b, key, **kw):
        url = b.sign_url("GET", key, 3600, **kw)
        return capture(lambda: requests.get(url))

    cap.seen.clear()
    req = presigned(bucket, KEY_ODD)
    write("oss_v1", "oss2_presigned_get", "oss2 V1 sign_url GET, odd key (slash encoded as %2F)",
          src, AK, SECRET, req,
          {"signature": query_param(req, "Signature"), "string_to_sign": cap.seen["string_to_sign"],
           "presigned": True}, resource(BUCKET, KEY_ODD))

    cap.seen.clear()
    req = presigned(sts_bucket, KEY_SIMPLE, params={"response-content-disposition": "attachment"})
    write("oss_v1", "oss2_sts_presigned_get",
          "oss2 V1 StsAuth sign_url GET: security-token in the query (a signed sub-resource), response-*",
          src, STS_AK, STS_SECRET, req,
          {"signature": query_param(req, "Signature"), "string_to_sign": cap.seen["string_to_sign"],
           "presigned": True}, resource(BUCKET, KEY_SIMPLE))

    # ---- V4
    v4 = oss2.Bucket(oss2.ProviderAuthV4(StaticCredentialsProvider(AK, SECRET)), ENDPOINT, BUCKET,
                     region=REGION)
    req = capture(lambda: v4.get_object(KEY_SIMPLE))
    write("oss_v4", "oss2_get_object", "oss2 ProviderAuthV4 GetObject", src, AK, SECRET, req,
          v4_expected(req), resource(BUCKET, KEY_SIMPLE))

    req = capture(lambda: v4.put_object(KEY_ODD, b"hello world",
                                        headers={"Content-MD5": "XrY7u+Ae7tCTyyK7j1rNww==",
                                                 "x-oss-meta-Author": "Zoë"}))
    write("oss_v4", "oss2_put_object_odd_key",
          "oss2 ProviderAuthV4 PutObject, odd key (uri-encoded, '/' kept), Content-MD5, x-oss-meta-*",
          src, AK, SECRET, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: v4.list_objects(prefix="data/c d+e", delimiter="/", max_keys=100))
    write("oss_v4", "oss2_list_objects",
          "oss2 ProviderAuthV4 ListObjects: every query parameter signed, RFC 3986 encoded",
          src, AK, SECRET, req, v4_expected(req), resource(BUCKET, ""))

    req = capture(lambda: v4.upload_part(KEY_ODD, UPLOAD_ID, 1, b"part one"))
    write("oss_v4", "oss2_upload_part", "oss2 ProviderAuthV4 UploadPart, ?partNumber=1&uploadId=...",
          src, AK, SECRET, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: oss2.Service(oss2.AuthV4(AK, SECRET), ENDPOINT, region=REGION).list_buckets())
    write("oss_v4", "oss2_list_buckets", "oss2 AuthV4 ListBuckets, service-level `/`",
          src, AK, SECRET, req, v4_expected(req), resource("", ""))

    sts_v4 = oss2.Bucket(oss2.StsAuth(STS_AK, STS_SECRET, STS_TOKEN, auth_version="v4"), ENDPOINT, BUCKET,
                         region=REGION)
    req = capture(lambda: sts_v4.init_multipart_upload(KEY_SIMPLE))
    write("oss_v4", "oss2_sts_initiate_multipart",
          "oss2 StsAuth(v4) InitiateMultipartUpload: x-oss-security-token signed, bare `uploads`",
          src, STS_AK, STS_SECRET, req, v4_expected(req), resource(BUCKET, KEY_SIMPLE))

    cap.seen.clear()
    url = sts_v4.sign_url("GET", KEY_ODD, 3600)
    req = capture(lambda: requests.get(url))
    write("oss_v4", "oss2_sts_presigned_get",
          "oss2 StsAuth(v4) sign_url GET: x-oss-credential/date/expires/security-token in the query",
          src, STS_AK, STS_SECRET, req,
          {"signature": query_param(req, "x-oss-signature"), "presigned": True,
           "canonical_request": cap.seen["canonical_request"], "string_to_sign": cap.seen["string_to_sign"]},
          resource(BUCKET, KEY_ODD))

    cap.seen.clear()
    url = v4.sign_url("GET", KEY_SIMPLE, 600, headers={"Range": "bytes=0-9", "x-oss-meta-x": "y"},
                      params={"response-content-type": "text/plain"}, additional_headers=["range", "host"])
    req = capture(lambda: requests.get(url, headers={"Range": "bytes=0-9", "x-oss-meta-x": "y"}))
    write("oss_v4", "oss2_presigned_get_additional_headers",
          "oss2 ProviderAuthV4 sign_url with additional_headers=[range, host] (only range is in the request), "
          "an x-oss-meta-* header and a response-* parameter",
          src, AK, SECRET, req,
          {"signature": query_param(req, "x-oss-signature"), "presigned": True,
           "canonical_request": cap.seen["canonical_request"], "string_to_sign": cap.seen["string_to_sign"]},
          resource(BUCKET, KEY_SIMPLE))

    cap.restore()


# --------------------------------------------------------------------------- alibabacloud-oss-v2

class V2Capture:
    def __init__(self):
        from alibabacloud_oss_v2.signer.v1 import SignerV1
        from alibabacloud_oss_v2.signer.v4 import SignerV4
        self.seen = {}
        seen = self.seen
        self.patches = []

        def wrap(cls, attr, slot):
            orig = getattr(cls, attr)

            def wrapped(*a, **kw):
                out = orig(*a, **kw)
                seen[slot] = out
                return out

            setattr(cls, attr, wrapped)
            self.patches.append((cls, attr, orig))

        wrap(SignerV1, "_calc_string_to_sign", "string_to_sign")
        wrap(SignerV4, "_calc_canonical_request", "canonical_request")
        wrap(SignerV4, "_calc_string_to_sign", "string_to_sign")

    def restore(self):
        for cls, attr, orig in self.patches:
            setattr(cls, attr, orig)


def oss_v2_cases():
    import alibabacloud_oss_v2 as oss

    cap = V2Capture()
    src = f"alibabacloud-oss-v2 {version('alibabacloud-oss-v2')}, captured by a local http.server"

    # Note: `cfg.additional_headers` never reaches the signer in 1.4.1 (`_client.py` builds the
    # SigningContext without it), so oss-v2 never sends `AdditionalHeaders`.
    def client(token=None, v1=False):
        cfg = oss.config.load_default()
        cfg.credentials_provider = oss.credentials.StaticCredentialsProvider(
            STS_AK if token else AK, STS_SECRET if token else SECRET, token)
        cfg.region = REGION
        cfg.endpoint = ENDPOINT
        cfg.retryer = oss.retry.NopRetryer()
        if v1:
            cfg.signature_version = "v1"
        return oss.Client(cfg)

    def v4_expected(req):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.split("Signature=", 1)[1].split(",")[0].strip(),
                "canonical_request": cap.seen["canonical_request"],
                "string_to_sign": cap.seen["string_to_sign"]}

    def v1_expected(req):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.split(":", 1)[1],
                "string_to_sign": cap.seen["string_to_sign"]}

    ak = (AK, SECRET)
    sts = (STS_AK, STS_SECRET)

    # ---- V4 (default)
    c = client()
    req = capture(lambda: c.get_object(oss.GetObjectRequest(bucket=BUCKET, key=KEY_ODD, range_header="bytes=0-9")))
    write("oss_v4", "v2_get_object_odd_key_range", "oss-v2 V4 GetObject, odd key, Range (not signed)",
          src, *ak, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: c.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key=KEY_ODD, body=b"hello world", content_type="text/plain",
        metadata={"author": "Zoë", "a": "1"})))
    write("oss_v4", "v2_put_object_odd_key_meta", "oss-v2 V4 PutObject, odd key, content-type, x-oss-meta-*",
          src, *ak, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: c.list_objects(oss.ListObjectsRequest(
        bucket=BUCKET, prefix="data/c d+e", delimiter="/", max_keys=100, encoding_type="url")))
    write("oss_v4", "v2_list_objects", "oss-v2 V4 ListObjects (content-type/-md5 sent and signed on GET)",
          src, *ak, req, v4_expected(req), resource(BUCKET, ""))

    req = capture(lambda: c.list_objects_v2(oss.ListObjectsV2Request(
        bucket=BUCKET, prefix="data/", continuation_token="tok+en/=", max_keys=100)))
    write("oss_v4", "v2_list_objects_v2", "oss-v2 V4 ListObjectsV2 with a continuation-token needing encoding",
          src, *ak, req, v4_expected(req), resource(BUCKET, ""))

    req = capture(lambda: c.initiate_multipart_upload(oss.InitiateMultipartUploadRequest(bucket=BUCKET, key=KEY_ODD)))
    write("oss_v4", "v2_initiate_multipart", "oss-v2 V4 InitiateMultipartUpload, POST ?uploads",
          src, *ak, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: c.upload_part(oss.UploadPartRequest(
        bucket=BUCKET, key=KEY_ODD, upload_id=UPLOAD_ID, part_number=1, body=b"part one")))
    write("oss_v4", "v2_upload_part", "oss-v2 V4 UploadPart, ?partNumber=1&uploadId=...",
          src, *ak, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: c.complete_multipart_upload(oss.CompleteMultipartUploadRequest(
        bucket=BUCKET, key=KEY_ODD, upload_id=UPLOAD_ID,
        complete_multipart_upload=oss.CompleteMultipartUpload(parts=[oss.UploadPart(part_number=1, etag='"7D0F2E1A"')]))))
    write("oss_v4", "v2_complete_multipart", "oss-v2 V4 CompleteMultipartUpload, POST ?uploadId=...",
          src, *ak, req, v4_expected(req), resource(BUCKET, KEY_ODD))

    c_sts = client(token=STS_TOKEN)
    req = capture(lambda: c_sts.get_object(oss.GetObjectRequest(bucket=BUCKET, key=KEY_SIMPLE)))
    write("oss_v4", "v2_sts_get_object", "oss-v2 V4 GetObject with STS: x-oss-security-token signed",
          src, *sts, req, v4_expected(req), resource(BUCKET, KEY_SIMPLE))

    cap.seen.clear()
    pre = c_sts.presign(oss.GetObjectRequest(bucket=BUCKET, key=KEY_ODD), expires=timedelta(hours=1))
    req = capture(lambda: requests.get(pre.url, headers=pre.signed_headers))
    write("oss_v4", "v2_sts_presigned_get", "oss-v2 V4 presign GetObject with STS (x-oss-* query parameters)",
          src, *sts, req,
          {"signature": query_param(req, "x-oss-signature"), "presigned": True,
           "canonical_request": cap.seen["canonical_request"], "string_to_sign": cap.seen["string_to_sign"]},
          resource(BUCKET, KEY_ODD))

    # ---- V1 mode
    c1 = client(v1=True)
    req = capture(lambda: c1.get_object(oss.GetObjectRequest(bucket=BUCKET, key=KEY_ODD)))
    write("oss_v1", "v2_get_object_odd_key", "oss-v2 signature_version=v1 GetObject, odd key",
          src, *ak, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    req = capture(lambda: c1.put_object(oss.PutObjectRequest(
        bucket=BUCKET, key=KEY_SIMPLE, body=b"hello world", content_type="text/plain",
        metadata={"author": "Zoë"})))
    write("oss_v1", "v2_put_object_meta", "oss-v2 V1 PutObject, content-type, x-oss-meta-*",
          src, *ak, req, v1_expected(req), resource(BUCKET, KEY_SIMPLE))

    req = capture(lambda: c1.list_objects(oss.ListObjectsRequest(
        bucket=BUCKET, prefix="data/", delimiter="/", max_keys=100, encoding_type="url")))
    write("oss_v1", "v2_list_objects", "oss-v2 V1 ListObjects (query not signed)",
          src, *ak, req, v1_expected(req), resource(BUCKET, ""))

    req = capture(lambda: c1.upload_part(oss.UploadPartRequest(
        bucket=BUCKET, key=KEY_ODD, upload_id=UPLOAD_ID, part_number=1, body=b"part one")))
    write("oss_v1", "v2_upload_part", "oss-v2 V1 UploadPart, ?partNumber=1&uploadId=... (sorted, decoded)",
          src, *ak, req, v1_expected(req), resource(BUCKET, KEY_ODD))

    c1_sts = client(token=STS_TOKEN, v1=True)
    req = capture(lambda: c1_sts.get_object(oss.GetObjectRequest(bucket=BUCKET, key=KEY_SIMPLE)))
    write("oss_v1", "v2_sts_get_object",
          "oss-v2 V1 GetObject with STS: token in the unsigned `security-token` header",
          src, *sts, req, v1_expected(req), resource(BUCKET, KEY_SIMPLE))

    cap.seen.clear()
    pre = c1_sts.presign(oss.GetObjectRequest(bucket=BUCKET, key=KEY_ODD), expires=timedelta(hours=1))
    req = capture(lambda: requests.get(pre.url, headers=pre.signed_headers))
    write("oss_v1", "v2_sts_presigned_get", "oss-v2 V1 presign GetObject with STS (security-token signed)",
          src, *sts, req,
          {"signature": query_param(req, "Signature"), "string_to_sign": cap.seen["string_to_sign"],
           "presigned": True}, resource(BUCKET, KEY_ODD))

    cap.restore()


# --------------------------------------------------------------------------- pyodps

def odps_cases():
    from odps import ODPS
    from odps.accounts import BaseAccount, StsAccount

    seen = []
    orig = BaseAccount._build_canonical_str

    def wrapped(self, url_components, req):
        out = orig(self, url_components, req)
        seen.append(out)
        return out

    BaseAccount._build_canonical_str = wrapped
    src = f"pyodps {version('pyodps')}, captured by a local http.server (endpoint http://127.0.0.1:<port>/api)"
    endpoint = ENDPOINT + "/api"

    def pick(reqs, needle):
        for i, r in enumerate(reqs):
            if needle in urlsplit(r["target"]).path:
                return r, seen[i]
        raise KeyError(needle)

    def expected(req, canonical):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.rsplit(":", 1)[1], "canonical": canonical}

    extra = {"endpoint_prefix": "/api"}

    def run(o, fn):
        seen.clear()
        return capture_all(lambda: fn(o))

    cases = [
        ("list_tables_legacy", "list tables, legacy `ODPS AK:sig` (127.0.0.1 endpoint, no region)",
         ODPS(AK, SECRET, project="myproj", endpoint=endpoint), (AK, SECRET),
         lambda o: list(o.list_tables()), "/tables"),
        ("list_tables_prefix_legacy",
         "list tables with name prefix `a b+c/é`: pyodps unquotes the whole URL before parse_qsl, so `+` signs as a space",
         ODPS(AK, SECRET, project="myproj", endpoint=endpoint), (AK, SECRET),
         lambda o: list(o.list_tables(prefix="a b+c/é")), "/tables"),
        ("exist_table_odd_name_legacy", "GET a table whose name needs escaping (path unquoted when signing)",
         ODPS(AK, SECRET, project="myproj", endpoint=endpoint), (AK, SECRET),
         lambda o: o.exist_table("my table+x"), "/tables/"),
        ("list_tables_v4", "list tables with region_name: V4 `ODPS AK/date/region/odps/aliyun_v4_request:sig`",
         ODPS(AK, SECRET, project="myproj", endpoint=endpoint, region_name=REGION), (AK, SECRET),
         lambda o: list(o.list_tables()), "/tables"),
        ("list_tables_sts_v4", "StsAccount, V4: authorization-sts-token (unsigned) and x-pyodps-token-timestamp",
         ODPS(account=StsAccount(STS_AK, STS_SECRET, STS_TOKEN), project="myproj", endpoint=endpoint,
              region_name=REGION), (STS_AK, STS_SECRET),
         lambda o: list(o.list_tables(prefix="t")), "/tables"),
        ("list_tables_sts_legacy", "StsAccount, legacy signature",
         ODPS(account=StsAccount(STS_AK, STS_SECRET, STS_TOKEN), project="myproj", endpoint=endpoint),
         (STS_AK, STS_SECRET), lambda o: list(o.list_tables()), "/tables"),
    ]
    for name, desc, o, (ak, sk), fn, needle in cases:
        reqs = run(o, fn)
        assert len(reqs) == len(seen), (len(reqs), len(seen))
        req, canonical = pick(reqs, needle)
        write("odps", name, desc, src, ak, sk, req, expected(req, canonical), extra)

    BaseAccount._build_canonical_str = orig


if __name__ == "__main__":
    oss2_cases()
    oss_v2_cases()
    odps_cases()
    SERVER.shutdown()
