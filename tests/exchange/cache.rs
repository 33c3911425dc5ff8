//! The token cache: single flight, lifetimes per endpoint unit, margin and 90 % rule,
//! failed refreshes.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hsmjwt_emulator::{Endpoint, Fault};
use hsmjwt_ims::{JwtExchange, ServerToServer};
use hsmjwt_oauth::{AccessToken, SecretString};
use hsmjwt_oauth::{CacheOptions, Error, ExposeSecret, TokenCache};

use crate::support::*;

const S: fn(u64) -> Duration = Duration::from_secs;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_cold_callers_cause_one_exchange() {
    let emu = emulator().await;
    // Keep the flight in the air long enough for everyone to pile up behind it.
    emu.push_fault(Fault::delay(Duration::from_millis(300)));
    let flow = JwtExchange::from_credentials(
        ims_client(&emu, fast()),
        &aem_credentials(),
        keys().signer(),
    );
    let cache = TokenCache::new(flow);
    let barrier = Arc::new(tokio::sync::Barrier::new(50));
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let cache = cache.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            cache.get().await
        }));
    }
    let mut tokens = Vec::new();
    for t in tasks {
        tokens.push(t.await.unwrap().unwrap());
    }
    assert_eq!(emu.requests(Endpoint::JwtExchange), 1);
    assert_eq!(cache.fetch_count(), 1);
    assert!(tokens.iter().all(|t| Arc::ptr_eq(t, &tokens[0])));
    // Hits from now on.
    for _ in 0..100 {
        cache.get().await.unwrap();
    }
    assert_eq!(emu.requests(Endpoint::JwtExchange), 1);
}

#[tokio::test]
async fn milliseconds_and_seconds_give_the_same_day() {
    let emu = emulator().await;
    let clock = Arc::new(ManualClock::new());
    let jwt = TokenCache::with_clock(
        JwtExchange::from_credentials(
            ims_client(&emu, fast()),
            &aem_credentials(),
            keys().signer(),
        ),
        CacheOptions::default(),
        clock.clone(),
    );
    let v3 = TokenCache::with_clock(
        ServerToServer::new(ims_client(&emu, fast()), s2s_credentials()),
        CacheOptions::default(),
        clock.clone(),
    );
    jwt.get().await.unwrap();
    v3.get().await.unwrap();
    let j = jwt.status().unwrap();
    let v = v3.status().unwrap();
    assert_eq!(j.expires_in, Duration::from_millis(86_399_999));
    assert_eq!(v.expires_in, S(86_399));
    // 24 h tokens refresh at 90 % of their life (the 5 min margin is smaller).
    assert_eq!(j.refresh_in, Duration::from_millis(86_399_999).mul_f64(0.9));
    assert_eq!(v.refresh_in, S(86_399).mul_f64(0.9));
    // Just before: still hits. Just after: one new exchange each.
    clock.advance(S(77_758));
    jwt.get().await.unwrap();
    v3.get().await.unwrap();
    assert_eq!(emu.requests(Endpoint::JwtExchange), 1);
    assert_eq!(emu.requests(Endpoint::TokenV3), 1);
    clock.advance(S(2));
    jwt.get().await.unwrap();
    v3.get().await.unwrap();
    assert_eq!(emu.requests(Endpoint::JwtExchange), 2);
    assert_eq!(emu.requests(Endpoint::TokenV3), 2);
}

/// A source handing out tokens of a fixed lifetime and counting calls; fails while told to.
#[derive(Clone)]
struct Scripted {
    lifetime: Duration,
    calls: Arc<AtomicUsize>,
    fail: Arc<std::sync::atomic::AtomicBool>,
    /// The status of the failures (503 unless set).
    status: Arc<std::sync::atomic::AtomicU16>,
    delay: Duration,
}

impl Scripted {
    fn new(lifetime: Duration) -> Self {
        Scripted {
            lifetime,
            calls: Arc::default(),
            fail: Arc::default(),
            status: Arc::new(std::sync::atomic::AtomicU16::new(503)),
            delay: Duration::ZERO,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    /// Fails with 401 `invalid_client`, a refusal.
    fn refusing(&self) {
        self.status.store(401, Ordering::SeqCst);
        self.failing(true);
    }

    fn source(&self) -> impl hsmjwt_oauth::TokenSource + use<> {
        let me = self.clone();
        move || {
            let me = me.clone();
            async move {
                let n = me.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(me.delay).await;
                if me.fail.load(Ordering::SeqCst) {
                    let status = me.status.load(Ordering::SeqCst);
                    return Err(Error::Endpoint {
                        url: "scripted".into(),
                        status,
                        error: Some(
                            if status == 401 {
                                "invalid_client"
                            } else {
                                "temporarily_unavailable"
                            }
                            .into(),
                        ),
                        error_description: None,
                        headers: Vec::new(),
                        attempts: 1,
                    });
                }
                Ok(AccessToken::new(
                    SecretString::from(format!("token-{n}")),
                    me.lifetime,
                ))
            }
        }
    }
}

fn cache_of(
    script: &Scripted,
    options: CacheOptions,
    clock: &Arc<ManualClock>,
) -> TokenCache<impl hsmjwt_oauth::TokenSource + use<>> {
    TokenCache::with_clock(script.source(), options, clock.clone())
}

#[tokio::test]
async fn margin_decides_for_short_lifetimes() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(1200));
    let cache = cache_of(&script, CacheOptions::default(), &clock);
    cache.get().await.unwrap();
    // 1200 s: stale at min(1200 - 300, 1080) = 900 s.
    clock.advance(S(899));
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 1);
    clock.advance(S(2));
    let t = cache.get().await.unwrap();
    assert_eq!(script.calls(), 2);
    assert_eq!(t.secret().expose_secret(), "token-2");
}

#[tokio::test]
async fn ninety_percent_decides_for_long_lifetimes() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(10_000));
    let cache = cache_of(&script, CacheOptions::default().with_margin(S(60)), &clock);
    cache.get().await.unwrap();
    // 10000 s with a 60 s margin: stale at min(9940, 9000) = 9000 s.
    clock.advance(S(8_999));
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 1);
    clock.advance(S(2));
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 2);
}

#[tokio::test]
async fn a_failed_fetch_does_not_poison_the_cache() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(3600));
    let cache = cache_of(&script, CacheOptions::default(), &clock);
    script.failing(true);
    let err = cache.get().await.unwrap_err();
    assert_eq!(err.status(), Some(503));
    assert!(cache.cached().is_none());
    script.failing(false);
    let t = cache.get().await.unwrap();
    assert_eq!(t.secret().expose_secret(), "token-2");
    assert_eq!(script.calls(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn waiters_of_a_failed_flight_all_get_its_error_and_the_next_call_retries() {
    let clock = Arc::new(ManualClock::new());
    let mut script = Scripted::new(S(3600));
    // Long enough for all 20 to join the flight even on a loaded machine.
    script.delay = Duration::from_millis(500);
    let cache = cache_of(&script, CacheOptions::default(), &clock);
    script.failing(true);
    let barrier = Arc::new(tokio::sync::Barrier::new(20));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let cache = cache.clone();
        let barrier = barrier.clone();
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            cache.get().await
        }));
    }
    for t in tasks {
        let err = t.await.unwrap().unwrap_err();
        assert_eq!(err.oauth_error(), Some("temporarily_unavailable"));
    }
    assert_eq!(script.calls(), 1);
    script.failing(false);
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 2);
}

#[tokio::test]
async fn a_still_valid_token_survives_a_failed_refresh() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(1000));
    let options = CacheOptions::default()
        .with_margin(S(300))
        .with_retry_delay(S(10));
    let cache = cache_of(&script, options, &clock);
    let first = cache.get().await.unwrap();
    // Stale at 700 s; IMS is down.
    clock.advance(S(750));
    script.failing(true);
    let t = cache.get().await.unwrap();
    assert!(Arc::ptr_eq(&t, &first));
    assert_eq!(script.calls(), 2);
    // Within the retry delay: no new attempt.
    clock.advance(S(5));
    assert!(Arc::ptr_eq(&cache.get().await.unwrap(), &first));
    assert_eq!(script.calls(), 2);
    // After it: one more attempt, still failing, still the old token.
    clock.advance(S(6));
    assert!(Arc::ptr_eq(&cache.get().await.unwrap(), &first));
    assert_eq!(script.calls(), 3);
    assert_eq!(cache.failures_in_a_row(), 2);
    // IMS is back; the second failure in a row doubled the wait to 20 s.
    script.failing(false);
    clock.advance(S(11));
    assert!(Arc::ptr_eq(&cache.get().await.unwrap(), &first));
    assert_eq!(script.calls(), 3);
    clock.advance(S(10));
    let t = cache.get().await.unwrap();
    assert_eq!(t.secret().expose_secret(), "token-4");
    assert_eq!(cache.failures_in_a_row(), 0);
}

#[test]
fn the_retry_delay_doubles_up_to_its_limit() {
    let options = CacheOptions::default()
        .with_retry_delay(S(10))
        .with_max_retry_delay(S(300));
    let waits: Vec<u64> = (1..=7)
        .map(|n| options.retry_after(n, false).as_secs())
        .collect();
    assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300]);
    assert_eq!(options.retry_after(1, true), S(300));
    assert_eq!(options.retry_after(u32::MAX, false), S(300));
    // A limit under the first delay never shortens it.
    let odd = CacheOptions::default()
        .with_retry_delay(S(10))
        .with_max_retry_delay(S(1));
    assert_eq!(odd.retry_after(1, true), S(10));
    assert_eq!(odd.retry_after(3, false), S(10));
    // The doubling itself, as the agent's refresher uses it for a token never fetched.
    let waits: Vec<u64> = (0..=6)
        .map(|n| hsmjwt_oauth::backoff(S(1), n, S(10)).as_secs())
        .collect();
    assert_eq!(waits, [1, 1, 2, 4, 8, 10, 10]);
    assert_eq!(hsmjwt_oauth::backoff(S(1), u32::MAX, S(10)), S(10));
}

#[tokio::test]
async fn a_refused_refresh_waits_the_longest_delay() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(3600));
    let options = CacheOptions::default()
        .with_retry_delay(S(10))
        .with_max_retry_delay(S(300));
    let cache = cache_of(&script, options, &clock);
    let first = cache.get().await.unwrap();
    // Stale at 3240 s (90 %); the client's credentials were revoked meanwhile.
    clock.advance(S(3241));
    script.refusing();
    assert!(Arc::ptr_eq(&cache.get().await.unwrap(), &first));
    assert_eq!(script.calls(), 2);
    // Not asked again every 10 s: the next attempt is 300 s later, at 3541 s.
    for _ in 0..30 {
        clock.advance(S(10));
        let _ = cache.get().await;
    }
    assert_eq!(script.calls(), 3, "one attempt after 300 s, none before");
}

#[tokio::test]
async fn a_refusal_without_a_token_is_held() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(3600));
    let options = CacheOptions::default().with_max_retry_delay(S(300));
    let cache = cache_of(&script, options, &clock);
    script.refusing();
    let err = cache.get().await.unwrap_err();
    assert_eq!(err.oauth_error(), Some("invalid_client"));
    assert!(err.is_refusal());
    // Callers get the same answer without a request while it is held.
    for _ in 0..20 {
        clock.advance(S(10));
        let again = cache.get().await.unwrap_err();
        assert_eq!(again.oauth_error(), Some("invalid_client"));
    }
    assert_eq!(script.calls(), 1);
    // After 300 s one new request; the credentials were fixed.
    script.failing(false);
    clock.advance(S(101));
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 2);
    // A transient failure (503) without a token is not held: the next call asks again.
    cache.invalidate();
    script.status.store(503, Ordering::SeqCst);
    script.failing(true);
    cache.get().await.unwrap_err();
    cache.get().await.unwrap_err();
    assert_eq!(script.calls(), 4);
    // invalidate() drops a held refusal.
    script.refusing();
    cache.get().await.unwrap_err();
    cache.invalidate();
    script.failing(false);
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 6);
}

#[tokio::test]
async fn a_refusal_held_past_the_clocks_range_lasts_until_invalidated() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(3600));
    let options = CacheOptions::default().with_max_retry_delay(Duration::MAX);
    let cache = cache_of(&script, options, &clock);
    script.refusing();
    cache.get().await.unwrap_err();
    for _ in 0..10 {
        clock.advance(S(365 * 24 * 3600));
        let again = cache.get().await.unwrap_err();
        assert_eq!(again.oauth_error(), Some("invalid_client"));
    }
    assert_eq!(script.calls(), 1, "held, not asked again");
    script.failing(false);
    cache.invalidate();
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 2);
}

#[tokio::test]
async fn an_expired_token_is_never_handed_out() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(1000));
    let cache = cache_of(&script, CacheOptions::default(), &clock);
    cache.get().await.unwrap();
    script.failing(true);
    clock.advance(S(1001));
    assert!(cache.cached().is_none());
    cache.get().await.unwrap_err();
    script.failing(false);
    cache.get().await.unwrap();
}

#[tokio::test]
async fn invalidate_forces_a_fetch() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(1000));
    let cache = cache_of(&script, CacheOptions::default(), &clock);
    cache.get().await.unwrap();
    cache.invalidate();
    cache.get().await.unwrap();
    assert_eq!(script.calls(), 2);
}

#[tokio::test]
async fn debug_output_hides_tokens() {
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(S(1000));
    let cache = cache_of(&script, CacheOptions::default(), &clock);
    let t = cache.get().await.unwrap();
    assert!(!format!("{t:?} {cache:?}").contains("token-1"));
}

#[tokio::test]
async fn huge_lifetimes_and_delays_never_overflow_the_clock() {
    // A custom source may hand out any lifetime; the cache caps it at MAX_EXPIRES_IN.
    let clock = Arc::new(ManualClock::new());
    let script = Scripted::new(Duration::MAX);
    let options = CacheOptions::default().with_retry_delay(Duration::MAX);
    let cache = cache_of(&script, options, &clock);
    let first = cache.get().await.unwrap();
    assert_eq!(first.expires_in(), hsmjwt_oauth::MAX_EXPIRES_IN);
    let status = cache.status().unwrap();
    assert_eq!(status.expires_in, hsmjwt_oauth::MAX_EXPIRES_IN);
    // Stale after 90 % of the 10 years; a failed refresh keeps the token and waits until
    // expiry (the retry delay is beyond the clock's range).
    clock.advance(hsmjwt_oauth::MAX_EXPIRES_IN.mul_f64(0.95));
    script.failing(true);
    assert!(Arc::ptr_eq(&cache.get().await.unwrap(), &first));
    assert!(Arc::ptr_eq(&cache.get().await.unwrap(), &first));
    assert_eq!(script.calls(), 2);
}
