//! The role rules (reference "The role rules"): one role per service; `enable_ram_role` alone →
//! the PAI default role (the service-linked role `AliyunServiceRoleForPaiEas`, created on first
//! use, narrowed by a session policy to the workspace's bucket and project); `role_arn` → a custom
//! role that must exist and that a RAM user may only hand over with `ram:PassRole`; the platform
//! assumes it as the service `eas.pai.aliyuncs.com`, so its trust policy must name that service.

use super::record::RoleKind;
use super::spec::{RoleChoice, ServiceSpec};
use crate::workspace::Workspace;
use keyless_auth::session::{assume_role_as_service, parse_role_arn, Issued};
use keyless_auth::{authorize, platform_context, session_caller, Caller, CallerKind};
use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_platform::state::State;
use keyless_policy::Context;
use keyless_store::{Attachment, PolicyType, PrincipalRef, Role, StoreError};
use serde_json::json;

/// The principal EAS acts as when it assumes a role.
pub const PAI_EAS_PRINCIPAL: &str = "eas.pai.aliyuncs.com";
/// The service-linked role behind the PAI default role.
pub const DEFAULT_ROLE_NAME: &str = "AliyunServiceRoleForPaiEas";
/// How long the credentials an instance gets live.
pub const SESSION_SECS: i64 = 3600;

/// The FAQ's deployment-event text for a role the platform cannot assume.
pub fn assume_failure_message(reason: &str) -> String {
    format!("unable to render, error: failed to assume role for user, reason: {reason}")
}

/// The default role's ARN in `account` (lower-cased, as the vendor prints it).
pub fn default_role_arn(account: &str) -> String {
    format!(
        "acs:ram::{account}:role/{}",
        DEFAULT_ROLE_NAME.to_ascii_lowercase()
    )
}

/// Creates the service-linked role in `account` unless it exists.
pub fn ensure_default_role(state: &State, account: &str) -> Result<(), ApiError> {
    if let Some(r) = state.role(account, DEFAULT_ROLE_NAME)? {
        if !r.role.service_linked {
            return Err(ApiError::new(
                409,
                "EntityAlreadyExists.Role",
                format!("The role {DEFAULT_ROLE_NAME} exists but is not the PAI service-linked role: delete or rename it to use the PAI default role."),
            ));
        }
        return Ok(());
    }
    let now = state.clock().now();
    let trust = json!({
        "Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow",
                       "Principal": {"Service": [PAI_EAS_PRINCIPAL]}}],
        "Version": "1"
    })
    .to_string();
    let role = Role {
        account_id: account.to_owned(),
        role_id: ids::digits(19).map_err(|_| ApiError::internal())?,
        role_name: DEFAULT_ROLE_NAME.to_owned(),
        arn: default_role_arn(account),
        description: "The PAI-EAS service-linked role: PAI default role of EAS services.".into(),
        trust_policy: trust,
        max_session_duration: 3600,
        service_linked: true,
        created_at: now,
        updated_at: now,
    };
    match state.store().create_role(&role) {
        Ok(()) | Err(StoreError::AlreadyExists(..)) => {}
        Err(e) => return Err(e.into()),
    }
    let attachment = Attachment {
        account_id: account.to_owned(),
        principal: PrincipalRef::Role(DEFAULT_ROLE_NAME.to_owned()),
        policy_type: PolicyType::System,
        policy_name: keyless_policy::PAI_EAS_SERVICE_ROLE_POLICY.to_owned(),
        description: String::new(),
        default_version: String::new(),
        attached_at: now,
    };
    match state.store().attach_policy(&attachment) {
        Ok(()) | Err(StoreError::AlreadyExists(..)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// The session policy of the PAI default role: the workspace's default bucket and MaxCompute
/// project; without a workspace, MaxCompute only (no OSS at all).
pub fn default_session_policy(ws: Option<&Workspace>) -> String {
    match ws {
        Some(w) => json!({
            "Version": "1",
            "Statement": [
                {"Effect": "Allow", "Action": "oss:*",
                 "Resource": [format!("acs:oss:*:*:{}", w.bucket), format!("acs:oss:*:*:{}/*", w.bucket)]},
                {"Effect": "Allow", "Action": "odps:*",
                 "Resource": [format!("acs:odps:*:*:projects/{}", w.project), format!("acs:odps:*:*:projects/{}/*", w.project)]}
            ]
        }),
        None => json!({
            "Version": "1",
            "Statement": [{"Effect": "Allow", "Action": "odps:*", "Resource": "acs:odps:*:*:projects/*"}]
        }),
    }
    .to_string()
}

/// A service's role, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub kind: RoleKind,
    /// The role's ARN as stored in RAM (empty for no role).
    pub arn: String,
    pub session_policy: Option<String>,
    /// The default role's workspace (none: no OSS access).
    pub workspace: Option<Workspace>,
}

impl Resolved {
    pub fn none() -> Resolved {
        Resolved {
            kind: RoleKind::None,
            arn: String::new(),
            session_policy: None,
            workspace: None,
        }
    }
}

/// The workspace `id` of `account`, or a 400 naming `field`.
pub fn workspace_of(
    state: &State,
    account: &str,
    id: &str,
    field: &str,
) -> Result<Workspace, ApiError> {
    match crate::workspace::get(state, id)? {
        Some(w) if w.account_id == account => Ok(w),
        _ => Err(ApiError::invalid(
            field,
            &format!("workspace `{id}` does not exist in this account"),
        )),
    }
}

/// Resolves the role of `spec` in `account`. With a `caller` (a deploy request), a custom role
/// must exist and a non-root caller must hold `ram:PassRole` on it.
pub fn resolve(
    state: &State,
    account: &str,
    spec: &ServiceSpec,
    caller: Option<(&Caller, &Context)>,
) -> Result<Resolved, ApiError> {
    match &spec.role {
        RoleChoice::None => Ok(Resolved::none()),
        RoleChoice::Default => {
            ensure_default_role(state, account)?;
            let workspace = match &spec.workspace_id {
                Some(id) => Some(workspace_of(state, account, id, "metadata.workspace_id")?),
                None => None,
            };
            Ok(Resolved {
                kind: RoleKind::Default,
                arn: default_role_arn(account),
                session_policy: Some(default_session_policy(workspace.as_ref())),
                workspace,
            })
        }
        RoleChoice::Custom(arn) => {
            let Some((uid, name)) = parse_role_arn(arn) else {
                return Err(ApiError::invalid(
                    "role_arn",
                    "it must look like `acs:ram::<uid>:role/<RoleName>`",
                ));
            };
            let missing = || {
                ApiError::new(
                    404,
                    "EntityNotExist.Role",
                    format!("The role does not exist: {arn}. Set role_arn to an existing RAM role of this account."),
                )
            };
            if uid != account {
                return Err(missing());
            }
            let role = state.role(uid, name)?.ok_or_else(missing)?;
            if let Some((caller, ctx)) = caller {
                if !caller.is_root() {
                    if let Err(mut e) =
                        authorize(state, caller, "ram:PassRole", &role.role.arn, ctx)
                    {
                        e.message = format!(
                            "You are not authorized to pass the role {} to EAS: the caller needs ram:PassRole on it. {}",
                            role.role.arn,
                            ApiError::NOT_AUTHORIZED
                        );
                        e.recommend = Some(format!(
                            "grant `ram:PassRole` on `acs:ram::*:role/{}` to the caller",
                            role.role.role_name
                        ));
                        return Err(e);
                    }
                }
            }
            Ok(Resolved {
                kind: RoleKind::Custom,
                arn: role.role.arn.clone(),
                session_policy: None,
                workspace: None,
            })
        }
    }
}

/// A role session name for instance `i` of `service` (2–64 characters).
pub fn session_name(service: &str, i: u32) -> String {
    let suffix = format!("-{i}");
    let room = 64 - "eas-".len() - suffix.len();
    let base: String = service.chars().take(room).collect();
    format!("eas-{base}{suffix}")
}

/// The platform assumes the service's role as `eas.pai.aliyuncs.com`.
pub fn assume(
    state: &State,
    arn: &str,
    session: &str,
    policy: Option<&str>,
) -> Result<Issued, ApiError> {
    assume_role_as_service(
        state,
        PAI_EAS_PRINCIPAL,
        arn,
        session,
        Some(SESSION_SECS),
        policy,
    )
}

/// A role session the platform acts with on the role's behalf (filling OSS mounts): the caller
/// made from the sealed credentials it was issued, so every access is decided by
/// `keyless_auth::authorize` exactly as for a request signed with those credentials.
pub struct RoleSession<'s> {
    state: &'s State,
    caller: Caller,
    context: Context,
}

impl<'s> RoleSession<'s> {
    pub fn new(state: &'s State, issued: &Issued) -> Result<RoleSession<'s>, ApiError> {
        let caller = session_caller(state, &issued.access_key_id, &issued.security_token)?;
        Ok(RoleSession {
            state,
            caller,
            context: platform_context(state),
        })
    }

    /// The role's name.
    pub fn role_name(&self) -> &str {
        match self.caller.kind() {
            CallerKind::Session(claims) => &claims.role_name,
            _ => "",
        }
    }

    /// Whether the session may do `action` on `resource`.
    pub fn allows(&self, action: &str, resource: &str) -> bool {
        authorize(self.state, &self.caller, action, resource, &self.context).is_ok()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use keyless_policy::{evaluate, Policy, PolicyKind, Request};

    #[test]
    fn session_names_fit() {
        assert_eq!(session_name("demo", 0), "eas-demo-0");
        let long = "a".repeat(63);
        let s = session_name(&long, 9);
        assert_eq!(s.len(), 64);
        assert!(s.ends_with("-9"));
    }

    #[test]
    fn default_session_policies_parse() {
        let w = Workspace {
            id: "1".into(),
            account_id: "1".into(),
            name: "d".into(),
            bucket: "ws-1-default".into(),
            project: "ws_1_default".into(),
            created_at: 0,
        };
        for doc in [
            default_session_policy(Some(&w)),
            default_session_policy(None),
        ] {
            Policy::parse("s", &doc, PolicyKind::Session).unwrap();
        }
        let ctx = Context::new();
        let none = Policy::parse("s", &default_session_policy(None), PolicyKind::Session).unwrap();
        let req = Request {
            principal: None,
            action: "oss:GetObject",
            resource: "acs:oss:*:1:ws-1-default/k",
            context: &ctx,
        };
        assert!(!evaluate([&none], None, &req).is_allowed());
        let with =
            Policy::parse("s", &default_session_policy(Some(&w)), PolicyKind::Session).unwrap();
        assert!(evaluate([&with], None, &req).is_allowed());
        let other = Request {
            resource: "acs:oss:*:1:other/k",
            ..req
        };
        assert!(!evaluate([&with], None, &other).is_allowed());
    }

    #[test]
    fn faq_message_is_exact() {
        assert_eq!(
            assume_failure_message(ApiError::NOT_AUTHORIZED),
            "unable to render, error: failed to assume role for user, reason: You are not authorized to do this action. You should be authorized by RAM."
        );
    }
}
