//! The signed claim of 亮码检查: what the QR code a tablet shows says about
//! its inspection (task and verify code, subject, inspectors with badge
//! numbers, departments, window), signed by the county's server with
//! Ed25519 so that a phone can check it with no network.
//!
//! Layout (see `docs/protocol.md`, “Signed claim”):
//!
//! ```text
//! text     = "FL1:" base45(envelope)
//! envelope = CBOR array [kid: bstr(8), payload: bstr, sig: bstr(64)]
//! payload  = CBOR map {1: v, 2: task code, 3: verify code, 4: USCC,
//!                      5: [[name, badge], …], 6: [[code, name], …],
//!                      7: nbf ms, 8: exp ms, 9: iat ms}
//! sig      = Ed25519(key, "FL1" ‖ kid ‖ payload)
//! kid      = SHA-256(public key)[..8]
//! ```
//!
//! Like the EU digital COVID certificates (CBOR, base45), but without COSE:
//! one algorithm, one key per county, so the envelope stays a plain array.

use ciborium::Value;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use std::collections::BTreeMap;

use crate::task::{Millis, Names, Task, TaskSpec, Window};

/// What a claim is made of, from a task or a spec.
struct Parts<'a> {
    code: &'a str,
    verify_code: &'a str,
    uscc: &'a str,
    inspectors: &'a [String],
    departments: &'a [String],
    window: Window,
    names: &'a Names,
    badges: &'a BTreeMap<String, String>,
    iat: Millis,
}

/// The text form's prefix (format version 1).
pub const PREFIX: &str = "FL1:";
/// What the signature covers before the key id and the payload.
pub const SIGNING_CONTEXT: &[u8] = b"FL1";
/// The payload layout version.
pub const CLAIM_VERSION: u64 = 1;
/// Longest claim text read; longer is refused unread.
pub const MAX_CLAIM_CHARS: usize = 4_096;
/// Bytes of the key id.
pub const KEY_ID_BYTES: usize = 8;
/// The name of the algorithm, as the public key route says it.
pub const ALGORITHM: &str = "Ed25519";

/// One inspector as the claim names them.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimInspector {
    pub name: String,
    pub badge: String,
}

/// One department of the task.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ClaimDepartment {
    pub code: String,
    pub name: String,
}

/// What the server vouches for.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Claim {
    pub v: u64,
    pub task_code: String,
    pub verify_code: String,
    pub subject_uscc: String,
    pub inspectors: Vec<ClaimInspector>,
    pub departments: Vec<ClaimDepartment>,
    /// Not valid before (the window's start), ms since the epoch.
    pub nbf: Millis,
    /// Not valid after (the window's end), ms since the epoch.
    pub exp: Millis,
    /// When the server signed it.
    pub iat: Millis,
}

/// Why a claim is not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    #[error("签名无效，核验码已被篡改 (the signature does not match: the claim was tampered with)")]
    Tampered,
    #[error("核验码已过期（检查期限已过） (the claim expired: the inspection window has ended)")]
    Expired,
    #[error(
        "核验码尚未生效（检查期限未开始） (the claim is not valid yet: the window has not started)"
    )]
    NotYetValid,
    #[error("不是有效的核验码：{0} (not a claim: {0})")]
    Malformed(String),
    #[error(
        "核验码由未知的密钥签发，不是本县服务器签发的 (signed by an unknown key, not this county's server)"
    )]
    UnknownKey,
}

impl ClaimError {
    /// The stable code, e.g. `claim.tampered`.
    pub fn code(&self) -> crate::ErrorCode {
        use crate::ErrorCode as C;
        match self {
            Self::Tampered => C::ClaimTampered,
            Self::Expired => C::ClaimExpired,
            Self::NotYetValid => C::ClaimNotYetValid,
            Self::Malformed(_) => C::ClaimMalformed,
            Self::UnknownKey => C::ClaimUnknownKey,
        }
    }
}

/// The id of a public key: the first 8 bytes of its SHA-256.
pub fn key_id(key: &VerifyingKey) -> [u8; KEY_ID_BYTES] {
    let digest = Sha256::digest(key.as_bytes());
    let mut id = [0; KEY_ID_BYTES];
    id.copy_from_slice(&digest[..KEY_ID_BYTES]);
    id
}

fn text(s: &str) -> Value {
    Value::Text(s.to_owned())
}

fn int(n: i64) -> Value {
    Value::Integer(n.into())
}

fn pair(a: &str, b: &str) -> Value {
    Value::Array(vec![text(a), text(b)])
}

impl Claim {
    /// The claim for `task` as it is, with the inspectors' `badges`
    /// (inspector id → badge number) and names from the task's names.
    pub fn of_task(task: &Task, badges: &BTreeMap<String, String>, iat: Millis) -> Self {
        let names = task.names.clone().unwrap_or_default();
        Self::build(Parts {
            code: &task.code,
            verify_code: &task.verify_code,
            uscc: &task.subject.uscc,
            inspectors: &task.inspectors,
            departments: &task.departments,
            window: task.window,
            names: &names,
            badges,
            iat,
        })
    }

    /// The claim for the task `spec` will create (its names filled in).
    pub fn of_spec(spec: &TaskSpec, badges: &BTreeMap<String, String>, iat: Millis) -> Self {
        let uscc = spec.subject.uscc.to_string();
        Self::build(Parts {
            code: &spec.code,
            verify_code: &spec.verify_code,
            uscc: &uscc,
            inspectors: &spec.inspectors,
            departments: &spec.departments,
            window: spec.window,
            names: &spec.names,
            badges,
            iat,
        })
    }

    fn build(p: Parts<'_>) -> Self {
        Self {
            v: CLAIM_VERSION,
            task_code: p.code.to_owned(),
            verify_code: p.verify_code.to_owned(),
            subject_uscc: p.uscc.to_owned(),
            inspectors: p
                .inspectors
                .iter()
                .map(|id| ClaimInspector {
                    name: p
                        .names
                        .inspectors
                        .get(id)
                        .cloned()
                        .unwrap_or_else(|| id.clone()),
                    badge: p.badges.get(id).cloned().unwrap_or_default(),
                })
                .collect(),
            departments: p
                .departments
                .iter()
                .map(|code| ClaimDepartment {
                    code: code.clone(),
                    name: p
                        .names
                        .departments
                        .get(code)
                        .map_or_else(|| code.clone(), |d| d.name.clone()),
                })
                .collect(),
            nbf: p.window.start,
            exp: p.window.due,
            iat: p.iat,
        }
    }

    /// The payload's CBOR bytes.
    pub fn to_cbor(&self) -> Vec<u8> {
        let map = Value::Map(vec![
            (int(1), Value::Integer(self.v.into())),
            (int(2), text(&self.task_code)),
            (int(3), text(&self.verify_code)),
            (int(4), text(&self.subject_uscc)),
            (
                int(5),
                Value::Array(
                    self.inspectors
                        .iter()
                        .map(|i| pair(&i.name, &i.badge))
                        .collect(),
                ),
            ),
            (
                int(6),
                Value::Array(
                    self.departments
                        .iter()
                        .map(|d| pair(&d.code, &d.name))
                        .collect(),
                ),
            ),
            (int(7), int(self.nbf)),
            (int(8), int(self.exp)),
            (int(9), int(self.iat)),
        ]);
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = ciborium::into_writer(&map, &mut out);
        out
    }

    /// Reads a payload; every key must be there with its type.
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, ClaimError> {
        let bad = |m: &str| ClaimError::Malformed(m.to_owned());
        let Value::Map(entries) = whole(bytes)? else {
            return Err(bad("payload is not a map"));
        };
        let get = |k: i64| {
            entries
                .iter()
                .find(|(key, _)| key.as_integer() == Some(k.into()))
                .map(|(_, v)| v)
                .ok_or_else(|| ClaimError::Malformed(format!("key {k} missing")))
        };
        let get_text = |k: i64| -> Result<String, ClaimError> {
            get(k)?
                .as_text()
                .map(str::to_owned)
                .ok_or_else(|| ClaimError::Malformed(format!("key {k} is not text")))
        };
        let get_int = |k: i64| -> Result<i64, ClaimError> {
            get(k)?
                .as_integer()
                .and_then(|i| i64::try_from(i).ok())
                .ok_or_else(|| ClaimError::Malformed(format!("key {k} is not an integer")))
        };
        let pairs = |k: i64| -> Result<Vec<(String, String)>, ClaimError> {
            let list = get(k)?
                .as_array()
                .ok_or_else(|| ClaimError::Malformed(format!("key {k} is not a list")))?;
            list.iter()
                .map(|p| match p.as_array().map(Vec::as_slice) {
                    Some([Value::Text(a), Value::Text(b)]) => Ok((a.clone(), b.clone())),
                    _ => Err(ClaimError::Malformed(format!(
                        "key {k}: not a pair of texts"
                    ))),
                })
                .collect()
        };
        let v = u64::try_from(get_int(1)?).map_err(|_| bad("bad version"))?;
        if v != CLAIM_VERSION {
            return Err(ClaimError::Malformed(format!("version {v}")));
        }
        Ok(Self {
            v,
            task_code: get_text(2)?,
            verify_code: get_text(3)?,
            subject_uscc: get_text(4)?,
            inspectors: pairs(5)?
                .into_iter()
                .map(|(name, badge)| ClaimInspector { name, badge })
                .collect(),
            departments: pairs(6)?
                .into_iter()
                .map(|(code, name)| ClaimDepartment { code, name })
                .collect(),
            nbf: get_int(7)?,
            exp: get_int(8)?,
            iat: get_int(9)?,
        })
    }
}

/// One CBOR item that takes all of `bytes`.
fn whole(bytes: &[u8]) -> Result<Value, ClaimError> {
    let mut reader = bytes;
    let value: Value = ciborium::from_reader(&mut reader)
        .map_err(|e| ClaimError::Malformed(format!("CBOR: {e}")))?;
    if !reader.is_empty() {
        return Err(ClaimError::Malformed("bytes after the CBOR item".into()));
    }
    Ok(value)
}

fn message(kid: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNING_CONTEXT.len() + kid.len() + payload.len());
    m.extend_from_slice(SIGNING_CONTEXT);
    m.extend_from_slice(kid);
    m.extend_from_slice(payload);
    m
}

/// Signs `claim`: its text form, `FL1:` and base45.
pub fn sign(key: &SigningKey, claim: &Claim) -> String {
    let kid = key_id(&key.verifying_key());
    let payload = claim.to_cbor();
    let sig = key.sign(&message(&kid, &payload));
    let envelope = Value::Array(vec![
        Value::Bytes(kid.to_vec()),
        Value::Bytes(payload),
        Value::Bytes(sig.to_bytes().to_vec()),
    ]);
    let mut bytes = Vec::new();
    let _ = ciborium::into_writer(&envelope, &mut bytes);
    format!("{PREFIX}{}", base45::encode(&bytes))
}

/// The parts of a claim's text, unchecked.
struct Envelope {
    kid: Vec<u8>,
    payload: Vec<u8>,
    sig: [u8; 64],
}

fn open(text: &str) -> Result<Envelope, ClaimError> {
    if text.len() > MAX_CLAIM_CHARS {
        return Err(ClaimError::Malformed(format!(
            "longer than {MAX_CLAIM_CHARS} characters"
        )));
    }
    let body = text
        .strip_prefix(PREFIX)
        .ok_or_else(|| ClaimError::Malformed(format!("does not start with {PREFIX}")))?;
    let bytes =
        base45::decode(body).map_err(|e| ClaimError::Malformed(format!("base45: {e:?}")))?;
    let Value::Array(parts) = whole(&bytes)? else {
        return Err(ClaimError::Malformed("envelope is not an array".into()));
    };
    match <[Value; 3]>::try_from(parts) {
        Ok([Value::Bytes(kid), Value::Bytes(payload), Value::Bytes(sig)])
            if kid.len() == KEY_ID_BYTES =>
        {
            let sig = <[u8; 64]>::try_from(sig.as_slice())
                .map_err(|_| ClaimError::Malformed("signature is not 64 bytes".into()))?;
            Ok(Envelope { kid, payload, sig })
        }
        _ => Err(ClaimError::Malformed(
            "envelope is not [key id, payload, signature]".into(),
        )),
    }
}

/// Checks a claim's text against `key` at `now`: the key id, the
/// signature, then the window.
pub fn verify(text: &str, key: &VerifyingKey, now: Millis) -> Result<Claim, ClaimError> {
    let envelope = open(text)?;
    if envelope.kid != key_id(key) {
        return Err(ClaimError::UnknownKey);
    }
    let sig = Signature::from_bytes(&envelope.sig);
    key.verify_strict(&message(&envelope.kid, &envelope.payload), &sig)
        .map_err(|_| ClaimError::Tampered)?;
    let claim = Claim::from_cbor(&envelope.payload)?;
    if now < claim.nbf {
        return Err(ClaimError::NotYetValid);
    }
    if now > claim.exp {
        return Err(ClaimError::Expired);
    }
    Ok(claim)
}

/// The claim a text carries, its signature not checked (for display only).
pub fn decode_unverified(text: &str) -> Result<Claim, ClaimError> {
    Claim::from_cbor(&open(text)?.payload)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_bytes(&[seed; 32])
    }

    fn claim() -> Claim {
        Claim {
            v: CLAIM_VERSION,
            task_code: "JX-2026-000001".into(),
            verify_code: "ABCDEFGHJKLMNPQRSTUV".into(),
            subject_uscc: "92360736MA36XJ6832".into(),
            inspectors: vec![
                ClaimInspector {
                    name: "王磊".into(),
                    badge: "36070012345".into(),
                },
                ClaimInspector {
                    name: "李娜".into(),
                    badge: "36070012346".into(),
                },
            ],
            departments: vec![ClaimDepartment {
                code: "SCJG".into(),
                name: "市场监督管理局".into(),
            }],
            nbf: 1_000,
            exp: 2_000,
            iat: 900,
        }
    }

    #[test]
    fn a_signed_claim_verifies_and_round_trips() {
        let k = key(7);
        let text = sign(&k, &claim());
        assert!(text.starts_with(PREFIX));
        assert!(text.len() < 600, "compact: {} chars", text.len());
        assert_eq!(verify(&text, &k.verifying_key(), 1_500), Ok(claim()));
        assert_eq!(decode_unverified(&text), Ok(claim()));
        assert_eq!(sign(&k, &claim()), text, "deterministic");
    }

    #[test]
    fn the_window_and_the_key_are_checked() {
        let k = key(7);
        let text = sign(&k, &claim());
        let v = k.verifying_key();
        assert_eq!(verify(&text, &v, 999), Err(ClaimError::NotYetValid));
        assert_eq!(verify(&text, &v, 2_001), Err(ClaimError::Expired));
        assert!(verify(&text, &v, 1_000).is_ok());
        assert!(verify(&text, &v, 2_000).is_ok());
        assert_eq!(
            verify(&text, &key(8).verifying_key(), 1_500),
            Err(ClaimError::UnknownKey)
        );
        // The other key's signature under this key's id: tampered.
        let forged = {
            let other = key(8);
            let payload = claim().to_cbor();
            let kid = key_id(&v);
            let sig = other.sign(&message(&kid, &payload));
            let env = Value::Array(vec![
                Value::Bytes(kid.to_vec()),
                Value::Bytes(payload),
                Value::Bytes(sig.to_bytes().to_vec()),
            ]);
            let mut b = Vec::new();
            ciborium::into_writer(&env, &mut b).expect("cbor");
            format!("{PREFIX}{}", base45::encode(&b))
        };
        assert_eq!(verify(&forged, &v, 1_500), Err(ClaimError::Tampered));
        for bad in ["", "FL1:", "FL2:ABC", "FL1:!!!", "FL1:AB"] {
            assert!(
                matches!(verify(bad, &v, 1_500), Err(ClaimError::Malformed(_))),
                "{bad}"
            );
        }
        let long = format!("{PREFIX}{}", "A".repeat(MAX_CLAIM_CHARS));
        assert!(matches!(
            verify(&long, &v, 1_500),
            Err(ClaimError::Malformed(_))
        ));
        assert_eq!(ClaimError::Tampered.code().as_str(), "claim.tampered");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]
        /// Any byte of the text changed to any other byte: refused.
        #[test]
        fn any_byte_flip_is_rejected(at in any::<prop::sample::Index>(), to in any::<u8>()) {
            let k = key(3);
            let text = sign(&k, &claim());
            let mut bytes = text.clone().into_bytes();
            let i = at.index(bytes.len());
            prop_assume!(bytes[i] != to);
            bytes[i] = to;
            if let Ok(changed) = String::from_utf8(bytes) {
                prop_assert!(verify(&changed, &k.verifying_key(), 1_500).is_err(), "{changed}");
            }
        }
    }
}
