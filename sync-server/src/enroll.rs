//! Enrollment: an administrator issues a one-time code for an inspector
//! (shown as text and as a QR code); the tablet exchanges it for its device
//! token and its own Automerge actor id. Codes expire, are used once, and
//! failed attempts are rate-limited per client address.

use std::net::IpAddr;

use axum::Json;
use axum::extract::State;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::auth::{random_hex, secret_hash};
use crate::error::{ApiError, Code};
use crate::store::{Store, StoreError};
use crate::{AppState, now_ms};

/// Letters and digits that cannot be misread for each other.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
const CODE_LEN: usize = 10;

/// Creates a one-time code for `inspector`, valid for `ttl_ms`.
pub fn issue_code(
    store: &dyn Store,
    inspector: &str,
    now: i64,
    ttl_ms: i64,
) -> Result<String, crate::store::StoreError> {
    let mut rng = rand::rng();
    let code: String = (0..CODE_LEN)
        .map(|_| CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())] as char)
        .collect();
    store.create_enrollment(&secret_hash(&normalise(&code)), inspector, now + ttl_ms)?;
    Ok(code)
}

/// Codes are typed by hand: ignore case, spaces and dashes.
fn normalise(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnrollRequest {
    pub code: String,
    pub device_name: String,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct EnrollResponse {
    pub device_id: String,
    /// Shown once; the server keeps only its hash.
    pub token: String,
    /// The Automerge actor id (hex) this device must use.
    pub actor: String,
    pub person: String,
    pub team: String,
    /// The inspector's name, for the tablet to greet them by.
    pub person_name: String,
    /// The team's name.
    pub team_name: String,
}

/// Enrollment attempts allowed per client address and minute (a squad
/// enrolling its tablets behind one address needs a handful).
pub const ATTEMPTS_PER_ADDRESS: u32 = 10;
/// Enrollment attempts allowed per minute from all addresses together: with
/// 50-bit codes that expire in a day, guessing one stays hopeless.
pub const ATTEMPTS_IN_ALL: u32 = 300;
/// Addresses remembered before the ones with a full allowance are forgotten.
const REMEMBERED_ADDRESSES: usize = 10_000;

/// Rate limits on enrollment attempts, per address and in all. Every attempt
/// counts, checked and counted in one step (no race between the two).
#[derive(Debug)]
pub struct Throttle {
    per_address: governor::DefaultKeyedRateLimiter<IpAddr>,
    in_all: governor::DefaultDirectRateLimiter,
}

impl Default for Throttle {
    fn default() -> Self {
        Self::new(ATTEMPTS_PER_ADDRESS)
    }
}

impl Throttle {
    /// `per_address` attempts a minute from one address, and the larger of
    /// that and [`ATTEMPTS_IN_ALL`] from all together.
    pub fn new(per_address: u32) -> Self {
        let per_minute = |n: u32| {
            governor::Quota::per_minute(
                std::num::NonZeroU32::new(n).unwrap_or(std::num::NonZeroU32::MIN),
            )
        };
        Self {
            per_address: governor::RateLimiter::keyed(per_minute(per_address)),
            in_all: governor::RateLimiter::direct(per_minute(per_address.max(ATTEMPTS_IN_ALL))),
        }
    }

    /// Counts one attempt from `ip`; `false` when it is over a limit.
    fn allow(&self, ip: IpAddr) -> bool {
        if self.per_address.len() > REMEMBERED_ADDRESSES {
            self.per_address.retain_recent();
        }
        self.per_address.check_key(&ip).is_ok() && self.in_all.check().is_ok()
    }
}

/// A device name as people typed it, made safe to show: control and
/// bidirectional-override characters dropped, whitespace collapsed, at most
/// [`MAX_DEVICE_NAME`] characters.
pub fn clean_name(name: &str) -> String {
    let bidi = |c: char| matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .filter(|c| !c.is_control() && !bidi(*c))
        .take(MAX_DEVICE_NAME)
        .collect()
}

/// The longest device name kept, in characters.
pub const MAX_DEVICE_NAME: usize = 80;

/// `POST /api/v1/enroll`.
pub fn router() -> axum::Router<AppState> {
    axum::Router::new().route("/api/v1/enroll", axum::routing::post(enroll))
}

pub async fn enroll(
    State(state): State<AppState>,
    addr: crate::peer::ClientAddr,
    Json(request): Json<EnrollRequest>,
) -> Result<Json<EnrollResponse>, ApiError> {
    let now = now_ms();
    let ip = addr
        .0
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    if !state.throttle.allow(ip) {
        tracing::warn!(target: "fieldloop::auth", %addr, "enrollment refused: too many attempts");
        return Err(ApiError::new(
            Code::EnrollRateLimited,
            "尝试次数过多，请一分钟后再试 (too many attempts; wait a minute)",
        ));
    }
    let name = clean_name(&request.device_name);
    let code_hash = secret_hash(&normalise(&request.code));
    let token = random_hex(32);
    let token_hash = secret_hash(&token);
    let device_id = format!("D-{}", &random_hex(8));
    let actor = random_hex(16);
    let store = state.store.clone();
    let (id, actor_for_store) = (device_id.clone(), actor.clone());
    let result = tokio::task::spawn_blocking(move || {
        let device =
            store.redeem_enrollment(&code_hash, now, &id, &token_hash, &actor_for_store, &name)?;
        // Names as the directory has them. The code is spent by now, so a
        // failed lookup must not fail the enrollment: the ids stand in.
        let person_name = store
            .inspector(&device.person)
            .ok()
            .flatten()
            .map(|i| i.name);
        let team_name = store.team(&device.team).ok().flatten().map(|t| t.name);
        Ok::<_, StoreError>((device, person_name, team_name))
    })
    .await?;
    let (device, person_name, team_name) = result.inspect_err(|e| {
        tracing::warn!(target: "fieldloop::auth", %addr, "enrollment refused: {e}");
    })?;
    tracing::info!(target: "fieldloop::auth", device = %device.id, person = %device.person, %addr, "device enrolled");
    Ok(Json(EnrollResponse {
        device_id,
        token,
        actor,
        person_name: person_name.unwrap_or_else(|| device.person.clone()),
        team_name: team_name.unwrap_or_else(|| device.team.clone()),
        person: device.person,
        team: device.team,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_control_and_direction_characters_and_are_bounded() {
        assert_eq!(clean_name("  张伟的\t平板\n "), "张伟的 平板");
        assert_eq!(clean_name("ab\u{202e}cd\u{2066}ef\u{0007}"), "abcdef");
        assert_eq!(
            clean_name(&"长".repeat(500)).chars().count(),
            MAX_DEVICE_NAME
        );
    }

    #[test]
    fn every_attempt_counts_per_address_and_in_all() {
        let throttle = Throttle::default();
        let a: IpAddr = [10, 0, 0, 1].into();
        let b: IpAddr = [10, 0, 0, 2].into();
        let allowed = (0..30).filter(|_| throttle.allow(a)).count();
        assert_eq!(allowed, ATTEMPTS_PER_ADDRESS as usize);
        assert!(throttle.allow(b), "another address is not locked out");
    }
}
