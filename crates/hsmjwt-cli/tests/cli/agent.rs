//! `hsmjwt agent`: `check`, the running agent as a process (with the IMS emulator on
//! 127.0.0.1 and a key file), `agent token` and `agent sign` as scripts use them, `curl
//! --unix-socket` where curl is installed, SIGHUP with a good and a bad configuration, and
//! SIGTERM.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hsmjwt::soft::{KeySpec, PrivateKey};

use crate::ims::{CLIENT_ID, aem_json, emulator_for};
use crate::{hsmjwt_with, json, p};

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    socket: PathBuf,
    _emulator: hsmjwt_emulator::Emulator,
    text: String,
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let key = PrivateKey::generate(KeySpec::Rsa(2048)).unwrap();
    let key_pem = dir.path().join("key.pem");
    key.write_pkcs8_pem(&key_pem, true).unwrap();
    let creds = dir.path().join("aem.json");
    std::fs::write(
        &creds,
        aem_json(
            None,
            &key.public_key().to_spki_pem(),
            "p8e-agent-cli-secret",
        ),
    )
    .unwrap();
    let emulator = emulator_for(&[&creds]);
    let socket = dir.path().join("agent.sock");
    let text = format!(
        r#"[listen]
unix = "{socket}"

[keys.k]
key = "{key}"

[tokens.aem]
source = "ims-jwt"
credentials = "{creds}"
key = "k"
ims_url = "{ims}"

[tokens.api]
source = "oauth"
token_endpoint = "{endpoint}"
client_id = "{CLIENT_ID}"
key = "k"

[profiles.service]
key = "k"
iss = "https://idp.example"
audiences = ["adobe"]
max_ttl = "5m"
claims = ["name"]
kid = "thumbprint"
"#,
        socket = socket.display(),
        key = key_pem.display(),
        creds = creds.display(),
        ims = emulator.base_url(),
        endpoint = emulator.token_endpoint(),
    );
    let config = dir.path().join("agent.toml");
    std::fs::write(&config, &text).unwrap();
    Setup {
        dir,
        config,
        socket,
        _emulator: emulator,
        text,
    }
}

/// The running agent, killed if the test ends before it stops.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(s: &Setup) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_hsmjwt"))
        .args(["agent", "--config", p(&s.config)])
        .env_remove("HSMJWT_PIN")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while std::os::unix::net::UnixStream::connect(&s.socket).is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "the agent did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    Running(child)
}

fn signal(agent: &Running, name: &str) {
    let status = Command::new("kill")
        .args(["-s", name, &agent.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn client(s: &Setup, args: &[&str]) -> crate::Run {
    let mut all = args.to_vec();
    all.extend(["--socket", p(&s.socket)]);
    hsmjwt_with(&all, None, &[])
}

#[test]
fn agent_check_names_what_is_wrong() {
    let s = setup();
    let out = hsmjwt_with(&["agent", "check", "--config", p(&s.config)], None, &[]).ok();
    assert!(out.contains("ok (1 keys, 2 tokens, 1 profiles"), "{out}");
    let bad = s.dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        s.text.replace("key = \"k\"\niss", "key = \"missing\"\niss"),
    )
    .unwrap();
    let line = hsmjwt_with(&["agent", "check", "--config", p(&bad)], None, &[]).fails();
    assert!(
        line.contains("profiles.service.key: no key `missing` in [keys]"),
        "{line}"
    );
    std::fs::write(
        &bad,
        s.text
            .replace("[tokens.api]", "[tokens.api]\nclient_secret = \"hunter2\""),
    )
    .unwrap();
    let run = hsmjwt_with(&["agent", "check", "--config", p(&bad)], None, &[]);
    let all = format!("{}{}", run.stdout(), run.stderr());
    let line = run.fails();
    assert!(
        line.contains("tokens.api.client_secret: a secret in clear"),
        "{line}"
    );
    assert!(!all.contains("hunter2"), "{all}");
    let line = hsmjwt_with(
        &["agent", "check", "--config", "/nonexistent/agent.toml"],
        None,
        &[],
    )
    .fails();
    assert!(line.contains("/nonexistent/agent.toml"), "{line}");
}

#[test]
fn the_agent_runs_reloads_and_stops() {
    let s = setup();
    let agent = start(&s);
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&s.socket).unwrap().permissions().mode() & 0o777,
        0o660
    );

    // Scripts: the access token, and a JWT under the profile.
    let token = client(&s, &["agent", "token", "aem"]).ok();
    assert!(!token.trim().is_empty());
    let answer = json(&client(&s, &["agent", "token", "api", "--json"]).ok());
    assert!(answer["expires_in"].as_u64().unwrap() > 0, "{answer}");
    let jwt = client(
        &s,
        &[
            "agent", "sign", "service", "--sub", "svc", "--aud", "adobe", "--ttl", "60s",
            "--claim", "name=Svc",
        ],
    )
    .ok();
    let shown = json(&hsmjwt_with(&["decode", jwt.trim()], None, &[]).ok());
    assert_eq!(shown["claims"]["name"], "Svc", "{shown}");
    assert_eq!(shown["claims"]["iss"], "https://idp.example", "{shown}");
    let line = client(
        &s,
        &["agent", "sign", "service", "--sub", "svc", "--aud", "evil"],
    )
    .fails();
    assert!(line.contains("403") && line.contains("aud"), "{line}");
    let line = client(&s, &["agent", "token", "nope"]).fails();
    assert!(
        line.contains("404") && line.contains("no token `nope`"),
        "{line}"
    );

    // curl, where it is installed.
    if Path::new("/usr/bin/curl").is_file() {
        let out = Command::new("curl")
            .args(["-s", "--unix-socket", p(&s.socket), "http://agent/v1/jwks"])
            .output()
            .unwrap();
        let jwks = json(&String::from_utf8_lossy(&out.stdout));
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 1, "{jwks}");
    }

    // SIGHUP with a bad configuration: logged, the old one serves on.
    std::fs::write(
        &s.config,
        s.text.replace("max_ttl = \"5m\"", "max_ttl = \"never\""),
    )
    .unwrap();
    signal(&agent, "HUP");
    std::thread::sleep(Duration::from_millis(300));
    let line = client(
        &s,
        &[
            "agent", "sign", "service", "--sub", "svc", "--aud", "adobe", "--ttl", "10m",
        ],
    )
    .fails();
    assert!(line.contains("ttl"), "{line}");
    assert!(
        !client(&s, &["agent", "token", "aem"])
            .ok()
            .trim()
            .is_empty()
    );
    // SIGHUP with a good one: the new max_ttl applies.
    std::fs::write(
        &s.config,
        s.text.replace("max_ttl = \"5m\"", "max_ttl = \"20m\""),
    )
    .unwrap();
    signal(&agent, "HUP");
    let started = Instant::now();
    loop {
        let run = client(
            &s,
            &[
                "agent", "sign", "service", "--sub", "svc", "--aud", "adobe", "--ttl", "10m",
            ],
        );
        if run.out.status.success() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "not reloaded: {}",
            run.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // SIGTERM: exit 0, the socket removed, the reload failure logged on the way.
    signal(&agent, "TERM");
    let mut agent = agent;
    let started = Instant::now();
    let status = loop {
        if let Some(status) = agent.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the agent did not stop"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(agent.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(!s.socket.exists());
    assert!(
        stderr.contains("not reloaded") && stderr.contains("never"),
        "{stderr}"
    );
    // Audited, one line per token and signature, with no token or secret in the log.
    assert!(
        stderr.contains("access token handed out") && stderr.contains("JWT signed"),
        "{stderr}"
    );
    assert!(
        stderr.contains("claims_sha256=") && stderr.contains("aud=adobe"),
        "{stderr}"
    );
    for secret in [token.trim(), jwt.trim(), "p8e-agent-cli-secret"] {
        assert!(!stderr.contains(secret), "a secret is in the log: {stderr}");
    }
}
