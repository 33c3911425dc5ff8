//! The credential documents as `serde` reads them, and the checks that turn them into
//! [`ServiceAccountCredentials`], [`OAuthCredentials`] and [`ConsoleProject`].
//!
//! Members are read into small typed wrappers ([`Text`], [`Secret`], [`List`], [`Obj`],
//! [`Arr`]) whose errors say what the member should have been ("is not a string"), and
//! `serde_path_to_error` names the member by its path. Absent and empty required members
//! are checked afterwards, by path too.

use std::fmt;
use std::marker::PhantomData;

use hsmjwt_core::profile::adobe::{DEFAULT_IMS_HOST, split_metascopes};
use secrecy::SecretString;
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::{
    AEM, CONSOLE, ConsoleCredential, ConsoleProject, CredentialsFormat, OAuthCredentials,
    ServiceAccountCredentials,
};
use crate::endpoint::check_host;
use crate::error::{Error, Result};

// ---- typed members ----

/// A string member: absent, `null`, empty or blank count as absent.
#[derive(Default)]
pub(super) struct Text(Option<String>);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(Text(None)),
            Value::String(s) if s.trim().is_empty() => Ok(Text(None)),
            Value::String(s) => Ok(Text(Some(s))),
            _ => Err(de::Error::custom("is not a string")),
        }
    }
}

/// A secret string member: absent, `null` or empty count as absent. The string moves into
/// the [`SecretString`] without a copy.
#[derive(Default)]
pub(super) struct Secret(Option<SecretString>);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(Secret(None)),
            Value::String(s) if s.is_empty() => Ok(Secret(None)),
            Value::String(s) => Ok(Secret(Some(SecretString::from(s)))),
            _ => Err(de::Error::custom("is not a string")),
        }
    }
}

/// A list given as a JSON array of strings or as one comma-separated string; blank items
/// are dropped.
#[derive(Default)]
pub(super) struct List(Vec<String>);

impl<'de> Deserialize<'de> for List {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Value::deserialize(d)? {
            Value::Null => Ok(List(Vec::new())),
            Value::String(s) => Ok(List(split_metascopes(&s))),
            Value::Array(items) => items
                .into_iter()
                .filter_map(|v| match v {
                    Value::String(s) => {
                        let s = s.trim();
                        (!s.is_empty()).then(|| Ok(s.to_owned()))
                    }
                    _ => Some(Err(de::Error::custom("must hold only strings"))),
                })
                .collect::<Result<_, _>>()
                .map(List),
            _ => Err(de::Error::custom("is not a string or an array of strings")),
        }
    }
}

/// Answers every JSON type but the one a visitor wants with "is not {what}".
macro_rules! only {
    ($what:literal) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(E::custom(concat!("is not ", $what)))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("is not ", $what)))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("is not ", $what)))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(E::custom(concat!("is not ", $what)))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(E::custom(concat!("is not ", $what)))
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Err(E::custom(concat!("is not ", $what)))
        }
    };
}

/// A member that must be a JSON object, read into `T` with the path kept.
pub(super) struct Obj<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = T;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<T, A::Error> {
                Err(de::Error::custom("is not an object"))
            }
            only!("an object");
        }
        d.deserialize_any(V(PhantomData)).map(Obj)
    }
}

/// A member that must be a JSON array, each element read into `T` with the path kept.
pub(super) struct Arr<T>(Vec<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Arr<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
                while let Some(item) = seq.next_element()? {
                    out.push(item);
                }
                Ok(out)
            }
            fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Vec<T>, A::Error> {
                Err(de::Error::custom("is not an array"))
            }
            only!("an array");
        }
        d.deserialize_any(V(PhantomData)).map(Arr)
    }
}

// ---- the documents ----

/// AEM service credentials: `{"ok": true, "integration": {...}}`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct AemRoot {
    ok: Option<Value>,
    integration: Option<Obj<AemIntegration>>,
}

/// The `integration` of AEM service credentials (also accepted as the whole document).
#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct AemIntegration {
    ims_endpoint: Text,
    metascopes: List,
    technical_account: Option<Obj<TechnicalAccount>>,
    email: Text,
    id: Text,
    org: Text,
    private_key: Secret,
    public_key: Text,
    certificate_expiration_date: Text,
    name: Text,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct TechnicalAccount {
    client_id: Text,
    client_secret: Secret,
}

/// A Developer Console project: `{"project": {...}}`.
#[derive(Deserialize, Default)]
#[serde(default)]
struct ConsoleRoot {
    project: Option<Obj<Project>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Project {
    name: Text,
    org: Option<Obj<Org>>,
    workspace: Option<Obj<Workspace>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Org {
    ims_org_id: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Workspace {
    name: Text,
    details: Option<Obj<Details>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Details {
    credentials: Option<Arr<Obj<Credential>>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Credential {
    name: Text,
    integration_type: Text,
    oauth_server_to_server: Option<Obj<ServerToServer>>,
    jwt: Option<Obj<JwtCredential>>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ServerToServer {
    client_id: Text,
    client_secrets: Option<Arr<Secret>>,
    client_secret: Secret,
    scopes: List,
    technical_account_id: Text,
    technical_account_email: Text,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JwtCredential {
    client_id: Text,
    client_secret: Secret,
    technical_account_id: Text,
    techacct: Text,
    meta_scopes: List,
    metascopes: List,
    technical_account_email: Text,
}

// ---- from documents to credentials ----

/// Reads `root` as `T`, naming a member of the wrong type by its path.
fn read<T: for<'de> Deserialize<'de>>(root: Map<String, Value>, format: &'static str) -> Result<T> {
    serde_path_to_error::deserialize(Value::Object(root))
        .map_err(|e| Error::credentials(format, format!("`{}` {}", e.path(), e.inner())))
}

/// `` `path` is missing or empty ``.
fn missing(format: &'static str, path: &str) -> Error {
    Error::credentials(format, format!("`{path}` is missing or empty"))
}

/// `prefix.name`, or `name` at the root.
fn at(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

fn required<T>(value: Option<T>, format: &'static str, path: &str) -> Result<T> {
    value.ok_or_else(|| missing(format, path))
}

/// AEM service credentials, with the integration under `integration` or at the root.
pub(super) fn aem(root: Map<String, Value>) -> Result<ServiceAccountCredentials> {
    let (i, prefix) = if root.contains_key("integration") {
        let doc: AemRoot = read(root, AEM)?;
        if doc.ok == Some(Value::Bool(false)) {
            return Err(Error::credentials(AEM, "the document says `ok: false`"));
        }
        let Obj(i) = required(doc.integration, AEM, "integration")?;
        (i, "integration")
    } else {
        (read::<AemIntegration>(root, AEM)?, "")
    };
    let account = at(prefix, "technicalAccount");
    let Obj(t) = required(i.technical_account, AEM, &account)?;
    let ims_host = match i.ims_endpoint.0 {
        Some(h) => {
            // Tolerate a scheme or a trailing slash, keep the bare host.
            let h = h.trim();
            let h = h
                .strip_prefix("https://")
                .unwrap_or(h)
                .trim_end_matches('/')
                .to_ascii_lowercase();
            check_host(&h)?;
            h
        }
        None => DEFAULT_IMS_HOST.to_owned(),
    };
    if i.metascopes.0.is_empty() {
        return Err(missing(AEM, &at(prefix, "metascopes")));
    }
    Ok(ServiceAccountCredentials {
        client_id: required(t.client_id.0, AEM, &at(&account, "clientId"))?,
        client_secret: required(t.client_secret.0, AEM, &at(&account, "clientSecret"))?,
        org_id: required(i.org.0, AEM, &at(prefix, "org"))?,
        technical_account_id: required(i.id.0, AEM, &at(prefix, "id"))?,
        technical_account_email: i.email.0,
        ims_host,
        metascopes: i.metascopes.0,
        private_key: i.private_key.0,
        certificate_pem: i.public_key.0,
        certificate_expiration_date: i.certificate_expiration_date.0,
        name: i.name.0,
        format: CredentialsFormat::AemServiceCredentials,
    })
}

/// A Developer Console project.
pub(super) fn console(root: Map<String, Value>) -> Result<ConsoleProject> {
    let doc: ConsoleRoot = read(root, CONSOLE)?;
    let Obj(project) = required(doc.project, CONSOLE, "project")?;
    let Obj(org) = required(project.org, CONSOLE, "project.org")?;
    let org_id = required(org.ims_org_id.0, CONSOLE, "project.org.ims_org_id")?;
    let Obj(workspace) = required(project.workspace, CONSOLE, "project.workspace")?;
    let Obj(details) = required(workspace.details, CONSOLE, "project.workspace.details")?;
    let list = details.credentials.map(|a| a.0).unwrap_or_default();
    let mut credentials = Vec::with_capacity(list.len());
    for (n, Obj(c)) in list.into_iter().enumerate() {
        let path = format!("project.workspace.details.credentials[{n}]");
        let credential = if let Some(Obj(o)) = c.oauth_server_to_server {
            let path = at(&path, "oauth_server_to_server");
            let first = o
                .client_secrets
                .and_then(|a| a.0.into_iter().find_map(|s| s.0));
            let client_secret = first.or(o.client_secret.0).ok_or_else(|| {
                Error::credentials(
                    CONSOLE,
                    format!("`{}` has no secret", at(&path, "client_secrets")),
                )
            })?;
            ConsoleCredential::OAuthServerToServer(OAuthCredentials {
                client_id: required(o.client_id.0, CONSOLE, &at(&path, "client_id"))?,
                client_secret,
                scopes: o.scopes.0,
                org_id: Some(org_id.clone()),
                technical_account_id: o.technical_account_id.0,
                technical_account_email: o.technical_account_email.0,
                name: c.name.0,
                format: CredentialsFormat::ConsoleProject,
            })
        } else if let Some(Obj(j)) = c.jwt {
            let path = at(&path, "jwt");
            let metascopes = if j.meta_scopes.0.is_empty() {
                j.metascopes.0
            } else {
                j.meta_scopes.0
            };
            ConsoleCredential::Jwt(ServiceAccountCredentials {
                client_id: required(j.client_id.0, CONSOLE, &at(&path, "client_id"))?,
                client_secret: required(j.client_secret.0, CONSOLE, &at(&path, "client_secret"))?,
                org_id: org_id.clone(),
                technical_account_id: required(
                    j.technical_account_id.0.or(j.techacct.0),
                    CONSOLE,
                    &at(&path, "technical_account_id"),
                )?,
                technical_account_email: j.technical_account_email.0,
                ims_host: DEFAULT_IMS_HOST.to_owned(),
                metascopes,
                private_key: None,
                certificate_pem: None,
                certificate_expiration_date: None,
                name: c.name.0,
                format: CredentialsFormat::ConsoleProject,
            })
        } else {
            ConsoleCredential::Other {
                name: c.name.0,
                integration_type: c.integration_type.0,
            }
        };
        credentials.push(credential);
    }
    Ok(ConsoleProject {
        project_name: project.name.0,
        org_id,
        workspace_name: workspace.name.0,
        credentials,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aem_err(json: &str) -> String {
        let root = hsmjwt_core::json::parse_object(json.as_bytes(), "t").unwrap();
        aem(root).unwrap_err().to_string()
    }

    #[test]
    fn wrong_types_are_not_missing() {
        let e = aem_err(r#"{"integration":{"technicalAccount":{"clientId":5}}}"#);
        assert_eq!(
            e,
            "invalid credentials (AEM service credentials): `integration.technicalAccount.clientId` is not a string"
        );
        let e = aem_err(r#"{"integration":{"technicalAccount":[]}}"#);
        assert!(
            e.ends_with("`integration.technicalAccount` is not an object"),
            "{e}"
        );
        let e = aem_err(r#"{"integration":{"metascopes":[1]}}"#);
        assert!(
            e.ends_with("`integration.metascopes` must hold only strings"),
            "{e}"
        );
        let e = aem_err(r#"{"integration":{"metascopes":{}}}"#);
        assert!(
            e.ends_with("`integration.metascopes` is not a string or an array of strings"),
            "{e}"
        );
        let e = aem_err(r#"{"technicalAccount":{"clientId":"c","clientSecret":"s"},"org":true}"#);
        assert!(e.ends_with("`org` is not a string"), "{e}");
        let root = hsmjwt_core::json::parse_object(
            br#"{"project":{"org":{"ims_org_id":"o"},"workspace":{"details":{"credentials":[{"jwt":{"client_id":7}}]}}}}"#,
            "t",
        )
        .unwrap();
        let e = console(root).unwrap_err().to_string();
        assert!(
            e.ends_with("`project.workspace.details.credentials[0].jwt.client_id` is not a string"),
            "{e}"
        );
    }

    #[test]
    fn absent_and_empty_are_missing() {
        let e =
            aem_err(r#"{"integration":{"metascopes":"m","technicalAccount":{"clientId":"  "}}}"#);
        assert!(
            e.ends_with("`integration.technicalAccount.clientId` is missing or empty"),
            "{e}"
        );
        let e = aem_err(r#"{"integration":{}}"#);
        assert!(
            e.ends_with("`integration.technicalAccount` is missing or empty"),
            "{e}"
        );
    }
}
