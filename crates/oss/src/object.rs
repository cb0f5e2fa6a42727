//! Object operations: PutObject (streamed to storage), GetObject (streamed from storage, with
//! ranges and conditions), HeadObject, GetObjectMeta, GetObjectAcl, DeleteObject,
//! DeleteMultipleObjects and CopyObject.

use super::bucket::acl_document;
use super::request::{self, parse_copy_source, parse_range, url_encode, url_encoding};
use super::{
    body_error, empty, etag_md5_b64, http_date, iso_millis, sha256_mismatch, xml_ok, Call,
    OssError, MAX_OBJECT_BYTES,
};
use bytes::Bytes;
use keyless_http::{BodyReader, RespBody, StreamResp};
use keyless_objstore::{ObjectAttrs, ObjectKind, ObjectMeta, StoreError};
use keyless_wire::xml::{self, Element, XmlWriter};
use sha2::Digest as _;

/// Most keys in one DeleteMultipleObjects.
const MAX_DELETE_KEYS: usize = 1000;
/// Largest chunk handed to storage at once.
const CHUNK: usize = 256 * 1024;

/// Refuses a `Content-Length` over the single-PUT limit before reading anything.
pub fn check_length(c: &Call<'_>) -> Result<(), OssError> {
    if let Some(v) = c.header("content-length") {
        match v.trim().parse::<u64>() {
            Ok(n) if n > MAX_OBJECT_BYTES => return Err(OssError::entity_too_large()),
            Ok(_) => {}
            Err(_) => {
                return Err(OssError::invalid_argument(
                    "The Content-Length is not valid.",
                ))
            }
        }
    }
    Ok(())
}

/// Content type, user metadata and (with `md5`) the announced `Content-MD5` of a write.
pub fn object_attrs(c: &Call<'_>, md5: bool) -> Result<ObjectAttrs, OssError> {
    let expected_md5 = match c.header("content-md5") {
        Some(v) if md5 => Some(request::parse_content_md5(v)?),
        _ => None,
    };
    Ok(ObjectAttrs {
        content_type: c
            .header("content-type")
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned),
        user_meta: request::user_meta(&c.head.headers),
        expected_md5,
    })
}

/// Moves the request body into `sink` chunk by chunk, checking a signed payload hash at the end
/// (before the caller commits). Returns the byte count.
pub fn stream_body(
    c: &Call<'_>,
    body: &mut BodyReader,
    mut sink: impl FnMut(&[u8]) -> Result<(), StoreError>,
) -> Result<u64, OssError> {
    let mut hasher = c.content_sha256.map(|_| sha2::Sha256::new());
    let mut total = 0u64;
    loop {
        let chunk = match body.next_chunk(CHUNK) {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => return Err(body_error(&e)),
        };
        total += chunk.len() as u64;
        if total > MAX_OBJECT_BYTES {
            return Err(OssError::entity_too_large());
        }
        if let Some(h) = hasher.as_mut() {
            h.update(&chunk);
        }
        sink(&chunk)?;
    }
    if let (Some(h), Some(want)) = (hasher, c.content_sha256) {
        let got: [u8; 32] = h.finalize().into();
        if got != want {
            return Err(sha256_mismatch());
        }
    }
    Ok(total)
}

fn forbid_overwrite(c: &Call<'_>, bucket: &str, key: &str) -> Result<(), OssError> {
    if c.header("x-oss-forbid-overwrite")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
    {
        match c.backend().head_object(bucket, key) {
            Ok(_) => {
                return Err(OssError::new(
                    409,
                    "FileAlreadyExists",
                    "The object you specified already exists and can not be overwritten.",
                ))
            }
            Err(StoreError::NoSuchKey(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `PUT /bucket/key`: the body goes to storage as it arrives; nothing is visible until it is
/// complete and its `Content-MD5` (if sent) matches.
pub fn put_object(c: &Call<'_>, body: &mut BodyReader) -> Result<StreamResp, OssError> {
    c.allow_object("oss:PutObject", c.bucket(), c.key())?;
    check_length(c)?;
    let attrs = object_attrs(c, true)?;
    forbid_overwrite(c, c.bucket(), c.key())?;
    let mut writer = c.backend().put_object(c.bucket(), c.key())?;
    stream_body(c, body, |chunk| writer.write(chunk))?;
    let meta = writer.commit(attrs)?;
    let mut r = empty(200);
    r.headers.push(("etag".into(), meta.etag.clone()));
    if let Some(md5) = etag_md5_b64(&meta.etag) {
        r.headers.push(("content-md5".into(), md5));
    }
    Ok(r)
}

fn object_type(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::Normal => "Normal",
        ObjectKind::Multipart => "Multipart",
    }
}

fn precondition_failed(condition: String) -> OssError {
    OssError::new(
        412,
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold.",
    )
    .with("Condition", condition)
}

fn not_modified() -> OssError {
    OssError::new(304, "NotModified", "Not Modified")
}

/// `If-Match`, `If-Unmodified-Since`, `If-None-Match`, `If-Modified-Since` (with `prefix`, the
/// `x-oss-copy-source-` forms).
pub fn preconditions(c: &Call<'_>, meta: &ObjectMeta, prefix: &str) -> Result<(), OssError> {
    let h = |name: &str| c.header(&format!("{prefix}{name}"));
    let etag = meta.etag.trim_matches('"');
    let matches = |list: &str| {
        list.split(',').any(|t| {
            let t = t.trim().trim_start_matches("W/");
            t == "*" || t.trim_matches('"').eq_ignore_ascii_case(etag)
        })
    };
    let modified = meta.last_modified_ms.div_euclid(1000);
    let date = |v: &str| keyless_sign::parse_http_date(v.trim()).ok();
    if let Some(v) = h("if-match") {
        if !matches(v) {
            return Err(precondition_failed(format!("{prefix}If-Match")));
        }
    }
    if let Some(t) = h("if-unmodified-since").and_then(date) {
        if modified > t {
            return Err(precondition_failed(format!("{prefix}If-Unmodified-Since")));
        }
    }
    if let Some(v) = h("if-none-match") {
        if matches(v) {
            return Err(not_modified());
        }
    }
    if let Some(t) = h("if-modified-since").and_then(date) {
        if modified <= t {
            return Err(not_modified());
        }
    }
    Ok(())
}

fn meta_headers(c: &Call<'_>, meta: &ObjectMeta) -> Vec<(String, String)> {
    let mut h = vec![
        ("content-type".to_owned(), meta.content_type.clone()),
        ("etag".to_owned(), meta.etag.clone()),
        ("last-modified".to_owned(), http_date(meta.last_modified_ms)),
        ("accept-ranges".to_owned(), "bytes".to_owned()),
        (
            "x-oss-object-type".to_owned(),
            object_type(meta.kind).to_owned(),
        ),
        ("x-oss-storage-class".to_owned(), "Standard".to_owned()),
    ];
    for (k, v) in &meta.user_meta {
        h.push((format!("x-oss-meta-{k}"), v.clone()));
    }
    for (param, header) in [
        ("response-content-type", "content-type"),
        ("response-content-language", "content-language"),
        ("response-expires", "expires"),
        ("response-cache-control", "cache-control"),
        ("response-content-disposition", "content-disposition"),
        ("response-content-encoding", "content-encoding"),
    ] {
        if let Some(v) = c.params.get(param) {
            if v.bytes().all(|b| b >= 0x20 && b != 0x7f) {
                h.retain(|(k, _)| k != header);
                h.push((header.to_owned(), v.to_owned()));
            }
        }
    }
    h
}

/// `GET` / `HEAD /bucket/key`, with `Range` (`bytes=a-b`, `a-`, `-n`; an unsatisfiable or
/// malformed range serves the whole object, as the vendor does, unless
/// `x-oss-range-behavior: standard` asks for a 416). The body streams from storage.
pub fn get_object(c: &Call<'_>, head_only: bool) -> Result<StreamResp, OssError> {
    c.allow_object("oss:GetObject", c.bucket(), c.key())?;
    if head_only {
        let meta = c.backend().head_object(c.bucket(), c.key())?;
        preconditions(c, &meta, "")?;
        let mut headers = meta_headers(c, &meta);
        headers.push(("content-length".into(), meta.size.to_string()));
        if meta.kind == ObjectKind::Normal {
            if let Some(md5) = etag_md5_b64(&meta.etag) {
                headers.push(("content-md5".into(), md5));
            }
        }
        return Ok(StreamResp {
            status: 200,
            headers,
            body: RespBody::Full(Bytes::new()),
            access: Default::default(),
        });
    }
    let standard = c
        .header("x-oss-range-behavior")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("standard"));
    let range = c.header("range").and_then(parse_range);
    if c.header("range").is_some() && range.is_none() && standard {
        let size = c.backend().head_object(c.bucket(), c.key())?.size;
        return Err(StoreError::InvalidRange { size }.into());
    }
    let got = match c.backend().get_object(c.bucket(), c.key(), range) {
        Err(StoreError::InvalidRange { .. }) if !standard => {
            c.backend().get_object(c.bucket(), c.key(), None)?
        }
        other => other?,
    };
    preconditions(c, &got.meta, "")?;
    let mut headers = meta_headers(c, &got.meta);
    let (status, len) = match got.range {
        Some((first, last)) => {
            headers.push((
                "content-range".into(),
                format!("bytes {first}-{last}/{}", got.meta.size),
            ));
            (206, last - first + 1)
        }
        None => {
            if got.meta.kind == ObjectKind::Normal {
                if let Some(md5) = etag_md5_b64(&got.meta.etag) {
                    headers.push(("content-md5".into(), md5));
                }
            }
            (200, got.meta.size)
        }
    };
    Ok(StreamResp {
        status,
        headers,
        body: RespBody::Reader {
            reader: got.body,
            len,
        },
        access: Default::default(),
    })
}

/// `HEAD /bucket/key?objectMeta`.
pub fn get_object_meta(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_object("oss:GetObject", c.bucket(), c.key())?;
    let meta = c.backend().head_object(c.bucket(), c.key())?;
    let mut r = empty(200);
    r.headers.push(("etag".into(), meta.etag.clone()));
    r.headers
        .push(("content-length".into(), meta.size.to_string()));
    r.headers
        .push(("last-modified".into(), http_date(meta.last_modified_ms)));
    Ok(r)
}

/// `GET /bucket/key?acl`.
pub fn get_object_acl(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let info = c.allow_object("oss:GetObjectAcl", c.bucket(), c.key())?;
    c.backend().head_object(c.bucket(), c.key())?;
    Ok(xml_ok(acl_document(&info.owner, "default")))
}

/// `DELETE /bucket/key` (204 whether or not it existed).
pub fn delete_object(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_object("oss:DeleteObject", c.bucket(), c.key())?;
    c.backend().delete_object(c.bucket(), c.key())?;
    Ok(empty(204))
}

/// The `Delete` document: quiet mode and the keys.
pub fn parse_delete(root: &Element) -> Result<(bool, Vec<String>), OssError> {
    if root.name != "Delete" {
        return Err(OssError::malformed_xml("expected `Delete`"));
    }
    let quiet = match root.child_text("Quiet").map(str::trim) {
        None | Some("false") => false,
        Some("true") => true,
        Some(_) => return Err(OssError::malformed_xml("`Quiet` must be true or false")),
    };
    let mut keys = Vec::new();
    for o in root.children_named("Object") {
        let key = o
            .child_text("Key")
            .filter(|k| !k.is_empty())
            .ok_or_else(|| OssError::malformed_xml("an `Object` has no `Key`"))?;
        request::check_key(key)?;
        keys.push(key.to_owned());
        if keys.len() > MAX_DELETE_KEYS {
            return Err(OssError::malformed_xml("more than 1000 objects"));
        }
    }
    if keys.is_empty() {
        return Err(OssError::malformed_xml("no `Object` to delete"));
    }
    Ok((quiet, keys))
}

/// `POST /bucket?delete`: `Content-MD5` is required and checked; every key needs
/// `oss:DeleteObject` (one denial refuses the whole request, before anything is deleted).
pub fn delete_multiple(c: &Call<'_>, body: &mut BodyReader) -> Result<StreamResp, OssError> {
    let info = c.bucket_info(c.bucket())?;
    if c.header("content-md5").is_none() {
        return Err(OssError::new(
            400,
            "MissingArgument",
            "Missing Some Required Arguments: Content-MD5 is required for DeleteMultipleObjects.",
        ));
    }
    let raw = c.read_small_body(body, 2 << 20)?;
    let root = xml::parse(&raw).map_err(|e| OssError::malformed_xml(e.as_str()))?;
    let (quiet, keys) = parse_delete(&root)?;
    for k in &keys {
        c.allow(
            "oss:DeleteObject",
            &info.owner,
            &format!("{}/{k}", info.name),
            &[],
        )?;
    }
    for k in &keys {
        c.backend().delete_object(c.bucket(), k)?;
    }
    let url = url_encoding(&c.params);
    let mut w = XmlWriter::new("DeleteResult");
    if url {
        w.elem("EncodingType", "url");
    }
    if !quiet {
        for k in &keys {
            let shown = if url { url_encode(k) } else { k.clone() };
            w.open("Deleted").elem("Key", &shown).close();
        }
    }
    Ok(xml_ok(w.finish()))
}

/// `PUT /bucket/key` with `x-oss-copy-source`: `oss:GetObject` on the source, `oss:PutObject`
/// on the target; `x-oss-metadata-directive: REPLACE` takes the request's content type and
/// metadata, `COPY` (default) the source's.
pub fn copy_object(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let (sb, sk) = parse_copy_source(c.header("x-oss-copy-source").unwrap_or(""))?;
    c.allow_object("oss:GetObject", &sb, &sk)?;
    c.allow_object("oss:PutObject", c.bucket(), c.key())?;
    let src = c.backend().head_object(&sb, &sk)?;
    preconditions(c, &src, "x-oss-copy-source-")?;
    let attrs = match c
        .header("x-oss-metadata-directive")
        .map(|d| d.trim().to_ascii_uppercase())
        .as_deref()
    {
        None | Some("COPY") => None,
        Some("REPLACE") => Some(object_attrs(c, false)?),
        Some(_) => {
            return Err(OssError::invalid_argument(
                "x-oss-metadata-directive must be COPY or REPLACE.",
            ))
        }
    };
    forbid_overwrite(c, c.bucket(), c.key())?;
    let meta = c
        .backend()
        .copy_object(&sb, &sk, c.bucket(), c.key(), attrs)?;
    let mut w = XmlWriter::new("CopyObjectResult");
    w.elem("ETag", &meta.etag)
        .elem("LastModified", &iso_millis(meta.last_modified_ms));
    let mut r = xml_ok(w.finish());
    r.headers.push(("etag".into(), meta.etag));
    Ok(r)
}
