"""Shared helpers of the compatibility suite: SDK client factories, hand-made signers and raw HTTP.

Everything here talks to a real `keyless up` started by `conftest.py`.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
import hmac
import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union
from urllib.parse import quote

import pytest
from alibabacloud_ram20150501.client import Client as RamClient
from alibabacloud_sts20150401.client import Client as StsClient
from alibabacloud_tea_openapi.exceptions import ClientException
from alibabacloud_tea_openapi.models import Config

RAM_VERSION = "2015-05-01"
STS_VERSION = "2015-04-01"
# Every raw request uses this; a hang is a failure, not a stuck suite.
HTTP_TIMEOUT = 15


@dataclass
class Endpoints:
    account_id: str
    region: str
    access_key_id: str
    access_key_secret: str
    ram: str  # host:port
    sts: str  # host:port

    @property
    def root(self) -> "Creds":
        return Creds(self.access_key_id, self.access_key_secret)


@dataclass
class Creds:
    access_key_id: str
    access_key_secret: str
    security_token: Optional[str] = None


@dataclass
class RamUser:
    name: str
    user_id: str
    creds: Creds
    arn: str


def unique(prefix: str) -> str:
    """A fresh name per call (letters, digits and `-`, valid for users, roles and policies)."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def sdk_config(endpoint: str, creds: Creds, v2: bool = False) -> Config:
    c = Config(
        access_key_id=creds.access_key_id,
        access_key_secret=creds.access_key_secret,
        security_token=creds.security_token,
        endpoint=endpoint,
        protocol="http",
        region_id="cn-hangzhou",
        read_timeout=HTTP_TIMEOUT * 1000,
        connect_timeout=5000,
    )
    if v2:
        c.signature_algorithm = "v2"
    return c


def ram_client(ep: Endpoints, creds: Creds, v2: bool = False) -> RamClient:
    return RamClient(sdk_config(ep.ram, creds, v2))


def sts_client(ep: Endpoints, creds: Creds, v2: bool = False) -> StsClient:
    return StsClient(sdk_config(ep.sts, creds, v2))


def old_client(creds: Creds):
    """aliyun-python-sdk-core client (V1 signing always)."""
    from aliyunsdkcore.client import AcsClient

    return AcsClient(creds.access_key_id, creds.access_key_secret, "cn-hangzhou", timeout=HTTP_TIMEOUT)


def old_request(req, endpoint: str, security_token: Optional[str] = None):
    """Points an old-SDK request at keyless over HTTP."""
    req.set_endpoint(endpoint)
    req.set_protocol_type("http")
    if security_token:
        req.add_query_param("SecurityToken", security_token)
    return req


def expect_sdk_error(fn: Callable, code: str, status: int) -> ClientException:
    """Calls `fn` and asserts it raises the new SDK's ClientException with `code` and `status`."""
    with pytest.raises(ClientException) as ei:
        fn()
    e = ei.value
    assert (e.code, e.status_code) == (code, status), f"got {e.code} {e.status_code}: {e.message}"
    assert e.data and e.data.get("RequestId"), e.data
    return e


def creds_of(assume_role_body) -> Creds:
    c = assume_role_body.credentials
    return Creds(c.access_key_id, c.access_key_secret, c.security_token)


def trust_policy(*principals: str, service: Sequence[str] = ()) -> str:
    """A trust policy admitting RAM principals (ARNs) and/or services."""
    principal: Dict[str, List[str]] = {}
    if principals:
        principal["RAM"] = list(principals)
    if service:
        principal["Service"] = list(service)
    return json.dumps(
        {"Version": "1", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": principal}]}
    )


def policy_doc(actions: Union[str, List[str]], resource: Union[str, List[str]] = "*", effect: str = "Allow") -> str:
    return json.dumps({"Version": "1", "Statement": [{"Effect": effect, "Action": actions, "Resource": resource}]})


# ---------------------------------------------------------------------------------------------
# Hand-made V1 (RPC HMAC-SHA1) signing, for requests the SDKs will not produce (replays, old
# timestamps) and for raw-HTTP tests that need to get past authentication.


def pe(s: str) -> str:
    """RFC 3986 percent-encoding (`~` stays, space is %20, `*` is %2A, `/` is %2F)."""
    return quote(s, safe="~")


def iso_now(offset_secs: int = 0) -> str:
    t = _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(seconds=offset_secs)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def v1_sign(method: str, params: Dict[str, str], secret: str) -> str:
    cqs = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(params.items()))
    sts = f"{method}&%2F&{pe(cqs)}"
    return base64.b64encode(hmac.new((secret + "&").encode(), sts.encode(), hashlib.sha1).digest()).decode()


def v1_query(
    action: str,
    version: str,
    creds: Creds,
    params: Optional[Dict[str, str]] = None,
    method: str = "POST",
    timestamp: Optional[str] = None,
    nonce: Optional[str] = None,
) -> str:
    """A complete signed V1 query string."""
    p = {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": creds.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": nonce or uuid.uuid4().hex,
        "Timestamp": timestamp or iso_now(),
    }
    if creds.security_token:
        p["SecurityToken"] = creds.security_token
    p.update(params or {})
    p["Signature"] = v1_sign(method, p, creds.access_key_secret)
    return "&".join(f"{pe(k)}={pe(v)}" for k, v in p.items())


@dataclass
class RawResponse:
    status: int
    headers: Dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body.decode("utf-8"))


def raw(
    endpoint: str,
    method: str = "POST",
    target: str = "/",
    body: Optional[bytes] = None,
    headers: Optional[Dict[str, str]] = None,
    timeout: float = HTTP_TIMEOUT,
) -> RawResponse:
    """One HTTP/1.1 request on a fresh connection; the target is sent exactly as given."""
    host, port = endpoint.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        hs = dict(headers or {})
        if not any(k.lower() == "host" for k in hs):
            hs["Host"] = endpoint
        if body is not None and not any(k.lower() == "content-length" for k in hs):
            hs["Content-Length"] = str(len(body))
        for k, v in hs.items():
            conn.putheader(k, v)
        conn.endheaders()
        if body:
            conn.send(body)
        r = conn.getresponse()
        data = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


def v1_call(endpoint: str, action: str, version: str, creds: Creds, params=None, **kw) -> RawResponse:
    """Sends a hand-signed V1 request (POST, params in the query)."""
    q = v1_query(action, version, creds, params, **kw)
    return raw(endpoint, "POST", "/?" + q)


def assert_vendor_error(r: RawResponse, code: Optional[str] = None, status: Optional[int] = None) -> dict:
    """A 4xx with a JSON body carrying Code, Message and RequestId."""
    assert 400 <= r.status < 500, f"HTTP {r.status}: {r.body[:300]!r}"
    if status is not None:
        assert r.status == status, f"HTTP {r.status}: {r.body[:300]!r}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    b = r.json()
    for k in ("Code", "Message", "RequestId"):
        assert isinstance(b.get(k), str) and b[k], (k, b)
    if code is not None:
        assert b["Code"] == code, b
    return b


def param_pairs(q: str) -> List[Tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(q, keep_blank_values=True)


# ---------------------------------------------------------------------------------------------
# Hand-made V3 (ACS3-HMAC-SHA256) signing, RPC style: params in the query, empty body.


def v3_request(
    endpoint: str,
    action: str,
    version: str,
    creds: Creds,
    params: Optional[Dict[str, str]] = None,
    method: str = "POST",
    date: Optional[str] = None,
    nonce: Optional[str] = None,
    body: bytes = b"",
    algorithm: str = "ACS3-HMAC-SHA256",
) -> Tuple[str, Dict[str, str], bytes]:
    """(target, headers, body) of a signed V3 request."""
    params = params or {}
    hashed = hashlib.sha256(body).hexdigest()
    headers = {
        "host": endpoint,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": date or iso_now(),
        "x-acs-signature-nonce": nonce or uuid.uuid4().hex,
        "x-acs-content-sha256": hashed,
    }
    if creds.security_token:
        headers["x-acs-security-token"] = creds.security_token
        headers["x-acs-accesskey-id"] = creds.access_key_id
    cq = "&".join(f"{pe(k)}={pe(v)}" for k, v in sorted(params.items()))
    signed = sorted(headers)
    canon = "".join(f"{k}:{headers[k].strip()}\n" for k in signed)
    creq = "\n".join([method, "/", cq, canon, ";".join(signed), hashed])
    sts = "ACS3-HMAC-SHA256\n" + hashlib.sha256(creq.encode()).hexdigest()
    sig = hmac.new(creds.access_key_secret.encode(), sts.encode(), hashlib.sha256).hexdigest()
    headers["Authorization"] = f"{algorithm} Credential={creds.access_key_id},SignedHeaders={';'.join(signed)},Signature={sig}"
    target = "/?" + cq if cq else "/"
    return target, headers, body


def v3_call(endpoint: str, action: str, version: str, creds: Creds, params=None, **kw) -> RawResponse:
    target, headers, body = v3_request(endpoint, action, version, creds, params, **kw)
    return raw(endpoint, kw.get("method", "POST"), target, body or None, headers)


def raw_bytes(endpoint: str, data: bytes, timeout: float = HTTP_TIMEOUT, chunk: int = 65536) -> Optional[RawResponse]:
    """Writes `data` as-is on a fresh TCP connection (tolerating the server closing early) and
    parses one HTTP/1.1 response; None when the server closed without answering."""
    import socket

    host, port = endpoint.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        try:
            for i in range(0, len(data), chunk):
                s.sendall(data[i:i + chunk])
        except (BrokenPipeError, ConnectionResetError):
            pass
        buf = b""
        try:
            while True:
                part = s.recv(65536)
                if not part:
                    break
                buf += part
                resp = _parse_response(buf)
                if resp is not None:
                    return resp
        except ConnectionResetError:
            pass
    return _parse_response(buf, final=True) if buf else None


def _parse_response(buf: bytes, final: bool = False) -> Optional[RawResponse]:
    head, sep, rest = buf.partition(b"\r\n\r\n")
    if not sep:
        if final:
            raise AssertionError(f"unparseable response: {buf[:200]!r}")
        return None
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    if len(rest) < n:
        if final:
            raise AssertionError("response body cut off")
        return None
    return RawResponse(status, headers, rest[:n])
