//! A token cache with single-flight refresh, generic over where tokens come from.
//!
//! # Policy
//! - A token obtained with lifetime `L` (measured from when its request was *started*) is
//!   handed out until `min(L - margin, 0.9 * L)`: the configured margin (default 5 min)
//!   before expiry, and never later than 90 % of its lifetime. After that it is *stale*.
//!   `L` is at most [`crate::MAX_EXPIRES_IN`] (10 years: token responses promising more
//!   are refused, and [`AccessToken::new`] caps it), and every instant is computed with
//!   checked arithmetic: an instant the monotonic clock cannot represent makes the token
//!   stale (and expired) at once, so it is handed to its caller but not kept.
//! - The first caller that finds the cache empty or stale starts one request (a *flight*);
//!   every caller arriving meanwhile waits for that same flight and gets its result, token
//!   or error. Exactly one request is made however many callers wait.
//! - When a refresh fails and the stale token has not expired yet, the stale token is
//!   returned (to every waiter) and the failure is logged; the next attempt is made no
//!   sooner than `retry_delay` (default 10 s) later, doubled after each failure in a row up
//!   to `max_retry_delay` (default 5 min), so a failing token endpoint is not hammered. A
//!   *refusal* ([`Error::is_refusal`](crate::Error::is_refusal): a 4xx answer such as
//!   `invalid_client`, which asking again will not change) waits `max_retry_delay` at once.
//!   A token is never dropped because a refresh failed.
//! - When a refresh fails and there is no unexpired token, every waiter of that flight gets
//!   the error and nothing is cached; the next call starts a new flight, except after a
//!   refusal: then calls get the same error, without a request, for `max_retry_delay`
//!   (or until [`TokenCache::invalidate`]; a delay past the clock's range holds it until
//!   then).
//! - A cache hit takes no lock and allocates nothing: an atomic load of an `Arc`, a clock
//!   read and a comparison.
//! - If the caller that started a flight is cancelled, a waiting caller takes it over.

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use tokio::sync::OnceCell;

use crate::error::{Error, Result};
use crate::token::AccessToken;

/// Something that can fetch a fresh access token: [`crate::OAuthFlow`], a provider's own
/// flow, or any async closure `Fn() -> impl Future<Output = Result<AccessToken>>`.
pub trait TokenSource: Send + Sync {
    /// Fetches a new token.
    ///
    /// # Errors
    /// Whatever the flow fails with.
    fn fetch_token(&self) -> impl Future<Output = Result<AccessToken>> + Send;
}

impl<F, Fut> TokenSource for F
where
    F: Fn() -> Fut + Send + Sync,
    Fut: Future<Output = Result<AccessToken>> + Send,
{
    fn fetch_token(&self) -> impl Future<Output = Result<AccessToken>> + Send {
        self()
    }
}

/// The monotonic clock a cache measures lifetimes with; replaceable in tests (a clock that
/// moves only when told to makes expiry and margins testable without waiting).
pub trait CacheClock: Send + Sync + fmt::Debug {
    /// The current instant.
    fn now(&self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct MonotonicClock;

impl CacheClock for MonotonicClock {
    fn now(&self) -> Instant {
        Instant::now()
    }
}

/// Settings of a [`TokenCache`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CacheOptions {
    /// Refresh this long before expiry (default 5 min); see the module policy.
    pub margin: Duration,
    /// Refresh at the latest after this fraction of the lifetime (default 0.9).
    pub max_fraction: f64,
    /// After a failed refresh while the old token is still valid, wait this long before
    /// trying again (default 10 s); doubled after each further failure in a row.
    pub retry_delay: Duration,
    /// The longest wait between attempts after failures (default 5 min), and the wait after
    /// a refusal.
    pub max_retry_delay: Duration,
}

impl Default for CacheOptions {
    fn default() -> Self {
        CacheOptions {
            margin: Duration::from_secs(300),
            max_fraction: 0.9,
            retry_delay: Duration::from_secs(10),
            max_retry_delay: Duration::from_secs(300),
        }
    }
}

impl CacheOptions {
    /// Sets the margin.
    #[must_use]
    pub fn with_margin(mut self, margin: Duration) -> Self {
        self.margin = margin;
        self
    }

    /// Sets the retry delay after a failed refresh.
    #[must_use]
    pub fn with_retry_delay(mut self, delay: Duration) -> Self {
        self.retry_delay = delay;
        self
    }

    /// Sets the longest wait between attempts, and the wait after a refusal.
    #[must_use]
    pub fn with_max_retry_delay(mut self, delay: Duration) -> Self {
        self.max_retry_delay = delay;
        self
    }

    /// The wait before the next attempt after `failures` failed refreshes in a row (1 for
    /// the first), the last of them a refusal or not: `retry_delay` doubled `failures - 1`
    /// times, at most `max_retry_delay`; `max_retry_delay` after a refusal. Never shorter
    /// than `retry_delay`.
    pub fn retry_after(&self, failures: u32, refused: bool) -> Duration {
        let longest = self.max_retry_delay.max(self.retry_delay);
        if refused {
            return longest;
        }
        backoff(self.retry_delay, failures, longest)
    }

    /// When a token of `lifetime` becomes stale: `min(lifetime - margin, max_fraction *
    /// lifetime)`.
    ///
    /// A `max_fraction` outside 0..=1 is clamped to it (not a number counts as 0.9); the
    /// result never exceeds `lifetime`.
    pub fn refresh_after(&self, lifetime: Duration) -> Duration {
        let fraction = if self.max_fraction.is_finite() {
            self.max_fraction.clamp(0.0, 1.0)
        } else {
            0.9
        };
        // `mul_f64` would panic when rounding carries the product past `Duration::MAX`.
        let part = Duration::try_from_secs_f64(lifetime.as_secs_f64() * fraction)
            .map_or(lifetime, |d| d.min(lifetime));
        lifetime.saturating_sub(self.margin).min(part)
    }
}

/// `first` doubled `failures - 1` times (`first` for 0 or 1 failure), at most `longest`:
/// the wait before the next attempt after `failures` failures in a row.
#[must_use]
pub fn backoff(first: Duration, failures: u32, longest: Duration) -> Duration {
    1u32.checked_shl(failures.saturating_sub(1))
        .and_then(|factor| first.checked_mul(factor))
        .map_or(longest, |d| d.min(longest))
}

struct Entry {
    token: Arc<AccessToken>,
    refresh_at: Instant,
    expires_at: Instant,
}

type Flight = OnceCell<Result<Arc<AccessToken>>>;

struct Inner<S> {
    source: S,
    clock: Arc<dyn CacheClock>,
    options: CacheOptions,
    current: ArcSwapOption<Entry>,
    flight: Mutex<Option<Arc<Flight>>>,
    fetches: AtomicU64,
    /// Failed fetches since the last success.
    failures: AtomicU32,
    /// A refusal held without a token, and until when (`None`: a delay past the clock's
    /// range, held until [`TokenCache::invalidate`]).
    refused: Mutex<Option<(Option<Instant>, Error)>>,
}

/// Where the cached token stands, relative to now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStatus {
    /// Time until the token becomes stale (zero when it already is).
    pub refresh_in: Duration,
    /// Time until the token expires (zero when it has).
    pub expires_in: Duration,
}

/// A single-entry token cache in front of a [`TokenSource`]; see the module docs for the
/// policy. Cloning is cheap and shares the cache.
pub struct TokenCache<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for TokenCache<S> {
    fn clone(&self) -> Self {
        TokenCache {
            inner: self.inner.clone(),
        }
    }
}

impl<S> fmt::Debug for TokenCache<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenCache")
            .field("options", &self.inner.options)
            .field("status", &self.status())
            .field("fetches", &self.fetch_count())
            .finish_non_exhaustive()
    }
}

impl<S: TokenSource> TokenCache<S> {
    /// A cache with default options and the real clock.
    pub fn new(source: S) -> Self {
        Self::with_options(source, CacheOptions::default())
    }

    /// A cache with `options` and the real clock.
    pub fn with_options(source: S, options: CacheOptions) -> Self {
        Self::with_clock(source, options, Arc::new(MonotonicClock))
    }

    /// A cache with `options` and `clock`.
    pub fn with_clock(source: S, options: CacheOptions, clock: Arc<dyn CacheClock>) -> Self {
        TokenCache {
            inner: Arc::new(Inner {
                source,
                clock,
                options,
                current: ArcSwapOption::empty(),
                flight: Mutex::new(None),
                fetches: AtomicU64::new(0),
                failures: AtomicU32::new(0),
                refused: Mutex::new(None),
            }),
        }
    }

    /// The token: the cached one while it is fresh, otherwise one fetched by a single
    /// flight shared with concurrent callers.
    ///
    /// # Errors
    /// The flight's error, when the fetch failed and no unexpired token is cached; the
    /// error of a refusal, without a new request, while it is held (see the module policy).
    pub async fn get(&self) -> Result<Arc<AccessToken>> {
        let now = self.inner.clock.now();
        if let Some(entry) = &*self.inner.current.load()
            && now < entry.refresh_at
        {
            return Ok(entry.token.clone());
        }
        self.refresh().await
    }

    async fn refresh(&self) -> Result<Arc<AccessToken>> {
        let flight = {
            let mut slot = lock(&self.inner.flight);
            // A flight may have landed between the check in `get` and this lock.
            let now = self.inner.clock.now();
            if let Some(entry) = &*self.inner.current.load()
                && now < entry.refresh_at
            {
                return Ok(entry.token.clone());
            }
            if let Some((until, error)) = &*lock(&self.inner.refused)
                && until.is_none_or(|until| now < until)
            {
                return Err(error.clone());
            }
            match &*slot {
                Some(f) => f.clone(),
                None => {
                    let f = Arc::new(Flight::new());
                    *slot = Some(f.clone());
                    f
                }
            }
        };
        flight.get_or_init(|| self.fly(&flight)).await.clone()
    }

    async fn fly(&self, flight: &Arc<Flight>) -> Result<Arc<AccessToken>> {
        let inner = &*self.inner;
        let started = inner.clock.now();
        inner.fetches.fetch_add(1, Ordering::Relaxed);
        let result = inner.source.fetch_token().await;
        let out = match result {
            Ok(token) => {
                inner.failures.store(0, Ordering::Relaxed);
                *lock(&inner.refused) = None;
                let lifetime = token.expires_in();
                let token = Arc::new(token);
                // An instant past the clock's range: stale and expired at once (see the
                // module policy); never a panic.
                let at = |d: Duration| started.checked_add(d).unwrap_or(started);
                inner.current.store(Some(Arc::new(Entry {
                    token: token.clone(),
                    refresh_at: at(inner.options.refresh_after(lifetime)),
                    expires_at: at(lifetime),
                })));
                tracing::debug!(lifetime_s = lifetime.as_secs(), "access token cached");
                Ok(token)
            }
            Err(error) => {
                let now = inner.clock.now();
                let failures = inner
                    .failures
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                        Some(n.saturating_add(1))
                    })
                    .map_or(u32::MAX, |n| n.saturating_add(1));
                let refused = error.is_refusal();
                let wait = inner.options.retry_after(failures, refused);
                match inner.current.load_full() {
                    Some(old) if now < old.expires_at => {
                        tracing::warn!(%error, failures, ?wait, "token refresh failed; using the cached token until it expires");
                        // A retry delay past the clock's range waits until expiry.
                        let retry_at = now
                            .checked_add(wait)
                            .map_or(old.expires_at, |t| t.min(old.expires_at));
                        inner.current.store(Some(Arc::new(Entry {
                            token: old.token.clone(),
                            refresh_at: retry_at,
                            expires_at: old.expires_at,
                        })));
                        Ok(old.token.clone())
                    }
                    _ => {
                        inner.current.store(None);
                        if refused {
                            // Asking again at once would be refused again: hold the answer
                            // (a delay past the clock's range: until invalidate()).
                            *lock(&inner.refused) = Some((now.checked_add(wait), error.clone()));
                        }
                        Err(error)
                    }
                }
            }
        };
        let mut slot = lock(&inner.flight);
        if slot.as_ref().is_some_and(|f| Arc::ptr_eq(f, flight)) {
            *slot = None;
        }
        out
    }
}

impl<S> TokenCache<S> {
    /// The cached token if it has not expired (fresh or stale), without fetching.
    pub fn cached(&self) -> Option<Arc<AccessToken>> {
        let now = self.inner.clock.now();
        self.inner
            .current
            .load()
            .as_ref()
            .filter(|e| now < e.expires_at)
            .map(|e| e.token.clone())
    }

    /// Forgets the cached token (for example after an API answered 401 with it): the next
    /// [`TokenCache::get`] fetches.
    pub fn invalidate(&self) {
        self.inner.current.store(None);
        *lock(&self.inner.refused) = None;
    }

    /// Where the cached token stands, if there is one.
    pub fn status(&self) -> Option<CacheStatus> {
        let now = self.inner.clock.now();
        self.inner.current.load().as_ref().map(|e| CacheStatus {
            refresh_in: e.refresh_at.saturating_duration_since(now),
            expires_in: e.expires_at.saturating_duration_since(now),
        })
    }

    /// The cache's settings.
    pub fn options(&self) -> &CacheOptions {
        &self.inner.options
    }

    /// How many fetches failed since the last success.
    pub fn failures_in_a_row(&self) -> u32 {
        self.inner.failures.load(Ordering::Relaxed)
    }

    /// How many fetches were started (successful or not).
    pub fn fetch_count(&self) -> u64 {
        self.inner.fetches.load(Ordering::Relaxed)
    }

    /// The token source.
    pub fn source(&self) -> &S {
        &self.inner.source
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refresh_rule() {
        let o = CacheOptions::default();
        let s = Duration::from_secs;
        // 90 % decides for lifetimes over 50 min (a 24 h token: after 21.6 h).
        assert_eq!(o.refresh_after(s(86_399)), s(86_399).mul_f64(0.9));
        assert_eq!(o.refresh_after(s(3600)), s(3240));
        // The 5 min margin decides below 50 min.
        assert_eq!(o.refresh_after(s(1200)), s(900));
        assert_eq!(o.refresh_after(s(200)), Duration::ZERO);
        let o = CacheOptions::default().with_margin(s(10));
        assert_eq!(o.refresh_after(s(200)), s(180));
        assert_eq!(o.refresh_after(s(50)), s(40));
    }

    #[test]
    fn refresh_rule_never_panics() {
        let mut o = CacheOptions::default().with_margin(Duration::ZERO);
        for fraction in [1.0, 0.9, 2.0, -1.0, f64::NAN, f64::INFINITY] {
            o.max_fraction = fraction;
            for lifetime in [Duration::MAX, Duration::ZERO, Duration::from_nanos(1)] {
                assert!(
                    o.refresh_after(lifetime) <= lifetime,
                    "{fraction} {lifetime:?}"
                );
            }
        }
        o.max_fraction = 1.0;
        assert_eq!(o.refresh_after(Duration::MAX), Duration::MAX);
    }
}
