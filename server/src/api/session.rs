//! `/api/v1/session`: sign in for scripts (answers a bearer token, and sets the same
//! session cookie the pages use) and sign out.

use super::ApiError;
use crate::auth::{attempt_sign_in, end_session, new_session_cookie, session_cookie, Peer};
use app::auth::SignInError;
use app::state::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;

#[derive(Deserialize)]
pub struct Credentials {
    username: String,
    password: String,
}

pub async fn create(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(c) = body.map_err(|e| {
        ApiError::BadRequest(
            "bad_body".into(),
            format!(
                "the body must be JSON {{\"username\":…,\"password\":…}}: {}",
                e.body_text()
            ),
        )
    })?;
    match attempt_sign_in(
        &state,
        &headers,
        peer.map(|p| (p.0).0),
        &c.username,
        &c.password,
    )
    .await
    {
        Ok((token, user)) => {
            let body = serde_json::json!({
                "token": token,
                "username": user.username,
                "role": user.role,
                "expires_at": user.expires_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            });
            let mut resp = (StatusCode::CREATED, Json(body)).into_response();
            resp.headers_mut().insert(
                header::SET_COOKIE,
                new_session_cookie(&state, &headers, &token, &user),
            );
            resp.headers_mut().insert(
                header::CACHE_CONTROL,
                "no-store".parse().expect("valid header"),
            );
            Ok(resp)
        }
        Err(SignInError::Refused) => {
            Err(ApiError::Unauthorized("wrong user name or password".into()))
        }
        Err(SignInError::Throttled { retry_after_secs }) => {
            Err(ApiError::Throttled(retry_after_secs))
        }
        Err(SignInError::Busy) => Err(ApiError::Unavailable),
        Err(SignInError::Db(e)) => Err(e.into()),
    }
}

pub async fn delete(State(state): State<AppState>, peer: Peer, headers: HeaderMap) -> Response {
    end_session(&state, &headers, peer.map(|p| (p.0).0)).await;
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&state, &headers, None));
    resp
}
