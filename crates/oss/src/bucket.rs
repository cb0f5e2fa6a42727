//! Service and bucket operations: ListBuckets, PutBucket, DeleteBucket, GetBucketInfo,
//! HeadBucket, GetBucketLocation, GetBucketAcl, and the object listings (ListObjects,
//! ListObjectsV2).

use super::request::{url_encode, url_encoding, Params};
use super::{empty, iso_millis, xml_ok, Call, OssError};
use base64::Engine as _;
use keyless_http::{BodyReader, StreamResp};
use keyless_objstore::{BucketInfo, ListRequest, ObjectKind, StoreError};
use keyless_wire::xml::{self, XmlWriter};

const MAX_LIST: usize = 1000;
const DEFAULT_LIST: usize = 100;

fn max_keys(params: &Params, name: &'static str, default: usize) -> Result<usize, OssError> {
    match params.non_empty(name) {
        None => Ok(default),
        Some(v) => match v.parse::<usize>() {
            Ok(n) if n <= MAX_LIST => Ok(n),
            _ => Err(OssError::invalid_argument(format!(
                "Argument {name} is invalid: it must be a number from 0 to {MAX_LIST}."
            ))
            .with("ArgumentName", name)
            .with("ArgumentValue", v.chars().take(32).collect::<String>())),
        },
    }
}

fn location(region: &str) -> String {
    format!("oss-{region}")
}

fn write_owner(w: &mut XmlWriter, uid: &str) {
    w.open("Owner")
        .elem("ID", uid)
        .elem("DisplayName", uid)
        .close();
}

/// `GET /`: the caller's account's buckets.
pub fn list_buckets(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let uid = c.caller.account_id().to_owned();
    c.allow(c.op.action(), &uid, "*", &[])?;
    let prefix = c.params.get("prefix").unwrap_or("");
    let marker = c.params.get("marker").unwrap_or("");
    let max = match max_keys(&c.params, "max-keys", DEFAULT_LIST)? {
        0 => DEFAULT_LIST,
        n => n,
    };
    let mut mine: Vec<BucketInfo> = c
        .backend()
        .list_buckets()?
        .into_iter()
        .filter(|b| b.owner == uid && b.name.starts_with(prefix) && b.name.as_str() > marker)
        .collect();
    let truncated = mine.len() > max;
    mine.truncate(max);
    let endpoint = c.endpoint();
    let mut w = XmlWriter::new("ListAllMyBucketsResult");
    if c.params.has("prefix") || c.params.has("marker") || c.params.has("max-keys") {
        w.elem("Prefix", prefix)
            .elem("Marker", marker)
            .elem("MaxKeys", &max.to_string());
    }
    w.elem("IsTruncated", if truncated { "true" } else { "false" });
    if truncated {
        if let Some(last) = mine.last() {
            w.elem("NextMarker", &last.name);
        }
    }
    write_owner(&mut w, &uid);
    w.open("Buckets");
    for b in &mine {
        w.open("Bucket")
            .elem("Comment", "")
            .elem("CreationDate", &iso_millis(b.created_ms))
            .elem("ExtranetEndpoint", &endpoint)
            .elem("IntranetEndpoint", &endpoint)
            .elem("Location", &location(&b.region))
            .elem("Name", &b.name)
            .elem("Region", &b.region)
            .elem("StorageClass", "Standard")
            .close();
    }
    w.close();
    Ok(xml_ok(w.finish()))
}

/// `PUT /bucket`: creates the bucket for the caller's account (idempotent for its owner).
pub fn put_bucket(c: &Call<'_>, body: &mut BodyReader) -> Result<StreamResp, OssError> {
    let uid = c.caller.account_id().to_owned();
    c.allow(c.op.action(), &uid, c.bucket(), &[])?;
    let raw = c.read_small_body(body, 64 * 1024)?;
    if !raw.iter().all(u8::is_ascii_whitespace) {
        let root = xml::parse(&raw).map_err(|e| OssError::malformed_xml(e.as_str()))?;
        if root.name != "CreateBucketConfiguration" {
            return Err(OssError::malformed_xml(
                "expected `CreateBucketConfiguration`",
            ));
        }
    }
    match c
        .backend()
        .create_bucket(c.bucket(), &uid, &c.state().config().region)
    {
        Ok(_) => {}
        Err(StoreError::BucketAlreadyExists(b)) => {
            let info = c.bucket_info(&b)?;
            if info.owner != uid {
                return Err(StoreError::BucketAlreadyExists(b).into());
            }
        }
        Err(e) => return Err(e.into()),
    }
    let mut r = empty(200);
    r.headers
        .push(("location".into(), format!("/{}", c.bucket())));
    Ok(r)
}

/// `DELETE /bucket`: only when it holds nothing.
pub fn delete_bucket(c: &Call<'_>) -> Result<StreamResp, OssError> {
    c.allow_bucket(&[])?;
    c.backend().delete_bucket(c.bucket())?;
    Ok(empty(204))
}

/// `GET /bucket?bucketInfo`.
pub fn get_bucket_info(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let b = c.allow_bucket(&[])?;
    let endpoint = c.endpoint();
    let mut w = XmlWriter::new("BucketInfo");
    w.open("Bucket")
        .elem("AccessMonitor", "Disabled")
        .elem("CreationDate", &iso_millis(b.created_ms))
        .elem("ExtranetEndpoint", &endpoint)
        .elem("IntranetEndpoint", &endpoint)
        .elem("Location", &location(&b.region))
        .elem("StorageClass", "Standard")
        .elem("TransferAcceleration", "Disabled")
        .elem("CrossRegionReplication", "Disabled")
        .elem("DataRedundancyType", "LRS")
        .elem("Name", &b.name)
        .elem("Comment", "");
    write_owner(&mut w, &b.owner);
    w.open("AccessControlList").elem("Grant", "private").close();
    w.open("ServerSideEncryptionRule")
        .elem("SSEAlgorithm", "None")
        .close();
    w.open("BucketPolicy")
        .elem("LogBucket", "")
        .elem("LogPrefix", "")
        .close();
    Ok(xml_ok(w.finish()))
}

/// `HEAD /bucket`: whether it exists and may be read.
pub fn head_bucket(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let b = c.allow_bucket(&[])?;
    let mut r = empty(200);
    r.headers.push(("x-oss-bucket-region".into(), b.region));
    Ok(r)
}

/// `GET /bucket?location`.
pub fn get_bucket_location(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let b = c.allow_bucket(&[])?;
    let mut w = XmlWriter::new("LocationConstraint");
    w.text(&location(&b.region));
    Ok(xml_ok(w.finish()))
}

/// The `AccessControlPolicy` document (keyless buckets and objects are private).
pub fn acl_document(owner: &str, grant: &str) -> String {
    let mut w = XmlWriter::new("AccessControlPolicy");
    write_owner(&mut w, owner);
    w.open("AccessControlList").elem("Grant", grant);
    w.finish()
}

/// `GET /bucket?acl`.
pub fn get_bucket_acl(c: &Call<'_>) -> Result<StreamResp, OssError> {
    let b = c.allow_bucket(&[])?;
    Ok(xml_ok(acl_document(&b.owner, "private")))
}

/// The parameters of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListParams {
    pub prefix: String,
    pub delimiter: String,
    /// V1 `marker`; V2 `start-after`.
    pub marker: String,
    /// V2: the decoded continuation token, when one was sent.
    pub token: Option<String>,
    pub max_keys: usize,
    pub url: bool,
    pub fetch_owner: bool,
}

/// A V2 continuation token for the key to continue after (opaque to clients).
fn encode_token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key.as_bytes())
}

fn decode_token(token: &str) -> Result<String, OssError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token.trim_end_matches('='))
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| OssError::invalid_argument("The continuation token provided is incorrect."))
}

/// Parses the listing parameters of ListObjects (`v2` false) or ListObjectsV2.
pub fn list_params(params: &Params, v2: bool) -> Result<ListParams, OssError> {
    if let Some(e) = params.non_empty("encoding-type") {
        if e != "url" {
            return Err(OssError::invalid_argument(
                "The encoding-type parameter must be `url`.",
            ));
        }
    }
    let token = if v2 {
        params
            .non_empty("continuation-token")
            .map(decode_token)
            .transpose()?
    } else {
        None
    };
    let marker = if v2 { "start-after" } else { "marker" };
    let p = ListParams {
        prefix: params.get("prefix").unwrap_or("").to_owned(),
        delimiter: params.get("delimiter").unwrap_or("").to_owned(),
        marker: params.get(marker).unwrap_or("").to_owned(),
        token,
        max_keys: max_keys(params, "max-keys", DEFAULT_LIST)?,
        url: url_encoding(params),
        fetch_owner: params.get("fetch-owner") == Some("true"),
    };
    for (what, v) in [
        ("prefix", &p.prefix),
        ("marker", &p.marker),
        ("delimiter", &p.delimiter),
    ] {
        if v.len() > keyless_objstore::MAX_KEY_BYTES {
            return Err(OssError::invalid_argument(format!(
                "The {what} is too long."
            )));
        }
    }
    Ok(p)
}

/// `GET /bucket` (ListObjects) and `GET /bucket?list-type=2` (ListObjectsV2), with the
/// `oss:Prefix` and `oss:Delimiter` condition keys.
pub fn list_objects(c: &Call<'_>, v2: bool) -> Result<StreamResp, OssError> {
    let p = list_params(&c.params, v2)?;
    let mut extra = vec![("oss:Prefix", p.prefix.as_str())];
    if !p.delimiter.is_empty() {
        extra.push(("oss:Delimiter", p.delimiter.as_str()));
    }
    let info = c.allow_bucket(&extra)?;
    let start = match &p.token {
        Some(t) if *t > p.marker => t.clone(),
        _ => p.marker.clone(),
    };
    let res = c.backend().list_objects(
        c.bucket(),
        &ListRequest {
            prefix: p.prefix.clone(),
            delimiter: p.delimiter.clone(),
            marker: start,
            max_keys: p.max_keys,
        },
    )?;
    let enc = |s: &str| if p.url { url_encode(s) } else { s.to_owned() };
    let mut w = XmlWriter::new("ListBucketResult");
    w.elem("Name", c.bucket()).elem("Prefix", &enc(&p.prefix));
    if v2 {
        if c.params.has("start-after") {
            w.elem("StartAfter", &enc(&p.marker));
        }
        if let Some(t) = c.params.non_empty("continuation-token") {
            w.elem("ContinuationToken", t);
        }
    } else {
        w.elem("Marker", &enc(&p.marker));
    }
    w.elem("MaxKeys", &p.max_keys.to_string())
        .elem("Delimiter", &enc(&p.delimiter));
    if p.url {
        w.elem("EncodingType", "url");
    }
    w.elem(
        "IsTruncated",
        if res.is_truncated { "true" } else { "false" },
    );
    if res.is_truncated {
        if let Some(next) = &res.next_marker {
            if v2 {
                w.elem("NextContinuationToken", &encode_token(next));
            } else {
                w.elem("NextMarker", &enc(next));
            }
        }
    }
    if v2 {
        w.elem(
            "KeyCount",
            &(res.objects.len() + res.common_prefixes.len()).to_string(),
        );
    }
    for o in &res.objects {
        w.open("Contents")
            .elem("Key", &enc(&o.key))
            .elem("LastModified", &iso_millis(o.last_modified_ms))
            .elem("ETag", &o.etag)
            .elem(
                "Type",
                match o.kind {
                    ObjectKind::Normal => "Normal",
                    ObjectKind::Multipart => "Multipart",
                },
            )
            .elem("Size", &o.size.to_string())
            .elem("StorageClass", "Standard");
        if !v2 || p.fetch_owner {
            write_owner(&mut w, &info.owner);
        }
        w.close();
    }
    for cp in &res.common_prefixes {
        w.open("CommonPrefixes").elem("Prefix", &enc(cp)).close();
    }
    Ok(xml_ok(w.finish()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn tokens_round_trip() {
        for k in ["", "a/b c+d", "日本/\u{1}"] {
            assert_eq!(decode_token(&encode_token(k)).unwrap(), k);
        }
        assert!(decode_token("!!").is_err());
    }

    #[test]
    fn list_parameters() {
        let p = list_params(
            &Params::parse("list-type=2&prefix=data%2F&delimiter=&continuation-token=&start-after=&fetch-owner=false&max-keys=100&encoding-type=url").unwrap(),
            true,
        )
        .unwrap();
        assert_eq!(p.prefix, "data/");
        assert_eq!(p.token, None);
        assert!(p.url && !p.fetch_owner);
        assert!(list_params(&Params::parse("max-keys=1001").unwrap(), false).is_err());
        assert!(list_params(&Params::parse("max-keys=x").unwrap(), false).is_err());
        assert!(list_params(&Params::parse("encoding-type=base64").unwrap(), false).is_err());
    }
}
