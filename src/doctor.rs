//! `doctor`: what works with a PKCS#11 key, step by step, and the fix for what does not.
//!
//! It loads the module, finds the token and the mechanisms it offers, logs in, finds the
//! key and its public half, and has the key sign a probe with every algorithm the key
//! supports, each verified in software. Module, token and PIN come as for
//! [`KeySource::open`](crate::key::KeySource::open) (the URI, `$PKCS11_MODULE`,
//! `$HSMJWT_PIN`, a prompt asked once).

use std::fmt;

use hsmjwt_core::Algorithm;
use hsmjwt_core::text::{Chain, Untrusted};
use hsmjwt_pkcs11::{KeyClass, Pkcs11Uri};
use serde::Serialize;

use crate::key::{KeyError, env_access_asking_once, probe};

/// One step of [`doctor`].
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Check {
    /// What was checked: `module`, `token`, `mechanisms`, `key`, `public key`, or an
    /// algorithm (`ES256`).
    pub step: String,
    /// Whether it works.
    pub ok: bool,
    /// `false` for an algorithm the token offers no mechanism for: not a fault of the key
    /// or of the set-up (shown as `n/a`, and not counted against [`Diagnosis::healthy`]).
    pub offered: bool,
    /// What was found, or why it failed (cleaned for printing).
    pub detail: String,
    /// What to do about a failure, when known.
    pub fix: Option<String>,
}

/// What [`doctor`] found, in order; it stops at the first step the others need.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Diagnosis {
    /// The key, as given (its `pin-value` redacted).
    pub key: String,
    /// The steps.
    pub checks: Vec<Check>,
}

impl Diagnosis {
    /// Whether every step worked, leaving out algorithms the token does not offer.
    pub fn healthy(&self) -> bool {
        self.checks.iter().all(|c| c.ok || !c.offered)
    }

    fn push(&mut self, step: impl Into<String>, ok: bool, detail: impl Into<String>) {
        self.checks.push(Check {
            step: step.into(),
            ok,
            offered: true,
            detail: detail.into(),
            fix: None,
        });
    }

    fn fail(&mut self, step: &str, error: &(dyn std::error::Error + 'static), fix: Option<String>) {
        self.checks.push(Check {
            step: step.to_owned(),
            ok: false,
            offered: true,
            detail: Chain(error).to_string(),
            fix,
        });
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.key)?;
        for c in &self.checks {
            writeln!(
                f,
                "  {} {}: {}",
                match (c.ok, c.offered) {
                    (true, _) => "ok  ",
                    (false, true) => "FAIL",
                    (false, false) => "n/a ",
                },
                c.step,
                c.detail
            )?;
            if let Some(fix) = &c.fix {
                writeln!(f, "       fix: {fix}")?;
            }
        }
        Ok(())
    }
}

/// Checks the key the URI names, step by step (see the module notes). It never fails:
/// what goes wrong is a failed [`Check`] with the error and, when known, the fix.
pub fn doctor(uri: &Pkcs11Uri) -> Diagnosis {
    let access = env_access_asking_once();
    let mut d = Diagnosis {
        key: uri.to_string(),
        checks: Vec::new(),
    };
    // Module, token, mechanisms, and the key among the token's objects.
    let inventory = match hsmjwt_pkcs11::list(Some(&uri.token_only()), &access) {
        Ok(inventory) => inventory,
        Err(e) => {
            let fix = match &e {
                hsmjwt_pkcs11::Error::NoModule => Some(
                    "add `module-path=/path/to/module.so` to the URI's query or set PKCS11_MODULE"
                        .to_owned(),
                ),
                _ => None,
            };
            d.fail("module", &e, fix);
            return d;
        }
    };
    d.push(
        "module",
        true,
        format!(
            "{}: {} {}, PKCS#11 {}",
            inventory.module.display(),
            Untrusted(&inventory.library.description),
            inventory.library.version,
            inventory.library.cryptoki_version
        ),
    );
    let Some(token) = inventory.slots.iter().find_map(|s| s.token.as_ref()) else {
        d.push("token", false, "no token matches the URI");
        if let Some(last) = d.checks.last_mut() {
            last.fix = Some("list the tokens with `hsm list` and name one with token=".to_owned());
        }
        return d;
    };
    if token.logged_in || !token.flags.login_required {
        d.push(
            "token",
            true,
            format!(
                "`{}` ({})",
                Untrusted(&token.label),
                token.flags.names().join(", ")
            ),
        );
    } else {
        d.push(
            "token",
            false,
            format!("`{}`: not logged in", Untrusted(&token.label)),
        );
        if let Some(last) = d.checks.last_mut() {
            last.fix = token
                .not_logged_in
                .and_then(crate::key::pin_note)
                .map(str::to_owned)
                .or_else(|| token.note.clone());
        }
    }
    if !d.healthy() {
        return d;
    }
    match &token.mechanisms {
        Some(m) if m.is_empty() => {
            d.push(
                "mechanisms",
                false,
                "the token offers no signing mechanism hsmjwt can use",
            );
        }
        Some(m) => d.push("mechanisms", true, m.join(" ")),
        None => d.push(
            "mechanisms",
            true,
            "the token does not list them; the usual ones are assumed",
        ),
    }
    let wanted_id = uri
        .id()
        .map(|id| id.iter().map(|b| format!("{b:02x}")).collect::<String>());
    let keys: Vec<_> = token
        .keys
        .iter()
        .filter(|k| k.class == KeyClass::Private)
        .filter(|k| uri.object().is_none_or(|l| k.label.as_deref() == Some(l)))
        .filter(|k| wanted_id.as_ref().is_none_or(|id| &k.id == id))
        .collect();
    let key = match keys.as_slice() {
        [one] => *one,
        [] => {
            d.push("key", false, "no private key matches the URI");
            if let Some(last) = d.checks.last_mut() {
                last.fix =
                    Some("`hsm list` shows the keys; name one with object= or id=".to_owned());
            }
            return d;
        }
        many => {
            d.push(
                "key",
                false,
                format!("{} private keys match the URI", many.len()),
            );
            if let Some(last) = d.checks.last_mut() {
                last.fix = Some("add object= or id= to the URI".to_owned());
            }
            return d;
        }
    };
    let size = match (&key.curve, key.bits) {
        (Some(c), _) => c.clone(),
        (None, Some(b)) => format!("{b} bits"),
        (None, None) => String::new(),
    };
    let protection = key
        .protection
        .map(|p| p.words().join(", "))
        .unwrap_or_default();
    d.push(
        "key",
        true,
        format!("{} {size}; {protection}", key.key_type),
    );

    // The public half, then a probe per algorithm the key supports.
    let mut private = uri
        .clone()
        .with_object_type(hsmjwt_pkcs11::ObjectType::Private);
    if uri.module_path().is_none()
        && let Some(module) = access.module.clone()
    {
        private = private.with_module_path(module);
    }
    let jwk = match hsmjwt_pkcs11::public_key(&private, &access) {
        Ok(jwk) => {
            d.push(
                "public key",
                true,
                format!("thumbprint {}", jwk.thumbprint()),
            );
            jwk
        }
        Err(e) => {
            d.fail("public key", &e, Some("store the public key or a certificate with the key's id (`cert self-signed --store`)".to_owned()));
            return d;
        }
    };
    let public = match hsmjwt_soft::PublicKey::from_jwk(&jwk) {
        Ok(public) => public,
        Err(e) => {
            d.fail("public key", &e, None);
            return d;
        }
    };
    let first_probe = d.checks.len();
    let always_authenticate = key.protection.and_then(|p| p.always_authenticate) == Some(true);
    for alg in Algorithm::ALL
        .into_iter()
        .filter(|a| a.fits(jwk.params.kind()))
    {
        match probe(&private, alg, &public, &access) {
            Ok(mechanism) => d.push(
                alg.to_string(),
                true,
                format!("with {mechanism}: probe signed and verified in software"),
            ),
            Err(e) => {
                let missing = matches!(
                    &e,
                    KeyError::Pkcs11(hsmjwt_pkcs11::Error::MechanismMissing { .. })
                );
                let fix = match &e {
                    KeyError::Pkcs11(hsmjwt_pkcs11::Error::MechanismMissing { .. }) => Some(
                        format!("this token cannot sign {alg}: use another of the key's algorithms"),
                    ),
                    KeyError::Pkcs11(_) if always_authenticate => Some(
                        "the key has CKA_ALWAYS_AUTHENTICATE: the token wants the PIN again for every signature (a context-specific login with the same PIN); check that the PIN is right, or make a key without it".to_owned(),
                    ),
                    _ => None,
                };
                d.fail(&alg.to_string(), &e, fix);
                if let (true, Some(last)) = (missing, d.checks.last_mut()) {
                    last.offered = false;
                }
            }
        }
    }
    let signs = d.checks.iter().skip(first_probe).any(|c| c.ok);
    let offered = d.checks.iter().skip(first_probe).any(|c| c.offered);
    if !signs && !offered {
        d.push(
            "algorithms",
            false,
            "the token offers a mechanism for none of the key's algorithms",
        );
    }
    d
}
