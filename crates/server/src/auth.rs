//! Authentication: which signature dialect, whose key, is it valid, fresh and unused — and who is
//! the caller. Authorization helpers for the handlers live here too.

use crate::error::{ApiError, Who};
use crate::http::HttpReq;
use crate::state::{RoleEntry, State};
use keyless_policy::{evaluate, Context, Policy, Principal, Request};
use keyless_secret::SecretString;
use keyless_sign::{acs3, roa_v2, rpc_v1, RequestParts, SignError};
use keyless_store::{KeyStatus, PrincipalRef, User};
use keyless_token::{SessionClaims, TokenError};
use std::sync::Arc;

/// An authenticated caller.
#[derive(Clone)]
pub enum Caller {
    /// An account's root AccessKey.
    Root {
        account_id: String,
        access_key_id: String,
    },
    /// A RAM user's AccessKey.
    User {
        account_id: String,
        user: Arc<User>,
        access_key_id: String,
    },
    /// STS credentials of a role session.
    Session {
        claims: Arc<SessionClaims>,
        role: Arc<RoleEntry>,
    },
}

impl Caller {
    pub fn account_id(&self) -> &str {
        match self {
            Caller::Root { account_id, .. } | Caller::User { account_id, .. } => account_id,
            Caller::Session { claims, .. } => &claims.account_id,
        }
    }

    pub fn principal(&self) -> Principal {
        match self {
            Caller::Root { account_id, .. } => Principal::Account {
                account_id: account_id.clone(),
            },
            Caller::User {
                account_id, user, ..
            } => Principal::User {
                account_id: account_id.clone(),
                name: user.user_name.clone(),
            },
            Caller::Session { claims, .. } => Principal::AssumedRole {
                account_id: claims.account_id.clone(),
                role: claims.role_name.clone(),
                session: claims.session_name.clone(),
            },
        }
    }

    /// The caller's ARN (`…:assumed-role/<role>/<session>` for sessions).
    pub fn arn(&self) -> String {
        self.principal().arn()
    }

    /// The AccessKeyId the request was signed with (rate limits and audit key on it).
    pub fn access_key_id(&self) -> &str {
        match self {
            Caller::Root { access_key_id, .. } | Caller::User { access_key_id, .. } => {
                access_key_id
            }
            Caller::Session { claims, .. } => &claims.access_key_id,
        }
    }

    pub fn who(&self) -> Who {
        match self {
            Caller::Root { account_id, .. } => Who {
                principal_type: "Account",
                account_id: account_id.clone(),
                display_name: account_id.clone(),
            },
            Caller::User {
                account_id, user, ..
            } => Who {
                principal_type: "SubUser",
                account_id: account_id.clone(),
                display_name: user.user_name.clone(),
            },
            Caller::Session { claims, .. } => Who {
                principal_type: "AssumedRoleUser",
                account_id: claims.account_id.clone(),
                display_name: format!("{}:{}", claims.role_name, claims.session_name),
            },
        }
    }
}

/// The request context every evaluation sees (it needs only the caller's address).
pub fn request_context(state: &State, peer: std::net::IpAddr) -> Context {
    let now = state.clock.now();
    let mut c = Context::new();
    c.insert("acs:CurrentTime", keyless_token::format_expiration(now));
    c.insert("acs:SourceIp", peer.to_string());
    c.insert("acs:SecureTransport", "false");
    c.insert("acs:MFAPresent", "false");
    c
}

/// The account segment of an ARN (`acs:<svc>:<region>:<account>:…`), if any.
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(3)
}

/// Authorizes `action` on `resource` for `caller` through the policy engine. An account's root
/// may do anything in its own account; users get their attached policies; sessions get their
/// role's policies gated by the session policy.
pub fn authorize(
    state: &State,
    caller: &Caller,
    action: &str,
    resource: &str,
    ctx: &Context,
) -> Result<(), ApiError> {
    let principal = caller.principal();
    let req = Request {
        principal: Some(&principal),
        action,
        resource,
        context: ctx,
    };
    let ev = match caller {
        Caller::Root { account_id, .. } => {
            return match arn_account(resource) {
                Some(a) if a == account_id || a == "*" || a.is_empty() => Ok(()),
                None => Ok(()),
                Some(_) => Err(ApiError::denied(
                    &keyless_policy::Evaluation {
                        decision: keyless_policy::Decision::ImplicitDeny,
                        reason: keyless_policy::Reason::NoAllowingStatement,
                        matched: vec![],
                    },
                    action,
                    &caller.who(),
                )),
            };
        }
        Caller::User {
            account_id, user, ..
        } => {
            let policies = state
                .principal_policies(account_id, &PrincipalRef::User(user.user_name.clone()))?;
            evaluate(policies.iter(), None, &req)
        }
        Caller::Session { claims, role } => {
            let session: Option<Arc<Policy>> = match &claims.session_policy {
                Some(doc) => Some(
                    state
                        .cache
                        .session_policy(&claims.access_key_id, doc)
                        .ok_or_else(|| ApiError::denied(&deny_all(), action, &caller.who()))?,
                ),
                None => None,
            };
            evaluate(role.policies.iter(), session.as_deref(), &req)
        }
    };
    if ev.is_allowed() {
        Ok(())
    } else {
        Err(ApiError::denied(&ev, action, &caller.who()))
    }
}

fn deny_all() -> keyless_policy::Evaluation {
    keyless_policy::Evaluation {
        decision: keyless_policy::Decision::ImplicitDeny,
        reason: keyless_policy::Reason::SessionPolicyDoesNotAllow,
        matched: vec![],
    }
}

fn key_not_found() -> ApiError {
    ApiError::new(
        404,
        "InvalidAccessKeyId.NotFound",
        "Specified access key is not found.",
    )
}

/// Resolves the secret for `akid` (opening the STS token when it is a session key) and the
/// caller it stands for. Nothing is trusted until the signature is verified with this secret.
pub fn resolve(
    state: &State,
    akid: &str,
    token: Option<&str>,
) -> Result<(SecretString, Caller), ApiError> {
    let now = state.clock.now();
    if akid.starts_with("STS.") {
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(ApiError::bad(
                "MissingSecurityToken",
                "SecurityToken is mandatory for this action.",
            ));
        };
        let claims = keyless_token::open_for_access_key(&state.ring(), token, akid, now).map_err(
            |e| match e {
                TokenError::Expired { .. } => ApiError::bad(
                    "InvalidSecurityToken.Expired",
                    "Specified SecurityToken is expired.",
                ),
                TokenError::AccessKeyMismatch { .. } => ApiError::bad(
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                ),
                _ => ApiError::bad(
                    "InvalidSecurityToken.Malformed",
                    "Specified SecurityToken is malformed.",
                ),
            },
        )?;
        // Deleting a role ends its sessions; a role re-created under the same name is another role.
        let role = state
            .role(&claims.account_id, &claims.role_name)?
            .filter(|r| r.role.role_id == claims.role_id)
            .ok_or_else(|| {
                ApiError::bad(
                    "InvalidSecurityToken.Expired",
                    "Specified SecurityToken is expired: its role no longer exists.",
                )
            })?;
        let secret = claims.access_key_secret.clone();
        return Ok((
            secret,
            Caller::Session {
                claims: Arc::new(claims),
                role,
            },
        ));
    }
    let key = state.access_key(akid)?.ok_or_else(key_not_found)?;
    if key.status != KeyStatus::Active {
        return Err(ApiError::bad(
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        ));
    }
    let caller = match &key.user_name {
        None => Caller::Root {
            account_id: key.account_id.clone(),
            access_key_id: key.access_key_id.clone(),
        },
        Some(u) => {
            let user = state.user(&key.account_id, u)?.ok_or_else(key_not_found)?;
            Caller::User {
                account_id: key.account_id.clone(),
                user,
                access_key_id: key.access_key_id.clone(),
            }
        }
    };
    Ok((key.secret.clone(), caller))
}

fn signature_error(e: SignError) -> ApiError {
    match &e {
        SignError::SignatureMismatch { .. } => {
            let sts = e.server_string_to_sign().unwrap_or("");
            ApiError::bad(
                "SignatureDoesNotMatch",
                format!("Specified signature is not matched with our calculation. server string to sign is:{sts}"),
            )
        }
        SignError::UnsupportedAlgorithm(_)
        | SignError::UnsupportedSignatureMethod(_)
        | SignError::UnsupportedSignatureVersion(_) => {
            ApiError::bad("InvalidSignatureMethod", e.to_string())
        }
        SignError::InvalidTimestamp(_) | SignError::InvalidDate(_) => ApiError::bad(
            "InvalidTimeStamp.Format",
            format!("Specified time stamp or date header is not well formed: {e}"),
        ),
        SignError::MissingParameter(p) => ApiError::missing(p),
        _ => ApiError::bad(
            "IncompleteSignature",
            format!("The request signature does not conform to Aliyun standards: {e}"),
        ),
    }
}

/// Authenticates a request in any supported dialect: V3 (`Authorization: ACS3-HMAC-SHA256 …`),
/// ROA v2 (`Authorization: acs AK:sig`) or RPC V1 (`Signature` parameter). Checks the signature,
/// then the ±skew window, then the nonce (so unauthenticated traffic cannot fill the nonce cache).
pub fn authenticate(
    state: &State,
    http: &HttpReq,
    params: &[(String, String)],
) -> Result<Caller, ApiError> {
    let parts = RequestParts {
        method: &http.method,
        raw_path: &http.path,
        raw_query: &http.query,
        headers: &http.headers,
    };
    let (caller, ts, nonce) = match http.header("authorization") {
        Some(h) if h.starts_with("ACS3-") => {
            let auth = acs3::parse_authorization(h).map_err(signature_error)?;
            let (secret, caller) = resolve(
                state,
                auth.access_key_id(),
                http.header("x-acs-security-token"),
            )?;
            let hash = acs3::hashed_payload(&http.body);
            let v = acs3::verify(&parts, &hash, &auth, &secret).map_err(signature_error)?;
            (caller, Some(v.date()), v.nonce().map(str::to_owned))
        }
        Some(h) if h.starts_with("acs ") => {
            let auth = roa_v2::parse_authorization(h).map_err(signature_error)?;
            let (secret, caller) = resolve(
                state,
                auth.access_key_id(),
                http.header("x-acs-security-token"),
            )?;
            let v = roa_v2::verify(&parts, &auth, &secret).map_err(signature_error)?;
            (caller, v.date(), v.nonce().map(str::to_owned))
        }
        Some(_) => {
            return Err(ApiError::bad(
                "InvalidSignatureMethod",
                "The Authorization header names an unsupported signature method.",
            ))
        }
        None => {
            let p = rpc_v1::parse_params(params).map_err(signature_error)?;
            let Some(sig) = p.signature() else {
                return Err(ApiError::missing("Signature"));
            };
            let (secret, caller) = resolve(state, p.access_key_id(), p.security_token())?;
            let v = rpc_v1::verify(&http.method, params, &secret, sig).map_err(signature_error)?;
            (caller, Some(v.timestamp()), Some(v.nonce().to_owned()))
        }
    };
    let now = state.clock.now();
    match ts {
        Some(t) if (t - now).abs() <= state.config.max_skew_secs => {}
        _ => {
            return Err(ApiError::bad(
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date header is expired.",
            ))
        }
    }
    if let Some(n) = nonce {
        if !state
            .nonces
            .check_and_insert(caller.access_key_id(), &n, state.clock.now_millis())
        {
            return Err(ApiError::bad(
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
    }
    Ok(caller)
}
