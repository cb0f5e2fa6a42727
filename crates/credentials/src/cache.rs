//! [`CachedProvider`]: the one cache of this crate. Wrap a provider or a whole chain in it.

use crate::time::{clamp_fraction, Jitter, RandomJitter, SystemTimeSource, TimeSource};
use crate::{Credentials, CredentialsError, ProvideCredentials, ProvideFuture};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// The default minimum refresh-ahead window: 15 minutes.
pub const DEFAULT_MIN_REFRESH_AHEAD: Duration = Duration::from_secs(15 * 60);
/// The default wait after a failed refresh while the old set is still served: 10 seconds.
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_secs(10);

/// Caches the credentials of any provider and refreshes them ahead of expiry. Clones share one
/// cache.
///
/// # Refresh rule
///
/// When a set arrives at time `fetched` with expiry `expiry`:
///
/// ```text
/// remaining  = expiry − fetched
/// ahead      = min( max(min_ahead, remaining / 4), remaining / 2 )     min_ahead = 15 min
/// jitter     = ⌊ j × ahead / 4 ⌋                                        j ∈ [0, 1) from the Jitter
/// refresh_at = expiry − ahead − jitter
/// ```
///
/// so a set is refreshed once less than `ahead + jitter` of its life remains. A one-hour STS set
/// is refreshed between 41¼ and 45 minutes after it was fetched (15 minutes or more before it
/// expires, as the official clients' 15-minute stale window); a twelve-hour set 3 to 3¾ hours
/// before it expires. The `remaining / 2` cap keeps a short-lived set (a 15-minute session, or a set served
/// with little life left) from being refetched on *every* call, the failure of a fixed window
/// larger than the credentials' life (aws/aws-sdk-java#1893): it is refetched after about half its
/// remaining life instead. A set without expiry is never refreshed.
///
/// # Guarantees
///
/// - **One refresh at a time.** A tokio mutex serialises refreshes. Callers that arrive while a
///   refresh is running wait for *that* refresh and share its outcome (success or error), so N
///   concurrent callers cause one upstream call. Callers that still hold a valid set (inside the
///   refresh window, not expired) are not made to wait: they get the current set at once.
/// - **Never a mixed set.** A [`Credentials`] is immutable; the cached value is replaced whole.
/// - **A failed refresh keeps the old set.** If the refresh fails while the current set has not
///   expired (`now < expiry`), that set is returned and the next attempt waits `retry_backoff`
///   (default 10 s) so a failing upstream is not hammered. An error is returned only when no
///   unexpired set remains.
/// - A provider that returns an already-expired set is treated as failing.
///
/// # Example
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// use keyless_credentials::{
///     CachedProvider, Credentials, FixedJitter, ManualTimeSource, ProvideCredentials,
///     StaticProvider,
/// };
///
/// let clock = ManualTimeSource::new(1_000_000);
/// let one_hour = Credentials::new("STS.a", "sk", Some("tok".into()), Some(1_003_600), "demo");
/// let cached = CachedProvider::builder()
///     .time_source(clock.clone())
///     .jitter(FixedJitter(0.0))
///     .build(StaticProvider::new(one_hour));
///
/// let c = cached.provide_credentials().await.unwrap();
/// assert_eq!(cached.refresh_at(), Some(1_002_700)); // 15 min before expiry
/// # let _ = c;
/// # });
/// ```
#[derive(Debug, Clone)]
pub struct CachedProvider {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    provider: Box<dyn ProvideCredentials>,
    time: Arc<dyn TimeSource>,
    jitter: Arc<dyn Jitter>,
    min_ahead: i64,
    retry_backoff: i64,
    state: RwLock<State>,
    refresh: tokio::sync::Mutex<()>,
}

#[derive(Debug, Default)]
struct State {
    current: Option<Entry>,
    /// Counts finished refresh attempts; a waiter that sees it change shares that attempt.
    attempts: u64,
    last_error: Option<CredentialsError>,
    /// No new attempt before this time while the old set is served after a failure.
    retry_not_before: i64,
}

#[derive(Debug, Clone)]
struct Entry {
    credentials: Credentials,
    /// `None`: never refresh.
    refresh_at: Option<i64>,
}

impl Entry {
    fn is_fresh(&self, now: i64) -> bool {
        self.refresh_at.is_none_or(|r| now < r)
    }
    fn is_valid(&self, now: i64) -> bool {
        !self.credentials.is_expired(now)
    }
}

/// Builds a [`CachedProvider`].
#[derive(Debug, Default)]
pub struct CachedProviderBuilder {
    time: Option<Arc<dyn TimeSource>>,
    jitter: Option<Arc<dyn Jitter>>,
    min_ahead: Option<Duration>,
    retry_backoff: Option<Duration>,
}

impl CachedProviderBuilder {
    /// The clock (default [`SystemTimeSource`]).
    pub fn time_source(mut self, time: impl TimeSource + 'static) -> Self {
        self.time = Some(Arc::new(time));
        self
    }

    /// A shared clock.
    pub fn shared_time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = Some(time);
        self
    }

    /// The jitter source (default [`RandomJitter`]).
    pub fn jitter(mut self, jitter: impl Jitter + 'static) -> Self {
        self.jitter = Some(Arc::new(jitter));
        self
    }

    /// The minimum refresh-ahead window (default [`DEFAULT_MIN_REFRESH_AHEAD`]).
    pub fn min_refresh_ahead(mut self, d: Duration) -> Self {
        self.min_ahead = Some(d);
        self
    }

    /// How long to keep serving the old set after a failed refresh before trying again (default
    /// [`DEFAULT_RETRY_BACKOFF`]).
    pub fn retry_backoff(mut self, d: Duration) -> Self {
        self.retry_backoff = Some(d);
        self
    }

    /// A cache in front of `provider`.
    pub fn build(self, provider: impl ProvideCredentials + 'static) -> CachedProvider {
        let secs = |d: Duration| i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
        CachedProvider {
            inner: Arc::new(Inner {
                provider: Box::new(provider),
                time: self.time.unwrap_or_else(|| Arc::new(SystemTimeSource)),
                jitter: self.jitter.unwrap_or_else(|| Arc::new(RandomJitter)),
                min_ahead: secs(self.min_ahead.unwrap_or(DEFAULT_MIN_REFRESH_AHEAD)),
                retry_backoff: secs(self.retry_backoff.unwrap_or(DEFAULT_RETRY_BACKOFF)),
                state: RwLock::new(State::default()),
                refresh: tokio::sync::Mutex::new(()),
            }),
        }
    }
}

/// The time at which a set fetched at `now` and expiring at `expiry` is refreshed, for jitter
/// fraction `j`; see [`CachedProvider`] for the rule.
pub fn refresh_time(now: i64, expiry: i64, min_ahead: i64, j: f64) -> i64 {
    let remaining = expiry.saturating_sub(now).max(0);
    let ahead = min_ahead.max(remaining / 4).min(remaining / 2);
    // `ahead / 4` is far below 2^53, so the float product is exact enough.
    #[allow(clippy::cast_possible_truncation, clippy::cast_precision_loss)]
    let jitter = (clamp_fraction(j) * (ahead / 4) as f64).floor() as i64;
    expiry - ahead - jitter
}

impl CachedProvider {
    /// A cache with the defaults (system clock, random jitter, 15-minute minimum window).
    pub fn new(provider: impl ProvideCredentials + 'static) -> Self {
        Self::builder().build(provider)
    }

    /// A builder for non-default clock, jitter or windows.
    pub fn builder() -> CachedProviderBuilder {
        CachedProviderBuilder::default()
    }

    /// When the cached set will be refreshed (Unix seconds), if one is cached and expires.
    pub fn refresh_at(&self) -> Option<i64> {
        self.read_state(|s| s.current.as_ref().and_then(|e| e.refresh_at))
    }

    /// Drops the cached set; the next call fetches a new one.
    pub fn invalidate(&self) {
        self.write_state(|s| {
            s.current = None;
            s.retry_not_before = 0;
        });
    }

    fn read_state<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        match self.inner.state.read() {
            Ok(g) => f(&g),
            Err(poisoned) => f(&poisoned.into_inner()),
        }
    }

    fn write_state<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        match self.inner.state.write() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }

    /// The cached set, if it can be served without a refresh, and the attempt count seen.
    fn fast_path(&self, now: i64) -> (Option<Credentials>, Option<Credentials>, u64) {
        self.read_state(|s| {
            let valid = s
                .current
                .as_ref()
                .filter(|e| e.is_valid(now))
                .map(|e| e.credentials.clone());
            let serve = s.current.as_ref().and_then(|e| {
                let backing_off = now < s.retry_not_before;
                (e.is_valid(now) && (e.is_fresh(now) || backing_off)).then(|| e.credentials.clone())
            });
            (serve, valid, s.attempts)
        })
    }

    async fn get(&self) -> Result<Credentials, CredentialsError> {
        let inner = &self.inner;
        let now = inner.time.now();
        let (serve, valid, seen) = self.fast_path(now);
        if let Some(c) = serve {
            return Ok(c);
        }

        // A refresh is due. If someone else is already refreshing and we hold a valid set,
        // do not wait for them.
        let _guard = match (inner.refresh.try_lock(), valid) {
            (Ok(g), _) => g,
            (Err(_), Some(c)) => return Ok(c),
            (Err(_), None) => inner.refresh.lock().await,
        };

        let now = inner.time.now();
        let shared = self.read_state(|s| {
            if s.attempts == seen {
                return None;
            }
            // A refresh finished while we waited for the lock: share its outcome.
            match (&s.current, &s.last_error) {
                (Some(e), _) if e.is_valid(now) => Some(Ok(e.credentials.clone())),
                (_, Some(err)) => Some(Err(err.clone())),
                _ => None,
            }
        });
        if let Some(result) = shared {
            return result;
        }

        let fetched = inner.provider.provide_credentials().await;
        let now = inner.time.now();
        let fetched = fetched.and_then(|c| {
            if c.is_expired(now) {
                Err(CredentialsError::invalid_response(
                    c.provider_name(),
                    format!(
                        "the provider returned credentials that expired at {} (now {now})",
                        c.expiry().unwrap_or_default()
                    ),
                ))
            } else {
                Ok(c)
            }
        });
        self.write_state(|s| {
            s.attempts = s.attempts.wrapping_add(1);
            match fetched {
                Ok(c) => {
                    let refresh_at = c.expiry().map(|exp| {
                        refresh_time(now, exp, inner.min_ahead, inner.jitter.fraction())
                    });
                    s.current = Some(Entry {
                        credentials: c.clone(),
                        refresh_at,
                    });
                    s.last_error = None;
                    s.retry_not_before = 0;
                    Ok(c)
                }
                Err(e) => {
                    s.last_error = Some(e.clone());
                    match s.current.as_ref().filter(|entry| entry.is_valid(now)) {
                        Some(entry) => {
                            s.retry_not_before = now.saturating_add(inner.retry_backoff);
                            Ok(entry.credentials.clone())
                        }
                        None => Err(e),
                    }
                }
            }
        })
    }
}

impl ProvideCredentials for CachedProvider {
    fn provide_credentials(&self) -> ProvideFuture<'_> {
        Box::pin(self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FixedJitter, ManualTimeSource};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;

    const T0: i64 = 1_700_000_000;
    const HOUR: i64 = 3600;

    /// Returns set number `n` (id `AK<n>`, secret `SK<n>`, token `TK<n>`) on its `n`-th call,
    /// expiring `lifetime` after the clock's now; or fails while `fail` is set.
    #[derive(Debug)]
    struct Counting {
        calls: AtomicUsize,
        clock: ManualTimeSource,
        lifetime: Mutex<Option<i64>>,
        fail: Mutex<bool>,
        gate: Option<Arc<tokio::sync::Semaphore>>,
    }

    impl Counting {
        fn new(clock: &ManualTimeSource, lifetime: Option<i64>) -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicUsize::new(0),
                clock: clock.clone(),
                lifetime: Mutex::new(lifetime),
                fail: Mutex::new(false),
                gate: None,
            })
        }
        fn gated(clock: &ManualTimeSource, gate: Arc<tokio::sync::Semaphore>) -> Arc<Self> {
            Arc::new(Self {
                calls: AtomicUsize::new(0),
                clock: clock.clone(),
                lifetime: Mutex::new(Some(HOUR)),
                fail: Mutex::new(false),
                gate: Some(gate),
            })
        }
        fn calls(&self) -> usize {
            self.calls.load(Ordering::SeqCst)
        }
        fn set_fail(&self, f: bool) {
            *self.fail.lock().unwrap() = f;
        }
    }

    impl ProvideCredentials for Counting {
        fn provide_credentials(&self) -> ProvideFuture<'_> {
            Box::pin(async move {
                let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
                if let Some(g) = &self.gate {
                    let _permit = g.acquire().await.unwrap();
                }
                if *self.fail.lock().unwrap() {
                    return Err(CredentialsError::Transport {
                        provider: "counting",
                        message: format!("upstream down (call {n})"),
                    });
                }
                let expiry = self.lifetime.lock().unwrap().map(|l| self.clock.now() + l);
                Ok(Credentials::new(
                    format!("AK{n}"),
                    format!("SK{n}"),
                    Some(format!("TK{n}").into()),
                    expiry,
                    "counting",
                ))
            })
        }
    }

    fn cache(clock: &ManualTimeSource, p: &Arc<Counting>, jitter: f64) -> CachedProvider {
        CachedProvider::builder()
            .time_source(clock.clone())
            .jitter(FixedJitter(jitter))
            .build(p.clone())
    }

    async fn id(c: &CachedProvider) -> String {
        c.provide_credentials()
            .await
            .unwrap()
            .access_key_id()
            .to_owned()
    }

    #[test]
    fn the_refresh_rule() {
        let m = 15 * 60;
        // One hour: 15 minutes ahead, jitter up to 225 s more.
        assert_eq!(refresh_time(T0, T0 + HOUR, m, 0.0), T0 + HOUR - 900);
        assert_eq!(refresh_time(T0, T0 + HOUR, m, 0.999), T0 + HOUR - 900 - 224);
        // Twelve hours: a quarter ahead.
        assert_eq!(refresh_time(T0, T0 + 12 * HOUR, m, 0.0), T0 + 9 * HOUR);
        // Fifteen minutes: capped at half the remaining life, not "every call".
        assert_eq!(refresh_time(T0, T0 + 900, m, 0.0), T0 + 450);
        // Twenty minutes left: half.
        assert_eq!(refresh_time(T0, T0 + 1200, m, 0.0), T0 + 600);
        // Already expired: due now.
        assert_eq!(refresh_time(T0, T0 - 5, m, 0.5), T0 - 5);
        // Jitter out of range is clamped.
        assert!(refresh_time(T0, T0 + HOUR, m, 7.0) >= T0 + HOUR - 900 - 225);
        assert_eq!(refresh_time(T0, T0 + HOUR, m, -1.0), T0 + HOUR - 900);
    }

    #[tokio::test]
    async fn serves_from_cache_until_the_window_then_refreshes() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(HOUR));
        let c = cache(&clock, &p, 0.0);
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(c.refresh_at(), Some(T0 + HOUR - 900));
        clock.advance(HOUR - 900 - 1);
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(p.calls(), 1);
        clock.advance(1);
        assert_eq!(id(&c).await, "AK2");
        assert_eq!(p.calls(), 2);
        assert_eq!(id(&c).await, "AK2");
        assert_eq!(p.calls(), 2);
    }

    #[tokio::test]
    async fn jitter_moves_the_refresh_earlier() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(HOUR));
        let c = cache(&clock, &p, 0.5);
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(c.refresh_at(), Some(T0 + HOUR - 900 - 112));
        clock.advance(HOUR - 900 - 112);
        assert_eq!(id(&c).await, "AK2");
    }

    #[tokio::test]
    async fn short_lived_sets_are_not_refetched_on_every_call() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(900));
        let c = cache(&clock, &p, 0.0);
        for _ in 0..10 {
            assert_eq!(id(&c).await, "AK1");
        }
        clock.advance(449);
        assert_eq!(id(&c).await, "AK1");
        clock.advance(1);
        assert_eq!(id(&c).await, "AK2");
        assert_eq!(p.calls(), 2);
    }

    #[tokio::test]
    async fn sets_without_expiry_are_kept() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, None);
        let c = cache(&clock, &p, 0.0);
        assert_eq!(id(&c).await, "AK1");
        clock.advance(100 * 365 * 24 * HOUR);
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(p.calls(), 1);
        assert_eq!(c.refresh_at(), None);
        c.invalidate();
        assert_eq!(id(&c).await, "AK2");
    }

    #[tokio::test]
    async fn a_failed_refresh_keeps_serving_the_valid_set() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(HOUR));
        let c = cache(&clock, &p, 0.0);
        assert_eq!(id(&c).await, "AK1");
        p.set_fail(true);
        clock.advance(HOUR - 600); // in the window, 10 min left
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(p.calls(), 2);
        // Backing off: no new upstream call for 10 s.
        clock.advance(9);
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(p.calls(), 2);
        clock.advance(1);
        assert_eq!(id(&c).await, "AK1");
        assert_eq!(p.calls(), 3);
        // Upstream recovers.
        p.set_fail(false);
        clock.advance(10);
        assert_eq!(id(&c).await, "AK4");
    }

    #[tokio::test]
    async fn expired_and_failing_is_an_error() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(HOUR));
        let c = cache(&clock, &p, 0.0);
        assert_eq!(id(&c).await, "AK1");
        p.set_fail(true);
        clock.advance(HOUR);
        let e = c.provide_credentials().await.unwrap_err();
        assert!(
            matches!(&e, CredentialsError::Transport { message, .. } if message.contains("call 2")),
            "{e}"
        );
        // No backoff without a valid set: the next caller tries again.
        let e = c.provide_credentials().await.unwrap_err();
        assert!(e.to_string().contains("call 3"), "{e}");
        // Cold cache and failing: an error too.
        let p2 = Counting::new(&clock, Some(HOUR));
        p2.set_fail(true);
        assert!(cache(&clock, &p2, 0.0).provide_credentials().await.is_err());
    }

    #[tokio::test]
    async fn already_expired_sets_are_refused() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(0));
        let e = cache(&clock, &p, 0.0)
            .provide_credentials()
            .await
            .unwrap_err();
        assert!(matches!(e, CredentialsError::InvalidResponse { .. }), "{e}");
    }

    /// Lets every spawned task run until it blocks (current-thread runtime).
    async fn settle() {
        for _ in 0..200 {
            tokio::task::yield_now().await;
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn single_flight_on_a_cold_cache() {
        let clock = ManualTimeSource::new(T0);
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let p = Counting::gated(&clock, gate.clone());
        let c = cache(&clock, &p, 0.0);
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.provide_credentials().await })
            })
            .collect();
        settle().await;
        assert_eq!(p.calls(), 1);
        gate.add_permits(1000);
        for t in tasks {
            let creds = t.await.unwrap().unwrap();
            assert_eq!(creds.access_key_id(), "AK1");
        }
        assert_eq!(p.calls(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn waiters_share_a_failed_attempt() {
        let clock = ManualTimeSource::new(T0);
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let p = Counting::gated(&clock, gate.clone());
        p.set_fail(true);
        let c = cache(&clock, &p, 0.0);
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let c = c.clone();
                tokio::spawn(async move { c.provide_credentials().await })
            })
            .collect();
        settle().await;
        gate.add_permits(1000);
        for t in tasks {
            assert!(t.await.unwrap().is_err());
        }
        assert_eq!(p.calls(), 1);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn callers_with_a_valid_set_do_not_wait_for_the_refresh() {
        let clock = ManualTimeSource::new(T0);
        let gate = Arc::new(tokio::sync::Semaphore::new(1));
        let p = Counting::gated(&clock, gate.clone());
        let c = cache(&clock, &p, 0.0);
        assert_eq!(id(&c).await, "AK1");
        // Permit returned after the first call; take it so the refresh blocks.
        let held = gate.clone().acquire_owned().await.unwrap();
        clock.advance(HOUR - 900);
        let refresher = {
            let c = c.clone();
            tokio::spawn(async move { c.provide_credentials().await })
        };
        settle().await;
        assert_eq!(p.calls(), 2);
        // Others are served the still-valid set immediately.
        for _ in 0..10 {
            assert_eq!(id(&c).await, "AK1");
        }
        assert_eq!(p.calls(), 2);
        drop(held);
        assert_eq!(refresher.await.unwrap().unwrap().access_key_id(), "AK2");
        assert_eq!(id(&c).await, "AK2");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_a_mixed_set_under_concurrent_refreshes() {
        let clock = ManualTimeSource::new(T0);
        let p = Counting::new(&clock, Some(HOUR));
        let c = cache(&clock, &p, 0.0);
        let mut tasks = Vec::new();
        for i in 0..8 {
            let c = c.clone();
            let clock = clock.clone();
            tasks.push(tokio::spawn(async move {
                for _ in 0..200 {
                    if i == 0 {
                        clock.advance(HOUR);
                    }
                    if let Ok(cr) = c.provide_credentials().await {
                        let n = &cr.access_key_id()[2..];
                        assert_eq!(cr.access_key_secret().expose_secret(), format!("SK{n}"));
                        assert_eq!(
                            cr.security_token().unwrap().expose_secret(),
                            format!("TK{n}")
                        );
                    }
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert!(p.calls() > 1);
    }
}
