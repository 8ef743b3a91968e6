//! Sign-in, sessions, lockout, CSRF, the error shape and the first-start seed.

use serde_json::{Value, json};

use crate::helpers::{TestApp, create_database, shared_tempdir, test_config};

pub(crate) const PASSWORD: &str = "correct horse battery";

pub(crate) async fn error_body(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status(), status);
    let request_id = response
        .headers()
        .get("x-request-id")
        .expect("every response has a request id")
        .to_str()
        .unwrap()
        .to_owned();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["correlation_id"], request_id.as_str(), "{body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    body
}

#[tokio::test]
async fn sign_in_sets_a_hardened_cookie_and_a_new_session_id_each_time() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("ada@example.com", PASSWORD, false).await;
    let login = || {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("origin", &app.address)
            .json(&json!({ "email": "Ada@Example.com", "password": PASSWORD }))
            .send()
    };
    let first = login().await.unwrap();
    assert_eq!(first.status(), 200);
    let cookie = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("astraflow_session="), "{cookie}");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP in development: {cookie}"
    );
    let me: Value = first.json().await.unwrap();
    assert_eq!(me["label"], "ada@example.com");

    // Signing in again with the old cookie yields a different session id.
    let old = cookie.split(';').next().unwrap().to_owned();
    let second = app
        .client
        .post(app.url("/api/v1/auth/login"))
        .header("origin", &app.address)
        .header("cookie", &old)
        .json(&json!({ "email": "ada@example.com", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(second.status(), 200);
    let rotated = second.headers()["set-cookie"].to_str().unwrap();
    assert_ne!(rotated.split(';').next().unwrap(), old);
    app.stop().await;
}

#[tokio::test]
async fn wrong_credentials_get_one_answer_and_repeated_failures_lock_the_account() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("bob@example.com", PASSWORD, false).await;
    let client = app.browser();
    let attempt = |email: &'static str, password: &'static str| {
        client
            .post(app.url("/api/v1/auth/login"))
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    let unknown = error_body(
        attempt("nobody@example.com", "whatever").await.unwrap(),
        401,
    )
    .await;
    assert_eq!(unknown["code"], "bad_credentials");
    // An address no database text can hold is just another unknown one.
    let impossible = error_body(
        attempt("bob\u{0}@example.com", "whatever").await.unwrap(),
        401,
    )
    .await;
    assert_eq!(impossible["code"], "bad_credentials");
    for _ in 0..5 {
        let wrong = error_body(
            attempt("bob@example.com", "wrong password").await.unwrap(),
            401,
        )
        .await;
        assert_eq!(wrong["code"], "bad_credentials");
    }
    // Locked now: even the right password is refused, with a hint when to retry.
    let locked = attempt("bob@example.com", PASSWORD).await.unwrap();
    let retry_after: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after));
    assert_eq!(error_body(locked, 423).await["code"], "locked");
    app.stop().await;
}

#[tokio::test]
async fn sign_out_ends_the_session_and_the_absolute_lifetime_is_enforced() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("cy@example.com", PASSWORD, false).await;
    let client = app.sign_in("cy@example.com", PASSWORD).await;
    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), 200);
    let out = client
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(error_body(me, 401).await["code"], "unauthenticated");
    app.stop().await;

    // A server whose sessions may not outlive their sign-in at all.
    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.auth.session_absolute_hours = 0;
    let app = TestApp::spawn(config).await;
    app.create_user("cy@example.com", PASSWORD, false).await;
    let client = app.sign_in("cy@example.com", PASSWORD).await;
    let me = client.get(app.url("/api/v1/me")).send().await.unwrap();
    assert_eq!(me.status(), 401);
    app.stop().await;
}

#[tokio::test]
async fn state_changing_requests_from_other_origins_are_refused() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let client = app.sign_in("root@example.com", PASSWORD).await;
    for origin in [Some("http://evil.example"), None] {
        let mut request = client
            .post(app.url("/api/v1/tenants"))
            .json(&json!({ "id": "forged", "name": "Forged" }));
        // The signed-in client sends our origin by default; replace or drop it.
        request = match origin {
            Some(origin) => request.header("origin", origin),
            None => request.header("origin", ""),
        };
        let response = request.send().await.unwrap();
        assert_eq!(
            error_body(response, 403).await["code"],
            "cross_site_request"
        );
    }
    let same_origin = client
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "real", "name": "Real" }))
        .send()
        .await
        .unwrap();
    assert_eq!(same_origin.status(), 201);
    // Without a cookie or a browser's headers there is no authority to forge: plain 401.
    let anonymous = reqwest::Client::new()
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "anon", "name": "Anon" }))
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(anonymous, 401).await["code"], "unauthenticated");
    app.stop().await;
}

#[tokio::test]
async fn a_password_change_ends_the_other_sessions_and_renews_this_one() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("ada@example.com", PASSWORD, false).await;
    // The same account on two devices, each with its own session cookie.
    let login = || async {
        let response = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("origin", &app.address)
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let cookie = response.headers()["set-cookie"].to_str().unwrap();
        cookie.split(';').next().unwrap().to_owned()
    };
    let (laptop, phone) = (login().await, login().await);
    let me = |cookie: String| {
        let app = &app;
        async move {
            app.client
                .get(app.url("/api/v1/me"))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(me(laptop.clone()).await, 200);
    assert_eq!(me(phone.clone()).await, 200);

    let changed = app
        .client
        .post(app.url("/api/v1/me/password"))
        .header("origin", &app.address)
        .header("cookie", &laptop)
        .json(&json!({ "current_password": PASSWORD, "new_password": "a new and long passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let renewed = changed.headers()["set-cookie"].to_str().unwrap();
    let renewed = renewed.split(';').next().unwrap().to_owned();
    assert_ne!(renewed, laptop, "the session id changes");

    assert_eq!(me(renewed).await, 200, "the changing session goes on");
    assert_eq!(me(phone).await, 401, "the other session has ended");
    assert_eq!(me(laptop).await, 401, "the old id is worthless");
    app.stop().await;
}

#[tokio::test]
async fn a_removed_member_loses_the_tenant_in_sessions_already_open() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    app.create_user("root@example.com", PASSWORD, true).await;
    let member = app.create_user("member@example.com", PASSWORD, false).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let created = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "alpha", "name": "Alpha" }))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let added = admin
        .post(app.url("/api/v1/tenants/alpha/users"))
        .json(&json!({ "email": "member@example.com", "role": "editor" }))
        .send()
        .await
        .unwrap();
    assert_eq!(added.status(), 201);
    let session = app.sign_in("member@example.com", PASSWORD).await;
    let read = || session.get(app.url("/api/v1/tenants/alpha")).send();
    assert_eq!(read().await.unwrap().status(), 200);

    let removed = admin
        .delete(app.url(&format!("/api/v1/tenants/alpha/users/{member}")))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    // The very next request of the open session: not found, as for any stranger.
    assert_eq!(
        error_body(read().await.unwrap(), 404).await["code"],
        "not_found"
    );
    let me: Value = session
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["memberships"], json!([]), "{me}");
    app.stop().await;
}

#[tokio::test]
async fn errors_are_json_with_the_request_id() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let unknown = app.get("/api/v1/no-such-thing").await;
    assert_eq!(error_body(unknown, 404).await["code"], "not_found");

    app.create_user("root@example.com", PASSWORD, true).await;
    let admin = app.sign_in("root@example.com", PASSWORD).await;
    let malformed = admin
        .post(app.url("/api/v1/tenants"))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(malformed, 400).await["code"], "bad_request");
    let invalid = admin
        .post(app.url("/api/v1/tenants"))
        .json(&json!({ "id": "acme", "name": "Acme", "cloud": { "aws_account_id": "12345" } }))
        .send()
        .await
        .unwrap();
    let body = error_body(invalid, 422).await;
    assert_eq!(body["code"], "invalid");
    assert!(
        body["message"].as_str().unwrap().contains("aws_account_id"),
        "{body}"
    );

    // A request id the caller sends is kept, so calls can be traced across systems.
    let traced = app
        .client
        .get(app.url("/api/v1/me"))
        .header("x-request-id", "trace-123")
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(traced, 401).await["correlation_id"], "trace-123");
    app.stop().await;
}

#[tokio::test]
async fn first_start_seeds_an_admin_with_a_one_time_password() {
    let (app, _dir) = TestApp::with_fresh_database().await;
    let pool = app.owner_pool().await;
    let admin = server::seed::first_start(&pool, None)
        .await
        .unwrap()
        .expect("seeded");
    assert!(
        server::seed::first_start(&pool, None)
            .await
            .unwrap()
            .is_none(),
        "seeds once"
    );
    let admin_password = admin.password.clone().expect("a generated password");
    assert_eq!(admin_password.len(), 20);

    let client = app.sign_in(&admin.email, &admin_password).await;
    let me: Value = client
        .get(app.url("/api/v1/me"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["must_change_password"], true);
    assert_eq!(me["platform_admin"], true);
    assert_eq!(me["memberships"][0]["tenant_id"], "demo");
    assert_eq!(me["memberships"][0]["role"], "owner");
    let refused = client
        .get(app.url("/api/v1/tenants/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(error_body(refused, 403).await["code"], "forbidden");

    let changed = client
        .post(app.url("/api/v1/me/password"))
        .json(&json!({ "current_password": admin_password, "new_password": "a much better passphrase" }))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 204);
    let demo = client
        .get(app.url("/api/v1/tenants/demo"))
        .send()
        .await
        .unwrap();
    assert_eq!(demo.status(), 200);
    // The one-time password is gone.
    let old = app
        .browser()
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({ "email": admin.email, "password": admin_password }))
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), 401);

    // Another installation gets another password.
    let (other, _other_dir) = TestApp::with_fresh_database().await;
    let other_pool = other.owner_pool().await;
    let second = server::seed::first_start(&other_pool, None)
        .await
        .unwrap()
        .unwrap();
    assert_ne!(second.password, admin.password);
    other.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn callers_over_their_request_allowance_get_429_with_retry_after() {
    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.auth.requests_per_minute = 3;
    let app = TestApp::spawn(config).await;
    app.create_user("dee@example.com", PASSWORD, false).await;
    app.create_user("eve@example.com", PASSWORD, false).await;
    let dee = app.sign_in("dee@example.com", PASSWORD).await;
    for _ in 0..3 {
        assert_eq!(
            dee.get(app.url("/api/v1/me"))
                .send()
                .await
                .unwrap()
                .status(),
            200
        );
    }
    let limited = dee.get(app.url("/api/v1/me")).send().await.unwrap();
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=20).contains(&retry_after), "{retry_after}");
    assert_eq!(error_body(limited, 429).await["code"], "rate_limited");
    // Another user has their own allowance.
    let eve = app.sign_in("eve@example.com", PASSWORD).await;
    assert_eq!(
        eve.get(app.url("/api/v1/me"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    app.stop().await;
}

#[tokio::test]
async fn sign_in_attempts_are_limited_per_address_and_per_account_before_any_check() {
    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.auth.sign_ins_per_minute_per_address = 5;
    config.auth.sign_ins_per_minute_per_account = 3;
    let app = TestApp::spawn(config).await;
    app.create_user("ada@example.com", PASSWORD, false).await;
    let attempt = |email: &'static str, password: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("origin", &app.address)
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    let failures = || async {
        let pool = app.owner_pool().await;
        let failures: i32 =
            sqlx::query_scalar("select failed_logins from users where email = 'ada@example.com'")
                .fetch_one(&pool)
                .await
                .unwrap();
        pool.close().await;
        failures
    };

    assert_eq!(
        attempt("nobody@example.com", "wrong")
            .await
            .unwrap()
            .status(),
        401
    );
    // Three guesses for one account, then it is limited, whatever the spelling of its email.
    for _ in 0..3 {
        assert_eq!(
            attempt("ada@example.com", "wrong").await.unwrap().status(),
            401
        );
    }
    let limited = attempt(" ADA@example.com", "wrong").await.unwrap();
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");
    assert_eq!(error_body(limited, 429).await["code"], "rate_limited");
    // The address has spent its five attempts: an account never tried before is limited too,
    // and so is the right password — refused before anything was looked up or hashed.
    assert_eq!(
        error_body(attempt("someone@example.com", "wrong").await.unwrap(), 429).await["code"],
        "rate_limited"
    );
    assert_eq!(
        attempt("ada@example.com", PASSWORD).await.unwrap().status(),
        429
    );
    assert_eq!(failures().await, 3, "only the checked guesses were counted");
    app.stop().await;
}

#[tokio::test]
async fn cookies_are_secure_over_tls_as_a_trusted_proxy_reports_it_and_only_then() {
    let login = |app: &TestApp, proto: Option<&'static str>| {
        let mut request = app
            .client
            .post(app.url("/api/v1/auth/login"))
            .header("origin", &app.address)
            .json(&json!({ "email": "ada@example.com", "password": PASSWORD }));
        if let Some(proto) = proto {
            request = request.header("x-forwarded-proto", proto);
        }
        request.send()
    };
    let secure = |response: &reqwest::Response| {
        let cookie = response.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .to_owned();
        (
            cookie.split(';').any(|a| a.trim() == "Secure"),
            response.headers().contains_key("strict-transport-security"),
        )
    };

    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    let behind_proxy = TestApp::spawn(config).await;
    behind_proxy
        .create_user("ada@example.com", PASSWORD, false)
        .await;
    let over_tls = login(&behind_proxy, Some("https")).await.unwrap();
    assert_eq!(over_tls.status(), 200);
    assert_eq!(secure(&over_tls), (true, true));
    let plain = login(&behind_proxy, Some("http")).await.unwrap();
    assert_eq!(secure(&plain), (false, false));
    behind_proxy.stop().await;

    // The same header from an address that is not a trusted proxy changes nothing.
    let (direct, _dir) = TestApp::with_fresh_database().await;
    direct.create_user("ada@example.com", PASSWORD, false).await;
    let claimed = login(&direct, Some("https")).await.unwrap();
    assert_eq!(claimed.status(), 200);
    assert_eq!(secure(&claimed), (false, false));
    direct.stop().await;
}

#[tokio::test]
async fn behind_a_trusted_proxy_sign_in_limits_count_per_forwarded_client() {
    let dir = shared_tempdir();
    let mut config = test_config(Some(create_database().await), dir.path());
    config.http.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    config.auth.sign_ins_per_minute_per_address = 2;
    let app = TestApp::spawn(config).await;
    let attempt = |email: &'static str, forwarded_for: &'static str| {
        app.client
            .post(app.url("/api/v1/auth/login"))
            .header("origin", &app.address)
            .header("x-forwarded-for", forwarded_for)
            .json(&json!({ "email": email, "password": "wrong" }))
            .send()
    };
    // Two clients behind the same proxy each have their own allowance.
    for email in ["a@example.com", "b@example.com"] {
        assert_eq!(attempt(email, "203.0.113.7").await.unwrap().status(), 401);
    }
    assert_eq!(
        attempt("c@example.com", "203.0.113.7")
            .await
            .unwrap()
            .status(),
        429
    );
    assert_eq!(
        attempt("c@example.com", "198.51.100.9")
            .await
            .unwrap()
            .status(),
        401
    );
    // What a client writes before the proxy's entry does not buy it a new allowance.
    assert_eq!(
        attempt("d@example.com", "10.9.9.9, 203.0.113.7")
            .await
            .unwrap()
            .status(),
        429
    );
    app.stop().await;
}
