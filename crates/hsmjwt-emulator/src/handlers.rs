//! The IMS emulator's endpoints: `/ims/exchange/jwt`, `/ims/token/v3` and `/oauth/token`.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Response, StatusCode, header};
use hsmjwt_core::profile::adobe::{MAX_LIFETIME, ServiceAccountJwt};
use hsmjwt_core::profile::client_assertion::JWT_BEARER_GRANT;
use hsmjwt_core::{
    Algorithm, Claims, Error as CoreError, NumericDate, UnverifiedToken, Validation,
};

use crate::client_auth::{MAX_JWT, Presented, lock, presented, secret_matches, verify_jwt};
use crate::config::{Endpoint, Fault, Integration};
use crate::ims::Shared;
use crate::response::{Answer, Reject, error, invalid_client, json_response, reject};

/// An endpoint's own logic: the answer, or a rejection.
type Handler = fn(&Shared, &HeaderMap, &[u8]) -> Answer;

/// 400 `bad_request`, as IMS names a malformed request.
fn bad_request(description: impl AsRef<str>) -> Reject {
    reject(StatusCode::BAD_REQUEST, "bad_request", description)
}

/// The form parameters (IMS answers `bad_request` for a malformed form).
fn form(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, Reject> {
    crate::client_auth::form(headers, body).map_err(bad_request)
}

/// A required, non-empty parameter.
fn required<'a>(p: &'a HashMap<String, String>, name: &str) -> Result<&'a str, Reject> {
    match p.get(name).map(String::as_str) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(bad_request(format!("missing required parameter: {name}"))),
    }
}

pub(crate) async fn jwt_exchange(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    answer(&shared, Endpoint::JwtExchange, &headers, &body, exchange).await
}

pub(crate) async fn token_v3(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    answer(&shared, Endpoint::TokenV3, &headers, &body, v3).await
}

pub(crate) async fn oauth_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response<Body> {
    answer(&shared, Endpoint::OAuthToken, &headers, &body, oauth).await
}

/// Counts the request and plays a queued fault if there is one; otherwise answers with
/// `handler`.
async fn answer(
    shared: &Shared,
    endpoint: Endpoint,
    headers: &HeaderMap,
    body: &[u8],
    handler: Handler,
) -> Response<Body> {
    if let Some(r) = before(shared, endpoint).await {
        return r;
    }
    handler(shared, headers, body).unwrap_or_else(|r| *r)
}

/// Counts the request and applies the next fault; `Some` is the answer to send instead.
async fn before(shared: &Shared, endpoint: Endpoint) -> Option<Response<Body>> {
    shared.counters[endpoint.index()].fetch_add(1, Ordering::SeqCst);
    let fault = lock(&shared.faults).pop_front();
    let injected = |status: StatusCode, code: &str, retry_after: Option<String>| {
        let body =
            serde_json::json!({"error": code, "error_description": "injected fault"}).to_string();
        Some(json_response(
            status,
            body,
            retry_after.map(|v| (header::RETRY_AFTER, v)),
        ))
    };
    match fault {
        None => None,
        Some(Fault::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        Some(Fault::Status {
            status,
            retry_after,
        }) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let code = if status == StatusCode::TOO_MANY_REQUESTS {
                "too_many_requests"
            } else if status.is_server_error() {
                "server_error"
            } else {
                "bad_request"
            };
            injected(status, code, retry_after.map(|s| s.to_string()))
        }
        Some(Fault::RetryAt(at)) => injected(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_requests",
            Some(http_date(at)),
        ),
        Some(Fault::Body { status, body }) => Some(json_response(
            StatusCode::from_u16(status).unwrap_or(StatusCode::OK),
            body,
            None,
        )),
    }
}

/// `at` as an HTTP date, saturating at the first and last instants one can express
/// (1970 and 9999): `httpdate` panics outside them.
fn http_date(at: SystemTime) -> String {
    const LAST: Duration = Duration::from_secs(253_402_300_799);
    let since = at
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .min(LAST);
    httpdate::fmt_http_date(UNIX_EPOCH + since)
}

/// A new access token for `lifetime_value` (in the endpoint's unit).
fn issue(shared: &Shared, lifetime_value: u128, token_type: &str, scope: Option<&str>) -> Answer {
    let token = hsmjwt_core::profile::random_token(48).map_err(|_| {
        Box::new(error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "no randomness",
        ))
    })?;
    shared.issued.fetch_add(1, Ordering::SeqCst);
    let mut body = serde_json::json!({
        "token_type": token_type,
        "access_token": format!("emu.{token}"),
        "expires_in": u64::try_from(lifetime_value).unwrap_or(u64::MAX),
    });
    if let (Some(s), Some(map)) = (scope, body.as_object_mut()) {
        map.insert("scope".into(), serde_json::Value::String(s.to_owned()));
    }
    Ok(json_response(StatusCode::OK, body.to_string(), None))
}

/// Looks up the client and checks its secret (IMS answers 400 for an unknown client, 401
/// for a wrong secret).
fn authenticate<'a>(
    shared: &'a Shared,
    client_id: &str,
    secret: &str,
) -> Result<&'a Integration, Reject> {
    let Some(i) = shared.integrations.get(client_id) else {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "invalid client_id parameter",
        ));
    };
    if !secret_matches(&i.client_secret, secret) {
        return Err(invalid_client("invalid client_secret parameter"));
    }
    Ok(i)
}

fn validation_error(e: &CoreError) -> Reject {
    reject(StatusCode::BAD_REQUEST, "invalid_token", e.to_string())
}

fn exchange(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Answer {
    let p = form(headers, body)?;
    let client_id = required(&p, "client_id")?;
    let secret = required(&p, "client_secret")?;
    let jwt = required(&p, "jwt_token")?;
    let integration = authenticate(shared, client_id, secret)?;
    let Some(sa) = &integration.service_account else {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "this integration is not a service account",
        ));
    };
    let token = UnverifiedToken::parse(jwt, MAX_JWT).map_err(|e| {
        reject(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            format!("cannot parse the JWT: {e}"),
        )
    })?;
    if token.header.alg != Algorithm::RS256 {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "the JWT must be signed with RS256",
        ));
    }
    let verifier = integration.verifier(Algorithm::RS256).ok_or_else(|| {
        reject(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "no RSA certificate is registered",
        )
    })?;
    if token.verify_signature(verifier).is_err() {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_signature",
            "JWT signature is invalid",
        ));
    }
    let claims = token.claims().map_err(|e| validation_error(&e))?;
    let template = ServiceAccountJwt::new(
        sa.org_id.clone(),
        sa.technical_account_id.clone(),
        client_id,
        sa.ims_host.clone(),
    )
    .with_metascopes(sa.metascopes.iter().cloned());
    let validation = template.validation().with_leeway(shared.config.leeway);
    validation
        .check_crit(&token.header)
        .map_err(|e| validation_error(&e))?;
    validation
        .validate(&token.header, &claims)
        .map_err(|e| validation_error(&e))?;
    if claims.exp.is_some_and(|exp| {
        let max = MAX_LIFETIME.saturating_add(shared.config.leeway);
        exp.as_unix() > NumericDate::now().saturating_add(max).as_unix()
    }) {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_token",
            "JWT expires more than 24 hours from now",
        ));
    }
    template
        .check_metascopes(&claims)
        .map_err(|e| reject(StatusCode::BAD_REQUEST, "invalid_scope", e.to_string()))?;
    issue(
        shared,
        shared.config.jwt_token_lifetime.as_millis(),
        "bearer",
        None,
    )
}

fn v3(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Answer {
    let p = form(headers, body)?;
    let grant = required(&p, "grant_type")?;
    if grant != "client_credentials" {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "grant_type must be client_credentials",
        ));
    }
    let client_id = required(&p, "client_id")?;
    let secret = required(&p, "client_secret")?;
    let integration = authenticate(shared, client_id, secret)?;
    let requested: Vec<&str> = p
        .get("scope")
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    check_scopes(integration, &requested)?;
    issue(
        shared,
        u128::from(shared.config.v3_token_lifetime.as_secs()),
        "bearer",
        None,
    )
}

fn check_scopes(integration: &Integration, requested: &[&str]) -> Result<(), Reject> {
    if let Some(allowed) = &integration.scopes
        && let Some(bad) = requested.iter().find(|s| !allowed.iter().any(|a| a == *s))
    {
        return Err(reject(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            format!("invalid scope: {bad}"),
        ));
    }
    Ok(())
}

/// Verifies a JWT signed by a registered client, found by its `iss`: signature with one of
/// its keys, then `iss`, `sub` (= `iss` when `subject_is_issuer`), `aud` (one of the
/// emulator's URLs), `exp`, `iat`, `jti` (unused before), lifetime at most 1 h.
fn verify_client_jwt<'a>(
    shared: &'a Shared,
    jwt: &str,
    subject_is_issuer: bool,
) -> Result<(&'a Integration, Claims), Reject> {
    let token = UnverifiedToken::parse(jwt, MAX_JWT)
        .map_err(|e| invalid_client(format!("cannot parse the assertion: {e}")))?;
    let unverified = token
        .claims()
        .map_err(|e| invalid_client(format!("invalid assertion claims: {e}")))?;
    let Some(iss) = unverified.iss.as_deref() else {
        return Err(invalid_client("the assertion has no iss"));
    };
    let Some(integration) = shared.integrations.get(iss) else {
        return Err(invalid_client(
            "the assertion's issuer is not a registered client",
        ));
    };
    let verifier = integration
        .verifier(token.header.alg)
        .ok_or_else(|| invalid_client("no registered key for the assertion's algorithm"))?;
    let mut v = Validation::new()
        .with_issuer(iss)
        .require("iat")
        .require("jti")
        .with_max_lifetime(Duration::from_secs(3600))
        .with_leeway(shared.config.leeway);
    for base in &shared.base_urls {
        v = v
            .with_audience(format!("{base}/oauth/token"))
            .with_audience(base.clone())
            .with_audience(format!("{base}/"));
    }
    if subject_is_issuer {
        v = v.with_subject(iss);
    }
    let claims = verify_jwt(jwt, verifier, &v, &shared.replay, iss).map_err(|refused| {
        if refused.is_signature() {
            invalid_client("assertion signature is invalid")
        } else {
            invalid_client(format!("invalid assertion: {refused}"))
        }
    })?;
    Ok((integration, claims))
}

fn oauth(shared: &Shared, headers: &HeaderMap, body: &[u8]) -> Answer {
    let p = form(headers, body)?;
    let grant = required(&p, "grant_type")?;
    let authentication_failed = |_| invalid_client("client authentication failed");
    let client: Option<&Integration> = match presented(&p, headers)? {
        Presented::Basic { id, secret } => {
            Some(authenticate(shared, &id, &secret).map_err(authentication_failed)?)
        }
        Presented::Post { secret } => {
            let id = required(&p, "client_id")?;
            Some(authenticate(shared, id, secret).map_err(authentication_failed)?)
        }
        Presented::Assertion { jwt } => {
            let (i, _) = verify_client_jwt(shared, jwt, true)?;
            if p.get("client_id").is_some_and(|id| id != &i.client_id) {
                return Err(invalid_client("client_id does not match the assertion"));
            }
            Some(i)
        }
        Presented::None => None,
    };
    let integration = match grant {
        "client_credentials" => {
            client.ok_or_else(|| invalid_client("client authentication is required"))?
        }
        g if g == JWT_BEARER_GRANT => {
            let jwt = required(&p, "assertion")?;
            let (i, _) = verify_client_jwt(shared, jwt, false).map_err(|_| {
                reject(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the assertion is not valid",
                )
            })?;
            if client.is_some_and(|c| c.client_id != i.client_id) {
                return Err(reject(
                    StatusCode::BAD_REQUEST,
                    "invalid_grant",
                    "the assertion was issued by another client",
                ));
            }
            i
        }
        _ => {
            return Err(reject(
                StatusCode::BAD_REQUEST,
                "unsupported_grant_type",
                "unsupported grant_type",
            ));
        }
    };
    let scope = p.get("scope").map(String::as_str);
    let requested: Vec<&str> = scope
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    check_scopes(integration, &requested)?;
    issue(
        shared,
        u128::from(shared.config.oauth_token_lifetime.as_secs()),
        "Bearer",
        scope,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_saturate_instead_of_panicking() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000_000_000);
        assert_eq!(http_date(far), "Fri, 31 Dec 9999 23:59:59 GMT");
        let early = UNIX_EPOCH - Duration::from_secs(1);
        assert_eq!(http_date(early), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(UNIX_EPOCH + Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }
}
