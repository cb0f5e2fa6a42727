//! Shared server state: the store, the clock, the key ring, caches and abuse controls.

use crate::audit::Auditor;
use crate::clock::Clock;
use crate::limits::{RateLimiter, ReplayCache};
use keyless_policy::{system_policy, Policy, PolicyKind};
use keyless_store::{AccessKey, PolicyType, PrincipalRef, Role, Store, StoreError, User};
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

/// Everything the front-ends share.
pub struct State {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub config: Config,
    pub ring: RwLock<Arc<KeyRing>>,
    pub cache: Cache,
    pub nonces: ReplayCache,
    pub limiter: RateLimiter,
    pub audit: Auditor,
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
        State {
            store,
            clock,
            ring: RwLock::new(Arc::new(ring)),
            cache: Cache::default(),
            nonces: ReplayCache::new(1 << 20, window),
            limiter,
            audit,
            config,
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
            self.store.find_access_key(id).map(|k| k.map(Arc::new))
        })
    }

    pub fn user(&self, account: &str, name: &str) -> Result<Option<Arc<User>>, StoreError> {
        self.cache.users.get_or_load(
            &(account.to_owned(), name.to_ascii_lowercase()),
            || match self.store.get_user(account, name) {
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
            let docs = self.store.attached_documents(account, p)?;
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
                let role = match self.store.get_role(account, name) {
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

    /// Called after every committed RAM change: cached identities and policies are dropped.
    pub fn invalidate(&self) {
        self.cache.invalidate();
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
