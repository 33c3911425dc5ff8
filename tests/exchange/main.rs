//! The OAuth and IMS clients (`hsmjwt-oauth`, `hsmjwt-ims`), the token cache and the
//! credential parsers, against the test servers of `hsmjwt-emulator` on 127.0.0.1; and the
//! same flows with a key in SoftHSM2. Every server is stopped when its handle drops.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod cache;
mod credentials;
mod errors;
mod exchange;
mod oauth;
mod par;
mod retries;
mod softhsm;
mod support;
