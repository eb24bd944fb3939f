//! The enrollment link: what the server's enrollment QR code holds and the
//! tablet reads back. One type writes it and reads it, through the `url`
//! crate, so that a server address with `&`, `=` or spaces in it survives.
//!
//! `fieldloop://enroll?server=<percent-encoded URL>&code=<code>[&pin=sha256:<hex>…]`;
//! links written before the server address was encoded (`server=http://…`)
//! read the same.
//!
//! A `pin` is the SHA-256 of the server certificate's public key
//! (SubjectPublicKeyInfo, as in RFC 7469): the tablet trusts the key it was
//! enrolled with, and only it, from then on. The server's own key and a
//! key announced in advance may both be given.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// The scheme and host of an enrollment link.
const PREFIX: &str = "fieldloop://enroll";

/// What an enrollment QR code or a pasted text says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct EnrollTarget {
    /// The server, when the text names one.
    pub server: Option<String>,
    pub code: String,
    /// The server keys the tablet will trust (`sha256:<hex>`), if any.
    pub pins: Vec<String>,
}

/// The SHA-256 of a server's public key (its certificate's DER
/// SubjectPublicKeyInfo): what a tablet pins at enrollment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct KeyPin(pub [u8; 32]);

/// Text that is not `sha256:` and 64 hex digits.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "密钥指纹格式应为 sha256: 加 64 位十六进制数 (a key pin is `sha256:` and 64 hex digits): {0}"
)]
pub struct BadKeyPin(pub String);

impl KeyPin {
    /// The pin of a DER SubjectPublicKeyInfo.
    pub fn of_spki(spki_der: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(spki_der).into())
    }
}

impl std::fmt::Display for KeyPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "sha256:{}", hex::encode(self.0))
    }
}

impl std::str::FromStr for KeyPin {
    type Err = BadKeyPin;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || BadKeyPin(text.to_owned());
        let digits = text.trim().strip_prefix("sha256:").ok_or_else(bad)?;
        let mut pin = [0u8; 32];
        hex::decode_to_slice(digits, &mut pin).map_err(|_| bad())?;
        Ok(Self(pin))
    }
}

/// A text that is neither an enrollment link nor a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("这不是 Fieldloop 注册码 (this is not a Fieldloop enrollment code)")]
pub struct NotAnEnrollText;

impl EnrollTarget {
    /// The link for `server` and `code`.
    pub fn link(server: &str, code: &str) -> String {
        Self::pinned_link(server, code, &[])
    }

    /// The link for `server` and `code` that pins the server's `pins`.
    pub fn pinned_link(server: &str, code: &str, pins: &[KeyPin]) -> String {
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("server", server)
            .append_pair("code", code);
        for pin in pins {
            query.append_pair("pin", &pin.to_string());
        }
        format!("{PREFIX}?{}", query.finish())
    }

    /// The pins the link carries, read.
    pub fn key_pins(&self) -> Result<Vec<KeyPin>, BadKeyPin> {
        self.pins.iter().map(|p| p.parse()).collect()
    }

    /// Reads an enrollment link, or a bare code typed by hand.
    pub fn parse(text: &str) -> Result<Self, NotAnEnrollText> {
        let text = text.trim();
        if text.starts_with(PREFIX) {
            let url = url::Url::parse(text).map_err(|_| NotAnEnrollText)?;
            if url.scheme() != "fieldloop" || url.host_str() != Some("enroll") {
                return Err(NotAnEnrollText);
            }
            let mut target = Self {
                server: None,
                code: String::new(),
                pins: Vec::new(),
            };
            for (key, value) in url.query_pairs() {
                match &*key {
                    "server" if !value.is_empty() => target.server = Some(value.into_owned()),
                    "code" => target.code = value.trim().to_owned(),
                    "pin" => {
                        // A link with a damaged pin is refused whole: enrolling
                        // without the pin would trust whoever answers.
                        let pin: KeyPin = value.parse().map_err(|_| NotAnEnrollText)?;
                        target.pins.push(pin.to_string());
                    }
                    _ => {}
                }
            }
            if target.code.is_empty() {
                return Err(NotAnEnrollText);
            }
            return Ok(target);
        }
        if text.is_empty() || text.contains("://") {
            return Err(NotAnEnrollText);
        }
        Ok(Self {
            server: None,
            code: text.to_owned(),
            pins: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_round_trips_whatever_the_server_address_holds() {
        for server in [
            "http://10.0.0.2:7878",
            "https://jg.example.gov.cn/fieldloop?county=青溪&x=1",
            "http://host/a b",
        ] {
            let link = EnrollTarget::link(server, "K7P2M9QX4R");
            assert!(link.starts_with("fieldloop://enroll?"), "{link}");
            assert_eq!(
                EnrollTarget::parse(&link),
                Ok(EnrollTarget {
                    server: Some(server.to_owned()),
                    code: "K7P2M9QX4R".into(),
                    pins: Vec::new(),
                })
            );
        }
    }

    #[test]
    fn old_links_bare_codes_and_junk() {
        assert_eq!(
            EnrollTarget::parse(" fieldloop://enroll?server=http://10.0.0.2:7878&code=ABCD2345 "),
            Ok(EnrollTarget {
                server: Some("http://10.0.0.2:7878".into()),
                code: "ABCD2345".into(),
                pins: Vec::new(),
            })
        );
        assert_eq!(
            EnrollTarget::parse("abcd 2345").map(|t| t.code),
            Ok("abcd 2345".into())
        );
        for junk in [
            "",
            "https://example.com",
            "fieldloop://enroll?server=x",
            "fieldloop://enrollment?code=1",
        ] {
            assert_eq!(EnrollTarget::parse(junk), Err(NotAnEnrollText), "{junk}");
        }
    }

    #[test]
    fn pins_round_trip_and_a_damaged_pin_refuses_the_link() {
        let pins = [KeyPin::of_spki(b"key one"), KeyPin::of_spki(b"key two")];
        let link = EnrollTarget::pinned_link("https://10.0.0.2:7878", "K7P2M9QX4R", &pins);
        let target = EnrollTarget::parse(&link).expect("pinned link");
        assert_eq!(target.key_pins(), Ok(pins.to_vec()));
        assert_eq!(target.pins[0], pins[0].to_string());
        assert!(target.pins[0].starts_with("sha256:") && target.pins[0].len() == 71);
        let cut = &link[..link.len() - 1];
        assert_eq!(EnrollTarget::parse(cut), Err(NotAnEnrollText), "{cut}");
        for bad in ["", "sha256:", "sha1:00", "sha256:zz"] {
            assert!(bad.parse::<KeyPin>().is_err(), "{bad}");
        }
    }
}
