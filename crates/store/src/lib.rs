//! Persistence for keyless: accounts, RAM users, AccessKeys, roles, custom policies and their
//! versions, attachments, the append-only audit log, small opaque metadata blobs (the STS
//! sealing key ring), and JSON records and event streams for the platform's own objects.
//!
//! Owns: the persistence interface, split by role, and its SQLite implementation.
//!
//! | trait | holds |
//! | --- | --- |
//! | [`IdentityStore`] | accounts, RAM users, AccessKeys (root and per user), roles |
//! | [`PolicyStore`] | custom policies, their versions, attachments to users and roles |
//! | [`AuditLog`] | the append-only audit log |
//! | [`RecordStore`] | metadata blobs, records by `(kind, key)`, event streams |
//!
//! [`Store`] is all four (blanket-implemented), so one `Arc<dyn Store>` serves every caller;
//! `use keyless_store::prelude::*;` brings the traits into scope to call their methods. The
//! backend-neutral rules live beside the traits, not in a backend: [`quota`] (the vendor's
//! count limits) and [`validate`] (case-insensitive name keys, `v<n>` version ids, page size
//! and markers). [`SqliteStore`] is the first backend (WAL, `synchronous=FULL`, foreign keys,
//! embedded migrations, AccessKeySecrets sealed at rest with a master key kept in the data dir,
//! mode 0600). The `conformance` feature exposes `keyless_store::conformance`: the one set of
//! tests every backend must pass.
//!
//! Invariants every backend keeps (the conformance suite checks them):
//! - Every method is one transaction: it commits fully and durably before returning `Ok`, or
//!   changes nothing and returns `Err`. Times are unix seconds supplied by the caller; a store
//!   never reads the clock.
//! - Existence, uniqueness and quota checks are made inside the transaction that writes, so
//!   concurrent writers cannot together break a limit (5 versions per policy, 2 AccessKeys per
//!   user or root, 5 custom + 20 system policies per principal, 1000 users, 1000 roles and 1500
//!   custom policies per account).
//! - User, role and policy names are unique per account case-insensitively and keep their
//!   spelling; ids, AccessKeyIds, record keys, kinds and streams compare exactly.
//! - Errors are [`StoreError`] variants with the [`Entity`], [`Limit`] or [`Conflict`] they
//!   concern; the server maps them to vendor codes, so each method's variants are part of its
//!   contract. No error message carries a secret.
//!
//! Must not: know HTTP, wire formats or vendor error codes (the server maps [`StoreError`]); read
//! policies' meaning (documents are opaque text here); log secrets. SQL stays portable (no
//! SQLite-only syntax beyond `PRAGMA`s at open) so a PostgreSQL backend can follow.

use keyless_secret::SecretString;

mod model;
pub use model::*;

pub mod quota;
pub mod validate;

#[cfg(feature = "conformance")]
pub mod conformance;

/// Errors from a store. Messages are lower-case, user input in backticks.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} `{1}` does not exist")]
    NotFound(Entity, String),
    #[error("{0} `{1}` already exists")]
    AlreadyExists(Entity, String),
    #[error("limit exceeded: {0}")]
    LimitExceeded(Limit),
    #[error("delete conflict: {0}")]
    DeleteConflict(Conflict),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("storage backend failed: {0}")]
    Backend(String),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, StoreError>;

/// Accounts, RAM users, AccessKeys and roles: the identities the platform authenticates.
///
/// User, role and policy names are unique per account case-insensitively and keep the spelling
/// they were created (or renamed) with. Listings of users and roles are name-ordered pages (see
/// [`PageRequest`]).
pub trait IdentityStore: Send + Sync {
    // -- accounts
    fn create_account(&self, account_id: &str, now: i64) -> Result<Account>;
    fn get_account(&self, account_id: &str) -> Result<Account>;
    fn list_accounts(&self) -> Result<Vec<Account>>;

    // -- access keys (user_name None = the account's root key)
    fn create_access_key(&self, key: &AccessKey) -> Result<()>;
    /// Looks a key up by id across all accounts (authentication path).
    fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>>;
    fn list_access_keys(&self, account_id: &str, user_name: Option<&str>)
        -> Result<Vec<AccessKey>>;
    fn update_access_key_status(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<()>;
    fn delete_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<()>;

    // -- users
    fn create_user(&self, user: &User) -> Result<()>;
    fn get_user(&self, account_id: &str, user_name: &str) -> Result<User>;
    fn list_users(&self, account_id: &str, page: &PageRequest) -> Result<Page<User>>;
    fn update_user(
        &self,
        account_id: &str,
        user_name: &str,
        update: &UserUpdate,
        now: i64,
    ) -> Result<User>;
    /// Fails with `DeleteConflict(UserHasAccessKeys | UserHasPolicies)` while either exists.
    fn delete_user(&self, account_id: &str, user_name: &str) -> Result<()>;

    // -- roles
    /// Fails with `LimitExceeded(Roles)` at 1000 roles per account.
    fn create_role(&self, role: &Role) -> Result<()>;
    fn get_role(&self, account_id: &str, role_name: &str) -> Result<Role>;
    fn list_roles(&self, account_id: &str, page: &PageRequest) -> Result<Page<Role>>;
    fn update_role(
        &self,
        account_id: &str,
        role_name: &str,
        update: &RoleUpdate,
        now: i64,
    ) -> Result<Role>;
    /// Fails with `DeleteConflict(RoleHasPolicies)` while policies are attached.
    fn delete_role(&self, account_id: &str, role_name: &str) -> Result<()>;
}

/// Custom policies, their versions, and policy attachments to users and roles.
pub trait PolicyStore: Send + Sync {
    // -- custom policies and versions
    /// Creates the policy with version `v1` as default.
    fn create_policy(&self, policy: &NewPolicy) -> Result<CustomPolicy>;
    fn get_policy(&self, account_id: &str, policy_name: &str) -> Result<CustomPolicy>;
    fn list_policies(&self, account_id: &str, page: &PageRequest) -> Result<Page<CustomPolicy>>;
    /// Fails with `DeleteConflict(PolicyAttached | PolicyHasVersions)`.
    fn delete_policy(&self, account_id: &str, policy_name: &str) -> Result<()>;
    /// Adds `v<n+1>` (n = highest version ever created). At 5 versions: with `rotate` the oldest
    /// non-default version is deleted first, otherwise `LimitExceeded(PolicyVersions)`.
    fn create_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        document: &str,
        set_as_default: bool,
        rotate: bool,
        now: i64,
    ) -> Result<PolicyVersion>;
    fn get_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<PolicyVersion>;
    fn list_policy_versions(
        &self,
        account_id: &str,
        policy_name: &str,
    ) -> Result<Vec<PolicyVersion>>;
    /// Fails with `DeleteConflict(DefaultVersion)` for the default version.
    fn delete_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<()>;
    fn set_default_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
        now: i64,
    ) -> Result<()>;

    // -- attachments (system policies are not stored; their names are checked by the caller)
    /// Fails with `NotFound` for a missing principal or custom policy, `AlreadyExists(Attachment)`,
    /// or `LimitExceeded(PoliciesPerPrincipal)` (5 custom + 20 system).
    fn attach_policy(&self, attachment: &Attachment) -> Result<()>;
    fn detach_policy(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
        policy_type: PolicyType,
        policy_name: &str,
    ) -> Result<()>;
    fn list_attachments(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> Result<Vec<Attachment>>;
    /// The default-version documents of everything attached to `principal`, in attach order:
    /// `(policy_type, policy_name, document)`; system policies come back with an empty document
    /// (the caller resolves them by name).
    fn attached_documents(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> Result<Vec<AttachedDocument>>;
}

/// The append-only audit log.
pub trait AuditLog: Send + Sync {
    /// Appends a batch of audit records in one transaction (group commit).
    fn append_audit(&self, records: &[AuditRecord]) -> Result<()>;
    /// The most recent `limit` audit records, newest first.
    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>>;
}

/// Opaque data for the platform's own objects: metadata blobs (the STS sealing key ring), JSON
/// records by `(kind, key)` and append-only event streams.
pub trait RecordStore: Send + Sync {
    // -- metadata blobs
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>>;
    fn put_meta(&self, key: &str, value: &[u8]) -> Result<()>;

    // -- records: JSON documents by `(kind, key)` for the platform's own objects (EAS services
    //    and instances, workspaces, MaxCompute projects and tables). Keys are compared exactly.
    /// Creates a record; `AlreadyExists(Record)` when the key is taken.
    fn create_record(&self, kind: &str, key: &str, value: &str, now: i64) -> Result<()>;
    /// Creates or replaces a record.
    fn put_record(&self, kind: &str, key: &str, value: &str, now: i64) -> Result<()>;
    fn get_record(&self, kind: &str, key: &str) -> Result<Option<String>>;
    /// Records of `kind` whose key starts with `prefix`, ordered by key.
    fn list_records(&self, kind: &str, prefix: &str) -> Result<Vec<(String, String)>>;
    /// Deletes a record; false when there was none.
    fn delete_record(&self, kind: &str, key: &str) -> Result<bool>;
    /// Appends an event to `stream` (e.g. a service's deployment events).
    fn append_event(&self, stream: &str, event: &Event) -> Result<()>;
    /// Every event of `stream`, oldest first.
    fn list_events(&self, stream: &str) -> Result<Vec<Event>>;
    /// Drops every event of `stream` (when its service is deleted).
    fn delete_events(&self, stream: &str) -> Result<()>;
}

/// The whole persistence interface: every role trait. Implemented for every type that
/// implements all four, so `Arc<dyn Store>` hands one backend to every caller; to call a method
/// on it, bring the role traits into scope (`use keyless_store::prelude::*;`).
pub trait Store: IdentityStore + PolicyStore + AuditLog + RecordStore + Send + Sync {}

impl<T: IdentityStore + PolicyStore + AuditLog + RecordStore + Send + Sync> Store for T {}

/// The traits needed to call store methods: `use keyless_store::prelude::*;`.
pub mod prelude {
    pub use super::{AuditLog, IdentityStore, PolicyStore, RecordStore, Store};
}

/// A secret generated for a new AccessKey travels in this type; see [`AccessKey::secret`].
pub type Secret = SecretString;

mod sqlite;
pub use sqlite::SqliteStore;
