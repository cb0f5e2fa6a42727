//! Plain data the store persists.

use keyless_secret::SecretString;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// 16 decimal digits.
    pub account_id: String,
    pub created_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "Active",
            KeyStatus::Inactive => "Inactive",
        }
    }
}

/// A long-term AccessKey. `Debug` never shows the secret.
#[derive(Clone, Debug)]
pub struct AccessKey {
    pub access_key_id: String,
    pub account_id: String,
    /// `None` for the account's root key.
    pub user_name: Option<String>,
    pub secret: SecretString,
    pub status: KeyStatus,
    pub created_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub account_id: String,
    /// 16 digits, unique.
    pub user_id: String,
    pub user_name: String,
    pub display_name: String,
    pub comments: String,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserUpdate {
    pub new_user_name: Option<String>,
    pub new_display_name: Option<String>,
    pub new_comments: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub account_id: String,
    /// 19 digits, unique.
    pub role_id: String,
    pub role_name: String,
    /// `acs:ram::<uid>:role/<lower-cased name>` as the vendor prints it.
    pub arn: String,
    pub description: String,
    pub trust_policy: String,
    pub max_session_duration: i64,
    pub service_linked: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoleUpdate {
    pub new_trust_policy: Option<String>,
    pub new_description: Option<String>,
    pub new_max_session_duration: Option<i64>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewPolicy {
    pub account_id: String,
    pub policy_name: String,
    pub description: String,
    pub document: String,
    pub now: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomPolicy {
    pub account_id: String,
    pub policy_name: String,
    pub description: String,
    pub default_version: String,
    /// The default version's document.
    pub document: String,
    pub attachment_count: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyVersion {
    pub version_id: String,
    pub document: String,
    pub is_default: bool,
    pub created_at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PolicyType {
    System,
    Custom,
}

impl PolicyType {
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::System => "System",
            PolicyType::Custom => "Custom",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PrincipalRef {
    User(String),
    Role(String),
}

impl PrincipalRef {
    pub fn kind(&self) -> &'static str {
        match self {
            PrincipalRef::User(_) => "user",
            PrincipalRef::Role(_) => "role",
        }
    }

    pub fn name(&self) -> &str {
        match self {
            PrincipalRef::User(n) | PrincipalRef::Role(n) => n,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub account_id: String,
    pub principal: PrincipalRef,
    pub policy_type: PolicyType,
    pub policy_name: String,
    /// For listing: the policy's description and default version (empty for system policies,
    /// which the caller fills in).
    pub description: String,
    pub default_version: String,
    pub attached_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttachedDocument {
    pub policy_type: PolicyType,
    pub policy_name: String,
    pub document: String,
}

/// Pagination: `marker` is opaque (from a previous page), `max_items` 1..=1000.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub marker: Option<String>,
    pub max_items: usize,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `Some` when there are more items; pass it back as the next marker.
    pub next_marker: Option<String>,
}

/// One audit record: who did what to what, when, with which result. Never a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    pub time: i64,
    pub request_id: String,
    pub account_id: String,
    /// The caller's ARN (or `service:<name>`).
    pub actor: String,
    /// e.g. `ram:CreateRole`, `sts:AssumeRole`.
    pub action: String,
    /// The target ARN or name.
    pub target: String,
    /// `Success` or the error code.
    pub result: String,
    /// Free-form, non-secret detail (e.g. the issued `STS.` AccessKeyId and expiry).
    pub detail: String,
}

/// One event of a stream (e.g. `Normal`/`Warning`, a reason, a message).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub time: i64,
    /// `Normal` or `Warning`.
    pub kind: String,
    pub reason: String,
    pub message: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Entity {
    Record,
    Account,
    User,
    AccessKey,
    Role,
    Policy,
    PolicyVersion,
    Attachment,
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Entity::Record => "record",
            Entity::Account => "account",
            Entity::User => "user",
            Entity::AccessKey => "access key",
            Entity::Role => "role",
            Entity::Policy => "policy",
            Entity::PolicyVersion => "policy version",
            Entity::Attachment => "policy attachment",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// 1000 roles per account.
    Roles,
    /// 2 AccessKeys per user (and per root).
    AccessKeysPerUser,
    /// 5 versions per custom policy.
    PolicyVersions,
    /// 5 custom + 20 system policies per user or role.
    PoliciesPerPrincipal,
    /// 1500 custom policies per account.
    Policies,
    /// 1000 users per account.
    Users,
}

impl fmt::Display for Limit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Limit::Roles => "at most 1000 roles per account",
            Limit::AccessKeysPerUser => "at most 2 access keys per user",
            Limit::PolicyVersions => "at most 5 versions per policy",
            Limit::PoliciesPerPrincipal => {
                "at most 5 custom and 20 system policies per user or role"
            }
            Limit::Policies => "at most 1500 custom policies per account",
            Limit::Users => "at most 1000 users per account",
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    RoleHasPolicies,
    UserHasPolicies,
    UserHasAccessKeys,
    PolicyAttached,
    PolicyHasVersions,
    DefaultVersion,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Conflict::RoleHasPolicies => "the role still has policies attached",
            Conflict::UserHasPolicies => "the user still has policies attached",
            Conflict::UserHasAccessKeys => "the user still has access keys",
            Conflict::PolicyAttached => "the policy is still attached",
            Conflict::PolicyHasVersions => "the policy still has non-default versions",
            Conflict::DefaultVersion => "the default version cannot be deleted",
        })
    }
}
