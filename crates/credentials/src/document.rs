//! The credentials document: the one JSON document served at `ALIBABA_CLOUD_CREDENTIALS_URI`,
//! written to `/etc/ram/credentials`, answered by the ECS metadata service and by keyless's agent
//! API — parsed and rendered here and nowhere else.
//!
//! ```json
//! {"Code":"Success","AccessKeyId":"STS.…","AccessKeySecret":"…","SecurityToken":"…","Expiration":"2026-11-28T05:33:36Z"}
//! ```
//!
//! [`render`] writes the fields in exactly that order, compact, with no trailing newline, and
//! appends `LastUpdated` (the ECS metadata form) and `RoleName` (keyless's agent API) only when the
//! [`Form`] asks for them. `Expiration` and `LastUpdated` are `YYYY-MM-DDTHH:MM:SSZ` in UTC: the
//! official Python client parses them with `strptime('%Y-%m-%dT%H:%M:%SZ')`, so neither a fraction
//! nor an offset is ever written or accepted.
//!
//! [`parse`] accepts what the official clients accept (`Code` is `Success`, the four other fields
//! present, non-empty strings) plus an optional `RoleName`; other fields are ignored. It reads the
//! document field by field, so no error message can quote a secret.
//!
//! ```
//! use keyless_credentials::document::{self, CredentialsDocument, Form};
//!
//! let doc = CredentialsDocument {
//!     access_key_id: "STS.abc".into(),
//!     access_key_secret: "sk".into(),
//!     security_token: "tok".into(),
//!     expiration: 1_795_844_016,
//!     role_name: None,
//! };
//! let bytes = document::render(&doc, Form::Uri);
//! assert_eq!(
//!     bytes.expose_secret(),
//!     br#"{"Code":"Success","AccessKeyId":"STS.abc","AccessKeySecret":"sk","SecurityToken":"tok","Expiration":"2026-11-28T05:33:36Z"}"#
//! );
//! assert_eq!(document::parse(bytes.expose_secret()).unwrap(), doc);
//! ```

use crate::Credentials;
use keyless_secret::{SecretBytes, SecretString};
use keyless_wire::clip;
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The only `Code` of a usable document.
pub const SUCCESS: &str = "Success";

/// Earliest instant [`render`] writes: `0000-01-01T00:00:00Z`.
const MIN_TIMESTAMP: i64 = -62_167_219_200;
/// Latest instant [`render`] writes: `9999-12-31T23:59:59Z`.
const MAX_TIMESTAMP: i64 = 253_402_300_799;

/// One set of session credentials as the document carries it.
///
/// The secret and the token are [`SecretString`]s: `Debug` redacts them and they are zeroized on
/// drop. Build one from a parsed document ([`parse`]), by hand, or from a [`Credentials`] with
/// [`from_credentials`](Self::from_credentials).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialsDocument {
    /// `AccessKeyId` (`STS.…`). Not secret.
    pub access_key_id: String,
    /// `AccessKeySecret`.
    pub access_key_secret: SecretString,
    /// `SecurityToken`.
    pub security_token: SecretString,
    /// `Expiration`, in Unix seconds (UTC).
    pub expiration: i64,
    /// `RoleName`, a keyless extension of the agent API (the name the ECS metadata protocol
    /// lists). [`parse`] keeps it only when it is usable as a URL path segment: 1 to 64 ASCII
    /// letters, digits, `-`, `_` or `.`; any other value is dropped, not an error.
    pub role_name: Option<String>,
}

/// Which form of the document [`render`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// The credentials URI answer and the `/etc/ram/credentials` file: exactly the five fields
    /// `Code`, `AccessKeyId`, `AccessKeySecret`, `SecurityToken`, `Expiration`.
    Uri,
    /// The ECS metadata answer: the five fields, then `LastUpdated` (when the set was fetched,
    /// Unix seconds; oss2 sizes its refresh window from it).
    Ecs {
        /// Unix seconds.
        last_updated: i64,
    },
    /// keyless's agent API (control plane to agent): the ECS form, then `RoleName` when the
    /// document has one.
    AgentApi {
        /// Unix seconds.
        last_updated: i64,
    },
}

/// Why a byte string is not a usable credentials document. No variant carries a secret value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// The bytes are not JSON.
    #[error("not a JSON document (line {line}, column {column})")]
    NotJson {
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The JSON is not an object.
    #[error("the document is not a JSON object")]
    NotAnObject,
    /// `Code` is present but is not `Success`.
    #[error("`Code` is `{0}`, not `Success`")]
    NotSuccess(String),
    /// A required field is absent, `null` or empty.
    #[error("`{0}` is missing or empty")]
    Missing(&'static str),
    /// A field is not a JSON string.
    #[error("`{0}` is not a string")]
    NotAString(&'static str),
    /// `Expiration` (or another timestamp) is not `YYYY-MM-DDTHH:MM:SSZ`.
    #[error("`{field}` `{value}` is not `YYYY-MM-DDTHH:MM:SSZ`")]
    InvalidTimestamp {
        /// The field.
        field: &'static str,
        /// The value (timestamps are not secret), clipped.
        value: String,
    },
}

impl CredentialsDocument {
    /// The document of `credentials`; [`DocumentError::Missing`] if the set has no security token
    /// or no expiry (a long-term AccessKey has no document form). `role_name` is `None`.
    pub fn from_credentials(credentials: &Credentials) -> Result<Self, DocumentError> {
        Ok(Self {
            access_key_id: credentials.access_key_id().to_owned(),
            access_key_secret: credentials.access_key_secret().clone(),
            security_token: credentials
                .security_token()
                .cloned()
                .ok_or(DocumentError::Missing("SecurityToken"))?,
            expiration: credentials
                .expiry()
                .ok_or(DocumentError::Missing("Expiration"))?,
            role_name: None,
        })
    }

    /// The set as [`Credentials`] labelled `provider_name` (the role name is dropped).
    pub fn into_credentials(self, provider_name: &'static str) -> Credentials {
        Credentials::new(
            self.access_key_id,
            self.access_key_secret,
            Some(self.security_token),
            Some(self.expiration),
            provider_name,
        )
    }
}

/// Renders `doc` in `form`. The buffer holds the secret, so it is returned as [`SecretBytes`]
/// (zeroized on drop); `expose_secret()` gives the bytes to send or write.
///
/// Timestamps outside years 0000–9999 are clamped to that range (the format has four year digits).
pub fn render(doc: &CredentialsDocument, form: Form) -> SecretBytes {
    let mut out = String::with_capacity(
        160 + doc.access_key_id.len()
            + doc.access_key_secret.len()
            + doc.security_token.len()
            + doc.role_name.as_ref().map_or(0, String::len),
    );
    out.push_str("{\"Code\":\"Success\",\"AccessKeyId\":");
    push_json_string(&mut out, &doc.access_key_id);
    out.push_str(",\"AccessKeySecret\":");
    push_json_string(&mut out, doc.access_key_secret.expose_secret());
    out.push_str(",\"SecurityToken\":");
    push_json_string(&mut out, doc.security_token.expose_secret());
    out.push_str(",\"Expiration\":\"");
    push_timestamp(&mut out, doc.expiration);
    out.push('"');
    let (last_updated, role_name) = match form {
        Form::Uri => (None, None),
        Form::Ecs { last_updated } => (Some(last_updated), None),
        Form::AgentApi { last_updated } => (Some(last_updated), doc.role_name.as_deref()),
    };
    if let Some(t) = last_updated {
        out.push_str(",\"LastUpdated\":\"");
        push_timestamp(&mut out, t);
        out.push('"');
    }
    if let Some(r) = role_name {
        out.push_str(",\"RoleName\":");
        push_json_string(&mut out, r);
    }
    out.push('}');
    SecretBytes::new(out.into_bytes())
}

/// Parses a credentials document as the official clients read the credentials URI: `Code` is
/// `Success`, `AccessKeyId`, `AccessKeySecret`, `SecurityToken` and `Expiration` are non-empty
/// strings, `Expiration` is `YYYY-MM-DDTHH:MM:SSZ`. `RoleName` is read as described on
/// [`CredentialsDocument::role_name`]; `LastUpdated` and any other field are ignored.
pub fn parse(body: &[u8]) -> Result<CredentialsDocument, DocumentError> {
    let obj = object(body)?;
    match field(&obj, "Code")? {
        Some(SUCCESS) => {}
        Some(other) => return Err(DocumentError::NotSuccess(clip(other))),
        None => return Err(DocumentError::Missing("Code")),
    }
    let role_name = field(&obj, "RoleName")?
        .filter(|r| valid_role_name(r))
        .map(str::to_owned);
    Ok(CredentialsDocument {
        access_key_id: required(&obj, "AccessKeyId")?.to_owned(),
        access_key_secret: SecretString::from(required(&obj, "AccessKeySecret")?),
        security_token: SecretString::from(required(&obj, "SecurityToken")?),
        expiration: parse_timestamp("Expiration", required(&obj, "Expiration")?)?,
        role_name,
    })
}

/// The `/etc/ram/credentials` reading of this crate's file provider, more lenient than [`parse`]:
/// `Code`, when present, must be `Success`; `SecurityToken` and `Expiration` may be absent (a
/// long-term key written by hand).
pub(crate) fn parse_file(
    body: &[u8],
    provider_name: &'static str,
) -> Result<Credentials, DocumentError> {
    let obj = object(body)?;
    match field(&obj, "Code")? {
        None | Some(SUCCESS) => {}
        Some(other) => return Err(DocumentError::NotSuccess(clip(other))),
    }
    let id = required(&obj, "AccessKeyId")?;
    let secret = required(&obj, "AccessKeySecret")?;
    let token = field(&obj, "SecurityToken")?;
    let expiry = field(&obj, "Expiration")?
        .map(|e| parse_timestamp("Expiration", e))
        .transpose()?;
    Ok(Credentials::new(
        id,
        secret,
        token.map(SecretString::from),
        expiry,
        provider_name,
    ))
}

/// Parses `value` of `field`: exactly `YYYY-MM-DDTHH:MM:SSZ` (UTC), as Python's `strptime` demands.
pub(crate) fn parse_timestamp(field: &'static str, value: &str) -> Result<i64, DocumentError> {
    keyless_sign::parse_timestamp(value).map_err(|_| DocumentError::InvalidTimestamp {
        field,
        value: clip(value),
    })
}

fn object(body: &[u8]) -> Result<Map<String, Value>, DocumentError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| DocumentError::NotJson {
        line: e.line(),
        column: e.column(),
    })?;
    match value {
        Value::Object(obj) => Ok(obj),
        _ => Err(DocumentError::NotAnObject),
    }
}

/// A string field; absent, `null` and `""` are all `None`.
fn field<'a>(
    obj: &'a Map<String, Value>,
    name: &'static str,
) -> Result<Option<&'a str>, DocumentError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(DocumentError::NotAString(name)),
    }
}

fn required<'a>(obj: &'a Map<String, Value>, name: &'static str) -> Result<&'a str, DocumentError> {
    field(obj, name)?.ok_or(DocumentError::Missing(name))
}

/// A role name usable as the last segment of a metadata URL.
fn valid_role_name(r: &str) -> bool {
    !r.is_empty()
        && r.len() <= 64
        && r.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

fn push_timestamp(out: &mut String, unix_secs: i64) {
    let t = unix_secs.clamp(MIN_TIMESTAMP, MAX_TIMESTAMP);
    // Always `Some` within the clamped range; the fallback keeps `render` total.
    match keyless_sign::format_timestamp(t) {
        Some(s) => out.push_str(&s),
        None => out.push_str("0000-01-01T00:00:00Z"),
    }
}

/// A JSON string: `"` and `\` escaped, `\n`, `\r`, `\t` by name, other control characters as
/// `\u00xx`, everything else (including non-ASCII) as is.
fn push_json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// What keyless-agent emits today at the credentials URI and in `/etc/ram/credentials`.
    const DOC: &str = r#"{"Code":"Success","AccessKeyId":"STS.abc","AccessKeySecret":"sk-SECRET","SecurityToken":"tok-SECRET","Expiration":"2026-11-28T05:33:36Z"}"#;

    fn doc() -> CredentialsDocument {
        CredentialsDocument {
            access_key_id: "STS.abc".into(),
            access_key_secret: "sk-SECRET".into(),
            security_token: "tok-SECRET".into(),
            expiration: 1_795_844_016,
            role_name: None,
        }
    }

    fn text(b: &SecretBytes) -> &str {
        std::str::from_utf8(b.expose_secret()).unwrap()
    }

    #[test]
    fn round_trips_the_exact_document() {
        let d = parse(DOC.as_bytes()).unwrap();
        assert_eq!(d, doc());
        assert_eq!(text(&render(&d, Form::Uri)), DOC);
    }

    #[test]
    fn ecs_form_adds_last_updated() {
        let out = render(
            &doc(),
            Form::Ecs {
                last_updated: 1_795_843_216,
            },
        );
        assert_eq!(
            text(&out),
            DOC.replace('}', r#","LastUpdated":"2026-11-28T05:20:16Z"}"#)
        );
    }

    #[test]
    fn agent_api_form_adds_the_role_name_when_known() {
        let mut d = doc();
        let form = Form::AgentApi {
            last_updated: 1_795_843_216,
        };
        assert_eq!(
            text(&render(&d, form)),
            DOC.replace('}', r#","LastUpdated":"2026-11-28T05:20:16Z"}"#)
        );
        d.role_name = Some("eas-demo-role".into());
        let out = render(&d, form);
        // Byte for byte what the server built with `serde_json::json!` (preserve_order).
        let server = json!({
            "Code": "Success",
            "AccessKeyId": "STS.abc",
            "AccessKeySecret": "sk-SECRET",
            "SecurityToken": "tok-SECRET",
            "Expiration": "2026-11-28T05:33:36Z",
            "LastUpdated": "2026-11-28T05:20:16Z",
            "RoleName": "eas-demo-role",
        });
        assert_eq!(text(&out), server.to_string());
        assert_eq!(parse(out.expose_secret()).unwrap(), d);
        // The other forms never carry it.
        assert!(!text(&render(&d, Form::Uri)).contains("RoleName"));
    }

    #[test]
    fn role_name_and_extra_fields() {
        let with = |r: &str| {
            DOC.replace(
                '}',
                &format!(r#","RoleName":"{r}","LastUpdated":"x","Other":1}}"#),
            )
        };
        let d = parse(with("eas-demo-role").as_bytes()).unwrap();
        assert_eq!(d.role_name.as_deref(), Some("eas-demo-role"));
        for bad in ["a/../b", "", &"r".repeat(65)] {
            assert_eq!(
                parse(with(bad).as_bytes()).unwrap().role_name,
                None,
                "{bad}"
            );
        }
    }

    #[test]
    fn escapes_strings() {
        let raw = r#"{"Code":"Success","AccessKeyId":"STS.\"q\\","AccessKeySecret":"s\u0001\u0008","SecurityToken":"t\n\té","Expiration":"2026-11-28T05:33:36Z"}"#;
        let d = parse(raw.as_bytes()).unwrap();
        assert_eq!(d.access_key_id, "STS.\"q\\");
        assert_eq!(d.access_key_secret.expose_secret(), "s\u{1}\u{8}");
        let out = render(&d, Form::Uri);
        assert_eq!(text(&out), raw);
        assert_eq!(parse(out.expose_secret()).unwrap(), d);
    }

    #[test]
    fn timestamps_are_clamped_to_four_digit_years() {
        let mut d = doc();
        d.expiration = i64::MAX;
        assert!(text(&render(&d, Form::Uri)).contains(r#""Expiration":"9999-12-31T23:59:59Z""#));
        d.expiration = i64::MIN;
        assert!(text(&render(&d, Form::Uri)).contains(r#""Expiration":"0000-01-01T00:00:00Z""#));
        assert_eq!(
            keyless_sign::parse_timestamp("9999-12-31T23:59:59Z").ok(),
            Some(MAX_TIMESTAMP)
        );
        assert_eq!(
            keyless_sign::parse_timestamp("0000-01-01T00:00:00Z").ok(),
            Some(MIN_TIMESTAMP)
        );
    }

    #[test]
    fn rejects_what_official_clients_reject_without_echoing_secrets() {
        let cases = [
            (DOC.replace("Success", "Failure"), "NotSuccess"),
            (DOC.replace(r#""Code":"Success","#, ""), "Missing"),
            (
                DOC.replace(r#""AccessKeyId":"STS.abc""#, r#""AccessKeyId":"""#),
                "Missing",
            ),
            (
                DOC.replace(r#","SecurityToken":"tok-SECRET""#, ""),
                "Missing",
            ),
            (DOC.replace(r#""tok-SECRET""#, r#"null"#), "Missing"),
            (
                DOC.replace(r#""sk-SECRET""#, r#"["sk-SECRET"]"#),
                "NotAString",
            ),
            (
                DOC.replace("05:33:36Z", "05:33:36.000Z"),
                "InvalidTimestamp",
            ),
            (
                DOC.replace("05:33:36Z", "05:33:36+08:00"),
                "InvalidTimestamp",
            ),
            (
                DOC.replace(
                    r#""Expiration":"2026-11-28T05:33:36Z""#,
                    r#""Expiration":1"#,
                ),
                "NotAString",
            ),
            ("not json".to_owned(), "NotJson"),
            (DOC[..40].to_owned(), "NotJson"),
            ("[]".to_owned(), "NotAnObject"),
            (String::new(), "NotJson"),
        ];
        for (case, kind) in cases {
            let e = parse(case.as_bytes()).unwrap_err();
            let shown = format!("{e} {e:?}");
            assert!(shown.starts_with(&format!("{e} {kind}")), "{case}: {shown}");
            assert!(!shown.contains("SECRET"), "{shown}");
        }
    }

    #[test]
    fn file_reading_allows_long_term_keys() {
        let c = parse_file(br#"{"AccessKeyId":"LTAI","AccessKeySecret":"s"}"#, "file").unwrap();
        assert_eq!(c.security_token(), None);
        assert_eq!(c.expiry(), None);
        assert_eq!(c.provider_name(), "file");
        let c = parse_file(DOC.as_bytes(), "file").unwrap();
        assert_eq!(c.expiry(), Some(1_795_844_016));
        for bad in [
            r#"{"Code":"Nope","AccessKeyId":"LTAI","AccessKeySecret":"s"}"#,
            r#"{"AccessKeyId":"LTAI","AccessKeySecret":"s","Expiration":"soon"}"#,
            r#"{"AccessKeyId":"LTAI"}"#,
        ] {
            assert!(parse_file(bad.as_bytes(), "file").is_err(), "{bad}");
        }
    }

    #[test]
    fn converts_to_and_from_credentials() {
        let c = doc().into_credentials("credentials_uri");
        assert_eq!(c.provider_name(), "credentials_uri");
        assert_eq!(
            c.security_token().map(|t| t.expose_secret()),
            Some("tok-SECRET")
        );
        assert_eq!(CredentialsDocument::from_credentials(&c).unwrap(), doc());
        let long_term = Credentials::from_keys("LTAI", "s", None);
        assert_eq!(
            CredentialsDocument::from_credentials(&long_term),
            Err(DocumentError::Missing("SecurityToken"))
        );
    }

    #[test]
    fn debug_redacts() {
        let d = format!("{:?}", doc());
        assert!(d.contains("STS.abc") && !d.contains("SECRET"), "{d}");
    }
}
