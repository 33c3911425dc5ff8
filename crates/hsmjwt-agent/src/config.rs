//! The agent's configuration: a TOML file with `[listen]`, `[keys.NAME]`, `[tokens.NAME]`
//! and `[profiles.NAME]` tables (see the crate's README). Unknown fields are refused; every
//! problem names its table and field.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use crate::Error;

/// The largest configuration file read.
pub const MAX_CONFIG_FILE: u64 = 1 << 20;

/// The longest `max_ttl` a profile may allow: a day.
pub const MAX_PROFILE_TTL: Duration = Duration::from_secs(24 * 3600);

/// The whole configuration, checked: every reference resolves, every limit is in range.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// Where the agent listens.
    pub listen: Listen,
    /// Keys by name.
    pub keys: BTreeMap<String, KeyConfig>,
    /// Access tokens kept fresh, by name.
    pub tokens: BTreeMap<String, TokenConfig>,
    /// JWT profiles, by name.
    pub profiles: BTreeMap<String, Profile>,
}

/// `[listen]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Listen {
    /// The Unix socket (made with mode 0660; its folder must exist).
    pub unix: PathBuf,
    /// An optional TCP address, loopback only.
    #[serde(default)]
    pub tcp: Option<SocketAddr>,
    /// When given, only peers with these user ids may use the socket.
    #[serde(default)]
    pub allow_uids: Option<Vec<u32>>,
    /// When given, only peers with these group ids may use the socket.
    #[serde(default)]
    pub allow_gids: Option<Vec<u32>>,
}

/// `[keys.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct KeyConfig {
    /// A key file or a `pkcs11:` URI (with `pin-source=file:...` for an HSM key).
    pub key: String,
    /// How many PKCS#11 sessions sign with an HSM key at once (its pool; 1 to 1024); by
    /// default the number of CPUs. A key file ignores it.
    #[serde(default)]
    pub sessions: Option<usize>,
}

/// Where a `[tokens.NAME]` gets its access token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum SourceKind {
    /// Adobe IMS service-account JWT exchange (`credentials` with the technical account).
    ImsJwt,
    /// Adobe IMS OAuth server-to-server (client credentials from `credentials`).
    ImsOauth,
    /// Any OAuth 2.0 token endpoint: client credentials with `private_key_jwt`.
    Oauth,
}

/// `[tokens.NAME]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct TokenConfig {
    /// Where the token comes from.
    pub source: SourceKind,
    /// The credentials file (`ims-jwt`, `ims-oauth`).
    #[serde(default)]
    pub credentials: Option<PathBuf>,
    /// The key that signs (`ims-jwt`, `oauth`): a name from `[keys]`.
    #[serde(default)]
    pub key: Option<String>,
    /// The IMS base URL, as `hsmjwt ims jwt --ims-url` (tests and emulators).
    #[serde(default)]
    pub ims_url: Option<String>,
    /// The token endpoint (`oauth`).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// The client id (`oauth`).
    #[serde(default)]
    pub client_id: Option<String>,
    /// The scope asked for (`oauth`).
    #[serde(default)]
    pub scope: Option<String>,
    /// Refused: a secret in clear in the file. Use `client_secret_env` or
    /// `client_secret_file`.
    #[serde(default)]
    pub client_secret: Option<toml::Value>,
    /// The variable holding the client secret (`ims-jwt`, `ims-oauth` without one in the
    /// credentials file).
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// The file holding the client secret.
    #[serde(default)]
    pub client_secret_file: Option<PathBuf>,
}

/// `[profiles.NAME]`: the policy JWTs are minted under.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Profile {
    /// The key that signs: a name from `[keys]`.
    pub key: String,
    /// The `iss` of every token.
    pub iss: String,
    /// The audiences a request may ask for (one of them, exactly).
    pub audiences: Vec<String>,
    /// The longest lifetime a request may ask for (`"5m"`).
    #[serde(with = "humantime_serde_shim")]
    pub max_ttl: Duration,
    /// The only extra claims a caller may set.
    #[serde(default)]
    pub claims: Vec<String>,
    /// The header's `typ` (default `JWT`).
    #[serde(default)]
    pub typ: Option<String>,
    /// The header's `kid`: a value, or `thumbprint` for the key's RFC 7638 thumbprint.
    #[serde(default)]
    pub kid: Option<String>,
    /// The key's certificate (a PEM chain, leaf first), as `hsmjwt sign --cert`: sets
    /// `x5t#S256`; checked at start to certify the key and be valid, and at each signature
    /// to be valid still.
    #[serde(default)]
    pub cert: Option<PathBuf>,
    /// With `cert`: also put the chain in `x5c`.
    #[serde(default)]
    pub x5c: bool,
    /// With `cert`: also set `x5t`, the SHA-1 thumbprint, for services that want it.
    #[serde(default)]
    pub x5t: bool,
}

/// `max_ttl = "5m"`: a duration in humantime's words.
mod humantime_serde_shim {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer};

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        let text = String::deserialize(d)?;
        humantime::parse_duration(&text)
            .map_err(|e| serde::de::Error::custom(format!("`{text}` is not a duration: {e}")))
    }
}

/// The file as written, before the checks.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    listen: Listen,
    #[serde(default)]
    keys: BTreeMap<String, KeyConfig>,
    #[serde(default)]
    tokens: BTreeMap<String, TokenConfig>,
    #[serde(default)]
    profiles: BTreeMap<String, Profile>,
}

/// The registered claims a profile fixes or the agent sets: a caller may never set them.
pub const RESERVED_CLAIMS: [&str; 7] = ["iss", "sub", "aud", "exp", "nbf", "iat", "jti"];

impl Config {
    /// Reads and checks the file at `path` (at most [`MAX_CONFIG_FILE`]).
    ///
    /// # Errors
    /// [`Error::Config`] naming the file and what is wrong in it.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = hsmjwt::soft::file::read_file(path, MAX_CONFIG_FILE, "configuration files")
            .map_err(|e| Error::config(path, format!("cannot be read: {e}")))?;
        let text = std::str::from_utf8(&bytes).map_err(|_| Error::config(path, "is not UTF-8"))?;
        Self::parse(text).map_err(|e| match e {
            Error::Config { reason, .. } => Error::config(path, reason),
            other => other,
        })
    }

    /// Parses and checks a configuration's text.
    ///
    /// # Errors
    /// [`Error::Config`] (with no file) naming the table and field that is wrong.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let raw: Raw = toml::from_str(text)
            .map_err(|e| Error::config("", e.message().to_owned() + &at(text, e.span())))?;
        let config = Config {
            listen: raw.listen,
            keys: raw.keys,
            tokens: raw.tokens,
            profiles: raw.profiles,
        };
        config.check()?;
        Ok(config)
    }

    /// The checks that do not open anything: references, limits, loopback, secrets.
    fn check(&self) -> Result<(), Error> {
        let bad =
            |field: String, reason: &str| Err(Error::config("", format!("{field}: {reason}")));
        if let Some(tcp) = self.listen.tcp
            && !tcp.ip().is_loopback()
        {
            return bad(
                "listen.tcp".into(),
                "must be a loopback address (127.0.0.1 or ::1): the agent hands out tokens",
            );
        }
        if self.listen.unix.as_os_str().is_empty() {
            return bad("listen.unix".into(), "is empty");
        }
        for (name, key) in &self.keys {
            if key.key.trim().is_empty() {
                return bad(format!("keys.{name}.key"), "is empty");
            }
            if key.sessions.is_some_and(|n| !(1..=1024).contains(&n)) {
                return bad(
                    format!("keys.{name}.sessions"),
                    "must be between 1 and 1024",
                );
            }
        }
        let key_ref = |field: String, key: &str| {
            if self.keys.contains_key(key) {
                Ok(())
            } else {
                Err(Error::config(
                    "",
                    format!(
                        "{field}: no key `{key}` in [keys] (there: {})",
                        names(self.keys.keys())
                    ),
                ))
            }
        };
        for (name, t) in &self.tokens {
            let field = |f: &str| format!("tokens.{name}.{f}");
            if t.client_secret.is_some() {
                return bad(
                    field("client_secret"),
                    "a secret in clear in the configuration is refused: use client_secret_env or client_secret_file",
                );
            }
            if t.client_secret_env.is_some() && t.client_secret_file.is_some() {
                return bad(
                    field("client_secret_env"),
                    "give client_secret_env or client_secret_file, not both",
                );
            }
            match t.source {
                SourceKind::ImsJwt => {
                    if t.credentials.is_none() {
                        return bad(field("credentials"), "is required for source = \"ims-jwt\"");
                    }
                    match &t.key {
                        Some(k) => key_ref(field("key"), k)?,
                        None => return bad(field("key"), "is required for source = \"ims-jwt\""),
                    }
                }
                SourceKind::ImsOauth => {
                    if t.credentials.is_none() {
                        return bad(
                            field("credentials"),
                            "is required for source = \"ims-oauth\"",
                        );
                    }
                }
                SourceKind::Oauth => {
                    for (f, v) in [
                        ("token_endpoint", &t.token_endpoint),
                        ("client_id", &t.client_id),
                    ] {
                        if v.is_none() {
                            return bad(field(f), "is required for source = \"oauth\"");
                        }
                    }
                    match &t.key {
                        Some(k) => key_ref(field("key"), k)?,
                        None => {
                            return bad(
                                field("key"),
                                "is required for source = \"oauth\" (private_key_jwt)",
                            );
                        }
                    }
                }
            }
        }
        for (name, p) in &self.profiles {
            let field = |f: &str| format!("profiles.{name}.{f}");
            key_ref(field("key"), &p.key)?;
            if p.iss.is_empty() {
                return bad(field("iss"), "is empty");
            }
            if p.audiences.is_empty() || p.audiences.iter().any(String::is_empty) {
                return bad(
                    field("audiences"),
                    "must list at least one non-empty audience",
                );
            }
            if p.cert.is_none() && (p.x5c || p.x5t) {
                let which = if p.x5c { "x5c" } else { "x5t" };
                return bad(field(which), "needs `cert`, the certificate chain");
            }
            if p.max_ttl.is_zero() || p.max_ttl > MAX_PROFILE_TTL {
                return bad(field("max_ttl"), "must be more than 0 and at most 24h");
            }
            if let Some(c) = p
                .claims
                .iter()
                .find(|c| RESERVED_CLAIMS.contains(&c.as_str()))
            {
                return bad(
                    field("claims"),
                    &format!(
                        "`{c}` is a registered claim the agent sets; it cannot be left to callers"
                    ),
                );
            }
        }
        Ok(())
    }
}

/// ` (line L, column C)` for a span of `text`.
fn at(text: &str, span: Option<std::ops::Range<usize>>) -> String {
    let Some(span) = span else {
        return String::new();
    };
    let before = text.get(..span.start).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    format!(" (line {line}, column {column})")
}

/// `a, b, c`, or `none`.
fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let all: Vec<&str> = names.map(String::as_str).collect();
    if all.is_empty() {
        "none".to_owned()
    } else {
        all.join(", ")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const GOOD: &str = r#"
[listen]
unix = "/run/hsmjwt/agent.sock"

[keys.aem]
key = "pkcs11:token=T;object=aem?pin-source=file:/etc/hsmjwt/pin"

[tokens.aem]
source = "ims-jwt"
credentials = "/etc/hsmjwt/aem.json"
key = "aem"

[tokens.api]
source = "oauth"
token_endpoint = "https://as.example/oauth/token"
client_id = "app"
key = "aem"
scope = "read"

[profiles.service]
key = "aem"
iss = "https://idp.example"
audiences = ["adobe"]
max_ttl = "5m"
claims = ["name", "email"]
"#;

    #[test]
    fn the_example_of_the_readme_is_accepted() {
        let c = Config::parse(GOOD).unwrap();
        assert_eq!(c.profiles["service"].max_ttl, Duration::from_secs(300));
        assert_eq!(c.tokens["aem"].source, SourceKind::ImsJwt);
    }

    fn fails(text: &str) -> String {
        Config::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn each_problem_names_its_table_and_field() {
        let e = fails(&GOOD.replace("scope = \"read\"", "scope = \"read\"\nscopes = 1"));
        assert!(
            e.contains("unknown field `scopes`") && e.contains("line"),
            "{e}"
        );
        let e = fails(&GOOD.replace("key = \"aem\"\niss", "key = \"nope\"\niss"));
        assert!(
            e.contains("profiles.service.key: no key `nope` in [keys] (there: aem)"),
            "{e}"
        );
        let e = fails(&GOOD.replace(
            "scope = \"read\"",
            "scope = \"read\"\nclient_secret = \"s3cret\"",
        ));
        assert!(
            e.contains("tokens.api.client_secret: a secret in clear") && !e.contains("s3cret"),
            "{e}"
        );
        let e = fails(&GOOD.replace("max_ttl = \"5m\"", "max_ttl = \"2d\""));
        assert!(e.contains("profiles.service.max_ttl"), "{e}");
        let e = fails(&GOOD.replace("max_ttl = \"5m\"", "max_ttl = \"soon\""));
        assert!(e.contains("`soon` is not a duration"), "{e}");
        let e = fails(&GOOD.replace("[\"name\", \"email\"]", "[\"name\", \"sub\"]"));
        assert!(
            e.contains("profiles.service.claims: `sub` is a registered claim"),
            "{e}"
        );
        let e = fails(&GOOD.replace(
            "unix = \"/run/hsmjwt/agent.sock\"",
            "unix = \"/s\"\ntcp = \"0.0.0.0:8088\"",
        ));
        assert!(e.contains("listen.tcp: must be a loopback address"), "{e}");
        let e = fails(&GOOD.replace("source = \"oauth\"", "source = \"saml\""));
        assert!(e.contains("unknown variant `saml`"), "{e}");
        let e = fails(&GOOD.replace("token_endpoint = \"https://as.example/oauth/token\"\n", ""));
        assert!(e.contains("tokens.api.token_endpoint: is required"), "{e}");
        let e = fails(&GOOD.replace(
            "pin-source=file:/etc/hsmjwt/pin\"",
            "pin-source=file:/etc/hsmjwt/pin\"\nsessions = 0",
        ));
        assert!(
            e.contains("keys.aem.sessions: must be between 1 and 1024"),
            "{e}"
        );
        let c = Config::parse(&GOOD.replace(
            "pin-source=file:/etc/hsmjwt/pin\"",
            "pin-source=file:/etc/hsmjwt/pin\"\nsessions = 4",
        ))
        .unwrap();
        assert_eq!(c.keys["aem"].sessions, Some(4));
        let e = fails(&GOOD.replace("max_ttl = \"5m\"", "max_ttl = \"5m\"\nx5c = true"));
        assert!(e.contains("profiles.service.x5c: needs `cert`"), "{e}");
    }
}
