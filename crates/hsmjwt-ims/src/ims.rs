//! Adobe IMS: the service-account JWT exchange and OAuth server-to-server.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use hsmjwt_core::profile::adobe::ServiceAccountJwt;
use hsmjwt_core::{NumericDate, Signer};
use hsmjwt_oauth::http::sign_blocking_within;
use hsmjwt_oauth::{
    AccessToken, ClientAuth, ExpiresUnit, HttpClient, HttpOptions, Result, TokenSource,
};
use secrecy::SecretString;

use crate::credentials::{OAuthCredentials, ServiceAccountCredentials};
use crate::endpoint::ImsEndpoint;

/// The header IMS puts on every answer, to quote to Adobe support.
pub const DEBUG_ID_HEADER: &str = "x-debug-id";

/// The `x-debug-id` IMS sent with an error answer, to quote to Adobe support.
pub fn debug_id(error: &hsmjwt_oauth::Error) -> Option<&str> {
    error.response_header(DEBUG_ID_HEADER)
}

/// A client for one IMS instance. Its HTTP client keeps IMS's `x-debug-id` header on every
/// answer and error ([`debug_id`]).
#[derive(Debug, Clone)]
pub struct ImsClient {
    endpoint: ImsEndpoint,
    http: HttpClient,
}

impl ImsClient {
    /// A client for `endpoint` with default [`HttpOptions`].
    ///
    /// # Errors
    /// As [`HttpClient::new`] (the TLS stack cannot be set up).
    pub fn new(endpoint: ImsEndpoint) -> Result<Self> {
        Ok(Self::with_http(
            endpoint,
            HttpClient::new(HttpOptions::default())?,
        ))
    }

    /// A client for `endpoint` using `http` (shared connection pool and options), which is
    /// told to keep the `x-debug-id` header.
    pub fn with_http(endpoint: ImsEndpoint, http: HttpClient) -> Self {
        ImsClient {
            endpoint,
            http: http.keeping_header(DEBUG_ID_HEADER),
        }
    }

    /// The IMS instance.
    pub fn endpoint(&self) -> &ImsEndpoint {
        &self.endpoint
    }

    /// The HTTP client.
    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    /// Exchanges an already signed service-account JWT at `{base}/ims/exchange/jwt`
    /// (form fields `client_id`, `client_secret`, `jwt_token`). `expires_in` is read as
    /// milliseconds, as this endpoint sends it (in any form
    /// [`hsmjwt_oauth::parse_token_response`] accepts, up to
    /// [`hsmjwt_oauth::MAX_EXPIRES_IN`]).
    ///
    /// # Errors
    /// See [`HttpClient::post_form`] and [`hsmjwt_oauth::parse_token_response`].
    pub async fn exchange_jwt(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        jwt: &str,
    ) -> Result<AccessToken> {
        let url = self.endpoint.jwt_exchange_url();
        self.post(
            &url,
            client_id,
            client_secret,
            &[("jwt_token", jwt)],
            ExpiresUnit::Milliseconds,
        )
        .await
    }

    /// OAuth server-to-server: `grant_type=client_credentials` with `client_id`,
    /// `client_secret` and the comma-separated `scope` at `{base}/ims/token/v3`.
    /// `expires_in` is read as seconds, as this endpoint sends it (in any form
    /// [`hsmjwt_oauth::parse_token_response`] accepts, up to
    /// [`hsmjwt_oauth::MAX_EXPIRES_IN`]).
    ///
    /// # Errors
    /// See [`HttpClient::post_form`] and [`hsmjwt_oauth::parse_token_response`].
    pub async fn client_credentials(
        &self,
        client_id: &str,
        client_secret: &SecretString,
        scopes: &[String],
    ) -> Result<AccessToken> {
        let url = self.endpoint.token_v3_url();
        let scope = scopes.join(",");
        let mut params = vec![("grant_type", "client_credentials")];
        if !scope.is_empty() {
            params.push(("scope", scope.as_str()));
        }
        self.post(
            &url,
            client_id,
            client_secret,
            &params,
            ExpiresUnit::Seconds,
        )
        .await
    }

    /// POSTs `params` with `client_secret_post` (how IMS authenticates clients) and reads
    /// the token response with `expires_in` in `unit`.
    async fn post(
        &self,
        url: &url::Url,
        client_id: &str,
        client_secret: &SecretString,
        params: &[(&str, &str)],
        unit: ExpiresUnit,
    ) -> Result<AccessToken> {
        let auth = ClientAuth::SecretPost(client_secret.clone());
        let response = self.http.post_form(url, client_id, &auth, params).await?;
        response.access_token(unit)
    }
}

/// The service-account JWT flow: mint a JWT with any [`Signer`] (a file or an HSM key),
/// exchange it at IMS. Implements [`TokenSource`] for [`hsmjwt_oauth::TokenCache`].
#[derive(Clone)]
pub struct JwtExchange {
    client: ImsClient,
    client_secret: SecretString,
    jwt: ServiceAccountJwt,
    signer: Arc<dyn Signer>,
}

impl fmt::Debug for JwtExchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtExchange")
            .field("endpoint", self.client.endpoint())
            .field("jwt", &self.jwt)
            .field("client_secret", &"[REDACTED]")
            .field("signer_alg", &self.signer.algorithm())
            .finish()
    }
}

impl JwtExchange {
    /// The flow for `jwt` (whose `ims_host` should be the client's
    /// [`ImsEndpoint::host`]), authenticated by `client_secret`, signed by `signer` (RS256).
    pub fn new(
        client: ImsClient,
        jwt: ServiceAccountJwt,
        client_secret: SecretString,
        signer: Arc<dyn Signer>,
    ) -> Self {
        JwtExchange {
            client,
            client_secret,
            jwt,
            signer,
        }
    }

    /// The flow for AEM-style service credentials: `iss` = org, `sub` = technical account,
    /// `aud` and metascope claims on the client's IMS host.
    pub fn from_credentials(
        client: ImsClient,
        credentials: &ServiceAccountCredentials,
        signer: Arc<dyn Signer>,
    ) -> Self {
        let jwt = credentials.service_account_jwt(client.endpoint().host());
        Self::new(client, jwt, credentials.client_secret.clone(), signer)
    }

    /// Sets the minted JWT's lifetime (default 5 min, at most 24 h).
    #[must_use]
    pub fn with_lifetime(mut self, lifetime: Duration) -> Self {
        self.jwt = self.jwt.with_lifetime(lifetime);
        self
    }

    /// The JWT template.
    pub fn jwt(&self) -> &ServiceAccountJwt {
        &self.jwt
    }

    /// The IMS client.
    pub fn client(&self) -> &ImsClient {
        &self.client
    }

    /// Mints a service-account JWT now, on a blocking thread (an HSM may block), within the
    /// client's [`sign_timeout`](hsmjwt_oauth::http::HttpOptions::sign_timeout).
    ///
    /// # Errors
    /// [`hsmjwt_oauth::Error::Jwt`] when a field is missing, the lifetime is out of range, the
    /// signer is not RS256 or signing fails; [`hsmjwt_oauth::Error::SignTimeout`] when the
    /// signature does not finish in time.
    pub async fn sign_jwt(&self) -> Result<String> {
        let jwt = self.jwt.clone();
        let signer = self.signer.clone();
        let limit = self.client.http().options().sign_timeout;
        sign_blocking_within("service-account JWT", limit, move || {
            jwt.sign(&*signer, NumericDate::now())
        })
        .await
    }

    /// Exchanges a JWT minted by [`JwtExchange::sign_jwt`].
    ///
    /// # Errors
    /// As [`ImsClient::exchange_jwt`].
    pub async fn exchange(&self, jwt: &str) -> Result<AccessToken> {
        self.client
            .exchange_jwt(&self.jwt.client_id, &self.client_secret, jwt)
            .await
    }

    /// Mints a JWT and exchanges it.
    ///
    /// # Errors
    /// As [`JwtExchange::sign_jwt`] and [`JwtExchange::exchange`].
    pub async fn fetch(&self) -> Result<AccessToken> {
        let jwt = self.sign_jwt().await?;
        self.exchange(&jwt).await
    }
}

impl TokenSource for JwtExchange {
    async fn fetch_token(&self) -> Result<AccessToken> {
        self.fetch().await
    }
}

/// The OAuth server-to-server flow at `/ims/token/v3`. Implements [`TokenSource`].
#[derive(Debug, Clone)]
pub struct ServerToServer {
    client: ImsClient,
    credentials: OAuthCredentials,
}

impl ServerToServer {
    /// The flow for `credentials` at `client`'s IMS.
    pub fn new(client: ImsClient, credentials: OAuthCredentials) -> Self {
        ServerToServer {
            client,
            credentials,
        }
    }

    /// Requests a token.
    ///
    /// # Errors
    /// As [`ImsClient::client_credentials`].
    pub async fn fetch(&self) -> Result<AccessToken> {
        self.client
            .client_credentials(
                &self.credentials.client_id,
                &self.credentials.client_secret,
                &self.credentials.scopes,
            )
            .await
    }
}

impl TokenSource for ServerToServer {
    async fn fetch_token(&self) -> Result<AccessToken> {
        self.fetch().await
    }
}
