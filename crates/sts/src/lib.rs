//! STS (Version 2015-04-01) on the wire: `AssumeRole` and `GetCallerIdentity` in the RPC dialect.
//! The rules of role sessions live in `keyless_auth::session`; this crate only parses
//! parameters and renders answers.
//!
//! Must not: decide who may assume what (that is `keyless_auth`), or depend on another front-end.

use keyless_auth::session::{assume_role, audit_issue, AssumeInput};
use keyless_auth::{request_context, Caller, CallerKind};
use keyless_platform::error::ApiError;
use keyless_rpc::{Product, RpcCall};
use serde_json::{json, Map, Value};

/// The STS product of the RPC dialect.
pub struct Sts;

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

impl Product for Sts {
    fn service(&self) -> &'static str {
        "sts"
    }

    fn version(&self) -> &'static str {
        "2015-04-01"
    }

    fn has_action(&self, action: &str) -> bool {
        matches!(action, "AssumeRole" | "GetCallerIdentity")
    }

    fn blocking(&self) -> bool {
        false
    }

    fn call(&self, c: &RpcCall<'_>) -> Result<Map<String, Value>, ApiError> {
        match c.action.as_str() {
            "AssumeRole" => {
                let duration = match c.opt("DurationSeconds").filter(|d| !d.is_empty()) {
                    None => None,
                    Some(d) => Some(d.parse::<i64>().map_err(|_| {
                        ApiError::bad(
                            "InvalidParameter.DurationSeconds",
                            "The parameter DurationSeconds must be an integer.",
                        )
                    })?),
                };
                let input = AssumeInput {
                    role_arn: c.req("RoleArn")?,
                    session_name: c.req("RoleSessionName")?,
                    duration,
                    policy: c.opt("Policy"),
                    external_id: c.opt("ExternalId").filter(|e| !e.is_empty()),
                };
                let ctx = request_context(c.state, c.http.peer);
                let result = assume_role(c.state, &c.caller, &input, &ctx, &c.request_id);
                let issued = match result {
                    Ok(i) => i,
                    Err(e) => {
                        audit_issue(
                            c.state,
                            &c.request_id,
                            c.caller.account_id(),
                            &c.caller.arn(),
                            input.role_arn,
                            &e.code,
                            String::new(),
                        );
                        return Err(e);
                    }
                };
                Ok(obj(json!({
                    "AssumedRoleUser": {"Arn": issued.assumed_role_arn, "AssumedRoleId": issued.assumed_role_id},
                    "Credentials": {
                        "AccessKeyId": issued.access_key_id,
                        "AccessKeySecret": issued.access_key_secret.expose_secret(),
                        "SecurityToken": issued.security_token.expose_secret(),
                        "Expiration": issued.expiration,
                    }
                })))
            }
            "GetCallerIdentity" => Ok(obj(caller_identity(&c.caller))),
            _ => Err(ApiError::new(
                404,
                "InvalidAction.NotFound",
                "Specified api is not found, please check your url and method.",
            )),
        }
    }
}

/// The GetCallerIdentity body for `caller`.
pub fn caller_identity(caller: &Caller) -> Value {
    let account_id = caller.account_id();
    match caller.kind() {
        CallerKind::Root => json!({
            "AccountId": account_id, "Arn": caller.arn(), "IdentityType": "Account",
            "PrincipalId": account_id, "UserId": account_id,
        }),
        CallerKind::User(user) => json!({
            "AccountId": account_id, "Arn": caller.arn(), "IdentityType": "RAMUser",
            "PrincipalId": user.user_id, "UserId": user.user_id,
        }),
        CallerKind::Session(claims) => json!({
            "AccountId": account_id, "Arn": caller.arn(), "IdentityType": "AssumedRoleUser",
            "PrincipalId": format!("{}:{}", claims.role_id, claims.session_name), "RoleId": claims.role_id,
        }),
    }
}
