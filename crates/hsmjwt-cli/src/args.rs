//! Command-line arguments.
//!
//! Examples are `after_help` text, kept line for line as written here (clap reflows doc
//! comments, which suits the prose but joins example lines into one paragraph). The man
//! pages (`cargo xtask man`) render each `after_help` block as a section of its own.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hsmjwt::Algorithm;

/// The end of the top-level help (and sections of the man page): the exit statuses, as in
/// the README, and where completions come from.
const AFTER_HELP: &str = "\
Exit status:
  0    success
  1    failure: one line starting with `error:` on stderr (`credentials check`: a problem
       was found)
  2    bad arguments: an unknown option, a missing or invalid value (clap's usage error)
  130  `demo` interrupted by Ctrl-C (143: by SIGTERM), its temporary files removed

Shell completions:
  hsmjwt completions bash|zsh|fish";

/// Mint, verify and inspect JSON Web Tokens whose private keys live in files or in a
/// PKCS#11 HSM.
///
/// KEY arguments are a file path (PEM, DER or JWK) or a PKCS#11 URI such as
/// 'pkcs11:token=jwt;object=signing-key;type=private'. For URIs the module comes from
/// `module-path=` or $PKCS11_MODULE, the PIN from `pin-source=file:...`, $HSMJWT_PIN or a
/// prompt.
///
/// Output that scripts read goes to stdout; messages go to stderr. Any failure prints one
/// line starting with `error:` and exits with status 1 (2 for bad arguments).
#[derive(Debug, Parser)]
#[command(
    name = "hsmjwt",
    version,
    propagate_version = true,
    max_term_width = 100,
    after_help = AFTER_HELP
)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug); $HSMJWT_LOG, a tracing filter,
    /// overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a key pair: a PKCS#8 PEM file (mode 0600) or a key in a PKCS#11 token.
    #[command(after_help = "\
Examples:
  hsmjwt keygen --alg ES256 --out es256.pem
  hsmjwt keygen --alg EdDSA --out ed25519.pem
  hsmjwt keygen --alg RS256 --bits 3072 --out rsa.pem
  hsmjwt keygen --alg PS256 --key 'pkcs11:token=jwt;object=signer;id=%01'")]
    Keygen(KeygenArgs),
    /// Print the public key of KEY as PEM (SPKI), JWK, JWKS or an Auth0 credential.
    #[command(after_help = "\
Examples:
  hsmjwt pubkey --key key.pem
  hsmjwt pubkey --key key.pem --format jwks --kid thumbprint > jwks.json
  hsmjwt pubkey --key jwks.json --key next.pem --format jwks --kid thumbprint > both.json")]
    Pubkey(PubkeyArgs),
    /// Sign claims into a compact JWS and print it.
    ///
    /// `iat` defaults to now and `exp` to now + --ttl, unless the claims already have them.
    #[command(after_help = "\
Examples:
  hsmjwt sign --key key.pem --iss me --aud you --ttl 10m
  echo '{\"scope\":\"read\"}' | hsmjwt sign --key key.pem --claims - --jti auto
  hsmjwt sign --key 'pkcs11:token=jwt;object=signer' --alg PS256 --kid thumbprint
  hsmjwt sign --key key.pem --cert cert.pem --x5t --aud https://login.example/token")]
    Sign(SignArgs),
    /// Verify a token's signature and claims; print its header and claims as JSON.
    ///
    /// The algorithm comes from the key (--alg, the JWK's `alg`, or RS256 for RSA,
    /// ES256/ES384/ES512 by curve, EdDSA for Ed25519), never from the token. `exp` is required. A token with an
    /// `aud` needs --aud.
    #[command(after_help = "\
Examples:
  hsmjwt verify --key public.pem --aud you \"$TOKEN\"
  hsmjwt verify --jwks jwks.json --iss me --aud you - < token.txt
  hsmjwt verify --cert signer.crt --aud you \"$TOKEN\"")]
    Verify(VerifyArgs),
    /// Print a token's header and claims WITHOUT verifying anything, as the token has them.
    ///
    /// Shows hostile tokens too (`alg: none`, HMAC, duplicate members, wrongly typed claims,
    /// non-canonical base64), listing what `verify` would refuse them for under `problems`.
    Decode(DecodeArgs),
    /// PKCS#11 modules and tokens: list, import a key, delete a key, check a key.
    #[command(subcommand)]
    Hsm(HsmCommand),
    /// Adobe IMS: exchange a service-account JWT, OAuth server-to-server, local emulator.
    #[command(subcommand)]
    Ims(crate::cmd::ims::ImsCommand),
    /// Generic OAuth 2.0 token endpoint: private_key_jwt, JWT-bearer grant, client secrets.
    #[command(subcommand)]
    Oauth(crate::cmd::oauth::OauthCommand),
    /// The agent: one process holds the keys and serves access tokens and policy-bound
    /// JWTs to local applications over a Unix socket.
    ///
    /// `hsmjwt agent --config FILE` runs it (SIGHUP reloads the file; SIGTERM or Ctrl-C stop
    /// it, letting requests in flight finish for up to 10 s, and remove the socket).
    /// `agent check` validates a configuration; `agent token` and `agent sign` ask a running
    /// agent for an access token or a JWT.
    #[command(after_help = "\
Examples:
  hsmjwt agent check --config /etc/hsmjwt/agent.toml
  hsmjwt agent --config /etc/hsmjwt/agent.toml
  hsmjwt agent token aem --socket /run/hsmjwt/agent.sock
  hsmjwt agent sign service --sub svc-42 --aud adobe --ttl 60s")]
    Agent(crate::cmd::agent::AgentArgs),
    /// Offline end-to-end demo: emulator, throwaway key, JWT, exchange, timings.
    ///
    /// The key is made in a temporary SoftHSM2 token when SoftHSM2 is installed (else in
    /// memory); the credentials file goes to a temporary folder. Folders are 0700, files
    /// 0600, and all is removed at the end, also when the demo is interrupted (Ctrl-C exits
    /// with status 130, SIGTERM with 143).
    Demo(crate::cmd::demo::DemoArgs),
    /// Mint tokens for a while and print tokens/s and p50/p99 latency (like `openssl speed`).
    #[command(after_help = "\
Examples:
  hsmjwt bench --key key.pem --seconds 3
  hsmjwt bench --key 'pkcs11:token=jwt;object=signer' --alg PS256 --threads 4 --json")]
    Bench(crate::cmd::bench::BenchArgs),
    /// Mint an Adobe Pass `AD-Service-Token` (RS256, with kid).
    #[command(after_help = "\
Example:
  hsmjwt service-token --key idp.pem --iss https://idp.example --sub user-42 \\
    --claim name='\"Jane Smith\"' --header-line")]
    ServiceToken(crate::cmd::service_token::ServiceTokenArgs),
    /// Build a JWT-secured authorization request (RFC 9101), by value or pushed (PAR).
    #[command(after_help = "\
Examples:
  hsmjwt jar --key jar.pem --alg PS256 --client-id app --issuer https://as.example/ \\
    --redirect-uri https://app.example/cb --scope openid --state auto --nonce auto \\
    --pkce --authorize-endpoint https://as.example/authorize
  hsmjwt jar --key jar.pem --client-id app --issuer https://as.example/ \\
    --redirect-uri https://app.example/cb --par-endpoint https://as.example/oauth/par \\
    --auth-key client-auth.pem --authorize-endpoint https://as.example/authorize")]
    Jar(crate::cmd::jar::JarArgs),
    /// Certificates and CSRs made by any key (file or HSM); what a certificate holds.
    #[command(subcommand)]
    Cert(crate::cmd::cert::CertCommand),
    /// Inspect credential files.
    #[command(subcommand)]
    Credentials(crate::cmd::credentials::CredentialsCommand),
    /// Print a shell completion script on stdout.
    #[command(after_help = "\
Examples:
  hsmjwt completions bash > ~/.local/share/bash-completion/completions/hsmjwt
  hsmjwt completions zsh > ~/.zfunc/_hsmjwt      # with fpath+=(~/.zfunc) in ~/.zshrc
  hsmjwt completions fish > ~/.config/fish/completions/hsmjwt.fish")]
    Completions(crate::cmd::completions::CompletionsArgs),
    /// Write the man pages to a folder: hsmjwt.1 and one per subcommand.
    #[command(after_help = "\
Examples:
  hsmjwt man --out-dir ~/.local/share/man/man1 && man hsmjwt-sign
  cargo xtask man                   # in the source tree: target/man, checked")]
    Man(crate::cmd::man::ManArgs),
}

/// Algorithms offered for key generation.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub(crate) enum AlgArg {
    #[value(name = "RS256")]
    Rs256,
    #[value(name = "RS384")]
    Rs384,
    #[value(name = "RS512")]
    Rs512,
    #[value(name = "PS256")]
    Ps256,
    #[value(name = "PS384")]
    Ps384,
    #[value(name = "PS512")]
    Ps512,
    #[value(name = "ES256")]
    Es256,
    #[value(name = "ES384")]
    Es384,
    #[value(name = "ES512")]
    Es512,
    #[value(name = "EdDSA")]
    EdDsa,
}

impl From<AlgArg> for Algorithm {
    fn from(a: AlgArg) -> Self {
        match a {
            AlgArg::Rs256 => Algorithm::RS256,
            AlgArg::Rs384 => Algorithm::RS384,
            AlgArg::Rs512 => Algorithm::RS512,
            AlgArg::Ps256 => Algorithm::PS256,
            AlgArg::Ps384 => Algorithm::PS384,
            AlgArg::Ps512 => Algorithm::PS512,
            AlgArg::Es256 => Algorithm::ES256,
            AlgArg::Es384 => Algorithm::ES384,
            AlgArg::Es512 => Algorithm::ES512,
            AlgArg::EdDsa => Algorithm::EdDSA,
        }
    }
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("target").required(true).args(["out", "key"])))]
pub(crate) struct KeygenArgs {
    /// Algorithm the key is for (RSA for RS*/PS*, P-256 for ES256, P-384 for ES384, P-521
    /// for ES512, Ed25519 for EdDSA); any case.
    #[arg(long, value_enum, ignore_case = true)]
    pub alg: AlgArg,
    /// RSA modulus size: 2048, 3072 or 4096 (default 2048); RSA algorithms only.
    #[arg(long, value_parser = ["2048", "3072", "4096"])]
    pub bits: Option<String>,
    /// Write the private key to this file (PKCS#8 PEM, mode 0600).
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Create the key pair in a PKCS#11 token instead, as named by this URI:
    /// 'pkcs11:token=T;object=LABEL[;id=%01]' (not a file: see --out).
    #[arg(long, value_name = "URI")]
    pub key: Option<String>,
    /// Overwrite an existing --out file. A symbolic link is followed: its target is
    /// overwritten (and set to mode 0600), and must be a regular file.
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary on stdout: `alg`, `key` (type), `bits`, `thumbprint`,
    /// `location`.
    #[arg(long)]
    pub json: bool,
}

/// Public key output formats.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub(crate) enum PubkeyFormat {
    /// SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY").
    Pem,
    /// One JWK.
    Jwk,
    /// A JWK Set (of every --key).
    Jwks,
    /// Auth0's credential body: {"name","credential_type":"public_key","pem","alg"}.
    #[value(name = "auth0-credential")]
    Auth0Credential,
}

#[derive(Debug, Args)]
pub(crate) struct PubkeyArgs {
    /// The key: file (private key, public key, certificate or JWK) or pkcs11: URI. With
    /// --format jwks, repeat it to publish several keys in one set (for a rollover); a JWKS
    /// file then contributes all its keys, which keep their own members.
    #[arg(long, value_name = "KEY", required = true)]
    pub key: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "pem")]
    pub format: PubkeyFormat,
    /// `kid` for JWK and JWKS output: a value, or `thumbprint` for the RFC 7638
    /// thumbprint. With several keys it applies to each (keys from a JWKS file that have a
    /// `kid` keep it); two keys with the same `kid` are an error.
    #[arg(long)]
    pub kid: Option<String>,
    /// `alg` member for JWK, JWKS and Auth0 output (must fit the key; Auth0 takes RS256 or
    /// PS256, RS256 by default). With several keys it applies to each (keys from a JWKS
    /// file that have an `alg` keep it).
    #[arg(long, value_enum, ignore_case = true)]
    pub alg: Option<AlgArg>,
    /// Credential name for Auth0 output (default: "hsmjwt " and the key's thumbprint).
    #[arg(long)]
    pub name: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    /// The signing key: file or pkcs11: URI.
    #[arg(long)]
    pub key: String,
    /// Algorithm (default: RS256 for RSA keys, ES256/ES384/ES512 by curve, EdDSA for
    /// Ed25519); any case.
    #[arg(long, value_enum, ignore_case = true)]
    pub alg: Option<AlgArg>,
    /// Header `kid`: a value, or `thumbprint` for the key's RFC 7638 thumbprint.
    #[arg(long)]
    pub kid: Option<String>,
    /// Claims as a JSON object: inline, @FILE, or - for stdin.
    #[arg(long, value_name = "JSON")]
    pub claims: Option<String>,
    /// `iss` claim.
    #[arg(long)]
    pub iss: Option<String>,
    /// `sub` claim.
    #[arg(long)]
    pub sub: Option<String>,
    /// `aud` claim (repeat for several audiences).
    #[arg(long)]
    pub aud: Vec<String>,
    /// Lifetime: `exp` = `iat` + DURATION (e.g. 90s, 5m, 1h), when the claims have no `exp`.
    #[arg(long, default_value = "5m", value_parser = parse_duration, value_name = "DURATION")]
    pub ttl: Duration,
    /// `jti` claim: a value, or `auto` for a random UUID.
    #[arg(long)]
    pub jti: Option<String>,
    /// Extra header member as NAME=JSON, e.g. typ='"at+jwt"' (repeatable).
    #[arg(long = "header", value_name = "NAME=JSON")]
    pub headers: Vec<String>,
    /// The key's certificate (chain, leaf first): sets `x5t#S256`, after checking that it
    /// certifies the key and is valid now (a warning within 30 days of expiry).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// With --cert: also put the chain in `x5c`.
    #[arg(long, requires = "cert")]
    pub x5c: bool,
    /// With --cert: also set `x5t`, the certificate's SHA-1 thumbprint (base64url), for
    /// services that want the legacy form (Microsoft Entra ID's older documentation).
    #[arg(long, requires = "cert")]
    pub x5t: bool,
    /// Issue the token as of this time (seconds since the epoch) instead of now.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).args(["key", "jwks", "cert"])))]
pub(crate) struct VerifyArgs {
    /// Verification key: file (public or private key, certificate, JWK) or pkcs11: URI.
    #[arg(long)]
    pub key: Option<String>,
    /// A JWK Set file; the key is chosen by the token's `kid` and `alg`.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// An X.509 certificate (PEM or DER; of a chain, the first) whose public key verifies.
    /// Refused when expired or not yet valid (as of --now when given); a token's `x5t#S256`
    /// (and `x5t`) header must be this certificate's thumbprint.
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// The one algorithm to accept; any case.
    #[arg(long, value_enum, ignore_case = true)]
    pub alg: Option<AlgArg>,
    /// Expected issuer (repeat to accept several).
    #[arg(long)]
    pub iss: Vec<String>,
    /// Expected audience (repeat to accept several).
    #[arg(long)]
    pub aud: Vec<String>,
    /// Expected subject.
    #[arg(long)]
    pub sub: Option<String>,
    /// Allowed clock skew.
    #[arg(long, default_value = "30s", value_parser = parse_duration, value_name = "DURATION")]
    pub leeway: Duration,
    /// Longest accepted lifetime (exp - iat).
    #[arg(long, value_parser = parse_duration, value_name = "DURATION")]
    pub max_lifetime: Option<Duration>,
    /// Require a claim (repeatable).
    #[arg(long, value_name = "CLAIM")]
    pub require: Vec<String>,
    /// Required `typ` header.
    #[arg(long)]
    pub typ: Option<String>,
    /// Validate as of this time (seconds since the epoch) instead of now.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
    /// The token, or - (or nothing) to read it from stdin.
    pub token: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct DecodeArgs {
    /// The token (`Bearer TOKEN` and an `AD-Service-Token: TOKEN` line work too), @FILE to
    /// read it from a file, or - (or nothing) to read it from stdin.
    pub token: Option<String>,
}

#[derive(Debug, Subcommand)]
pub(crate) enum HsmCommand {
    /// List slots, tokens and (after login) key objects.
    ///
    /// Logs in to show private keys (and how each is protected) when a PIN is at hand: the
    /// --token URI's pin-source, else $HSMJWT_PIN, else, with --token, a prompt on a
    /// terminal. Without --token, $HSMJWT_PIN is used only when the module has one token:
    /// one PIN is never tried on several tokens (a wrong PIN counts towards locking them).
    #[command(after_help = "\
Example:
  PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so HSMJWT_PIN=1234 hsmjwt hsm list")]
    List(HsmListArgs),
    /// Import a private key into a token: from a key file, a private JWK or the
    /// `privateKey` of AEM service credentials.
    ///
    /// Stores a private key that is sensitive, not extractable and may only sign, its public
    /// key and (with --cert, or the credentials' certificate) its certificate, all with the
    /// URI's object as label and its id (or a random one). The new key then signs a probe
    /// that is verified with the file's public key; on failure what was created is removed.
    /// The source is left alone unless --remove-source. Some HSMs accept only keys
    /// generated inside or imported wrapped; those refuse, saying so.
    #[command(after_help = "\
Examples:
  hsmjwt hsm import --from key.pem --cert cert.pem --key 'pkcs11:token=jwt;object=signer'
  hsmjwt hsm import --credentials aem.json --write-credentials aem-hsm.json \\
    --key 'pkcs11:token=jwt;object=aem;id=%01'
  hsmjwt ims jwt --credentials aem-hsm.json --key 'pkcs11:token=jwt;object=aem'")]
    Import(crate::cmd::hsm::ImportArgs),
    /// Delete a key from a token: its private key, public key and certificate objects.
    ///
    /// Prints what it will delete first, then asks on a terminal; elsewhere it needs --yes.
    /// A URI that matches more than one key is refused.
    #[command(after_help = "\
Example:
  hsmjwt hsm delete --key 'pkcs11:token=jwt;object=old-signer' --yes")]
    Delete(crate::cmd::hsm::DeleteArgs),
    /// Check what works with a key, step by step, and say the fix for what does not.
    ///
    /// Loads the module, finds the token and the signing mechanisms it offers, logs in,
    /// finds the key and its public half, and signs a probe with every algorithm the key
    /// supports, each verified in software. Prints one line per step; exits 1 when a step
    /// failed.
    #[command(after_help = "\
Example:
  PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so hsmjwt hsm doctor --key 'pkcs11:token=jwt;object=signer'")]
    Doctor(crate::cmd::hsm::DoctorArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HsmListArgs {
    /// PKCS#11 module (default: the --token URI's module-path, else $PKCS11_MODULE).
    #[arg(long, value_name = "FILE")]
    pub module: Option<PathBuf>,
    /// Only this token, as a pkcs11: URI (may carry pin-source and module-path).
    #[arg(long, value_name = "URI")]
    pub token: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Parses durations like `30s`, `5m`, `1h 30m`, or a bare number of seconds.
pub(crate) fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (examples: 30s, 5m, 1h)"))
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    /// `cmd` and all its subcommands, nested ones included.
    fn all_commands(cmd: &clap::Command) -> Vec<clap::Command> {
        let mut out = vec![cmd.clone()];
        for sub in cmd.get_subcommands() {
            out.extend(all_commands(sub));
        }
        out
    }

    #[test]
    fn the_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_algorithm_flag_takes_any_case() {
        let mut cmd = Cli::command();
        cmd.build();
        let mut flags = Vec::new();
        for c in all_commands(&cmd) {
            for arg in c.get_arguments() {
                if arg
                    .get_possible_values()
                    .iter()
                    .any(|v| v.matches("ES256", false))
                {
                    assert!(
                        arg.is_ignore_case_set(),
                        "{} --{} refuses lower-case algorithm names",
                        c.get_name(),
                        arg.get_id()
                    );
                    flags.push(format!("{} {}", c.get_name(), arg.get_id()));
                }
            }
        }
        // keygen, pubkey, sign, verify, oauth token, bench, jar (--alg and --auth-alg), cert
        // self-signed and cert csr.
        assert_eq!(flags.len(), 10, "{flags:?}");
    }
}
