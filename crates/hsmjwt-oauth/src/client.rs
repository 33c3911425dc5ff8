//! A generic OAuth 2.0 token endpoint client: the `client_credentials` grant and the RFC 7523
//! JWT-bearer grant, with any [`ClientAuth`] (`private_key_jwt`, `client_secret_post`,
//! `client_secret_basic`, none).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hsmjwt_core::Signer;
use hsmjwt_core::profile::client_assertion::{ClientAssertion, JWT_BEARER_GRANT};
use url::Url;

use crate::cache::TokenSource;
use crate::endpoint::parse_endpoint_url;
use crate::error::Result;
use crate::http::{ClientAuth, FreshAssertion, HttpClient, HttpOptions};
use crate::token::{AccessToken, ExpiresUnit};

/// Optional parameters of a token request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenParams {
    /// `scope` (space-separated by OAuth convention; sent as given).
    pub scope: Option<String>,
    /// `audience` (used by several authorization servers for the API the token is for).
    pub audience: Option<String>,
    /// `resource` indicators (RFC 8707), one form field each.
    pub resources: Vec<String>,
}

impl TokenParams {
    /// No optional parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `scope`.
    #[must_use]
    pub fn with_scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sets `audience`.
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Adds a `resource`.
    #[must_use]
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resources.push(resource.into());
        self
    }

    fn append<'a>(&'a self, form: &mut Vec<(&'static str, &'a str)>) {
        if let Some(s) = &self.scope {
            form.push(("scope", s));
        }
        if let Some(a) = &self.audience {
            form.push(("audience", a));
        }
        for r in &self.resources {
            form.push(("resource", r));
        }
    }
}

/// An RFC 7523 JWT-bearer authorization grant: an assertion signed afresh (new `jti`) for
/// every request, `iss` = the client id, `sub` = the subject, `aud` = the audience.
#[derive(Clone)]
pub struct JwtBearerGrant {
    signer: Arc<dyn Signer>,
    subject: Option<String>,
    audience: Option<String>,
    lifetime: Option<Duration>,
}

impl fmt::Debug for JwtBearerGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtBearerGrant")
            .field("alg", &self.signer.algorithm())
            .field("subject", &self.subject)
            .field("audience", &self.audience)
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

impl JwtBearerGrant {
    /// A grant whose assertion `signer` signs; subject defaults to the client id and
    /// audience to the token endpoint URL.
    pub fn new(signer: Arc<dyn Signer>) -> Self {
        JwtBearerGrant {
            signer,
            subject: None,
            audience: None,
            lifetime: None,
        }
    }

    /// Sets the assertion's `sub` (the user or service the token is for).
    #[must_use]
    pub fn with_subject(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Sets the assertion's `aud` (default: the token endpoint URL).
    #[must_use]
    pub fn with_audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sets the assertion's lifetime (default 2 min, at most 1 h).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }
}

/// Which grant to request.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Grant {
    /// `grant_type=client_credentials`.
    ClientCredentials,
    /// `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` with `assertion`.
    JwtBearer(JwtBearerGrant),
}

/// A client of one OAuth 2.0 token endpoint, as one client id with one authentication.
#[derive(Debug, Clone)]
pub struct OAuthClient {
    token_endpoint: Url,
    client_id: String,
    auth: ClientAuth,
    http: HttpClient,
}

impl OAuthClient {
    /// A client for `token_endpoint` (https, or http to a loopback address).
    ///
    /// # Errors
    /// As [`parse_endpoint_url`] and [`HttpClient::new`].
    pub fn new(
        token_endpoint: &str,
        client_id: impl Into<String>,
        auth: ClientAuth,
    ) -> Result<Self> {
        Ok(OAuthClient {
            token_endpoint: parse_endpoint_url(token_endpoint)?,
            client_id: client_id.into(),
            auth,
            http: HttpClient::new(HttpOptions::default())?,
        })
    }

    /// Uses `http` (shared pool, other options).
    #[must_use]
    pub fn with_http(mut self, http: HttpClient) -> Self {
        self.http = http;
        self
    }

    /// The token endpoint.
    pub fn token_endpoint(&self) -> &Url {
        &self.token_endpoint
    }

    /// The client id.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }

    /// Requests a token with `grant` and `params`; `expires_in` is read as seconds.
    ///
    /// # Errors
    /// See [`HttpClient::post_form`] and [`crate::parse_token_response`].
    pub async fn request(&self, grant: &Grant, params: &TokenParams) -> Result<AccessToken> {
        let mut form: Vec<(&str, &str)> = Vec::new();
        let fresh = match grant {
            Grant::ClientCredentials => {
                form.push(("grant_type", "client_credentials"));
                None
            }
            Grant::JwtBearer(g) => {
                form.push(("grant_type", JWT_BEARER_GRANT));
                let mut assertion = ClientAssertion::new(
                    self.client_id.clone(),
                    g.audience
                        .clone()
                        .unwrap_or_else(|| self.token_endpoint.to_string()),
                );
                if let Some(s) = &g.subject {
                    assertion = assertion.with_subject(s.clone());
                }
                if let Some(l) = g.lifetime {
                    assertion = assertion.with_lifetime(l);
                }
                Some(FreshAssertion {
                    field: "assertion",
                    signer: g.signer.clone(),
                    assertion,
                })
            }
        };
        params.append(&mut form);
        let response = self
            .http
            .post_form_with(
                &self.token_endpoint,
                &self.client_id,
                &self.auth,
                &form,
                fresh.as_ref(),
            )
            .await?;
        response.access_token(ExpiresUnit::Seconds)
    }

    /// `client_credentials` grant.
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn client_credentials(&self, params: &TokenParams) -> Result<AccessToken> {
        self.request(&Grant::ClientCredentials, params).await
    }

    /// RFC 7523 JWT-bearer grant.
    ///
    /// # Errors
    /// As [`OAuthClient::request`].
    pub async fn jwt_bearer(
        &self,
        grant: JwtBearerGrant,
        params: &TokenParams,
    ) -> Result<AccessToken> {
        self.request(&Grant::JwtBearer(grant), params).await
    }
}

/// A client, a grant and parameters: a [`TokenSource`] for [`crate::TokenCache`].
#[derive(Debug, Clone)]
pub struct OAuthFlow {
    /// The client.
    pub client: OAuthClient,
    /// The grant.
    pub grant: Grant,
    /// The parameters.
    pub params: TokenParams,
}

impl OAuthFlow {
    /// Bundles a client, a grant and parameters.
    pub fn new(client: OAuthClient, grant: Grant, params: TokenParams) -> Self {
        OAuthFlow {
            client,
            grant,
            params,
        }
    }
}

impl TokenSource for OAuthFlow {
    async fn fetch_token(&self) -> Result<AccessToken> {
        self.client.request(&self.grant, &self.params).await
    }
}
