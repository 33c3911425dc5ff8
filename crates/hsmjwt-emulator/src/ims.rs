//! The IMS emulator: a running server and its handle.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::{get, post};

use crate::client_auth::{ReplayCache, lock};
use crate::config::{EmulatorConfig, Endpoint, Fault, Integration};
use crate::error::Result;
use crate::handlers;
use crate::response::not_found;
use crate::server::{Bound, Running};

/// What the handlers share.
pub(crate) struct Shared {
    pub(crate) config: EmulatorConfig,
    /// The emulator's own base URLs (`http://127.0.0.1:PORT`, `http://localhost:PORT`): the
    /// audiences a client assertion may name.
    pub(crate) base_urls: Vec<String>,
    pub(crate) integrations: HashMap<String, Integration>,
    pub(crate) faults: Mutex<VecDeque<Fault>>,
    pub(crate) counters: [AtomicUsize; Endpoint::COUNT],
    pub(crate) issued: AtomicUsize,
    pub(crate) replay: ReplayCache,
}

/// A running IMS emulator. Dropping it stops the server.
pub struct Emulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    running: Running,
}

impl fmt::Debug for Emulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Emulator")
            .field("addr", &self.addr)
            .field("integrations", &self.shared.integrations.len())
            .finish_non_exhaustive()
    }
}

/// Binds the configured address and builds the app.
fn prepare(config: EmulatorConfig) -> Result<(Bound, Arc<Shared>, Router)> {
    let bound = Bound::new(config.listen)?;
    let addr = bound.addr();
    let mut base_urls = vec![format!("http://{addr}")];
    if addr.ip().is_loopback() {
        base_urls.push(format!("http://localhost:{}", addr.port()));
    }
    let integrations = config
        .integrations
        .iter()
        .map(|i| (i.client_id.clone(), i.clone()))
        .collect();
    let shared = Arc::new(Shared {
        config,
        base_urls,
        integrations,
        faults: Mutex::new(VecDeque::new()),
        counters: Default::default(),
        issued: AtomicUsize::new(0),
        replay: ReplayCache::default(),
    });
    let app = Router::new()
        .route("/ims/exchange/jwt", post(handlers::jwt_exchange))
        .route("/ims/token/v3", post(handlers::token_v3))
        .route("/oauth/token", post(handlers::oauth_token))
        .route("/health", get(|| async { "ok" }))
        .fallback(|| async { not_found() })
        .with_state(shared.clone());
    Ok((bound, shared, app))
}

impl Emulator {
    /// Starts the server on the current tokio runtime.
    ///
    /// # Errors
    /// [`crate::Error::NotLoopback`] or [`crate::Error::Listen`] when the address cannot be
    /// used.
    pub async fn start(config: EmulatorConfig) -> Result<Self> {
        let (bound, shared, app) = prepare(config)?;
        let addr = bound.addr();
        let running = Running::spawn(bound, app, "IMS emulator")?;
        Ok(Emulator {
            addr,
            shared,
            running,
        })
    }

    /// Starts the server on a thread of its own (for synchronous callers and tests that
    /// run other processes). Dropping the handle stops the server and joins the thread.
    ///
    /// # Errors
    /// As [`Emulator::start`], and [`crate::Error::Start`] when the thread cannot start.
    pub fn start_background(config: EmulatorConfig) -> Result<Self> {
        let (bound, shared, app) = prepare(config)?;
        let addr = bound.addr();
        let running = Running::thread(bound, app, "IMS emulator")?;
        Ok(Emulator {
            addr,
            shared,
            running,
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`: the base URL for IMS clients (`--ims-url`).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `http://127.0.0.1:PORT/oauth/token`: the generic token endpoint.
    pub fn token_endpoint(&self) -> String {
        format!("{}/oauth/token", self.base_url())
    }

    /// Queues a fault: the next request to a token endpoint without an earlier queued
    /// fault takes it.
    pub fn push_fault(&self, fault: Fault) {
        lock(&self.shared.faults).push_back(fault);
    }

    /// Queues `n` copies of a fault.
    pub fn push_faults(&self, n: usize, fault: &Fault) {
        let mut q = lock(&self.shared.faults);
        for _ in 0..n {
            q.push_back(fault.clone());
        }
    }

    /// Faults still queued.
    pub fn pending_faults(&self) -> usize {
        lock(&self.shared.faults).len()
    }

    /// Requests received by `endpoint` (faulted ones included).
    pub fn requests(&self, endpoint: Endpoint) -> usize {
        self.shared.counters[endpoint.index()].load(Ordering::SeqCst)
    }

    /// Access tokens issued.
    pub fn tokens_issued(&self) -> usize {
        self.shared.issued.load(Ordering::SeqCst)
    }

    /// Resets the request counters.
    pub fn reset_counters(&self) {
        for c in &self.shared.counters {
            c.store(0, Ordering::SeqCst);
        }
    }

    /// Stops the server and waits for it (at most a short grace period for requests in
    /// progress).
    pub async fn shutdown(self) {
        self.running.shutdown().await;
    }

    /// Waits until the server stops (it stops only when the handle is dropped or shut
    /// down, so this is for a process that serves until it is interrupted; race it with
    /// a signal).
    pub async fn stopped(&mut self) {
        self.running.stopped().await;
    }
}
