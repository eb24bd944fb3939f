//! Signing in to the console: argon2id passwords, a session cookie
//! (HttpOnly, SameSite=Strict) whose hash the store keeps, a CSRF token
//! every state-changing request must echo, and a lock after repeated
//! failures.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::{Method, request::Parts};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use rand::RngCore;

use crate::AppState;
use crate::auth::{random_hex, secret_hash};
use crate::error::{ApiError, Code};
use crate::now_ms;
use crate::store::{ConsoleUser, Store, StoreError};

/// The session cookie's name.
pub const COOKIE: &str = "fieldloop_session";
/// The header that carries the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a session lasts from sign-in: a working day.
pub const SESSION_LIFETIME_MS: i64 = 8 * 3_600_000;
/// Failed sign-ins in a row that lock an account…
pub const MAX_FAILED_LOGINS: u32 = 5;
/// …for this long.
pub const LOCK_MS: i64 = 15 * 60_000;
/// The shortest password `user add` accepts, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// The longest password accepted anywhere, in bytes (bounds the hashing cost).
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Why a password cannot be set.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error(
        "密码至少需要 {MIN_PASSWORD_CHARS} 个字符 (a password needs at least {MIN_PASSWORD_CHARS} characters)"
    )]
    TooShort,
    #[error(
        "密码最长 {MAX_PASSWORD_BYTES} 字节 (a password is at most {MAX_PASSWORD_BYTES} bytes)"
    )]
    TooLong,
    #[error("无法计算密码散列 (cannot hash the password): {0}")]
    Hash(String),
}

/// The argon2id hash (PHC string) of a new password.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Argon2::default()
        .hash_password(password.as_bytes(), &new_salt()?)
        .map(|hash| hash.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// 16 random bytes, as a PHC salt.
fn new_salt() -> Result<SaltString, PasswordError> {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    SaltString::encode_b64(&bytes).map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the stored `hash`; a damaged hash matches nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    password.len() <= MAX_PASSWORD_BYTES
        && PasswordHash::new(hash).is_ok_and(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
}

/// A hash no password matches, verified against when the user is unknown so
/// that an unknown name takes as long to refuse as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let Ok(salt) = new_salt() else {
            return String::new();
        };
        Argon2::default()
            .hash_password(random_hex(16).as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// Adds a console user (the `user add` command).
pub fn add_user(
    store: &dyn Store,
    user: &ConsoleUser,
    password: &str,
    now: i64,
) -> Result<(), AddUserError> {
    let hash = hash_password(password)?;
    store.add_console_user(user, &hash, now)?;
    Ok(())
}

/// Why `user add` failed.
#[derive(Debug, thiserror::Error)]
pub enum AddUserError {
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a sign-in attempt came to.
#[derive(Debug)]
pub enum Login {
    /// Signed in: the cookie's value (shown to the browser only) and the CSRF token.
    Ok {
        user: ConsoleUser,
        token: String,
        csrf: String,
    },
    /// Wrong name or password (not told apart).
    Refused,
    /// Locked until then (ms).
    Locked(i64),
}

/// Checks a sign-in; records the failure or opens a session. Blocking
/// (argon2 takes tens of milliseconds): call it off the async threads.
pub fn login(store: &dyn Store, id: &str, password: &str, now: i64) -> Result<Login, StoreError> {
    let Some(account) = store.console_account(id)? else {
        verify_password(password, decoy_hash());
        return Ok(Login::Refused);
    };
    if let Some(until) = account.locked_until.filter(|&until| until > now) {
        return Ok(Login::Locked(until));
    }
    if !verify_password(password, &account.password_hash) {
        return Ok(
            match store.record_login_failure(id, now, MAX_FAILED_LOGINS, LOCK_MS)? {
                Some(until) => Login::Locked(until),
                None => Login::Refused,
            },
        );
    }
    store.clear_login_failures(id)?;
    let token = random_hex(32);
    let csrf = random_hex(32);
    store.create_console_session(
        &secret_hash(&token),
        id,
        &csrf,
        now,
        now + SESSION_LIFETIME_MS,
    )?;
    Ok(Login::Ok {
        user: account.user,
        token,
        csrf,
    })
}

/// The session cookie for `token` (`None`: the cookie that removes it).
pub fn cookie(token: Option<String>) -> Cookie<'static> {
    let removing = token.is_none();
    let mut cookie = Cookie::build((COOKIE, token.unwrap_or_default()))
        .http_only(true)
        .same_site(SameSite::Strict)
        .path("/")
        .build();
    if removing {
        cookie.make_removal();
    } else {
        cookie.set_max_age(time::Duration::milliseconds(SESSION_LIFETIME_MS));
    }
    cookie
}

/// The signed-in console user of a request. A request that changes
/// anything (any method but GET and HEAD) must also carry the session's
/// CSRF token in `X-CSRF-Token`.
#[derive(Debug, Clone)]
pub struct ConsoleSession {
    pub user: ConsoleUser,
    pub csrf: String,
    /// The hash of the cookie's value (the session's key in the store).
    pub token_hash: String,
}

impl FromRequestParts<AppState> for ConsoleSession {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(&parts.headers);
        let token = jar
            .get(COOKIE)
            .map(|c| c.value().to_owned())
            .filter(|t| !t.is_empty());
        let Some(token) = token else {
            return Err(ApiError::new(
                Code::ConsoleNoSession,
                "请先登录 (sign in first)",
            ));
        };
        let token_hash = secret_hash(&token);
        let store = state.store.clone();
        let key = token_hash.clone();
        let row = tokio::task::spawn_blocking(move || store.console_session(&key)).await??;
        let Some(row) = row else {
            return Err(ApiError::new(
                Code::ConsoleNoSession,
                "登录已失效，请重新登录 (the session is unknown: sign in again)",
            ));
        };
        if row.expires_at <= now_ms() {
            return Err(ApiError::new(
                Code::ConsoleSessionExpired,
                "登录已过期，请重新登录 (the session expired: sign in again)",
            ));
        }
        if parts.method != Method::GET && parts.method != Method::HEAD {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            // In constant time, on hashes of equal length.
            use subtle::ConstantTimeEq as _;
            let same: bool = secret_hash(sent)
                .as_bytes()
                .ct_eq(secret_hash(&row.csrf).as_bytes())
                .into();
            if !same || sent.is_empty() {
                return Err(ApiError::new(
                    Code::ConsoleCsrf,
                    "请求缺少有效的 CSRF 令牌，请刷新页面 (missing or wrong CSRF token: reload the page)",
                ));
            }
        }
        Ok(Self {
            user: row.user,
            csrf: row.csrf,
            token_hash,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hashed_with_argon2id_and_bounded() {
        let hash = hash_password("correct horse battery").expect("hash");
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        assert_eq!(hash_password("short"), Err(PasswordError::TooShort));
        assert_eq!(
            hash_password(&"x".repeat(MAX_PASSWORD_BYTES + 1)),
            Err(PasswordError::TooLong)
        );
        assert!(!verify_password(&"x".repeat(MAX_PASSWORD_BYTES + 1), &hash));
    }
}
