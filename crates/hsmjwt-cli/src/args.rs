//! Command-line arguments.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use hsmjwt::Algorithm;

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
    max_term_width = 100
)]
pub(crate) struct Cli {
    /// More log output on stderr (-v info, -vv debug); $HSMJWT_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Generate a key pair: a PKCS#8 PEM file (mode 0600) or a key in a PKCS#11 token.
    ///
    /// Examples:
    ///   hsmjwt keygen --alg ES256 --out es256.pem
    ///   hsmjwt keygen --alg RS256 --bits 3072 --out rsa.pem
    ///   hsmjwt keygen --alg PS256 --key 'pkcs11:token=jwt;object=signer;id=%01'
    Keygen(KeygenArgs),
    /// Print the public key of KEY as PEM (SPKI), JWK or JWKS.
    ///
    /// Examples:
    ///   hsmjwt pubkey --key key.pem
    ///   hsmjwt pubkey --key key.pem --format jwks --kid thumbprint > jwks.json
    Pubkey(PubkeyArgs),
    /// Sign claims into a compact JWS and print it.
    ///
    /// `iat` defaults to now and `exp` to now + --ttl, unless the claims already have them.
    ///
    /// Examples:
    ///   hsmjwt sign --key key.pem --iss me --aud you --ttl 10m
    ///   echo '{"scope":"read"}' | hsmjwt sign --key key.pem --claims - --jti auto
    ///   hsmjwt sign --key 'pkcs11:token=jwt;object=signer' --alg PS256 --kid thumbprint
    Sign(SignArgs),
    /// Verify a token's signature and claims; print its header and claims as JSON.
    ///
    /// The algorithm comes from the key (--alg, the JWK's `alg`, or RS256 for RSA and
    /// ES256/ES384 by curve), never from the token. `exp` is required. A token with an
    /// `aud` needs --aud.
    ///
    /// Examples:
    ///   hsmjwt verify --key public.pem --aud you "$TOKEN"
    ///   hsmjwt verify --jwks jwks.json --iss me --aud you - < token.txt
    Verify(VerifyArgs),
    /// Print a token's header and claims WITHOUT verifying anything, as the token has them.
    ///
    /// Shows hostile tokens too (`alg: none`, HMAC, duplicate members, wrongly typed claims,
    /// non-canonical base64), listing what `verify` would refuse them for under `problems`.
    Decode(DecodeArgs),
    /// Inspect PKCS#11 modules and tokens.
    #[command(subcommand)]
    Hsm(HsmCommand),
    /// Adobe IMS: exchange a service-account JWT, OAuth server-to-server, local emulator.
    #[command(subcommand)]
    Ims(crate::cmd::ims::ImsCommand),
    /// Generic OAuth 2.0 token endpoint: private_key_jwt, JWT-bearer grant, client secrets.
    #[command(subcommand)]
    Oauth(crate::cmd::oauth::OauthCommand),
    /// Offline end-to-end demo: emulator, throwaway key, JWT, exchange, timings.
    Demo(crate::cmd::demo::DemoArgs),
    /// Mint tokens for a while and print tokens/s and p50/p99 latency (like `openssl speed`).
    ///
    /// Examples:
    ///   hsmjwt bench --key key.pem --seconds 3
    ///   hsmjwt bench --key 'pkcs11:token=jwt;object=signer' --alg PS256 --threads 4 --json
    Bench(crate::cmd::bench::BenchArgs),
    /// Mint an Adobe Pass `AD-Service-Token` (RS256, with kid).
    ///
    /// Example:
    ///   hsmjwt service-token --key idp.pem --iss https://idp.example --sub user-42 \
    ///     --claim name='"Jane Smith"' --header-line
    ServiceToken(crate::cmd::service_token::ServiceTokenArgs),
    /// Build a JWT-secured authorization request (RFC 9101), by value or pushed (PAR).
    ///
    /// Example:
    ///   hsmjwt jar --key jar.pem --alg PS256 --client-id app --issuer https://as.example/ \
    ///     --redirect-uri https://app.example/cb --scope openid --state auto --nonce auto \
    ///     --pkce --authorize-endpoint https://as.example/authorize
    Jar(crate::cmd::jar::JarArgs),
    /// Inspect credential files.
    #[command(subcommand)]
    Credentials(crate::cmd::credentials::CredentialsCommand),
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
        }
    }
}

#[derive(Debug, Args)]
pub(crate) struct KeygenArgs {
    /// Algorithm the key is for (RSA for RS*/PS*, P-256 for ES256, P-384 for ES384).
    #[arg(long, value_enum)]
    pub alg: AlgArg,
    /// RSA modulus size: 2048, 3072 or 4096 (default 2048).
    #[arg(long, value_parser = ["2048", "3072", "4096"])]
    pub bits: Option<String>,
    /// Write the private key here (PKCS#8 PEM, mode 0600).
    #[arg(long, conflicts_with = "key", required_unless_present = "key")]
    pub out: Option<PathBuf>,
    /// Create the key pair in a PKCS#11 token: 'pkcs11:token=T;object=LABEL[;id=%01]'.
    #[arg(long)]
    pub key: Option<String>,
    /// Overwrite an existing --out file.
    #[arg(long)]
    pub force: bool,
    /// Print a JSON summary (alg, key type, bits, thumbprint, where) on stdout.
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
    /// A JWK Set with one key.
    Jwks,
    /// Auth0's credential body: {"name","credential_type":"public_key","pem","alg"}.
    #[value(name = "auth0-credential")]
    Auth0Credential,
}

#[derive(Debug, Args)]
pub(crate) struct PubkeyArgs {
    /// The key: file (private key, public key, certificate or JWK) or pkcs11: URI.
    #[arg(long)]
    pub key: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "pem")]
    pub format: PubkeyFormat,
    /// Key id for JWK output: a value, or `thumbprint` for the RFC 7638 thumbprint.
    #[arg(long)]
    pub kid: Option<String>,
    /// `alg` member for JWK and Auth0 output (must fit the key; Auth0 takes RS256 or
    /// PS256, RS256 by default).
    #[arg(long, value_enum)]
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
    /// Algorithm (default: RS256 for RSA keys, ES256/ES384 by curve).
    #[arg(long, value_enum)]
    pub alg: Option<AlgArg>,
    /// Header `kid`: a value, or `thumbprint` for the key's RFC 7638 thumbprint.
    #[arg(long)]
    pub kid: Option<String>,
    /// Claims as a JSON object: inline, @FILE, or - for stdin.
    #[arg(long)]
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
    /// Lifetime: `exp` = `iat` + TTL (e.g. 90s, 5m, 1h).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub ttl: Duration,
    /// `jti` claim: a value, or `auto` for a random UUID.
    #[arg(long)]
    pub jti: Option<String>,
    /// Extra header member as NAME=JSON, e.g. typ='"at+jwt"' (repeatable).
    #[arg(long = "header", value_name = "NAME=JSON")]
    pub headers: Vec<String>,
    /// The key's certificate (chain): sets `x5t#S256`, after checking that it certifies
    /// the key and has not expired (a warning within 30 days of expiry).
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// With --cert: also put the chain in `x5c`.
    #[arg(long, requires = "cert")]
    pub x5c: bool,
    /// Issue the token as of this time (seconds since the epoch) instead of now.
    #[arg(long, value_name = "UNIX")]
    pub now: Option<i64>,
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).args(["key", "jwks", "cert"])))]
pub(crate) struct VerifyArgs {
    /// Verification key: file (public or private key, JWK) or pkcs11: URI.
    #[arg(long)]
    pub key: Option<String>,
    /// A JWK Set file; the key is chosen by the token's `kid` and `alg`.
    #[arg(long)]
    pub jwks: Option<PathBuf>,
    /// An X.509 certificate (PEM or DER) whose public key verifies.
    #[arg(long)]
    pub cert: Option<PathBuf>,
    /// The one algorithm to accept.
    #[arg(long, value_enum)]
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
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub leeway: Duration,
    /// Longest accepted lifetime (exp - iat).
    #[arg(long, value_parser = parse_duration)]
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
    /// Logs in when a PIN is available ($HSMJWT_PIN, or the --token URI's pin-source).
    ///
    /// Example:
    ///   PKCS11_MODULE=/usr/lib/softhsm/libsofthsm2.so HSMJWT_PIN=1234 hsmjwt hsm list
    List(HsmListArgs),
}

#[derive(Debug, Args)]
pub(crate) struct HsmListArgs {
    /// PKCS#11 module (default: $PKCS11_MODULE).
    #[arg(long)]
    pub module: Option<PathBuf>,
    /// Only this token, as a pkcs11: URI (may carry pin-source and module-path).
    #[arg(long)]
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
