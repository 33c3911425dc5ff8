//! The IMS and OAuth clients, the cache and the credential parsers, against the emulator
//! on 127.0.0.1. Every server is stopped when its handle drops.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod credentials;
mod errors;
mod exchange;
mod oauth;
mod par;
mod retries;
mod support;
