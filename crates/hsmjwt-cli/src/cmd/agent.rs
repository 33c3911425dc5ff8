//! `hsmjwt agent ...`: run the agent (`hsmjwt-agent`), check its configuration, and ask it
//! for a token or a JWT from a script.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hsmjwt_agent::client::{Method, request};
use hsmjwt_agent::server::Control;
use hsmjwt_agent::{Agent, Config};
use serde_json::{Map, Value, json};

/// The socket `agent token` and `agent sign` use without --socket or $HSMJWT_AGENT_SOCKET.
const DEFAULT_SOCKET: &str = "/run/hsmjwt/agent.sock";

/// How long requests in flight may take to finish when the agent stops.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// `hsmjwt agent`: run it (with --config), or one of its subcommands.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub(crate) struct AgentArgs {
    /// The configuration file (TOML): run the agent until SIGTERM or Ctrl-C; SIGHUP
    /// reloads it.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    #[command(subcommand)]
    pub(crate) command: Option<AgentCommand>,
}

/// What `hsmjwt agent` does besides running.
#[derive(Debug, Subcommand)]
pub(crate) enum AgentCommand {
    /// Check a configuration: parse it, open every key, set up every token source; exit 0
    /// when it would start.
    Check(CheckArgs),
    /// Print an access token the agent keeps fresh.
    #[command(after_help = "\
Example:
  curl -H \"Authorization: Bearer $(hsmjwt agent token aem)\" https://api.example/")]
    Token(TokenArgs),
    /// Print a JWT the agent signs under one of its profiles.
    #[command(after_help = "\
Example:
  hsmjwt agent sign service --sub svc-42 --aud adobe --ttl 60s --claim name=\"Service 42\"")]
    Sign(SignArgs),
}

/// `agent check`.
#[derive(Debug, Args)]
pub(crate) struct CheckArgs {
    /// The configuration file (TOML).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: PathBuf,
}

/// The socket of the client commands.
#[derive(Debug, Args)]
pub(crate) struct SocketArg {
    /// The agent's socket (default $HSMJWT_AGENT_SOCKET, else /run/hsmjwt/agent.sock).
    #[arg(long, value_name = "PATH", env = "HSMJWT_AGENT_SOCKET", default_value = DEFAULT_SOCKET)]
    pub(crate) socket: PathBuf,
}

/// `agent token`.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    /// The token's name (a `[tokens.NAME]` of the configuration).
    pub(crate) name: String,
    #[command(flatten)]
    pub(crate) socket: SocketArg,
    /// Print the agent's whole answer as JSON (token type, expiry) instead of the token.
    #[arg(long)]
    pub(crate) json: bool,
}

/// `agent sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The profile (a `[profiles.NAME]` of the configuration).
    pub(crate) profile: String,
    /// The subject.
    #[arg(long)]
    pub(crate) sub: String,
    /// The audience (one of the profile's; the profile's only one by default).
    #[arg(long)]
    pub(crate) aud: Option<String>,
    /// The lifetime (`60s`, `5m`), at most the profile's max_ttl (its max_ttl by default).
    #[arg(long)]
    pub(crate) ttl: Option<String>,
    /// An extra claim the profile allows, as NAME=VALUE (VALUE read as JSON when it is
    /// JSON, else as a string); repeatable.
    #[arg(long = "claim", value_name = "NAME=VALUE")]
    pub(crate) claims: Vec<String>,
    #[command(flatten)]
    pub(crate) socket: SocketArg,
}

pub(crate) fn run(a: AgentArgs) -> Result<ExitCode> {
    match (a.command, a.config) {
        (Some(AgentCommand::Check(c)), _) => check(&c.config),
        (Some(AgentCommand::Token(t)), _) => token(&t),
        (Some(AgentCommand::Sign(s)), _) => sign(&s),
        (None, Some(config)) => serve(&config),
        (None, None) => {
            bail!("give --config FILE to run the agent, or a subcommand (check, token, sign)")
        }
    }
}

/// The configuration at `path`, built: keys opened, token sources set up.
fn build(path: &Path) -> Result<(Config, Agent)> {
    let config = Config::load(path)?;
    let agent = Agent::build(&config, &hsmjwt_agent::AgentOptions::default())?;
    Ok((config, agent))
}

fn check(path: &Path) -> Result<ExitCode> {
    let (config, agent) = build(path)?;
    super::out(&format!(
        "{}: ok ({} keys, {} tokens, {} profiles; socket {})",
        path.display(),
        config.keys.len(),
        config.tokens.len(),
        config.profiles.len(),
        agent.socket().display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

fn serve(path: &Path) -> Result<ExitCode> {
    let (_, agent) = build(path)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async {
        let (control, rx) = tokio::sync::mpsc::channel(4);
        let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
            .context("cannot listen for SIGHUP")?;
        let mut signals = super::signals::Signals::listen()?;
        let server = tokio::spawn(agent.serve(rx, STOP_GRACE));
        let path = path.to_owned();
        let caught = loop {
            tokio::select! {
                _ = hangup.recv() => {
                    tracing::info!(config = %path.display(), "SIGHUP: reloading the configuration");
                    let p = path.clone();
                    let built = tokio::task::spawn_blocking(move || build(&p)).await;
                    let message = match built {
                        Ok(Ok((_, next))) => Control::Reload(Box::new(next)),
                        Ok(Err(e)) => Control::ReloadFailed(format!("{e:#}")),
                        Err(e) => Control::ReloadFailed(e.to_string()),
                    };
                    if control.send(message).await.is_err() {
                        break None;
                    }
                }
                caught = signals.recv() => break Some(caught?),
            }
        };
        if let Some(caught) = caught {
            tracing::info!(signal = ?caught, "stopping");
        }
        let _ = control.send(Control::Stop).await;
        server.await.context("the agent's task failed")??;
        Ok(ExitCode::SUCCESS)
    })
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn token(a: &TokenArgs) -> Result<ExitCode> {
    let path = hsmjwt_agent::client::token_path(&a.name);
    let reply = runtime()?.block_on(request(&a.socket.socket, Method::GET, &path, None))?;
    let body = reply.ok_json()?;
    if a.json {
        super::out_json(&body)?;
    } else {
        let Some(token) = body["access_token"].as_str() else {
            bail!("the agent's answer has no access_token");
        };
        super::out(token)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn sign(a: &SignArgs) -> Result<ExitCode> {
    let mut claims = Map::new();
    for c in &a.claims {
        let Some((name, value)) = c.split_once('=') else {
            bail!("--claim {c}: expected NAME=VALUE");
        };
        let value = serde_json::from_str::<Value>(value).unwrap_or_else(|_| Value::from(value));
        claims.insert(name.to_owned(), value);
    }
    let mut body = json!({"sub": a.sub, "claims": claims});
    if let Some(aud) = &a.aud {
        body["aud"] = json!(aud);
    }
    if let Some(ttl) = &a.ttl {
        body["ttl"] = json!(ttl);
    }
    let path = hsmjwt_agent::client::sign_path(&a.profile);
    let reply = runtime()?.block_on(request(&a.socket.socket, Method::POST, &path, Some(&body)))?;
    let answer = reply.ok_json()?;
    let Some(token) = answer["token"].as_str() else {
        bail!("the agent's answer has no token");
    };
    super::out(token)?;
    Ok(ExitCode::SUCCESS)
}
