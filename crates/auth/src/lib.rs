//! Authentication and authorization for every front-end: which signature dialect, whose key, is
//! it valid, fresh and unused — and who is the caller; then the one path into the policy engine.
//!
//! Owns: [`Caller`], the only proof that a request was authenticated. A `Caller` has private
//! fields and no public constructor: it is made only here, by [`authenticate`] (RPC V1, ACS3,
//! ROA v2, after signature, freshness and replay checks), by [`Pending::verified`] (the OSS and
//! MaxCompute dialects, which must hand over the value `keyless_sign` returns from a successful
//! verification for the same AccessKeyId), or by [`session_caller`] (the platform acting with a
//! role session it was issued, after the sealed token opened). [`authorize`] is the one function
//! that asks the policy engine about a caller; the role sessions of [`session`] (AssumeRole and
//! the platform's assume-as-a-service) check trust and permissions through it.
//!
//! Must not: know any front-end's wire format beyond the vendor error codes of `ApiError`; let
//! any other crate construct a caller; decide anything without a full request context
//! ([`request_context`], [`platform_context`]).
//!
//! A caller can be read anywhere:
//!
//! ```
//! fn describe(c: &keyless_auth::Caller) -> String {
//!     format!("{} in {}", c.arn(), c.account_id())
//! }
//! ```
//!
//! but not built outside this crate — its field is private, and there is no public constructor:
//!
//! ```compile_fail
//! fn forge(c: &keyless_auth::Caller) -> keyless_auth::Caller {
//!     keyless_auth::Caller { identity: c.identity.clone() }
//! }
//! ```
//!
//! ```compile_fail
//! // Nor can a pending lookup be turned into a caller without a verified signature.
//! fn forge(p: keyless_auth::Pending) -> keyless_auth::Caller {
//!     p.verified(&())
//! }
//! ```

pub mod session;

use keyless_http::HttpReq;
use keyless_platform::error::{ApiError, Who};
use keyless_platform::state::{RoleEntry, State};
use keyless_policy::{evaluate, Context, Policy, Principal, Request};
use keyless_secret::SecretString;
use keyless_sign::{acs3, roa_v2, rpc_v1, RequestParts, SignError, Verified};
use keyless_store::{KeyStatus, PrincipalRef, User};
use keyless_token::{SessionClaims, TokenError};
use std::sync::Arc;

/// An authenticated caller. Only this crate can make one (see the crate documentation).
#[derive(Clone)]
pub struct Caller {
    identity: Identity,
    /// The principal's ARN, made once (rate limits, audit records and the access log read it).
    arn: String,
}

#[derive(Clone)]
enum Identity {
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

/// A read-only view of what kind of caller this is.
#[derive(Clone, Copy)]
pub enum CallerKind<'a> {
    /// An account's root AccessKey.
    Root,
    /// A RAM user's AccessKey.
    User(&'a User),
    /// A role session (STS credentials).
    Session(&'a SessionClaims),
}

impl Caller {
    fn new(identity: Identity) -> Caller {
        let mut c = Caller {
            identity,
            arn: String::new(),
        };
        c.arn = c.principal().arn();
        c
    }

    /// What kind of caller this is, with the user or session behind it.
    pub fn kind(&self) -> CallerKind<'_> {
        match &self.identity {
            Identity::Root { .. } => CallerKind::Root,
            Identity::User { user, .. } => CallerKind::User(user),
            Identity::Session { claims, .. } => CallerKind::Session(claims),
        }
    }

    /// Whether this is an account's root AccessKey.
    pub fn is_root(&self) -> bool {
        matches!(self.identity, Identity::Root { .. })
    }

    /// Whether this is a role session.
    pub fn is_session(&self) -> bool {
        matches!(self.identity, Identity::Session { .. })
    }

    pub fn account_id(&self) -> &str {
        match &self.identity {
            Identity::Root { account_id, .. } | Identity::User { account_id, .. } => account_id,
            Identity::Session { claims, .. } => &claims.account_id,
        }
    }

    pub fn principal(&self) -> Principal {
        match &self.identity {
            Identity::Root { account_id, .. } => Principal::Account {
                account_id: account_id.clone(),
            },
            Identity::User {
                account_id, user, ..
            } => Principal::User {
                account_id: account_id.clone(),
                name: user.user_name.clone(),
            },
            Identity::Session { claims, .. } => Principal::AssumedRole {
                account_id: claims.account_id.clone(),
                role: claims.role_name.clone(),
                session: claims.session_name.clone(),
            },
        }
    }

    /// The caller's ARN (`…:assumed-role/<role>/<session>` for sessions).
    pub fn arn(&self) -> String {
        self.arn.clone()
    }

    /// The caller's ARN, borrowed.
    pub fn arn_str(&self) -> &str {
        &self.arn
    }

    /// The AccessKeyId the request was signed with (rate limits and audit key on it).
    pub fn access_key_id(&self) -> &str {
        match &self.identity {
            Identity::Root { access_key_id, .. } | Identity::User { access_key_id, .. } => {
                access_key_id
            }
            Identity::Session { claims, .. } => &claims.access_key_id,
        }
    }

    pub fn who(&self) -> Who {
        match &self.identity {
            Identity::Root { account_id, .. } => Who {
                principal_type: "Account",
                account_id: account_id.clone(),
                display_name: account_id.clone(),
            },
            Identity::User {
                account_id, user, ..
            } => Who {
                principal_type: "SubUser",
                account_id: account_id.clone(),
                display_name: user.user_name.clone(),
            },
            Identity::Session { claims, .. } => Who {
                principal_type: "AssumedRoleUser",
                account_id: claims.account_id.clone(),
                display_name: format!("{}:{}", claims.role_name, claims.session_name),
            },
        }
    }
}

/// A key found for a request whose signature has not been checked yet: it holds the secret to
/// verify with, and becomes a [`Caller`] only through [`Pending::verified`].
pub struct Pending {
    secret: SecretString,
    identity: Identity,
    access_key_id: String,
}

impl Pending {
    /// The secret the request's signature must verify with.
    pub fn secret(&self) -> &SecretString {
        &self.secret
    }

    /// Whether the key is a role session's (its request must carry the same sealed token).
    pub fn is_session(&self) -> bool {
        matches!(self.identity, Identity::Session { .. })
    }

    /// The caller, given the value `keyless_sign` returned from verifying the request's signature
    /// with [`Pending::secret`]. Only a successful verification can produce a [`Verified`] value;
    /// it must name the same AccessKeyId as the key looked up. The front-end checks its
    /// dialect's freshness rules (and keeps the verified value) before calling this.
    pub fn verified<V: Verified>(self, proof: &V) -> Result<Caller, ApiError> {
        if proof.access_key_id() != self.access_key_id {
            return Err(key_not_found());
        }
        Ok(Caller::new(self.identity))
    }
}

/// The caller the platform acts as when it uses a role session it was issued (e.g. reading a
/// service's OSS mounts with the service's role): the sealed token is opened exactly as for a
/// request carrying it, so the session's role, session policy and expiry all apply.
pub fn session_caller(
    state: &State,
    access_key_id: &str,
    security_token: &SecretString,
) -> Result<Caller, ApiError> {
    let pending = resolve(state, access_key_id, Some(security_token.expose_secret()))?;
    if !pending.is_session() {
        return Err(key_not_found());
    }
    Ok(Caller::new(pending.identity))
}

/// The context of a decision the platform makes on its own behalf (PassRole checks of a
/// deployment are the deployer's and use [`request_context`]; mounts and image pulls are the
/// platform's): it originates from the platform itself, on this machine.
pub fn platform_context(state: &State) -> Context {
    request_context(state, std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
}

/// The request context every evaluation sees (it needs only the caller's address).
pub fn request_context(state: &State, peer: std::net::IpAddr) -> Context {
    let now = state.clock().now();
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
    let ev = match &caller.identity {
        Identity::Root { account_id, .. } => {
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
        Identity::User {
            account_id, user, ..
        } => {
            let policies = state
                .principal_policies(account_id, &PrincipalRef::User(user.user_name.clone()))?;
            evaluate(policies.iter(), None, &req)
        }
        Identity::Session { claims, role } => {
            let session: Option<Arc<Policy>> = match &claims.session_policy {
                Some(doc) => Some(
                    state
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
/// identity it stands for. Nothing is trusted until the signature is verified with this secret:
/// the result is a [`Pending`], not a [`Caller`].
pub fn resolve(state: &State, akid: &str, token: Option<&str>) -> Result<Pending, ApiError> {
    let now = state.clock().now();
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
        return Ok(Pending {
            secret,
            access_key_id: akid.to_owned(),
            identity: Identity::Session {
                claims: Arc::new(claims),
                role,
            },
        });
    }
    let key = state.access_key(akid)?.ok_or_else(key_not_found)?;
    if key.status != KeyStatus::Active {
        return Err(ApiError::bad(
            "InvalidAccessKeyId.Inactive",
            "Specified access key is disabled.",
        ));
    }
    let identity = match &key.user_name {
        None => Identity::Root {
            account_id: key.account_id.clone(),
            access_key_id: key.access_key_id.clone(),
        },
        Some(u) => {
            let user = state.user(&key.account_id, u)?.ok_or_else(key_not_found)?;
            Identity::User {
                account_id: key.account_id.clone(),
                user,
                access_key_id: key.access_key_id.clone(),
            }
        }
    };
    Ok(Pending {
        secret: key.secret.clone(),
        access_key_id: key.access_key_id.clone(),
        identity,
    })
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
            let pending = resolve(
                state,
                auth.access_key_id(),
                http.header("x-acs-security-token"),
            )?;
            let hash = acs3::hashed_payload(&http.body);
            let v =
                acs3::verify(&parts, &hash, &auth, pending.secret()).map_err(signature_error)?;
            let (ts, nonce) = (Some(v.date()), v.nonce().map(str::to_owned));
            (pending.verified(&v)?, ts, nonce)
        }
        Some(h) if h.starts_with("acs ") => {
            let auth = roa_v2::parse_authorization(h).map_err(signature_error)?;
            let pending = resolve(
                state,
                auth.access_key_id(),
                http.header("x-acs-security-token"),
            )?;
            let v = roa_v2::verify(&parts, &auth, pending.secret()).map_err(signature_error)?;
            let (ts, nonce) = (v.date(), v.nonce().map(str::to_owned));
            (pending.verified(&v)?, ts, nonce)
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
            let pending = resolve(state, p.access_key_id(), p.security_token())?;
            let v = rpc_v1::verify(&http.method, params, pending.secret(), sig)
                .map_err(signature_error)?;
            let (ts, nonce) = (Some(v.timestamp()), Some(v.nonce().to_owned()));
            (pending.verified(&v)?, ts, nonce)
        }
    };
    let now = state.clock().now();
    match ts {
        Some(t) if (t - now).abs() <= state.config().max_skew_secs => {}
        _ => {
            return Err(ApiError::bad(
                "InvalidTimeStamp.Expired",
                "Specified time stamp or date header is expired.",
            ))
        }
    }
    if let Some(n) = nonce {
        if !state
            .nonces()
            .check_and_insert(caller.access_key_id(), &n, state.clock().now_millis())
        {
            return Err(ApiError::bad(
                "SignatureNonceUsed",
                "Specified signature nonce was used already.",
            ));
        }
    }
    Ok(caller)
}
