//! Cross-site request forgery protection for browser requests.
//!
//! The choice: session cookies are `SameSite=Lax`, so browsers do not attach them to
//! cross-site POST, PUT or DELETE requests; and, as a second, independent check, every
//! state-changing request that is not authenticated by an `Authorization` header must show it
//! comes from our own origin — `Sec-Fetch-Site: same-origin`, or an `Origin` header whose host
//! is the request's `Host`. Browsers set both headers themselves and pages cannot forge them.
//! Bearer-token clients carry no ambient credentials and are exempt, as is a request with no
//! cookie and neither header: no browser sends a cross-site POST like that, and without a
//! cookie it has no authority to borrow, so it meets the ordinary 401 instead. This needs no token in
//! forms or server-function calls, so the Leptos app works unchanged.
//!
//! The OAuth token endpoint (`POST /oauth/token`) is exempt altogether: it authenticates only
//! the client credentials in the request itself and never looks at a session, so a forged
//! request could borrow nothing — and OAuth clients send no `Origin`, but may well keep a
//! cookie jar.

use axum::{
    extract::Request,
    http::{Method, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

use crate::error::ApiError;

/// Middleware refusing cross-site state-changing requests.
pub async fn same_origin_only(request: Request, next: Next) -> Response {
    if is_safe(request.method())
        || request.headers().contains_key(header::AUTHORIZATION)
        || without_ambient_authority(request.uri().path())
    {
        return next.run(request).await;
    }
    if from_same_origin(request.headers()) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-site request refused");
        ApiError::CrossSite.into_response()
    }
}

/// Endpoints that never act on a session's authority, so there is nothing to forge.
fn without_ambient_authority(path: &str) -> bool {
    path == "/oauth/token"
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn from_same_origin(headers: &axum::http::HeaderMap) -> bool {
    let text = |name| headers.get(name).and_then(|value| value.to_str().ok());
    match (text(header::ORIGIN.as_str()), text("sec-fetch-site")) {
        (Some(origin), _) => {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            host.is_some() && host == text(header::HOST.as_str())
        }
        (None, Some(site)) => site == "same-origin",
        (None, None) => !headers.contains_key(header::COOKIE),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::{HeaderMap, HeaderValue};

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn only_our_own_origin_passes() {
        assert!(from_same_origin(&headers(&[
            ("host", "localhost:3000"),
            ("origin", "http://localhost:3000")
        ])));
        assert!(from_same_origin(&headers(&[(
            "sec-fetch-site",
            "same-origin"
        )])));
        assert!(!from_same_origin(&headers(&[
            ("host", "localhost:3000"),
            ("origin", "http://evil.example")
        ])));
        assert!(!from_same_origin(&headers(&[
            ("host", "localhost:3000"),
            ("origin", "null")
        ])));
        assert!(!from_same_origin(&headers(&[(
            "sec-fetch-site",
            "cross-site"
        )])));
        assert!(!from_same_origin(&headers(&[
            ("host", "localhost:3000"),
            ("cookie", "id=abc")
        ])));
        // Not a browser and no cookie: nothing to forge, the request is simply anonymous.
        assert!(from_same_origin(&headers(&[("host", "localhost:3000")])));
    }
}
