//! Admin access, over HTTP against the whole app: every admin page, server function and
//! runs route refuses anonymous, signed-out and non-admin callers; passwords, throttling,
//! expiry, sign-out and forgery protection; runs started, watched, cancelled and drilled
//! into; moderation that a refresh does not undo; the audit log.

mod common;

use common::{spawn_app, spawn_app_with, Backend, TestApp};
use reqwest::header::{HeaderMap, HeaderValue};
use reqwest::StatusCode;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};
use serde_json::{json, Value};

const PASSWORD: &str = "a long enough password";

/// A form body, as a browser posts it.
trait FormBody {
    fn form_body<T: serde::Serialize + ?Sized>(self, pairs: &T) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body<T: serde::Serialize + ?Sized>(self, pairs: &T) -> Self {
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(serde_urlencoded::to_string(pairs).unwrap())
    }
}

fn no_redirects() -> reqwest::Client {
    common::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `POST path` with a bearer token and a JSON body.
async fn post_as(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

/// Creates an account and signs it in through the JSON API; answers its bearer token.
async fn account(app: &TestApp, name: &str, role: &str) -> String {
    app::auth::add_user(&app.db, name, PASSWORD, role)
        .await
        .expect("account added");
    sign_in(app, name, PASSWORD).await.1["token"]
        .as_str()
        .expect("a token")
        .to_string()
}

async fn sign_in(app: &TestApp, name: &str, password: &str) -> (StatusCode, Value, HeaderMap) {
    let resp = app
        .client
        .post(app.url("/api/v1/session"))
        .json(&json!({"username": name, "password": password}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = resp.json().await.unwrap_or(Value::Null);
    (status, body, headers)
}

/// The headers a browser sends with a same-site request carrying the session cookie.
fn browser(app: &TestApp, token: &str) -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "cookie",
        HeaderValue::from_str(&format!("ts_session={token}")).unwrap(),
    );
    h.insert("origin", HeaderValue::from_str(&app.address).unwrap());
    h
}

/// Every admin entry point: (method, path, body) for pages, server functions and routes.
fn admin_entry_points() -> Vec<(&'static str, String, &'static str)> {
    let mut out = Vec::new();
    // Server functions, as the framework registered them.
    let mut fns: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .filter(|p| p.starts_with(app::admin::PREFIX))
        .collect();
    fns.sort();
    assert_eq!(
        fns,
        [
            "/api/admin/cancel_refresh",
            "/api/admin/hide_event",
            "/api/admin/overview",
            "/api/admin/run",
            "/api/admin/show_event",
            "/api/admin/start_refresh",
        ],
        "the admin server functions changed: check that the guard covers the new ones"
    );
    for f in fns {
        out.push((
            "POST",
            f,
            "run_id=1&event_id=x&reason=y&mode=full&class=new&page=1",
        ));
    }
    // Pages, as the router lists them.
    for route in server::route_list() {
        let path = route.path().to_string();
        if path.starts_with("/admin") {
            out.push(("GET", path.replace(":id", "1").replace("{id}", "1"), ""));
        }
    }
    assert!(out.iter().any(|(_, p, _)| p == "/admin/runs/1"), "{out:?}");
    // API routes the OpenAPI document marks as needing a session.
    let doc: Value = serde_json::from_str(include_str!("../src/api/openapi.json")).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if op.get("security").is_some() {
                let m = match method.as_str() {
                    "get" => "GET",
                    "post" => "POST",
                    "delete" => "DELETE",
                    other => panic!("unexpected method {other}"),
                };
                out.push((m, path.replace("{id}", "1"), "{}"));
            }
        }
    }
    assert!(
        out.iter()
            .filter(|(_, p, _)| p.starts_with("/api/v1/runs"))
            .count()
            >= 5
    );
    out
}

/// Sends `GET path` exactly as written and answers the status code.
async fn raw_get_status(app: &TestApp, path: &str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut head = vec![0u8; 12];
    stream.read_exact(&mut head).await.unwrap();
    String::from_utf8_lossy(&head[9..12]).parse().unwrap()
}

async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    body: &'static str,
    headers: HeaderMap,
) -> (StatusCode, String) {
    let req = match method {
        "GET" => app.client.get(app.url(path)),
        "DELETE" => app.client.delete(app.url(path)),
        _ => {
            let ct = if path.starts_with("/api/admin") {
                "application/x-www-form-urlencoded"
            } else {
                "application/json"
            };
            app.client
                .post(app.url(path))
                .header("content-type", ct)
                .body(body)
        }
    };
    let resp = req.headers(headers).send().await.unwrap();
    (resp.status(), resp.text().await.unwrap())
}

async fn every_admin_entry_point_refuses_anonymous_signed_out_and_viewers(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let admin_token = account(&app, "root", "admin").await;
    // A run to leak, if anything leaked.
    let started = post_as(
        &app,
        &admin_token,
        "/api/v1/runs",
        json!({"mode": "incremental"}),
    )
    .await;
    assert_eq!(started.status(), StatusCode::ACCEPTED);
    let viewer_token = account(&app, "guest", "viewer").await;
    // A signed-out user: signed in, then out.
    let gone_token = account(&app, "leaver", "admin").await;
    let out = app
        .client
        .delete(app.url("/api/v1/session"))
        .bearer_auth(&gone_token)
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);

    let points = admin_entry_points();
    for (method, path, body) in &points {
        for (who, headers, want) in [
            ("anonymous", HeaderMap::new(), StatusCode::UNAUTHORIZED),
            (
                "signed out (cookie)",
                browser(&app, &gone_token),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "signed out (bearer)",
                {
                    let mut h = HeaderMap::new();
                    h.insert(
                        "authorization",
                        HeaderValue::from_str(&format!("Bearer {gone_token}")).unwrap(),
                    );
                    h
                },
                StatusCode::UNAUTHORIZED,
            ),
            (
                "forged token",
                browser(&app, &"0".repeat(64)),
                StatusCode::UNAUTHORIZED,
            ),
            (
                "viewer",
                browser(&app, &viewer_token),
                StatusCode::FORBIDDEN,
            ),
        ] {
            let (status, text) = call(&app, method, path, body, headers).await;
            assert_eq!(status, want, "{who}: {method} {path}: {text}");
            for secret in ["root", "incremental", "succeeded", "running", "demo"] {
                assert!(
                    !text.contains(secret),
                    "{who}: {method} {path} leaks `{secret}`: {text}"
                );
            }
        }
    }
    // Paths that resolve to admin pages only after dot segments are applied (sent as raw
    // bytes: HTTP clients would resolve them first).
    for raw in [
        "/x/../admin",
        "/./admin/runs/1",
        "/x/%2e%2e/admin",
        "/x/%2E%2E/api/v1/runs",
    ] {
        let status = raw_get_status(&app, raw).await;
        assert_eq!(status, 401, "GET {raw}");
    }
    // The same entry points answer an administrator.
    let (status, text) = call(
        &app,
        "POST",
        "/api/admin/overview",
        "",
        browser(&app, &admin_token),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("\"username\":\"root\""), "{text}");
    let (status, text) = call(&app, "GET", "/admin", "", browser(&app, &admin_token)).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains("Signed in as"), "{text}");
}

async fn sign_in_cookie_is_strict_and_sign_out_ends_the_session(backend: Backend) {
    let app = spawn_app(backend, false).await;
    app::auth::add_user(&app.db, "Ana", PASSWORD, "admin")
        .await
        .unwrap();
    let client = no_redirects();
    // The form: a wrong password is refused with the same words as an unknown name.
    let mut answers = Vec::new();
    for (name, pw) in [("ana", "wrong password!"), ("nobody", PASSWORD)] {
        let resp = client
            .post(app.url("/admin/sign-in"))
            .header("origin", &app.address)
            .form_body(&[("username", name), ("password", pw), ("next", "/admin")])
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
        assert!(resp.headers().get("set-cookie").is_none());
        answers.push(resp.text().await.unwrap());
    }
    assert_eq!(
        answers[0], answers[1],
        "the answer must not tell whether the account exists"
    );
    assert!(answers[0].contains("Wrong user name or password"));

    let resp = client
        .post(app.url("/admin/sign-in"))
        .header("origin", &app.address)
        .form_body(&[
            ("username", "ANA"),
            ("password", PASSWORD),
            ("next", "https://evil.example/"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        resp.headers()["location"],
        "/admin",
        "only admin paths may follow a sign-in"
    );
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age="] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let token = cookie
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("ts_session=")
        .unwrap()
        .to_string();
    assert_eq!(token.len(), 64);
    // Only a hash of the token is stored.
    let stored = app::store::entities::session::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token_hash, token);

    let page = client
        .get(app.url("/admin"))
        .headers(browser(&app, &token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert_eq!(page.headers()["cache-control"], "no-store");

    // Over HTTPS (as the proxy says) the cookie is Secure.
    let resp = client
        .post(app.url("/admin/sign-in"))
        .header("origin", &app.address)
        .header("x-forwarded-proto", "https")
        .form_body(&[("username", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    // Sign out: the cookie is cleared and the old token no longer opens anything.
    let resp = client
        .post(app.url("/admin/sign-out"))
        .headers(browser(&app, &token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    assert!(resp.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("Max-Age=0"));
    let page = client
        .get(app.url("/admin"))
        .headers(browser(&app, &token))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    assert!(page.text().await.unwrap().contains("/admin/sign-in"));
    let actions: Vec<String> = app::store::admin::audit_log(&app.db, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {}", a.actor, a.action))
        .collect();
    assert!(actions.contains(&"ana sign_in".to_string()), "{actions:?}");
    assert!(actions.contains(&"ana sign_out".to_string()), "{actions:?}");
}

async fn sessions_expire_after_their_lifetime_and_when_idle(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let token = account(&app, "ana", "admin").await;
    let admin = |t: String| {
        let app = &app;
        async move {
            call(app, "GET", "/api/v1/runs", "", browser(app, &t))
                .await
                .0
        }
    };
    assert_eq!(admin(token.clone()).await, StatusCode::OK);
    let past = chrono::Utc::now() - chrono::Duration::minutes(1);
    app::store::entities::session::Entity::update_many()
        .col_expr(
            app::store::entities::session::Column::ExpiresAt,
            sea_orm::sea_query::Expr::value(past),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(admin(token.clone()).await, StatusCode::UNAUTHORIZED);
    assert!(
        app::store::entities::session::Entity::find()
            .all(&app.db)
            .await
            .unwrap()
            .is_empty(),
        "an expired session is deleted"
    );

    let idle_token = sign_in(&app, "ana", PASSWORD).await.1["token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(admin(idle_token.clone()).await, StatusCode::OK);
    let long_ago = chrono::Utc::now() - app.config.auth.idle - chrono::Duration::minutes(1);
    app::store::entities::session::Entity::update_many()
        .col_expr(
            app::store::entities::session::Column::LastSeenAt,
            sea_orm::sea_query::Expr::value(long_ago),
        )
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(admin(idle_token).await, StatusCode::UNAUTHORIZED);
}

async fn sign_in_attempts_are_throttled_per_account_and_per_address(backend: Backend) {
    let app = spawn_app(backend, false).await;
    app::auth::add_user(&app.db, "ana", PASSWORD, "admin")
        .await
        .unwrap();
    app::auth::add_user(&app.db, "bo", PASSWORD, "admin")
        .await
        .unwrap();
    for _ in 0..app::auth::ACCOUNT_ATTEMPTS {
        assert_eq!(
            sign_in(&app, "ana", "not the password").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    // Locked: even the right password is refused, with a time to wait.
    let (status, body, headers) = sign_in(&app, "ana", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            > 60
    );
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("too many"));
    // An unknown account is throttled the same way (its existence stays secret).
    for _ in 0..app::auth::ACCOUNT_ATTEMPTS {
        sign_in(&app, "ghost", "whatever it is").await;
    }
    assert_eq!(
        sign_in(&app, "ghost", "whatever it is").await.0,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Another account from the same address still signs in.
    assert_eq!(sign_in(&app, "bo", PASSWORD).await.0, StatusCode::CREATED);
    // When the lock ends, the right password works again.
    let earlier = chrono::Utc::now() - chrono::Duration::hours(1);
    use app::store::entities::sign_in_throttle;
    sign_in_throttle::Entity::update_many()
        .col_expr(
            sign_in_throttle::Column::LockedUntil,
            sea_orm::sea_query::Expr::value(earlier),
        )
        .col_expr(
            sign_in_throttle::Column::WindowStart,
            sea_orm::sea_query::Expr::value(earlier),
        )
        .filter(sign_in_throttle::Column::Key.starts_with("user:ana"))
        .exec(&app.db)
        .await
        .unwrap();
    assert_eq!(sign_in(&app, "ana", PASSWORD).await.0, StatusCode::CREATED);
    // Per address: many names guessed from one address lock the address for everyone.
    for i in 0..app::auth::ADDRESS_ATTEMPTS {
        sign_in(&app, &format!("guess{i}"), "nope nope nope").await;
    }
    let (status, _, _) = sign_in(&app, "bo", PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
}

/// Behind a trusted proxy: each address counts separately (by the hop the proxy added, not
/// what the client claims), and one account guessed at from many addresses locks.
async fn an_account_guessed_from_many_addresses_locks(backend: Backend) {
    let app = spawn_app_with(backend, false, |c| c.auth.trust_proxy = true).await;
    app::auth::add_user(&app.db, "ana", PASSWORD, "admin")
        .await
        .unwrap();
    let attempt = |i: u32, password: &'static str| {
        let app = &app;
        async move {
            app.client
                .post(app.url("/api/v1/session"))
                // The first entry is the client's own claim, the same every time.
                .header(
                    "x-forwarded-for",
                    format!("6.6.6.6, 10.0.{}.{}", i / 250, i % 250),
                )
                .json(&json!({"username": "ana", "password": password}))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    for i in 0..app::auth::ACCOUNT_ATTEMPTS_EVERYWHERE as u32 {
        assert_eq!(
            attempt(i, "wrong guess 123").await,
            StatusCode::UNAUTHORIZED,
            "attempt {i}"
        );
    }
    assert_eq!(attempt(999, PASSWORD).await, StatusCode::TOO_MANY_REQUESTS);
    let refused = app::store::admin::audit_log(&app.db, 100)
        .await
        .unwrap()
        .into_iter()
        .filter(|a| a.action == "sign_in_refused" && a.target == "ana")
        .count();
    assert_eq!(refused, app::auth::ACCOUNT_ATTEMPTS_EVERYWHERE as usize);
}

async fn forged_cross_site_requests_are_refused(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let token = account(&app, "ana", "admin").await;
    let runs_before = app::store::admin::runs(&app.db, 100, None)
        .await
        .unwrap()
        .len();
    let cookie = format!("ts_session={token}");
    for (label, extra) in [
        ("foreign origin", vec![("origin", "http://evil.example")]),
        ("null origin", vec![("origin", "null")]),
        ("cross-site fetch", vec![("sec-fetch-site", "cross-site")]),
        ("no origin at all", vec![]),
    ] {
        for (path, ct, body) in [
            ("/api/v1/runs", "application/json", "{\"mode\":\"full\"}"),
            (
                "/api/admin/start_refresh",
                "application/x-www-form-urlencoded",
                "mode=full",
            ),
            (
                "/api/admin/hide_event",
                "application/x-www-form-urlencoded",
                "event_id=x&reason=spam",
            ),
        ] {
            let mut req = app
                .client
                .post(app.url(path))
                .header("cookie", &cookie)
                .header("content-type", ct)
                .body(body);
            for (k, v) in &extra {
                req = req.header(*k, *v);
            }
            let resp = req.send().await.unwrap();
            assert_eq!(resp.status(), StatusCode::FORBIDDEN, "{label}: {path}");
            assert!(
                resp.text().await.unwrap().contains("cross_site"),
                "{label}: {path}"
            );
        }
    }
    // Signing someone in from another site is refused too.
    let resp = no_redirects()
        .post(app.url("/admin/sign-in"))
        .header("origin", "http://evil.example")
        .form_body(&[("username", "ana"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        app::store::admin::runs(&app.db, 100, None)
            .await
            .unwrap()
            .len(),
        runs_before,
        "no forged request started a run"
    );
    // The same request from this site, or with a bearer token, goes through.
    let resp = app
        .client
        .post(app.url("/api/v1/runs"))
        .header("cookie", &cookie)
        .header("sec-fetch-site", "same-origin")
        .json(&json!({"mode": "full"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
}

/// Checks that travellers find the event nowhere; answers how many events they do find.
async fn hidden_everywhere(app: &TestApp, id: &str) -> i64 {
    let (_, list) = app.get_json("/api/v1/events?limit=100").await;
    assert!(list["items"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["id"] != id));
    assert_eq!(app.get(&format!("/api/v1/events/{id}")).await.status(), 404);
    assert_eq!(app.get(&format!("/events/{id}")).await.status(), 404);
    assert_eq!(
        app.get(&format!("/api/v1/events/{id}/calendar.ics"))
            .await
            .status(),
        404
    );
    list["total"].as_i64().unwrap()
}

/// Polls a run until it is no longer running.
async fn finished(app: &TestApp, token: &str, id: i64) -> Value {
    for _ in 0..600 {
        let resp = app
            .client
            .get(app.url(&format!("/api/v1/runs/{id}")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::OK);
        let run: Value = resp.json().await.unwrap();
        if run["status"] != "running" {
            return run;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("run {id} did not finish in 60 s");
}

async fn admins_start_watch_and_drill_into_runs(backend: Backend) {
    let app = spawn_app(backend, false).await;
    let token = account(&app, "ana", "admin").await;
    let resp = post_as(&app, &token, "/api/v1/runs", json!({"mode": "sideways"})).await;
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = post_as(&app, &token, "/api/v1/runs", json!({"mode": "full"})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let run: Value = resp.json().await.unwrap();
    assert_eq!(run["mode"], "full");
    assert_eq!(run["triggered_by"], "ana");
    let id = run["id"].as_i64().unwrap();
    let run = finished(&app, &token, id).await;
    assert_eq!(run["status"], "succeeded", "{run}");
    let new = run["classes"]["new"].as_i64().unwrap();
    assert!(new > 10, "{run}");
    assert!(run["calls"]["places"].as_i64().unwrap() > 0, "{run}");
    assert!(run["duration_seconds"].as_f64().unwrap() >= 0.0);

    // The drill-down lists exactly the run's new events, a page at a time.
    let (status, page) = app
        .get_json_as(&token, &format!("/api/v1/runs/{id}/events?class=new"))
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["total"].as_i64().unwrap(), new);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len() as i64, new.min(100));
    assert!(items
        .iter()
        .all(|e| !e["title"].as_str().unwrap().is_empty()));
    let (status, _) = app
        .get_json_as(&token, &format!("/api/v1/runs/{id}/events?class=bogus"))
        .await;
    assert_eq!(status, 400);
    let (status, _) = app.get_json_as(&token, "/api/v1/runs/99999").await;
    assert_eq!(status, 404);
    let (status, list) = app.get_json_as(&token, "/api/v1/runs?limit=5").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["id"].as_i64().unwrap(), id);

    // While any run holds the lock, a start is refused with 409.
    let held = app::store::lock::RefreshLock::acquire(&app.db)
        .await
        .unwrap()
        .unwrap();
    let resp = post_as(&app, &token, "/api/v1/runs", json!({"mode": "incremental"})).await;
    assert_eq!(resp.status(), StatusCode::CONFLICT);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "already_running");
    held.release(&app.db).await.unwrap();
    // A finished run cannot be cancelled.
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/runs/{id}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::CONFLICT);

    // Provider status: the demo providers answered in this run.
    let providers = app::store::admin::providers(&app.db, &app.config.refresh.providers)
        .await
        .unwrap();
    assert_eq!(providers.len(), 3);
    for p in &providers {
        assert!(p.demo);
        assert_eq!(p.last_success_run, Some(id as i32), "{p:?}");
        assert!(p.last_error.is_none());
    }
    let actions: Vec<String> = app::store::admin::audit_log(&app.db, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {} {}", a.actor, a.action, a.target))
        .collect();
    assert!(
        actions.contains(&format!("ana refresh_start run {id}")),
        "{actions:?}"
    );
}

async fn a_cancelled_run_stops_and_writes_nothing(backend: Backend) {
    use app::providers::policy::{Caller, PolicyConfig};
    use app::providers::predicthq::PredictHq;
    use app::providers::EventsClient;
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let phq = MockServer::start().await;
    // A provider slow to answer: the cancel must not wait for it.
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"count": 0, "results": [], "next": null}))
                .set_delay(std::time::Duration::from_secs(20)),
        )
        .mount(&phq)
        .await;
    let uri = phq.uri();
    let app = spawn_app_with(backend, false, move |c| {
        c.refresh.providers.events = EventsClient::PredictHq(Box::new(PredictHq {
            caller: Caller::new(
                "predicthq",
                vec!["phq-token".into()],
                PolicyConfig {
                    rate_per_second: 0.0,
                    max_retries: 0,
                    timeout: std::time::Duration::from_secs(30),
                    ..PolicyConfig::default()
                },
            ),
            base_url: uri,
            categories: vec!["concerts".into()],
            countries: vec![],
        }));
    })
    .await;
    let token = account(&app, "ana", "admin").await;
    let resp = post_as(&app, &token, "/api/v1/runs", json!({"mode": "full"})).await;
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let id = resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let t = std::time::Instant::now();
    let resp = app
        .client
        .post(app.url(&format!("/api/v1/runs/{id}/cancel")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::ACCEPTED);
    let run = finished(&app, &token, id).await;
    assert_eq!(run["status"], "cancelled", "{run}");
    assert!(
        t.elapsed() < std::time::Duration::from_secs(10),
        "the cancel waited for the provider"
    );
    let events = app::store::entities::event::Entity::find()
        .all(&app.db)
        .await
        .unwrap();
    assert!(events.is_empty());
    // The lock is free again.
    assert!(app::store::lock::RefreshLock::acquire(&app.db)
        .await
        .unwrap()
        .is_some());
}

async fn a_hidden_event_stays_hidden_through_refreshes_until_shown(backend: Backend) {
    let app = spawn_app(backend, true).await;
    let token = account(&app, "ana", "admin").await;
    let (_, list) = app.get_json("/api/v1/events?limit=1").await;
    let total = list["total"].as_i64().unwrap();
    let id = list["items"][0]["id"].as_str().unwrap().to_string();
    let title = list["items"][0]["title"].as_str().unwrap().to_string();
    let post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let app = &app;
        let token = token.clone();
        async move {
            let resp = app
                .client
                .post(app.url(path))
                .headers(browser(app, &token))
                .form_body(&form)
                .send()
                .await
                .unwrap();
            (resp.status(), resp.text().await.unwrap())
        }
    };
    let (status, text) = post(
        "/api/admin/hide_event",
        vec![("event_id", id.clone()), ("reason", "  ".into())],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{text}");
    let (status, _) = post(
        "/api/admin/hide_event",
        vec![("event_id", "no-such".into()), ("reason", "spam".into())],
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, text) = post(
        "/api/admin/hide_event",
        vec![
            ("event_id", id.clone()),
            ("reason", "Duplicate listing".into()),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert!(text.contains(&title));

    assert_eq!(hidden_everywhere(&app, &id).await, total - 1);
    let (_, cats) = app.get_json("/api/v1/stats/categories").await;
    let counted: i64 = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(
        counted,
        total - 1,
        "the charts still count the hidden event: {cats}"
    );

    // A refresh that rewrites the event (its fingerprint no longer matches) keeps it hidden.
    app::store::entities::event::Entity::update_many()
        .col_expr(
            app::store::entities::event::Column::Fingerprint,
            sea_orm::sea_query::Expr::value("0"),
        )
        .filter(app::store::entities::event::Column::Id.eq(id.clone()))
        .exec(&app.db)
        .await
        .unwrap();
    let report = app.refresh().await;
    assert_eq!(report.status, "succeeded");
    let row = app::store::entities::event::Entity::find_by_id(id.clone())
        .one(&app.db)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.state, "hidden", "the refresh undid the hiding");
    hidden_everywhere(&app, &id).await;

    let (status, text) = post("/api/admin/show_event", vec![("event_id", id.clone())]).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(app.get(&format!("/api/v1/events/{id}")).await.status(), 200);
    let (status, _) = post("/api/admin/show_event", vec![("event_id", id.clone())]).await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "showing a visible event is refused"
    );
    let actions: Vec<String> = app::store::admin::audit_log(&app.db, 10)
        .await
        .unwrap()
        .into_iter()
        .map(|a| format!("{} {} {} {}", a.actor, a.action, a.target, a.detail))
        .collect();
    assert!(
        actions.contains(&format!("ana event_hide {id} Duplicate listing")),
        "{actions:?}"
    );
    assert!(
        actions
            .iter()
            .any(|a| a.starts_with(&format!("ana event_show {id}"))),
        "{actions:?}"
    );
}

/// Moderation and a refresh change events at the same time; each write recomputes the map
/// cells and rollups over every event committed before it, so the last one leaves them
/// right.
async fn derived_counts_stay_right_when_moderation_and_refreshes_overlap(backend: Backend) {
    use app::store::moderation;
    let app = spawn_app(backend, true).await;
    let (_, list) = app.get_json("/api/v1/events?limit=3").await;
    let ids: Vec<String> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let (first, second, refreshed) = tokio::join!(
        moderation::hide(&app.db, &ids[0], "spam", "ana", "test"),
        moderation::hide(&app.db, &ids[1], "duplicate", "ana", "test"),
        app::ingest::refresh(&app.db, &app.config.refresh),
    );
    first.unwrap();
    second.unwrap();
    assert_eq!(refreshed.unwrap().status, "succeeded");
    let (_, after) = app.get_json("/api/v1/events?limit=1").await;
    let total = after["total"].as_i64().unwrap();
    use app::store::entities::event;
    use sea_orm::{ColumnTrait, EntityTrait, PaginatorTrait, QueryFilter};
    let active = event::Entity::find()
        .filter(event::Column::State.eq("active"))
        .count(&app.db)
        .await
        .unwrap();
    assert_eq!(total as u64, active, "the list counts the active events");
    for id in &ids[..2] {
        let hidden = event::Entity::find_by_id(id.clone())
            .one(&app.db)
            .await
            .unwrap()
            .unwrap();
        assert_ne!(
            hidden.state, "active",
            "{id} stays hidden through the refresh"
        );
    }
    let (_, cats) = app.get_json("/api/v1/stats/categories").await;
    let counted: i64 = cats["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(counted, total, "stored rollups: {cats}");
    let (_, map) = app
        .get_json("/api/v1/map/clusters?bbox=-180,-85,180,85&zoom=2")
        .await;
    let clustered: i64 = map["clusters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["count"].as_i64().unwrap())
        .sum();
    assert_eq!(clustered, total, "stored cells");
}

both_backends!(
    every_admin_entry_point_refuses_anonymous_signed_out_and_viewers,
    sign_in_cookie_is_strict_and_sign_out_ends_the_session,
    sessions_expire_after_their_lifetime_and_when_idle,
    sign_in_attempts_are_throttled_per_account_and_per_address,
    an_account_guessed_from_many_addresses_locks,
    forged_cross_site_requests_are_refused,
    admins_start_watch_and_drill_into_runs,
    a_cancelled_run_stops_and_writes_nothing,
    a_hidden_event_stays_hidden_through_refreshes_until_shown,
    derived_counts_stay_right_when_moderation_and_refreshes_overlap,
);
