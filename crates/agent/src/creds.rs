//! One set of STS credentials: parsed from the control plane's answer (or a previous file), and
//! rendered into the exact documents the clients read.

use bytes::Bytes;
use keyless_secret::{SecretBytes, SecretString};
use serde::Deserialize;

use crate::timefmt;

/// A set of temporary credentials.
#[derive(Debug)]
pub struct Credentials {
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    pub security_token: SecretString,
    /// Unix seconds.
    pub expiration: i64,
    /// The role's name when the control plane says it (used by the ECS metadata protocol).
    pub role_name: Option<String>,
}

#[derive(Deserialize)]
struct Wire {
    #[serde(rename = "Code")]
    code: Option<String>,
    #[serde(rename = "AccessKeyId")]
    access_key_id: Option<String>,
    #[serde(rename = "AccessKeySecret")]
    access_key_secret: Option<String>,
    #[serde(rename = "SecurityToken")]
    security_token: Option<String>,
    #[serde(rename = "Expiration")]
    expiration: Option<String>,
    #[serde(rename = "RoleName")]
    role_name: Option<String>,
}

impl Credentials {
    /// Parses `{"Code":"Success","AccessKeyId":…,"AccessKeySecret":…,"SecurityToken":…,
    /// "Expiration":"YYYY-MM-DDTHH:MM:SSZ"}` (plus an optional `RoleName`). The error never
    /// contains a secret.
    pub fn from_json(body: &[u8]) -> Result<Self, String> {
        let wire: Wire = serde_json::from_slice(body).map_err(|e| {
            // Only the position: serde's messages can quote the offending value.
            format!(
                "not a credentials document ({:?} error at line {}, column {})",
                e.classify(),
                e.line(),
                e.column()
            )
        })?;
        match wire.code.as_deref() {
            Some("Success") => {}
            Some(other) => return Err(format!("`Code` is `{other}`, not `Success`")),
            None => return Err("`Code` is missing".into()),
        }
        let access_key_id = non_empty(wire.access_key_id, "AccessKeyId")?;
        let access_key_secret =
            SecretString::new(non_empty(wire.access_key_secret, "AccessKeySecret")?);
        let security_token = SecretString::new(non_empty(wire.security_token, "SecurityToken")?);
        let raw_exp = non_empty(wire.expiration, "Expiration")?;
        let expiration = timefmt::parse_utc(&raw_exp)
            .ok_or_else(|| format!("`Expiration` `{raw_exp}` is not `YYYY-MM-DDTHH:MM:SSZ`"))?;
        let role_name = wire.role_name.filter(|r| valid_role_name(r));
        Ok(Credentials {
            access_key_id,
            access_key_secret,
            security_token,
            expiration,
            role_name,
        })
    }

    /// The credentials-URI document (also the file's content), exactly the five fields.
    pub fn uri_document(&self) -> Bytes {
        self.render(None)
    }

    /// The ECS metadata document: the same fields plus `LastUpdated`.
    pub fn ecs_document(&self, last_updated: i64) -> Bytes {
        self.render(Some(last_updated))
    }

    fn render(&self, last_updated: Option<i64>) -> Bytes {
        let mut out = String::with_capacity(
            128 + self.access_key_id.len()
                + self.access_key_secret.len()
                + self.security_token.len(),
        );
        out.push_str("{\"Code\":\"Success\",\"AccessKeyId\":");
        push_json_string(&mut out, &self.access_key_id);
        out.push_str(",\"AccessKeySecret\":");
        push_json_string(&mut out, self.access_key_secret.expose_secret());
        out.push_str(",\"SecurityToken\":");
        push_json_string(&mut out, self.security_token.expose_secret());
        out.push_str(",\"Expiration\":\"");
        out.push_str(&timefmt::format_utc(self.expiration));
        out.push('"');
        if let Some(t) = last_updated {
            out.push_str(",\"LastUpdated\":\"");
            out.push_str(&timefmt::format_utc(t));
            out.push('"');
        }
        out.push('}');
        // The buffer holds the secret: it is zeroized when the last reader lets go of it.
        Bytes::from_owner(SecretDocument(SecretBytes::new(out.into_bytes())))
    }
}

/// Owner of a rendered document's bytes, zeroized on drop.
struct SecretDocument(SecretBytes);

impl AsRef<[u8]> for SecretDocument {
    fn as_ref(&self) -> &[u8] {
        self.0.expose_secret()
    }
}

fn non_empty(v: Option<String>, field: &str) -> Result<String, String> {
    match v {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) => Err(format!("`{field}` is empty")),
        None => Err(format!("`{field}` is missing")),
    }
}

/// A role name usable as the last segment of a metadata URL.
fn valid_role_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 64
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                out.push_str(&format!("\\u{:04x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Code":"Success","AccessKeyId":"STS.abc","AccessKeySecret":"sk-SECRET","SecurityToken":"tok-SECRET","Expiration":"2026-11-28T05:33:36Z"}"#;

    #[test]
    fn round_trips_the_exact_document() {
        let c = Credentials::from_json(DOC.as_bytes()).unwrap();
        assert_eq!(c.access_key_id, "STS.abc");
        assert_eq!(c.role_name, None);
        assert_eq!(&c.uri_document()[..], DOC.as_bytes());
    }

    #[test]
    fn ecs_document_adds_last_updated() {
        let c = Credentials::from_json(DOC.as_bytes()).unwrap();
        let doc = c.ecs_document(1_795_843_216);
        let v: serde_json::Value = serde_json::from_slice(&doc).unwrap();
        assert_eq!(v["LastUpdated"], "2026-11-28T05:20:16Z");
        assert_eq!(v["AccessKeyId"], "STS.abc");
    }

    #[test]
    fn role_name_and_extra_fields() {
        let doc = r#"{"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"s","SecurityToken":"t","Expiration":"2026-11-28T05:33:36Z","RoleName":"eas-demo-role","Other":1}"#;
        let c = Credentials::from_json(doc.as_bytes()).unwrap();
        assert_eq!(c.role_name.as_deref(), Some("eas-demo-role"));
        let bad = doc.replace("eas-demo-role", "a/../b");
        assert_eq!(
            Credentials::from_json(bad.as_bytes()).unwrap().role_name,
            None
        );
    }

    #[test]
    fn escapes_strings() {
        let doc = r#"{"Code":"Success","AccessKeyId":"STS.\"q\\","AccessKeySecret":"s\u0001","SecurityToken":"t","Expiration":"2026-11-28T05:33:36Z"}"#;
        let c = Credentials::from_json(doc.as_bytes()).unwrap();
        let again = Credentials::from_json(&c.uri_document()).unwrap();
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
            let err = Credentials::from_json(case.as_bytes()).unwrap_err();
            assert!(!err.contains("SECRET"), "{err}");
        }
    }
}
