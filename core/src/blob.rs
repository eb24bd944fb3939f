//! The name of a blob (a photo, a signature, any evidence bytes): the
//! SHA-256 of its bytes. Task documents, the tablet's blob store and the
//! server's upload API all name blobs this way.
//!
//! The text form is exactly 64 lowercase hex digits. [`BlobId::parse`]
//! rejects uppercase instead of folding it: a task document keys evidence
//! by id, so a second spelling of one id would list one photo twice. Being
//! only hex digits, a parsed id can never carry a path trick into a file name.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

use crate::codes::ErrorCode;

/// A SHA-256 naming a blob.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlobId([u8; 32]);

/// Text that is not a blob id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{input}` is not a blob id: {reason}; a blob id is the SHA-256 of the bytes as 64 lowercase hexadecimal digits"
)]
pub struct BadBlobId {
    /// The rejected text, at most 80 characters.
    pub input: String,
    /// Why it was rejected.
    pub reason: &'static str,
}

impl BadBlobId {
    pub fn code(&self) -> ErrorCode {
        ErrorCode::BlobBadId
    }
}

impl BlobId {
    /// The id of `bytes`.
    pub fn of(bytes: &[u8]) -> BlobId {
        BlobId(Sha256::digest(bytes).into())
    }

    /// Wraps a finished SHA-256 digest.
    pub fn from_digest(digest: [u8; 32]) -> BlobId {
        BlobId(digest)
    }

    /// The raw 32 digest bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Parses the canonical text form, saying what is wrong otherwise.
    pub fn parse(text: &str) -> Result<BlobId, BadBlobId> {
        let bad = |reason| BadBlobId {
            input: text.chars().take(80).collect(),
            reason,
        };
        if text.len() != 64 {
            return Err(bad("it does not have 64 characters"));
        }
        if text.bytes().any(|b| b.is_ascii_uppercase()) {
            return Err(bad("it has uppercase letters"));
        }
        if !text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(bad("it has characters other than 0-9 and a-f"));
        }
        let mut digest = [0u8; 32];
        hex::decode_to_slice(text, &mut digest).map_err(|_| bad("it is not hexadecimal"))?;
        Ok(BlobId(digest))
    }

    /// The 64-digit lowercase text form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Where a blob store keeps it, relative to its folder: `ab/abcdef…`
    /// (the first two digits spread files over 256 folders).
    pub fn relative_path(&self) -> std::path::PathBuf {
        let hex = self.to_hex();
        std::path::Path::new(&hex[..2]).join(&hex)
    }
}

impl fmt::Display for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for BlobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BlobId({self})")
    }
}

impl FromStr for BlobId {
    type Err = BadBlobId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BlobId::parse(s)
    }
}

impl serde::Serialize for BlobId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for BlobId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        BlobId::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_path_tricks_never_parse() {
        let id = BlobId::of(b"photo");
        assert_eq!(BlobId::parse(&id.to_hex()), Ok(id));
        assert_eq!(id.to_string().len(), 64);
        assert_eq!(
            id.relative_path(),
            std::path::Path::new(&id.to_hex()[..2]).join(id.to_hex())
        );
        let long = "../".repeat(30);
        for bad in [
            "",
            "../../etc/passwd",
            &id.to_hex()[..63],
            &format!("{id}0"),
            &id.to_hex().to_uppercase(),
            &long,
        ] {
            let err = BlobId::parse(bad).expect_err(bad);
            assert_eq!(err.code(), "blob.bad_id");
            assert!(err.input.chars().count() <= 80);
        }
    }
}
