//! `hsmjwt hsm ...`.

use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::Args;
use hsmjwt::core::text::Untrusted;
use hsmjwt::ims::credentials::MAX_CREDENTIALS_FILE;
use hsmjwt::ims::{CredentialsFile, aem_without_private_key};
use hsmjwt::pkcs11::{KeyObjects, Pkcs11Uri};
use hsmjwt::soft::file::{overwrite_and_remove, read_file, write_private_file};
use hsmjwt::soft::{Certificate, PrivateKey};

use crate::args::HsmCommand;

/// What overwriting a file before removing it cannot promise.
const OVERWRITE_CAVEAT: &str = "overwriting cannot be guaranteed to destroy the old contents on journaling or copy-on-write file systems, SSDs, snapshots and backups";

#[derive(Debug, Args)]
pub(crate) struct ImportArgs {
    /// Where the key goes: a pkcs11: URI with token and object (the new label); id= sets
    /// the id (default: random).
    #[arg(long, value_name = "URI")]
    key: String,
    /// The private key: PEM or DER (PKCS#8, PKCS#1, SEC1) or a private JWK.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "credentials",
        conflicts_with = "credentials"
    )]
    from: Option<PathBuf>,
    /// AEM service credentials whose integration.privateKey is imported (with the
    /// certificate in integration.publicKey, unless --cert).
    #[arg(long, value_name = "FILE")]
    credentials: Option<PathBuf>,
    /// The key's certificate (PEM or DER), stored beside it; it must certify the key.
    #[arg(long, value_name = "FILE")]
    cert: Option<PathBuf>,
    /// After the import, write the credentials without privateKey to this new file (mode
    /// 0600; every other member kept, in its order), for `hsmjwt ims jwt --credentials`.
    #[arg(long, value_name = "FILE", requires = "credentials")]
    write_credentials: Option<PathBuf>,
    /// After the import, overwrite the source file (--from or --credentials) with zeros and
    /// remove it. With --credentials, --write-credentials is required (the file's other
    /// secrets must not be lost).
    #[arg(long)]
    remove_source: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DeleteArgs {
    /// The key: a pkcs11: URI with object= and/or id= (and the token).
    #[arg(long, value_name = "URI")]
    key: String,
    /// Delete without asking (needed when stdin is not a terminal).
    #[arg(long, short = 'y')]
    yes: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct DoctorArgs {
    /// The key: a pkcs11: URI (module-path, pin-source as for any key).
    #[arg(long, value_name = "URI")]
    key: String,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(c: &HsmCommand) -> Result<ExitCode> {
    match c {
        HsmCommand::List(a) => {
            let uri = a
                .token
                .as_deref()
                .map(str::parse::<Pkcs11Uri>)
                .transpose()?;
            let inventory = hsmjwt::key::list_tokens(a.module.as_deref(), uri.as_ref())?;
            if a.json {
                super::out_json(&serde_json::to_value(&inventory)?)?;
            } else {
                super::out(inventory.to_string().trim_end())?;
            }
            Ok(ExitCode::SUCCESS)
        }
        HsmCommand::Import(a) => import(a),
        HsmCommand::Delete(a) => delete(a),
        HsmCommand::Doctor(a) => {
            let uri: Pkcs11Uri = a.key.parse()?;
            let diagnosis = hsmjwt::doctor::doctor(&uri);
            if a.json {
                super::out_json(&diagnosis)?;
            } else {
                super::out(diagnosis.to_string().trim_end())?;
            }
            Ok(if diagnosis.healthy() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
    }
}

fn import(a: &ImportArgs) -> Result<ExitCode> {
    let uri: Pkcs11Uri = a.key.parse()?;
    if a.remove_source && a.credentials.is_some() && a.write_credentials.is_none() {
        bail!(
            "--remove-source with --credentials needs --write-credentials: the file's client secret and ids would be lost"
        );
    }
    // Everything is read and checked before the token is touched.
    let mut stripped = None;
    let (key, mut cert, source) = if let Some(path) = &a.credentials {
        let bytes = read_file(path, MAX_CREDENTIALS_FILE, "credentials files")?;
        let doc = CredentialsFile::from_json(&bytes).with_context(|| {
            format!(
                "cannot read credentials {}",
                Untrusted(&path.display().to_string())
            )
        })?;
        let (key, cert) = doc.service_account()?.key_and_certificate()?;
        if a.write_credentials.is_some() {
            stripped = Some(aem_without_private_key(&bytes)?);
        }
        (key, cert, path)
    } else if let Some(path) = &a.from {
        (PrivateKey::load(path)?, None, path)
    } else {
        bail!("give --from FILE or --credentials FILE");
    };
    if let Some(path) = &a.cert {
        cert = Certificate::load_chain(path)?.into_iter().next();
    }
    if let Some(out) = &a.write_credentials
        && std::fs::symlink_metadata(out).is_ok()
    {
        bail!(
            "{} exists; --write-credentials writes a new file",
            Untrusted(&out.display().to_string())
        );
    }

    let imported = hsmjwt::key::import_into_token(&uri, &key, cert.as_ref())?;
    let kind = super::key_kind(key.public_key().params());
    drop(key);
    let mut written = None;
    if let (Some(out), Some(doc)) = (&a.write_credentials, &stripped) {
        write_private_file(out, doc.as_bytes(), false).with_context(|| {
            format!(
                "the key was imported as {}, but the credentials without privateKey could not be written",
                imported.uri
            )
        })?;
        written = Some(out.display().to_string());
    }
    let mut removed = None;
    if a.remove_source {
        overwrite_and_remove(source).with_context(|| {
            format!(
                "the key was imported as {}, but the source could not be removed",
                imported.uri
            )
        })?;
        removed = Some(source.display().to_string());
    }
    if a.json {
        super::out_json(&serde_json::json!({
            "imported": imported,
            "key": kind,
            "credentials_written": written,
            "source_removed": removed,
            "note": removed.as_ref().map(|_| OVERWRITE_CAVEAT),
        }))?;
    } else {
        let objects = if imported.certificate {
            "private key, public key and certificate"
        } else {
            "private key and public key"
        };
        super::out(&format!(
            "imported {kind} into token `{}` as `{}` id {} ({objects}); a probe signature verified\n  {}",
            Untrusted(&imported.token),
            Untrusted(&imported.label),
            imported.id,
            imported.uri
        ))?;
        if let Some(out) = &written {
            super::out(&format!(
                "wrote {} without privateKey (mode 0600)",
                Untrusted(out)
            ))?;
        }
        if let Some(path) = &removed {
            super::out(&format!(
                "overwrote and removed {}; note: {OVERWRITE_CAVEAT}",
                Untrusted(path)
            ))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn delete(a: &DeleteArgs) -> Result<ExitCode> {
    let uri: Pkcs11Uri = a.key.parse()?;
    let mut refusal = None;
    let deletion =
        hsmjwt::key::delete_from_token(&uri, |found: &KeyObjects| match confirm(found, a.yes) {
            Ok(yes) => yes,
            Err(e) => {
                refusal = Some(e);
                false
            }
        })?;
    if let Some(e) = refusal {
        return Err(e);
    }
    if a.json {
        super::out_json(&deletion)?;
    } else if deletion.deleted {
        super::out(&format!(
            "deleted {} object(s) from token `{}`",
            deletion.found.objects.len(),
            Untrusted(&deletion.found.token)
        ))?;
    } else {
        super::out("nothing deleted")?;
    }
    // Answering no is the user's choice, not a failure.
    Ok(ExitCode::SUCCESS)
}

/// Shows what will be deleted and decides: --yes, else a question on a terminal.
fn confirm(found: &KeyObjects, yes: bool) -> Result<bool> {
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "will delete from {found}")?;
    if yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        bail!("not deleting without --yes: stdin is not a terminal to ask on");
    }
    write!(
        stderr,
        "delete these {} object(s)? [y/N] ",
        found.objects.len()
    )?;
    stderr.flush()?;
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes"))
}
