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
    delay: Duration,
}

impl Scripted {
    fn new(lifetime: Duration) -> Self {
        Scripted {
            lifetime,
            calls: Arc::default(),
            fail: Arc::default(),
            delay: Duration::ZERO,
        }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn failing(&self, fail: bool) {
        self.fail.store(fail, Ordering::SeqCst);
    }

    fn source(&self) -> impl hsmjwt_oauth::TokenSource + use<> {
        let me = self.clone();
        move || {
            let me = me.clone();
            async move {
                let n = me.calls.fetch_add(1, Ordering::SeqCst) + 1;
                tokio::time::sleep(me.delay).await;
                if me.fail.load(Ordering::SeqCst) {
                    return Err(Error::Endpoint {
                        url: "scripted".into(),
                        status: 503,
                        error: Some("temporarily_unavailable".into()),
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
    // IMS is back.
    script.failing(false);
    clock.advance(S(11));
    let t = cache.get().await.unwrap();
    assert_eq!(t.secret().expose_secret(), "token-4");
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
