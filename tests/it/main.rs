//! Cross-crate integration tests of the `hsmjwt` facade, one module per area.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod hostile;
mod import;
mod interop_jsonwebtoken;
mod interop_p521;
#[path = "../../crates/hsmjwt-soft/tests/common/keys.rs"]
mod keys;
mod profiles;
mod rfc7515;
mod rfc8037;
mod roundtrip;
