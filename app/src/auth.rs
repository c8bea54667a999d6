//! Accounts, sessions and sign-in throttling for the admin pages.
//!
//! - Passwords are stored as Argon2id hashes (PHC strings, OWASP's parameters).
//! - A session is 32 random bytes handed to the browser in a cookie; the store keeps only
//!   their SHA-256, so reading the store signs no one in. Sessions end after a fixed
//!   lifetime, after a spell of inactivity, or at sign-out.
//! - Sign-in attempts are counted *before* the password is checked, so parallel guesses
//!   cannot slip past a limit, under three keys: the account from one address (a few
//!   guesses), the address (guessing many names), and the account from anywhere (a
//!   distributed guess; its limit is high, so one stranger cannot lock an admin out). A
//!   locked key refuses even the right password until the lock ends. Unknown names are
//!   counted and hashed like known ones, so neither the answer nor its timing tells
//!   whether an account exists.
//! - At most [`HASHING_AT_ONCE`] password checks run at a time (each takes about 19 MiB),
//!   so a flood of sign-ins cannot exhaust memory.

use crate::store::entities::{admin_user, session, sign_in_throttle};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use chrono::{DateTime, Duration, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, DatabaseConnection, DbErr, EntityTrait,
    QueryFilter, QueryOrder,
};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "ts_session";
/// Attempts at one account from one address within [`THROTTLE_WINDOW_MINUTES`] before that
/// pair locks.
pub const ACCOUNT_ATTEMPTS: i32 = 5;
/// Attempts from one address (at any accounts) within the window before the address locks.
pub const ADDRESS_ATTEMPTS: i32 = 20;
/// Attempts at one account from all addresses within the window before the account locks.
pub const ACCOUNT_ATTEMPTS_EVERYWHERE: i32 = 50;
/// Password checks allowed to run at once; more wait up to [`HASHING_WAIT_SECS`].
pub const HASHING_AT_ONCE: usize = 4;
pub const HASHING_WAIT_SECS: u64 = 10;
pub const THROTTLE_WINDOW_MINUTES: i64 = 15;
pub const LOCK_MINUTES: i64 = 15;
pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// How sessions behave (from the environment; see `server::config`).
#[derive(Clone, Debug)]
pub struct AuthSettings {
    /// A session ends this long after sign-in, however active (`TOURSHERPA_SESSION_HOURS`).
    pub lifetime: Duration,
    /// A session unused this long ends (`TOURSHERPA_SESSION_IDLE_MINUTES`).
    pub idle: Duration,
    /// `Some(true)`: always mark the cookie `Secure`; `Some(false)`: never; `None`: when the
    /// request came over HTTPS (`X-Forwarded-Proto: https` from the proxy in front).
    pub secure_cookies: Option<bool>,
    /// Take the client's address from `X-Forwarded-For` (only behind a trusted proxy).
    pub trust_proxy: bool,
}

impl Default for AuthSettings {
    fn default() -> Self {
        AuthSettings {
            lifetime: Duration::hours(12),
            idle: Duration::hours(2),
            secure_cookies: None,
            trust_proxy: false,
        }
    }
}

/// A signed-in account, as a request carries it.
#[derive(Clone, Debug, PartialEq)]
pub struct SignedIn {
    pub user_id: i32,
    pub username: String,
    /// `admin` or `viewer`.
    pub role: String,
    pub token_hash: String,
    pub expires_at: DateTime<Utc>,
}

impl SignedIn {
    pub fn is_admin(&self) -> bool {
        self.role == ROLE_ADMIN
    }
}

/// What the server's guard attaches to an admin request (read by server functions).
#[derive(Clone, Debug)]
pub struct AdminRequest {
    pub user: SignedIn,
    /// The client's address, for the audit log.
    pub address: String,
}

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_VIEWER: &str = "viewer";

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user names are 1 to 64 characters: letters, digits, `.`, `_`, `-` and `@`")]
    BadUsername,
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password is longer than {MAX_PASSWORD_BYTES} bytes")]
    PasswordTooLong,
    #[error("the role must be `admin` or `viewer`")]
    BadRole,
    #[error(
        "user `{0}` already exists (use `toursherpa admin password {0}` to change the password)"
    )]
    Exists(String),
    #[error("no user `{0}`")]
    NoSuchUser(String),
    #[error("could not hash the password: {0}")]
    Hash(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Why a sign-in was refused. The message never says whether the account exists.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("wrong user name or password")]
    Refused,
    #[error("too many sign-in attempts; try again in {} minutes", retry_after_secs.div_ceil(60))]
    Throttled { retry_after_secs: u64 },
    #[error("the server is busy checking other sign-ins; try again shortly")]
    Busy,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// User names are compared without case.
pub fn normalize_username(name: &str) -> Result<String, AccountError> {
    let name = name.trim().to_lowercase();
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(name)
    } else {
        Err(AccountError::BadUsername)
    }
}

pub fn check_new_password(password: &str) -> Result<(), AccountError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(AccountError::PasswordTooLong);
    }
    if password.trim().chars().count() < MIN_PASSWORD_CHARS {
        return Err(AccountError::PasswordTooShort);
    }
    Ok(())
}

/// An Argon2id hash of the password with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AccountError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Hash(e.to_string()))
}

/// True when `password` matches the stored hash (false for an unreadable hash).
pub fn verify_password(stored: &str, password: &str) -> bool {
    PasswordHash::new(stored).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// Checked against when the account does not exist, so both cases cost the same.
fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| hash_password("decoy password, never valid").unwrap_or_default())
}

/// Checks a password on a blocking thread, at most [`HASHING_AT_ONCE`] at a time; `None`
/// when no turn came within [`HASHING_WAIT_SECS`].
async fn verify_blocking(stored: String, password: String) -> Option<bool> {
    static TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(HASHING_AT_ONCE);
    let turn = tokio::time::timeout(
        std::time::Duration::from_secs(HASHING_WAIT_SECS),
        TURNS.acquire(),
    )
    .await
    .ok()?
    .ok()?;
    let ok = tokio::task::spawn_blocking(move || verify_password(&stored, &password))
        .await
        .unwrap_or(false);
    drop(turn);
    Some(ok)
}

pub async fn add_user(
    db: &DatabaseConnection,
    username: &str,
    password: &str,
    role: &str,
) -> Result<String, AccountError> {
    let username = normalize_username(username)?;
    check_new_password(password)?;
    if role != ROLE_ADMIN && role != ROLE_VIEWER {
        return Err(AccountError::BadRole);
    }
    if admin_user::Entity::find()
        .filter(admin_user::Column::Username.eq(username.clone()))
        .one(db)
        .await?
        .is_some()
    {
        return Err(AccountError::Exists(username));
    }
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    admin_user::ActiveModel {
        username: Set(username.clone()),
        password_hash: Set(hash),
        role: Set(role.into()),
        created_at: Set(Utc::now()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    Ok(username)
}

async fn find_user(
    db: &DatabaseConnection,
    username: &str,
) -> Result<admin_user::Model, AccountError> {
    let username = normalize_username(username)?;
    admin_user::Entity::find()
        .filter(admin_user::Column::Username.eq(username.clone()))
        .one(db)
        .await?
        .ok_or(AccountError::NoSuchUser(username))
}

/// Sets a new password and ends the account's sessions.
pub async fn set_password(
    db: &DatabaseConnection,
    username: &str,
    password: &str,
) -> Result<(), AccountError> {
    check_new_password(password)?;
    let user = find_user(db, username).await?;
    let password = password.to_string();
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| AccountError::Hash(e.to_string()))??;
    let mut row: admin_user::ActiveModel = user.clone().into();
    row.password_hash = Set(hash);
    row.update(db).await?;
    end_sessions_of(db, user.id).await?;
    Ok(())
}

/// Removes an account and its sessions.
pub async fn remove_user(db: &DatabaseConnection, username: &str) -> Result<(), AccountError> {
    let user = find_user(db, username).await?;
    end_sessions_of(db, user.id).await?;
    admin_user::Entity::delete_by_id(user.id).exec(db).await?;
    Ok(())
}

/// Every account: name, role, created.
pub async fn list_users(db: &DatabaseConnection) -> Result<Vec<admin_user::Model>, DbErr> {
    admin_user::Entity::find()
        .order_by_asc(admin_user::Column::Username)
        .all(db)
        .await
}

async fn end_sessions_of(db: &DatabaseConnection, user_id: i32) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::UserId.eq(user_id))
        .exec(db)
        .await?;
    Ok(())
}

fn sha256_hex(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Counts one attempt against `key` (a new window when the last one is over) and answers
/// how long the key stays locked, if it is.
async fn count_attempt(
    db: &DatabaseConnection,
    key: &str,
    limit: i32,
    now: DateTime<Utc>,
) -> Result<Option<u64>, DbErr> {
    sign_in_throttle::Entity::insert(sign_in_throttle::ActiveModel {
        key: Set(key.into()),
        failures: Set(0),
        window_start: Set(now),
        locked_until: Set(None),
    })
    .on_conflict(
        sea_orm::sea_query::OnConflict::column(sign_in_throttle::Column::Key)
            .do_nothing()
            .to_owned(),
    )
    .exec_without_returning(db)
    .await?;
    let Some(row) = sign_in_throttle::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    if let Some(until) = row.locked_until.filter(|u| *u > now) {
        return Ok(Some((until - now).num_seconds().max(1) as u64));
    }
    if row.window_start < now - Duration::minutes(THROTTLE_WINDOW_MINUTES)
        || row.locked_until.is_some()
    {
        // The window (or the lock) is over: start again, unless another request already did.
        sign_in_throttle::Entity::update_many()
            .col_expr(sign_in_throttle::Column::Failures, Expr::value(0))
            .col_expr(sign_in_throttle::Column::WindowStart, Expr::value(now))
            .col_expr(
                sign_in_throttle::Column::LockedUntil,
                Expr::value(Option::<DateTime<Utc>>::None),
            )
            .filter(sign_in_throttle::Column::Key.eq(key))
            .filter(sign_in_throttle::Column::WindowStart.eq(row.window_start))
            .exec(db)
            .await?;
    }
    // One atomic increment, so parallel attempts are all counted.
    {
        use sea_orm::sea_query::ExprTrait as _;
        sign_in_throttle::Entity::update_many()
            .col_expr(
                sign_in_throttle::Column::Failures,
                Expr::col(sign_in_throttle::Column::Failures).add(1),
            )
            .filter(sign_in_throttle::Column::Key.eq(key))
            .exec(db)
            .await?;
    }
    let failures = sign_in_throttle::Entity::find_by_id(key.to_string())
        .one(db)
        .await?
        .map_or(0, |r| r.failures);
    if failures > limit {
        let until = now + Duration::minutes(LOCK_MINUTES);
        sign_in_throttle::Entity::update_many()
            .col_expr(sign_in_throttle::Column::LockedUntil, Expr::value(until))
            .filter(sign_in_throttle::Column::Key.eq(key))
            .exec(db)
            .await?;
        return Ok(Some((LOCK_MINUTES * 60) as u64));
    }
    Ok(None)
}

/// Checks a name and password and opens a session: answers the cookie token (shown to the
/// client once, never stored) and the signed-in account.
pub async fn sign_in(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    username: &str,
    password: &str,
    address: &str,
) -> Result<(String, SignedIn), SignInError> {
    let now = Utc::now();
    // A name that is not even well formed is counted under one key of its own.
    let name = normalize_username(username).unwrap_or_else(|_| "(malformed)".into());
    let address: String = address.chars().take(64).collect();
    let pair_key = format!("user:{name}@{address}");
    let account_key = format!("user:{name}");
    let address_key = format!("addr:{address}");
    let mut locked = None;
    for (key, limit) in [
        (&pair_key, ACCOUNT_ATTEMPTS),
        (&address_key, ADDRESS_ATTEMPTS),
        (&account_key, ACCOUNT_ATTEMPTS_EVERYWHERE),
    ] {
        if let Some(secs) = count_attempt(db, key, limit, now).await? {
            locked = Some(locked.map_or(secs, |l: u64| l.max(secs)));
        }
    }
    if let Some(retry_after_secs) = locked {
        return Err(SignInError::Throttled { retry_after_secs });
    }
    let password = password
        .chars()
        .take(MAX_PASSWORD_BYTES)
        .collect::<String>();
    let user = admin_user::Entity::find()
        .filter(admin_user::Column::Username.eq(name))
        .one(db)
        .await?;
    let stored = user
        .as_ref()
        .map_or_else(|| decoy_hash().to_string(), |u| u.password_hash.clone());
    let matches = verify_blocking(stored, password)
        .await
        .ok_or(SignInError::Busy)?;
    let Some(user) = user.filter(|_| matches) else {
        return Err(SignInError::Refused);
    };
    // The right password clears the pair's count and takes this attempt off the others.
    sign_in_throttle::Entity::delete_by_id(pair_key)
        .exec(db)
        .await?;
    {
        use sea_orm::sea_query::ExprTrait as _;
        sign_in_throttle::Entity::update_many()
            .col_expr(
                sign_in_throttle::Column::Failures,
                Expr::col(sign_in_throttle::Column::Failures).sub(1),
            )
            .filter(sign_in_throttle::Column::Key.is_in([address_key, account_key]))
            .filter(sign_in_throttle::Column::Failures.gt(0))
            .exec(db)
            .await?;
    }
    prune(db, now).await?;
    let token = new_token();
    let token_hash = sha256_hex(&token);
    let expires_at = now + settings.lifetime;
    session::ActiveModel {
        token_hash: Set(token_hash.clone()),
        user_id: Set(user.id),
        created_at: Set(now),
        last_seen_at: Set(now),
        expires_at: Set(expires_at),
        address: Set(address.chars().take(100).collect()),
    }
    .insert(db)
    .await?;
    Ok((
        token,
        SignedIn {
            user_id: user.id,
            username: user.username,
            role: user.role,
            token_hash,
            expires_at,
        },
    ))
}

/// Forgets sessions past their lifetime and throttle counts a day old (their keys are
/// chosen by whoever tries to sign in, so they must not pile up).
async fn prune(db: &DatabaseConnection, now: DateTime<Utc>) -> Result<(), DbErr> {
    session::Entity::delete_many()
        .filter(session::Column::ExpiresAt.lt(now))
        .exec(db)
        .await?;
    let day_ago = now - Duration::days(1);
    sign_in_throttle::Entity::delete_many()
        .filter(sign_in_throttle::Column::WindowStart.lt(day_ago))
        .filter(
            sea_orm::Condition::any()
                .add(sign_in_throttle::Column::LockedUntil.is_null())
                .add(sign_in_throttle::Column::LockedUntil.lt(now)),
        )
        .exec(db)
        .await?;
    Ok(())
}

/// The account a session token belongs to, while the session lives. An expired or idle
/// session is deleted and answers `None`.
pub async fn session(
    db: &DatabaseConnection,
    settings: &AuthSettings,
    token: &str,
) -> Result<Option<SignedIn>, DbErr> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let token_hash = sha256_hex(token);
    let Some(s) = session::Entity::find_by_id(token_hash.clone())
        .one(db)
        .await?
    else {
        return Ok(None);
    };
    let now = Utc::now();
    if s.expires_at <= now || s.last_seen_at + settings.idle <= now {
        session::Entity::delete_by_id(token_hash).exec(db).await?;
        return Ok(None);
    }
    let Some(user) = admin_user::Entity::find_by_id(s.user_id).one(db).await? else {
        return Ok(None);
    };
    // Note activity at most once a minute: most requests only read.
    if now - s.last_seen_at > Duration::minutes(1) {
        session::Entity::update_many()
            .col_expr(session::Column::LastSeenAt, Expr::value(now))
            .filter(session::Column::TokenHash.eq(token_hash.clone()))
            .exec(db)
            .await?;
    }
    Ok(Some(SignedIn {
        user_id: user.id,
        username: user.username,
        role: user.role,
        token_hash,
        expires_at: s.expires_at,
    }))
}

/// Ends the session of a token (nothing happens for an unknown token).
pub async fn sign_out(db: &DatabaseConnection, token: &str) -> Result<(), DbErr> {
    session::Entity::delete_by_id(sha256_hex(token))
        .exec(db)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify_only_the_right_password() {
        let a = hash_password("correct horse battery").unwrap();
        let b = hash_password("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify_password(&a, "correct horse battery"));
        assert!(!verify_password(&a, "correct horse battery "));
        assert!(!verify_password(&a, ""));
        assert!(!verify_password("not a hash", "correct horse battery"));
    }

    #[test]
    fn user_names_and_passwords_are_checked() {
        assert_eq!(normalize_username(" Ana.Kim@x ").unwrap(), "ana.kim@x");
        assert!(normalize_username("").is_err());
        assert!(normalize_username("a b").is_err());
        assert!(normalize_username(&"a".repeat(65)).is_err());
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("          x").is_err());
        assert!(check_new_password("long enough pass").is_ok());
        assert!(check_new_password(&"p".repeat(2000)).is_err());
    }

    #[test]
    fn tokens_are_random_hex_and_stored_hashed() {
        let t = new_token();
        assert_eq!(t.len(), 64);
        assert_ne!(t, new_token());
        assert_eq!(sha256_hex(&t).len(), 64);
        assert_ne!(sha256_hex(&t), t);
    }
}
