//! A bounded pool of PKCS#11 sessions on one slot.
//!
//! A [`Session`] is `Send` but not `Sync`, and one session runs one operation at a time
//! (`CKR_OPERATION_ACTIVE` otherwise). Each signing thread checks a session out, uses it
//! alone, and returns it; when all are busy it waits on a condition variable.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use cryptoki::context::Pkcs11;
use cryptoki::session::Session;
use cryptoki::slot::Slot;

use crate::error::{Error, Result};

struct State {
    idle: Vec<Session>,
    /// Sessions that exist: idle plus checked out (plus ones being opened).
    open: usize,
}

/// Sessions on one slot, at most `max` at once.
pub(crate) struct Pool {
    ctx: Pkcs11,
    slot: Slot,
    token: String,
    max: usize,
    state: Mutex<State>,
    available: Condvar,
    /// Set when the module's loading these sessions belong to was finalized: they are then
    /// forgotten, never closed (their handles may name sessions of the next loading).
    finalized: Arc<AtomicBool>,
}

impl Pool {
    pub(crate) fn new(
        ctx: Pkcs11,
        slot: Slot,
        token: &str,
        max: usize,
        finalized: Arc<AtomicBool>,
    ) -> Self {
        Pool {
            finalized,
            ctx,
            slot,
            token: token.to_owned(),
            max: max.max(1),
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            available: Condvar::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn open_session(&self) -> Result<Session> {
        tracing::debug!(token = %self.token, slot = self.slot.id(), "opening PKCS#11 session");
        self.ctx
            .open_ro_session(self.slot)
            .map_err(|e| Error::pkcs11("C_OpenSession", &self.token, e))
    }

    /// Takes an idle session, opens a new one while under the limit, or waits for one.
    pub(crate) fn checkout(&self) -> Result<Lease<'_>> {
        let mut state = self.lock();
        loop {
            if let Some(session) = state.idle.pop() {
                return Ok(Lease {
                    pool: self,
                    session: Some(session),
                });
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match self.open_session() {
                    Ok(session) => Ok(Lease {
                        pool: self,
                        session: Some(session),
                    }),
                    Err(e) => {
                        self.forget_one();
                        Err(e)
                    }
                };
            }
            state = self
                .available
                .wait(state)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Closes a session (`C_CloseSession`), unless its module was finalized since: then
    /// the handle is only forgotten.
    fn close(&self, session: Session) {
        if self.finalized.load(Ordering::SeqCst) {
            std::mem::forget(session);
        } else {
            drop(session);
        }
    }

    fn forget_one(&self) {
        let mut state = self.lock();
        state.open = state.open.saturating_sub(1);
        drop(state);
        self.available.notify_one();
    }

    fn give_back(&self, session: Session) {
        self.lock().idle.push(session);
        self.available.notify_one();
    }
}

/// A session checked out of a [`Pool`]; it goes back on drop.
pub(crate) struct Lease<'p> {
    pool: &'p Pool,
    session: Option<Session>,
}

impl Lease<'_> {
    /// The session, or `None` when it was lost and could not be reopened.
    pub(crate) fn session(&self) -> Result<&Session> {
        self.session.as_ref().ok_or_else(|| {
            Error::InvalidRequest("internal: the pooled session was lost".to_owned())
        })
    }

    /// Replaces a session the token no longer knows with a new one.
    ///
    /// The dead handle is not closed: the token may already have given its number to
    /// another session, which closing it would kill.
    pub(crate) fn reopen(&mut self) -> Result<&Session> {
        if let Some(dead) = self.session.take() {
            std::mem::forget(dead);
        }
        let session = self.pool.open_session()?;
        Ok(self.session.insert(session))
    }

    /// Closes the session (`C_CloseSession`) and opens a new one, for a session the token
    /// still knows but may have left in an unknown state (an operation still active).
    pub(crate) fn renew(&mut self) -> Result<&Session> {
        if let Some(old) = self.session.take() {
            self.pool.close(old);
        }
        let session = self.pool.open_session()?;
        Ok(self.session.insert(session))
    }

    /// Closes the session instead of giving it back: an operation may still be active on
    /// it. The pool opens a new one when it is needed.
    pub(crate) fn discard(mut self) {
        if let Some(old) = self.session.take() {
            self.pool.close(old);
        }
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        let idle = std::mem::take(&mut self.lock().idle);
        for session in idle {
            self.close(session);
        }
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        match self.session.take() {
            Some(session) => self.pool.give_back(session),
            None => self.pool.forget_one(),
        }
    }
}
