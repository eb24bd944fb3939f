//! 亮码检查 on the server: the county's claim-signing key (made on first
//! start in the data folder, like the self-signed TLS identity, readable
//! by the owner only), the claims it signs into new tasks, revoked verify
//! codes and the businesses' feedback as stored.
//!
//! The claim's format is [`fieldloop_core::claim`]; the public pages are
//! [`crate::verify`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};
use fieldloop_core::claim::{self, Claim};
use fieldloop_core::{Millis, TaskSpec};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::store::{Store, StoreError};

/// Where the signing key is kept, under the data folder.
pub const CLAIM_KEY_DIR: &str = "claim";
/// The key file: the 32-byte Ed25519 seed in hex, mode 0600.
pub const CLAIM_KEY_FILE: &str = "ed25519.key";
/// Days after the window's end during which a verify code still answers
/// and feedback is taken (`serve --feedback-days`).
pub const FEEDBACK_DAYS: u32 = 30;
/// The longest feedback comment, in characters.
pub const MAX_FEEDBACK_COMMENT_CHARS: usize = 500;
/// The longest reason for a revocation, in characters.
pub const MAX_REVOKE_REASON_CHARS: usize = 500;
/// Feedback accepted from one address (by its keyed hash) a day, over all tasks.
pub const FEEDBACK_PER_ADDRESS_PER_DAY: usize = 5;
/// Feedback rows the console lists at most (newest first).
pub const MAX_FEEDBACK_ROWS: usize = 500;

const DAY_MS: Millis = 86_400_000;

/// Why the key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum ClaimKeyError {
    #[error("无法读取核验签名密钥 {path} (cannot read the claim key): {detail}")]
    Read { path: PathBuf, detail: String },
    #[error("无法写入核验签名密钥 {path} (cannot write the claim key): {detail}")]
    Write { path: PathBuf, detail: String },
}

/// The county's claim-signing key.
pub struct ClaimKey {
    signing: SigningKey,
}

impl std::fmt::Debug for ClaimKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClaimKey")
            .field("kid", &self.kid_hex())
            .finish_non_exhaustive()
    }
}

impl ClaimKey {
    /// A key from its 32-byte seed.
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self {
            signing: SigningKey::from_bytes(&seed),
        }
    }

    /// A fresh random key.
    pub fn generate() -> Self {
        use rand::RngCore as _;
        let mut seed = [0u8; 32];
        rand::rng().fill_bytes(&mut seed);
        Self::from_seed(seed)
    }

    /// Reads `data/claim/ed25519.key`, or makes it (owner-only) on first start.
    pub fn load_or_create(data: &Path) -> Result<Self, ClaimKeyError> {
        let dir = data.join(CLAIM_KEY_DIR);
        let path = dir.join(CLAIM_KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                let bad = |detail: String| ClaimKeyError::Read {
                    path: path.clone(),
                    detail,
                };
                let bytes = hex::decode(text.trim()).map_err(|e| bad(e.to_string()))?;
                let seed = <[u8; 32]>::try_from(bytes.as_slice())
                    .map_err(|_| bad("not 32 bytes of hex".into()))?;
                Ok(Self::from_seed(seed))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = Self::generate();
                let write = |e: std::io::Error| ClaimKeyError::Write {
                    path: path.clone(),
                    detail: e.to_string(),
                };
                std::fs::create_dir_all(&dir).map_err(write)?;
                write_private(&path, hex::encode(key.signing.to_bytes()).as_bytes())
                    .map_err(write)?;
                Ok(key)
            }
            Err(e) => Err(ClaimKeyError::Read {
                path,
                detail: e.to_string(),
            }),
        }
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        self.signing.verifying_key()
    }

    /// The key id, hex (16 digits).
    pub fn kid_hex(&self) -> String {
        hex::encode(claim::key_id(&self.verifying_key()))
    }

    /// The public key, hex (64 digits).
    pub fn public_hex(&self) -> String {
        hex::encode(self.verifying_key().as_bytes())
    }

    /// Signs `claim`.
    pub fn sign(&self, claim: &Claim) -> String {
        claim::sign(&self.signing, claim)
    }

    /// Signs a checkpoint of the receipt log: entry `seq` has hash `head`
    /// (see [`fieldloop_core::checkpoint`]).
    pub fn sign_checkpoint(
        &self,
        seq: i64,
        head: &str,
        at: Millis,
    ) -> Result<fieldloop_core::checkpoint::Checkpoint, fieldloop_core::checkpoint::CheckpointError>
    {
        fieldloop_core::checkpoint::Checkpoint::sign(&self.signing, seq, head, at)
    }

    /// A keyed hash of a client address: the same address gives the same
    /// hash on this server, and nobody without the key can tell which
    /// address it was (IPv4 is small enough to try every address).
    pub fn address_hash(&self, address: &str) -> String {
        let mut h = Sha256::new();
        h.update(b"fieldloop-feedback-address\0");
        h.update(self.signing.to_bytes());
        h.update(address.as_bytes());
        hex::encode(&h.finalize()[..16])
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut options = std::fs::OpenOptions::new();
    // `create_new`: two servers starting at once never overwrite each other's key.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The badge numbers of `inspectors` (id → badge), from the directory.
pub fn badges(
    store: &dyn Store,
    inspectors: &[String],
) -> Result<BTreeMap<String, String>, StoreError> {
    let mut out = BTreeMap::new();
    for id in inspectors {
        if let Some(i) = store.inspector(id)? {
            out.insert(id.clone(), i.badge_no);
        }
    }
    Ok(out)
}

/// Writes the signed claim into `spec` (its code, names and items final),
/// if the store has a key.
pub fn sign_spec(store: &dyn Store, spec: &mut TaskSpec, now: Millis) -> Result<(), StoreError> {
    if let Some(key) = store.claim_key() {
        let badges = badges(store, &spec.inspectors)?;
        spec.claim = Some(key.sign(&Claim::of_spec(spec, &badges, now)));
    }
    Ok(())
}

/// Until when a verify code answers: the window's end plus the feedback period.
pub fn code_expires_at(window_due: Millis, feedback_days: u32) -> Millis {
    window_due.saturating_add(i64::from(feedback_days) * DAY_MS)
}

/// A revoked verify code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct Revocation {
    pub by: String,
    pub reason: String,
    pub at: i64,
}

/// One business's feedback on one inspection, as stored (and as the
/// console shows it; `address_hash` never leaves the server).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedbackRow {
    pub task_id: String,
    pub task_code: String,
    pub subject_name: String,
    pub team: String,
    pub departments: Vec<String>,
    /// 1 to 5.
    pub rating: u8,
    /// 是否亮证: the inspectors showed their badges.
    pub badge_shown: bool,
    /// 是否告知权利: the business was told its rights.
    pub rights_told: bool,
    /// 是否索要财物: someone asked for money or gifts.
    pub money_asked: bool,
    pub comment: String,
    pub address_hash: String,
    pub received_at: i64,
}

/// What storing feedback did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedbackAdded {
    Added,
    /// The task has feedback already; nothing changed.
    Duplicate,
    /// The address gave [`FEEDBACK_PER_ADDRESS_PER_DAY`] already; nothing changed.
    TooMany,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_owner_only_and_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = ClaimKey::load_or_create(dir.path()).expect("made");
        let again = ClaimKey::load_or_create(dir.path()).expect("read");
        assert_eq!(first.public_hex(), again.public_hex());
        assert_eq!(first.kid_hex().len(), 16);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(dir.path().join("claim/ed25519.key"))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "the key is the owner's alone: {mode:o}");
        }
        let other = tempfile::tempdir().expect("tempdir");
        let stranger = ClaimKey::load_or_create(other.path()).expect("made");
        assert_ne!(first.public_hex(), stranger.public_hex());
        assert_ne!(
            first.address_hash("127.0.0.1"),
            stranger.address_hash("127.0.0.1"),
            "keyed"
        );
        assert_eq!(
            first.address_hash("127.0.0.1"),
            again.address_hash("127.0.0.1")
        );
        std::fs::write(dir.path().join("claim/ed25519.key"), "not hex").expect("write");
        let e = ClaimKey::load_or_create(dir.path()).expect_err("damaged");
        assert!(e.to_string().contains("ed25519.key"), "{e}");
    }
}
