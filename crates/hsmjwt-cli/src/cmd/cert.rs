//! `hsmjwt cert ...`: self-signed certificates and CSRs made by any key, and what a
//! certificate holds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use hsmjwt::core::PublicKeyParams;
use hsmjwt::core::text::clean;
use hsmjwt::key::{KeyError, KeySource};
use hsmjwt::soft::{
    Certificate, CertificateParams, DEFAULT_DAYS, DistinguishedName, SubjectAltName, Validity,
};
use hsmjwt::{Algorithm, NumericDate, Signer};

use crate::args::AlgArg;

/// Certificate subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum CertCommand {
    /// Make a self-signed X.509 certificate for KEY, signed by KEY (a file or an HSM key).
    ///
    /// A leaf certificate: CA:FALSE, key usage digitalSignature, extended key usage
    /// clientAuth, a random 16-byte serial number, valid from 5 minutes ago (for clocks a
    /// little behind) for --days days. Microsoft Entra ID, Google service accounts,
    /// Salesforce and Adobe Developer Console take it as a client's certificate. Prints the
    /// PEM on stdout, or writes it to --out.
    #[command(after_help = "\
Examples:
  hsmjwt cert self-signed --key key.pem --subject 'CN=my-service,O=Example' --out cert.pem
  hsmjwt cert self-signed --key 'pkcs11:token=jwt;object=signer' --subject CN=signer --store
  hsmjwt cert self-signed --key rsa.pem --alg PS256 --subject CN=my-service --days 730
  hsmjwt cert self-signed --key key.pem --subject CN=svc --san DNS:svc.example --san IP:192.0.2.1")]
    SelfSigned(SelfSignedArgs),
    /// Make a PKCS#10 certificate signing request (CSR) for KEY, signed by KEY.
    ///
    /// It holds the subject, the public key and the --san names; the CA decides the rest.
    /// Prints the PEM on stdout, or writes it to --out.
    #[command(after_help = "\
Examples:
  hsmjwt cert csr --key key.pem --subject 'CN=my-service,O=Example' --out req.csr
  hsmjwt cert csr --key 'pkcs11:token=jwt;object=signer' --subject CN=signer --san DNS:svc.example
  openssl req -in req.csr -noout -verify -text")]
    Csr(CsrArgs),
    /// Print what a certificate holds and the thumbprints services ask for.
    ///
    /// Subject, issuer, serial number, validity (and days left), key type and size,
    /// subject alternative names, `x5t` (SHA-1, base64url, Entra ID's legacy form),
    /// `x5t#S256` and the SHA-1 fingerprint in hex as certificate portals show it. Of a
    /// chain, the first certificate.
    #[command(after_help = "\
Examples:
  hsmjwt cert show --cert cert.pem
  hsmjwt cert show --cert cert.pem --json | jq -r '.\"x5t#S256\"'")]
    Show(ShowArgs),
}

/// What both `self-signed` and `csr` take.
#[derive(Debug, Args)]
pub(crate) struct MakeArgs {
    /// The key: a file (PEM, DER or JWK private key) or a pkcs11: URI.
    #[arg(long, value_name = "KEY")]
    key: String,
    /// The subject, RFC 4514: 'CN=my-service,O=Example' (a comma inside a value is
    /// escaped with a backslash).
    #[arg(long, value_name = "DN")]
    subject: String,
    /// A subject alternative name: DNS:name, IP:address, URI:uri or email:address
    /// (repeatable).
    #[arg(long, value_name = "SAN")]
    san: Vec<String>,
    /// Signature algorithm (default: RS256 for RSA keys, ES256/ES384 by curve); PS256 for
    /// RSASSA-PSS; any case.
    #[arg(long, value_enum, ignore_case = true)]
    alg: Option<AlgArg>,
    /// Write the PEM to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Overwrite an existing --out file (and, with --store, replace the token's certificate
    /// with the key's id).
    #[arg(long)]
    force: bool,
}

#[derive(Debug, Args)]
pub(crate) struct SelfSignedArgs {
    #[command(flatten)]
    make: MakeArgs,
    /// Days of validity from now.
    #[arg(long, default_value_t = DEFAULT_DAYS, value_name = "DAYS")]
    days: u32,
    /// Also store the certificate in the token beside the key (pkcs11: keys only): a
    /// certificate object with the key's label and id. Refused when one with that id exists,
    /// unless --force.
    #[arg(long)]
    store: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CsrArgs {
    #[command(flatten)]
    make: MakeArgs,
}

#[derive(Debug, Args)]
pub(crate) struct ShowArgs {
    /// The certificate: PEM or DER (of a chain, the first is shown).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(c: &CertCommand) -> Result<ExitCode> {
    match c {
        CertCommand::SelfSigned(a) => self_signed(a),
        CertCommand::Csr(a) => csr(a),
        CertCommand::Show(a) => show(a),
    }
}

impl MakeArgs {
    /// The key source, its signer, and the parameters.
    fn open(&self) -> Result<(KeySource, Box<dyn Signer>, CertificateParams)> {
        if let Some(out) = &self.out
            && !self.force
            && out.symlink_metadata().is_ok()
        {
            bail!(
                "{} already exists; add --force to overwrite it",
                out.display()
            );
        }
        let subject: DistinguishedName = self.subject.parse()?;
        let mut params = CertificateParams::new(subject);
        for san in &self.san {
            params = params.with_subject_alt_name(san.parse::<SubjectAltName>()?);
        }
        let source = super::key_source(&self.key)?;
        let signer = source.open_signer(self.alg.map(Algorithm::from))?;
        Ok((source, signer, params))
    }

    /// Prints `pem` on stdout or writes it to --out.
    fn emit(&self, pem: &str) -> Result<()> {
        match &self.out {
            None => super::out(pem.trim_end()),
            Some(path) => write_new(path, pem, self.force),
        }
    }
}

fn self_signed(a: &SelfSignedArgs) -> Result<ExitCode> {
    let (source, signer, params) = a.make.open()?;
    let store_uri = match (&source, a.store) {
        (_, false) => None,
        (KeySource::Pkcs11(uri), true) => Some(uri.clone()),
        _ => bail!("--store takes a pkcs11: key; this one is a file"),
    };
    let cert = hsmjwt::soft::self_signed(&*signer, &params.with_days(a.days), NumericDate::now())
        .context("cannot make the certificate")?;
    // Stored first: a certificate the token refused is not written out either.
    let stored = match store_uri {
        None => None,
        Some(uri) => {
            match hsmjwt::key::store_certificate_in_token(&uri, cert.der(), a.make.force) {
                Err(KeyError::Pkcs11(e @ hsmjwt::pkcs11::Error::CertificateExists { .. })) => {
                    bail!("{e}; add --force to replace it")
                }
                other => Some(other.context("cannot store the certificate in the token")?),
            }
        }
    };
    a.make.emit(&cert.to_pem())?;
    eprintln!(
        "made a certificate for the {} key: subject `{}`, valid until {}, x5t#S256 {}",
        super::key_kind(cert.public_key().params()),
        clean(cert.subject(), 200),
        cert.not_after_text(),
        cert.x5t_s256()
    );
    if let Some(stored) = stored {
        let replaced = match stored.replaced {
            0 => String::new(),
            n => format!(" (replacing {n})"),
        };
        eprintln!("stored in the token{replaced}: {}", stored.uri);
    }
    Ok(ExitCode::SUCCESS)
}

fn csr(a: &CsrArgs) -> Result<ExitCode> {
    let (_, signer, params) = a.make.open()?;
    let request = hsmjwt::soft::certificate_request(&*signer, &params)
        .context("cannot make the certificate request")?;
    a.make.emit(&request.to_pem())?;
    eprintln!(
        "made a certificate request for the {} key: subject `{}`",
        super::key_kind(&signer.public_key().params),
        clean(request.subject(), 200)
    );
    Ok(ExitCode::SUCCESS)
}

fn show(a: &ShowArgs) -> Result<ExitCode> {
    let chain = Certificate::load_chain(&a.cert)?;
    let cert = chain.first().context("no certificate")?;
    if chain.len() > 1 {
        eprintln!(
            "note: {} holds {} certificates; showing the first",
            a.cert.display(),
            chain.len()
        );
    }
    let (state, days, left) = match cert.validity(NumericDate::now()) {
        Validity::Valid { days_left } => ("valid", days_left, format!("{days_left} days left")),
        Validity::ExpiresSoon { days_left } => (
            "expires soon",
            days_left,
            format!("{days_left} days left, renew it"),
        ),
        Validity::Expired { days_ago } => {
            ("expired", -days_ago, format!("expired {days_ago} days ago"))
        }
        _ => ("not yet valid", 0, "not valid yet".to_owned()),
    };
    let params = cert.public_key().params();
    let sans: Vec<String> = cert
        .subject_alt_names()
        .iter()
        .map(|s| clean(s, 200))
        .collect();
    if a.json {
        super::out_json(&serde_json::json!({
            "subject": clean(cert.subject(), 1000),
            "issuer": clean(cert.issuer(), 1000),
            "serial": cert.serial_hex(),
            "not_before": cert.not_before().as_unix(),
            "not_after": cert.not_after().as_unix(),
            "validity": state,
            "days_left": days,
            "key": key_json(params),
            "subject_alt_names": sans,
            "x5t": cert.x5t(),
            "x5t#S256": cert.x5t_s256(),
            "sha1_fingerprint": cert.sha1_fingerprint(),
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    let lines = [
        ("subject", clean(cert.subject(), 1000)),
        ("issuer", clean(cert.issuer(), 1000)),
        ("serial", cert.serial_hex()),
        ("not before", cert.not_before_text().to_owned()),
        ("not after", format!("{} ({left})", cert.not_after_text())),
        ("key", key_text(params)),
        (
            "alt names",
            if sans.is_empty() {
                "none".to_owned()
            } else {
                sans.join(", ")
            },
        ),
        ("x5t", cert.x5t()),
        ("x5t#S256", cert.x5t_s256()),
        ("SHA-1 fingerprint", cert.sha1_fingerprint()),
    ];
    let width = lines
        .iter()
        .map(|(name, _)| name.len() + 1)
        .max()
        .unwrap_or(0);
    let text: Vec<String> = lines
        .iter()
        .map(|(name, value)| format!("{:<width$} {value}", format!("{name}:")))
        .collect();
    super::out(&text.join("\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// "RSA 2048 bits", "EC P-256 (256 bits)".
fn key_text(params: &PublicKeyParams) -> String {
    match params {
        PublicKeyParams::Ec { crv, .. } => format!("EC {crv} ({} bits)", params.bits()),
        other => format!("RSA {} bits", other.bits()),
    }
}

fn key_json(params: &PublicKeyParams) -> serde_json::Value {
    match params {
        PublicKeyParams::Ec { crv, .. } => {
            serde_json::json!({ "type": "EC", "curve": crv.as_str(), "bits": params.bits() })
        }
        other => serde_json::json!({ "type": "RSA", "bits": other.bits() }),
    }
}

/// Writes `text` to a new file, or over an existing one with `force`.
fn write_new(path: &Path, text: &str, force: bool) -> Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .create_new(!force)
        .open(path)
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => anyhow::anyhow!(
                "{} already exists; add --force to overwrite it",
                path.display()
            ),
            _ => anyhow::Error::new(e).context(format!("cannot create {}", path.display())),
        })?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.flush())
        .with_context(|| format!("cannot write {}", path.display()))
}
