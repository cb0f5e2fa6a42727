//! One set of STS credentials: parsed from the control plane's answer (or a previous file), and
//! rendered into the exact documents the clients read. Both directions are
//! `keyless_credentials::document`'s; this module only hands the rendered bytes out as [`Bytes`]
//! that are zeroized when the last reader lets go of them.

use bytes::Bytes;
use keyless_credentials::document::{self, Form};
use keyless_secret::SecretBytes;

/// A set of temporary credentials (`expiration` in Unix seconds; `role_name` when the control
/// plane says it, used by the ECS metadata protocol).
pub use keyless_credentials::document::CredentialsDocument as Credentials;

/// Parses `{"Code":"Success","AccessKeyId":…,"AccessKeySecret":…,"SecurityToken":…,
/// "Expiration":"YYYY-MM-DDTHH:MM:SSZ"}` (plus an optional `RoleName`). The error never contains
/// a secret.
pub fn parse(body: &[u8]) -> Result<Credentials, String> {
    document::parse(body).map_err(|e| format!("not a usable credentials document: {e}"))
}

/// The credentials-URI document (also the file's content), exactly the five fields.
pub fn uri_document(c: &Credentials) -> Bytes {
    shared(document::render(c, Form::Uri))
}

/// The ECS metadata document: the same fields plus `LastUpdated` (Unix seconds).
pub fn ecs_document(c: &Credentials, last_updated: i64) -> Bytes {
    shared(document::render(c, Form::Ecs { last_updated }))
}

/// The buffer holds the secret: it is zeroized when the last reader lets go of it.
fn shared(doc: SecretBytes) -> Bytes {
    Bytes::from_owner(SecretDocument(doc))
}

/// Owner of a rendered document's bytes, zeroized on drop.
struct SecretDocument(SecretBytes);

impl AsRef<[u8]> for SecretDocument {
    fn as_ref(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Code":"Success","AccessKeyId":"STS.abc","AccessKeySecret":"sk-SECRET","SecurityToken":"tok-SECRET","Expiration":"2026-11-28T05:33:36Z"}"#;

    #[test]
    fn round_trips_the_exact_document() {
        let c = parse(DOC.as_bytes()).unwrap();
        assert_eq!(c.access_key_id, "STS.abc");
        assert_eq!(c.role_name, None);
        assert_eq!(&uri_document(&c)[..], DOC.as_bytes());
    }

    #[test]
    fn ecs_document_adds_last_updated() {
        let c = parse(DOC.as_bytes()).unwrap();
        let doc = ecs_document(&c, 1_795_843_216);
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(v["LastUpdated"], "2026-11-28T05:20:16Z");
        assert_eq!(v["AccessKeyId"], "STS.abc");
    }

    #[test]
    fn role_name_and_extra_fields() {
        let doc = r#"{"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-11-28T05:33:36Z","RoleName":"eas-demo-role","Other":1}"#;
        let c = parse(doc.as_bytes()).unwrap();
        assert_eq!(c.role_name.as_deref(), Some("eas-demo-role"));
        // The role name is not part of either document the agent serves.
        assert!(!uri_document(&c).windows(8).any(|w| w == b"RoleName"));
        assert!(!ecs_document(&c, 0).windows(8).any(|w| w == b"RoleName"));
        let bad = doc.replace("eas-demo-role", "a/../b");
        assert_eq!(parse(bad.as_bytes()).unwrap().role_name, None);
    }

    #[test]
    fn escapes_strings() {
        let doc = r#"{"Code":"Success","AccessKeyId":"STS.\"q\\","AccessKeySecret":"s\u0001","SecurityToken":"t","Expiration":"2026-11-28T05:33:36Z"}"#;
        let c = parse(doc.as_bytes()).unwrap();
        let again = parse(&uri_document(&c)).unwrap();
        assert_eq!(again.access_key_id, "STS.\"q\\");
        assert_eq!(again.access_key_secret.expose_secret(), "s\u{1}");
    }

    #[test]
    fn rejects_incomplete_or_unsuccessful_documents_without_echoing_secrets() {
        let cases = [
            DOC.replace("Success", "Failure"),
            DOC.replace(r#""Code":"Success","#, ""),
            DOC.replace(r#""AccessKeyId":"STS.abc""#, r#""AccessKeyId":"""#),
            DOC.replace(r#","SecurityToken":"tok-SECRET""#, ""),
            DOC.replace(r#""sk-SECRET""#, r#"["sk-SECRET"]"#),
            DOC.replace("05:33:36Z", "05:33:36.000Z"),
            DOC.replace("05:33:36Z", "05:33:36+08:00"),
            "not json".to_string(),
        ];
        for case in cases {
            let err = parse(case.as_bytes()).unwrap_err();
            assert!(!err.contains("SECRET"), "{err}");
        }
    }
}
