//! Signed checkpoints of the server's receipt log, and the log's entries as
//! they travel to whoever checks them.
//!
//! The receipt log is a hash chain: each entry's hash covers the one
//! before it, so an entry altered, removed or inserted breaks the chain.
//! A chain alone cannot show that its end was cut off, nor that it was
//! rewritten from some entry on and chained again: the result is a valid
//! chain. A checkpoint fixes the chain's head at a sequence number,
//! signed by the server's key over
//! `"fieldloop-checkpoint-v1\0" ‖ seq (u64 BE) ‖ head (32 bytes) ‖ at (i64 BE)`;
//! anyone who kept one (a tablet, an auditor, a newspaper notice) can later
//! ask the log to show that head at that sequence number.

/// The public key a checkpoint is checked with.
pub use ed25519_dalek::VerifyingKey;
use ed25519_dalek::{Signature, Signer, SigningKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::task::Millis;

/// The format of a checkpoint (`v`).
pub const CHECKPOINT_VERSION: u32 = 1;
/// What every checkpoint signature starts with, so that no other message
/// signed by the same key can pass for a checkpoint.
pub const SIGNING_DOMAIN: &[u8] = b"fieldloop-checkpoint-v1\0";
/// The `prev` of the log's first entry: 64 zeros.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// The longest checkpoint file or answer read, in bytes.
pub const MAX_CHECKPOINT_BYTES: usize = 4_096;

/// A signed statement: the receipt log's entry `seq` has hash `head`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    /// [`CHECKPOINT_VERSION`].
    pub v: u32,
    /// The sequence number of the entry it covers.
    pub seq: i64,
    /// That entry's hash (hex, 64 digits).
    pub head: String,
    /// When it was made, the server's clock (ms since the epoch).
    pub at: Millis,
    /// The signing key's id (hex, 16 digits; see [`crate::claim::key_id`]).
    pub kid: String,
    /// The Ed25519 signature (hex, 128 digits).
    pub sig: String,
}

/// Why a checkpoint cannot be taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("检查点格式无法识别：{0} (the checkpoint is malformed)")]
    Malformed(String),
    #[error(
        "检查点 {seq} 由密钥 {kid} 签名，而不是所信任的密钥 {expected} (checkpoint {seq} was signed by key {kid}, not the trusted key {expected})"
    )]
    UnknownKey {
        seq: i64,
        kid: String,
        expected: String,
    },
    #[error("检查点 {seq} 的签名无效 (the signature of checkpoint {seq} is not valid)")]
    BadSignature { seq: i64 },
}

impl CheckpointError {
    /// The stable code, e.g. `audit.bad_signature`.
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode as C;
        match self {
            Self::Malformed(_) => C::AuditMalformed,
            Self::UnknownKey { .. } | Self::BadSignature { .. } => C::AuditBadSignature,
        }
    }
}

fn head_bytes(head: &str) -> Result<[u8; 32], CheckpointError> {
    let bytes = hex::decode(head)
        .map_err(|_| CheckpointError::Malformed(format!("head {head:?} is not hex")))?;
    <[u8; 32]>::try_from(bytes.as_slice())
        .map_err(|_| CheckpointError::Malformed(format!("head {head:?} is not 32 bytes")))
}

/// The message a checkpoint's signature covers.
pub fn message(seq: i64, head: &[u8; 32], at: Millis) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_DOMAIN.len() + 8 + 32 + 8);
    m.extend_from_slice(SIGNING_DOMAIN);
    m.extend_from_slice(&u64::try_from(seq).unwrap_or(0).to_be_bytes());
    m.extend_from_slice(head);
    m.extend_from_slice(&at.to_be_bytes());
    m
}

impl Checkpoint {
    /// Signs entry `seq`'s hash `head` at `at`.
    pub fn sign(
        key: &SigningKey,
        seq: i64,
        head: &str,
        at: Millis,
    ) -> Result<Self, CheckpointError> {
        if seq < 1 {
            return Err(CheckpointError::Malformed(format!(
                "seq {seq} is not a receipt"
            )));
        }
        let sig = key.sign(&message(seq, &head_bytes(head)?, at));
        Ok(Self {
            v: CHECKPOINT_VERSION,
            seq,
            head: head.to_owned(),
            at,
            kid: hex::encode(crate::claim::key_id(&key.verifying_key())),
            sig: hex::encode(sig.to_bytes()),
        })
    }

    /// Checks the version, that `key` made it, and its signature.
    pub fn verify(&self, key: &VerifyingKey) -> Result<(), CheckpointError> {
        if self.v != CHECKPOINT_VERSION {
            return Err(CheckpointError::Malformed(format!(
                "version {} (this program knows {CHECKPOINT_VERSION})",
                self.v
            )));
        }
        if self.seq < 1 {
            return Err(CheckpointError::Malformed(format!(
                "seq {} is not a receipt",
                self.seq
            )));
        }
        let expected = hex::encode(crate::claim::key_id(key));
        if self.kid != expected {
            return Err(CheckpointError::UnknownKey {
                seq: self.seq,
                kid: self.kid.clone(),
                expected,
            });
        }
        let sig = hex::decode(&self.sig)
            .ok()
            .and_then(|b| <[u8; 64]>::try_from(b.as_slice()).ok())
            .ok_or_else(|| CheckpointError::Malformed("sig is not 64 bytes of hex".into()))?;
        key.verify_strict(
            &message(self.seq, &head_bytes(&self.head)?, self.at),
            &Signature::from_bytes(&sig),
        )
        .map_err(|_| CheckpointError::BadSignature { seq: self.seq })
    }

    /// Reads a checkpoint from its JSON (a file, an answer).
    pub fn from_json(bytes: &[u8]) -> Result<Self, CheckpointError> {
        if bytes.len() > MAX_CHECKPOINT_BYTES {
            return Err(CheckpointError::Malformed(format!(
                "longer than {MAX_CHECKPOINT_BYTES} bytes"
            )));
        }
        serde_json::from_slice(bytes).map_err(|e| CheckpointError::Malformed(e.to_string()))
    }
}

/// A public key from its hex form (64 digits).
pub fn key_from_hex(text: &str) -> Result<VerifyingKey, CheckpointError> {
    let bytes = hex::decode(text.trim())
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b.as_slice()).ok())
        .ok_or_else(|| CheckpointError::Malformed("the key is not 32 bytes of hex".into()))?;
    VerifyingKey::from_bytes(&bytes)
        .map_err(|e| CheckpointError::Malformed(format!("the key is not an Ed25519 key: {e}")))
}

/// The hash a receipt entry carries: SHA-256 over `prev`, `seq`, the
/// change, task and device (each followed by a zero byte) and the time of
/// receipt (i64 BE), hex.
pub fn receipt_hash(
    prev: &str,
    seq: i64,
    change_hash: &str,
    task_id: &str,
    device_id: &str,
    received_at: i64,
) -> String {
    let mut h = Sha256::new();
    for field in [prev, &seq.to_string(), change_hash, task_id, device_id] {
        h.update(field.as_bytes());
        h.update([0u8]);
    }
    h.update(received_at.to_be_bytes());
    hex::encode(h.finalize())
}

/// What a receipt says besides its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptFields {
    pub change_hash: String,
    pub task_id: String,
    pub device_id: String,
    /// Server time of receipt, ms since the epoch.
    pub received_at: i64,
}

/// One entry of the receipt log as it travels: always its place in the
/// chain, and its fields when the reader may see them (its own receipts).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainEntry {
    pub seq: i64,
    pub prev: String,
    pub hash: String,
    #[serde(flatten, default, skip_serializing_if = "Option::is_none")]
    pub fields: Option<ReceiptFields>,
}

impl ChainEntry {
    /// Whether the entry's fields (when shown) hash to its `hash`.
    pub fn hash_matches(&self) -> bool {
        match &self.fields {
            Some(f) => {
                receipt_hash(
                    &self.prev,
                    self.seq,
                    &f.change_hash,
                    &f.task_id,
                    &f.device_id,
                    f.received_at,
                ) == self.hash
            }
            None => true,
        }
    }
}

/// `GET /api/v1/audit/receipts`: the device's own receipts after a
/// sequence number, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptsPage {
    pub receipts: Vec<ChainEntry>,
    /// More follow after the last one.
    pub more: bool,
}

/// `GET /api/v1/audit/span`: consecutive entries of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Span {
    pub entries: Vec<ChainEntry>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    #[test]
    fn a_checkpoint_verifies_and_any_change_breaks_it() {
        let head = receipt_hash(GENESIS, 1, "c", "t", "d", 5);
        let cp = Checkpoint::sign(&key(), 1, &head, 1_000).expect("signed");
        cp.verify(&key().verifying_key()).expect("valid");
        let json = serde_json::to_vec(&cp).expect("json");
        assert_eq!(Checkpoint::from_json(&json).expect("read"), cp);

        let mut later = cp.clone();
        later.seq = 2;
        assert_eq!(
            later.verify(&key().verifying_key()),
            Err(CheckpointError::BadSignature { seq: 2 })
        );
        let mut moved = cp.clone();
        moved.at += 1;
        assert!(moved.verify(&key().verifying_key()).is_err());
        let mut other_head = cp.clone();
        other_head.head = receipt_hash(GENESIS, 1, "x", "t", "d", 5);
        assert!(other_head.verify(&key().verifying_key()).is_err());
        let stranger = SigningKey::from_bytes(&[8u8; 32]);
        assert!(matches!(
            cp.verify(&stranger.verifying_key()),
            Err(CheckpointError::UnknownKey { .. })
        ));
        assert!(Checkpoint::sign(&key(), 0, &head, 1).is_err());
        assert!(Checkpoint::sign(&key(), 1, "zz", 1).is_err());
    }

    #[test]
    fn the_message_is_domain_separated() {
        let m = message(1, &[0u8; 32], 2);
        assert!(m.starts_with(b"fieldloop-checkpoint-v1\0"));
        assert_eq!(m.len(), SIGNING_DOMAIN.len() + 48);
    }

    #[test]
    fn a_redacted_entry_travels_without_its_fields() {
        let entry = ChainEntry {
            seq: 3,
            prev: GENESIS.into(),
            hash: "ab".into(),
            fields: None,
        };
        let json = serde_json::to_value(&entry).expect("json");
        assert_eq!(json.as_object().map(|o| o.len()), Some(3), "{json}");
        let back: ChainEntry = serde_json::from_value(json).expect("back");
        assert_eq!(back, entry);
        let fields = ReceiptFields {
            change_hash: "c".into(),
            task_id: "t".into(),
            device_id: "d".into(),
            received_at: 9,
        };
        let full = ChainEntry {
            seq: 1,
            prev: GENESIS.into(),
            hash: receipt_hash(GENESIS, 1, "c", "t", "d", 9),
            fields: Some(fields),
        };
        let back: ChainEntry =
            serde_json::from_value(serde_json::to_value(&full).expect("json")).expect("back");
        assert_eq!(back, full);
        assert!(back.hash_matches());
    }
}
