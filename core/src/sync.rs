//! The messages of the sync protocol (`POST /api/v1/sync`, CBOR bodies).
//!
//! The exchange is heads-based and keeps no state between requests: the
//! tablet says, per document it changed, which heads it knows the server
//! has (`known`) and sends `save_after(known)`; the server applies them and
//! answers, per document, its heads and `save_after(the tablet's heads)`,
//! plus every other document visible to the device that changed since the
//! tablet's feed `cursor`. A lost or repeated request or answer is harmless:
//! applying changes twice is a no-op, and each answer is computed from what
//! the request says, never from what the server last sent. See
//! `docs/protocol.md` for the full description.

use automerge::ChangeHash;
use serde::{Deserialize, Serialize};
use serde_bytes::ByteBuf;

/// Version of the protocol these messages belong to.
pub const PROTOCOL_VERSION: u32 = 1;
/// Documents one request may push; a client with more sends several requests.
pub const MAX_PUSH_DOCS: usize = 500;
/// Change bytes a client puts in one request (the server accepts 32 MiB bodies).
pub const MAX_PUSH_BYTES: usize = 16 * 1024 * 1024;
/// Content type of requests and answers.
pub const CONTENT_TYPE: &str = "application/cbor";

/// What a tablet sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Must equal [`PROTOCOL_VERSION`].
    pub v: u32,
    /// The feed position up to which the tablet has applied every answer.
    pub cursor: u64,
    /// Documents the tablet changed.
    pub docs: Vec<DocPush>,
}

/// One document's changes, from the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocPush {
    pub id: String,
    /// Heads the tablet knows the server has (empty: nothing known).
    pub known: Vec<ByteBuf>,
    /// The tablet's heads, including `changes`.
    pub heads: Vec<ByteBuf>,
    /// `save_after(known)`: what the server may lack.
    pub changes: ByteBuf,
}

/// What the server answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncResponse {
    /// The feed position this answer brings the tablet to.
    pub cursor: u64,
    /// More changed documents are waiting: send another request.
    pub more: bool,
    pub docs: Vec<DocPull>,
}

/// One document, from the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocPull {
    pub id: String,
    /// The server's heads after applying what the tablet sent.
    pub heads: Vec<ByteBuf>,
    /// Changes the tablet lacks (a whole saved document when `full`).
    pub changes: ByteBuf,
    /// `changes` is a complete document (the tablet had none, or the delta
    /// could not be computed from what the tablet said it has).
    pub full: bool,
    /// The server lacked the dependencies of what the tablet sent (say, it
    /// was restored from a backup): send everything (`known` empty) again.
    pub resend: bool,
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
    pub fn code(&self) -> &'static str {
        match self {
            Self::Decode(_) => "sync.bad_message",
            Self::BadHash(_) => "sync.bad_hash",
            Self::Version(_) => "sync.version",
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

/// The first bytes of every Automerge storage chunk.
const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// Checks that `bytes` are a run of whole, intact Automerge chunks (a
/// saved document or changes). Automerge's incremental load silently skips
/// what it cannot parse; the sync layers refuse such input instead.
///
/// A chunk is: magic (4), checksum (4: the first bytes of the SHA-256 of
/// what follows it), type (1), ULEB128 length, data.
pub fn check_changes(mut bytes: &[u8]) -> Result<(), WireError> {
    let bad = |why: &str| WireError::Decode(format!("Automerge: {why}"));
    while !bytes.is_empty() {
        if bytes.len() < 9 || bytes[..4] != CHUNK_MAGIC {
            return Err(bad("not an Automerge chunk"));
        }
        let mut len: u64 = 0;
        let mut used = 0;
        loop {
            let byte = *bytes
                .get(9 + used)
                .ok_or_else(|| bad("truncated chunk header"))?;
            if used >= 9 {
                return Err(bad("chunk length too long"));
            }
            len |= u64::from(byte & 0x7f) << (7 * used);
            used += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| (9 + used).checked_add(l))
            .filter(|&end| end <= bytes.len())
            .ok_or_else(|| bad("truncated chunk"))?;
        // Compressed change chunks (type 2) are checksummed before compression.
        if bytes[8] != 2 {
            use sha2::Digest;
            let digest = sha2::Sha256::digest(&bytes[8..end]);
            if digest[..4] != bytes[4..8] {
                return Err(bad("chunk checksum does not match (damaged data)"));
            }
        }
        bytes = &bytes[end..];
    }
    Ok(())
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

    #[test]
    fn messages_round_trip_through_cbor() {
        let hash = ChangeHash([7; 32]);
        let request = SyncRequest {
            v: PROTOCOL_VERSION,
            cursor: 42,
            docs: vec![DocPush {
                id: "t-1".into(),
                known: heads_to_wire(&[hash]),
                heads: vec![],
                changes: ByteBuf::from(vec![1, 2, 3]),
            }],
        };
        let bytes = encode(&request);
        let back: SyncRequest = decode(&bytes).expect("decode");
        assert_eq!(back, request);
        assert_eq!(
            heads_from_wire(&back.docs[0].known).expect("heads"),
            vec![hash]
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

    #[test]
    fn an_empty_no_change_request_is_a_few_bytes() {
        let bytes = encode(&SyncRequest {
            v: PROTOCOL_VERSION,
            cursor: 123_456,
            docs: vec![],
        });
        assert!(bytes.len() < 32, "{} bytes", bytes.len());
    }
}
