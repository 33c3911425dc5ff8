//! No output of any command shows a PIN or a client secret: every command that takes a key
//! or a client secret runs with a `pin-value` PIN and a client secret (from its environment
//! variable or a credentials file), when it succeeds and when it fails (a wrong PIN, an
//! endpoint nobody listens on), at the default log level, with `-vvv` and with
//! `HSMJWT_LOG=debug`. The hints and warnings about PINs are checked here too.

use std::path::PathBuf;

use hsmjwt_emulator::authz::{
    AuthorizationServer, AuthorizationServerConfig, RegisteredAuth, RegisteredClient,
};
use hsmjwt_testkit::net::RefusingPort;
use hsmjwt_testkit::softhsm::{self, Builder, SoftHsm};

use crate::ims::{CLIENT_ID, aem_json, console_json, emulator_for};
use crate::{Run, hsmjwt_with, p};

/// The token's PIN, distinctive enough that no other output contains it by chance.
const PIN: &str = "pin-4711-secret";
/// A wrong PIN, as distinctive.
const WRONG_PIN: &str = "pin-4712-wrong";
/// The client secret of every client here.
const SECRET: &str = "client-secret-4711-xyz";
/// The variable the commands read the client secret from.
const SECRET_ENV: &str = "CLI_SECRETS_TEST_SECRET";
const TOKEN: &str = "cli-secrets";
const S2S_ID: &str = "cli-secrets-s2s";

/// The ways the commands run: the default log level, the most verbose flag, the variable.
const LOG_LEVELS: [(&[&str], Option<&str>); 3] =
    [(&[], None), (&["-vvv"], None), (&[], Some("debug"))];

/// What a run is expected to do.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Success,
    Failure,
    /// `credentials check` finds a problem: it prints its report and exits 1.
    Problem,
}

struct Setup {
    hsm: SoftHsm,
    /// AEM service credentials (the client secret in it) for the HSM key.
    aem: PathBuf,
    /// A Developer Console project with an OAuth server-to-server client (the secret in it).
    console: PathBuf,
}

impl Setup {
    fn new() -> Option<Self> {
        let installation = softhsm::installed_or_skip()?;
        let hsm = Builder::new(installation)
            .token(TOKEN)
            .pin(PIN)
            .build()
            .unwrap();
        let cert = hsm
            .import_key_with_certificate(TOKEN, "tool-rsa", "0a")
            .unwrap();
        let setup = Setup {
            aem: hsm.root().join("aem.json"),
            console: hsm.root().join("console.json"),
            hsm,
        };
        let cert = std::fs::read_to_string(cert).unwrap();
        std::fs::write(&setup.aem, aem_json(None, &cert, SECRET)).unwrap();
        std::fs::write(&setup.console, console_json(S2S_ID, SECRET)).unwrap();
        Some(setup)
    }

    /// Runs `hsmjwt` with the fixture's environment, the client secret's variable and, when
    /// given, `HSMJWT_LOG`.
    fn run(&self, args: &[&str], flags: &[&str], log: Option<&str>) -> Run {
        let mut env: Vec<(&str, &str)> = self
            .hsm
            .env()
            .into_iter()
            .map(|(name, value)| (name, value.to_str().unwrap()))
            .collect();
        env.push((SECRET_ENV, SECRET));
        env.extend(log.map(|level| ("HSMJWT_LOG", level)));
        let args: Vec<&str> = flags.iter().chain(args).copied().collect();
        hsmjwt_with(&args, None, &env)
    }

    /// Runs the command at every log level, checks that it succeeds or fails as expected
    /// and that neither PIN nor the client secret shows in any output.
    fn check(&self, args: &[&str], expect: Expect) {
        for (flags, log) in LOG_LEVELS {
            let run = self.run(args, flags, log);
            let all = format!("{}{}", run.stdout(), run.stderr());
            for secret in [PIN, WRONG_PIN, SECRET] {
                assert!(
                    !all.contains(secret),
                    "{args:?} {flags:?} HSMJWT_LOG={log:?} printed `{secret}`:\n{all}"
                );
            }
            expect.check(run, flags.is_empty() && log.is_none());
        }
    }
}

impl Setup {
    /// [`Setup::check`] with the text output and, for a success, with `--json` too (a
    /// failure prints the same line either way).
    fn check_text_and_json(&self, args: &[&str], expect: Expect) {
        self.check(args, expect);
        if expect == Expect::Success {
            self.check(&[args, &["--json"]].concat(), expect);
        }
    }
}

impl Expect {
    /// Checks that `run` did as expected; a failure at the default log level is one line.
    fn check(self, run: Run, default_level: bool) {
        match self {
            Expect::Success => drop(run.ok()),
            Expect::Failure if default_level => drop(run.fails()),
            Expect::Problem => {
                assert_eq!(run.out.status.code(), Some(1), "{}", run.stderr());
                assert!(run.stdout().contains("problem"), "{}", run.stdout());
            }
            Expect::Failure => {
                assert_eq!(run.out.status.code(), Some(1), "{}", run.stderr());
                assert!(
                    run.stderr().lines().any(|l| l.starts_with("error: ")),
                    "{}",
                    run.stderr()
                );
            }
        }
    }
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// The URI of the token's key with `pin` in it.
fn key(pin: &str) -> String {
    format!("pkcs11:token={TOKEN};object=tool-rsa?pin-value={pin}")
}

#[test]
fn no_command_prints_a_pin_or_a_client_secret() {
    let Some(s) = Setup::new() else { return };
    let (good, wrong) = (key(PIN), key(WRONG_PIN));
    let emu = emulator_for(&[&s.aem, &s.console]);
    let ims_url = emu.base_url();
    let token_endpoint = emu.token_endpoint();
    // A loopback port held, not listening, for the whole test: connections are refused.
    let refusing = RefusingPort::new().unwrap();
    let nowhere = refusing.url();
    let nowhere_token = format!("{nowhere}/token");
    use Expect::{Failure, Problem, Success};

    // Keys: sign, verify, pubkey, bench, service-token, keygen, hsm list.
    let token = s
        .run(&["sign", "--key", &good, "--aud", "you"], &[], None)
        .ok();
    let token = token.trim();
    for (k, expect) in [(&good, Success), (&wrong, Failure)] {
        s.check(&["sign", "--key", k, "--aud", "you"], expect);
        s.check(&["verify", "--key", k, "--aud", "you", token], expect);
        s.check(&["pubkey", "--key", k, "--format", "jwk"], expect);
        s.check(&["bench", "--key", k, "--seconds", "0.1"], expect);
        s.check(
            &["service-token", "--key", k, "--iss", "i", "--sub", "s"],
            expect,
        );
    }
    for (i, (pin, expect)) in [(PIN, Success), (WRONG_PIN, Failure)].iter().enumerate() {
        for (flags, log) in LOG_LEVELS {
            // A new key each time: a label is taken once.
            let label = format!("new-{i}-{}-{}", flags.len(), log.is_some());
            let uri = format!("pkcs11:token={TOKEN};object={label}?pin-value={pin}");
            let run = s.run(&["keygen", "--alg", "ES256", "--key", &uri], flags, log);
            let all = format!("{}{}", run.stdout(), run.stderr());
            assert!(!all.contains(pin) && !all.contains(SECRET), "{all}");
            expect.check(run, flags.is_empty() && log.is_none());
        }
    }
    for (pin, expect) in [(PIN, Success), (WRONG_PIN, Failure)] {
        let uri = format!("pkcs11:token={TOKEN}?pin-value={pin}");
        s.check_text_and_json(&["hsm", "list", "--token", &uri], expect);
    }

    // Exchanges: ims jwt and credentials check (the secret in the file), ims token and
    // oauth token (the secret in the variable, or the key).
    let aem = p(&s.aem);
    for (k, url, expect) in [
        (&good, &ims_url, Success),
        (&wrong, &ims_url, Failure),
        (&good, &nowhere, Failure),
    ] {
        let args = [
            "ims",
            "jwt",
            "--credentials",
            aem,
            "--key",
            k,
            "--ims-url",
            url,
        ];
        s.check_text_and_json(&args, expect);
    }
    for (k, expect) in [(&good, Success), (&wrong, Problem)] {
        s.check(
            &["credentials", "check", "--credentials", aem, "--key", k],
            expect,
        );
    }
    let console = p(&s.console);
    for (url, expect) in [(&ims_url, Success), (&nowhere, Failure)] {
        let args = ["ims", "token", "--credentials", console, "--ims-url", url];
        s.check(&args, expect);
        let args = [
            "ims",
            "token",
            "--client-id",
            S2S_ID,
            "--client-secret-env",
            SECRET_ENV,
            "--scopes",
            "openid",
            "--ims-url",
            url,
        ];
        s.check_text_and_json(&args, expect);
    }
    let oauth = |endpoint: &str, client: &str| {
        [
            "oauth",
            "token",
            "--token-endpoint",
            endpoint,
            "--client-id",
            client,
        ]
        .map(str::to_owned)
    };
    for (endpoint, expect) in [(&token_endpoint, Success), (&nowhere_token, Failure)] {
        for auth in ["client-secret-post", "client-secret-basic"] {
            let mut args = oauth(endpoint, S2S_ID).to_vec();
            args.extend(["--client-secret-env", SECRET_ENV, "--auth", auth].map(str::to_owned));
            s.check_text_and_json(&strs(&args), expect);
        }
    }
    for (k, endpoint, expect) in [
        (&good, &token_endpoint, Success),
        (&wrong, &token_endpoint, Failure),
        (&good, &nowhere_token, Failure),
    ] {
        let mut args = oauth(endpoint, CLIENT_ID).to_vec();
        args.extend(["--key", k].map(str::to_owned));
        s.check(&strs(&args), expect);
    }

    // JAR: by value with the key; pushed with the client secret or with the key as the
    // client's authentication key.
    let jwk = s
        .run(&["pubkey", "--key", &good, "--format", "jwk"], &[], None)
        .ok();
    let jwk = hsmjwt::Jwk::from_json(jwk.as_bytes()).unwrap();
    let issuer = "https://as.example/";
    let servers = [
        RegisteredAuth::Secret(SECRET.into()),
        RegisteredAuth::PrivateKeyJwt(jwk.clone()),
    ]
    .map(|auth| {
        AuthorizationServer::start_background(AuthorizationServerConfig::new(issuer).with_client(
            RegisteredClient {
                client_id: CLIENT_ID.into(),
                request_object_key: jwk.clone(),
                auth,
                redirect_uris: vec!["https://app.example/cb".into()],
            },
        ))
        .unwrap()
    });
    let jar = |k: &str| {
        vec![
            "jar".to_owned(),
            "--key".to_owned(),
            k.to_owned(),
            "--client-id".to_owned(),
            CLIENT_ID.to_owned(),
            "--issuer".to_owned(),
            issuer.to_owned(),
            "--redirect-uri".to_owned(),
            "https://app.example/cb".to_owned(),
        ]
    };
    for (k, expect) in [(&good, Success), (&wrong, Failure)] {
        let mut args = jar(k);
        args.extend(["--authorize-endpoint", "https://as.example/authorize"].map(str::to_owned));
        s.check(&strs(&args), expect);
    }
    let nowhere_par = format!("{nowhere}/par");
    for (par, expect) in [
        (servers[0].par_endpoint(), Success),
        (nowhere_par.clone(), Failure),
    ] {
        let mut args = jar(&good);
        args.extend(["--par-endpoint", &par, "--auth", "client-secret-post"].map(str::to_owned));
        args.extend(["--client-secret-env", SECRET_ENV].map(str::to_owned));
        s.check(&strs(&args), expect);
    }
    for (k, par, expect) in [
        (&good, servers[1].par_endpoint(), Success),
        (&wrong, servers[1].par_endpoint(), Failure),
        (&good, nowhere_par, Failure),
    ] {
        // Both keys are the token's: the process logs in once, with the first key's PIN.
        let mut args = jar(k);
        args.extend(["--par-endpoint", &par, "--auth-key", k].map(str::to_owned));
        s.check(&strs(&args), expect);
    }
}

#[test]
fn the_no_pin_hint_puts_pin_source_and_the_variable_before_pin_value() {
    let Some(s) = Setup::new() else { return };
    let line = s
        .run(
            &[
                "sign",
                "--key",
                &format!("pkcs11:token={TOKEN};object=tool-rsa"),
            ],
            &[],
            None,
        )
        .fails();
    let at = |needle: &str| {
        line.find(needle)
            .unwrap_or_else(|| panic!("{needle}: {line}"))
    };
    assert!(at("pin-source=file:") < at("pin-value="), "{line}");
    assert!(at("HSMJWT_PIN") < at("pin-value="), "{line}");
    assert!(
        line.contains("`ps`"),
        "the hint says why not pin-value: {line}"
    );
}

#[test]
fn a_pin_file_others_may_read_draws_one_warning_line() {
    use std::os::unix::fs::PermissionsExt;
    let Some(s) = Setup::new() else { return };
    let pin_file = s.hsm.root().join("pin");
    std::fs::write(&pin_file, format!("{PIN}\n")).unwrap();
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let uri = format!(
        "pkcs11:token={TOKEN};object=tool-rsa?pin-source=file:{}",
        p(&pin_file)
    );
    let warning = format!(
        "warning: PIN file `{0}` may be read by other users (mode 0644); restrict it with `chmod 600 {0}`",
        p(&pin_file)
    );
    let run = s.run(&["sign", "--key", &uri], &[], None);
    assert_eq!(run.stderr().trim_end(), warning);
    run.ok();
    // A failure is still one error line, beside the warning.
    let run = s.run(&["sign", "--key", &uri, "--alg", "ES256"], &[], None);
    assert!(run.stderr().starts_with(&warning), "{}", run.stderr());
    run.fails();
    // Once protected, no warning.
    std::fs::set_permissions(&pin_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = s.run(&["sign", "--key", &uri], &[], None);
    assert_eq!(run.stderr(), "");
    run.ok();
}

#[test]
fn a_pin_file_that_never_ends_is_refused() {
    let Some(s) = Setup::new() else { return };
    let env: Vec<(&str, &str)> = s
        .hsm
        .env()
        .into_iter()
        .map(|(name, value)| (name, value.to_str().unwrap()))
        .collect();
    let uri = format!("pkcs11:token={TOKEN};object=tool-rsa?pin-source=file:/dev/zero");
    let run = crate::hsmjwt_bounded(
        &["sign", "--key", &uri],
        None,
        &env,
        std::time::Duration::from_secs(3),
    );
    assert_eq!(
        run.fails(),
        "error: PIN file `/dev/zero` is larger than the 4 KiB limit for PIN files"
    );
}
