//! The tablet's HTTP client: HTTPS that trusts the server key pinned at
//! enrollment and nothing else, or (for a server enrolled without a pin)
//! the platform's certificate authorities.
//!
//! A pinned tablet:
//! - refuses a plain `http://` server address before sending anything;
//! - checks only the pin, the SHA-256 of the certificate's public key: the
//!   name, the issuer and the dates are not what it trusts, so a self-signed
//!   certificate on an IP address works, and a certificate renewed with the
//!   same key keeps working;
//! - never follows a redirect (a hostile network cannot move it elsewhere).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fieldloop_core::enroll::KeyPin;
use rustls::DigitallySignedStruct;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

/// Checks that the server's key is one of the pinned ones.
#[derive(Debug)]
pub struct PinVerifier {
    pins: Vec<KeyPin>,
    algorithms: WebPkiSupportedAlgorithms,
    /// The key of the last server that did not match, for the error.
    refused: Mutex<Option<KeyPin>>,
}

impl PinVerifier {
    pub fn new(pins: Vec<KeyPin>, provider: &CryptoProvider) -> Self {
        Self {
            pins,
            algorithms: provider.signature_verification_algorithms,
            refused: Mutex::new(None),
        }
    }

    /// The key a server presented that was not pinned, once (taken).
    pub fn take_refused(&self) -> Option<KeyPin> {
        self.refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
    }
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        let presented = KeyPin::of_spki(parsed.subject_public_key_info().as_ref());
        if self.pins.contains(&presented) {
            return Ok(ServerCertVerified::assertion());
        }
        *self
            .refused
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(presented);
        Err(rustls::Error::General(format!(
            "the server's key {presented} is not the pinned one"
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Makes ring the process's default crypto provider (once; a default
/// already installed stays). Every reqwest client needs one, even for plain
/// HTTP: call this before building a client other than through [`Client`].
pub fn install_crypto() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// Why no client could be made for a server address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error(
        "本设备已绑定服务器密钥 {pin}，拒绝连接未加密的地址 {server}；请使用 https 地址或重新注册 (this tablet pins the server key {pin} and refuses the plain-HTTP address {server}: use its https address or enroll again)"
    )]
    PlainHttp { server: String, pin: String },
    #[error("无法建立加密连接：{0} (cannot set up TLS)")]
    Setup(String),
}

/// A blocking client for `server` that trusts `pins` (none: the platform's
/// certificate authorities for https, nothing to check for http).
#[derive(Debug, Clone)]
pub struct Client {
    pub http: reqwest::blocking::Client,
    /// The pin check, when the tablet pins.
    pub verifier: Option<Arc<PinVerifier>>,
}

impl Client {
    pub fn new(server: &str, pins: &[KeyPin]) -> Result<Self, ClientError> {
        install_crypto();
        let builder = reqwest::blocking::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(120))
            .redirect(reqwest::redirect::Policy::none());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let setup = |e: &dyn std::fmt::Display| ClientError::Setup(e.to_string());
        let https = server
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("https://");
        let (builder, verifier) = match (pins.first(), https) {
            (Some(pin), false) => {
                return Err(ClientError::PlainHttp {
                    server: server.to_owned(),
                    pin: pin.to_string(),
                });
            }
            (Some(_), true) => {
                let verifier = Arc::new(PinVerifier::new(pins.to_vec(), &provider));
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| setup(&e))?
                    .dangerous()
                    .with_custom_certificate_verifier(verifier.clone())
                    .with_no_client_auth();
                (
                    builder.use_preconfigured_tls(config).https_only(true),
                    Some(verifier),
                )
            }
            (None, true) => {
                use rustls_platform_verifier::BuilderVerifierExt as _;
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|e| setup(&e))?
                    .with_platform_verifier()
                    .map_err(|e| setup(&e))?
                    .with_no_client_auth();
                (builder.use_preconfigured_tls(config), None)
            }
            (None, false) => (builder, None),
        };
        let http = builder.build().map_err(|e| setup(&e))?;
        Ok(Self { http, verifier })
    }

    /// The key a server presented in place of the pinned one, if the last
    /// failure was that.
    pub fn refused_key(&self) -> Option<KeyPin> {
        self.verifier.as_ref().and_then(|v| v.take_refused())
    }

    /// The pins this client trusts, as text.
    pub fn pins_text(&self) -> String {
        self.verifier
            .as_ref()
            .map(|v| {
                v.pins
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pinned_client_refuses_a_plain_http_address() {
        let pin = KeyPin::of_spki(b"server key");
        let e = Client::new("http://10.0.0.2:7878", &[pin]).expect_err("plain http");
        assert!(matches!(e, ClientError::PlainHttp { .. }));
        assert!(e.to_string().contains(&pin.to_string()), "{e}");
        assert!(Client::new("HTTPS://10.0.0.2:7878", &[pin]).is_ok());
        assert!(Client::new("http://127.0.0.1:7878", &[]).is_ok());
        assert!(Client::new("https://example.com", &[]).is_ok());
    }
}
