//! JPEG decoding at reduced scale with libjpeg-turbo (through `turbojpeg`).
//!
//! A camera JPEG is much larger than its display copy: a 12-megapixel photo
//! (4000×3000) becomes 2048×1536. libjpeg-turbo can scale by any multiple of
//! 1/8 inside the inverse DCT, so the photo is decoded straight to the
//! smallest multiple that is still at least the display size (5/8 here:
//! 2500×1875) and resized the rest of the way. The full-size pixels never
//! exist: the decoded buffer is 39% of the full one, and decoding it is
//! cheaper too.
//!
//! This path takes only what it is sure of: 8-bit YCbCr, RGB or grey JPEGs
//! whose header libjpeg-turbo reads. Anything else (CMYK, 12-bit, lossless,
//! an odd subsampling, a header or stream it refuses) returns `None` and the
//! caller decodes the photo with `image` as before, which gives the same
//! typed error as always for a damaged file. Corrupt entropy data inside an
//! otherwise complete file is decoded as far as it goes (libjpeg-turbo's
//! warnings are not fatal), as photo viewers do; the original is kept
//! untouched either way.

use turbojpeg::{Colorspace, Decompressor, Image, PixelFormat, ScalingFactor};

use super::PhotoLimits;
use super::derived::Pixels;

/// Most progressive scans accepted in one JPEG: a crafted progressive file
/// with thousands of tiny scans costs minutes of CPU (libjpeg-turbo's own
/// advice is a limit in the hundreds; cameras write about ten).
pub const MAX_PROGRESSIVE_SCANS: u32 = 500;

/// The decoded photo and the size of the original.
pub(super) struct Scaled {
    pub(super) pixels: Pixels,
    pub(super) full_width: u32,
    pub(super) full_height: u32,
}

/// The smallest scale (a multiple of 1/8, at most 1) at which the long side
/// of `width` × `height` is still at least `long_side`.
pub(super) fn scale_for(width: usize, height: usize, long_side: usize) -> ScalingFactor {
    let long = width.max(height);
    if long <= long_side {
        return ScalingFactor::ONE;
    }
    (1..=8)
        .map(|num| ScalingFactor::new(num, 8))
        .find(|f| f.scale(long) >= long_side)
        .unwrap_or(ScalingFactor::ONE)
}

/// Decodes `bytes` at the smallest scale that keeps `long_side` pixels, or
/// `None` when this path does not take the file (see the module docs).
/// `limits` bound the decoded buffer; the caller has checked the pixel
/// count from the header.
pub(super) fn decode_scaled(bytes: &[u8], long_side: u32, limits: &PhotoLimits) -> Option<Scaled> {
    let mut decompressor = Decompressor::new().ok()?;
    let header = decompressor.read_header(bytes).ok()?;
    if header.is_lossless || header.width == 0 || header.height == 0 {
        return None;
    }
    let (format, channels) = match header.colorspace {
        Colorspace::YCbCr | Colorspace::RGB => (PixelFormat::RGB, 3),
        Colorspace::Gray => (PixelFormat::GRAY, 1),
        Colorspace::CMYK | Colorspace::YCCK => return None,
    };
    let scale = scale_for(
        header.width,
        header.height,
        usize::try_from(long_side).ok()?,
    );
    let scaled = header.scaled(scale);
    let pitch = scaled.width.checked_mul(channels)?;
    let len = pitch.checked_mul(scaled.height)?;
    if u64::try_from(len).ok()? > limits.max_decode_bytes {
        return None;
    }
    decompressor.set_scaling_factor(scale).ok()?;
    decompressor.set_scan_limit(MAX_PROGRESSIVE_SCANS).ok()?;
    let mut buf = vec![0u8; len];
    let image = Image {
        pixels: buf.as_mut_slice(),
        width: scaled.width,
        pitch,
        height: scaled.height,
        format,
    };
    decompressor.decompress(bytes, image).ok()?;
    let (width, height) = (
        u32::try_from(scaled.width).ok()?,
        u32::try_from(scaled.height).ok()?,
    );
    let pixels = if channels == 1 {
        Pixels::luma(buf, width, height)
    } else {
        Pixels::rgb(buf, width, height)
    };
    Some(Scaled {
        pixels,
        full_width: u32::try_from(header.width).ok()?,
        full_height: u32::try_from(header.height).ok()?,
    })
}
