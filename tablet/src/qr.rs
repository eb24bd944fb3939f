//! Verification QR codes (亮码检查 / 扫码入企).
//!
//! Every inspection task carries a random, unguessable `verify_code`. The
//! inspector shows a QR code pointing to `{base}/v/{verify_code}`; the
//! enterprise scans it with any phone and sees whether the inspection is
//! registered and who may perform it. This module builds that URL and
//! renders the code as SVG (for the screen and print) and PNG (for sharing),
//! with error correction level M, square modules and the 4-module quiet zone
//! that the QR standard asks for.

use fieldloop_core::ErrorCode;
use qrcode::{Color, EcLevel, QrCode};

/// Width of the light border around the symbol, in modules (ISO/IEC 18004
/// requires 4).
pub const QUIET_ZONE: u32 = 4;
/// Pixels per module of the PNG rendering: a small code is then about
/// 300–400 px wide, which phones scan at arm's length and which stays sharp
/// when printed at 3 cm.
pub const PNG_MODULE_PX: u32 = 8;

/// What can go wrong making a QR code.
#[derive(Debug, thiserror::Error)]
pub enum QrError {
    /// The text does not fit in a QR code.
    #[error("the link is too long for a QR code ({len} bytes); use a shorter server address")]
    TooLong {
        /// Length of the text in bytes.
        len: usize,
    },
    /// The QR encoder or the PNG encoder failed.
    #[error("could not draw the QR code ({0}); please report this problem")]
    Render(String),
    /// A picture given to scan has no readable QR code.
    #[error(
        "图片中没有可识别的二维码：{0}（请换一张更清晰的图片，或直接输入注册码）(no readable QR code in the picture)"
    )]
    NotFound(String),
}

impl QrError {
    /// Stable machine code of the error, for the UI and the logs.
    pub fn code(&self) -> ErrorCode {
        match self {
            QrError::TooLong { .. } => ErrorCode::QrTooLong,
            QrError::Render(_) => ErrorCode::QrRenderFailed,
            QrError::NotFound(_) => ErrorCode::QrNotFound,
        }
    }
}

/// Largest picture [`scan_image`] decodes, in pixels.
const MAX_SCAN_PIXELS: u64 = 40_000_000;

/// Reads the first QR code in a picture (PNG or JPEG), e.g. a photo or a
/// screenshot of the enrollment code.
pub fn scan_image(bytes: &[u8]) -> Result<String, QrError> {
    let reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| QrError::NotFound(e.to_string()))?;
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| QrError::NotFound(e.to_string()))?;
    if u64::from(w) * u64::from(h) > MAX_SCAN_PIXELS {
        return Err(QrError::NotFound(format!("{w}×{h} pixels is too large")));
    }
    let image = image::load_from_memory(bytes).map_err(|e| QrError::NotFound(e.to_string()))?;
    let mut prepared = rqrr::PreparedImage::prepare(image.to_luma8());
    for grid in prepared.detect_grids() {
        if let Ok((_, text)) = grid.decode() {
            return Ok(text);
        }
    }
    Err(QrError::NotFound("no QR code found".into()))
}

/// The public verification link of a task: `{base}/v/{verify_code}`.
///
/// A trailing `/` of `base` is dropped; the code is percent-encoded as one
/// path segment, so it can never add a path or a query.
pub use fieldloop_core::record::verify_url;

/// A QR code, drawn by the `qrcode` crate's own renderers.
#[derive(Clone)]
pub struct QrMatrix {
    code: QrCode,
}

impl std::fmt::Debug for QrMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "QrMatrix({} modules)", self.code.width())
    }
}

impl QrMatrix {
    /// Encodes `text` with error correction level M.
    pub fn encode(text: &str) -> Result<QrMatrix, QrError> {
        let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M).map_err(
            |e| match e {
                qrcode::types::QrError::DataTooLong => QrError::TooLong { len: text.len() },
                other => QrError::Render(other.to_string()),
            },
        )?;
        Ok(QrMatrix { code })
    }

    /// Modules per side, without quiet zone.
    pub fn width(&self) -> u32 {
        u32::try_from(self.code.width()).unwrap_or(u32::MAX)
    }

    /// Whether the module at column `x`, row `y` is dark (false outside).
    pub fn is_dark(&self, x: u32, y: u32) -> bool {
        x < self.width() && y < self.width() && self.code[(x as usize, y as usize)] == Color::Dark
    }

    /// Modules per side including the quiet zone on both sides.
    pub fn width_with_quiet_zone(&self) -> u32 {
        self.width() + 2 * QUIET_ZONE
    }

    /// SVG drawing: black on a white square, `module_px` units per module,
    /// quiet zone included, scalable without blur (`crispEdges`).
    pub fn to_svg(&self, module_px: u32) -> String {
        let px = module_px.max(1);
        self.code
            .render::<qrcode::render::svg::Color<'_>>()
            .quiet_zone(true)
            .module_dimensions(px, px)
            .build()
    }

    /// Grey-scale pixels at `module_px` pixels per module, quiet zone included.
    pub fn to_image(&self, module_px: u32) -> image::GrayImage {
        let px = module_px.max(1);
        self.code
            .render::<image::Luma<u8>>()
            .quiet_zone(true)
            .module_dimensions(px, px)
            .build()
    }

    /// PNG file at `module_px` pixels per module, quiet zone included.
    pub fn to_png(&self, module_px: u32) -> Result<Vec<u8>, QrError> {
        let image = self.to_image(module_px);
        let mut png = Vec::new();
        image
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .map_err(|e| QrError::Render(e.to_string()))?;
        Ok(png)
    }
}

/// The task's verification QR code as SVG.
pub fn verify_qr_svg(base: &str, verify_code: &str) -> Result<String, QrError> {
    Ok(QrMatrix::encode(&verify_url(base, verify_code))?.to_svg(PNG_MODULE_PX))
}

/// The link a task's QR code carries: `{base}/v/{verify_code}`, followed by
/// `#FL1:…`, the server-signed claim, when the task has one (亮码检查: the
/// business's phone checks it with no network).
pub use fieldloop_core::record::signed_verify_url;

/// [`verify_qr_svg`] with the task's signed claim in the link's fragment.
pub fn signed_verify_qr_svg(
    base: &str,
    verify_code: &str,
    claim: Option<&str>,
) -> Result<String, QrError> {
    Ok(QrMatrix::encode(&signed_verify_url(base, verify_code, claim))?.to_svg(PNG_MODULE_PX))
}

/// The task's verification QR code as PNG, [`PNG_MODULE_PX`] pixels per module.
pub fn verify_qr_png(base: &str, verify_code: &str) -> Result<Vec<u8>, QrError> {
    QrMatrix::encode(&verify_url(base, verify_code))?.to_png(PNG_MODULE_PX)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    const BASE: &str = "https://fieldloop.example.gov.cn";

    #[test]
    fn the_signed_claim_rides_in_the_fragment_and_scans_back() {
        let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let claim = fieldloop_core::claim::Claim {
            v: fieldloop_core::claim::CLAIM_VERSION,
            task_code: "JX-2026-000001".into(),
            verify_code: CODE.into(),
            subject_uscc: "92360736MA36XJ6832".into(),
            inspectors: vec![
                fieldloop_core::claim::ClaimInspector {
                    name: "王磊".into(),
                    badge: "36070012345".into(),
                },
                fieldloop_core::claim::ClaimInspector {
                    name: "李娜".into(),
                    badge: "36070012346".into(),
                },
            ],
            departments: vec![fieldloop_core::claim::ClaimDepartment {
                code: "SCJG".into(),
                name: "市场监督管理局".into(),
            }],
            nbf: 0,
            exp: 10,
            iat: 0,
        };
        let text = fieldloop_core::claim::sign(&key, &claim);
        let url = signed_verify_url(BASE, CODE, Some(&text));
        assert!(url.starts_with(&format!("{BASE}/v/{CODE}#FL1:")), "{url}");
        assert!(!url.contains(' '), "{url}");
        assert_eq!(signed_verify_url(BASE, CODE, None), verify_url(BASE, CODE));
        let fragment = url.split_once('#').unwrap().1;
        let decoded = percent_encoding::percent_decode_str(fragment)
            .decode_utf8()
            .unwrap();
        assert_eq!(
            fieldloop_core::claim::verify(&decoded, &key.verifying_key(), 5).unwrap(),
            claim
        );
        let svg = signed_verify_qr_svg(BASE, CODE, Some(&text)).unwrap();
        assert!(svg.starts_with("<?xml") || svg.contains("<svg"), "svg");
        let png = QrMatrix::encode(&url)
            .unwrap()
            .to_png(PNG_MODULE_PX)
            .unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids[0].decode().unwrap().1, url);
    }
    const CODE: &str = "k7Qm2xVt9pLw4RzN";

    /// Finds and decodes the one QR code in a grey image.
    fn scan(image: image::GrayImage) -> String {
        let mut prepared = rqrr::PreparedImage::prepare(image);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1, "exactly one QR code is found");
        let (meta, text) = grids[0].decode().unwrap();
        assert_eq!(meta.ecc_level, 0, "rqrr numbers M as 0");
        text
    }

    /// Draws the SVG's path back into pixels: it is a run of rectangles,
    /// each `M x y hW vH Hx Vy`.
    fn rasterize_svg(svg: &str, scale: u32) -> image::GrayImage {
        let doc = roxmltree::Document::parse(svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        let view_box: Vec<u32> = root
            .attribute("viewBox")
            .unwrap()
            .split(' ')
            .map(|n| n.parse().unwrap())
            .collect();
        let side = view_box[2];
        assert_eq!(view_box[3], side);
        let d = root
            .descendants()
            .find(|n| n.has_tag_name("path"))
            .unwrap()
            .attribute("d")
            .unwrap();
        let mut image =
            image::GrayImage::from_pixel(side * scale, side * scale, image::Luma([255]));
        for rect in d.split('M').filter(|c| !c.is_empty()) {
            let (xy, rest) = rect.split_once('h').unwrap();
            let (x, y) = xy.split_once(' ').unwrap();
            let (x, y): (u32, u32) = (x.parse().unwrap(), y.parse().unwrap());
            let (w, rest) = rest.split_once('v').unwrap();
            let (h, _) = rest.split_once('H').unwrap();
            let (w, h): (u32, u32) = (w.parse().unwrap(), h.parse().unwrap());
            for px in x * scale..(x + w) * scale {
                for py in y * scale..(y + h) * scale {
                    image.put_pixel(px, py, image::Luma([0]));
                }
            }
        }
        image
    }

    #[test]
    fn url_is_base_v_code() {
        assert_eq!(verify_url(BASE, CODE), format!("{BASE}/v/{CODE}"));
        assert_eq!(
            verify_url(&format!("{BASE}/"), CODE),
            format!("{BASE}/v/{CODE}")
        );
        assert_eq!(
            verify_url("http://h:8080/app", "ab-c_d.e~f"),
            "http://h:8080/app/v/ab-c_d.e~f"
        );
    }

    #[test]
    fn url_code_cannot_escape_its_segment() {
        assert_eq!(
            verify_url("http://h", "../admin?x=1#y"),
            "http://h/v/..%2Fadmin%3Fx%3D1%23y"
        );
        assert_eq!(verify_url("http://h", "码"), "http://h/v/%E7%A0%81");
    }

    #[test]
    fn png_decodes_scans_and_has_a_sane_size() {
        let png = verify_qr_png(BASE, CODE).unwrap();
        assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"));
        let image = image::load_from_memory_with_format(&png, image::ImageFormat::Png)
            .unwrap()
            .to_luma8();
        let matrix = QrMatrix::encode(&verify_url(BASE, CODE)).unwrap();
        let side = (matrix.width() + 2 * QUIET_ZONE) * PNG_MODULE_PX;
        assert_eq!(image.dimensions(), (side, side));
        assert!((200..=800).contains(&side), "{side} px");
        // Quiet zone is white all around.
        let q = QUIET_ZONE * PNG_MODULE_PX;
        for i in 0..side {
            for j in 0..q {
                assert_eq!(image.get_pixel(i, j).0, [255]);
                assert_eq!(image.get_pixel(j, i).0, [255]);
                assert_eq!(image.get_pixel(i, side - 1 - j).0, [255]);
                assert_eq!(image.get_pixel(side - 1 - j, i).0, [255]);
            }
        }
        // Top-left finder pattern starts with a dark module.
        assert_eq!(image.get_pixel(q, q).0, [0]);
        assert_eq!(scan(image), verify_url(BASE, CODE));
    }

    #[test]
    fn svg_is_well_formed_and_scans() {
        let svg = verify_qr_svg(BASE, CODE).unwrap();
        assert!(svg.len() > 200);
        let matrix = QrMatrix::encode(&verify_url(BASE, CODE)).unwrap();
        let side = matrix.width_with_quiet_zone() * PNG_MODULE_PX;
        assert!(svg.contains(&format!("viewBox=\"0 0 {side} {side}\"")));
        let image = rasterize_svg(&svg, 1);
        assert_eq!(scan(image), verify_url(BASE, CODE));
    }

    #[test]
    fn svg_matches_the_matrix() {
        let matrix = QrMatrix::encode("HELLO").unwrap();
        let image = rasterize_svg(&matrix.to_svg(1), 1);
        for y in 0..matrix.width_with_quiet_zone() {
            for x in 0..matrix.width_with_quiet_zone() {
                let dark = x >= QUIET_ZONE
                    && y >= QUIET_ZONE
                    && matrix.is_dark(x - QUIET_ZONE, y - QUIET_ZONE);
                assert_eq!(image.get_pixel(x, y).0[0] == 0, dark, "({x}, {y})");
            }
        }
    }

    #[test]
    fn level_m_and_small_version_for_a_normal_link() {
        let matrix = QrMatrix::encode(&verify_url(BASE, CODE)).unwrap();
        // A 50-byte link at level M fits version 4 (33 modules).
        assert!(matrix.width() <= 33, "{}", matrix.width());
        assert_eq!((matrix.width() - 17) % 4, 0);
    }

    #[test]
    fn long_and_odd_text_round_trips() {
        let code = "x".repeat(300);
        let png = verify_qr_png("https://example.org", &code).unwrap();
        let image = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(scan(image), verify_url("https://example.org", &code));
    }

    #[test]
    fn too_long_is_a_typed_error() {
        let err = verify_qr_svg(BASE, &"y".repeat(5000)).unwrap_err();
        assert_eq!(err.code(), "qr.too_long");
        assert!(err.to_string().contains("too long"));
    }
}
