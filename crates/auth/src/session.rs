//! Role sessions: the AssumeRole rules (validation, the caller's permission, the trust policy,
//! rate limits), sealing new sessions, and the internal path by which a cloud service (EAS)
//! assumes a role on a customer's behalf. The STS front-end serves these on the wire; the
//! platform calls them directly — both through the same trust and permission checks.

use crate::{authorize, Caller};
use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_platform::state::{RoleEntry, State};
use keyless_policy::{evaluate_trust, Context, Policy, PolicyKind, Principal, Request};
use keyless_secret::SecretString;
use keyless_store::AuditRecord;
use keyless_token::{PrincipalKind, SessionClaims, NONCE_LEN, STS_ACCESS_KEY_RANDOM_LEN};

/// Temporary credentials as issued.
pub struct Issued {
    pub access_key_id: String,
    pub access_key_secret: SecretString,
    pub security_token: SecretString,
    pub expiration: String,
    pub expires_at: i64,
    pub assumed_role_arn: String,
    pub assumed_role_id: String,
}

/// `acs:ram::<uid>:role/<name>` → (uid, name).
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("acs:ram::")?;
    let (uid, rel) = rest.split_once(':')?;
    let name = rel.strip_prefix("role/")?;
    let ok_uid = !uid.is_empty() && uid.len() <= 32 && uid.bytes().all(|b| b.is_ascii_digit());
    let ok_name = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b'_');
    (ok_uid && ok_name).then_some((uid, name))
}

fn valid_session_name(s: &str) -> bool {
    (2..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._@-".contains(&b))
}

fn valid_external_id(s: &str) -> bool {
    (2..=1224).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_+=,.@:/-".contains(&b))
}

fn no_permission(msg: &str) -> ApiError {
    ApiError::new(403, "NoPermission", msg)
}

/// Parsed and validated AssumeRole inputs.
pub struct AssumeInput<'a> {
    pub role_arn: &'a str,
    pub session_name: &'a str,
    pub duration: Option<i64>,
    pub policy: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

/// Validates parameters and the session policy (vendor codes), before any lookup.
fn validate(input: &AssumeInput<'_>) -> Result<(String, String, Option<String>), ApiError> {
    let (uid, name) = parse_role_arn(input.role_arn).ok_or_else(|| {
        ApiError::bad(
            "InvalidParameter.RoleArn",
            "The parameter RoleArn is wrongly formed.",
        )
    })?;
    if !valid_session_name(input.session_name) {
        return Err(ApiError::bad(
            "InvalidParameter.RoleSessionName",
            "The parameter RoleSessionName is wrongly formed: 2-64 characters of letters, digits and `. @ - _`.",
        ));
    }
    if let Some(e) = input.external_id {
        if !valid_external_id(e) {
            return Err(ApiError::bad(
                "InvalidParameter.ExternalId",
                "The parameter ExternalId is wrongly formed.",
            ));
        }
    }
    let policy = match input.policy {
        None | Some("") => None,
        Some(p) => {
            if p.chars().count() > 2048 {
                return Err(ApiError::bad(
                    "InvalidParameter.PolicySize",
                    "The size of Policy must be smaller than 2048 bytes.",
                ));
            }
            if let Err(e) = Policy::parse("session", p, PolicyKind::Session) {
                return Err(ApiError::bad(
                    "InvalidParameter.PolicyGrammar",
                    format!("The parameter Policy has not a valid grammar: {e}."),
                ));
            }
            Some(p.to_owned())
        }
    };
    Ok((uid.to_owned(), name.to_owned(), policy))
}

fn duration_for(role: &RoleEntry, d: Option<i64>) -> Result<i64, ApiError> {
    let max = role.role.max_session_duration;
    let d = d.unwrap_or(3600.min(max));
    if d < 900 || d > max {
        return Err(ApiError::bad(
            "InvalidParameter.DurationSeconds",
            format!(
                "The Min/Max value of DurationSeconds is 15min/{}hr.",
                max / 3600
            ),
        ));
    }
    Ok(d)
}

/// Seals a new session for `role`.
pub fn issue(
    state: &State,
    role: &RoleEntry,
    session_name: &str,
    duration: i64,
    policy: Option<String>,
    source: &str,
) -> Result<Issued, ApiError> {
    let now = state.clock().now();
    let mut rand = [0u8; STS_ACCESS_KEY_RANDOM_LEN];
    let mut nonce = [0u8; NONCE_LEN];
    ids::random_bytes(&mut rand).map_err(|_| ApiError::internal())?;
    ids::random_bytes(&mut nonce).map_err(|_| ApiError::internal())?;
    let (akid, secret) = keyless_token::new_sts_access_key(&rand);
    let claims = SessionClaims {
        account_id: role.role.account_id.clone(),
        role_arn: role.role.arn.clone(),
        role_id: role.role.role_id.clone(),
        role_name: role.role.role_name.clone(),
        session_name: session_name.to_owned(),
        issued_at: now,
        expires_at: now + duration,
        session_policy: policy,
        access_key_id: akid.clone(),
        access_key_secret: secret.clone(),
        principal_kind: PrincipalKind::AssumedRole,
        source: Some(source.to_owned()),
    };
    let token =
        keyless_token::seal(&state.ring(), &claims, nonce).map_err(|_| ApiError::internal())?;
    Ok(Issued {
        access_key_id: akid,
        access_key_secret: secret,
        security_token: SecretString::new(token),
        expiration: claims.expiration(),
        expires_at: claims.expires_at,
        assumed_role_arn: format!(
            "acs:ram::{}:role/{}/{}",
            role.role.account_id, role.role.role_name, session_name
        ),
        assumed_role_id: format!("{}:{}", role.role.role_id, session_name),
    })
}

/// Queues the audit record of an AssumeRole outcome (group commit).
pub fn audit_issue(
    state: &State,
    request_id: &str,
    account: &str,
    actor: &str,
    target: &str,
    result: &str,
    detail: String,
) {
    state.audit().record(AuditRecord {
        time: state.clock().now(),
        request_id: request_id.to_owned(),
        account_id: account.to_owned(),
        actor: actor.to_owned(),
        action: "sts:AssumeRole".into(),
        target: target.to_owned(),
        result: result.to_owned(),
        detail,
    });
}

/// AssumeRole by a RAM user or role session (reference "AssumeRole rules").
pub fn assume_role(
    state: &State,
    caller: &Caller,
    input: &AssumeInput<'_>,
    ctx: &Context,
    request_id: &str,
) -> Result<Issued, ApiError> {
    if caller.is_root() {
        return Err(no_permission("Roles may not be assumed by root accounts."));
    }
    if !state
        .limiter()
        .allow(caller.arn_str(), state.clock().now_millis())
    {
        let mut e = ApiError::bad(
            "Throttling.User",
            "Request was denied due to user flow control.",
        );
        e.recommend = Some("slow down: AssumeRole is rate-limited per caller".into());
        return Err(e);
    }
    let (uid, name, policy) = validate(input)?;
    let role = state
        .role(&uid, &name)?
        .ok_or_else(|| ApiError::new(404, "EntityNotExist.Role", "The role does not exist."))?;
    let duration = duration_for(&role, input.duration)?;
    // The caller's own policies must allow sts:AssumeRole on the role…
    authorize(state, caller, "sts:AssumeRole", &role.role.arn, ctx)?;
    // …and the role's trust policy must admit the caller.
    let mut tctx = ctx.clone();
    if let Some(e) = input.external_id {
        tctx.insert("sts:ExternalId", e);
    }
    let principal = caller.principal();
    trust_check(&role, &principal, &tctx)?;
    let issued = issue(
        state,
        &role,
        input.session_name,
        duration,
        policy,
        &caller.arn(),
    )?;
    audit_issue(
        state,
        request_id,
        &role.role.account_id,
        &caller.arn(),
        &role.role.arn,
        "Success",
        format!(
            "AccessKeyId={} Expiration={}",
            issued.access_key_id, issued.expiration
        ),
    );
    Ok(issued)
}

fn trust_check(role: &RoleEntry, principal: &Principal, ctx: &Context) -> Result<(), ApiError> {
    let Some(trust) = &role.trust else {
        return Err(no_permission(ApiError::NOT_AUTHORIZED));
    };
    let req = Request {
        principal: Some(principal),
        action: "sts:AssumeRole",
        resource: &role.role.arn,
        context: ctx,
    };
    if evaluate_trust([trust], &req).is_allowed() {
        Ok(())
    } else {
        Err(no_permission(ApiError::NOT_AUTHORIZED))
    }
}

/// The platform path: a cloud service (principal `Service`) assumes `role_arn` for a customer.
/// Only the role's trust policy decides (reference: "only the trust policy's `Service` principal
/// decides"). `session_policy` narrows the session (the PAI default role uses it).
pub fn assume_role_as_service(
    state: &State,
    service: &str,
    role_arn: &str,
    session_name: &str,
    duration: Option<i64>,
    session_policy: Option<&str>,
) -> Result<Issued, ApiError> {
    let input = AssumeInput {
        role_arn,
        session_name,
        duration,
        policy: session_policy,
        external_id: None,
    };
    let (uid, name, policy) = validate(&input)?;
    let role = state
        .role(&uid, &name)?
        .ok_or_else(|| ApiError::new(404, "EntityNotExist.Role", "The role does not exist."))?;
    let duration = duration_for(&role, duration)?;
    // The platform's own decision: the full context of a platform-originated request.
    let ctx = crate::platform_context(state);
    let principal = Principal::Service {
        name: service.to_owned(),
    };
    let actor = principal.arn();
    if let Err(e) = trust_check(&role, &principal, &ctx) {
        audit_issue(
            state,
            &ids::request_id(),
            &uid,
            &actor,
            role_arn,
            &e.code,
            String::new(),
        );
        return Err(e);
    }
    let issued = issue(state, &role, session_name, duration, policy, &actor)?;
    audit_issue(
        state,
        &ids::request_id(),
        &uid,
        &actor,
        role_arn,
        "Success",
        format!(
            "AccessKeyId={} Expiration={}",
            issued.access_key_id, issued.expiration
        ),
    );
    Ok(issued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns() {
        assert_eq!(
            parse_role_arn("acs:ram::1234567890123456:role/eas-demo"),
            Some(("1234567890123456", "eas-demo"))
        );
        for bad in [
            "",
            "acs:ram::x:role/a",
            "acs:ram::1:user/a",
            "acs:ram::1:role/",
            "acs:ram::1:role/a b",
            "acs:oss::1:role/a",
        ] {
            assert_eq!(parse_role_arn(bad), None, "{bad}");
        }
    }

    #[test]
    fn session_names() {
        assert!(valid_session_name("sess-1"));
        assert!(valid_session_name("a@b.c_d"));
        assert!(!valid_session_name("a"));
        assert!(!valid_session_name("has space"));
        assert!(!valid_session_name(&"x".repeat(65)));
    }
}
