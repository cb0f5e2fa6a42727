//! OSS operations in-process: buckets, objects, ranges, listings (delimiters, paging, URL
//! encoding), batch delete, copy, multipart, conditions and addressing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod oss_harness;

use common::ACCOUNT;
use oss_harness::*;

#[test]
fn bucket_lifecycle() {
    let o = OssHarness::new();
    let r = o.send(Req::new("GET", "", ""));
    expect(&r, 200, "");
    assert_eq!(r.tags("Name"), [BUCKET]);
    assert_eq!(r.tag("ID").as_deref(), Some(ACCOUNT));

    let r = o.send(Req::new("PUT", "fresh-bucket", ""));
    expect(&r, 200, "");
    // Creating it again is fine for its owner, not for another account.
    expect(&o.send(Req::new("PUT", "fresh-bucket", "")), 200, "");
    let other = o.other_root.clone();
    expect(
        &o.send_as(Req::new("PUT", "fresh-bucket", ""), &other, Sig::V1),
        409,
        "BucketAlreadyExists",
    );
    expect(
        &o.send(Req::new("PUT", "Bad_Name", "")),
        400,
        "InvalidBucketName",
    );
    let r = o.send(
        Req::new("PUT", "with-config", "").body(
            "<CreateBucketConfiguration><StorageClass>Standard</StorageClass></CreateBucketConfiguration>",
        ),
    );
    expect(&r, 200, "");
    expect(
        &o.send(Req::new("PUT", "bad-config", "").body("<nope")),
        400,
        "MalformedXML",
    );

    let r = o.send(Req::new("GET", "fresh-bucket", "").query("bucketInfo"));
    expect(&r, 200, "");
    assert_eq!(r.tag("Name").as_deref(), Some("fresh-bucket"));
    assert_eq!(r.tag("Location").as_deref(), Some("oss-cn-hangzhou"));
    assert_eq!(r.tag("ID").as_deref(), Some(ACCOUNT));
    assert_eq!(r.tag("Grant").as_deref(), Some("private"));
    assert!(r.tag("CreationDate").unwrap().ends_with(".000Z"));

    let r = o.send(Req::new("GET", "fresh-bucket", "").query("location"));
    assert_eq!(
        r.tag("LocationConstraint").as_deref(),
        Some("oss-cn-hangzhou")
    );

    expect(
        &o.send(Req::new("PUT", "fresh-bucket", "k").body("x")),
        200,
        "",
    );
    let r = o.send(Req::new("DELETE", "fresh-bucket", ""));
    expect(&r, 409, "BucketNotEmpty");
    expect(&o.send(Req::new("DELETE", "fresh-bucket", "k")), 204, "");
    expect(&o.send(Req::new("DELETE", "fresh-bucket", "")), 204, "");
    let r = o.send(Req::new("GET", "fresh-bucket", "").query("bucketInfo"));
    expect(&r, 404, "NoSuchBucket");
    assert_eq!(r.tag("BucketName").as_deref(), Some("fresh-bucket"));
    expect(
        &o.send(Req::new("DELETE", "fresh-bucket", "")),
        404,
        "NoSuchBucket",
    );

    // ListBuckets shows the caller's account's buckets only, and pages.
    let r = o.send_as(Req::new("GET", "", ""), &other, Sig::V1);
    expect(&r, 200, "");
    assert!(r.tags("Name").is_empty(), "{}", r.text());
    let r = o.send(Req::new("GET", "", "").query("max-keys=1"));
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("true"));
    assert_eq!(r.tags("Name").len(), 1);
    let next = r.tag("NextMarker").unwrap();
    let r = o.send(Req::new("GET", "", "").query(&format!("marker={next}&max-keys=10")));
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("false"));
    assert_eq!(r.tags("Name").len(), 1);
}

#[test]
fn objects_put_get_head_delete() {
    let o = OssHarness::new();
    let body = b"hello world".to_vec();
    let r = o.send(
        Req::new("PUT", BUCKET, "data/c d+e.txt")
            .body(body.clone())
            .header("content-type", "text/plain")
            .header("x-oss-meta-Owner", "alice")
            .md5(),
    );
    expect(&r, 200, "");
    let etag = format!("\"{}\"", md5_hex(&body));
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("content-md5"), Some(md5_b64(&body).as_str()));

    let r = o.get("data/c d+e.txt");
    expect(&r, 200, "");
    assert_eq!(&r.body[..], &body[..]);
    assert_eq!(r.header("etag"), Some(etag.as_str()));
    assert_eq!(r.header("content-type"), Some("text/plain"));
    assert_eq!(r.header("x-oss-meta-owner"), Some("alice"));
    assert_eq!(r.header("x-oss-object-type"), Some("Normal"));
    assert_eq!(
        r.header("last-modified").map(str::to_owned),
        keyless_sign::format_http_date(o.now())
    );
    assert_eq!(r.header("server"), Some("AliyunOSS"));

    let r = o.send(Req::new("HEAD", BUCKET, "data/c d+e.txt"));
    expect(&r, 200, "");
    assert!(r.body.is_empty());
    assert_eq!(r.header("content-length"), Some("11"));
    assert_eq!(r.header("etag"), Some(etag.as_str()));

    let r = o.send(Req::new("HEAD", BUCKET, "data/c d+e.txt").query("objectMeta"));
    expect(&r, 200, "");
    assert_eq!(r.header("content-length"), Some("11"));

    let r =
        o.send(Req::new("GET", BUCKET, "data/c d+e.txt").query(
            "response-content-type=application%2Fjson&response-content-disposition=attachment",
        ));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("content-disposition"), Some("attachment"));

    // A bad Content-MD5 leaves the object as it was.
    let r = o.send(
        Req::new("PUT", BUCKET, "data/c d+e.txt")
            .body("other")
            .header("content-md5", &md5_b64(b"not this")),
    );
    expect(&r, 400, "InvalidDigest");
    let r = o.send(
        Req::new("PUT", BUCKET, "data/c d+e.txt")
            .body("other")
            .header("content-md5", "!!notbase64"),
    );
    expect(&r, 400, "InvalidDigest");
    assert_eq!(&o.get("data/c d+e.txt").body[..], &body[..]);

    // Overwrite protection.
    let r = o.send(
        Req::new("PUT", BUCKET, "data/c d+e.txt")
            .body("x")
            .header("x-oss-forbid-overwrite", "true"),
    );
    expect(&r, 409, "FileAlreadyExists");

    expect(
        &o.send(Req::new("DELETE", BUCKET, "data/c d+e.txt")),
        204,
        "",
    );
    expect(
        &o.send(Req::new("DELETE", BUCKET, "data/c d+e.txt")),
        204,
        "",
    );
    let r = o.get("data/c d+e.txt");
    expect(&r, 404, "NoSuchKey");
    assert_eq!(r.tag("Key").as_deref(), Some("data/c d+e.txt"));
    let r = o.send(Req::new("HEAD", BUCKET, "data/c d+e.txt"));
    expect(&r, 404, "NoSuchKey");
    assert!(r.body.is_empty());
    assert!(r.header("x-oss-err").is_some());

    expect(
        &o.send(Req::new("GET", "no-such-bucket", "k")),
        404,
        "NoSuchBucket",
    );
    expect(
        &o.send(Req::new("PUT", "no-such-bucket", "k").body("x")),
        404,
        "NoSuchBucket",
    );
    // Empty objects and keys that need encoding.
    expect(&o.put("empty", b""), 200, "");
    let r = o.get("empty");
    assert_eq!((r.status, r.body.len()), (200, 0));
    expect(&o.put("日本/ü?#&=%", b"u"), 200, "");
    assert_eq!(&o.get("日本/ü?#&=%").body[..], b"u");
    let long = "k".repeat(1024);
    expect(&o.put(&long, b"x"), 400, "KeyTooLong");
}

#[test]
fn ranges() {
    let o = OssHarness::new();
    o.put("r", b"0123456789");
    let get = |range: &str, standard: bool| {
        let mut r = Req::new("GET", BUCKET, "r").header("range", range);
        if standard {
            r = r.header("x-oss-range-behavior", "standard");
        }
        o.send(r)
    };
    let r = get("bytes=0-4", false);
    assert_eq!((r.status, &r.body[..]), (206, &b"01234"[..]));
    assert_eq!(r.header("content-range"), Some("bytes 0-4/10"));
    let r = get("bytes=7-", false);
    assert_eq!((r.status, &r.body[..]), (206, &b"789"[..]));
    let r = get("bytes=-3", false);
    assert_eq!((r.status, &r.body[..]), (206, &b"789"[..]));
    let r = get("bytes=8-100", false);
    assert_eq!((r.status, &r.body[..]), (206, &b"89"[..]));
    assert_eq!(r.header("content-range"), Some("bytes 8-9/10"));
    // Unsatisfiable or malformed: the whole object, unless the standard behaviour is asked for.
    let r = get("bytes=20-30", false);
    assert_eq!((r.status, r.body.len()), (200, 10));
    let r = get("bytes=x-y", false);
    assert_eq!((r.status, r.body.len()), (200, 10));
    let r = get("bytes=20-30", true);
    expect(&r, 416, "InvalidRange");
    assert_eq!(r.header("content-range"), Some("bytes */10"));
}

#[test]
fn conditional_gets() {
    let o = OssHarness::new();
    let etag = o.put("c", b"abc").header("etag").unwrap().to_owned();
    let r = o.send(Req::new("GET", BUCKET, "c").header("if-match", &etag));
    assert_eq!(r.status, 200);
    let r = o.send(Req::new("GET", BUCKET, "c").header("if-match", "\"00\""));
    expect(&r, 412, "PreconditionFailed");
    let r = o.send(Req::new("GET", BUCKET, "c").header("if-none-match", &etag));
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    let later = keyless_sign::format_http_date(o.now() + 60).unwrap();
    let r = o.send(Req::new("GET", BUCKET, "c").header("if-modified-since", &later));
    assert_eq!(r.status, 304);
    let r = o.send(Req::new("GET", BUCKET, "c").header("if-unmodified-since", &later));
    assert_eq!(r.status, 200);
}

fn seed_listing(o: &OssHarness) {
    for k in [
        "a.txt",
        "data/1.txt",
        "data/2.txt",
        "data/sub/3.txt",
        "logs/x",
        "z z+.txt",
    ] {
        expect(&o.put(k, k.as_bytes()), 200, "");
    }
}

#[test]
fn list_objects_v1() {
    let o = OssHarness::new();
    seed_listing(&o);
    let r = o.send(Req::new("GET", BUCKET, "").query("prefix=&delimiter=%2F&marker=&max-keys=100"));
    expect(&r, 200, "");
    let text = r.text();
    assert!(!text.contains("xmlns"), "{text}");
    assert!(
        text.contains("<ListBucketResult><Name>test-bucket</Name>"),
        "{text}"
    );
    assert_eq!(r.tags("Key"), ["a.txt", "z z+.txt"]);
    assert_eq!(r.tags("Prefix")[1..], ["data/", "logs/"]);
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("false"));
    assert_eq!(r.tag("Delimiter").as_deref(), Some("/"));
    for field in ["LastModified", "ETag", "Type", "Size", "StorageClass"] {
        assert_eq!(r.tags(field).len(), 2, "{field}");
    }
    assert_eq!(r.tags("Type"), ["Normal", "Normal"]);
    assert_eq!(r.tags("Size"), ["5", "8"]);
    assert_eq!(r.tags("ID"), [ACCOUNT, ACCOUNT]);

    // Paging with markers.
    let mut keys = Vec::new();
    let mut marker = String::new();
    loop {
        let r = o.send(Req::new("GET", BUCKET, "").query(&format!(
            "max-keys=2&marker={}",
            keyless_sign::percent_encode(&marker)
        )));
        keys.extend(r.tags("Key"));
        if r.tag("IsTruncated").as_deref() == Some("false") {
            break;
        }
        marker = r.tag("NextMarker").unwrap();
    }
    assert_eq!(
        keys,
        [
            "a.txt",
            "data/1.txt",
            "data/2.txt",
            "data/sub/3.txt",
            "logs/x",
            "z z+.txt"
        ]
    );

    // URL encoding of keys, prefixes, markers.
    let r = o.send(
        Req::new("GET", BUCKET, "").query("prefix=z%20&delimiter=%2F&encoding-type=url&marker=a"),
    );
    assert_eq!(r.tag("EncodingType").as_deref(), Some("url"));
    assert_eq!(r.tags("Key"), ["z%20z%2B.txt"]);
    assert_eq!(r.tag("Prefix").as_deref(), Some("z%20"));
    assert_eq!(r.tag("Delimiter").as_deref(), Some("%2F"));
    let r =
        o.send(Req::new("GET", BUCKET, "").query("prefix=data%2F&delimiter=%2F&encoding-type=url"));
    assert_eq!(r.tags("Key"), ["data%2F1.txt", "data%2F2.txt"]);
    assert_eq!(r.tags("Prefix")[1..], ["data%2Fsub%2F"]);

    for bad in ["max-keys=1001", "max-keys=-1", "encoding-type=xml"] {
        expect(
            &o.send(Req::new("GET", BUCKET, "").query(bad)),
            400,
            "InvalidArgument",
        );
    }
}

#[test]
fn list_objects_v2() {
    let o = OssHarness::new();
    seed_listing(&o);
    let mut keys = Vec::new();
    let mut token = String::new();
    let mut pages = 0;
    loop {
        let r = o.send(Req::new("GET", BUCKET, "").query(&format!(
            "list-type=2&prefix=&delimiter=&continuation-token={}&start-after=&fetch-owner=false&max-keys=4&encoding-type=url",
            keyless_sign::percent_encode(&token)
        )));
        expect(&r, 200, "");
        pages += 1;
        assert!(r.tag("KeyCount").is_some());
        assert_eq!(r.tag("EncodingType").as_deref(), Some("url"));
        assert!(r.tag("ID").is_none(), "no owner without fetch-owner");
        keys.extend(r.tags("Key"));
        if r.tag("IsTruncated").as_deref() == Some("false") {
            assert!(r.tag("NextContinuationToken").is_none());
            break;
        }
        token = r.tag("NextContinuationToken").unwrap();
    }
    assert_eq!(pages, 2);
    assert_eq!(
        keys,
        [
            "a.txt",
            "data%2F1.txt",
            "data%2F2.txt",
            "data%2Fsub%2F3.txt",
            "logs%2Fx",
            "z%20z%2B.txt"
        ]
    );
    let r = o.send(
        Req::new("GET", BUCKET, "")
            .query("list-type=2&delimiter=%2F&start-after=data%2F&fetch-owner=true"),
    );
    assert_eq!(r.tags("Key"), ["z z+.txt"]);
    assert_eq!(r.tags("Prefix")[1..], ["logs/"]);
    assert_eq!(r.tag("StartAfter").as_deref(), Some("data/"));
    assert_eq!(r.tag("KeyCount").as_deref(), Some("2"));
    assert_eq!(r.tag("ID").as_deref(), Some(ACCOUNT));
    expect(
        &o.send(Req::new("GET", BUCKET, "").query("list-type=2&continuation-token=%21%21")),
        400,
        "InvalidArgument",
    );
}

#[test]
fn delete_multiple_objects() {
    let o = OssHarness::new();
    seed_listing(&o);
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete><Quiet>false</Quiet><Object><Key>a.txt</Key></Object><Object><Key>z z+.txt</Key></Object><Object><Key>missing</Key></Object></Delete>";
    let r = o.send(
        Req::new("POST", BUCKET, "")
            .query("delete=&encoding-type=url")
            .body(xml)
            .md5(),
    );
    expect(&r, 200, "");
    assert_eq!(r.tag("EncodingType").as_deref(), Some("url"));
    assert_eq!(r.tags("Key"), ["a.txt", "z%20z%2B.txt", "missing"]);
    expect(&o.get("a.txt"), 404, "NoSuchKey");

    let quiet = "<Delete><Quiet>true</Quiet><Object><Key>logs/x</Key></Object></Delete>";
    let r = o.send(
        Req::new("POST", BUCKET, "")
            .query("delete")
            .body(quiet)
            .md5(),
    );
    expect(&r, 200, "");
    assert!(r.tags("Key").is_empty(), "{}", r.text());
    expect(&o.get("logs/x"), 404, "NoSuchKey");

    let body = "<Delete><Object><Key>data/1.txt</Key></Object></Delete>";
    let r = o.send(Req::new("POST", BUCKET, "").query("delete").body(body));
    expect(&r, 400, "MissingArgument");
    let r = o.send(
        Req::new("POST", BUCKET, "")
            .query("delete")
            .body(body)
            .header("content-md5", &md5_b64(b"x")),
    );
    expect(&r, 400, "InvalidDigest");
    let r = o.send(
        Req::new("POST", BUCKET, "")
            .query("delete")
            .body("<Delete></Delete>")
            .md5(),
    );
    expect(&r, 400, "MalformedXML");
    assert_eq!(o.get("data/1.txt").status, 200);
}

#[test]
fn copy_object() {
    let o = OssHarness::new();
    o.send(
        Req::new("PUT", BUCKET, "src key")
            .body("payload")
            .header("content-type", "text/x-src")
            .header("x-oss-meta-a", "1"),
    );
    let r = o.send(
        Req::new("PUT", BUCKET, "dst").header("x-oss-copy-source", &format!("/{BUCKET}/src%20key")),
    );
    expect(&r, 200, "");
    assert_eq!(r.tag("ETag"), Some(format!("\"{}\"", md5_hex(b"payload"))));
    let g = o.get("dst");
    assert_eq!(&g.body[..], b"payload");
    assert_eq!(g.header("content-type"), Some("text/x-src"));
    assert_eq!(g.header("x-oss-meta-a"), Some("1"));

    let r = o.send(
        Req::new("PUT", BUCKET, "dst2")
            .header("x-oss-copy-source", &format!("/{BUCKET}/src%20key"))
            .header("x-oss-metadata-directive", "REPLACE")
            .header("content-type", "text/x-new")
            .header("x-oss-meta-b", "2"),
    );
    expect(&r, 200, "");
    let g = o.get("dst2");
    assert_eq!(g.header("content-type"), Some("text/x-new"));
    assert_eq!(g.header("x-oss-meta-b"), Some("2"));
    assert_eq!(g.header("x-oss-meta-a"), None);

    let r = o.send(
        Req::new("PUT", BUCKET, "dst3").header("x-oss-copy-source", &format!("/{BUCKET}/nope")),
    );
    expect(&r, 404, "NoSuchKey");
    let r = o.send(
        Req::new("PUT", BUCKET, "dst3")
            .header("x-oss-copy-source", &format!("/{BUCKET}/src%20key"))
            .header("x-oss-copy-source-if-match", "\"00\""),
    );
    expect(&r, 412, "PreconditionFailed");
    let r = o.send(Req::new("PUT", BUCKET, "dst3").header("x-oss-copy-source", "garbage"));
    expect(&r, 400, "InvalidArgument");
}

#[test]
fn multipart_upload() {
    let o = OssHarness::new();
    let key = "big/file.bin";
    let r = o.send(
        Req::new("POST", BUCKET, key)
            .query("uploads")
            .header("content-type", "application/x-big"),
    );
    expect(&r, 200, "");
    assert_eq!(r.tag("Key").as_deref(), Some(key));
    let id = r.tag("UploadId").unwrap();

    let p1: Vec<u8> = (0..150 * 1024).map(|i| (i % 251) as u8).collect();
    let p2 = b"tail".to_vec();
    let part = |n: u32, body: &[u8]| {
        o.send(
            Req::new("PUT", BUCKET, key)
                .query(&format!("partNumber={n}&uploadId={id}"))
                .body(body.to_vec())
                .md5(),
        )
    };
    let e1 = part(1, &p1).header("etag").unwrap().to_owned();
    let e2 = part(2, &p2).header("etag").unwrap().to_owned();
    assert_eq!(e1, format!("\"{}\"", md5_hex(&p1)));

    let r = o.send(Req::new("GET", BUCKET, key).query(&format!("uploadId={id}")));
    expect(&r, 200, "");
    assert_eq!(r.tags("PartNumber"), ["1", "2"]);
    assert_eq!(r.tags("Size"), [p1.len().to_string(), "4".to_owned()]);
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("false"));
    let r = o.send(Req::new("GET", BUCKET, key).query(&format!("uploadId={id}&max-parts=1")));
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("true"));
    assert_eq!(r.tag("NextPartNumberMarker").as_deref(), Some("1"));

    let r = o.send(Req::new("GET", BUCKET, "").query("uploads"));
    expect(&r, 200, "");
    assert_eq!(r.tags("UploadId"), [id.as_str()]);

    let complete = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{e1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{e2}</ETag></Part></CompleteMultipartUpload>"
    );
    let bad = complete.replace(&e2, "\"00000000000000000000000000000000\"");
    let r = o.send(
        Req::new("POST", BUCKET, key)
            .query(&format!("uploadId={id}"))
            .body(bad),
    );
    expect(&r, 400, "InvalidPart");
    let r = o.send(
        Req::new("POST", BUCKET, key)
            .query(&format!("uploadId={id}"))
            .body(complete.clone())
            .md5(),
    );
    expect(&r, 200, "");
    let mut both = Vec::new();
    for e in [&e1, &e2] {
        let hex = e.trim_matches('"');
        both.extend((0..16).map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap()));
    }
    let want = format!("\"{}-2\"", md5_hex(&both));
    assert_eq!(r.tag("ETag").as_deref(), Some(want.as_str()));
    assert_eq!(r.header("etag"), Some(want.as_str()));

    let g = o.get(key);
    assert_eq!(g.body.len(), p1.len() + 4);
    assert_eq!(&g.body[..p1.len()], &p1[..]);
    assert_eq!(g.header("x-oss-object-type"), Some("Multipart"));
    assert_eq!(g.header("content-type"), Some("application/x-big"));
    let r = o.send(Req::new("GET", BUCKET, "").query("prefix=big%2F"));
    assert_eq!(r.tags("Type"), ["Multipart"]);

    // The upload is gone once completed; an aborted one too.
    expect(&part(3, b"x"), 404, "NoSuchUpload");
    let id2 = o
        .send(Req::new("POST", BUCKET, "other").query("uploads"))
        .tag("UploadId")
        .unwrap();
    let small = |n: u32| {
        o.send(
            Req::new("PUT", BUCKET, "other")
                .query(&format!("partNumber={n}&uploadId={id2}"))
                .body(vec![b'x'; 10]),
        )
        .header("etag")
        .unwrap()
        .to_owned()
    };
    let (s1, s2) = (small(1), small(2));
    let too_small = format!(
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>{s1}</ETag></Part><Part><PartNumber>2</PartNumber><ETag>{s2}</ETag></Part></CompleteMultipartUpload>"
    );
    let r = o.send(
        Req::new("POST", BUCKET, "other")
            .query(&format!("uploadId={id2}"))
            .body(too_small),
    );
    expect(&r, 400, "EntityTooSmall");
    expect(
        &o.send(
            Req::new("PUT", BUCKET, "other")
                .query(&format!("partNumber=0&uploadId={id2}"))
                .body("x"),
        ),
        400,
        "InvalidArgument",
    );
    expect(
        &o.send(Req::new("DELETE", BUCKET, "other").query(&format!("uploadId={id2}"))),
        204,
        "",
    );
    expect(
        &o.send(Req::new("GET", BUCKET, "other").query(&format!("uploadId={id2}"))),
        404,
        "NoSuchUpload",
    );
}

#[test]
fn multipart_complete_all_and_part_copy() {
    let o = OssHarness::new();
    let src: Vec<u8> = (0..200 * 1024).map(|i| (i % 13) as u8).collect();
    o.put("src", &src);
    let id = o
        .send(Req::new("POST", BUCKET, "dst").query("uploads"))
        .tag("UploadId")
        .unwrap();
    let r = o.send(
        Req::new("PUT", BUCKET, "dst")
            .query(&format!("partNumber=1&uploadId={id}"))
            .header("x-oss-copy-source", &format!("/{BUCKET}/src"))
            .header("x-oss-copy-source-range", "bytes=0-102399"),
    );
    expect(&r, 200, "");
    assert!(r.tag("ETag").is_some());
    let r = o.send(
        Req::new("PUT", BUCKET, "dst")
            .query(&format!("partNumber=2&uploadId={id}"))
            .header("x-oss-copy-source", &format!("/{BUCKET}/src"))
            .header("x-oss-copy-source-range", "bytes=102400-"),
    );
    expect(&r, 200, "");
    let r = o.send(
        Req::new("POST", BUCKET, "dst")
            .query(&format!("uploadId={id}"))
            .header("x-oss-complete-all", "yes"),
    );
    expect(&r, 200, "");
    assert_eq!(&o.get("dst").body[..], &src[..]);
}

#[test]
fn virtual_host_addressing() {
    let o = OssHarness::new();
    o.put("vk", b"v");
    let root = o.h.root.clone();
    // `bucket.localhost` and an existing bucket's label are virtual-host style; the signature
    // covers `/bucket/key` either way.
    for host in [
        format!("{BUCKET}.localhost:9000"),
        format!("{BUCKET}.oss.example.com"),
    ] {
        let mut req = o.build(
            &Req {
                host: Some(host.clone()),
                ..Req::new("GET", BUCKET, "vk")
            },
            &root,
            Sig::V1,
            None,
        );
        req.path = "/vk".into();
        let r = o.send_raw(req);
        assert_eq!(
            (r.status, &r.body[..]),
            (200, &b"v"[..]),
            "{host}: {}",
            r.text()
        );
    }
}

#[test]
fn unsupported_and_wrong_methods() {
    let o = OssHarness::new();
    expect(
        &o.send(
            Req::new("PUT", BUCKET, "k")
                .query("tagging")
                .body("<Tagging/>"),
        ),
        501,
        "NotImplemented",
    );
    expect(
        &o.send(Req::new("POST", BUCKET, "k")),
        405,
        "MethodNotAllowed",
    );
    expect(&o.send(Req::new("DELETE", "", "")), 405, "MethodNotAllowed");
    let r = o.send(Req::new("GET", BUCKET, "").query("acl"));
    expect(&r, 200, "");
    assert_eq!(r.tag("Grant").as_deref(), Some("private"));
}

#[test]
fn list_multipart_uploads_pages_and_rolls_up() {
    let o = OssHarness::new();
    let mut ids = Vec::new();
    for k in ["a/1", "a/2", "b", "c"] {
        let r = o.send(Req::new("POST", BUCKET, k).query("uploads"));
        ids.push((k, r.tag("UploadId").unwrap()));
    }
    let r = o.send(Req::new("GET", BUCKET, "").query("uploads&delimiter=%2F"));
    expect(&r, 200, "");
    assert_eq!(r.tags("Key"), ["b", "c"]);
    assert_eq!(r.tags("Prefix")[1..], ["a/"]);
    assert_eq!(r.tag("IsTruncated").as_deref(), Some("false"));

    let mut seen = Vec::new();
    let (mut km, mut im) = (String::new(), String::new());
    loop {
        let r = o.send(Req::new("GET", BUCKET, "").query(&format!(
            "uploads&max-uploads=1&key-marker={}&upload-id-marker={im}",
            keyless_sign::percent_encode(&km)
        )));
        seen.extend(r.tags("Key"));
        if r.tag("IsTruncated").as_deref() == Some("false") {
            break;
        }
        km = r.tag("NextKeyMarker").unwrap();
        im = r.tag("NextUploadIdMarker").unwrap();
    }
    assert_eq!(seen, ["a/1", "a/2", "b", "c"]);
    let r = o.send(Req::new("GET", BUCKET, "").query("uploads&prefix=a%2F&encoding-type=url"));
    assert_eq!(r.tags("Key"), ["a%2F1", "a%2F2"]);
    for (k, id) in ids {
        expect(
            &o.send(Req::new("DELETE", BUCKET, k).query(&format!("uploadId={id}"))),
            204,
            "",
        );
    }
    expect(&o.send(Req::new("DELETE", BUCKET, "")), 204, "");
}
