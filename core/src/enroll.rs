//! The enrollment link: what the server's enrollment QR code holds and the
//! tablet reads back. One type writes it and reads it, through the `url`
//! crate, so that a server address with `&`, `=` or spaces in it survives.
//!
//! `fieldloop://enroll?server=<percent-encoded URL>&code=<code>`; links
//! written before the server address was encoded (`server=http://…`) read
//! the same.

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
}

/// A text that is neither an enrollment link nor a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("这不是 Fieldloop 注册码 (this is not a Fieldloop enrollment code)")]
pub struct NotAnEnrollText;

impl EnrollTarget {
    /// The link for `server` and `code`.
    pub fn link(server: &str, code: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("server", server)
            .append_pair("code", code)
            .finish();
        format!("{PREFIX}?{query}")
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
            };
            for (key, value) in url.query_pairs() {
                match &*key {
                    "server" if !value.is_empty() => target.server = Some(value.into_owned()),
                    "code" => target.code = value.trim().to_owned(),
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
                    code: "K7P2M9QX4R".into()
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
                code: "ABCD2345".into()
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
}
