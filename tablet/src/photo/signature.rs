//! The signature image from the signature pad.

/// Largest signature image accepted (a PNG from the signature pad).
pub const MAX_SIGNATURE_BYTES: usize = 2 * 1024 * 1024;

/// Why a signature image was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadSignature(pub String);

/// A signature must be a PNG the tablet can decode, of a sensible size.
pub fn check_signature_png(png: &[u8]) -> Result<(), BadSignature> {
    if png.len() > MAX_SIGNATURE_BYTES {
        return Err(BadSignature(format!(
            "{} bytes, at most {MAX_SIGNATURE_BYTES}",
            png.len()
        )));
    }
    let format = image::guess_format(png).map_err(|e| BadSignature(e.to_string()))?;
    if format != image::ImageFormat::Png {
        return Err(BadSignature(format!("{format:?}, not PNG")));
    }
    let reader = image::ImageReader::with_format(std::io::Cursor::new(png), format);
    let (w, h) = reader
        .into_dimensions()
        .map_err(|e| BadSignature(e.to_string()))?;
    if w == 0 || h == 0 || w > 4096 || h > 4096 {
        return Err(BadSignature(format!("{w}×{h} pixels")));
    }
    image::load_from_memory_with_format(png, format).map_err(|e| BadSignature(e.to_string()))?;
    Ok(())
}
