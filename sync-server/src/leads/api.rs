//! The API of the outside channels (12345, 互联网+监管, grid members,
//! associations, media), each with a key of its own:
//!
//! - `POST /api/v1/leads` with `Authorization: Bearer <key>`: a lead
//!   received from the key's channel; `201` with its id and state (a
//!   duplicate of an open lead is linked to it at once).
//! - `GET /api/v1/leads/{id}`: where the lead stands and the answer, to the
//!   channel that sent it only (another channel's lead is `404` like an
//!   unknown one).
//!
//! A key is `ck_<12 hex>.<64 hex>`; the server keeps only its SHA-256 and
//! compares in constant time. A wrong key is `401 lead.bad_key` and stores
//! nothing; too many wrong keys from one address, or too many leads with
//! one key, are `429 lead.rate_limited`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use fieldloop_core::Millis;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use super::{Channel, LeadDraft, LeadInput, LeadState, check_input};
use crate::AppState;
use crate::auth::{random_hex, secret_hash};
use crate::error::{ApiError, Code, ErrorAnswer};
use crate::peer::ClientAddr;
use crate::store::{ChannelKeyRow, Store, StoreError};

/// A lead sent by an outside channel.
#[derive(Debug, Clone, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct ChannelLeadRequest {
    /// The channel's own number for it (a 12345 work order), at most 64 characters.
    #[serde(default)]
    pub reference: Option<String>,
    /// When the channel received it (ms); now if left out.
    #[serde(default)]
    #[ts(type = "number | null")]
    pub received_at: Option<Millis>,
    /// The subject's unified social credit code, when known (checked).
    #[serde(default)]
    pub uscc: Option<String>,
    #[serde(default)]
    pub subject_name: String,
    pub summary: String,
    /// SHA-256 (hex) of each attachment.
    #[serde(default)]
    pub attachments: Vec<String>,
    /// Department codes, when the channel already knows whose it is.
    #[serde(default)]
    pub departments: Vec<String>,
    /// Suspected crime (行刑衔接).
    #[serde(default)]
    pub criminal: bool,
}

/// What the channel is told when its lead is taken.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct ChannelLeadAnswer {
    pub id: String,
    pub state: LeadState,
    /// The open lead it duplicates, if it was linked to one.
    pub duplicate_of: Option<String>,
}

/// Where a channel's lead stands, and the answer once there is one.
#[derive(Debug, Clone, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct LeadReply {
    pub id: String,
    pub reference: Option<String>,
    pub state: LeadState,
    #[ts(type = "number")]
    pub received_at: Millis,
    pub duplicate_of: Option<String>,
    pub answer: Option<String>,
    #[ts(type = "number | null")]
    pub answered_at: Option<Millis>,
}

/// A key that was presented and holds.
#[derive(Debug, Clone)]
pub struct ChannelKey {
    pub id: String,
    pub channel: Channel,
}

/// Makes a key for `channel`: stores its hash, answers the row and the key
/// (shown once).
pub fn create_channel_key(
    store: &dyn Store,
    channel: Channel,
    by: &str,
    now: Millis,
) -> Result<(ChannelKeyRow, String), StoreError> {
    let id = format!("ck_{}", random_hex(6));
    let key = format!("{id}.{}", random_hex(32));
    let row = ChannelKeyRow {
        id,
        channel: channel.as_str().to_owned(),
        key_hash: secret_hash(&key),
        created_by: by.to_owned(),
        created_at: now,
        revoked_at: None,
    };
    store.add_channel_key(&row)?;
    Ok((row, key))
}

fn bad_key() -> ApiError {
    ApiError::new(
        Code::LeadBadKey,
        "渠道密钥缺失、无效或已吊销 (the channel key is missing, unknown or revoked)",
    )
}

fn rate_limited() -> ApiError {
    ApiError::new(
        Code::LeadRateLimited,
        "请求过于频繁，请一分钟后再试 (too many requests; wait a minute)",
    )
}

/// The key of the request, checked; a wrong one counts against the address.
async fn authenticate(
    state: &AppState,
    addr: ClientAddr,
    headers: &HeaderMap,
) -> Result<ChannelKey, ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .map(str::to_owned);
    let checked = match presented {
        None => None,
        Some(key) => {
            let store = state.store.clone();
            tokio::task::spawn_blocking(move || -> Result<Option<ChannelKey>, ApiError> {
                let Some((id, _)) = key.split_once('.') else {
                    return Ok(None);
                };
                let Some(row) = store.channel_key(id)? else {
                    return Ok(None);
                };
                use subtle::ConstantTimeEq as _;
                let same: bool = secret_hash(&key)
                    .as_bytes()
                    .ct_eq(row.key_hash.as_bytes())
                    .into();
                let channel = Channel::parse(&row.channel).filter(|c| c.is_outside());
                Ok(match (same, row.revoked_at, channel) {
                    (true, None, Some(channel)) => Some(ChannelKey {
                        id: row.id,
                        channel,
                    }),
                    _ => None,
                })
            })
            .await??
        }
    };
    match checked {
        Some(key) => {
            if !state.leads.allow_key(&key.id) {
                return Err(rate_limited());
            }
            Ok(key)
        }
        None => {
            tracing::warn!(target: "fieldloop::auth", %addr, "lead API: wrong channel key");
            if !state.leads.failures_left(addr.0) {
                return Err(rate_limited());
            }
            Err(bad_key())
        }
    }
}

fn bad_input(message: impl Into<String>) -> ApiError {
    ApiError::new(Code::LeadBadInput, message)
}

/// `POST /api/v1/leads`.
#[utoipa::path(post, path = "/api/v1/leads", tag = "leads",
    request_body = ChannelLeadRequest,
    responses((status = 201, body = ChannelLeadAnswer),
        (status = 401, description = "no channel key, or a wrong or revoked one; nothing stored", body = ErrorAnswer),
        (status = 422, description = "the lead cannot be taken as sent", body = ErrorAnswer),
        (status = 429, description = "too many leads with the key, or wrong keys from the address", body = ErrorAnswer)),
    security(("channel_key" = [])))]
pub(crate) async fn post_lead(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<ChannelLeadAnswer>), ApiError> {
    // The key first: a stranger learns nothing about the body's checks.
    let key = authenticate(&state, addr, &headers).await?;
    let request: ChannelLeadRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            Code::HttpBadJson,
            format!("JSON 请求体无法读取或缺少字段 (the JSON body cannot be read): {e}"),
        )
    })?;
    let now = state.now();
    let input = check_input(
        &LeadInput {
            reference: request.reference,
            received_at: request.received_at,
            uscc: request.uscc,
            subject_name: request.subject_name,
            summary: request.summary,
            attachments: request.attachments,
            departments: request.departments,
            criminal: request.criminal,
        },
        now,
    )
    .map_err(|e| bad_input(e.to_string()))?;
    let store = state.store.clone();
    let lead = tokio::task::spawn_blocking(move || -> Result<_, ApiError> {
        for d in &input.departments {
            if store.department(d)?.is_none() {
                return Err(bad_input(format!("没有部门 {d} (no department {d})")));
            }
        }
        let draft = LeadDraft {
            source: key.channel,
            reference: input.reference,
            received_at: input.received_at.unwrap_or(now),
            uscc: input.uscc,
            subject_name: input.subject_name,
            summary: input.summary,
            attachments: input.attachments,
            departments: input.departments,
            criminal: input.criminal,
            by: format!("channel:{}", key.channel.as_str()),
            source_task: None,
            source_transfer: None,
            detect_duplicates: true,
        };
        Ok(store.insert_lead(&draft, now)?)
    })
    .await??;
    Ok((
        StatusCode::CREATED,
        Json(ChannelLeadAnswer {
            id: lead.id,
            state: lead.state,
            duplicate_of: lead.duplicate_of,
        }),
    ))
}

/// `GET /api/v1/leads/{id}`.
#[utoipa::path(get, path = "/api/v1/leads/{id}", tag = "leads",
    params(("id" = String, Path, description = "the lead's id, as `POST /api/v1/leads` answered it")),
    responses((status = 200, body = LeadReply),
        (status = 401, description = "no channel key, or a wrong or revoked one", body = ErrorAnswer),
        (status = 404, description = "no such lead from this channel", body = ErrorAnswer)),
    security(("channel_key" = [])))]
pub(crate) async fn get_lead(
    State(state): State<AppState>,
    addr: ClientAddr,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<LeadReply>, ApiError> {
    let key = authenticate(&state, addr, &headers).await?;
    let store = state.store.clone();
    let wanted = id.trim().chars().take(64).collect::<String>();
    let lead = tokio::task::spawn_blocking(move || store.lead(&wanted))
        .await??
        .filter(|l| l.source == key.channel);
    let Some(lead) = lead else {
        return Err(ApiError::new(
            Code::LeadNotFound,
            format!(
                "本渠道没有线索 {0} (no lead {0} from this channel)",
                id.chars().take(64).collect::<String>()
            ),
        ));
    };
    Ok(Json(LeadReply {
        id: lead.id,
        reference: lead.reference,
        state: lead.state,
        received_at: lead.received_at,
        duplicate_of: lead.duplicate_of,
        answer: lead.answer,
        answered_at: lead.answered_at,
    }))
}

pub(super) fn router() -> axum::Router<AppState> {
    use axum::routing::{get, post};
    axum::Router::new()
        .route("/api/v1/leads", post(post_lead))
        .route("/api/v1/leads/{id}", get(get_lead))
}
