//! Multipart uploads: InitiateMultipartUpload, UploadPart (streamed), UploadPartCopy,
//! CompleteMultipartUpload, AbortMultipartUpload, ListParts and ListMultipartUploads. Writing
//! parts and completing are authorized as `oss:PutObject`, as the vendor does.

use super::object::{check_length, object_attrs, preconditions, stream_body};
use super::request::{self, parse_copy_source, parse_range, url_encode, url_encoding};
use super::{empty, iso_millis, xml_ok, Call, OssError, MAX_XML_BODY};
use keyless_http::{BodyReader, StreamResp};
use keyless_objstore::{CompletedPart, StoreError, UploadInfo, MAX_PART_NUMBER};
use keyless_wire::xml::{self, Element, XmlWriter};
use std::io::Read;

const MAX_LIST: usize = 1000;

fn upload_id<'a>(c: &'a Call<'_>) -> Result<&'a str, OssError> {
    c.params
        .non_empty("uploadId")
        .ok_or_else(|| OssError::invalid_argument("The uploadId is missing or empty."))
}

fn part_number(c: &Call<'_>) -> Result<u32, OssError> {
    c.params
        .get("partNumber")
        .and_then(|v| v.parse::<u32>().ok())
        .filter(|n| (1..=MAX_PART_NUMBER).contains(n))
        .ok_or_else(|| {
            OssError::invalid_argument(format!(
                "Part number must be an integer between 1 and {MAX_PART_NUMBER}, inclusive."
            ))
            .with("ArgumentName", "partNumber")
        })
}

fn encoder(c: &Call<'_>) -> impl Fn(&str) -> String {
    let url = url_encoding(&c.params);
    move |s: &str| if url { url_encode(s) } else { s.to_owned() }
}

/// `POST /bucket/key?uploads`.
pub fn initiate(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_object("oss:PutObject", c.bucket(), c.key())?;
    let mut attrs = object_attrs(c, false)?;
    attrs.expected_md5 = None;
    let id = c
        .backend()
        .create_multipart_upload(c.bucket(), c.key(), attrs)?;
    let enc = encoder(c);
    let mut w = XmlWriter::new("InitiateMultipartUploadResult");
    if url_encoding(&c.params) {
        w.elem("EncodingType", "url");
    }
    w.elem("Bucket", c.bucket())
        .elem("Key", &enc(c.key()))
        .elem("UploadId", &id);
    Ok(xml_ok(w.finish()))
}

/// `PUT /bucket/key?partNumber=N&uploadId=ID`.
pub fn upload_part(c: &Call<'_>, body: &mut BodyReader) -> Result<StreamResp, OssError> {
    c.allow_object("oss:PutObject", c.bucket(), c.key())?;
    let id = upload_id(c)?;
    let n = part_number(c)?;
    check_length(c)?;
    let md5 = c
        .header("content-md5")
        .map(request::parse_content_md5)
        .transpose()?;
    let mut writer = c.backend().upload_part(c.bucket(), c.key(), id, n)?;
    stream_body(c, body, |chunk| writer.write(chunk))?;
    let part = writer.commit(md5)?;
    let mut r = empty(200);
    r.headers.push(("etag".into(), part.etag));
    Ok(r)
}

/// `PUT /bucket/key?partNumber=N&uploadId=ID` with `x-oss-copy-source` (and optionally
/// `x-oss-copy-source-range: bytes=a-b`).
pub fn upload_part_copy(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let (sb, sk) = parse_copy_source(c.header("x-oss-copy-source").unwrap_or(""))?;
    c.allow_object("oss:GetObject", &sb, &sk)?;
    c.allow_object("oss:PutObject", c.bucket(), c.key())?;
    let id = upload_id(c)?;
    let n = part_number(c)?;
    let range = match c.header("x-oss-copy-source-range") {
        None => None,
        Some(v) => Some(parse_range(v).ok_or_else(|| {
            OssError::invalid_argument("The x-oss-copy-source-range is not valid.")
        })?),
    };
    let src = c.backend().get_object(&sb, &sk, range)?;
    preconditions(c, &src.meta, "x-oss-copy-source-")?;
    let mut writer = c.backend().upload_part(c.bucket(), c.key(), id, n)?;
    let mut reader = src.body;
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let k = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                tracing::error!(error = %e, "oss: reading a copy source failed");
                return Err(OssError::internal());
            }
        };
        writer.write(buf.get(..k).unwrap_or_default())?;
    }
    let part = writer.commit(None)?;
    let mut w = XmlWriter::new("CopyPartResult");
    w.elem("LastModified", &iso_millis(part.last_modified_ms))
        .elem("ETag", &part.etag);
    let mut r = xml_ok(w.finish());
    r.headers.push(("etag".into(), part.etag));
    Ok(r)
}

/// The `CompleteMultipartUpload` document.
pub fn parse_complete(root: &Element) -> Result<Vec<CompletedPart>, OssError> {
    if root.name != "CompleteMultipartUpload" {
        return Err(OssError::malformed_xml(
            "expected `CompleteMultipartUpload`",
        ));
    }
    let mut parts = Vec::new();
    for p in root.children_named("Part") {
        let part_number = p
            .child_text("PartNumber")
            .and_then(|n| n.trim().parse::<u32>().ok())
            .ok_or_else(|| OssError::malformed_xml("a `Part` has no valid `PartNumber`"))?;
        let etag = p
            .child_text("ETag")
            .ok_or_else(|| OssError::malformed_xml("a `Part` has no `ETag`"))?;
        parts.push(CompletedPart {
            part_number,
            etag: etag.trim().to_owned(),
        });
        if parts.len() > MAX_PART_NUMBER as usize {
            return Err(OssError::malformed_xml("too many parts"));
        }
    }
    if parts.is_empty() {
        return Err(OssError::malformed_xml("no `Part`"));
    }
    Ok(parts)
}

/// `POST /bucket/key?uploadId=ID` with the parts, or with `x-oss-complete-all: yes`.
pub fn complete(c: &Call<'_>, body: &mut BodyReader) -> Result<StreamResp, OssError> {
    c.allow_object("oss:PutObject", c.bucket(), c.key())?;
    let id = upload_id(c)?;
    let raw = c.read_small_body(body, MAX_XML_BODY)?;
    let all = c
        .header("x-oss-complete-all")
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("yes"));
    let parts = if all {
        if !raw.iter().all(u8::is_ascii_whitespace) {
            return Err(OssError::invalid_argument(
                "The body must be empty with x-oss-complete-all.",
            ));
        }
        c.backend()
            .list_parts(c.bucket(), c.key(), id)?
            .into_iter()
            .map(|p| CompletedPart {
                part_number: p.part_number,
                etag: p.etag,
            })
            .collect()
    } else {
        let root = xml::parse(&raw).map_err(|e| OssError::malformed_xml(e.as_str()))?;
        parse_complete(&root)?
    };
    let meta = c
        .backend()
        .complete_multipart_upload(c.bucket(), c.key(), id, &parts)?;
    let enc = encoder(c);
    let location = if c.target.vhost {
        format!(
            "http://{}.{}/{}",
            c.bucket(),
            c.endpoint(),
            url_encode(c.key())
        )
    } else {
        format!(
            "http://{}/{}/{}",
            c.endpoint(),
            c.bucket(),
            url_encode(c.key())
        )
    };
    let mut w = XmlWriter::new("CompleteMultipartUploadResult");
    if url_encoding(&c.params) {
        w.elem("EncodingType", "url");
    }
    w.elem("Location", &location)
        .elem("Bucket", c.bucket())
        .elem("Key", &enc(c.key()))
        .elem("ETag", &meta.etag);
    let mut r = xml_ok(w.finish());
    r.headers.push(("etag".into(), meta.etag));
    Ok(r)
}

/// `DELETE /bucket/key?uploadId=ID`.
pub fn abort(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_object("oss:AbortMultipartUpload", c.bucket(), c.key())?;
    let id = upload_id(c)?;
    c.backend()
        .abort_multipart_upload(c.bucket(), c.key(), id)?;
    Ok(empty(204))
}

fn bounded(c: &Call<'_>, name: &str) -> Result<usize, OssError> {
    match c.params.non_empty(name) {
        None => Ok(MAX_LIST),
        Some(v) => v
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=MAX_LIST).contains(n))
            .ok_or_else(|| {
                OssError::invalid_argument(format!("Argument {name} is invalid."))
                    .with("ArgumentName", name.to_owned())
            }),
    }
}

/// `GET /bucket/key?uploadId=ID`.
pub fn list_parts(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_object("oss:ListParts", c.bucket(), c.key())?;
    let id = upload_id(c)?;
    let max = bounded(c, "max-parts")?;
    let marker = match c.params.non_empty("part-number-marker") {
        None => 0,
        Some(v) => v
            .parse::<u32>()
            .map_err(|_| OssError::invalid_argument("Argument part-number-marker is invalid."))?,
    };
    let all = c.backend().list_parts(c.bucket(), c.key(), id)?;
    let mut parts: Vec<_> = all.into_iter().filter(|p| p.part_number > marker).collect();
    let truncated = parts.len() > max;
    parts.truncate(max);
    let next = parts.last().map_or(0, |p| p.part_number);
    let enc = encoder(c);
    let mut w = XmlWriter::new("ListPartsResult");
    if url_encoding(&c.params) {
        w.elem("EncodingType", "url");
    }
    w.elem("Bucket", c.bucket())
        .elem("Key", &enc(c.key()))
        .elem("UploadId", id)
        .elem("StorageClass", "Standard")
        .elem("PartNumberMarker", &marker.to_string())
        .elem("NextPartNumberMarker", &next.to_string())
        .elem("MaxParts", &max.to_string())
        .elem("IsTruncated", if truncated { "true" } else { "false" });
    for p in &parts {
        w.open("Part")
            .elem("PartNumber", &p.part_number.to_string())
            .elem("LastModified", &iso_millis(p.last_modified_ms))
            .elem("ETag", &p.etag)
            .elem("Size", &p.size.to_string())
            .close();
    }
    Ok(xml_ok(w.finish()))
}

enum Entry<'a> {
    Upload(&'a UploadInfo),
    Prefix(String),
}

/// `GET /bucket?uploads`: prefix, delimiter, key-marker, upload-id-marker, max-uploads.
pub fn list_uploads(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_bucket(&[])?;
    let prefix = c.params.get("prefix").unwrap_or("");
    let delimiter = c.params.get("delimiter").unwrap_or("");
    let key_marker = c.params.get("key-marker").unwrap_or("");
    let id_marker = c.params.get("upload-id-marker").unwrap_or("");
    let max = bounded(c, "max-uploads")?;
    let uploads = match c.backend().list_multipart_uploads(c.bucket()) {
        Ok(u) => u,
        Err(StoreError::NoSuchBucket(b)) => return Err(OssError::no_such_bucket(&b)),
        Err(e) => return Err(e.into()),
    };
    // Start just after the marker position, in listing order (key, then initiation).
    let start = if key_marker.is_empty() {
        0
    } else {
        let after_key = uploads
            .iter()
            .position(|u| u.key.as_str() > key_marker)
            .unwrap_or(uploads.len());
        if id_marker.is_empty() {
            after_key
        } else {
            uploads
                .iter()
                .position(|u| u.key == key_marker && u.upload_id == id_marker)
                .map_or(after_key, |i| i + 1)
        }
    };
    let mut entries: Vec<Entry<'_>> = Vec::new();
    let mut truncated = false;
    for u in uploads.get(start..).unwrap_or_default() {
        if !u.key.starts_with(prefix) {
            continue;
        }
        let rolled = if delimiter.is_empty() {
            None
        } else {
            u.key
                .get(prefix.len()..)
                .and_then(|rest| rest.find(delimiter))
                .and_then(|i| u.key.get(..prefix.len() + i + delimiter.len()))
                .map(str::to_owned)
        };
        if let Some(cp) = rolled {
            if matches!(entries.last(), Some(Entry::Prefix(p)) if *p == cp) {
                continue;
            }
            if key_marker >= cp.as_str() && !key_marker.is_empty() {
                continue;
            }
            if entries.len() == max {
                truncated = true;
                break;
            }
            entries.push(Entry::Prefix(cp));
        } else {
            if entries.len() == max {
                truncated = true;
                break;
            }
            entries.push(Entry::Upload(u));
        }
    }
    let enc = encoder(c);
    let (next_key, next_id) = if truncated {
        match entries.last() {
            Some(Entry::Upload(u)) => (u.key.clone(), u.upload_id.clone()),
            Some(Entry::Prefix(p)) => (p.clone(), String::new()),
            None => (String::new(), String::new()),
        }
    } else {
        (String::new(), String::new())
    };
    let mut w = XmlWriter::new("ListMultipartUploadsResult");
    w.elem("Bucket", c.bucket());
    if url_encoding(&c.params) {
        w.elem("EncodingType", "url");
    }
    w.elem("KeyMarker", &enc(key_marker))
        .elem("UploadIdMarker", id_marker)
        .elem("NextKeyMarker", &enc(&next_key))
        .elem("NextUploadIdMarker", &next_id)
        .elem("Delimiter", &enc(delimiter))
        .elem("Prefix", &enc(prefix))
        .elem("MaxUploads", &max.to_string())
        .elem("IsTruncated", if truncated { "true" } else { "false" });
    for e in &entries {
        if let Entry::Upload(u) = e {
            w.open("Upload")
                .elem("Key", &enc(&u.key))
                .elem("UploadId", &u.upload_id)
                .elem("StorageClass", "Standard")
                .elem("Initiated", &iso_millis(u.initiated_ms))
                .close();
        }
    }
    for e in &entries {
        if let Entry::Prefix(p) = e {
            w.open("CommonPrefixes").elem("Prefix", &enc(p)).close();
        }
    }
    Ok(xml_ok(w.finish()))
}
