//! A profile's policy: what a `POST /v1/sign/{profile}` may ask for.

use std::time::Duration;

use hsmjwt::NumericDate;
use hsmjwt::core::Claims;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::{Profile, RESERVED_CLAIMS};

/// The body of `POST /v1/sign/{profile}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct SignRequest {
    /// The subject.
    pub sub: String,
    /// The audience: one of the profile's.
    pub aud: String,
    /// The lifetime (`"60s"`), at most the profile's `max_ttl`; the profile's `max_ttl`
    /// when absent.
    #[serde(default)]
    pub ttl: Option<String>,
    /// Extra claims, each one the profile lists.
    #[serde(default)]
    pub claims: Map<String, Value>,
}

/// A request outside the policy: the field at fault and why (HTTP 403).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {reason}")]
#[non_exhaustive]
pub struct Refusal {
    /// The request's field (`aud`, `ttl`, `claims.role`).
    pub field: String,
    /// Why it is refused.
    pub reason: String,
}

fn refuse(field: impl Into<String>, reason: impl Into<String>) -> Refusal {
    Refusal {
        field: field.into(),
        reason: reason.into(),
    }
}

/// The claims a request gets under `profile` at `now`, with `jti` as the token id.
///
/// # Errors
/// A [`Refusal`] naming the field: an audience the profile does not list, a `ttl` that is
/// not a duration or is over `max_ttl`, a claim the profile does not list or one of the
/// registered claims the agent sets, an empty `sub`.
pub fn claims_for(
    profile: &Profile,
    request: &SignRequest,
    now: NumericDate,
    jti: &str,
) -> Result<(Claims, Duration), Refusal> {
    if request.sub.is_empty() {
        return Err(refuse("sub", "is empty"));
    }
    if !profile.audiences.iter().any(|a| a == &request.aud) {
        return Err(refuse(
            "aud",
            format!(
                "is not one of the profile's audiences ({})",
                profile.audiences.join(", ")
            ),
        ));
    }
    let ttl = match &request.ttl {
        None => profile.max_ttl,
        Some(text) => humantime::parse_duration(text)
            .map_err(|e| refuse("ttl", format!("is not a duration: {e}")))?,
    };
    if ttl.is_zero() {
        return Err(refuse("ttl", "must be more than 0"));
    }
    if ttl > profile.max_ttl {
        return Err(refuse(
            "ttl",
            format!(
                "{} is over the profile's max_ttl of {}",
                humantime::format_duration(ttl),
                humantime::format_duration(profile.max_ttl)
            ),
        ));
    }
    let mut claims = Claims::new()
        .with_issuer(&profile.iss)
        .with_subject(&request.sub)
        .with_audience(request.aud.as_str())
        .with_lifetime(now, ttl)
        .with_jwt_id(jti);
    for (name, value) in &request.claims {
        let field = format!("claims.{name}");
        if RESERVED_CLAIMS.contains(&name.as_str()) {
            return Err(refuse(field, "is a registered claim the profile fixes"));
        }
        if !profile.claims.iter().any(|c| c == name) {
            return Err(refuse(field, "is not among the claims the profile allows"));
        }
        claims
            .set(name, value.clone())
            .map_err(|e| refuse(format!("claims.{name}"), e.to_string()))?;
    }
    Ok((claims, ttl))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::config::Config;

    fn profile() -> Profile {
        let c = Config::parse(
            r#"
[listen]
unix = "/tmp/a.sock"
[keys.k]
key = "k.pem"
[profiles.p]
key = "k"
iss = "https://idp.example"
audiences = ["adobe", "other"]
max_ttl = "5m"
claims = ["name"]
"#,
        )
        .unwrap();
        c.profiles["p"].clone()
    }

    fn request(json: &str) -> SignRequest {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn within_policy_the_claims_are_set() {
        let (c, ttl) = claims_for(
            &profile(),
            &request(r#"{"sub":"svc","aud":"adobe","ttl":"60s","claims":{"name":"n"}}"#),
            NumericDate::from_unix(1000),
            "j1",
        )
        .unwrap();
        assert_eq!(ttl, Duration::from_secs(60));
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["iss"], "https://idp.example");
        assert_eq!(json["exp"], 1060);
        assert_eq!(json["jti"], "j1");
        assert_eq!(json["name"], "n");
    }

    #[test]
    fn outside_policy_the_field_is_named() {
        let p = profile();
        let now = NumericDate::from_unix(1000);
        let f = |j: &str| claims_for(&p, &request(j), now, "j").unwrap_err().field;
        assert_eq!(f(r#"{"sub":"s","aud":"evil"}"#), "aud");
        assert_eq!(f(r#"{"sub":"s","aud":"adobe","ttl":"6m"}"#), "ttl");
        assert_eq!(f(r#"{"sub":"s","aud":"adobe","ttl":"later"}"#), "ttl");
        assert_eq!(
            f(r#"{"sub":"s","aud":"adobe","claims":{"role":"admin"}}"#),
            "claims.role"
        );
        assert_eq!(
            f(r#"{"sub":"s","aud":"adobe","claims":{"iss":"me"}}"#),
            "claims.iss"
        );
        assert_eq!(f(r#"{"sub":"","aud":"adobe"}"#), "sub");
    }
}
