//! The token cache (`hsmjwt_oauth::TokenCache`): a hit, from 1 and 2 threads.
//!
//! Group `cache`: `hit-1t` is one thread calling `get()` on a cache holding a fresh token;
//! `hit-2t` is two threads doing so at once, each making the given number of calls, so the
//! time is the latency of one call while another thread hits the same cache.
//!
//! A hit never waits, so the future `get()` returns is polled once with a no-op waker
//! (no executor in the measurement); the benchmark checks that it is ready.

#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used)]

mod common;

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use hsmjwt_oauth::{AccessToken, SecretString, TokenCache, TokenSource};

/// Polls `fut` once; a cache hit is always ready.
fn now_or_never<F: Future>(fut: F) -> F::Output {
    let mut cx = Context::from_waker(Waker::noop());
    match pin!(fut).poll(&mut cx) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a cache hit must not wait"),
    }
}

fn hit<S: TokenSource>(cache: &TokenCache<S>) -> Arc<AccessToken> {
    now_or_never(cache.get()).expect("cached token")
}

fn cache(c: &mut Criterion) {
    let source = || async {
        Ok(AccessToken::new(
            SecretString::from("eyJhbGciOiJSUzI1NiJ9.e30.c2ln".to_owned()),
            Duration::from_secs(24 * 3600),
        ))
    };
    let cache = TokenCache::new(source);
    // Fill it once (the source is ready at once, so is the fetch), then every `get` hits.
    hit(&cache);
    hit(&cache);
    assert_eq!(cache.fetch_count(), 1, "hits must not fetch");

    let mut group = c.benchmark_group("cache");
    group.bench_function("hit-1t", |b| b.iter(|| black_box(hit(&cache))));
    group.bench_function("hit-2t", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            std::thread::scope(|s| {
                for _ in 0..2 {
                    s.spawn(|| {
                        for _ in 0..iters {
                            black_box(hit(&cache));
                        }
                    });
                }
            });
            start.elapsed()
        });
    });
    group.finish();
    assert_eq!(cache.fetch_count(), 1, "hits must not fetch");
}

criterion_group! {
    name = benches;
    config = common::criterion();
    targets = cache
}
criterion_main!(benches);
