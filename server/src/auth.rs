//! The server side of admin access: the guard in front of every admin page, admin server
//! function and `/api/v1/runs` route (401 without a live session, 403 for a non-admin,
//! checked here on the server for every request), protection from cross-site forgery, and
//! the sign-in and sign-out pages.
//!
//! Forgery: the session cookie is `SameSite=Strict`, and every state-changing request that
//! a cookie authenticates must also come from this site by the browser's own word
//! (`Sec-Fetch-Site: same-origin`, or an `Origin` naming this host). Requests with a
//! bearer token (scripts) carry no ambient credential and need neither.

use app::auth::{AdminRequest, SignInError, SignedIn, SESSION_COOKIE};
use app::state::AppState;
use axum::extract::{ConnectInfo, Query, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;
use std::net::SocketAddr;

/// The client's socket address, when the server was started with connect info.
pub type Peer = Option<axum::Extension<ConnectInfo<SocketAddr>>>;

/// Paths under the guard: admin pages, admin server functions, the runs API.
pub fn is_protected(path: &str) -> bool {
    let admin_page = (path == "/admin" || path.starts_with("/admin/"))
        && path != "/admin/sign-in"
        && path != "/admin/sign-out";
    admin_page || path.starts_with("/api/admin/") || path.starts_with("/api/v1/runs")
}

/// The path as a browser or router would resolve it: `%2e` decoded, `.` and `..` segments
/// applied, empty segments dropped. The guard checks this as well as the raw path, so
/// `/x/../admin` cannot reach an admin page around it.
pub fn normalized(path: &str) -> String {
    let decoded = path.replace("%2e", ".").replace("%2E", ".");
    let mut out: Vec<&str> = Vec::new();
    for seg in decoded.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    format!("/{}", out.join("/"))
}

fn is_html_path(path: &str) -> bool {
    path == "/admin" || path.starts_with("/admin/")
}

/// The client's address: the peer, or behind a trusted proxy the last `X-Forwarded-For`
/// hop (the one the proxy appended; those before it are whatever the client sent).
pub fn client_address(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) -> String {
    if state.auth.trust_proxy {
        if let Some(last) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .next_back()
            .and_then(|v| v.rsplit(',').next())
            .map(str::trim)
            .filter(|v| !v.is_empty() && v.len() <= 64)
        {
            return last.to_string();
        }
    }
    peer.map_or_else(|| "unknown".into(), |p| p.ip().to_string())
}

fn cookie_value<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
}

/// How a request presents its session.
enum Credential<'a> {
    Bearer(&'a str),
    Cookie(&'a str),
    None,
}

fn credential(headers: &HeaderMap) -> Credential<'_> {
    if let Some(t) = bearer(headers) {
        Credential::Bearer(t)
    } else if let Some(t) = cookie_value(headers, SESSION_COOKIE) {
        Credential::Cookie(t)
    } else {
        Credential::None
    }
}

/// True when the browser says the request comes from this site.
pub fn same_origin(state: &AppState, headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return site == "same-origin";
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host_header = if state.auth.trust_proxy {
        headers
            .get("x-forwarded-host")
            .or_else(|| headers.get(header::HOST))
    } else {
        headers.get(header::HOST)
    };
    let Some(host) = host_header.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
        .is_some_and(|authority| authority.eq_ignore_ascii_case(host))
}

fn is_unsafe(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Whether the request came over HTTPS, as the proxy in front says (`X-Forwarded-Proto`
/// or `Forwarded: proto=https`) or the browser's `Origin` shows.
fn secure(state: &AppState, headers: &HeaderMap) -> bool {
    state.auth.secure_cookies.unwrap_or_else(|| {
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_ascii_lowercase()
        };
        header("x-forwarded-proto") == "https"
            || header("forwarded").contains("proto=https")
            || header("origin").starts_with("https://")
    })
}

/// The cookie of a session just opened, living as long as the session.
pub fn new_session_cookie(
    state: &AppState,
    headers: &HeaderMap,
    token: &str,
    user: &SignedIn,
) -> HeaderValue {
    let max_age = (user.expires_at - chrono::Utc::now()).num_seconds().max(1);
    session_cookie(state, headers, Some((token, max_age)))
}

/// The session cookie for a new session (or, with `None`, one that clears it).
pub fn session_cookie(
    state: &AppState,
    headers: &HeaderMap,
    session: Option<(&str, i64)>,
) -> HeaderValue {
    let (value, max_age) = session.unwrap_or(("", 0));
    let mut cookie =
        format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}");
    if secure(state, headers) {
        cookie.push_str("; Secure");
    }
    HeaderValue::from_str(&cookie).expect("a cookie of hex digits is a valid header")
}

fn refusal(path: &str, status: StatusCode, code: &str, message: &str) -> Response {
    if is_html_path(path) {
        let (title, body) = match status {
            StatusCode::UNAUTHORIZED => (
                "Sign in required",
                r#"<p>The admin pages need an administrator's sign-in.</p><p><a href="/admin/sign-in">Sign in</a></p>"#.to_string(),
            ),
            StatusCode::FORBIDDEN if code == "forbidden" => (
                "Not an administrator",
                r#"<p>Your account may not use the admin pages.</p><form method="post" action="/admin/sign-out"><button type="submit">Sign out</button></form>"#.to_string(),
            ),
            _ => ("Request refused", format!("<p>{}</p>", escape(message))),
        };
        let mut resp = (status, Html(page(title, &body))).into_response();
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return resp;
    }
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (status, axum::Json(body)).into_response()
}

/// Guards admin paths and refuses cross-site state changes made with the session cookie.
pub async fn guard(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let raw = req.uri().path();
    let path = if is_protected(raw) {
        raw.to_string()
    } else {
        normalized(raw)
    };
    let cred = credential(req.headers());
    let cookie_authenticated = matches!(cred, Credential::Cookie(_));
    let cross_site = is_unsafe(req.method()) && !same_origin(&state, req.headers());
    let forged = || {
        refusal(
            &path,
            StatusCode::FORBIDDEN,
            "cross_site",
            "this request did not come from this site, so it was refused",
        )
    };
    if !is_protected(&path) {
        // Signing in from another site (login forgery) or out with the cookie is refused too.
        let signing = path == "/admin/sign-in"
            || ((path == "/admin/sign-out" || path == "/api/v1/session") && cookie_authenticated);
        if signing && cross_site {
            return forged();
        }
        return next.run(req).await;
    }
    let token = match cred {
        Credential::Bearer(t) | Credential::Cookie(t) => t,
        Credential::None => "",
    };
    let user = if token.is_empty() {
        None
    } else {
        match app::auth::session(&state.db, &state.auth, token).await {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "session lookup failed");
                return refusal(
                    &path,
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the store is busy; try again shortly",
                );
            }
        }
    };
    let Some(user) = user else {
        return refusal(
            &path,
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "sign in as an administrator first",
        );
    };
    if !user.is_admin() {
        return refusal(
            &path,
            StatusCode::FORBIDDEN,
            "forbidden",
            "this account is not an administrator",
        );
    }
    if cookie_authenticated && cross_site {
        return forged();
    }
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let address = client_address(&state, req.headers(), peer);
    req.extensions_mut().insert(AdminRequest { user, address });
    let mut resp = next.run(req).await;
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// A small page of its own (the sign-in pages work without the app's script).
fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>{t} · TourSherpa</title><link rel="stylesheet" href="/pkg/toursherpa.css"></head><body><header class="site-header"><a class="brand" href="/">TourSherpa</a><span class="tagline">Admin</span></header><main class="admin-auth"><h1>{t}</h1>{body}</main></body></html>"#,
        t = escape(title),
    )
}

/// Only a path under `/admin` may follow a sign-in.
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| {
        (*n == "/admin" || n.starts_with("/admin/"))
            && !n.contains("//")
            && !n.contains('\\')
            && n.is_ascii()
            && !n.chars().any(|c| c.is_ascii_control())
    })
    .unwrap_or("/admin")
    .to_string()
}

fn sign_in_form(message: Option<&str>, next: &str) -> String {
    let message = message.map_or(String::new(), |m| {
        format!(r#"<p class="error" role="alert">{}</p>"#, escape(m))
    });
    format!(
        r#"{message}<form method="post" action="/admin/sign-in" class="sign-in">
<input type="hidden" name="next" value="{next}">
<label>User name <input name="username" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Sign in</button></form>"#,
        next = escape(next)
    )
}

#[derive(Deserialize)]
pub struct SignInQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

pub async fn sign_in_page(Query(q): Query<SignInQuery>) -> Response {
    let note = if q.signed_out.is_some() {
        r#"<p class="notice" role="status">You are signed out.</p>"#
    } else {
        ""
    };
    let body = format!(
        "{note}{}",
        sign_in_form(None, &safe_next(q.next.as_deref()))
    );
    let mut resp = Html(page("Admin sign-in", &body)).into_response();
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

/// Signs in (records it in the audit log), or answers why not: 401 for a wrong name or
/// password (the same words either way), 429 while throttled.
pub async fn attempt_sign_in(
    state: &AppState,
    headers: &HeaderMap,
    peer: Option<SocketAddr>,
    username: &str,
    password: &str,
) -> Result<(String, SignedIn), SignInError> {
    let address = client_address(state, headers, peer);
    // A session this client already had ends: one sign-in, one session.
    if let Some(old) = cookie_value(headers, SESSION_COOKIE) {
        let _ = app::auth::sign_out(&state.db, old).await;
    }
    let result = app::auth::sign_in(&state.db, &state.auth, username, password, &address).await;
    // The name tried is recorded only when well formed (a password typed into the name
    // field would otherwise land in the log).
    let tried = app::auth::normalize_username(username).unwrap_or_else(|_| "(malformed)".into());
    let audit = match &result {
        Ok((_, user)) => Some((user.username.clone(), "sign_in")),
        Err(SignInError::Refused) => Some((tried, "sign_in_refused")),
        Err(SignInError::Throttled { .. }) => Some((tried, "sign_in_throttled")),
        Err(SignInError::Busy) => None,
        Err(SignInError::Db(e)) => {
            tracing::error!(error = %e, "sign-in failed on the store");
            None
        }
    };
    if let Some((name, action)) = audit {
        let (actor, target) = if action == "sign_in" {
            (name.as_str(), "")
        } else {
            ("anonymous", name.as_str())
        };
        if let Err(e) =
            app::store::admin::audit(&state.db, actor, action, target, "", &address).await
        {
            tracing::error!(error = %e, "could not record a sign-in in the audit log");
        }
    }
    result
}

pub async fn sign_in_submit(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let next = safe_next(form.next.as_deref());
    match attempt_sign_in(
        &state,
        &headers,
        peer.map(|p| (p.0).0),
        &form.username,
        &form.password,
    )
    .await
    {
        Ok((token, user)) => {
            let mut resp = Redirect::to(&next).into_response();
            *resp.status_mut() = StatusCode::SEE_OTHER;
            resp.headers_mut().insert(
                header::SET_COOKIE,
                new_session_cookie(&state, &headers, &token, &user),
            );
            resp
        }
        Err(e) => {
            let status = match e {
                SignInError::Refused => StatusCode::UNAUTHORIZED,
                SignInError::Throttled { .. } => StatusCode::TOO_MANY_REQUESTS,
                SignInError::Db(_) | SignInError::Busy => StatusCode::SERVICE_UNAVAILABLE,
            };
            let message = match &e {
                SignInError::Db(_) => "The store is busy; try again shortly.".to_string(),
                e => format!("{}.", capitalize(&e.to_string())),
            };
            let mut resp = (
                status,
                Html(page("Admin sign-in", &sign_in_form(Some(&message), &next))),
            )
                .into_response();
            if let SignInError::Throttled { retry_after_secs } = e {
                resp.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
            }
            resp
        }
    }
}

fn capitalize(text: &str) -> String {
    let mut c = text.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Ends the session named by the request's credential, if any; answers who it was.
pub async fn end_session(state: &AppState, headers: &HeaderMap, peer: Option<SocketAddr>) {
    let token = match credential(headers) {
        Credential::Bearer(t) | Credential::Cookie(t) => t,
        Credential::None => return,
    };
    if let Ok(Some(user)) = app::auth::session(&state.db, &state.auth, token).await {
        let address = client_address(state, headers, peer);
        let _ =
            app::store::admin::audit(&state.db, &user.username, "sign_out", "", "", &address).await;
    }
    if let Err(e) = app::auth::sign_out(&state.db, token).await {
        tracing::error!(error = %e, "sign-out failed on the store");
    }
}

pub async fn sign_out_submit(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
) -> Response {
    end_session(&state, &headers, peer.map(|p| (p.0).0)).await;
    let mut resp = Redirect::to("/admin/sign-in?signed_out=1").into_response();
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &headers, None));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_covers_admin_pages_functions_and_runs_but_not_sign_in() {
        for p in [
            "/admin",
            "/admin/",
            "/admin/runs/3",
            "/api/admin/overview",
            "/api/v1/runs",
            "/api/v1/runs/2/events",
        ] {
            assert!(is_protected(p), "{p}");
        }
        for p in [
            "/",
            "/administer",
            "/admin/sign-in",
            "/admin/sign-out",
            "/api/v1/events",
            "/api/adminx",
        ] {
            assert!(!is_protected(p), "{p}");
        }
    }

    #[test]
    fn dot_segments_cannot_walk_around_the_guard() {
        for p in [
            "/./admin",
            "/x/../admin",
            "/x/%2e%2e/admin/runs/1",
            "//admin",
            "/x/%2E%2E/api/v1/runs",
        ] {
            assert!(is_protected(&normalized(p)), "{p} -> {}", normalized(p));
        }
        assert_eq!(normalized("/events/a.b"), "/events/a.b");
        assert!(!is_protected(&normalized("/admin/../events")));
    }

    #[test]
    fn only_admin_paths_may_follow_a_sign_in() {
        assert_eq!(safe_next(Some("/admin/runs/4")), "/admin/runs/4");
        assert_eq!(safe_next(Some("https://evil.example/admin")), "/admin");
        assert_eq!(safe_next(Some("/admin//evil.example")), "/admin");
        assert_eq!(safe_next(Some("/")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }
}
