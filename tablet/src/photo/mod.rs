//! The evidence photo pipeline.
//!
//! A photo taken on site is evidence: its original bytes are kept untouched
//! and named by their SHA-256. For viewing, the pipeline derives a display
//! copy (long side at most [`DISPLAY_LONG_SIDE`] px) and a thumbnail (long
//! side at most [`THUMB_LONG_SIDE`] px), both JPEG with the EXIF orientation
//! applied, and reads when and where the photo was taken from its EXIF.
//!
//! [`process_photo`] has no side effects: it either returns everything or a
//! typed [`PhotoError`]. [`store_photo`] processes first and stores the
//! original and both derived images in the [`BlobStore`] only when
//! processing succeeded.
//!
//! Defences: the format is recognised by content, never by file name; the
//! dimensions are read from the header and checked against
//! [`PhotoLimits::max_pixels`] before any pixel is decoded (decompression
//! bombs); the decoder's allocations are bounded by `image`'s `Limits`; a
//! JPEG must be complete up to its end-of-image marker (the JPEG decoder
//! would otherwise fill a truncated photo with grey and accept it).
//!
//! Cost: a JPEG (what cameras write) is decoded by libjpeg-turbo at the
//! smallest multiple of 1/8 of its size that still covers the display copy
//! ([`jpeg`]): a 4000×3000 photo is decoded at 2500×1875, never at full
//! size. Other formats (and JPEGs that path does not take) are decoded
//! whole by `image`. One decoded buffer is alive at a time. It is resized
//! with `fast_image_resize` (SIMD) straight to display size and dropped; the
//! thumbnail is resized from the display copy; the orientation is applied to
//! the two small images only; both are encoded by libjpeg-turbo with 4:2:0
//! chroma, as cameras do (a third smaller than 4:4:4). Figures:
//! `scripts/photo-compare.sh` against vipsthumbnail, and `benches/photo.rs`.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageReader, metadata::Orientation};

use crate::blobs::{BlobId, BlobStore};

mod camera;
mod decode;
mod derived;
mod error;
mod jpeg;
mod signature;
#[cfg(test)]
mod tests;

pub use camera::{GpsPosition, TakenAt, camera_time_millis};
use camera::{gps, orientation, read_exif, taken_at};
pub use decode::PhotoFormat;
use decode::{check_jpeg_complete, map_image_error};
pub use derived::DerivedJpeg;
use derived::{Pixels, fit_within};
pub use error::PhotoError;
pub use jpeg::MAX_PROGRESSIVE_SCANS;
pub use signature::{BadSignature, MAX_SIGNATURE_BYTES, check_signature_png};

/// Longest side of the display copy, in pixels.
pub const DISPLAY_LONG_SIDE: u32 = 2048;
/// Longest side of the thumbnail, in pixels.
pub const THUMB_LONG_SIDE: u32 = 320;
/// JPEG quality of the display copy.
pub const DISPLAY_QUALITY: u8 = 85;
/// JPEG quality of the thumbnail.
pub const THUMB_QUALITY: u8 = 80;

/// Bounds on what the pipeline agrees to decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PhotoLimits {
    /// Largest accepted width × height, checked from the header before
    /// decoding.
    pub max_pixels: u64,
    /// Largest decoded buffer the decoder may allocate, in bytes.
    pub max_decode_bytes: u64,
}

impl Default for PhotoLimits {
    fn default() -> Self {
        PhotoLimits {
            max_pixels: 100_000_000,
            max_decode_bytes: 512 * 1024 * 1024,
        }
    }
}

/// Everything the pipeline derives from one photo.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessedPhoto {
    /// SHA-256 of the original bytes: the evidence's id.
    pub original_sha256: BlobId,
    /// Size of the original in bytes.
    pub original_len: u64,
    /// MIME type of the original, from its content.
    pub mime: &'static str,
    /// Width of the photo as it is meant to be seen (orientation applied).
    pub width: u32,
    /// Height of the photo as it is meant to be seen (orientation applied).
    pub height: u32,
    /// EXIF orientation of the original (1–8; 1 when absent).
    pub exif_orientation: u8,
    /// Display copy: JPEG, long side at most [`DISPLAY_LONG_SIDE`].
    pub display: DerivedJpeg,
    /// Thumbnail: JPEG, long side at most [`THUMB_LONG_SIDE`].
    pub thumbnail: DerivedJpeg,
    /// EXIF DateTimeOriginal (or DateTimeDigitized), when present and valid.
    pub taken_at: Option<TakenAt>,
    /// EXIF GPS position, when present and valid.
    pub gps: Option<GpsPosition>,
}

/// Processes `bytes` as an evidence photo. See the module docs.
pub fn process_photo(bytes: &[u8], limits: &PhotoLimits) -> Result<ProcessedPhoto, PhotoError> {
    let format = PhotoFormat::detect(bytes)?;
    let corrupt = |detail: String| PhotoError::Corrupt { format, detail };
    if format == PhotoFormat::Jpeg {
        check_jpeg_complete(bytes).map_err(|d| corrupt(d.to_string()))?;
    }

    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_decode_bytes);
    reader.limits(image_limits);
    // Only the header is read here.
    let decoder = reader
        .into_decoder()
        .map_err(|e| map_image_error(e, format, limits))?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(corrupt("the header gives no size".into()));
    }
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(PhotoError::TooLarge {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    if decoder.total_bytes() > limits.max_decode_bytes {
        return Err(PhotoError::TooMuchMemory {
            max_bytes: limits.max_decode_bytes,
        });
    }

    let exif = read_exif(bytes);
    let exif_orientation = exif.as_ref().and_then(orientation).unwrap_or(1);
    let taken_at = exif.as_ref().and_then(taken_at);
    let gps = exif.as_ref().and_then(gps);
    drop(exif);

    // A JPEG is decoded at the smallest DCT scale that still covers the
    // display size; anything that path does not take is decoded whole.
    let scaled = match format {
        PhotoFormat::Jpeg => jpeg::decode_scaled(bytes, DISPLAY_LONG_SIDE, limits)
            .filter(|s| (s.full_width, s.full_height) == (width, height)),
        _ => None,
    };
    let decoded = match scaled {
        Some(scaled) => {
            drop(decoder);
            scaled.pixels
        }
        None => Pixels::from_image(
            DynamicImage::from_decoder(decoder).map_err(|e| map_image_error(e, format, limits))?,
        ),
    };

    let (dw, dh) = fit_within(width, height, DISPLAY_LONG_SIDE);
    let display = decoded.resized(dw, dh)?;
    // The full-size buffer ends here (or was moved into `display`).
    let (tw, th) = fit_within(display.width, display.height, THUMB_LONG_SIDE);
    let thumbnail = display.clone_resized(tw, th)?;

    let orient = Orientation::from_exif(exif_orientation).unwrap_or(Orientation::NoTransforms);
    let swaps = matches!(exif_orientation, 5..=8);
    let (width, height) = if swaps {
        (height, width)
    } else {
        (width, height)
    };

    Ok(ProcessedPhoto {
        original_sha256: BlobId::of(bytes),
        original_len: bytes.len() as u64,
        mime: format.mime(),
        width,
        height,
        exif_orientation,
        display: display.oriented(orient)?.encode_jpeg(DISPLAY_QUALITY)?,
        thumbnail: thumbnail.oriented(orient)?.encode_jpeg(THUMB_QUALITY)?,
        taken_at,
        gps,
    })
}

/// Processes `bytes` and, only if that fully succeeded, stores the original,
/// the display copy and the thumbnail in `store`. The ids of the three blobs
/// are the SHA-256 fields of the result.
///
/// Should the disk fail between two writes, the blobs already written are
/// unreferenced leftovers (content-addressed, so harmless), never a half
/// file.
pub fn store_photo(
    store: &BlobStore,
    bytes: &[u8],
    limits: &PhotoLimits,
) -> Result<ProcessedPhoto, PhotoError> {
    let photo = process_photo(bytes, limits)?;
    store.put(bytes)?;
    store.put(&photo.display.jpeg)?;
    store.put(&photo.thumbnail.jpeg)?;
    Ok(photo)
}
