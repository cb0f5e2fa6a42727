#!/usr/bin/env python3
"""Generate the signature test vectors of `keyless-sign` with the official Alibaba Cloud SDKs.

Not run by the tests: the JSON files it writes are committed, and `tests/vectors.rs` checks them.

Every SDK case runs the *unchanged* client against a tiny local `http.server` that records the
request exactly as it arrived (method, request-target, headers in wire order, body) and answers with
a canned JSON body. The expected signature is the one the client put on the wire; the expected
string to sign / canonical request is captured by wrapping (not replacing) the SDK's own function.
Timestamps and nonces are whatever the SDK chose at generation time; the tests do not check skew.

Setup (outside the repository):

    python3 -m venv /tmp/signvenv
    /tmp/signvenv/bin/pip install alibabacloud-tea-openapi==0.4.6 alibabacloud-credentials==1.0.12 \
        aliyun-python-sdk-core==2.16.1 alibabacloud-openapi-util \
        alibabacloud_sts20150401 alibabacloud_eas20210701 aliyun-python-sdk-sts
    /tmp/signvenv/bin/python crates/sign/tests/vectors/generate.py

Versions used for the committed files are recorded in each file's `source` field.

Dialects and where each comes from:

* `rpc_v1/vendor_doc_create_user.json`: the RAM "Signature mechanism" document's CreateUser example
  (secret `testsecret`, signature `kRA2cnpJVacIhDMzXnoNZG9tDCI=`), copied, not generated.
* `rpc_v1/old_sdk_*`: aliyun-python-sdk-core (+ aliyun-python-sdk-sts), V1 HMAC-SHA1.
* `rpc_v1/tea_v2_*`: alibabacloud-sts20150401 on tea-openapi with `signature_algorithm="v2"`.
* `rpc_v1/credentials_*`: alibabacloud-credentials' RAM-role-ARN provider, which builds its string to
  sign with `quote_plus` (space -> `+` -> `%2B`). It hard-codes HTTPS, so `TeaCore.do_action` is
  wrapped to switch the already signed request to plain HTTP before it is sent (V1 does not sign the
  scheme or the host).
* `acs3/*`: tea-openapi default (ACS3-HMAC-SHA256), STS (RPC) and EAS (ROA) clients.
* `roa_v2/*`: EAS client with `signature_algorithm="v2"` (`authorization: acs AK:sig`).
"""

import importlib.metadata as md
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

OUT = os.path.dirname(os.path.abspath(__file__))

AK = "LTAI5tTestAccessKeyId"
SECRET = "kl-Test/Secret+with=odd&chars"
STS_AK = "STS.NTestTemporaryAccessKey"
STS_SECRET = "HtTestTemporarySecretValue123"
STS_TOKEN = "CAIS+testSecurityToken/with+slashes==" * 3

POLICY = ('{"Version": "1", "Statement": [{"Effect": "Allow", "Action": ["oss:GetObject"], '
          '"Resource": ["acs:oss:*:*:my bucket/*"]}]}')
ROLE_ARN = "acs:ram::1234567890123456:role/my-role"


def version(pkg):
    try:
        return md.version(pkg)
    except md.PackageNotFoundError:
        return "?"


# --------------------------------------------------------------------------- capture server

CAPTURED = []
RESPONSE = {"body": b"{}"}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        CAPTURED.append({
            "method": self.command,
            "target": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "body": body.decode("utf-8"),
        })
        out = RESPONSE["body"]
        self.send_response(200)
        self.send_header("Content-Type", "application/json;charset=utf-8")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = _handle

    def log_message(self, *args):
        pass


SERVER = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
PORT = SERVER.server_address[1]
ENDPOINT = f"127.0.0.1:{PORT}"
threading.Thread(target=SERVER.serve_forever, daemon=True).start()

ASSUME_ROLE_RESPONSE = json.dumps({
    "RequestId": "00000000-0000-0000-0000-000000000000",
    "AssumedRoleUser": {"Arn": ROLE_ARN + "/sess", "AssumedRoleId": "3000:sess"},
    "Credentials": {
        "AccessKeyId": STS_AK, "AccessKeySecret": STS_SECRET, "SecurityToken": STS_TOKEN,
        "Expiration": "2099-01-01T00:00:00Z",
    },
}).encode()


def capture(fn):
    """Runs `fn` (one SDK call) and returns the single request the server saw."""
    CAPTURED.clear()
    try:
        fn()
    except Exception as e:  # the canned response may not satisfy every model; the request is what counts
        print(f"  (client raised after sending: {type(e).__name__}: {str(e)[:80]})")
    assert len(CAPTURED) == 1, f"expected one request, saw {len(CAPTURED)}"
    return CAPTURED[0]


def split_target(req):
    parts = urlsplit(req["target"])
    return parts.path, parts.query


def header(req, name):
    for k, v in req["headers"]:
        if k.lower() == name:
            return v
    raise KeyError(name)


def write(dialect, case, description, source, ak, secret, req, expected):
    path, query = split_target(req)
    doc = {
        "dialect": dialect,
        "description": description,
        "source": source,
        "access_key_id": ak,
        "access_key_secret": secret,
        "request": {
            "method": req["method"],
            "path": path,
            "query": query,
            "headers": req["headers"],
            "body": req["body"],
        },
        "expected": expected,
    }
    os.makedirs(os.path.join(OUT, dialect), exist_ok=True)
    with open(os.path.join(OUT, dialect, case + ".json"), "w") as f:
        json.dump(doc, f, indent=2, ensure_ascii=False)
        f.write("\n")
    print(f"wrote {dialect}/{case}.json")


def v1_signature(req):
    params = parse_qsl(split_target(req)[1], keep_blank_values=True)
    params += parse_qsl(req["body"], keep_blank_values=True)
    return [v for k, v in params if k == "Signature"][0]


# --------------------------------------------------------------------------- RPC V1

def vendor_doc():
    # RAM API reference, "Signature mechanism", section "Example" (CreateUser). Copied verbatim.
    query = ("UserName=test&SignatureVersion=1.0&Format=JSON&Timestamp=2015-08-18T03%3A15%3A45Z"
             "&AccessKeyId=testid&SignatureMethod=HMAC-SHA1&Version=2015-05-01"
             "&Signature=kRA2cnpJVacIhDMzXnoNZG9tDCI%3D&Action=CreateUser"
             "&SignatureNonce=6a6e0ca6-4557-11e5-86a2-b8e8563dc8d2")
    req = {"method": "GET", "target": "/?" + query, "headers": [["Host", "ram.aliyuncs.com"]], "body": ""}
    write("rpc_v1", "vendor_doc_create_user",
          "vendor documentation example: RAM CreateUser, GET, secret testsecret",
          "Alibaba Cloud RAM API reference, 'Signature mechanism', Example section (copied)",
          "testid", "testsecret", req,
          {"signature": "kRA2cnpJVacIhDMzXnoNZG9tDCI=", "variant": "standard",
           "string_to_sign": "GET&%2F&AccessKeyId%3Dtestid%26Action%3DCreateUser%26Format%3DJSON"
                             "%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D6a6e0ca6-4557-11e5-86a2"
                             "-b8e8563dc8d2%26SignatureVersion%3D1.0%26Timestamp%3D2015-08-18T03%253A15"
                             "%253A45Z%26UserName%3Dtest%26Version%3D2015-05-01"})


def old_sdk():
    from aliyunsdkcore.client import AcsClient
    from aliyunsdkcore.auth.credentials import StsTokenCredential
    from aliyunsdkcore.auth.composer import rpc_signature_composer as rsc
    from aliyunsdksts.request.v20150401.AssumeRoleRequest import AssumeRoleRequest
    from aliyunsdksts.request.v20150401.GetCallerIdentityRequest import GetCallerIdentityRequest

    seen = {}
    orig = rsc.get_signed_url

    def wrapped(*a, **kw):
        url, sts = orig(*a, **kw)
        seen["sts"] = sts
        return url, sts

    rsc.get_signed_url = wrapped
    source = (f"aliyun-python-sdk-core {version('aliyun-python-sdk-core')} + aliyun-python-sdk-sts "
              f"{version('aliyun-python-sdk-sts')}, captured by a local http.server")
    RESPONSE["body"] = ASSUME_ROLE_RESPONSE

    def assume_role():
        client = AcsClient(AK, SECRET, "cn-hangzhou")
        r = AssumeRoleRequest()
        r.set_endpoint(ENDPOINT)
        r.set_protocol_type("http")
        r.set_RoleArn(ROLE_ARN)
        r.set_RoleSessionName("sess-1")
        r.set_DurationSeconds(3600)
        r.set_Policy(POLICY)
        r.set_ExternalId("abc=123 ~*")
        client.do_action_with_exception(r)

    req = capture(assume_role)
    write("rpc_v1", "old_sdk_assume_role",
          "old SDK AssumeRole, POST with every parameter in the query, Policy with spaces",
          source, AK, SECRET, req,
          {"signature": v1_signature(req), "variant": "standard", "string_to_sign": seen["sts"]})

    def caller_identity_token():
        client = AcsClient(region_id="cn-hangzhou",
                           credential=StsTokenCredential(STS_AK, STS_SECRET, STS_TOKEN))
        r = GetCallerIdentityRequest()
        r.set_endpoint(ENDPOINT)
        r.set_protocol_type("http")
        client.do_action_with_exception(r)

    req = capture(caller_identity_token)
    write("rpc_v1", "old_sdk_get_caller_identity_sts_token",
          "old SDK GetCallerIdentity with STS credentials (SecurityToken parameter)",
          source, STS_AK, STS_SECRET, req,
          {"signature": v1_signature(req), "variant": "standard", "string_to_sign": seen["sts"]})
    rsc.get_signed_url = orig


def tea_v2():
    from alibabacloud_tea_openapi.models import Config
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_sts20150401 import models as sts_models

    RESPONSE["body"] = ASSUME_ROLE_RESPONSE
    source = (f"alibabacloud_sts20150401 {version('alibabacloud_sts20150401')} on alibabacloud-tea-openapi "
              f"{version('alibabacloud-tea-openapi')} (signature_algorithm=v2), captured by a local http.server")

    def call():
        cfg = Config(access_key_id=AK, access_key_secret=SECRET, endpoint=ENDPOINT, protocol="http",
                     signature_algorithm="v2")
        StsClient(cfg).assume_role(sts_models.AssumeRoleRequest(
            role_arn=ROLE_ARN, role_session_name="sess-1", duration_seconds=3600,
            policy=POLICY, external_id="abc=123"))

    req = capture(call)
    write("rpc_v1", "tea_v2_assume_role",
          "tea-openapi RPC with signature_algorithm=v2 (V1 HMAC-SHA1), urlencode query (space as +)",
          source, AK, SECRET, req, {"signature": v1_signature(req), "variant": "standard"})


def credentials_lib():
    from alibabacloud_credentials.provider.ram_role_arn import RamRoleArnCredentialsProvider
    from alibabacloud_credentials.utils import parameter_helper as ph
    from Tea.core import TeaCore

    seen = {}
    orig_sts = ph.compose_string_to_sign
    orig_do = TeaCore.do_action

    def sts_wrapped(method, queries):
        seen["sts"] = orig_sts(method, queries)
        return seen["sts"]

    def do_wrapped(request, runtime_option=None):
        request.protocol = "http"  # signed already; V1 signs neither scheme nor host
        return orig_do(request, runtime_option)

    ph.compose_string_to_sign = sts_wrapped
    TeaCore.do_action = staticmethod(do_wrapped)
    RESPONSE["body"] = ASSUME_ROLE_RESPONSE
    source = (f"alibabacloud-credentials {version('alibabacloud-credentials')} RamRoleArnCredentialsProvider, "
              "captured by a local http.server")

    def call(**kw):
        def run():
            RamRoleArnCredentialsProvider(role_arn=ROLE_ARN, sts_endpoint=ENDPOINT, **kw).get_credentials()
        return run

    req = capture(call(access_key_id=AK, access_key_secret=SECRET, role_session_name="my session",
                       policy=POLICY, external_id="ext id=1"))
    write("rpc_v1", "credentials_quote_plus_assume_role",
          "credentials library AssumeRole (GET), string to sign built with quote_plus; values with spaces",
          source, AK, SECRET, req,
          {"signature": v1_signature(req), "variant": "quote_plus", "string_to_sign": seen["sts"]})

    req = capture(call(access_key_id=STS_AK, access_key_secret=STS_SECRET, security_token=STS_TOKEN,
                       role_session_name="chained session"))
    write("rpc_v1", "credentials_quote_plus_sts_token",
          "credentials library AssumeRole from STS credentials (SecurityToken), quote_plus string to sign",
          source, STS_AK, STS_SECRET, req,
          {"signature": v1_signature(req), "variant": "quote_plus", "string_to_sign": seen["sts"]})

    ph.compose_string_to_sign = orig_sts
    TeaCore.do_action = orig_do


# --------------------------------------------------------------------------- V3 and ROA v2

class TeaCapture:
    """Wraps tea-openapi's own helpers to record the canonical request / ROA string to sign."""

    def __init__(self):
        from alibabacloud_tea_openapi.utils import Utils
        self.Utils = Utils
        self.seen = {}
        self.orig_auth = Utils.get_authorization
        self.orig_hash = Utils.hash
        self.orig_sts = Utils.get_string_to_sign
        seen = self.seen
        orig_auth, orig_hash, orig_sts = self.orig_auth, self.orig_hash, self.orig_sts

        def hash_wrapped(raw, sign_type):
            if seen.get("in_auth"):
                seen["canonical_request"] = raw.decode("utf-8")
            return orig_hash(raw, sign_type)

        def auth_wrapped(request, sign_type, payload, ak, secret):
            seen["in_auth"] = True
            try:
                return orig_auth(request, sign_type, payload, ak, secret)
            finally:
                seen["in_auth"] = False

        def sts_wrapped(request):
            seen["string_to_sign"] = orig_sts(request)
            return seen["string_to_sign"]

        Utils.hash = staticmethod(hash_wrapped)
        Utils.get_authorization = staticmethod(auth_wrapped)
        Utils.get_string_to_sign = staticmethod(sts_wrapped)

    def restore(self):
        self.Utils.hash = staticmethod(self.orig_hash)
        self.Utils.get_authorization = staticmethod(self.orig_auth)
        self.Utils.get_string_to_sign = staticmethod(self.orig_sts)


def tea_v3_and_roa_v2():
    from alibabacloud_tea_openapi.models import Config
    from alibabacloud_sts20150401.client import Client as StsClient
    from alibabacloud_sts20150401 import models as sts_models
    from alibabacloud_eas20210701.client import Client as EasClient
    from alibabacloud_eas20210701 import models as eas_models

    cap = TeaCapture()
    tea = f"alibabacloud-tea-openapi {version('alibabacloud-tea-openapi')}"
    sts_src = f"alibabacloud_sts20150401 {version('alibabacloud_sts20150401')} on {tea}, captured by a local http.server"
    eas_src = f"alibabacloud_eas20210701 {version('alibabacloud_eas20210701')} on {tea}, captured by a local http.server"

    def cfg(token=None, v2=False):
        kw = {"access_key_id": STS_AK if token else AK, "access_key_secret": STS_SECRET if token else SECRET,
              "endpoint": ENDPOINT, "protocol": "http"}
        if token:
            kw["security_token"] = token
        if v2:
            kw["signature_algorithm"] = "v2"
        return Config(**kw)

    def acs3_expected(req):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.rsplit("Signature=", 1)[1],
                "canonical_request": cap.seen["canonical_request"]}

    def roa_expected(req):
        auth = header(req, "authorization")
        return {"authorization": auth, "signature": auth.split(":", 1)[1],
                "string_to_sign": cap.seen["string_to_sign"]}

    # --- V3 RPC (STS)
    RESPONSE["body"] = ASSUME_ROLE_RESPONSE
    req = capture(lambda: StsClient(cfg()).assume_role(sts_models.AssumeRoleRequest(
        role_arn=ROLE_ARN, role_session_name="sess-1", duration_seconds=3600, policy=POLICY,
        external_id="abc=123")))
    write("acs3", "rpc_assume_role", "V3 RPC AssumeRole: POST /, params in the query, empty body",
          sts_src, AK, SECRET, req, acs3_expected(req))

    req = capture(lambda: StsClient(cfg(token=STS_TOKEN)).get_caller_identity())
    write("acs3", "rpc_get_caller_identity_sts_token",
          "V3 RPC GetCallerIdentity with STS credentials (x-acs-accesskey-id, x-acs-security-token signed)",
          sts_src, STS_AK, STS_SECRET, req, acs3_expected(req))

    # --- V3 ROA (EAS)
    RESPONSE["body"] = b'{"RequestId": "x", "ServiceId": "eas-m-1", "ServiceName": "my_svc", "Status": "Creating"}'
    body = json.dumps({"name": "my_svc", "metadata": {"instance": 1, "cpu": 2, "memory": 4000},
                       "processor": "pmml", "model_path": "oss://bucket/model dir/"})
    create = eas_models.CreateServiceRequest(body=body, develop="true", labels={"team": "a b", "env": "dev"},
                                             workspace_id="12345")
    req = capture(lambda: EasClient(cfg()).create_service(create))
    write("acs3", "roa_create_service_json_body_query",
          "V3 ROA CreateService: POST /api/v2/services, JSON body, query Develop/Labels(JSON)/WorkspaceId",
          eas_src, AK, SECRET, req, acs3_expected(req))

    req = capture(lambda: EasClient(cfg()).describe_service("cn-hangzhou", "my svc*~/x"))
    write("acs3", "roa_describe_service_encoded_path",
          "V3 ROA DescribeService: GET with path segments the SDK percent-encodes (space, *, ~, /)",
          eas_src, AK, SECRET, req, acs3_expected(req))

    RESPONSE["body"] = b'{"RequestId": "x", "Services": [], "TotalCount": 0}'
    listing = eas_models.ListServicesRequest(filter="my filter", page_size=20, page_number=1, order="asc",
                                             sort="CreateTime", label={"k": "v w"})
    req = capture(lambda: EasClient(cfg(token=STS_TOKEN)).list_services(listing))
    write("acs3", "roa_list_services_query_sts_token",
          "V3 ROA ListServices: GET with a query (space, JSON) and STS credentials",
          eas_src, STS_AK, STS_SECRET, req, acs3_expected(req))

    # --- ROA v2 (EAS, signature_algorithm=v2)
    RESPONSE["body"] = b'{"RequestId": "x", "ServiceId": "eas-m-1", "ServiceName": "my_svc", "Status": "Creating"}'
    req = capture(lambda: EasClient(cfg(v2=True)).create_service(create))
    write("roa_v2", "create_service_json_body_query",
          "ROA v2 CreateService: POST JSON body with query; acs AK:base64(HMAC-SHA1)",
          eas_src, AK, SECRET, req, roa_expected(req))

    req = capture(lambda: EasClient(cfg(v2=True)).describe_service("cn-hangzhou", "my_svc"))
    write("roa_v2", "describe_service_get",
          "ROA v2 DescribeService: GET, no query, no body", eas_src, AK, SECRET, req, roa_expected(req))

    RESPONSE["body"] = b'{"RequestId": "x", "Services": [], "TotalCount": 0}'
    req = capture(lambda: EasClient(cfg(token=STS_TOKEN, v2=True)).list_services(listing))
    write("roa_v2", "list_services_query_sts_token",
          "ROA v2 ListServices: GET with query and STS credentials (x-acs-security-token)",
          eas_src, STS_AK, STS_SECRET, req, roa_expected(req))

    cap.restore()


if __name__ == "__main__":
    vendor_doc()
    old_sdk()
    tea_v2()
    credentials_lib()
    tea_v3_and_roa_v2()
    SERVER.shutdown()
