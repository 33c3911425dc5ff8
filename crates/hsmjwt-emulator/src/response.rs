//! JSON answers and OAuth error bodies (RFC 6749 5.2), shared by both servers.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, Response, StatusCode, header};

/// An error answer, boxed to keep `Result`s small.
pub(crate) type Reject = Box<Response<Body>>;

/// A handler's outcome: the answer, or an error answer.
pub(crate) type Answer = Result<Response<Body>, Reject>;

/// A random `x-debug-id`, as IMS sends on every answer.
fn debug_id() -> String {
    let bytes = hsmjwt_core::profile::random_bytes(16).unwrap_or_default();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A JSON answer with `no-store`, an `x-debug-id` and an optional extra header.
pub(crate) fn json_response(
    status: StatusCode,
    body: String,
    extra: Option<(HeaderName, String)>,
) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json;charset=UTF-8"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&debug_id()) {
        h.insert("x-debug-id", v);
    }
    if let Some((name, value)) = extra
        && let Ok(v) = HeaderValue::from_str(&value)
    {
        h.insert(name, v);
    }
    r
}

/// `{"error": code, "error_description": description}` with `status`.
pub(crate) fn error(status: StatusCode, code: &str, description: &str) -> Response<Body> {
    let body = serde_json::json!({"error": code, "error_description": description}).to_string();
    json_response(status, body, None)
}

/// [`error`], boxed as a [`Reject`].
pub(crate) fn reject(status: StatusCode, code: &str, description: impl AsRef<str>) -> Reject {
    Box::new(error(status, code, description.as_ref()))
}

/// 401 `invalid_client`.
pub(crate) fn invalid_client(description: impl AsRef<str>) -> Reject {
    reject(StatusCode::UNAUTHORIZED, "invalid_client", description)
}

/// 400 `invalid_request`.
pub(crate) fn invalid_request(description: impl AsRef<str>) -> Reject {
    reject(StatusCode::BAD_REQUEST, "invalid_request", description)
}

/// The answer of a route that does not exist.
pub(crate) fn not_found() -> Response<Body> {
    error(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}
