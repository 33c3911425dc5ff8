//! What the agent's test binaries share: starting an agent, and the URI of a SoftHSM2 key.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::time::Duration;

use hsmjwt_agent::server::Control;
use hsmjwt_agent::{Agent, AgentOptions, Config};
use hsmjwt_testkit::softhsm::SoftHsm;

/// The control of a running agent and the task that serves it.
pub(crate) type Running = (
    tokio::sync::mpsc::Sender<Control>,
    tokio::task::JoinHandle<Result<(), hsmjwt_agent::Error>>,
);

/// Starts the agent of the configuration `text` with `options` on the current runtime, its
/// socket bound when this returns (no waiting for it to appear); 5 s of grace at the stop.
pub(crate) async fn start(text: &str, options: &AgentOptions) -> Running {
    let config = Config::parse(text).unwrap();
    let listening = Agent::build(&config, options)
        .unwrap()
        .bind()
        .await
        .unwrap();
    let (control, rx) = tokio::sync::mpsc::channel(4);
    let task = tokio::spawn(listening.serve(rx, Duration::from_secs(5)));
    (control, task)
}

/// The `pkcs11:` URI of the key `object` in `token` of `hsm`, through the module at
/// `module`, its PIN in a file (0600) written in `dir`.
pub(crate) fn hsm_key(
    hsm: &SoftHsm,
    token: &str,
    object: &str,
    module: &Path,
    dir: &Path,
) -> String {
    let pin_file = hsm.write_pin_file(&dir.join("pin")).unwrap();
    format!(
        "pkcs11:token={token};object={object}?module-path={}&pin-source={}",
        module.display(),
        pin_file.display()
    )
}
