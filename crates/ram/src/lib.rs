//! RAM (Version 2015-05-01): roles, policies and versions, attachments, users, AccessKeys.
//! Every action is authorized as `ram:<Action>` on the target's ARN.

use keyless_auth::{authorize, request_context, CallerKind};
use keyless_platform::error::ApiError;
use keyless_platform::ids;
use keyless_policy::{system_policy, system_policy_document, Policy, PolicyKind, SYSTEM_POLICIES};
use keyless_rpc::{Product, RpcCall};
use keyless_store::{
    AccessKey, Attachment, AuditRecord, CustomPolicy, KeyStatus, NewPolicy, Page, PageRequest,
    PolicyType, PolicyVersion, PrincipalRef, Role, RoleUpdate, User, UserUpdate,
};
use keyless_token::format_expiration as iso;
use serde_json::{json, Map, Value};

pub struct Ram;

const ACTIONS: &[(&str, bool)] = &[
    ("CreateRole", true),
    ("GetRole", false),
    ("ListRoles", false),
    ("UpdateRole", true),
    ("DeleteRole", true),
    ("CreatePolicy", true),
    ("GetPolicy", false),
    ("DeletePolicy", true),
    ("ListPolicies", false),
    ("CreatePolicyVersion", true),
    ("GetPolicyVersion", false),
    ("ListPolicyVersions", false),
    ("DeletePolicyVersion", true),
    ("SetDefaultPolicyVersion", true),
    ("AttachPolicyToRole", true),
    ("DetachPolicyFromRole", true),
    ("AttachPolicyToUser", true),
    ("DetachPolicyFromUser", true),
    ("ListPoliciesForRole", false),
    ("ListPoliciesForUser", false),
    ("CreateUser", true),
    ("GetUser", false),
    ("ListUsers", false),
    ("UpdateUser", true),
    ("DeleteUser", true),
    ("CreateAccessKey", true),
    ("ListAccessKeys", false),
    ("UpdateAccessKey", true),
    ("DeleteAccessKey", true),
];

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn role_json(r: &Role) -> Value {
    json!({
        "RoleId": r.role_id,
        "RoleName": r.role_name,
        "Arn": r.arn,
        "Description": r.description,
        "AssumeRolePolicyDocument": r.trust_policy,
        "CreateDate": iso(r.created_at),
        "UpdateDate": iso(r.updated_at),
        "MaxSessionDuration": r.max_session_duration,
        "IsServiceLinkedRole": r.service_linked,
    })
}

fn user_json(u: &User) -> Value {
    json!({
        "UserId": u.user_id,
        "UserName": u.user_name,
        "DisplayName": u.display_name,
        "Comments": u.comments,
        "CreateDate": iso(u.created_at),
        "UpdateDate": iso(u.updated_at),
    })
}

fn policy_json(p: &CustomPolicy) -> Value {
    json!({
        "PolicyName": p.policy_name,
        "PolicyType": "Custom",
        "Description": p.description,
        "DefaultVersion": p.default_version,
        "CreateDate": iso(p.created_at),
        "UpdateDate": iso(p.updated_at),
        "AttachmentCount": p.attachment_count,
    })
}

fn system_policy_json(name: &str, description: &str) -> Value {
    json!({
        "PolicyName": name,
        "PolicyType": "System",
        "Description": description,
        "DefaultVersion": "v1",
        "CreateDate": "2015-04-28T16:00:00Z",
        "UpdateDate": "2015-04-28T16:00:00Z",
        "AttachmentCount": 0,
    })
}

fn version_json(v: &PolicyVersion) -> Value {
    json!({
        "VersionId": v.version_id,
        "IsDefaultVersion": v.is_default,
        "PolicyDocument": v.document,
        "CreateDate": iso(v.created_at),
    })
}

fn check_name(param: &str, v: &str, max: usize, extra: &[u8]) -> Result<(), ApiError> {
    if v.is_empty() || v.chars().count() > max {
        return Err(ApiError::bad(
            &format!("InvalidParameter.{param}.Length"),
            format!("The parameter \"{param}\" must be 1 to {max} characters."),
        ));
    }
    if !v
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || extra.contains(&b))
    {
        return Err(ApiError::bad(
            &format!("InvalidParameter.{param}.InvalidChars"),
            format!("The parameter \"{param}\" contains invalid characters."),
        ));
    }
    Ok(())
}

fn check_len(param: &str, v: &str, max: usize) -> Result<(), ApiError> {
    if v.chars().count() > max {
        return Err(ApiError::bad(
            &format!("InvalidParameter.{param}.Length"),
            format!("The parameter \"{param}\" is longer than {max} characters."),
        ));
    }
    Ok(())
}

fn check_document(doc: &str, kind: PolicyKind) -> Result<(), ApiError> {
    Policy::parse("document", doc, kind)
        .map(|_| ())
        .map_err(|e| {
            ApiError::bad(
                "MalformedPolicyDocument",
                format!("The policy document is malformed: {e}."),
            )
        })
}

fn max_session(v: Option<&str>) -> Result<Option<i64>, ApiError> {
    match v.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if (3600..=43200).contains(&n) => Ok(Some(n)),
            _ => Err(ApiError::bad(
                "InvalidParameter.MaxSessionDuration",
                "The parameter MaxSessionDuration must be an integer from 3600 to 43200.",
            )),
        },
    }
}

fn page_request(c: &RpcCall<'_>) -> Result<PageRequest, ApiError> {
    let max_items = match c.opt("MaxItems").filter(|s| !s.is_empty()) {
        None => 100,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(ApiError::bad(
                    "InvalidParameter.MaxItems",
                    "The parameter MaxItems must be from 1 to 1000.",
                ))
            }
        },
    };
    Ok(PageRequest {
        marker: c.opt("Marker").filter(|m| !m.is_empty()).map(str::to_owned),
        max_items,
    })
}

fn paged<T>(
    page: &Page<T>,
    wrapper: &str,
    item: &str,
    f: impl Fn(&T) -> Value,
) -> Map<String, Value> {
    let items: Vec<Value> = page.items.iter().map(f).collect();
    let mut m = Map::new();
    m.insert("IsTruncated".into(), json!(page.next_marker.is_some()));
    if let Some(mk) = &page.next_marker {
        m.insert("Marker".into(), json!(mk));
    }
    m.insert(wrapper.into(), json!({ item: items }));
    m
}

fn policy_type(c: &RpcCall<'_>) -> Result<PolicyType, ApiError> {
    match c.req("PolicyType")? {
        "System" => Ok(PolicyType::System),
        "Custom" => Ok(PolicyType::Custom),
        _ => Err(ApiError::bad(
            "InvalidParameter.PolicyType",
            "The parameter PolicyType must be System or Custom.",
        )),
    }
}

fn arn(account: &str, rel: &str) -> String {
    format!("acs:ram::{account}:{rel}")
}

/// The user an AccessKey call is about: `UserName`, or for a RAM user caller without it, itself;
/// `None` means the account's root keys, which only the root key itself may manage — a role
/// session must name a user (whatever its policies allow, it may never mint or disable root keys).
fn key_owner(c: &RpcCall<'_>) -> Result<Option<String>, ApiError> {
    match c.opt("UserName").filter(|s| !s.is_empty()) {
        Some(u) => Ok(Some(u.to_owned())),
        None => match c.caller.kind() {
            CallerKind::User(user) => Ok(Some(user.user_name.clone())),
            CallerKind::Root => Ok(None),
            CallerKind::Session(_) => Err(ApiError::missing("UserName")),
        },
    }
}

/// ListPolicies markers that resume the system policies at an index (store markers are hex, so
/// they never start with this).
const SYSTEM_MARKER: &str = "system-";

impl Ram {
    /// The resource an action targets (for authorization and audit).
    fn target(c: &RpcCall<'_>) -> Result<String, ApiError> {
        let a = c.caller.account_id();
        Ok(match c.action.as_str() {
            "CreateRole"
            | "GetRole"
            | "UpdateRole"
            | "DeleteRole"
            | "AttachPolicyToRole"
            | "DetachPolicyFromRole"
            | "ListPoliciesForRole" => arn(a, &format!("role/{}", c.req("RoleName")?)),
            "ListRoles" => arn(a, "role/*"),
            "CreatePolicy"
            | "GetPolicy"
            | "DeletePolicy"
            | "CreatePolicyVersion"
            | "GetPolicyVersion"
            | "ListPolicyVersions"
            | "DeletePolicyVersion"
            | "SetDefaultPolicyVersion" => arn(a, &format!("policy/{}", c.req("PolicyName")?)),
            "ListPolicies" => arn(a, "policy/*"),
            "CreateUser"
            | "GetUser"
            | "UpdateUser"
            | "DeleteUser"
            | "AttachPolicyToUser"
            | "DetachPolicyFromUser"
            | "ListPoliciesForUser" => arn(a, &format!("user/{}", c.req("UserName")?)),
            "ListUsers" => arn(a, "user/*"),
            "CreateAccessKey" | "ListAccessKeys" | "UpdateAccessKey" | "DeleteAccessKey" => {
                match key_owner(c)? {
                    Some(u) => arn(a, &format!("user/{u}")),
                    None => arn(a, "root"),
                }
            }
            _ => arn(a, "*"),
        })
    }

    fn run(&self, c: &RpcCall<'_>) -> Result<Map<String, Value>, ApiError> {
        let s = c.state;
        let store = &s.store();
        let a = c.caller.account_id().to_owned();
        let now = s.clock().now();
        Ok(match c.action.as_str() {
            "CreateRole" => {
                let name = c.req("RoleName")?;
                check_name("RoleName", name, 64, b".-")?;
                let doc = c.req("AssumeRolePolicyDocument")?;
                check_document(doc, PolicyKind::Trust)?;
                let desc = c.opt("Description").unwrap_or("");
                check_len("Description", desc, 1024)?;
                let max = max_session(c.opt("MaxSessionDuration"))?.unwrap_or(3600);
                let role = Role {
                    account_id: a.clone(),
                    role_id: ids::digits(19).map_err(|_| ApiError::internal())?,
                    role_name: name.to_owned(),
                    arn: arn(&a, &format!("role/{name}")),
                    description: desc.to_owned(),
                    trust_policy: doc.to_owned(),
                    max_session_duration: max,
                    service_linked: false,
                    created_at: now,
                    updated_at: now,
                };
                store.create_role(&role)?;
                obj(json!({ "Role": role_json(&role) }))
            }
            "GetRole" => {
                let r = store.get_role(&a, c.req("RoleName")?)?;
                let mut v = role_json(&r);
                if r.service_linked {
                    v["RolePrincipalName"] = json!("eas.pai.aliyuncs.com");
                }
                obj(json!({ "Role": v }))
            }
            "ListRoles" => {
                let page = store.list_roles(&a, &page_request(c)?)?;
                paged(&page, "Roles", "Role", role_json)
            }
            "UpdateRole" => {
                let name = c.req("RoleName")?;
                let doc = c
                    .opt("NewAssumeRolePolicyDocument")
                    .filter(|d| !d.is_empty());
                if let Some(d) = doc {
                    check_document(d, PolicyKind::Trust)?;
                }
                let desc = c.opt("NewDescription");
                if let Some(d) = desc {
                    check_len("NewDescription", d, 1024)?;
                }
                let upd = RoleUpdate {
                    new_trust_policy: doc.map(str::to_owned),
                    new_description: desc.map(str::to_owned),
                    new_max_session_duration: max_session(c.opt("NewMaxSessionDuration"))?,
                };
                let r = store.update_role(&a, name, &upd, now)?;
                obj(json!({ "Role": role_json(&r) }))
            }
            "DeleteRole" => {
                store.delete_role(&a, c.req("RoleName")?)?;
                Map::new()
            }
            "CreatePolicy" => {
                let name = c.req("PolicyName")?;
                check_name("PolicyName", name, 128, b"-")?;
                if system_policy(name).is_some() {
                    return Err(ApiError::new(
                        409,
                        "EntityAlreadyExists.Policy",
                        "The policy already exists as a system policy.",
                    ));
                }
                let doc = c.req("PolicyDocument")?;
                check_document(doc, PolicyKind::Custom)?;
                let desc = c.opt("Description").unwrap_or("");
                check_len("Description", desc, 1024)?;
                let p = store.create_policy(&NewPolicy {
                    account_id: a.clone(),
                    policy_name: name.to_owned(),
                    description: desc.to_owned(),
                    document: doc.to_owned(),
                    now,
                })?;
                let mut v = policy_json(&p);
                if let Value::Object(m) = &mut v {
                    m.remove("AttachmentCount");
                }
                obj(json!({ "Policy": v }))
            }
            "GetPolicy" => {
                let name = c.req("PolicyName")?;
                match policy_type(c)? {
                    PolicyType::System => {
                        let (desc, doc) = system_policy_document(name).ok_or_else(|| {
                            ApiError::new(
                                404,
                                "EntityNotExist.Policy",
                                "The policy does not exist.",
                            )
                        })?;
                        let mut p = system_policy_json(name, desc);
                        p["PolicyDocument"] = json!(doc);
                        obj(json!({
                            "Policy": p,
                            "DefaultPolicyVersion": {"VersionId": "v1", "IsDefaultVersion": true, "PolicyDocument": doc, "CreateDate": "2015-04-28T16:00:00Z"}
                        }))
                    }
                    PolicyType::Custom => {
                        let p = store.get_policy(&a, name)?;
                        let v = store.get_policy_version(&a, name, &p.default_version)?;
                        let mut pj = policy_json(&p);
                        pj["PolicyDocument"] = json!(p.document);
                        obj(json!({ "Policy": pj, "DefaultPolicyVersion": version_json(&v) }))
                    }
                }
            }
            "DeletePolicy" => {
                store.delete_policy(&a, c.req("PolicyName")?)?;
                Map::new()
            }
            "ListPolicies" => {
                let (with_system, with_custom) = match c.opt("PolicyType").filter(|s| !s.is_empty())
                {
                    None => (true, true),
                    Some("System") => (true, false),
                    Some("Custom") => (false, true),
                    Some(_) => {
                        return Err(ApiError::bad(
                            "InvalidParameter.PolicyType",
                            "The parameter PolicyType must be System or Custom.",
                        ))
                    }
                };
                // System policies first, then custom ones, MaxItems per page: a `system-<n>`
                // marker resumes the system list at n; any other marker is the store's.
                let req = page_request(c)?;
                let n_sys = SYSTEM_POLICIES.len();
                let (sys_start, custom_marker) = match req.marker.as_deref() {
                    None => (0, None),
                    Some(m) => match m
                        .strip_prefix(SYSTEM_MARKER)
                        .and_then(|n| n.parse::<usize>().ok())
                    {
                        Some(n) if with_system && n <= n_sys => (n, None),
                        _ => (n_sys, Some(m.to_owned())),
                    },
                };
                let mut items: Vec<Value> = Vec::new();
                let mut next = None;
                if with_system && sys_start < n_sys {
                    let end = (sys_start + req.max_items).min(n_sys);
                    items.extend(
                        SYSTEM_POLICIES[sys_start..end]
                            .iter()
                            .map(|(n, d, _)| system_policy_json(n, d)),
                    );
                    if end < n_sys {
                        next = Some(format!("{SYSTEM_MARKER}{end}"));
                    }
                }
                if with_custom && next.is_none() {
                    let room = req.max_items - items.len();
                    if room > 0 {
                        let page = store.list_policies(
                            &a,
                            &PageRequest {
                                marker: custom_marker,
                                max_items: room,
                            },
                        )?;
                        items.extend(page.items.iter().map(policy_json));
                        next = page.next_marker;
                    } else {
                        // The page is full of system policies: point past them if custom follow.
                        let peek = PageRequest {
                            marker: None,
                            max_items: 1,
                        };
                        if !store.list_policies(&a, &peek)?.items.is_empty() {
                            next = Some(format!("{SYSTEM_MARKER}{n_sys}"));
                        }
                    }
                }
                let mut m = Map::new();
                m.insert("IsTruncated".into(), json!(next.is_some()));
                if let Some(mk) = next {
                    m.insert("Marker".into(), json!(mk));
                }
                m.insert("Policies".into(), json!({ "Policy": items }));
                m
            }
            "CreatePolicyVersion" => {
                let name = c.req("PolicyName")?;
                let doc = c.req("PolicyDocument")?;
                check_document(doc, PolicyKind::Custom)?;
                let set_default = c
                    .opt("SetAsDefault")
                    .is_some_and(|v| v.eq_ignore_ascii_case("true"));
                let rotate = match c.opt("RotateStrategy").filter(|s| !s.is_empty()) {
                    None | Some("None") => false,
                    Some("DeleteOldestNonDefaultVersionWhenLimitExceeded") => true,
                    Some(_) => {
                        return Err(ApiError::bad(
                            "InvalidParameter.RotateStrategy",
                            "The parameter RotateStrategy is invalid.",
                        ))
                    }
                };
                let v = store.create_policy_version(&a, name, doc, set_default, rotate, now)?;
                obj(json!({ "PolicyVersion": version_json(&v) }))
            }
            "GetPolicyVersion" => {
                let v = store.get_policy_version(&a, c.req("PolicyName")?, c.req("VersionId")?)?;
                obj(json!({ "PolicyVersion": version_json(&v) }))
            }
            "ListPolicyVersions" => {
                let vs = store.list_policy_versions(&a, c.req("PolicyName")?)?;
                let items: Vec<Value> = vs.iter().map(version_json).collect();
                obj(json!({ "PolicyVersions": { "PolicyVersion": items } }))
            }
            "DeletePolicyVersion" => {
                store.delete_policy_version(&a, c.req("PolicyName")?, c.req("VersionId")?)?;
                Map::new()
            }
            "SetDefaultPolicyVersion" => {
                store.set_default_policy_version(
                    &a,
                    c.req("PolicyName")?,
                    c.req("VersionId")?,
                    now,
                )?;
                Map::new()
            }
            "AttachPolicyToRole" | "AttachPolicyToUser" => {
                let principal = if c.action == "AttachPolicyToRole" {
                    PrincipalRef::Role(c.req("RoleName")?.to_owned())
                } else {
                    PrincipalRef::User(c.req("UserName")?.to_owned())
                };
                let pt = policy_type(c)?;
                let name = c.req("PolicyName")?;
                let (mut description, mut default_version) = (String::new(), String::new());
                if pt == PolicyType::System {
                    let (d, _) = system_policy_document(name).ok_or_else(|| {
                        ApiError::new(404, "EntityNotExist.Policy", "The policy does not exist.")
                    })?;
                    description = d.to_owned();
                    default_version = "v1".into();
                }
                let to_user = matches!(principal, PrincipalRef::User(_));
                store
                    .attach_policy(&Attachment {
                        account_id: a.clone(),
                        principal,
                        policy_type: pt,
                        policy_name: name.to_owned(),
                        description,
                        default_version,
                        attached_at: now,
                    })
                    .map_err(|e| {
                        let mut e = ApiError::from(e);
                        if to_user && e.code == "EntityAlreadyExists.Role.Policy" {
                            e.code = "EntityAlreadyExists.User.Policy".into();
                        }
                        e
                    })?;
                Map::new()
            }
            "DetachPolicyFromRole" | "DetachPolicyFromUser" => {
                let principal = if c.action == "DetachPolicyFromRole" {
                    PrincipalRef::Role(c.req("RoleName")?.to_owned())
                } else {
                    PrincipalRef::User(c.req("UserName")?.to_owned())
                };
                store.detach_policy(&a, &principal, policy_type(c)?, c.req("PolicyName")?)?;
                Map::new()
            }
            "ListPoliciesForRole" | "ListPoliciesForUser" => {
                let principal = if c.action == "ListPoliciesForRole" {
                    PrincipalRef::Role(c.req("RoleName")?.to_owned())
                } else {
                    PrincipalRef::User(c.req("UserName")?.to_owned())
                };
                let list = store.list_attachments(&a, &principal)?;
                let items: Vec<Value> = list
                    .iter()
                    .map(|at| {
                        let desc = if at.policy_type == PolicyType::System {
                            system_policy_document(&at.policy_name).map(|(d, _)| d.to_owned()).unwrap_or_default()
                        } else {
                            at.description.clone()
                        };
                        json!({
                            "PolicyName": at.policy_name,
                            "PolicyType": at.policy_type.as_str(),
                            "Description": desc,
                            "DefaultVersion": if at.default_version.is_empty() { "v1".to_owned() } else { at.default_version.clone() },
                            "AttachDate": iso(at.attached_at),
                        })
                    })
                    .collect();
                obj(json!({ "Policies": { "Policy": items } }))
            }
            "CreateUser" => {
                let name = c.req("UserName")?;
                check_name("UserName", name, 64, b"._-")?;
                let display = c
                    .opt("DisplayName")
                    .filter(|d| !d.is_empty())
                    .unwrap_or(name);
                check_len("DisplayName", display, 128)?;
                let comments = c.opt("Comments").unwrap_or("");
                check_len("Comments", comments, 128)?;
                let u = User {
                    account_id: a.clone(),
                    user_id: ids::digits(16).map_err(|_| ApiError::internal())?,
                    user_name: name.to_owned(),
                    display_name: display.to_owned(),
                    comments: comments.to_owned(),
                    created_at: now,
                    updated_at: now,
                };
                store.create_user(&u)?;
                obj(json!({ "User": user_json(&u) }))
            }
            "GetUser" => {
                obj(json!({ "User": user_json(&store.get_user(&a, c.req("UserName")?)?) }))
            }
            "ListUsers" => {
                let page = store.list_users(&a, &page_request(c)?)?;
                paged(&page, "Users", "User", user_json)
            }
            "UpdateUser" => {
                let new_name = c.opt("NewUserName").filter(|s| !s.is_empty());
                if let Some(n) = new_name {
                    check_name("NewUserName", n, 64, b"._-")?;
                }
                let new_display = c.opt("NewDisplayName").filter(|s| !s.is_empty());
                if let Some(d) = new_display {
                    check_len("NewDisplayName", d, 128)?;
                }
                let new_comments = c.opt("NewComments");
                if let Some(d) = new_comments {
                    check_len("NewComments", d, 128)?;
                }
                let upd = UserUpdate {
                    new_user_name: new_name.map(str::to_owned),
                    new_display_name: new_display.map(str::to_owned),
                    new_comments: new_comments.map(str::to_owned),
                };
                let u = store.update_user(&a, c.req("UserName")?, &upd, now)?;
                obj(json!({ "User": user_json(&u) }))
            }
            "DeleteUser" => {
                store.delete_user(&a, c.req("UserName")?)?;
                Map::new()
            }
            "CreateAccessKey" => {
                let owner = key_owner(c)?;
                if let Some(u) = &owner {
                    store.get_user(&a, u)?;
                }
                let key = AccessKey {
                    access_key_id: ids::access_key_id().map_err(|_| ApiError::internal())?,
                    account_id: a.clone(),
                    user_name: owner,
                    secret: ids::access_key_secret().map_err(|_| ApiError::internal())?,
                    status: KeyStatus::Active,
                    created_at: now,
                };
                store.create_access_key(&key)?;
                obj(json!({ "AccessKey": {
                    "AccessKeyId": key.access_key_id,
                    "AccessKeySecret": key.secret.expose_secret(),
                    "Status": "Active",
                    "CreateDate": iso(now),
                }}))
            }
            "ListAccessKeys" => {
                let owner = key_owner(c)?;
                if let Some(u) = &owner {
                    store.get_user(&a, u)?;
                }
                let keys = store.list_access_keys(&a, owner.as_deref())?;
                let items: Vec<Value> = keys
                    .iter()
                    .map(|k| json!({"AccessKeyId": k.access_key_id, "Status": k.status.as_str(), "CreateDate": iso(k.created_at)}))
                    .collect();
                obj(json!({ "AccessKeys": { "AccessKey": items } }))
            }
            "UpdateAccessKey" => {
                let status = match c.req("Status")? {
                    "Active" => KeyStatus::Active,
                    "Inactive" => KeyStatus::Inactive,
                    _ => {
                        return Err(ApiError::bad(
                            "InvalidParameter.Status",
                            "The parameter Status must be Active or Inactive.",
                        ))
                    }
                };
                store.update_access_key_status(
                    &a,
                    key_owner(c)?.as_deref(),
                    c.req("UserAccessKeyId")?,
                    status,
                )?;
                Map::new()
            }
            "DeleteAccessKey" => {
                let id = c.req("UserAccessKeyId")?;
                if id == c.caller.access_key_id() {
                    return Err(ApiError::new(
                        409,
                        "DeleteConflict.AccessKey.InUse",
                        "The access key that signed this request cannot delete itself.",
                    ));
                }
                store.delete_access_key(&a, key_owner(c)?.as_deref(), id)?;
                Map::new()
            }
            _ => {
                return Err(ApiError::new(
                    404,
                    "InvalidAction.NotFound",
                    "Specified api is not found, please check your url and method.",
                ))
            }
        })
    }
}

impl Product for Ram {
    fn service(&self) -> &'static str {
        "ram"
    }

    fn version(&self) -> &'static str {
        "2015-05-01"
    }

    fn has_action(&self, action: &str) -> bool {
        ACTIONS.iter().any(|(a, _)| *a == action)
    }

    fn call(&self, c: &RpcCall<'_>) -> Result<Map<String, Value>, ApiError> {
        let mutating = ACTIONS.iter().any(|(a, m)| *a == c.action && *m);
        let target = Self::target(c);
        let result = target.and_then(|t| {
            let ctx = request_context(c.state, c.http.peer);
            authorize(c.state, &c.caller, &format!("ram:{}", c.action), &t, &ctx)?;
            let r = self.run(c);
            Ok((t, r))
        });
        let (target, result) = match result {
            Ok((t, r)) => (t, r),
            Err(e) => (String::new(), Err(e)),
        };
        if mutating {
            c.state.audit().record_sync(AuditRecord {
                time: c.state.clock().now(),
                request_id: c.request_id.clone(),
                account_id: c.caller.account_id().to_owned(),
                actor: c.caller.arn(),
                action: format!("ram:{}", c.action),
                target,
                result: match &result {
                    Ok(_) => "Success".to_owned(),
                    Err(e) => e.code.clone(),
                },
                detail: String::new(),
            });
        }
        result
    }
}
