//! Running an axum app on a loopback port until the handle is dropped.
//!
//! Both servers of this crate run through [`Running`]: on the caller's tokio runtime
//! ([`Running::spawn`]) or on a thread with a runtime of its own ([`Running::thread`], for
//! synchronous callers and tests that run other processes). Stopping lets requests in
//! progress finish for a short grace period and cuts the rest, so that a client holding a
//! connection open cannot keep a test's server alive.

use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use tokio::sync::watch;

use crate::error::{Error, Result};

/// How long a stopping server waits for requests in progress before cutting them.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// A bound loopback listener, not serving yet.
pub(crate) struct Bound {
    listener: std::net::TcpListener,
    addr: SocketAddr,
}

impl Bound {
    /// Binds `addr`, which must be a loopback address.
    pub(crate) fn new(addr: SocketAddr) -> Result<Self> {
        if !addr.ip().is_loopback() {
            return Err(Error::NotLoopback { addr });
        }
        let listen = |e: std::io::Error| Error::Listen {
            addr,
            source: Box::new(e),
        };
        let listener = std::net::TcpListener::bind(addr).map_err(listen)?;
        listener.set_nonblocking(true).map_err(listen)?;
        let addr = listener.local_addr().map_err(listen)?;
        Ok(Bound { listener, addr })
    }

    /// The bound address (with the port the system picked for port 0).
    pub(crate) fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A server that runs until [`Running::shutdown`] or until it is dropped.
pub(crate) struct Running {
    stop: watch::Sender<bool>,
    task: Option<tokio::task::JoinHandle<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Serves `app` on the current tokio runtime.
    ///
    /// # Errors
    /// [`Error::Listen`] when the listener cannot join the runtime.
    pub(crate) fn spawn(bound: Bound, app: Router, what: &'static str) -> Result<Self> {
        let addr = bound.addr;
        let listener =
            tokio::net::TcpListener::from_std(bound.listener).map_err(|e| Error::Listen {
                addr,
                source: Box::new(e),
            })?;
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, app, rx, what));
        tracing::info!(%addr, "{what} listening");
        Ok(Running {
            stop,
            task: Some(task),
            thread: None,
        })
    }

    /// Serves `app` on a thread of its own, with a single-threaded runtime.
    ///
    /// # Errors
    /// [`Error::Start`] when the runtime or the thread cannot start, [`Error::Listen`] when
    /// the listener cannot join the runtime.
    pub(crate) fn thread(bound: Bound, app: Router, what: &'static str) -> Result<Self> {
        let addr = bound.addr;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Start {
                what: "runtime",
                source: Box::new(e),
            })?;
        let listener = {
            let _guard = runtime.enter();
            tokio::net::TcpListener::from_std(bound.listener).map_err(|e| Error::Listen {
                addr,
                source: Box::new(e),
            })?
        };
        let (stop, rx) = watch::channel(false);
        let thread = std::thread::Builder::new()
            .name(what.into())
            .spawn(move || runtime.block_on(serve(listener, app, rx, what)))
            .map_err(|e| Error::Start {
                what: "server thread",
                source: Box::new(e),
            })?;
        tracing::info!(%addr, "{what} listening");
        Ok(Running {
            stop,
            task: None,
            thread: Some(thread),
        })
    }

    /// Stops the server and waits for it (at most the grace period for requests in
    /// progress).
    pub(crate) async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        if let Some(thread) = self.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }

    /// Waits until the server stops by itself (it only stops when told to, so this is for a
    /// process that serves until it is interrupted: race it with a signal).
    pub(crate) async fn stopped(&mut self) {
        if let Some(task) = self.task.as_mut() {
            let _ = task.await;
            self.task = None;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
        // A task ends by itself within the grace period: do not block an async context.
        drop(self.task.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Serves `app` until `rx` turns true, then lets requests in progress finish for the grace
/// period and cuts the rest.
async fn serve(
    listener: tokio::net::TcpListener,
    app: Router,
    rx: watch::Receiver<bool>,
    what: &'static str,
) {
    let mut graceful_rx = rx.clone();
    let mut hard_rx = rx;
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = graceful_rx.wait_for(|stop| *stop).await;
    });
    let deadline = async move {
        let _ = hard_rx.wait_for(|stop| *stop).await;
        tokio::time::sleep(SHUTDOWN_GRACE).await;
    };
    tokio::select! {
        r = server.into_future() => {
            if let Err(e) = r {
                tracing::warn!(error = %e, "{what} stopped with an error");
            }
        }
        () = deadline => tracing::debug!("{what} cut requests still in progress"),
    }
}
