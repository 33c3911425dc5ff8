//! Endpoint URLs: parsing, the loopback-only `http` rule, and printable forms.
//!
//! Requests carry client secrets and assertions, so an endpoint is `https`, or plain `http`
//! to a loopback address only (a local test server). URLs never carry user info, and are
//! shown in messages without their query and fragment.

use std::net::IpAddr;

use url::Url;

use crate::error::{Error, Result};

/// Joins a relative path to a base URL, treating the base as a directory: `join(
/// "https://h/prefix", "a/b")` is `https://h/prefix/a/b`. The query and fragment of the
/// base are dropped.
pub fn join(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = {
        let p = url.path().trim_end_matches('/');
        format!("{p}/{}", path.trim_start_matches('/'))
    };
    url.set_path(&joined);
    url.set_query(None);
    url.set_fragment(None);
    url
}

/// Parses an endpoint URL and checks it with [`check_url`].
///
/// # Errors
/// [`Error::InvalidUrl`] when it does not parse, has another scheme than http(s), no host,
/// or user info; [`Error::InsecureUrl`] for plain http to a non-loopback host.
pub fn parse_endpoint_url(s: &str) -> Result<Url> {
    let url = Url::parse(s).map_err(|e| Error::InvalidUrl {
        url: s.split(['?', '#']).next().unwrap_or_default().to_owned(),
        reason: e.to_string(),
    })?;
    check_url(&url)?;
    Ok(url)
}

/// Checks that a URL may be used as an endpoint: `https`, or `http` to a loopback address
/// only (127.0.0.0/8, `::1`, `localhost`); no user info.
///
/// # Errors
/// As [`parse_endpoint_url`].
pub fn check_url(url: &Url) -> Result<()> {
    let invalid = |reason: &str| {
        Err(Error::InvalidUrl {
            url: display_url(url),
            reason: reason.to_owned(),
        })
    };
    if url.host().is_none() {
        return invalid("it has no host");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid("user info in the URL is not allowed: give credentials separately");
    }
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(url) => Ok(()),
        "http" => Err(Error::InsecureUrl {
            host: url.host_str().unwrap_or_default().to_owned(),
        }),
        other => invalid(&format!("scheme `{other}` is not http or https")),
    }
}

/// Whether the URL's host is a loopback address: 127.0.0.0/8, `::1` or `localhost`.
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => {
            let d = d.trim_end_matches('.');
            d.eq_ignore_ascii_case("localhost")
        }
        None => false,
    }
}

/// The URL without user info, query and fragment, for messages and logs.
pub fn display_url(url: &Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn join_treats_the_base_as_a_directory() {
        let base = parse_endpoint_url("http://127.0.0.1:9999/prefix?q=1#f").unwrap();
        assert_eq!(
            join(&base, "/oauth/token").as_str(),
            "http://127.0.0.1:9999/prefix/oauth/token"
        );
        let base = parse_endpoint_url("https://as.example/").unwrap();
        assert_eq!(join(&base, "par").as_str(), "https://as.example/par");
    }

    #[test]
    fn http_only_to_loopback() {
        for ok in [
            "http://127.0.0.1:1/",
            "http://127.9.8.7/",
            "http://[::1]:8/",
            "http://localhost:3/",
            "http://LOCALHOST./",
            "https://example.com/",
        ] {
            assert!(parse_endpoint_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://example.com/",
            "http://10.0.0.1/",
            "http://128.0.0.1/",
            "http://[::2]/",
            "http://localhost.example.com/",
            "http://127.0.0.1.nip.io/",
        ] {
            assert!(
                matches!(parse_endpoint_url(bad), Err(Error::InsecureUrl { .. })),
                "{bad}"
            );
        }
        assert!(matches!(
            parse_endpoint_url("ftp://localhost/"),
            Err(Error::InvalidUrl { .. })
        ));
        assert!(matches!(
            parse_endpoint_url("https://u:p@example.com/"),
            Err(Error::InvalidUrl { .. })
        ));
    }
}
