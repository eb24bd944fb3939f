//! The unified social credit code (统一社会信用代码) of GB 32100-2015.
//!
//! Eighteen characters: a registration-authority code, an entity-kind code,
//! a six-digit administrative division, a nine-character organisation code
//! and a check character computed over the first seventeen.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codes::ErrorCode;

/// The 31 characters a USCC may use, in check-digit value order
/// (the Latin letters I, O, S, V and Z are excluded).
const ALPHABET: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
/// Weight of each of the first seventeen positions: 3^i mod 31.
const WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];

/// Why a string is not a valid USCC.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsccError {
    #[error("统一社会信用代码应为 18 位，这里是 {0} 位 (a USCC has 18 characters, this has {0})")]
    Length(usize),
    #[error(
        "第 {position} 位的字符 “{found}” 不能出现在统一社会信用代码中 (character '{found}' at position {position} is not allowed in a USCC)"
    )]
    Character { position: usize, found: char },
    #[error(
        "第 3–8 位应为行政区划代码数字 (positions 3–8 must be the digits of an administrative division code)"
    )]
    Division,
    #[error(
        "校验位不符：应为 “{expected}”，实际为 “{found}”，请核对是否抄错 (check character should be '{expected}' but is '{found}': probably a typo)"
    )]
    CheckDigit { expected: char, found: char },
}

impl UsccError {
    /// A stable machine code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Length(_) => ErrorCode::UsccLength,
            Self::Character { .. } => ErrorCode::UsccCharacter,
            Self::Division => ErrorCode::UsccDivision,
            Self::CheckDigit { .. } => ErrorCode::UsccCheckDigit,
        }
    }
}

/// A verified unified social credit code. Lower-case input is accepted and
/// normalised to upper case; surrounding whitespace is trimmed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Uscc(String);

fn value_of(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).map(|p| p as u32)
}

/// The check character for the first seventeen characters of a code.
fn check_char(first17: &[u8]) -> Option<char> {
    let mut sum = 0u32;
    for (c, w) in first17.iter().zip(WEIGHTS) {
        sum += value_of(*c)? * w;
    }
    let check = (31 - sum % 31) % 31;
    Some(ALPHABET[check as usize] as char)
}

impl Uscc {
    /// Parses and verifies a code.
    pub fn parse(input: &str) -> Result<Self, UsccError> {
        let code = input.trim().to_ascii_uppercase();
        let chars: Vec<char> = code.chars().collect();
        if chars.len() != 18 {
            return Err(UsccError::Length(chars.len()));
        }
        for (i, &c) in chars.iter().enumerate() {
            if !c.is_ascii() || value_of(c as u8).is_none() {
                return Err(UsccError::Character {
                    position: i + 1,
                    found: c,
                });
            }
        }
        let bytes = code.as_bytes();
        if !bytes[2..8].iter().all(u8::is_ascii_digit) {
            return Err(UsccError::Division);
        }
        let expected = check_char(&bytes[..17]).ok_or(UsccError::Division)?;
        let found = chars[17];
        if expected != found {
            return Err(UsccError::CheckDigit { expected, found });
        }
        Ok(Self(code))
    }

    /// Completes seventeen characters with their check character. Used to
    /// build demo data and tests; fails like [`Uscc::parse`] on bad input.
    pub fn with_check_char(first17: &str) -> Result<Self, UsccError> {
        if first17.len() != 17 {
            return Err(UsccError::Length(first17.len() + 1));
        }
        let c = check_char(first17.to_ascii_uppercase().as_bytes()).unwrap_or('0');
        Self::parse(&format!("{first17}{c}"))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The six-digit administrative division code (positions 3–8).
    pub fn division(&self) -> &str {
        &self.0[2..8]
    }
}

impl fmt::Display for Uscc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Uscc {
    type Err = UsccError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Uscc {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Uscc {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes printed on real business licences and government notices.
    const PUBLISHED: &[&str] = &[
        "91350100M000100Y43",
        "914403001922038216",
        "91110105771583283D",
        "91440300708461136T",
        "91110108551385082Q",
    ];

    #[test]
    fn published_codes_verify() {
        for code in PUBLISHED {
            let uscc = Uscc::parse(code).unwrap_or_else(|e| panic!("{code}: {e}"));
            assert_eq!(uscc.as_str(), *code);
        }
        assert_eq!(
            Uscc::parse("91350100M000100Y43").map(|u| u.division().to_owned()),
            Ok("350100".into())
        );
    }

    #[test]
    fn lower_case_and_spaces_are_normalised() {
        let u = Uscc::parse(" 91350100m000100y43 ").expect("valid");
        assert_eq!(u.as_str(), "91350100M000100Y43");
    }

    #[test]
    fn every_single_character_change_is_caught() {
        for code in PUBLISHED {
            for pos in 0..18 {
                for &c in ALPHABET {
                    let mut b = code.as_bytes().to_vec();
                    if b[pos] == c {
                        continue;
                    }
                    b[pos] = c;
                    let altered = String::from_utf8(b).expect("ascii");
                    assert!(
                        Uscc::parse(&altered).is_err(),
                        "{altered} should be rejected"
                    );
                }
            }
        }
    }

    #[test]
    fn wrong_length() {
        assert_eq!(Uscc::parse("91350100M000100Y4"), Err(UsccError::Length(17)));
        assert_eq!(
            Uscc::parse("91350100M000100Y433"),
            Err(UsccError::Length(19))
        );
        assert_eq!(Uscc::parse(""), Err(UsccError::Length(0)));
    }

    #[test]
    fn forbidden_characters() {
        // I, O, S, V, Z are not in the alphabet.
        for bad in ['I', 'O', 'S', 'V', 'Z', '-', '统'] {
            let code = format!("91350100M000100{bad}43");
            let err = Uscc::parse(&code).expect_err("forbidden char");
            assert_eq!(err.code(), "uscc.character", "{code}");
        }
    }

    #[test]
    fn division_must_be_digits() {
        let u = Uscc::with_check_char("9135A100M000100Y4");
        assert_eq!(u, Err(UsccError::Division));
    }

    #[test]
    fn wrong_check_digit_names_the_expected_one() {
        let err = Uscc::parse("91350100M000100Y44").expect_err("bad check");
        assert_eq!(
            err,
            UsccError::CheckDigit {
                expected: '3',
                found: '4'
            }
        );
        assert!(err.to_string().contains("校验位"));
    }

    #[test]
    fn serde_rejects_invalid_codes() {
        let ok: Result<Uscc, _> = serde_json::from_str("\"91350100M000100Y43\"");
        assert!(ok.is_ok());
        let bad: Result<Uscc, _> = serde_json::from_str("\"91350100M000100Y44\"");
        assert!(bad.is_err());
    }

    #[test]
    fn with_check_char_completes_codes() {
        assert_eq!(
            Uscc::with_check_char("91350100M000100Y4").map(|u| u.0),
            Ok("91350100M000100Y43".into())
        );
    }
}
