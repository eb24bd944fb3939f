//! The messages of the sync protocol (`POST /api/v1/sync`, CBOR bodies).
//!
//! The exchange is heads-based and keeps no state between requests: the
//! tablet sends, per document it changed, its heads and
//! `save_after(known)`, where `known` are the heads it knows the server has;
//! the server applies them and answers, per document, its heads and
//! `save_after(the tablet's heads)`, plus every other document visible to
//! the device that changed since the tablet's feed `cursor`. A lost or
//! repeated request or answer is harmless: applying changes twice is a
//! no-op, and each answer is computed from what the request says, never
//! from what the server last sent.
//!
//! Version 2 keeps the wire small: one-letter field names, fields at their
//! default value left out, `known` not sent (the server answers from the
//! tablet's heads alone), and a pushed document the server now holds
//! exactly as pushed is acknowledged by its index in the request (`acks`)
//! instead of an entry with its id and heads. The acks are bound to the
//! pushes they acknowledge by [`ack_hash`], so an answer that reaches the
//! tablet for another request (a stale or duplicated answer) can never make
//! it believe the server holds heads it does not. See `docs/protocol.md`
//! for the full description.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;
use sha2::{Digest, Sha256};

use crate::codes::ErrorCode;

/// Version of the protocol these messages belong to.
pub const PROTOCOL_VERSION: u32 = 2;
/// Documents one request may push; a client with more sends several requests.
pub const MAX_PUSH_DOCS: usize = 500;
/// Change bytes a client puts in one request (the server accepts 32 MiB bodies).
pub const MAX_PUSH_BYTES: usize = 16 * 1024 * 1024;
/// Content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/cbor";

fn is_false(b: &bool) -> bool {
    !*b
}

fn no_bytes(b: &ByteBuf) -> bool {
    b.is_empty()
}

/// What a tablet sends (CBOR map `{v, c, d}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Must equal [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The feed position up to which the tablet has applied every answer.
    #[serde(rename = "c")]
    pub cursor: u64,
    /// Documents the tablet changed (left out when none).
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub docs: Vec<DocPush>,
    /// The version of the directory the tablet holds (0: none yet). Left
    /// out by a client that takes no directory (one older than `dv`): the
    /// server then sends none, so its answers stay readable to it.
    #[serde(rename = "dv", default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<u64>,
    /// The tablet takes a new device token in the answer (`tok`); left out
    /// (false) by a client that cannot, which is then never sent one.
    #[serde(rename = "rt", default, skip_serializing_if = "is_false")]
    pub rotate: bool,
    /// The paged-through mark of the last answer (its `cd`): besides every
    /// feed entry up to `c`, the tablet holds every task whose latest entry
    /// is at or before it. Left out by a client older than `cd`: the server
    /// then pages by the first entry after `c` and sends no `cd`.
    #[serde(rename = "cd", default, skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
}

/// One document's changes, from the tablet (CBOR map `{i, h, c}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocPush {
    #[serde(rename = "i")]
    pub id: String,
    /// The tablet's heads, including `changes`.
    #[serde(rename = "h")]
    pub heads: Vec<ByteBuf>,
    /// `save_after(known)`, `known` being the heads the tablet knows the
    /// server has (nothing known: the whole document); left out when empty.
    #[serde(rename = "c", default, skip_serializing_if = "no_bytes")]
    pub changes: ByteBuf,
}

/// What the server answers (CBOR map `{c, m, a, ah, d}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncResponse {
    /// The feed position this answer brings the tablet to.
    #[serde(rename = "c")]
    pub cursor: u64,
    /// More changed documents are waiting: send another request (left out when false).
    #[serde(rename = "m", default, skip_serializing_if = "is_false")]
    pub more: bool,
    /// Indices, in the request's `docs`, of the pushes the server now holds
    /// exactly: its heads equal the pushed heads and the tablet lacks
    /// nothing. Such a push has no entry in `docs`. Left out when none.
    #[serde(rename = "a", default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<u32>,
    /// [`ack_hash`] of the acknowledged pushes; present exactly when `acks` is.
    #[serde(rename = "ah", default, skip_serializing_if = "Option::is_none")]
    pub ack_hash: Option<ByteBuf>,
    /// Every other pushed document, and the feed (left out when none).
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub docs: Vec<DocPull>,
    /// The server's directory, when its version differs from the request's
    /// `dv` (left out otherwise).
    #[serde(rename = "dir", default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<DirectorySnapshot>,
    /// A new device token replacing the one the request presented (only to
    /// a request with `rt`): the tablet keeps it with this answer and sends
    /// it from then on. The old one is accepted for a grace period.
    #[serde(rename = "tok", default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Only to a request with `cd`: the tablet now also holds, whole, every
    /// task whose latest feed entry is at or before this mark (it sends it
    /// back as the next request's `cd`). A page that holds everything
    /// answers `c` = `cd` = the feed's end.
    #[serde(rename = "cd", default, skip_serializing_if = "Option::is_none")]
    pub done: Option<u64>,
}

/// The names a tablet shows: every department and team, and the inspectors
/// of the device's team (CBOR map `{v, d, t, p}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySnapshot {
    /// The version; the tablet sends it back as the request's `dv`.
    #[serde(rename = "v")]
    pub version: u64,
    #[serde(rename = "d", default, skip_serializing_if = "Vec::is_empty")]
    pub departments: Vec<DirectoryDepartment>,
    #[serde(rename = "t", default, skip_serializing_if = "Vec::is_empty")]
    pub teams: Vec<DirectoryName>,
    #[serde(rename = "p", default, skip_serializing_if = "Vec::is_empty")]
    pub inspectors: Vec<DirectoryName>,
}

/// A department's code and names (CBOR map `{c, n, e}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryDepartment {
    #[serde(rename = "c")]
    pub code: String,
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "e")]
    pub name_en: String,
}

/// A team's or an inspector's id and name (CBOR map `{i, n}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectoryName {
    #[serde(rename = "i")]
    pub id: String,
    #[serde(rename = "n")]
    pub name: String,
}

/// One document, from the server (CBOR map `{i, h, c, f, r}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocPull {
    #[serde(rename = "i")]
    pub id: String,
    /// The server's heads after applying what the tablet sent.
    #[serde(rename = "h")]
    pub heads: Vec<ByteBuf>,
    /// Changes the tablet lacks (a whole saved document when `full`); left
    /// out when empty.
    #[serde(rename = "c", default, skip_serializing_if = "no_bytes")]
    pub changes: ByteBuf,
    /// `changes` is a complete document (the tablet had none, or the delta
    /// could not be computed from what the tablet said it has). Left out when false.
    #[serde(rename = "f", default, skip_serializing_if = "is_false")]
    pub full: bool,
    /// The server lacked the dependencies of what the tablet sent (say, it
    /// was restored from a backup) and applied nothing: send everything
    /// (`known` empty) again. Left out when false.
    #[serde(rename = "r", default, skip_serializing_if = "is_false")]
    pub resend: bool,
}

/// Binds acknowledgements to the pushes they acknowledge: SHA-256 over, for
/// each index of `acks` in order, the push's id (its UTF-8 length as a
/// 4-byte big-endian number, then its bytes) and its heads as sent (their
/// count as a 4-byte big-endian number, then each hash's bytes). `None` if
/// an index is not in `docs`.
pub fn ack_hash(docs: &[DocPush], acks: &[u32]) -> Option<[u8; 32]> {
    let mut hash = Sha256::new();
    for &i in acks {
        let push = docs.get(usize::try_from(i).ok()?)?;
        hash.update(u32::try_from(push.id.len()).ok()?.to_be_bytes());
        hash.update(push.id.as_bytes());
        hash.update(u32::try_from(push.heads.len()).ok()?.to_be_bytes());
        for head in &push.heads {
            hash.update(head);
        }
    }
    Some(hash.finalize().into())
}

impl SyncResponse {
    /// The pushes of `docs` (the request this answer is taken for) that the
    /// answer acknowledges. None unless `ack_hash` matches: an answer to
    /// another request (stale, or crossed with a newer one) acknowledges
    /// nothing of this one, unless it acknowledges the very same ids at the
    /// very same heads, which the server then does hold.
    pub fn acked<'a>(&self, docs: &'a [DocPush]) -> Vec<&'a DocPush> {
        if self.acks.is_empty() {
            return Vec::new();
        }
        let matches = ack_hash(docs, &self.acks).is_some_and(|expected| {
            self.ack_hash
                .as_ref()
                .is_some_and(|got| got.as_slice() == expected.as_slice())
        });
        if !matches {
            return Vec::new();
        }
        self.acks
            .iter()
            .filter_map(|&i| docs.get(usize::try_from(i).ok()?))
            .collect()
    }
}

/// A protocol message that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("消息不是有效的 CBOR 或字段不符 (not a valid sync message): {0}")]
    Decode(String),
    #[error("变更哈希应为 32 字节，这里是 {0} 字节 (a change hash has 32 bytes, this one {0})")]
    BadHash(usize),
    #[error(
        "协议版本 {0} 不受支持，请更新应用 (protocol version {0} is not supported: update the app)"
    )]
    Version(u32),
}

impl WireError {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Decode(_) => ErrorCode::SyncBadMessage,
            Self::BadHash(_) => ErrorCode::SyncBadHash,
            Self::Version(_) => ErrorCode::SyncVersion,
        }
    }
}

/// Encodes a message as CBOR.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    let mut out = Vec::new();
    // Writing into a Vec cannot fail, and these types always serialise.
    ciborium::into_writer(message, &mut out).unwrap_or_default();
    out
}

/// Decodes a CBOR message.
pub fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, WireError> {
    ciborium::from_reader(bytes).map_err(|e| WireError::Decode(e.to_string()))
}

/// Just the version of a request, whatever else it holds.
#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

/// Decodes a request, checking its version first so that a client speaking
/// another version gets [`WireError::Version`] rather than a decoding error.
pub fn decode_request(bytes: &[u8]) -> Result<SyncRequest, WireError> {
    let VersionOnly { v } = decode(bytes)?;
    if v != PROTOCOL_VERSION {
        return Err(WireError::Version(v));
    }
    decode(bytes)
}

/// The first bytes of every Automerge storage chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Checks that `bytes` are a run of whole, intact Automerge chunks (a
/// saved document or changes). Automerge's incremental load silently skips
/// what it cannot parse (automerge/automerge#354); the sync layers refuse
/// such input instead.
///
/// A chunk is: magic (4), checksum (4: the first bytes of the SHA-256 of
/// what follows it), type (1), ULEB128 length, data.
pub fn check_changes(mut bytes: &[u8]) -> Result<(), WireError> {
    let bad = |why: &str| WireError::Decode(format!("Automerge: {why}"));
    while !bytes.is_empty() {
        if bytes.len() < 9 || bytes[..4] != CHUNK_MAGIC {
            return Err(bad("not an Automerge chunk"));
        }
        let end = chunk_len(bytes).ok_or_else(|| bad("truncated chunk header"))?;
        if end > bytes.len() {
            return Err(bad("truncated chunk"));
        }
        // Compressed change chunks (type 2) are checksummed before compression.
        if bytes[8] != 2 {
            let digest = Sha256::digest(&bytes[8..end]);
            if digest[..4] != bytes[4..8] {
                return Err(bad("chunk checksum does not match (damaged data)"));
            }
        }
        bytes = &bytes[end..];
    }
    Ok(())
}

/// Chunk type of an Automerge change (type 0 is a whole document, 2 a
/// deflate-compressed change).
const CHANGE_CHUNK: u8 = 1;

/// How much one push may make the server expand. Each bound is checked on
/// the bytes as they arrived, before any change is decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Changes in one document's push.
    pub changes: usize,
    /// Operations in one change.
    pub ops_per_change: u64,
    /// Operations in one document's push, all changes together.
    pub ops: u64,
}

/// [`Budget::changes`] by default: a task worked on for weeks, pushed whole.
pub const MAX_PUSH_CHANGES: usize = 20_000;
/// [`Budget::ops_per_change`] by default: the creation of a task with a
/// large handbook is about 1,000.
pub const MAX_CHANGE_OPS: u64 = 50_000;
/// [`Budget::ops`] by default.
pub const MAX_PUSH_OPS: u64 = 200_000;

impl Default for Budget {
    fn default() -> Self {
        Self {
            changes: MAX_PUSH_CHANGES,
            ops_per_change: MAX_CHANGE_OPS,
            ops: MAX_PUSH_OPS,
        }
    }
}

/// A push over its [`Budget`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverBudget {
    #[error("一次推送的变更过多：{0}（上限 {1}）(too many changes in one push: {0}, at most {1})")]
    Changes(usize, usize),
    #[error(
        "一个变更的操作过多：{0}（上限 {1}）(too many operations in one change: {0}, at most {1})"
    )]
    OpsPerChange(u64, u64),
    #[error(
        "一次推送的操作过多：{0}（上限 {1}）(too many operations in one push: {0}, at most {1})"
    )]
    Ops(u64, u64),
}

/// Why a push's changes were not taken.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error(transparent)]
    OverBudget(#[from] OverBudget),
}

/// The changes of a push: `bytes` must be whole, intact, uncompressed
/// change chunks (what `save_after` writes). A saved document or a
/// compressed change is refused before anything is expanded: neither is
/// what a client sends, and inflating one can cost far more than its size.
/// Each change's operations are counted off its action column (a few bytes
/// of run-length encoding can stand for billions of them) and held to
/// `budget` before the change is decoded.
pub fn decode_changes(bytes: &[u8], budget: &Budget) -> Result<Vec<automerge::Change>, PushError> {
    check_changes(bytes)?;
    let mut rest = bytes;
    let mut chunks = Vec::new();
    let mut ops = 0u64;
    while !rest.is_empty() {
        let len = chunk_len(rest)
            .ok_or_else(|| WireError::Decode("Automerge: truncated chunk".into()))?;
        let (chunk, tail) = rest.split_at(len);
        if chunk[8] != CHANGE_CHUNK {
            return Err(WireError::Decode(format!(
                "Automerge: chunk type {} is not accepted in a push: send uncompressed change chunks (save_after)",
                chunk[8]
            ))
            .into());
        }
        if chunks.len() == budget.changes {
            return Err(OverBudget::Changes(chunks.len() + 1, budget.changes).into());
        }
        let n = change_ops(chunk, budget.ops_per_change)?;
        if n > budget.ops_per_change {
            return Err(OverBudget::OpsPerChange(n, budget.ops_per_change).into());
        }
        ops += n;
        if ops > budget.ops {
            return Err(OverBudget::Ops(ops, budget.ops).into());
        }
        chunks.push(chunk);
        rest = tail;
    }
    chunks
        .into_iter()
        .map(|chunk| {
            automerge::Change::try_from(chunk)
                .map_err(|e| PushError::Wire(WireError::Decode(format!("Automerge: {e}"))))
        })
        .collect()
}

/// Applies decoded push changes to `doc` (a copy the caller may discard).
///
/// Automerge 0.12 trusts that every actor a change names besides its own
/// is one the document knows, and panics when it is not (a change whose
/// list of other actors was tampered with); such a change is refused here
/// first. Any other panic inside Automerge on hostile input is caught and
/// refused too, so bad bytes from one device never take down the process
/// that reads them.
pub fn apply_changes(
    doc: &mut automerge::AutoCommit,
    changes: Vec<automerge::Change>,
) -> Result<(), WireError> {
    let mut known: std::collections::HashSet<automerge::ActorId> = doc
        .get_changes_meta(&[])
        .into_iter()
        .map(|m| m.actor.into_owned())
        .collect();
    known.extend(changes.iter().map(|c| c.actor_id().clone()));
    for change in &changes {
        if let Some(actor) = change
            .other_actor_ids()
            .iter()
            .find(|a| !known.contains(*a))
        {
            return Err(WireError::Decode(format!(
                "Automerge: change {} refers to actor {actor}, unknown to the document",
                change.hash()
            )));
        }
    }
    let applied =
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| doc.apply_changes(changes)));
    match applied {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(WireError::Decode(format!("Automerge: {e}"))),
        Err(_) => Err(WireError::Decode(
            "Automerge could not apply these changes (malformed)".into(),
        )),
    }
}

/// Reads LEB128 numbers off a byte slice, refusing overlong or truncated ones.
struct Leb<'a>(&'a [u8]);

impl Leb<'_> {
    fn unsigned(&mut self) -> Option<u64> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            let bits = u64::from(byte & 0x7f);
            if shift == 63 && bits > 1 {
                return None;
            }
            value |= bits << shift;
            if byte & 0x80 == 0 {
                return Some(value);
            }
        }
        None
    }

    fn signed(&mut self) -> Option<i64> {
        let mut value = 0i64;
        let mut shift = 0;
        loop {
            let (&byte, rest) = self.0.split_first()?;
            self.0 = rest;
            if shift >= 64 {
                return None;
            }
            value |= i64::from(byte & 0x7f) << shift;
            shift += 7;
            if byte & 0x80 == 0 {
                if shift < 64 && byte & 0x40 != 0 {
                    value |= -1i64 << shift;
                }
                return Some(value);
            }
        }
    }

    fn skip(&mut self, n: u64) -> Option<()> {
        let n = usize::try_from(n).ok()?;
        self.0 = self.0.get(n..)?;
        Some(())
    }
}

/// The column id and type of the action column of a change (`(4 << 4) | 2`:
/// column 4, unsigned integers, run-length encoded).
const ACTION_COLUMN: u64 = (4 << 4) | 2;

/// How many operations a change chunk holds, read off its header and
/// action column without decoding it: at most `cap + 1` is counted.
fn change_ops(chunk: &[u8], cap: u64) -> Result<u64, WireError> {
    let bad = || WireError::Decode("Automerge: malformed change header".into());
    // `chunk` is exactly one chunk: its header is what comes before its data.
    let header = chunk
        .len()
        .checked_sub(data_len(chunk).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    let mut r = Leb(&chunk[header..]);
    let deps = r.unsigned().ok_or_else(bad)?;
    r.skip(deps.checked_mul(32).ok_or_else(bad)?)
        .ok_or_else(bad)?;
    let actor = r.unsigned().ok_or_else(bad)?;
    r.skip(actor).ok_or_else(bad)?;
    r.unsigned().ok_or_else(bad)?; // seq
    r.unsigned().ok_or_else(bad)?; // start op
    r.signed().ok_or_else(bad)?; // time
    let message = r.unsigned().ok_or_else(bad)?;
    r.skip(message).ok_or_else(bad)?;
    let others = r.unsigned().ok_or_else(bad)?;
    for _ in 0..others {
        let len = r.unsigned().ok_or_else(bad)?;
        r.skip(len).ok_or_else(bad)?;
    }
    let columns = r.unsigned().ok_or_else(bad)?;
    let mut offset = 0u64;
    let mut action = None;
    for _ in 0..columns.min(64) {
        let spec = r.unsigned().ok_or_else(bad)?;
        let len = r.unsigned().ok_or_else(bad)?;
        if spec & !0b1000 == ACTION_COLUMN {
            action = Some((offset, len));
        }
        offset = offset.checked_add(len).ok_or_else(bad)?;
    }
    let Some((start, len)) = action else {
        return Ok(0);
    };
    let data = r.0;
    let start = usize::try_from(start).map_err(|_| bad())?;
    let end = start
        .checked_add(usize::try_from(len).map_err(|_| bad())?)
        .ok_or_else(bad)?;
    let mut runs = Leb(data.get(start..end).ok_or_else(bad)?);
    let mut count = 0u64;
    while !runs.0.is_empty() && count <= cap {
        let run = runs.signed().ok_or_else(bad)?;
        let n = match run {
            // `run` copies of the next value.
            1.. => {
                runs.unsigned().ok_or_else(bad)?;
                run.unsigned_abs()
            }
            // `-run` literal values.
            ..0 => {
                let n = run.unsigned_abs();
                for _ in 0..n.min(cap.saturating_add(1)) {
                    runs.unsigned().ok_or_else(bad)?;
                }
                n
            }
            // A run of nulls: its length follows.
            0 => runs.unsigned().ok_or_else(bad)?,
        };
        count = count.saturating_add(n);
    }
    Ok(count)
}

/// The length of a chunk's data (after its header), if the header is whole.
fn data_len(bytes: &[u8]) -> Option<usize> {
    let mut r = Leb(bytes.get(9..)?);
    usize::try_from(r.unsigned()?).ok()
}

/// The length of the chunk at the start of `bytes` (header and data), if
/// its header is whole.
fn chunk_len(bytes: &[u8]) -> Option<usize> {
    let mut len: u64 = 0;
    for used in 0..9 {
        let byte = *bytes.get(9 + used)?;
        len |= u64::from(byte & 0x7f) << (7 * used);
        if byte & 0x80 == 0 {
            return usize::try_from(len).ok()?.checked_add(9 + used + 1);
        }
    }
    None
}

/// Heads as one column value for storage: their 32-byte hashes back to back.
pub fn heads_to_bytes(heads: &[ChangeHash]) -> Vec<u8> {
    heads.iter().flat_map(|h| h.0).collect()
}

/// Heads from [`heads_to_bytes`]; a trailing partial hash is ignored.
pub fn heads_from_bytes(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .filter_map(|c| ChangeHash::try_from(c).ok())
        .collect()
}

/// Heads as they travel: 32 raw bytes each.
pub fn heads_to_wire(heads: &[ChangeHash]) -> Vec<ByteBuf> {
    heads.iter().map(|h| ByteBuf::from(h.0.to_vec())).collect()
}

/// Heads from the wire; every entry must be 32 bytes.
pub fn heads_from_wire(heads: &[ByteBuf]) -> Result<Vec<ChangeHash>, WireError> {
    heads
        .iter()
        .map(|b| ChangeHash::try_from(b.as_slice()).map_err(|_| WireError::BadHash(b.len())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(id: &str, heads: &[ChangeHash], changes: &[u8]) -> DocPush {
        DocPush {
            id: id.into(),
            heads: heads_to_wire(heads),
            changes: ByteBuf::from(changes.to_vec()),
        }
    }

    #[test]
    fn messages_round_trip_through_cbor() {
        let hash = ChangeHash([7; 32]);
        let request = SyncRequest {
            rotate: false,
            done: None,
            v: PROTOCOL_VERSION,
            cursor: 42,
            docs: vec![push("t-1", &[hash], &[1, 2, 3]), push("t-2", &[hash], &[])],
            directory: None,
        };
        let bytes = encode(&request);
        let back: SyncRequest = decode(&bytes).expect("decode");
        assert_eq!(back, request);
        assert_eq!(
            heads_from_wire(&back.docs[0].heads).expect("heads"),
            vec![hash]
        );
        let response = SyncResponse {
            done: None,
            token: None,
            cursor: 7,
            more: true,
            acks: vec![1],
            ack_hash: ack_hash(&request.docs, &[1]).map(|h| ByteBuf::from(h.to_vec())),
            docs: vec![DocPull {
                id: "t-1".into(),
                heads: heads_to_wire(&[hash]),
                changes: ByteBuf::from(vec![4]),
                full: true,
                resend: false,
            }],
            directory: None,
        };
        let back: SyncResponse = decode(&encode(&response)).expect("decode");
        assert_eq!(back, response);
    }

    #[test]
    fn the_wire_format_is_the_documented_one() {
        // docs/protocol.md: one-letter keys, defaults left out.
        let request = SyncRequest {
            rotate: false,
            done: None,
            v: 2,
            cursor: 5,
            docs: vec![push("t", &[ChangeHash([1; 32])], &[9])],
            directory: None,
        };
        let mut expected = vec![0xa3, 0x61, b'v', 0x02, 0x61, b'c', 0x05, 0x61, b'd', 0x81];
        expected.extend([0xa3, 0x61, b'i', 0x61, b't', 0x61, b'h', 0x81, 0x58, 0x20]);
        expected.extend([1; 32]);
        expected.extend([0x61, b'c', 0x41, 9]);
        assert_eq!(encode(&request), expected);
        let nothing = SyncRequest {
            rotate: false,
            done: None,
            v: 2,
            cursor: 5,
            docs: vec![],
            directory: None,
        };
        assert_eq!(encode(&nothing), [0xa2, 0x61, b'v', 0x02, 0x61, b'c', 0x05]);
        let quiet = SyncResponse {
            done: None,
            token: None,
            cursor: 5,
            more: false,
            acks: vec![],
            ack_hash: None,
            docs: vec![],
            directory: None,
        };
        assert_eq!(encode(&quiet), [0xa1, 0x61, b'c', 0x05]);
        let pull = DocPull {
            id: "t".into(),
            heads: vec![],
            changes: ByteBuf::new(),
            full: false,
            resend: true,
        };
        assert_eq!(
            encode(&pull),
            [
                0xa3, 0x61, b'i', 0x61, b't', 0x61, b'h', 0x80, 0x61, b'r', 0xf5
            ]
        );
    }

    #[test]
    fn the_directory_travels_only_when_the_tablet_lacks_it() {
        // A tablet that holds version 7 says so in three more bytes.
        let request = SyncRequest {
            rotate: false,
            done: None,
            v: 2,
            cursor: 5,
            docs: vec![],
            directory: Some(7),
        };
        assert_eq!(
            encode(&request),
            [
                0xa3, 0x61, b'v', 0x02, 0x61, b'c', 0x05, 0x62, b'd', b'v', 0x07
            ]
        );
        assert_eq!(decode::<SyncRequest>(&encode(&request)).ok(), Some(request));
        // A tablet with none yet says 0; an older client says nothing at all.
        let none_yet = encode(&SyncRequest {
            rotate: false,
            done: None,
            v: 2,
            cursor: 5,
            docs: vec![],
            directory: Some(0),
        });
        assert_eq!(&none_yet[7..], [0x62, b'd', b'v', 0x00]);
        let older = decode::<SyncRequest>(&[0xa2, 0x61, b'v', 0x02, 0x61, b'c', 0x05]);
        assert_eq!(older.ok().and_then(|r| r.directory), None);
        // An answer carries a newer directory, with short keys, and reads back.
        let answer = SyncResponse {
            done: None,
            token: None,
            cursor: 5,
            more: false,
            acks: vec![],
            ack_hash: None,
            docs: vec![],
            directory: Some(DirectorySnapshot {
                version: 8,
                departments: vec![DirectoryDepartment {
                    code: "SCJG".into(),
                    name: "市场监管局".into(),
                    name_en: "Market Regulation".into(),
                }],
                teams: vec![],
                inspectors: vec![DirectoryName {
                    id: "I-001".into(),
                    name: "钟志强".into(),
                }],
            }),
        };
        let bytes = encode(&answer);
        assert_eq!(decode::<SyncResponse>(&bytes).ok(), Some(answer));
        // A directory with a key nobody defined is refused like any other.
        #[derive(Serialize)]
        struct Odd {
            c: u64,
            dir: std::collections::BTreeMap<&'static str, u64>,
        }
        let odd = encode(&Odd {
            c: 5,
            dir: [("v", 8), ("x", 1)].into_iter().collect(),
        });
        assert!(matches!(
            decode::<SyncResponse>(&odd),
            Err(WireError::Decode(_))
        ));
    }

    #[test]
    fn the_ack_hash_is_the_documented_digest() {
        let docs = [
            push("a", &[ChangeHash([1; 32])], &[]),
            push("bc", &[ChangeHash([2; 32]), ChangeHash([3; 32])], &[]),
        ];
        let mut input = Vec::new();
        input.extend(2u32.to_be_bytes());
        input.extend(b"bc");
        input.extend(2u32.to_be_bytes());
        input.extend([2; 32]);
        input.extend([3; 32]);
        input.extend(1u32.to_be_bytes());
        input.extend(b"a");
        input.extend(1u32.to_be_bytes());
        input.extend([1; 32]);
        let expected: [u8; 32] = Sha256::digest(&input).into();
        assert_eq!(ack_hash(&docs, &[1, 0]), Some(expected));
        assert_eq!(ack_hash(&docs, &[2]), None, "no such push");
    }

    #[test]
    fn acks_count_only_for_the_pushes_they_were_made_for() {
        let (h1, h2) = (ChangeHash([1; 32]), ChangeHash([2; 32]));
        let sent = vec![push("a", &[h1], &[1]), push("b", &[h1], &[1])];
        let answer = |docs: &[DocPush], acks: Vec<u32>| SyncResponse {
            done: None,
            token: None,
            cursor: 0,
            more: false,
            ack_hash: ack_hash(docs, &acks).map(|h| ByteBuf::from(h.to_vec())),
            acks,
            docs: vec![],
            directory: None,
        };
        let fresh = answer(&sent, vec![1]);
        assert_eq!(fresh.acked(&sent), vec![&sent[1]]);
        // The same answer taken for a later request: "b" moved on, "a" did not.
        let later = vec![push("b", &[h2], &[2]), push("a", &[h1], &[1])];
        assert!(
            fresh.acked(&later).is_empty(),
            "index 1 is now another push"
        );
        let later_b = vec![push("a", &[h1], &[1]), push("b", &[h2], &[2])];
        assert!(fresh.acked(&later_b).is_empty(), "b has other heads now");
        assert!(fresh.acked(&sent[..1]).is_empty(), "no push 1");
        // Acks of pushes with the same ids and heads do hold.
        let same = vec![push("a", &[h2], &[3]), push("b", &[h1], &[])];
        assert_eq!(fresh.acked(&same), vec![&same[1]]);
        // Acks without their hash, or with another one, count for nothing.
        let mut bare = fresh.clone();
        bare.ack_hash = None;
        assert!(bare.acked(&sent).is_empty());
        let mut forged = fresh.clone();
        forged.ack_hash = Some(ByteBuf::from(vec![0; 32]));
        assert!(forged.acked(&sent).is_empty());
    }

    #[test]
    fn another_version_is_refused_as_such() {
        let v2 = encode(&SyncRequest {
            rotate: false,
            done: None,
            v: PROTOCOL_VERSION,
            cursor: 1,
            docs: vec![],
            directory: None,
        });
        assert!(decode_request(&v2).is_ok());
        #[derive(Serialize)]
        struct V1 {
            v: u32,
            cursor: u64,
            docs: Vec<u8>,
        }
        let v1 = encode(&V1 {
            v: 1,
            cursor: 1,
            docs: vec![],
        });
        let err = decode_request(&v1).expect_err("v1");
        assert_eq!(err.code(), "sync.version");
        assert!(matches!(err, WireError::Version(1)));
        assert_eq!(
            decode_request(b"\xa1\x61c\x01")
                .expect_err("no version")
                .code(),
            "sync.bad_message"
        );
    }

    #[test]
    fn garbage_and_bad_hashes_are_typed_errors() {
        assert_eq!(
            decode::<SyncRequest>(b"\xff\x00garbage")
                .expect_err("garbage")
                .code(),
            "sync.bad_message"
        );
        let err = heads_from_wire(&[ByteBuf::from(vec![1, 2])]).expect_err("short");
        assert_eq!(err.code(), "sync.bad_hash");
    }

    #[test]
    fn partial_or_garbage_automerge_bytes_are_refused() {
        let mut doc = automerge::AutoCommit::new();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", 1).expect("put");
        let good = doc.save_incremental();
        assert!(check_changes(&good).is_ok());
        assert!(check_changes(b"definitely not automerge").is_err());
        let mut trailing = good.clone();
        trailing.extend_from_slice(b"junk");
        assert!(check_changes(&trailing).is_err());
        assert!(check_changes(&good[..good.len() - 1]).is_err(), "truncated");
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x40;
        assert!(check_changes(&flipped).is_err(), "damaged");
        let mut two = good.clone();
        automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", 2).expect("put");
        two.extend(doc.save_incremental());
        assert!(check_changes(&two).is_ok(), "two chunks");
        assert!(check_changes(&doc.save()).is_ok(), "a whole document");
    }

    fn uleb(mut n: u64, out: &mut Vec<u8>) {
        loop {
            let byte = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                out.push(byte);
                return;
            }
            out.push(byte | 0x80);
        }
    }

    /// A change chunk around `data`, with a valid checksum.
    fn change_chunk(data: &[u8]) -> Vec<u8> {
        let mut body = vec![CHANGE_CHUNK];
        uleb(data.len() as u64, &mut body);
        body.extend_from_slice(data);
        let digest = Sha256::digest(&body);
        let mut out = CHUNK_MAGIC.to_vec();
        out.extend_from_slice(&digest[..4]);
        out.extend(body);
        out
    }

    #[test]
    fn operations_are_counted_off_the_action_column_before_anything_is_decoded() {
        let mut doc = automerge::AutoCommit::new();
        let list = automerge::transaction::Transactable::put_object(
            &mut doc,
            automerge::ROOT,
            "l",
            automerge::ObjType::List,
        )
        .expect("list");
        for i in 0..1000 {
            automerge::transaction::Transactable::insert(&mut doc, &list, i, "x").expect("insert");
        }
        let bytes = doc.save_incremental();
        let changes = decode_changes(&bytes, &Budget::default()).expect("decode");
        assert_eq!(changes[0].len(), 1001);
        assert_eq!(change_ops(&bytes, u64::MAX).expect("count"), 1001);
        let tight = Budget {
            ops_per_change: 1000,
            ..Budget::default()
        };
        assert!(matches!(
            decode_changes(&bytes, &tight),
            Err(PushError::OverBudget(OverBudget::OpsPerChange(1001, 1000)))
        ));

        // Nine bytes of action column that claim a trillion operations.
        let mut data = vec![0u8]; // no dependencies
        data.push(16);
        data.extend([7u8; 16]); // actor
        data.extend([1, 1, 0, 0, 0]); // seq, start op, time, no message, no other actors
        let mut column = Vec::new();
        column.extend([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20]); // run of 2^62…
        column.push(1); // …copies of "put"
        data.push(1);
        data.push(ACTION_COLUMN as u8);
        uleb(column.len() as u64, &mut data);
        data.extend(column);
        let bomb = change_chunk(&data);
        assert!(check_changes(&bomb).is_ok(), "a well-formed chunk");
        // Refused by the count, before Automerge walks a single operation.
        let err = decode_changes(&bomb, &Budget::default()).expect_err("refused");
        assert!(
            matches!(err, PushError::OverBudget(OverBudget::OpsPerChange(..))),
            "{err}"
        );
    }

    #[test]
    fn a_push_of_too_many_changes_is_refused() {
        let mut doc = automerge::AutoCommit::new();
        for i in 0..5 {
            automerge::transaction::Transactable::put(&mut doc, automerge::ROOT, "k", i)
                .expect("put");
            doc.commit();
        }
        let bytes = doc.save_after(&[]);
        let tight = Budget {
            changes: 4,
            ..Budget::default()
        };
        assert!(matches!(
            decode_changes(&bytes, &tight),
            Err(PushError::OverBudget(OverBudget::Changes(5, 4)))
        ));
        assert_eq!(
            decode_changes(&bytes, &Budget::default())
                .expect("ok")
                .len(),
            5
        );
        let compressed = doc.save();
        assert!(matches!(
            decode_changes(&compressed, &Budget::default()),
            Err(PushError::Wire(WireError::Decode(_)))
        ));
    }

    #[test]
    fn an_empty_no_change_request_is_a_few_bytes() {
        let bytes = encode(&SyncRequest {
            rotate: false,
            done: None,
            v: PROTOCOL_VERSION,
            cursor: 123_456,
            docs: vec![],
            directory: None,
        });
        assert!(bytes.len() < 32, "{} bytes", bytes.len());
    }
}
