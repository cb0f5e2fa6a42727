//! Shared server state: the store, the clock, the key ring, caches and abuse controls.

use crate::audit::Auditor;
use crate::clock::Clock;
use crate::limits::{RateLimiter, ReplayCache};
use keyless_policy::{system_policy, Policy, PolicyKind};
use keyless_store::{
    AccessKey, Account, AttachedDocument, Attachment, AuditRecord, CustomPolicy, Event, KeyStatus,
    NewPolicy, Page, PageRequest, PolicyType, PolicyVersion, PrincipalRef, Role, RoleUpdate, Store,
    StoreError, User, UserUpdate,
};
use keyless_token::KeyRing;
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// Tunables (all have defaults; `keyless up` flags override them).
#[derive(Clone, Debug)]
pub struct Config {
    pub region: String,
    /// Accepted clock skew of signed requests, seconds (vendor: ±15 minutes).
    pub max_skew_secs: i64,
    /// AssumeRole calls per second per caller (0 disables the limit), and the burst.
    pub assume_role_rate: f64,
    pub assume_role_burst: f64,
    /// Sealing-key rotation period, seconds (default daily).
    pub key_rotation_secs: i64,
    /// Identifies this node in error bodies (`HostId`).
    pub host_id: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            region: "cn-hangzhou".into(),
            max_skew_secs: 900,
            assume_role_rate: 500.0,
            assume_role_burst: 1000.0,
            key_rotation_secs: keyless_token::DEFAULT_ROTATION_PERIOD_SECS,
            host_id: "keyless".into(),
        }
    }
}

/// A role with its compiled trust policy and permission policies.
pub struct RoleEntry {
    pub role: Role,
    /// `None` when the stored trust policy no longer parses (it then admits nobody).
    pub trust: Option<Policy>,
    pub policies: Vec<Policy>,
}

/// Everything the front-ends share. Fields are private: the store is reached through
/// [`State::store`], a wrapper that drops the identity and policy caches after every write
/// (committed or not), so no caller has to remember to invalidate.
pub struct State {
    store: InvalidatingStore,
    clock: Arc<dyn Clock>,
    config: Config,
    ring: RwLock<Arc<KeyRing>>,
    cache: Arc<Cache>,
    nonces: ReplayCache,
    limiter: RateLimiter,
    audit: Auditor,
}

impl State {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: Config,
        ring: KeyRing,
        audit: Auditor,
    ) -> Self {
        let limiter = RateLimiter::new(config.assume_role_rate, config.assume_role_burst, 100_000);
        let window = config.max_skew_secs * 2 * 1000;
        let cache = Arc::new(Cache::default());
        State {
            store: InvalidatingStore {
                inner: store,
                cache: cache.clone(),
            },
            clock,
            ring: RwLock::new(Arc::new(ring)),
            cache,
            nonces: ReplayCache::new(1 << 20, window),
            limiter,
            audit,
            config,
        }
    }

    /// The store. Every identity or policy write through it invalidates the caches.
    pub fn store(&self) -> &dyn Store {
        &self.store
    }

    /// The injected clock.
    pub fn clock(&self) -> &dyn Clock {
        self.clock.as_ref()
    }

    /// The tunables this server runs with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The audit writer.
    pub fn audit(&self) -> &Auditor {
        &self.audit
    }

    /// The V3 nonce cache (replay protection).
    pub fn nonces(&self) -> &ReplayCache {
        &self.nonces
    }

    /// The per-caller AssumeRole rate limiter.
    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// A compiled session policy by the session's AccessKeyId.
    pub fn session_policy(&self, akid: &str, doc: &str) -> Option<Arc<Policy>> {
        self.cache.session_policy(akid, doc)
    }

    /// Replaces the key ring (rotation). Sessions sealed with keys the new ring still holds keep
    /// opening.
    pub fn set_ring(&self, ring: KeyRing) {
        match self.ring.write() {
            Ok(mut g) => *g = Arc::new(ring),
            Err(p) => *p.into_inner() = Arc::new(ring),
        }
    }

    pub fn ring(&self) -> Arc<KeyRing> {
        match self.ring.read() {
            Ok(r) => r.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// An AccessKey by id (cached; misses are not cached so random ids cannot grow memory).
    pub fn access_key(&self, id: &str) -> Result<Option<Arc<AccessKey>>, StoreError> {
        self.cache.keys.get_or_load(&id.to_owned(), || {
            self.store
                .inner
                .find_access_key(id)
                .map(|k| k.map(Arc::new))
        })
    }

    pub fn user(&self, account: &str, name: &str) -> Result<Option<Arc<User>>, StoreError> {
        self.cache.users.get_or_load(
            &(account.to_owned(), name.to_ascii_lowercase()),
            || match self.store.inner.get_user(account, name) {
                Ok(u) => Ok(Some(Arc::new(u))),
                Err(StoreError::NotFound(..)) => Ok(None),
                Err(e) => Err(e),
            },
        )
    }

    /// The compiled policies attached to a user or role (stored documents that no longer parse
    /// are skipped: an invalid document grants nothing).
    pub fn principal_policies(
        &self,
        account: &str,
        p: &PrincipalRef,
    ) -> Result<Arc<Vec<Policy>>, StoreError> {
        let key = (account.to_owned(), p.kind(), p.name().to_ascii_lowercase());
        let got = self.cache.policies.get_or_load(&key, || {
            let docs = self.store.inner.attached_documents(account, p)?;
            let mut out = Vec::with_capacity(docs.len());
            for d in docs {
                match d.policy_type {
                    PolicyType::System => {
                        if let Some(sp) = system_policy(&d.policy_name) {
                            out.push(sp.clone());
                        }
                    }
                    PolicyType::Custom => {
                        if let Ok(cp) =
                            Policy::parse(&d.policy_name, &d.document, PolicyKind::Custom)
                        {
                            out.push(cp);
                        }
                    }
                }
            }
            Ok::<_, StoreError>(Some(Arc::new(out)))
        })?;
        Ok(got.unwrap_or_default())
    }

    pub fn role(&self, account: &str, name: &str) -> Result<Option<Arc<RoleEntry>>, StoreError> {
        self.cache
            .roles
            .get_or_load(&(account.to_owned(), name.to_ascii_lowercase()), || {
                let role = match self.store.inner.get_role(account, name) {
                    Ok(r) => r,
                    Err(StoreError::NotFound(..)) => return Ok(None),
                    Err(e) => return Err(e),
                };
                let trust = Policy::parse("trust", &role.trust_policy, PolicyKind::Trust).ok();
                let policies =
                    self.principal_policies(account, &PrincipalRef::Role(role.role_name.clone()))?;
                Ok(Some(Arc::new(RoleEntry {
                    role,
                    trust,
                    policies: policies.as_ref().clone(),
                })))
            })
    }
}

/// The store as the front-ends see it: reads pass through; every write to identities or
/// policies invalidates the caches after it returns (a failed write too: it costs a reload, and
/// a write that failed after committing must not leave a stale cache).
struct InvalidatingStore {
    inner: Arc<dyn Store>,
    cache: Arc<Cache>,
}

impl InvalidatingStore {
    fn after<T>(&self, r: StoreResult<T>) -> StoreResult<T> {
        self.cache.invalidate();
        r
    }
}

type StoreResult<T> = Result<T, StoreError>;

impl keyless_store::IdentityStore for InvalidatingStore {
    fn create_account(&self, account_id: &str, now: i64) -> StoreResult<Account> {
        self.after(self.inner.create_account(account_id, now))
    }

    fn get_account(&self, account_id: &str) -> StoreResult<Account> {
        self.inner.get_account(account_id)
    }

    fn list_accounts(&self) -> StoreResult<Vec<Account>> {
        self.inner.list_accounts()
    }

    fn create_access_key(&self, key: &AccessKey) -> StoreResult<()> {
        self.after(self.inner.create_access_key(key))
    }

    fn find_access_key(&self, access_key_id: &str) -> StoreResult<Option<AccessKey>> {
        self.inner.find_access_key(access_key_id)
    }

    fn list_access_keys(
        &self,
        account_id: &str,
        user_name: Option<&str>,
    ) -> StoreResult<Vec<AccessKey>> {
        self.inner.list_access_keys(account_id, user_name)
    }

    fn update_access_key_status(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
        status: KeyStatus,
    ) -> StoreResult<()> {
        self.after(self.inner.update_access_key_status(
            account_id,
            user_name,
            access_key_id,
            status,
        ))
    }

    fn delete_access_key(
        &self,
        account_id: &str,
        user_name: Option<&str>,
        access_key_id: &str,
    ) -> StoreResult<()> {
        self.after(
            self.inner
                .delete_access_key(account_id, user_name, access_key_id),
        )
    }

    fn create_user(&self, user: &User) -> StoreResult<()> {
        self.after(self.inner.create_user(user))
    }

    fn get_user(&self, account_id: &str, user_name: &str) -> StoreResult<User> {
        self.inner.get_user(account_id, user_name)
    }

    fn list_users(&self, account_id: &str, page: &PageRequest) -> StoreResult<Page<User>> {
        self.inner.list_users(account_id, page)
    }

    fn update_user(
        &self,
        account_id: &str,
        user_name: &str,
        update: &UserUpdate,
        now: i64,
    ) -> StoreResult<User> {
        self.after(self.inner.update_user(account_id, user_name, update, now))
    }

    fn delete_user(&self, account_id: &str, user_name: &str) -> StoreResult<()> {
        self.after(self.inner.delete_user(account_id, user_name))
    }

    fn create_role(&self, role: &Role) -> StoreResult<()> {
        self.after(self.inner.create_role(role))
    }

    fn get_role(&self, account_id: &str, role_name: &str) -> StoreResult<Role> {
        self.inner.get_role(account_id, role_name)
    }

    fn list_roles(&self, account_id: &str, page: &PageRequest) -> StoreResult<Page<Role>> {
        self.inner.list_roles(account_id, page)
    }

    fn update_role(
        &self,
        account_id: &str,
        role_name: &str,
        update: &RoleUpdate,
        now: i64,
    ) -> StoreResult<Role> {
        self.after(self.inner.update_role(account_id, role_name, update, now))
    }

    fn delete_role(&self, account_id: &str, role_name: &str) -> StoreResult<()> {
        self.after(self.inner.delete_role(account_id, role_name))
    }
}

impl keyless_store::PolicyStore for InvalidatingStore {
    fn create_policy(&self, policy: &NewPolicy) -> StoreResult<CustomPolicy> {
        self.after(self.inner.create_policy(policy))
    }

    fn get_policy(&self, account_id: &str, policy_name: &str) -> StoreResult<CustomPolicy> {
        self.inner.get_policy(account_id, policy_name)
    }

    fn list_policies(
        &self,
        account_id: &str,
        page: &PageRequest,
    ) -> StoreResult<Page<CustomPolicy>> {
        self.inner.list_policies(account_id, page)
    }

    fn delete_policy(&self, account_id: &str, policy_name: &str) -> StoreResult<()> {
        self.after(self.inner.delete_policy(account_id, policy_name))
    }

    fn create_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        document: &str,
        set_as_default: bool,
        rotate: bool,
        now: i64,
    ) -> StoreResult<PolicyVersion> {
        self.after(self.inner.create_policy_version(
            account_id,
            policy_name,
            document,
            set_as_default,
            rotate,
            now,
        ))
    }

    fn get_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<PolicyVersion> {
        self.inner
            .get_policy_version(account_id, policy_name, version_id)
    }

    fn list_policy_versions(
        &self,
        account_id: &str,
        policy_name: &str,
    ) -> StoreResult<Vec<PolicyVersion>> {
        self.inner.list_policy_versions(account_id, policy_name)
    }

    fn delete_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
    ) -> StoreResult<()> {
        self.after(
            self.inner
                .delete_policy_version(account_id, policy_name, version_id),
        )
    }

    fn set_default_policy_version(
        &self,
        account_id: &str,
        policy_name: &str,
        version_id: &str,
        now: i64,
    ) -> StoreResult<()> {
        self.after(
            self.inner
                .set_default_policy_version(account_id, policy_name, version_id, now),
        )
    }

    fn attach_policy(&self, attachment: &Attachment) -> StoreResult<()> {
        self.after(self.inner.attach_policy(attachment))
    }

    fn detach_policy(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
        policy_type: PolicyType,
        policy_name: &str,
    ) -> StoreResult<()> {
        self.after(
            self.inner
                .detach_policy(account_id, principal, policy_type, policy_name),
        )
    }

    fn list_attachments(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> StoreResult<Vec<Attachment>> {
        self.inner.list_attachments(account_id, principal)
    }

    fn attached_documents(
        &self,
        account_id: &str,
        principal: &PrincipalRef,
    ) -> StoreResult<Vec<AttachedDocument>> {
        self.inner.attached_documents(account_id, principal)
    }
}

impl keyless_store::AuditLog for InvalidatingStore {
    fn append_audit(&self, records: &[AuditRecord]) -> StoreResult<()> {
        self.inner.append_audit(records)
    }

    fn recent_audit(&self, limit: usize) -> StoreResult<Vec<AuditRecord>> {
        self.inner.recent_audit(limit)
    }
}

impl keyless_store::RecordStore for InvalidatingStore {
    fn get_meta(&self, key: &str) -> StoreResult<Option<Vec<u8>>> {
        self.inner.get_meta(key)
    }

    fn put_meta(&self, key: &str, value: &[u8]) -> StoreResult<()> {
        self.inner.put_meta(key, value)
    }

    fn create_record(&self, kind: &str, key: &str, value: &str, now: i64) -> StoreResult<()> {
        self.inner.create_record(kind, key, value, now)
    }

    fn put_record(&self, kind: &str, key: &str, value: &str, now: i64) -> StoreResult<()> {
        self.inner.put_record(kind, key, value, now)
    }

    fn get_record(&self, kind: &str, key: &str) -> StoreResult<Option<String>> {
        self.inner.get_record(kind, key)
    }

    fn list_records(&self, kind: &str, prefix: &str) -> StoreResult<Vec<(String, String)>> {
        self.inner.list_records(kind, prefix)
    }

    fn delete_record(&self, kind: &str, key: &str) -> StoreResult<bool> {
        self.inner.delete_record(kind, key)
    }

    fn append_event(&self, stream: &str, event: &Event) -> StoreResult<()> {
        self.inner.append_event(stream, event)
    }

    fn list_events(&self, stream: &str) -> StoreResult<Vec<Event>> {
        self.inner.list_events(stream)
    }

    fn delete_events(&self, stream: &str) -> StoreResult<()> {
        self.inner.delete_events(stream)
    }
}

/// Read-through caches invalidated by a generation counter: a load that started before an
/// invalidation never stores its (possibly stale) result.
#[derive(Default)]
pub struct Cache {
    generation: Arc<AtomicU64>,
    keys: CacheMap<String, Arc<AccessKey>>,
    users: CacheMap<(String, String), Arc<User>>,
    policies: CacheMap<(String, &'static str, String), Arc<Vec<Policy>>>,
    roles: CacheMap<(String, String), Arc<RoleEntry>>,
    sessions: CacheMap<String, Arc<Policy>>,
}

impl Cache {
    fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.keys.clear();
        self.users.clear();
        self.policies.clear();
        self.roles.clear();
    }

    /// A compiled session policy by the session's AccessKeyId (bounded; documents are
    /// immutable for a session so this needs no invalidation).
    pub fn session_policy(&self, akid: &str, doc: &str) -> Option<Arc<Policy>> {
        self.sessions
            .get_or_load(&akid.to_owned(), || {
                Ok::<_, StoreError>(
                    Policy::parse("session", doc, PolicyKind::Session)
                        .ok()
                        .map(Arc::new),
                )
            })
            .ok()
            .flatten()
    }
}

struct CacheMap<K, V> {
    map: RwLock<HashMap<K, (u64, V)>>,
    generation: AtomicU64,
}

impl<K, V> Default for CacheMap<K, V> {
    fn default() -> Self {
        CacheMap {
            map: RwLock::new(HashMap::new()),
            generation: AtomicU64::new(0),
        }
    }
}

const CACHE_CAP: usize = 100_000;

impl<K: Eq + Hash + Clone, V: Clone> CacheMap<K, V> {
    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut m) = self.map.write() {
            m.clear();
        }
    }

    fn get_or_load<E>(
        &self,
        key: &K,
        load: impl FnOnce() -> Result<Option<V>, E>,
    ) -> Result<Option<V>, E> {
        if let Ok(m) = self.map.read() {
            if let Some((_, v)) = m.get(key) {
                return Ok(Some(v.clone()));
            }
        }
        let gen = self.generation.load(Ordering::SeqCst);
        let loaded = load()?;
        if let Some(v) = &loaded {
            if let Ok(mut m) = self.map.write() {
                if self.generation.load(Ordering::SeqCst) == gen {
                    if m.len() >= CACHE_CAP {
                        m.clear();
                    }
                    m.insert(key.clone(), (gen, v.clone()));
                }
            }
        }
        Ok(loaded)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::clock::ManualClock;
    use keyless_store::SqliteStore;

    const ACCOUNT: &str = "1234567890123456";

    fn state(dir: &std::path::Path) -> State {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(dir).unwrap());
        store.create_account(ACCOUNT, 1).unwrap();
        let audit = Auditor::start(store.clone());
        State::new(
            store,
            Arc::new(ManualClock::new(1_700_000_000)),
            Config::default(),
            KeyRing::new([7u8; keyless_token::KEY_LEN], 1_700_000_000),
            audit,
        )
    }

    fn role(name: &str) -> Role {
        Role {
            account_id: ACCOUNT.into(),
            role_id: "3000000000000000001".into(),
            role_name: name.into(),
            arn: format!("acs:ram::{ACCOUNT}:role/{name}"),
            description: String::new(),
            trust_policy: r#"{"Version":"1","Statement":[]}"#.into(),
            max_session_duration: 3600,
            service_linked: false,
            created_at: 1,
            updated_at: 1,
        }
    }

    /// A write through `State::store` is seen by the next cached read without anyone calling
    /// `invalidate` (the caches used to rely on every caller remembering it).
    #[test]
    fn writes_through_the_state_invalidate_the_caches() {
        let dir = tempfile::tempdir().unwrap();
        let s = state(dir.path());
        assert!(s.role(ACCOUNT, "r").unwrap().is_none());
        s.store().create_role(&role("r")).unwrap();
        let cached = s.role(ACCOUNT, "r").unwrap().expect("role after create");
        assert!(cached.policies.is_empty());

        s.store()
            .attach_policy(&keyless_store::Attachment {
                account_id: ACCOUNT.into(),
                principal: PrincipalRef::Role("r".into()),
                policy_type: PolicyType::System,
                policy_name: "AliyunOSSReadOnlyAccess".into(),
                description: String::new(),
                default_version: String::new(),
                attached_at: 2,
            })
            .unwrap();
        let after = s.role(ACCOUNT, "r").unwrap().expect("role after attach");
        assert_eq!(after.policies.len(), 1, "the attachment is seen at once");

        s.store().delete_role(ACCOUNT, "r").ok();
        s.store()
            .detach_policy(
                ACCOUNT,
                &PrincipalRef::Role("r".into()),
                PolicyType::System,
                "AliyunOSSReadOnlyAccess",
            )
            .ok();
        s.store().delete_role(ACCOUNT, "r").unwrap();
        assert!(
            s.role(ACCOUNT, "r").unwrap().is_none(),
            "deleted roles vanish"
        );
        s.audit().shutdown();
    }
}
