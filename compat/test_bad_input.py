"""Malformed requests over raw HTTP to both listeners. Every one must be answered with a 4xx whose
JSON body carries Code, Message and RequestId: never a 5xx, never a hang (all I/O has timeouts)."""

from __future__ import annotations

import json
import uuid

import pytest

import helpers as h
from helpers import assert_vendor_error


@pytest.fixture(params=["ram", "sts"])
def svc(request, ep):
    """(endpoint, version, a cheap read action) of one listener."""
    if request.param == "ram":
        return ep.ram, h.RAM_VERSION, "ListRoles"
    return ep.sts, h.STS_VERSION, "GetCallerIdentity"


def _q(**params) -> str:
    return "&".join(f"{h.pe(k)}={h.pe(v)}" for k, v in params.items())


# -- the query --------------------------------------------------------------------------------


# A request target over 64 KiB is refused by the HTTP layer (hyper) itself with a bare 414 and
# the connection closed, before keyless sees it: a documented limit (README "Limits"). It is
# still a 4xx, never a 5xx or a hang.
def assert_uri_too_long(r):
    assert r is not None, "connection closed without a response"
    assert r.status == 414, (r.status, r.body)


def test_huge_query(svc):
    endpoint, version, action = svc
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version, Junk="x" * 100_000))
    assert_uri_too_long(r)


def test_large_query_under_the_uri_limit(svc):
    endpoint, version, action = svc
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version, Junk="x" * 40_000))
    b = assert_vendor_error(r)
    assert b["Code"].startswith("InvalidParameter"), b


def test_huge_query_many_params(svc):
    endpoint, version, action = svc
    params = {f"P{i}": "v" * 700 for i in range(140)}  # ~100 KB over many parameters
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version, **params))
    assert_uri_too_long(r)
    params = {f"P{i}": "v" * 300 for i in range(140)}  # ~43 KB: reaches keyless
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version, **params))
    assert_vendor_error(r, "InvalidParameter", 400)


def test_too_many_params(svc):
    endpoint, version, action = svc
    params = {f"P{i}": "v" for i in range(200)}
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version, **params))
    assert_vendor_error(r, "InvalidParameter", 400)


def test_huge_query_signed(svc, root):
    """100 KB of parameters in a correctly signed V1 request."""
    endpoint, version, action = svc
    q = h.v1_query(action, version, root, {"Junk": "y" * 100_000})
    assert_uri_too_long(h.raw(endpoint, "POST", "/?" + q))
    q = h.v1_query(action, version, root, {"Junk": "y" * 40_000})
    b = assert_vendor_error(h.raw(endpoint, "POST", "/?" + q))
    assert b["Code"].startswith("InvalidParameter"), b


def test_sdk_huge_parameter_gets_clean_error(ep, ram):
    """What a client sees of an oversized parameter that still fits the URI limit: the new SDK
    raises its ClientException with a 4xx (over 64 KiB the SDK sees the bare 414 above)."""
    from alibabacloud_ram20150501 import models as rm
    from alibabacloud_tea_openapi.exceptions import ClientException

    doc = json.dumps({"Version": "1", "Statement": [{"Effect": "Allow", "Action": "oss:GetObject", "Resource": ["r" * 30_000]}]})
    with pytest.raises(ClientException) as ei:
        ram.create_policy(rm.CreatePolicyRequest(policy_name=h.unique("huge"), policy_document=doc))
    assert 400 <= ei.value.status_code < 500


def test_query_over_the_header_buffer(svc):
    """A request line larger than the server's header buffer (256 KiB)."""
    endpoint, version, action = svc
    target = "/?" + _q(Action=action, Version=version, Junk="z" * 300_000)
    r = h.raw_bytes(endpoint, f"POST {target} HTTP/1.1\r\nHost: {endpoint}\r\nContent-Length: 0\r\n\r\n".encode())
    # Over the 256 KiB head buffer the answer depends on how the bytes arrive: if the whole
    # request line is read before the buffer fills, hyper parses it and answers 414 (URI too
    # long); if the buffer fills first (a loaded machine delivers smaller reads), it answers 431
    # (head too large) without parsing. Both are the documented refusal; which one is
    # scheduling, so the test accepts either (it failed once under load expecting only 414).
    assert r is not None, "connection closed without a response"
    assert r.status in (414, 431), (r.status, r.body)


@pytest.mark.parametrize("dup", ["Action", "Version", "RoleName", "Signature"])
def test_repeated_parameters(svc, dup):
    endpoint, version, action = svc
    q = _q(Action=action, Version=version, RoleName="a", Signature="x") + f"&{dup}=again"
    r = h.raw(endpoint, "POST", "/?" + q)
    b = assert_vendor_error(r, "InvalidParameter", 400)
    assert dup in b["Message"], b


def test_repeated_parameter_signed(svc, root):
    """A signed request with one parameter added twice (once in the query, once in a form body)."""
    endpoint, version, action = svc
    q = h.v1_query(action, version, root)
    r = h.raw(
        endpoint,
        "POST",
        "/?" + q,
        body=f"Action={action}".encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_vendor_error(r, "InvalidParameter", 400)


@pytest.mark.parametrize(
    "query",
    [
        "Action=GetRole&Version=V&RoleName=%ff%fe",
        "Action=GetRole&Version=V&%ff%fe=x",
        "Action=%ff%fe&Version=V",
        "Action=GetRole&Version=V&Bad=%zz",
        "Action=GetRole&Version=V&Bad=%",
        "Action=GetRole&Version=V&Bad=%e2%82",
    ],
)
def test_invalid_percent_escapes(svc, query):
    endpoint, version, _ = svc
    r = h.raw(endpoint, "POST", "/?" + query.replace("Version=V", f"Version={version}"))
    b = assert_vendor_error(r)
    assert r.status == 400, b


def test_invalid_utf8_form_body(svc):
    endpoint, version, action = svc
    r = h.raw(
        endpoint,
        "POST",
        "/?" + _q(Action=action, Version=version),
        body=b"RoleName=%ff%fe&X=\xff\xfe",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_vendor_error(r, status=400)


def test_unknown_action(svc, root):
    endpoint, version, _ = svc
    r = h.raw(endpoint, "POST", "/?" + _q(Action="NoSuchThing", Version=version))
    b = assert_vendor_error(r, "InvalidAction.NotFound")
    # Signed, too (V1 and V3).
    assert_vendor_error(h.v1_call(endpoint, "NoSuchThing", version, root), b["Code"])
    assert_vendor_error(h.v3_call(endpoint, "NoSuchThing", version, root), b["Code"])


def test_action_of_the_other_product(ep, root):
    assert_vendor_error(h.v1_call(ep.sts, "GetRole", h.STS_VERSION, root, {"RoleName": "x"}), "InvalidAction.NotFound")
    assert_vendor_error(h.v1_call(ep.ram, "AssumeRole", h.RAM_VERSION, root), "InvalidAction.NotFound")


def test_missing_action(svc):
    endpoint, version, _ = svc
    b = assert_vendor_error(h.raw(endpoint, "POST", "/?" + _q(Version=version)), "MissingParameter", 400)
    assert "Action" in b["Message"]
    assert_vendor_error(h.raw(endpoint, "POST", "/"), "MissingParameter", 400)


def test_missing_version(svc, root):
    endpoint, _, action = svc
    b = assert_vendor_error(h.raw(endpoint, "POST", "/?" + _q(Action=action)), "MissingParameter", 400)
    assert "Version" in b["Message"]


@pytest.mark.parametrize("bad", ["2099-01-01", "", "2015-04-01 ", "latest"])
def test_wrong_version(svc, root, bad):
    endpoint, version, action = svc
    if bad == "":
        r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=""))
        assert_vendor_error(r, status=400)
        return
    b = assert_vendor_error(h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=bad)), "InvalidVersion", 400)
    assert b["Message"]
    # Signed with the other product's version.
    other = h.STS_VERSION if version == h.RAM_VERSION else h.RAM_VERSION
    assert_vendor_error(h.v1_call(endpoint, action, other, root), "InvalidVersion", 400)
    assert_vendor_error(h.v3_call(endpoint, action, other, root), "InvalidVersion", 400)


def test_action_header_and_parameter_disagree(svc, root):
    endpoint, version, action = svc
    target, headers, _ = h.v3_request(endpoint, action, version, root, {"Action": "SomethingElse"})
    assert_vendor_error(h.raw(endpoint, "POST", target, None, headers), status=400)


@pytest.mark.parametrize(
    "doc",
    [
        "{not json",
        '{"Version":"1","Statement":"nope"}',
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"ram:*","Resource":"*"}],"Extra":' + "[" * 200 + "]" * 200 + "}",
        "[" * 10_000 + "]" * 10_000,
        '{"Version":"1","Statement":[{"Effect":"Allow","Action":"\\ud800","Resource":"*"}]}',
        "",
    ],
)
def test_invalid_policy_json_signed(ep, root, doc):
    params = {"PolicyName": h.unique("junk"), "PolicyDocument": doc}
    for call in (h.v1_call, h.v3_call):
        params["PolicyName"] = h.unique("junk")
        r = call(ep.ram, "CreatePolicy", h.RAM_VERSION, root, params)
        b = assert_vendor_error(r, status=400)
        assert b["Code"] in ("MalformedPolicyDocument", "MissingParameter", "InvalidParameter"), b


def test_invalid_trust_policy_signed(ep, root):
    r = h.v3_call(
        ep.ram,
        "CreateRole",
        h.RAM_VERSION,
        root,
        {"RoleName": h.unique("junk"), "AssumeRolePolicyDocument": '{"Version":"1","Statement":[{}]}'},
    )
    assert_vendor_error(r, "MalformedPolicyDocument", 400)


# -- the body ---------------------------------------------------------------------------------


def test_body_over_1mib(svc):
    endpoint, version, action = svc
    body = b"X=" + b"a" * (1024 * 1024 + 100)
    head = (
        f"POST /?{_q(Action=action, Version=version)} HTTP/1.1\r\nHost: {endpoint}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    r = h.raw_bytes(endpoint, head + body)
    assert r is not None, "connection closed without a response"
    b = assert_vendor_error(r, status=413)
    assert b["Code"].startswith("InvalidParameter"), b


def test_chunked_body_over_1mib(svc):
    endpoint, version, action = svc
    chunk = b"a" * 65536
    chunks = b"".join(b"%x\r\n" % len(chunk) + chunk + b"\r\n" for _ in range(20)) + b"0\r\n\r\n"
    head = (
        f"POST /?{_q(Action=action, Version=version)} HTTP/1.1\r\nHost: {endpoint}\r\n"
        f"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode()
    r = h.raw_bytes(endpoint, head + chunks)
    assert r is not None, "connection closed without a response"
    assert_vendor_error(r, status=413)


def test_body_shorter_than_content_length(svc):
    """The client promises 100 bytes, sends 10 and stops: the server must answer (or time the
    body out) rather than hang forever; we only wait for our own timeout."""
    endpoint, version, action = svc
    import socket

    host, port = endpoint.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=h.HTTP_TIMEOUT) as s:
        s.sendall(
            (
                f"POST /?{_q(Action=action, Version=version)} HTTP/1.1\r\nHost: {endpoint}\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n0123456789"
            ).encode()
        )
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            part = s.recv(65536)
            if not part:
                break
            data += part
    if data:
        r = h._parse_response(data, final=True)
        assert_vendor_error(r, status=r.status)


def test_json_body_is_ignored_not_crashing(svc):
    endpoint, version, action = svc
    r = h.raw(
        endpoint,
        "POST",
        "/?" + _q(Action=action, Version=version),
        body=b'{"RoleName": 1}',
        headers={"Content-Type": "application/json"},
    )
    assert_vendor_error(r, status=400)


# -- authentication headers -------------------------------------------------------------------


GARBAGE_AUTH = [
    "Bearer abc.def.ghi",
    "ACS3-HMAC-SHA256",
    "ACS3-HMAC-SHA256 ",
    "ACS3-HMAC-SHA256 Credential=",
    "ACS3-HMAC-SHA256 Credential=LTAIxxxx",
    "ACS3-HMAC-SHA256 Credential=LTAIxxxx,SignedHeaders=host,Signature=zz",
    "ACS3-HMAC-SHA256 Credential=LTAIxxxx,SignedHeaders=,Signature=00",
    "ACS3-HMAC-SHA256 Credential=LTAIxxxx,SignedHeaders=" + ";".join(f"h{i}" for i in range(5000)) + ",Signature=00",
    "ACS3-HMAC-SHA256 Credential=,,,,,=,=,=",
    "acs ",
    "acs LTAIxxxx",
    "acs LTAIxxxx:",
    "acs :sig",
    "ACS3-" + "A" * 10_000,
    "\t",
    "Basic dXNlcjpwYXNz",
]


@pytest.mark.parametrize("auth", GARBAGE_AUTH, ids=range(len(GARBAGE_AUTH)))
def test_garbage_authorization(svc, auth):
    endpoint, version, action = svc
    headers = {
        "Authorization": auth,
        "x-acs-action": action,
        "x-acs-version": version,
        "x-acs-date": h.iso_now(),
        "x-acs-signature-nonce": uuid.uuid4().hex,
        "x-acs-content-sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    }
    r = h.raw(endpoint, "POST", "/", headers=headers)
    assert_vendor_error(r)


def test_authorization_not_utf8(svc):
    endpoint, version, action = svc
    data = (
        f"POST /?{_q(Action=action, Version=version)} HTTP/1.1\r\nHost: {endpoint}\r\nContent-Length: 0\r\n".encode()
        + b"Authorization: ACS3-HMAC-SHA256 Credential=\xff\xfe\r\n\r\n"
    )
    r = h.raw_bytes(endpoint, data)
    assert r is not None
    assert_vendor_error(r, status=400)


@pytest.mark.parametrize("alg", ["ACS3-HMAC-SM3", "ACS3-RSA-SHA256", "ACS3-HMAC-SHA1", "ACS3-HMAC-SHA512"])
def test_unsupported_acs3_algorithm(svc, root, alg):
    endpoint, version, action = svc
    target, headers, _ = h.v3_request(endpoint, action, version, root, algorithm=alg)
    r = h.raw(endpoint, "POST", target, None, headers)
    b = assert_vendor_error(r, "InvalidSignatureMethod", 400)
    assert b["Message"]


def test_acs3_unsigned_acs_header(svc, root):
    """An x-acs-* header added after signing must be refused (it is not among SignedHeaders)."""
    endpoint, version, action = svc
    target, headers, _ = h.v3_request(endpoint, action, version, root)
    headers["x-acs-extra"] = "1"
    assert_vendor_error(h.raw(endpoint, "POST", target, None, headers), status=400)


def test_acs3_wrong_content_hash(svc, root):
    endpoint, version, action = svc
    target, headers, _ = h.v3_request(endpoint, action, version, root)
    r = h.raw(endpoint, "POST", target, b"surprise", headers)
    assert_vendor_error(r, status=400)


def test_acs3_date_garbage(svc, root):
    endpoint, version, action = svc
    r = h.v3_call(endpoint, action, version, root, date="not-a-date")
    b = assert_vendor_error(r, status=400)
    assert b["Code"].startswith("InvalidTimeStamp"), b


@pytest.mark.parametrize(
    "extra",
    [
        {"SignatureMethod": "HMAC-SHA256"},
        {"SignatureVersion": "2.0"},
        {"Signature": ""},
        {"AccessKeyId": ""},
        {"SignatureNonce": ""},
    ],
)
def test_v1_bad_signature_parameters(svc, root, extra):
    endpoint, version, action = svc
    p = {
        "Action": action,
        "Version": version,
        "Format": "JSON",
        "AccessKeyId": root.access_key_id,
        "SignatureMethod": "HMAC-SHA1",
        "SignatureVersion": "1.0",
        "SignatureNonce": uuid.uuid4().hex,
        "Timestamp": h.iso_now(),
    }
    p.update({k: v for k, v in extra.items() if k != "Signature"})
    p["Signature"] = h.v1_sign("POST", p, root.access_key_secret)
    if "Signature" in extra:
        p["Signature"] = extra["Signature"]
    r = h.raw(endpoint, "POST", "/?" + _q(**p))
    assert_vendor_error(r, status=r.status)
    assert r.status in (400, 404), r.status


def test_v1_without_signature(svc, root):
    endpoint, version, action = svc
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version, AccessKeyId=root.access_key_id))
    assert_vendor_error(r, status=400)


# -- transport oddities -----------------------------------------------------------------------


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH", "OPTIONS"])
def test_other_methods(svc, method):
    endpoint, version, action = svc
    r = h.raw(endpoint, method, "/?" + _q(Action=action, Version=version))
    assert_vendor_error(r)


def test_other_path(svc):
    endpoint, version, action = svc
    r = h.raw(endpoint, "GET", "/some/where?" + _q(Action=action, Version=version))
    assert_vendor_error(r)


def test_many_headers(svc):
    endpoint, version, action = svc
    headers = {f"x-junk-{i}": "v" for i in range(150)}
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version), headers=headers)
    assert_vendor_error(r)


def test_huge_header(svc):
    endpoint, version, action = svc
    r = h.raw(endpoint, "POST", "/?" + _q(Action=action, Version=version), headers={"x-acs-security-token": "t" * 100_000})
    assert_vendor_error(r)


def test_garbage_request_line(svc):
    """Not HTTP at all: the connection must be answered or closed promptly (no hang). hyper
    answers these itself; a JSON body is not required at this level."""
    endpoint, _, _ = svc
    r = h.raw_bytes(endpoint, b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64 + b"\r\n\r\n")
    assert r is None or 400 <= r.status < 500


def test_server_still_healthy(ep, root):
    """After all of the above, the service still answers normally."""
    for endpoint, version, action in ((ep.ram, h.RAM_VERSION, "ListRoles"), (ep.sts, h.STS_VERSION, "GetCallerIdentity")):
        r = h.v3_call(endpoint, action, version, root)
        assert r.status == 200, r.body
        json.loads(r.body)
