//! The REST connector against a real local HTTP server: every authentication type, query
//! parameters and headers, bodies that are not JSON, redirects, timeouts, an oversized answer,
//! and the OAuth token it fetches once and reuses.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{
    Form, Json, Router,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Redirect},
    routing::{any, get, post},
};
use plane::connectors::rest::Rest;
use serde_json::{Value, json};

#[derive(Clone, Default)]
struct Seen {
    /// Every request to `/echo`: method, query and headers, and the raw body.
    echoes: Arc<Mutex<Vec<Value>>>,
    tokens_issued: Arc<AtomicUsize>,
}

async fn echo(
    State(seen): State<Seen>,
    method: axum::http::Method,
    Query(query): Query<Vec<(String, String)>>,
    headers: HeaderMap,
    body: String,
) -> Json<Value> {
    let headers: serde_json::Map<String, Value> = headers
        .iter()
        .map(|(k, v)| (k.to_string(), Value::String(v.to_str().unwrap().to_owned())))
        .collect();
    let seen_now =
        json!({ "method": method.as_str(), "query": query, "headers": headers, "body": body });
    seen.echoes.lock().unwrap().push(seen_now.clone());
    Json(seen_now)
}

async fn token(
    State(seen): State<Seen>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> impl IntoResponse {
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let in_body = field("client_id") == Some("cid") && field("client_secret") == Some("csecret");
    // "cid:csecret" in base64.
    let in_header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some("Basic Y2lkOmNzZWNyZXQ=");
    if field("grant_type") != Some("client_credentials") || !(in_body || in_header) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "invalid_client" })),
        );
    }
    let n = seen.tokens_issued.fetch_add(1, Ordering::SeqCst) + 1;
    let scope = field("scope").unwrap_or_default();
    let audience = field("audience").unwrap_or_default();
    (
        StatusCode::OK,
        Json(
            json!({ "access_token": format!("tok-{n}-{audience}-{scope}"), "expires_in": 300, "token_type": "Bearer" }),
        ),
    )
}

async fn server() -> (SocketAddr, Seen) {
    let seen = Seen::default();
    let app = Router::new()
        .route("/echo", any(echo))
        .route("/token", post(token))
        .route("/text", get(|| async { "plain words" }))
        .route("/empty", get(|| async { StatusCode::NO_CONTENT }))
        .route("/moved", get(|| async { Redirect::temporary("/text") }))
        .route(
            "/stall",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(5)).await;
                "late"
            }),
        )
        .route("/big", get(|| async { "x".repeat(10_000) }))
        .route(
            "/teapot",
            get(|| async { (StatusCode::IM_A_TEAPOT, Json(json!({ "why": "tea" }))) }),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (address, seen)
}

fn rest() -> Rest {
    Rest::new(4, 4096)
}

#[tokio::test]
async fn requests_carry_method_query_headers_body_and_the_idempotency_key() {
    let (address, _) = server().await;
    let answer = rest()
        .execute(
            &json!({
                "method": "patch",
                "url": format!("http://{address}/echo?fixed=1"),
                "queryParameters": { "q": "a b&c", "n": 12 },
                "headers": { "X-Trace": "t-1", "X-Count": 3 },
                "body": { "keep": 1, "drop": null },
                "ignoreNullValues": true
            }),
            "job-7",
        )
        .await
        .unwrap();
    assert_eq!(answer["status"], 200);
    let echoed = &answer["body"];
    assert_eq!(echoed["method"], "PATCH");
    // After the URL's own parameters; a context has no order, so by name.
    assert_eq!(
        echoed["query"],
        json!([["fixed", "1"], ["n", "12"], ["q", "a b&c"]])
    );
    assert_eq!(echoed["headers"]["x-trace"], "t-1");
    assert_eq!(echoed["headers"]["x-count"], "3");
    assert_eq!(echoed["headers"]["idempotency-key"], "job-7");
    assert_eq!(echoed["headers"]["content-type"], "application/json");
    assert_eq!(echoed["body"], r#"{"keep":1}"#);
    assert_eq!(answer["headers"]["content-type"], "application/json");

    // A model's own Idempotency-Key and Content-Type win; a text body goes as it is.
    let answer = rest()
        .execute(
            &json!({
                "method": "POST",
                "url": format!("http://{address}/echo"),
                "headers": { "Idempotency-Key": "mine", "Content-Type": "text/csv" },
                "body": "a,b\n1,2"
            }),
            "job-8",
        )
        .await
        .unwrap();
    assert_eq!(answer["body"]["headers"]["idempotency-key"], "mine");
    assert_eq!(answer["body"]["headers"]["content-type"], "text/csv");
    assert_eq!(answer["body"]["body"], "a,b\n1,2");
}

#[tokio::test]
async fn every_authentication_type_reaches_the_target() {
    let (address, seen) = server().await;
    let url = format!("http://{address}/echo");
    let call = |authentication: Value| {
        let url = url.clone();
        async move {
            rest()
                .execute(
                    &json!({ "url": url, "authentication": authentication }),
                    "k",
                )
                .await
                .unwrap()["body"]
                .clone()
        }
    };
    let basic = call(json!({ "type": "basic", "username": "ann", "password": "pw" })).await;
    assert_eq!(basic["headers"]["authorization"], "Basic YW5uOnB3");
    let bearer = call(json!({ "type": "bearer", "token": "t0k" })).await;
    assert_eq!(bearer["headers"]["authorization"], "Bearer t0k");
    let in_header = call(
        json!({ "type": "apiKey", "apiKeyLocation": "headers", "name": "X-Key", "value": "v1" }),
    )
    .await;
    assert_eq!(in_header["headers"]["x-key"], "v1");
    let in_query =
        call(json!({ "type": "apiKey", "apiKeyLocation": "query", "name": "key", "value": "v2" }))
            .await;
    assert_eq!(in_query["query"], json!([["key", "v2"]]));
    let none = call(json!({ "type": "noAuth" })).await;
    assert!(none["headers"].get("authorization").is_none());

    // OAuth client credentials: one token for both calls of a connector instance, with the
    // audience and scopes asked for; the client may authenticate in the body or the header.
    let connector = rest();
    for client_authentication in ["credentialsBody", "basicAuthHeader"] {
        let oauth = json!({
            "type": "oauth-client-credentials-flow",
            "oauthTokenEndpoint": format!("http://{address}/token"),
            "clientId": "cid",
            "clientSecret": "csecret",
            "audience": "payments",
            "scopes": client_authentication,
            "clientAuthentication": client_authentication
        });
        for _ in 0..2 {
            let answer = connector
                .execute(&json!({ "url": url, "authentication": oauth }), "k")
                .await
                .unwrap();
            let expected = format!(
                "Bearer tok-{}-payments-{client_authentication}",
                if client_authentication == "credentialsBody" {
                    1
                } else {
                    2
                }
            );
            assert_eq!(
                answer["body"]["headers"]["authorization"],
                expected.as_str()
            );
        }
    }
    assert_eq!(seen.tokens_issued.load(Ordering::SeqCst), 2);

    // A refused client is a failure that names the token endpoint, not the target.
    let refused = connector
        .execute(
            &json!({ "url": url, "authentication": {
                "type": "oauth-client-credentials-flow",
                "oauthTokenEndpoint": format!("http://{address}/token"),
                "clientId": "cid", "clientSecret": "wrong"
            }}),
            "k",
        )
        .await
        .unwrap_err();
    assert_eq!(refused.code, "OAUTH_TOKEN");
    assert!(refused.message.contains("401"), "{}", refused.message);
}

#[tokio::test]
async fn answers_that_are_not_json_redirects_errors_timeouts_and_size() {
    let (address, _) = server().await;
    let base = format!("http://{address}");
    let text = rest()
        .execute(&json!({ "url": format!("{base}/text") }), "k")
        .await
        .unwrap();
    assert_eq!(text["body"], "plain words");
    let empty = rest()
        .execute(&json!({ "url": format!("{base}/empty") }), "k")
        .await
        .unwrap();
    assert_eq!(
        (empty["status"].as_u64(), empty["body"].is_null()),
        (Some(204), true)
    );

    // Redirects are not followed unless asked for, as in Camunda's connector.
    let moved = rest()
        .execute(&json!({ "url": format!("{base}/moved") }), "k")
        .await
        .unwrap();
    assert_eq!(moved["status"], 307);
    let followed = rest()
        .execute(
            &json!({ "url": format!("{base}/moved"), "followRedirects": true }),
            "k",
        )
        .await
        .unwrap();
    assert_eq!(followed["body"], "plain words");

    // A status of 400 or more fails with the status as the code and the answer kept.
    let teapot = rest()
        .execute(&json!({ "url": format!("{base}/teapot") }), "k")
        .await
        .unwrap_err();
    assert_eq!(teapot.code, "418");
    assert_eq!(teapot.response.unwrap()["body"]["why"], "tea");
    assert!(teapot.retryable && !teapot.host_failed);

    let late = rest()
        .execute(
            &json!({ "url": format!("{base}/stall"), "readTimeoutInSeconds": "1" }),
            "k",
        )
        .await
        .unwrap_err();
    assert_eq!(late.code, "TIMEOUT");
    assert!(late.host_failed);

    let big = rest()
        .execute(&json!({ "url": format!("{base}/big") }), "k")
        .await
        .unwrap_err();
    assert_eq!(
        (big.code.as_str(), big.retryable),
        ("RESPONSE_TOO_LARGE", false)
    );

    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap()
    };
    let refused = rest()
        .execute(&json!({ "url": format!("http://{closed}/") }), "k")
        .await
        .unwrap_err();
    assert_eq!(refused.code, "CONNECTION_FAILED");
}
