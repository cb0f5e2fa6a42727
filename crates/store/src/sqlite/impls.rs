//! The role traits for [`SqliteStore`]: each method is exactly one read snapshot
//! (`self.read`) or one `BEGIN IMMEDIATE` write transaction (`self.write`) over the entity
//! modules, so every check (existence, uniqueness, quota) and its write are atomic.

use super::SqliteStore;
use super::{access_keys, accounts, attachments, audit, policies, records, roles, users};
use crate::{
    AccessKey, Account, AttachedDocument, Attachment, AuditLog, AuditRecord, CustomPolicy, Event,
    IdentityStore, KeyStatus, NewPolicy, Page, PageRequest, PolicyStore, PolicyType, PolicyVersion,
    PrincipalRef, RecordStore, Result, Role, RoleUpdate, User, UserUpdate,
};

impl IdentityStore for SqliteStore {
    // -- accounts

    fn create_account(&self, account_id: &str, now: i64) -> Result<Account> {
        self.write(|c| accounts::create(c, account_id, now))
    }

    fn get_account(&self, account_id: &str) -> Result<Account> {
        self.read(|c| accounts::get(c, account_id))
    }

    fn list_accounts(&self) -> Result<Vec<Account>> {
        self.read(accounts::list)
    }

    // -- access keys

    fn create_access_key(&self, key: &AccessKey) -> Result<()> {
        // Seal outside the lock; the nonce is random, so this is independent of the row.
        let sealed = self.sealer.seal(&key.access_key_id, &key.secret)?;
        self.write(|c| access_keys::create(c, key, &sealed))
    }

    fn find_access_key(&self, access_key_id: &str) -> Result<Option<AccessKey>> {
        self.read(|c| access_keys::find(c, &self.sealer, access_key_id))
    }

    fn list_access_keys(
        &self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> Result<Vec<AccessKey>> {
        self.read(|c| access_keys::list(c, &self.sealer, account_id, user_name))
    }

    fn update_access_key_status(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> Result<()> {
        self.write(|c| access_keys::update_status(c, account_id, user_name, access_key_id, status))
    }

    fn delete_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> Result<()> {
        self.write(|c| access_keys::delete(c, account_id, user_name, access_key_id))
    }

    // -- users

    fn create_user(&self, user: &User) -> Result<()> {
        self.write(|c| users::create(c, user))
    }

    fn get_user(&self, account_id: &str, user_name: &str) -> Result<User> {
        self.read(|c| users::get(c, account_id, user_name))
    }

    fn list_users(&self, account_id: &str, page: &PageRequest) -> Result<Page<User>> {
        self.read(|c| users::list(c, account_id, page))
    }

    fn update_user(
        &self,
        account_id: &str,
        user_name: &str,
        update: &UserUpdate,
        now: i64,
    ) -> Result<User> {
        self.write(|c| users::update(c, account_id, user_name, update, now))
    }

    fn delete_user(&self, account_id: &str, user_name: &str) -> Result<()> {
        self.write(|c| users::delete(c, account_id, user_name))
    }

    // -- roles

    fn create_role(&self, role: &Role) -> Result<()> {
        self.write(|c| roles::create(c, role))
    }

    fn get_role(&self, account_id: &str, role_name: &str) -> Result<Role> {
        self.read(|c| roles::get(c, account_id, role_name))
    }

    fn list_roles(&self, account_id: &str, page: &PageRequest) -> Result<Page<Role>> {
        self.read(|c| roles::list(c, account_id, page))
    }

    fn update_role(
        &self,
        account_id: &str,
        role_name: &str,
        update: &RoleUpdate,
        now: i64,
    ) -> Result<Role> {
        self.write(|c| roles::update(c, account_id, role_name, update, now))
    }

    fn delete_role(&self, account_id: &str, role_name: &str) -> Result<()> {
        self.write(|c| roles::delete(c, account_id, role_name))
    }
}

impl PolicyStore for SqliteStore {
    // -- custom policies and versions

    fn create_policy(&self, policy: &NewPolicy) -> Result<CustomPolicy> {
        self.write(|c| policies::create(c, policy))
    }

    fn get_policy(&self, account_id: &str, policy_name: &str) -> Result<CustomPolicy> {
        self.read(|c| policies::get(c, account_id, policy_name))
    }

    fn list_policies(&self, account_id: &str, page: &PageRequest) -> Result<Page<CustomPolicy>> {
        self.read(|c| policies::list(c, account_id, page))
    }

    fn delete_policy(&self, account_id: &str, policy_name: &str) -> Result<()> {
        self.write(|c| policies::delete(c, account_id, policy_name))
    }

    fn create_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        document: &str,
        set_as_default: bool,
        rotate: bool,
        now: i64,
    ) -> Result<PolicyVersion> {
        self.write(|c| {
            policies::create_version(
                c,
                account_id,
                policy_name,
                document,
                set_as_default,
                rotate,
                now,
            )
        })
    }

    fn get_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<PolicyVersion> {
        self.read(|c| policies::get_version(c, account_id, policy_name, version_id))
    }

    fn list_policy_versions(
        &self,
        account_id: &str,
        policy_name: &str,
    ) -> Result<Vec<PolicyVersion>> {
        self.read(|c| policies::list_versions(c, account_id, policy_name))
    }

    fn delete_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> Result<()> {
        self.write(|c| policies::delete_version(c, account_id, policy_name, version_id))
    }

    fn set_default_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
        now: i64,
    ) -> Result<()> {
        self.write(|c| policies::set_default_version(c, account_id, policy_name, version_id, now))
    }

    // -- attachments

    fn attach_policy(&self, attachment: &Attachment) -> Result<()> {
        self.write(|c| attachments::attach(c, attachment))
    }

    fn detach_policy(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
        policy_type: PolicyType,
        policy_name: &str,
    ) -> Result<()> {
        self.write(|c| attachments::detach(c, account_id, principal, policy_type, policy_name))
    }

    fn list_attachments(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> Result<Vec<Attachment>> {
        self.read(|c| attachments::list(c, account_id, principal))
    }

    fn attached_documents(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> Result<Vec<AttachedDocument>> {
        self.read(|c| attachments::documents(c, account_id, principal))
    }
}

impl AuditLog for SqliteStore {
    fn append_audit(&self, records: &[AuditRecord]) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        self.write(|c| audit::append(c, records))
    }

    fn recent_audit(&self, limit: usize) -> Result<Vec<AuditRecord>> {
        self.read(|c| audit::recent(c, limit))
    }
}

impl RecordStore for SqliteStore {
    fn get_meta(&self, key: &str) -> Result<Option<Vec<u8>>> {
        self.read(|c| records::get_meta(c, key))
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> Result<()> {
        self.write(|c| records::put_meta(c, key, value))
    }

    fn create_record(&self, kind: &str, key: &str, value: &str, now: i64) -> Result<()> {
        self.write(|c| records::create(c, kind, key, value, now))
    }

    fn put_record(&self, kind: &str, key: &str, value: &str, now: i64) -> Result<()> {
        self.write(|c| records::put(c, kind, key, value, now))
    }

    fn get_record(&self, kind: &str, key: &str) -> Result<Option<String>> {
        self.read(|c| records::get(c, kind, key))
    }

    fn list_records(&self, kind: &str, prefix: &str) -> Result<Vec<(String, String)>> {
        let rows = self.read(|c| records::list(c, kind))?;
        Ok(rows
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect())
    }

    fn delete_record(&self, kind: &str, key: &str) -> Result<bool> {
        self.write(|c| records::delete(c, kind, key))
    }

    fn append_event(&self, stream: &str, event: &Event) -> Result<()> {
        self.write(|c| records::append_event(c, stream, event))
    }

    fn list_events(&self, stream: &str) -> Result<Vec<Event>> {
        self.read(|c| records::list_events(c, stream))
    }

    fn delete_events(&self, stream: &str) -> Result<()> {
        self.write(|c| records::delete_events(c, stream))
    }
}
