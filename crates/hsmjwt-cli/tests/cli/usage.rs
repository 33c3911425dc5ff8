//! The CLI as people read it: help texts and examples, exit statuses, completions, man
//! pages, the spelling it accepts (`es256`, `PKCS11:`), `HSMJWT_LOG`, and what `keygen
//! --force`, `verify --cert`, `oauth token --lifetime` and an interrupted `demo` do.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use hsmjwt_testkit::softhsm::{self, Builder, PIN};

use crate::{hsmjwt, hsmjwt_softhsm, hsmjwt_with, json, openssl, p, readme};

/// Every subcommand, nested ones included, as its words.
const COMMANDS: &[&[&str]] = &[
    &[],
    &["keygen"],
    &["pubkey"],
    &["sign"],
    &["verify"],
    &["decode"],
    &["hsm"],
    &["hsm", "list"],
    &["ims"],
    &["ims", "jwt"],
    &["ims", "token"],
    &["ims", "emulator"],
    &["oauth"],
    &["oauth", "token"],
    &["demo"],
    &["bench"],
    &["service-token"],
    &["jar"],
    &["credentials"],
    &["credentials", "check"],
    &["cert"],
    &["cert", "self-signed"],
    &["cert", "csr"],
    &["cert", "show"],
    &["completions"],
    &["man"],
];

/// The subcommands whose help has examples.
const WITH_EXAMPLES: &[&[&str]] = &[
    &["keygen"],
    &["pubkey"],
    &["sign"],
    &["verify"],
    &["hsm", "list"],
    &["ims", "jwt"],
    &["ims", "token"],
    &["ims", "emulator"],
    &["oauth", "token"],
    &["bench"],
    &["service-token"],
    &["jar"],
    &["credentials", "check"],
    &["cert", "self-signed"],
    &["cert", "csr"],
    &["cert", "show"],
    &["completions"],
    &["man"],
];

fn help(words: &[&str], flag: &str) -> String {
    let mut args = words.to_vec();
    args.push(flag);
    hsmjwt(&args).ok()
}

#[test]
fn help_examples_stay_one_command_per_line() {
    for words in COMMANDS {
        for flag in ["--help", "-h"] {
            let text = help(words, flag);
            for line in text.lines() {
                // A reflowed example leaves a `\` inside a line, or two commands on one.
                let backslash = line.trim_end().find('\\');
                assert!(
                    backslash.is_none_or(|i| i == line.trim_end().len() - 1),
                    "{words:?} {flag}: a `\\` inside a line: {line}"
                );
                let commands = line.split_whitespace().filter(|w| *w == "hsmjwt").count();
                assert!(
                    commands <= 1,
                    "{words:?} {flag}: two commands on one line: {line}"
                );
            }
        }
    }
    for words in WITH_EXAMPLES {
        let text = help(words, "--help");
        let mut lines = text.lines().skip_while(|l| !l.starts_with("Example"));
        assert!(lines.next().is_some(), "{words:?} has no examples: {text}");
        let examples: Vec<&str> = lines.take_while(|l| !l.trim().is_empty()).collect();
        assert!(!examples.is_empty(), "{words:?}: {text}");
        let shown = format!("hsmjwt {}", words.join(" "));
        for line in &examples {
            assert!(line.starts_with("  "), "{words:?}: {line}");
        }
        assert!(
            examples.iter().any(|l| l.contains(&shown)),
            "{words:?}: no example of `{shown}`: {examples:#?}"
        );
    }
}

#[test]
fn help_texts_name_the_flags_the_code_uses() {
    // jar authenticates at the PAR endpoint with --auth-key, not with --key.
    let jar = help(&["jar"], "--help");
    let line = jar
        .lines()
        .find(|l| l.contains("- private-key-jwt:"))
        .expect("the private-key-jwt value");
    assert!(line.contains("signed with --auth-key"), "{line}");
    assert!(!jar.contains("signed with --key"), "{jar}");
    let oauth = help(&["oauth", "token"], "--help");
    assert!(
        oauth.contains("A client assertion signed with --key"),
        "{oauth}"
    );
    // Both say which default wins when a secret and a key are given: the secret.
    for text in [&jar, &oauth] {
        assert!(
            text.contains("(default: client-secret-basic with --client-secret-env, else"),
            "{text}"
        );
    }

    // ims token sends no JWT: its --ims-host only says where the request goes.
    let ims_host = |words: &[&str]| {
        let text = help(words, "--help");
        let start = text.find("--ims-host <HOST>").expect("--ims-host");
        let end = text[start..].find("--ims-url <URL>").expect("--ims-url") + start;
        text[start..end].to_owned()
    };
    let token = ims_host(&["ims", "token"]);
    assert!(
        !token.contains("JWT") && !token.contains("credentials"),
        "{token}"
    );
    assert!(token.contains("ims-na1.adobelogin.com"), "{token}");
    assert!(ims_host(&["ims", "jwt"]).contains("JWT"));
    // ...and --client-secret-env goes with --client-id only (the file has its secret).
    let run = hsmjwt(&[
        "ims",
        "token",
        "--credentials",
        "project.json",
        "--client-secret-env",
        "X",
    ]);
    assert_eq!(run.out.status.code(), Some(2), "{}", run.stderr());
    assert!(
        run.stderr().contains("cannot be used with"),
        "{}",
        run.stderr()
    );

    // keygen: --out FILE or --key URI, one of them, in the usage line and its errors.
    let keygen = help(&["keygen"], "--help");
    assert!(
        keygen.contains("Usage: hsmjwt keygen [OPTIONS] --alg <ALG> <--out <FILE>|--key <URI>>"),
        "{keygen}"
    );
    for args in [
        &["keygen", "--alg", "ES256"][..],
        &[
            "keygen",
            "--alg",
            "ES256",
            "--out",
            "k.pem",
            "--key",
            "pkcs11:object=k",
        ],
    ] {
        let run = hsmjwt(args);
        assert_eq!(run.out.status.code(), Some(2), "{}", run.stderr());
        assert!(
            run.stderr()
                .contains("Usage: hsmjwt keygen --alg <ALG> <--out <FILE>|--key <URI>>"),
            "{}",
            run.stderr()
        );
    }

    // hsm list takes the module from --module, the URI or $PKCS11_MODULE, in that order.
    let list = help(&["hsm", "list"], "--help");
    assert!(
        list.contains("(default: the --token URI's module-path, else $PKCS11_MODULE)"),
        "{list}"
    );
    // oauth token's --lifetime bounds the client assertion too, and says the bound.
    assert!(
        oauth.contains("client assertion and of the JWT-bearer assertion")
            && oauth.contains("at most 1h"),
        "{oauth}"
    );
}

#[test]
fn exit_statuses_as_help_and_readme_say() {
    let top = help(&[], "--help");
    let statuses: Vec<&str> = top
        .lines()
        .skip_while(|l| *l != "Exit status:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.parse::<u8>().is_ok())
        .collect();
    assert_eq!(statuses, ["0", "1", "2", "130"], "{top}");
    let readme = readme();
    for (status, meaning) in [
        ("0", "success"),
        ("1", "failure"),
        ("2", "bad arguments"),
        ("130", "interrupted"),
    ] {
        assert!(
            readme
                .lines()
                .any(|l| l.starts_with(&format!("| {status} ")) && l.contains(meaning)),
            "README lacks exit status {status} ({meaning})"
        );
        assert!(top.contains(meaning), "{top}");
    }
    for words in ["hsmjwt completions", "cargo xtask man"] {
        assert!(readme.contains(words), "README lacks `{words}`");
    }

    // 2: clap's usage errors.
    for args in [
        &["sign", "--no-such-flag"][..],
        &["sign"],
        &["keygen", "--alg", "HS256", "--out", "x.pem"],
        &["verify", "--key", "k.pem", "--leeway", "soon", "t"],
        &["no-such-command"],
    ] {
        let run = hsmjwt(args);
        assert_eq!(run.out.status.code(), Some(2), "{args:?}: {}", run.stderr());
        assert!(run.stderr().starts_with("error: "), "{}", run.stderr());
    }
    // 1: a command that ran and failed, with one `error:` line.
    let line = hsmjwt(&["verify", "--key", "/nonexistent/key.pem", "a.b.c"]).fails();
    assert!(line.contains("/nonexistent/key.pem"), "{line}");
    hsmjwt(&["decode", "not-a-token"]).fails();
}

#[test]
fn completions_for_each_shell() {
    for shell in ["bash", "zsh", "fish", "Bash"] {
        let script = hsmjwt(&["completions", shell]).ok();
        assert!(script.len() > 1000, "{shell}: {script}");
        for word in ["keygen", "sign", "verify", "oauth", "service-token", "alg"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let run = hsmjwt(&["completions", "cmd.exe"]);
    assert_eq!(run.out.status.code(), Some(2));
}

#[test]
fn man_pages_for_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let written = hsmjwt(&["man", "--out-dir", p(dir.path())]).ok();
    let page = |name: &str| {
        let path = dir.path().join(format!("{name}.1"));
        assert!(written.contains(p(&path)), "{name}: {written}");
        std::fs::read_to_string(&path).unwrap()
    };
    let top = page("hsmjwt");
    assert!(top.contains(".TH hsmjwt 1"), "{top}");
    for words in &COMMANDS[1..] {
        let name = format!("hsmjwt-{}", words.join("-"));
        let text = page(&name);
        assert!(text.contains(".SH NAME"), "{name}");
        if words.len() == 1 {
            // roff writes a hyphen as `\-`.
            let listed = format!("{}(1)", name.replace('-', "\\-"));
            assert!(top.contains(&listed), "hsmjwt.1 lacks {listed}");
        }
    }
    assert!(
        top.contains(".SH \"EXIT STATUS\"") || top.contains(".SH EXIT STATUS"),
        "{top}"
    );
    // Examples keep their lines: no-fill mode.
    let sign = page("hsmjwt-sign");
    assert!(sign.contains(".SH EXAMPLES\n.nf\n"), "{sign}");
}

#[test]
fn algorithm_names_in_any_case() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    hsmjwt(&["keygen", "--alg", "es256", "--out", p(&key)]).ok();
    let token = hsmjwt(&["sign", "--key", p(&key), "--alg", "Es256"]).ok();
    hsmjwt(&["verify", "--key", p(&key), "--alg", "eS256", token.trim()]).ok();
    let jwk = json(
        &hsmjwt(&[
            "pubkey",
            "--key",
            p(&key),
            "--format",
            "jwk",
            "--alg",
            "es256",
        ])
        .ok(),
    );
    assert_eq!(jwk["alg"], "ES256");
    hsmjwt(&[
        "bench",
        "--key",
        p(&key),
        "--alg",
        "es256",
        "--seconds",
        "0.05",
    ])
    .ok();
}

#[test]
fn the_pkcs11_scheme_in_any_case() {
    // Not a file named `PKCS11:...`: a URI, which needs a module.
    let line = hsmjwt(&["sign", "--key", "PKCS11:token=nowhere;object=k"]).fails();
    assert!(!line.contains("cannot read"), "{line}");
    assert!(line.contains("PKCS11_MODULE"), "{line}");

    let Some(installation) = softhsm::installed_or_skip() else {
        return;
    };
    let hsm = Builder::new(installation)
        .token("cli-case")
        .build()
        .unwrap();
    let run = |args: &[&str]| hsmjwt_softhsm(&hsm, args, Some(PIN));
    run(&[
        "keygen",
        "--alg",
        "ES256",
        "--key",
        "PKCS11:token=cli-case;object=k",
    ])
    .ok();
    let token = run(&["sign", "--key", "Pkcs11:token=cli-case;object=k"]).ok();
    let public = hsm.root().join("k.pub.pem");
    std::fs::write(&public, run(&["pubkey", "--key", "PKCS11:object=k"]).ok()).unwrap();
    hsmjwt(&["verify", "--key", p(&public), token.trim()]).ok();
}

#[test]
fn an_invalid_log_filter_is_reported() {
    let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.AAAA";
    let run = hsmjwt_with(&["decode", token], None, &[("HSMJWT_LOG", "hsmjwt=loud")]);
    let err = run.stderr();
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning: ignoring HSMJWT_LOG: ")),
        "{err}"
    );
    run.ok();
    for fine in ["hsmjwt_oauth=debug", "warn", ""] {
        let run = hsmjwt_with(&["decode", token], None, &[("HSMJWT_LOG", fine)]);
        assert!(
            !run.stderr().contains("HSMJWT_LOG"),
            "{fine}: {}",
            run.stderr()
        );
        run.ok();
    }
}

#[test]
fn keygen_force_writes_through_a_link_and_refuses_a_dangling_one() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target.pem");
    let link = dir.path().join("link.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&target)]).ok();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).unwrap();
    symlink("target.pem", &link).unwrap();
    let before = std::fs::read(&target).unwrap();
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&link), "--force"]).ok();
    assert!(
        std::fs::symlink_metadata(&link).unwrap().is_symlink(),
        "the link stays"
    );
    assert_ne!(
        std::fs::read(&target).unwrap(),
        before,
        "the target has the new key"
    );
    let mode = std::fs::metadata(&target).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);

    // A link to nothing: no key is created where it points.
    let dangling = dir.path().join("dangling.pem");
    symlink("elsewhere.pem", &dangling).unwrap();
    let line = hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&dangling), "--force"]).fails();
    assert!(line.contains("symbolic link to nothing"), "{line}");
    assert!(!dir.path().join("elsewhere.pem").exists());
    // A link to a folder: refused, the folder untouched.
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    symlink("sub", dir.path().join("to-dir.pem")).unwrap();
    let line = hsmjwt(&[
        "keygen",
        "--alg",
        "ES256",
        "--out",
        p(&dir.path().join("to-dir.pem")),
        "--force",
    ])
    .fails();
    assert!(line.contains("symbolic link to a directory"), "{line}");
    assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
}

/// A self-signed certificate of `key`, valid from now for `days`.
fn certificate(dir: &Path, key: &Path, name: &str, days: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-key",
            p(key),
            "-out",
            name,
            "-days",
            days,
            "-subj",
            "/CN=cli-cert",
        ],
    );
    dir.join(name)
}

fn now() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_secs()).unwrap()
}

#[test]
fn verify_cert_refuses_what_sign_cert_refuses_and_checks_thumbprints() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let cert = certificate(dir.path(), &key, "cert.pem", "2");
    let sign_at = |at: i64| {
        let at = at.to_string();
        hsmjwt(&["sign", "--key", p(&key), "--now", &at, "--ttl", "1h"]).ok()
    };
    let verify_at = |at: i64, token: &str| {
        let at = at.to_string();
        hsmjwt(&["verify", "--cert", p(&cert), "--now", &at, token.trim()])
    };
    let now = now();
    verify_at(now, &sign_at(now)).ok();
    // Three days on, the two-day certificate has expired; a day ago it was not valid yet.
    let later = now + 3 * 86_400;
    let line = verify_at(later, &sign_at(later)).fails();
    assert!(line.contains("expired"), "{line}");
    let earlier = now - 86_400;
    let line = verify_at(earlier, &sign_at(earlier)).fails();
    assert!(line.contains("not valid before"), "{line}");

    // The token names a certificate: it must be this one. Another certificate of the same
    // key verifies the signature, but is not the one the token names.
    let other = certificate(dir.path(), &key, "other.pem", "30");
    let token = hsmjwt(&["sign", "--key", p(&key), "--cert", p(&other)]).ok();
    hsmjwt(&["verify", "--cert", p(&other), token.trim()]).ok();
    let line = hsmjwt(&["verify", "--cert", p(&cert), token.trim()]).fails();
    let named = &json(&hsmjwt(&["decode", token.trim()]).ok())["header"]["x5t#S256"];
    let named = named.as_str().unwrap();
    assert!(
        line.contains("`x5t#S256`") && line.contains(named),
        "{line}"
    );
    // The SHA-1 `x5t` too.
    openssl(
        dir.path(),
        &[
            "x509", "-in", "cert.pem", "-outform", "DER", "-out", "cert.der",
        ],
    );
    openssl(
        dir.path(),
        &["dgst", "-sha1", "-binary", "-out", "cert.sha1", "cert.der"],
    );
    let sha1 = hsmjwt::core::b64::encode(&std::fs::read(dir.path().join("cert.sha1")).unwrap());
    for (x5t, good) in [(sha1.as_str(), true), ("bm90IHRoaXMgb25l", false)] {
        let header = format!("x5t=\"{x5t}\"");
        let token = hsmjwt(&["sign", "--key", p(&key), "--header", &header]).ok();
        let run = hsmjwt(&["verify", "--cert", p(&cert), token.trim()]);
        if good {
            run.ok();
        } else {
            let line = run.fails();
            assert!(line.contains("`x5t`") && line.contains(x5t), "{line}");
        }
    }
}

/// Answers one token request on 127.0.0.1 with a token; returns the form it was sent.
fn capture_one_request() -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream);
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            if line == "\r\n" {
                break;
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let answer = r#"{"access_token":"captured","token_type":"Bearer","expires_in":60}"#;
        write!(
            reader.get_mut(),
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
            answer.len()
        )
        .unwrap();
        String::from_utf8(body).unwrap()
    });
    (url, handle)
}

/// The lifetime (`exp` - `iat`) of the JWT in the form field `field`.
fn lifetime_of(form: &str, field: &str) -> i64 {
    let jwt = form
        .split('&')
        .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
        .unwrap_or_else(|| panic!("no {field} in {form}"));
    let claims = hsmjwt::decode_insecure(jwt).unwrap().claims;
    claims.exp.unwrap().as_unix() - claims.iat.unwrap().as_unix()
}

#[test]
fn oauth_lifetime_applies_to_the_client_assertion_within_its_bound() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    hsmjwt(&["keygen", "--alg", "ES256", "--out", p(&key)]).ok();
    let oauth = |url: &str, extra: &[&str]| {
        let mut args = vec![
            "oauth",
            "token",
            "--token-endpoint",
            url,
            "--client-id",
            "app",
        ];
        args.extend_from_slice(&["--key", p(&key)]);
        args.extend_from_slice(extra);
        hsmjwt(&args)
    };
    for (extra, seconds) in [(&[][..], 120), (&["--lifetime", "10m"][..], 600)] {
        let (url, sent) = capture_one_request();
        assert_eq!(oauth(&url, extra).ok().trim(), "captured");
        assert_eq!(
            lifetime_of(&sent.join().unwrap(), "client_assertion"),
            seconds
        );
    }
    // The JWT-bearer grant's assertion gets it as well.
    let (url, sent) = capture_one_request();
    oauth(
        &url,
        &[
            "--lifetime",
            "15m",
            "--grant",
            "jwt-bearer",
            "--auth",
            "private-key-jwt",
        ],
    )
    .ok();
    let form = sent.join().unwrap();
    assert_eq!(lifetime_of(&form, "client_assertion"), 900);
    assert_eq!(lifetime_of(&form, "assertion"), 900);
    // Beyond the bound of the client assertion profile: a usage error naming it.
    for bad in ["2h", "0s"] {
        let run = oauth("http://127.0.0.1:9/token", &["--lifetime", bad]);
        assert_eq!(run.out.status.code(), Some(2), "{}", run.stderr());
        assert!(run.stderr().contains("at most 1h"), "{}", run.stderr());
    }
}

// ---- an interrupted demo ----

/// Starts `hsmjwt demo ARGS` paused after the credentials step (in a process group of its
/// own, as a shell runs a job); returns it and what it printed until then.
fn paused_demo(args: &[&str]) -> (Child, String) {
    use std::os::unix::process::CommandExt;
    let mut child = Command::new(env!("CARGO_BIN_EXE_hsmjwt"))
        .arg("demo")
        .args(args)
        .env("HSMJWT_DEMO_PAUSE", "1")
        .env_remove("HSMJWT_PIN")
        .env_remove("SOFTHSM2_CONF")
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut printed = String::new();
    while !printed.contains("paused") {
        assert_ne!(out.read_line(&mut printed).unwrap(), 0, "{printed}");
    }
    (child, printed)
}

/// The path printed after `before` and up to `after`.
fn between<'a>(text: &'a str, before: &str, after: &str) -> &'a Path {
    let start = text
        .find(before)
        .unwrap_or_else(|| panic!("{before}: {text}"))
        + before.len();
    let len = text[start..].find(after).unwrap();
    Path::new(&text[start..start + len])
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn kill(signal: &str, target: &str) {
    let ok = Command::new("kill")
        .args([signal, "--", target])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {signal} {target}");
}

/// Waits for the demo; returns its exit code and stderr.
fn ended(mut child: Child) -> (Option<i32>, String) {
    let status = child.wait().unwrap();
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status.code(), err)
}

/// The folders and the credentials file are private while the demo runs.
fn assert_private(scratch: &Path) {
    assert_eq!(mode(scratch), 0o700);
    let creds = scratch.join("aem-service-credentials.json");
    assert_eq!(mode(&creds), 0o600);
}

#[test]
fn an_interrupted_demo_removes_its_files() {
    let (child, printed) = paused_demo(&["--software-key"]);
    let scratch = between(&printed, "paused (HSMJWT_DEMO_PAUSE is set) in ", ": ").to_owned();
    assert_private(&scratch);
    kill("-INT", &child.id().to_string());
    let (code, err) = ended(child);
    assert_eq!(code, Some(130), "{err}");
    assert!(err.contains("interrupted"), "{err}");
    assert!(!scratch.exists(), "{} is left", scratch.display());
}

#[test]
fn an_interrupted_softhsm_demo_removes_its_token_and_files() {
    if softhsm::installed_or_skip().is_none() {
        return;
    }
    let children = |pid: u32| std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"));
    // Ctrl-C in a terminal (the whole group), SIGTERM to the parent, SIGINT to the child.
    for (signal, whom, code) in [
        ("-INT", "group", 130),
        ("-TERM", "parent", 143),
        ("-INT", "child", 130),
    ] {
        let (child, printed) = paused_demo(&[]);
        let root = between(&printed, "created in ", " (").to_owned();
        let scratch = between(&printed, "paused (HSMJWT_DEMO_PAUSE is set) in ", ": ").to_owned();
        assert!(scratch.starts_with(&root), "{printed}");
        assert_eq!(mode(&root), 0o700);
        assert_private(&scratch);
        let pid = child.id();
        let target = match whom {
            "group" => format!("-{pid}"),
            "parent" => pid.to_string(),
            _ => children(pid).unwrap().trim().to_owned(),
        };
        kill(signal, &target);
        let (exit, err) = ended(child);
        assert_eq!(exit, Some(code), "{signal} to the {whom}: {err}");
        assert!(
            !root.exists(),
            "{signal} to the {whom}: {} is left",
            root.display()
        );
    }
}
