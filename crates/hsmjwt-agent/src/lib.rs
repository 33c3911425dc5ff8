//! `hsmjwt agent`: one process holds the keys (files or PKCS#11 tokens) and hands out what
//! local applications need over a Unix socket: fresh access tokens (Adobe IMS, any OAuth
//! server), JWTs minted under a policy, and the public keys.
//!
//! - [`config`]: the TOML configuration, checked (every problem names its table and field);
//! - [`policy`]: what a sign request may ask for under a profile;
//! - [`server`]: the [`Agent`]: keys opened, tokens kept fresh, the HTTP API;
//! - [`client`]: one request to the agent's socket, for scripts and tests.
//!
//! `hsmjwt agent` (the CLI) runs it: it reads the file, handles SIGHUP (a
//! [`server::Control::Reload`] with a newly built [`Agent`], or
//! [`server::Control::ReloadFailed`]) and SIGTERM ([`server::Control::Stop`]).

pub mod client;
pub mod config;
mod error;
mod lanes;
pub mod policy;
pub mod server;

pub use config::Config;
pub use error::Error;
pub use server::{Agent, AgentOptions, Listening};
