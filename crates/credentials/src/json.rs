//! The credentials JSON document shared by the credentials URI, the ECS metadata service and the
//! keyless credentials file:
//!
//! ```json
//! {"Code":"Success","AccessKeyId":"STS.…","AccessKeySecret":"…","SecurityToken":"…",
//!  "Expiration":"2026-11-28T05:33:36Z"}
//! ```
//!
//! Parsed field by field from a `serde_json::Value` so that no error message can quote a value.

use crate::{Credentials, CredentialsError};
use keyless_secret::SecretString;
use serde_json::{Map, Value};

/// How strictly to read the document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strictness {
    /// As the official clients require of the URI and the metadata service: `Code` is `Success`
    /// and all five fields are present and non-empty.
    Strict,
    /// The file: `Code`, when present, must be `Success`; `SecurityToken` and `Expiration` are
    /// optional (a long-term key written by hand).
    File,
}

fn field<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    provider: &'static str,
) -> Result<Option<&'a str>, CredentialsError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(CredentialsError::invalid_response(
            provider,
            format!("`{name}` is not a string"),
        )),
    }
}

fn required<'a>(
    obj: &'a Map<String, Value>,
    name: &str,
    provider: &'static str,
) -> Result<&'a str, CredentialsError> {
    field(obj, name, provider)?.ok_or_else(|| {
        CredentialsError::invalid_response(provider, format!("`{name}` is missing or empty"))
    })
}

/// Parses `body` as a credentials document.
pub(crate) fn parse_credentials(
    body: &[u8],
    strictness: Strictness,
    provider: &'static str,
) -> Result<Credentials, CredentialsError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        CredentialsError::invalid_response(
            provider,
            format!(
                "not a JSON document (line {}, column {})",
                e.line(),
                e.column()
            ),
        )
    })?;
    let Value::Object(obj) = value else {
        return Err(CredentialsError::invalid_response(
            provider,
            "the document is not a JSON object",
        ));
    };
    let code = field(&obj, "Code", provider)?;
    match (code, strictness) {
        (Some("Success"), _) | (None, Strictness::File) => {}
        (None, Strictness::Strict) => {
            return Err(CredentialsError::invalid_response(
                provider,
                "`Code` is missing (it must be `Success`)",
            ))
        }
        (Some(other), _) => {
            return Err(CredentialsError::invalid_response(
                provider,
                format!("`Code` is `{}`, not `Success`", crate::http::clip(other)),
            ))
        }
    }
    let id = required(&obj, "AccessKeyId", provider)?;
    let secret = required(&obj, "AccessKeySecret", provider)?;
    let (token, expiration) = match strictness {
        Strictness::Strict => (
            Some(required(&obj, "SecurityToken", provider)?),
            Some(required(&obj, "Expiration", provider)?),
        ),
        Strictness::File => (
            field(&obj, "SecurityToken", provider)?,
            field(&obj, "Expiration", provider)?,
        ),
    };
    let expiry = expiration
        .map(|e| parse_expiration(e, provider))
        .transpose()?;
    Ok(Credentials::new(
        id,
        secret,
        token.map(SecretString::from),
        expiry,
        provider,
    ))
}

/// Parses `Expiration`: exactly `YYYY-MM-DDTHH:MM:SSZ` (UTC), as Python's `strptime` demands.
pub(crate) fn parse_expiration(s: &str, provider: &'static str) -> Result<i64, CredentialsError> {
    keyless_sign::parse_timestamp(s).map_err(|_| {
        CredentialsError::invalid_response(
            provider,
            format!(
                "`Expiration` `{}` is not `YYYY-MM-DDTHH:MM:SSZ`",
                crate::http::clip(s)
            ),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const P: &str = "test";

    fn full() -> Value {
        json!({"Code":"Success","AccessKeyId":"STS.a","AccessKeySecret":"sk-1","SecurityToken":"tok-1",
               "Expiration":"2026-11-28T05:33:36Z","LastUpdated":"2026-11-28T04:33:36Z"})
    }

    fn parse(v: &Value, s: Strictness) -> Result<Credentials, CredentialsError> {
        parse_credentials(v.to_string().as_bytes(), s, P)
    }

    #[test]
    fn accepts_the_contract() {
        let c = parse(&full(), Strictness::Strict).unwrap();
        assert_eq!(c.access_key_id(), "STS.a");
        assert_eq!(c.access_key_secret().expose_secret(), "sk-1");
        assert_eq!(c.security_token().unwrap().expose_secret(), "tok-1");
        assert_eq!(c.expiry(), Some(1_795_844_016));
        assert_eq!(c.provider_name(), P);
    }

    #[test]
    fn strict_rejects_what_official_clients_reject() {
        let cases: Vec<(&str, Value)> = vec![
            ("Code", json!(null)),
            ("Code", json!("Failed")),
            ("AccessKeyId", json!("")),
            ("AccessKeySecret", json!(null)),
            ("SecurityToken", json!(null)),
            ("Expiration", json!(null)),
            ("Expiration", json!("2026-11-28T05:33:36.000Z")),
            ("Expiration", json!("2026-11-28T05:33:36+08:00")),
            ("AccessKeySecret", json!(12345)),
        ];
        for (k, v) in cases {
            let mut doc = full();
            if v.is_null() {
                doc.as_object_mut().unwrap().remove(k);
            } else {
                doc[k] = v.clone();
            }
            let e = parse(&doc, Strictness::Strict).unwrap_err();
            assert!(
                matches!(e, CredentialsError::InvalidResponse { .. }),
                "{k}={v}: {e}"
            );
            let msg = format!("{e} {e:?}");
            assert!(!msg.contains("sk-1") && !msg.contains("tok-1") && !msg.contains("12345"));
        }
        for junk in [
            &b"not json"[..],
            b"[]",
            b"",
            b"{\"AccessKeySecret\": \"sk-1",
        ] {
            let e = parse_credentials(junk, Strictness::Strict, P).unwrap_err();
            assert!(!format!("{e:?}").contains("sk-1"));
        }
    }

    #[test]
    fn file_allows_long_term_keys() {
        let c = parse(
            &json!({"AccessKeyId":"LTAI","AccessKeySecret":"s"}),
            Strictness::File,
        )
        .unwrap();
        assert_eq!(c.security_token(), None);
        assert_eq!(c.expiry(), None);
        assert!(parse(
            &json!({"Code":"Nope","AccessKeyId":"LTAI","AccessKeySecret":"s"}),
            Strictness::File
        )
        .is_err());
        assert!(parse(
            &json!({"AccessKeyId":"LTAI","AccessKeySecret":"s","Expiration":"soon"}),
            Strictness::File
        )
        .is_err());
    }
}
