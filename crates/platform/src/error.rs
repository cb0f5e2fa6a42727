//! The one error type of the HTTP front-ends: a vendor `Code`, `Message` and HTTP status, never an
//! internal detail. Every failure a client can cause maps to a 4xx here; 5xx only for our own
//! faults (`InternalError`), whose cause is logged server-side, not sent.

use keyless_policy::{Decision, Evaluation};
use keyless_store::{Conflict, Entity, Limit, StoreError};
use serde_json::{json, Map, Value};

/// Details attached to a `NoPermission` answer (the vendor's `AccessDeniedDetail`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeniedDetail {
    pub policy_type: &'static str,
    pub principal_type: &'static str,
    pub principal_owner_id: String,
    pub principal_display_name: String,
    pub no_permission_type: &'static str,
    pub auth_action: String,
    /// A readable explanation (which statements, or that none allowed).
    pub diagnostic: String,
}

/// A vendor-shaped error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: u16,
    pub code: String,
    pub message: String,
    pub recommend: Option<String>,
    pub denied: Option<Box<DeniedDetail>>,
}

impl ApiError {
    pub fn new(status: u16, code: &str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code: code.to_owned(),
            message: message.into(),
            recommend: None,
            denied: None,
        }
    }

    pub fn bad(code: &str, message: impl Into<String>) -> Self {
        Self::new(400, code, message)
    }

    /// What the transport refused before a handler saw the request (`Handler::reject`): a 4xx
    /// status kept (413 as `InvalidParameter.BodyTooLarge`), anything else answered as 400.
    pub fn transport_rejection(status: u16, message: &str) -> Self {
        let code = if status == 413 {
            "InvalidParameter.BodyTooLarge"
        } else {
            "InvalidParameter"
        };
        let status = if (400..500).contains(&status) {
            status
        } else {
            400
        };
        Self::new(status, code, message)
    }

    pub fn missing(param: &str) -> Self {
        Self::bad(
            "MissingParameter",
            format!("The input parameter \"{param}\" that is mandatory for processing this request is not supplied."),
        )
    }

    pub fn invalid(param: &str, why: &str) -> Self {
        Self::bad(
            "InvalidParameter",
            format!("The parameter \"{param}\" is invalid: {why}"),
        )
    }

    pub fn internal() -> Self {
        Self::new(
            500,
            "InternalError",
            "The request processing has failed due to some unknown error.",
        )
    }

    pub const NOT_AUTHORIZED: &'static str =
        "You are not authorized to do this action. You should be authorized by RAM.";

    /// A 403 `NoPermission` from a policy evaluation.
    pub fn denied(ev: &Evaluation, action: &str, who: &Who) -> Self {
        let kind = if ev.decision == Decision::ExplicitDeny {
            "ExplicitDeny"
        } else {
            "ImplicitDeny"
        };
        let diag = if ev.matched.is_empty() {
            ev.reason.describe().to_owned()
        } else {
            let names: Vec<String> = ev
                .matched
                .iter()
                .map(|m| format!("{}#{}", m.policy, m.statement))
                .collect();
            format!("{}: {}", ev.reason.describe(), names.join(", "))
        };
        let mut e = Self::new(403, "NoPermission", Self::NOT_AUTHORIZED);
        e.recommend = Some(format!(
            "grant `{action}` to the caller, or remove the statement that denies it"
        ));
        e.denied = Some(Box::new(DeniedDetail {
            policy_type: "AccountLevelIdentityBasedPolicy",
            principal_type: who.principal_type,
            principal_owner_id: who.account_id.clone(),
            principal_display_name: who.display_name.clone(),
            no_permission_type: kind,
            auth_action: action.to_owned(),
            diagnostic: diag,
        }));
        e
    }

    /// The JSON body.
    pub fn body(&self, request_id: &str, host_id: &str) -> Value {
        let mut m = Map::new();
        m.insert("RequestId".into(), json!(request_id));
        m.insert("HostId".into(), json!(host_id));
        m.insert("Code".into(), json!(self.code));
        m.insert("Message".into(), json!(self.message));
        m.insert(
            "Recommend".into(),
            json!(self
                .recommend
                .clone()
                .unwrap_or_else(|| format!("https://api.aliyun.com/troubleshoot?q={}", self.code))),
        );
        if let Some(d) = &self.denied {
            use base64::Engine as _;
            m.insert(
                "AccessDeniedDetail".into(),
                json!({
                    "PolicyType": d.policy_type,
                    "AuthPrincipalType": d.principal_type,
                    "AuthPrincipalOwnerId": d.principal_owner_id,
                    "AuthPrincipalDisplayName": d.principal_display_name,
                    "NoPermissionType": d.no_permission_type,
                    "AuthAction": d.auth_action,
                    "EncodedDiagnosticMessage": base64::engine::general_purpose::STANDARD.encode(d.diagnostic.as_bytes()),
                }),
            );
        }
        Value::Object(m)
    }
}

/// Who a denial is about (for `AccessDeniedDetail`).
#[derive(Clone, Debug)]
pub struct Who {
    pub principal_type: &'static str,
    pub account_id: String,
    pub display_name: String,
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(entity, name) => match entity {
                Entity::Role => ApiError::new(
                    404,
                    "EntityNotExist.Role",
                    format!("The role does not exist: {name}."),
                ),
                Entity::Policy => ApiError::new(
                    404,
                    "EntityNotExist.Policy",
                    format!("The policy does not exist: {name}."),
                ),
                Entity::PolicyVersion => ApiError::new(
                    404,
                    "EntityNotExist.Policy.Version",
                    format!("The policy version does not exist: {name}."),
                ),
                Entity::User => ApiError::new(
                    404,
                    "EntityNotExist.User",
                    format!("The user does not exist: {name}."),
                ),
                Entity::AccessKey => ApiError::new(
                    404,
                    "EntityNotExist.User.AccessKey",
                    format!("The access key does not exist: {name}."),
                ),
                Entity::Attachment => ApiError::new(
                    404,
                    "EntityNotExist.Attachment",
                    format!("The policy is not attached: {name}."),
                ),
                Entity::Record => ApiError::new(
                    404,
                    "EntityNotExist",
                    format!("The entity does not exist: {name}."),
                ),
                Entity::Account => ApiError::new(
                    404,
                    "EntityNotExist.Account",
                    format!("The account does not exist: {name}."),
                ),
            },
            StoreError::AlreadyExists(entity, name) => match entity {
                Entity::Role => ApiError::new(
                    409,
                    "EntityAlreadyExists.Role",
                    format!("The role already exists: {name}."),
                ),
                Entity::Policy => ApiError::new(
                    409,
                    "EntityAlreadyExists.Policy",
                    format!("The policy already exists: {name}."),
                ),
                Entity::User => ApiError::new(
                    409,
                    "EntityAlreadyExists.User",
                    format!("The user already exists: {name}."),
                ),
                Entity::Attachment => ApiError::new(
                    409,
                    "EntityAlreadyExists.Role.Policy",
                    format!("The policy is already attached: {name}."),
                ),
                other => ApiError::new(
                    409,
                    "EntityAlreadyExists",
                    format!("The {other} already exists: {name}."),
                ),
            },
            StoreError::LimitExceeded(l) => {
                let code = match l {
                    Limit::Roles => "LimitExceeded.Role",
                    Limit::AccessKeysPerUser => "LimitExceeded.User.AccessKey",
                    Limit::PolicyVersions => "LimitExceeded.Policy.Version",
                    Limit::PoliciesPerPrincipal => "LimitExceeded.Role.Policy",
                    Limit::Policies => "LimitExceeded.Policy",
                    Limit::Users => "LimitExceeded.User",
                };
                ApiError::new(409, code, format!("The limit is exceeded: {l}."))
            }
            StoreError::DeleteConflict(c) => {
                let code = match c {
                    Conflict::RoleHasPolicies => "DeleteConflict.Role.Policy",
                    Conflict::UserHasPolicies => "DeleteConflict.User.Policy",
                    Conflict::UserHasAccessKeys => "DeleteConflict.User.AccessKey",
                    Conflict::PolicyAttached => "DeleteConflict.Policy.User",
                    Conflict::PolicyHasVersions => "DeleteConflict.Policy.Version",
                    Conflict::DefaultVersion => "DeleteConflict.Policy.Version.Default",
                };
                ApiError::new(409, code, format!("The entity cannot be deleted: {c}."))
            }
            StoreError::Corrupt(_) | StoreError::Backend(_) => ApiError::internal(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_errors_are_4xx() {
        for e in [
            StoreError::NotFound(Entity::Role, "r".into()),
            StoreError::AlreadyExists(Entity::Policy, "p".into()),
            StoreError::LimitExceeded(Limit::PolicyVersions),
            StoreError::DeleteConflict(Conflict::RoleHasPolicies),
        ] {
            let a = ApiError::from(e);
            assert!((400..500).contains(&a.status), "{a:?}");
        }
        assert_eq!(
            ApiError::from(StoreError::Backend("disk on fire".into())).message,
            ApiError::internal().message
        );
    }
}
