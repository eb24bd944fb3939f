//! Recognising a photo by its content and checking it before and while it
//! is decoded.

use std::fmt;

use image::{ImageError, ImageFormat};

use super::{PhotoError, PhotoLimits};

/// The photo formats the pipeline accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PhotoFormat {
    /// JPEG (what tablet cameras produce).
    Jpeg,
    /// PNG (screenshots, scans).
    Png,
    /// WebP.
    WebP,
}

impl PhotoFormat {
    /// The format's MIME type.
    pub fn mime(self) -> &'static str {
        match self {
            PhotoFormat::Jpeg => "image/jpeg",
            PhotoFormat::Png => "image/png",
            PhotoFormat::WebP => "image/webp",
        }
    }

    /// Recognises the format from the first bytes of the file.
    pub fn detect(bytes: &[u8]) -> Result<PhotoFormat, PhotoError> {
        if bytes.is_empty() {
            return Err(PhotoError::Empty);
        }
        match image::guess_format(bytes) {
            Ok(ImageFormat::Jpeg) => Ok(PhotoFormat::Jpeg),
            Ok(ImageFormat::Png) => Ok(PhotoFormat::Png),
            Ok(ImageFormat::WebP) => Ok(PhotoFormat::WebP),
            Ok(other) => Err(PhotoError::Unsupported {
                detected: Some(format!("{other:?}")),
            }),
            Err(_) => Err(PhotoError::Unsupported { detected: None }),
        }
    }

    pub(super) fn image_format(self) -> ImageFormat {
        match self {
            PhotoFormat::Jpeg => ImageFormat::Jpeg,
            PhotoFormat::Png => ImageFormat::Png,
            PhotoFormat::WebP => ImageFormat::WebP,
        }
    }
}

impl fmt::Display for PhotoFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PhotoFormat::Jpeg => "JPEG",
            PhotoFormat::Png => "PNG",
            PhotoFormat::WebP => "WebP",
        })
    }
}

pub(super) fn map_image_error(
    err: ImageError,
    format: PhotoFormat,
    limits: &PhotoLimits,
) -> PhotoError {
    match err {
        ImageError::Limits(_) => PhotoError::TooMuchMemory {
            max_bytes: limits.max_decode_bytes,
        },
        ImageError::Unsupported(e) => PhotoError::Unsupported {
            detected: Some(format!("a {format} variant that cannot be read: {e}")),
        },
        other => PhotoError::Corrupt {
            format,
            detail: other.to_string(),
        },
    }
}

/// Checks that a JPEG's segments are complete up to its end-of-image marker.
/// Data after the marker (some cameras append previews) is allowed.
pub(super) fn check_jpeg_complete(data: &[u8]) -> Result<(), &'static str> {
    const TRUNCATED: &str = "the file ends before the end of the image";
    if !data.starts_with(&[0xFF, 0xD8]) {
        return Err("no JPEG start marker");
    }
    let mut i = 2;
    loop {
        // Find the next marker, skipping any stray bytes and fill bytes.
        match data
            .get(i..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
        {
            Some(skip) => i += skip,
            None => return Err(TRUNCATED),
        }
        while data.get(i) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = data.get(i) else {
            return Err(TRUNCATED);
        };
        i += 1;
        match marker {
            0xD9 => return Ok(()),
            // Standalone markers without a length.
            0x01 | 0xD0..=0xD7 => continue,
            0x00 => return Err("a stray byte where a marker was expected"),
            _ => {}
        }
        let Some(len) = data
            .get(i..i + 2)
            .map(|b| usize::from(b[0]) << 8 | usize::from(b[1]))
        else {
            return Err(TRUNCATED);
        };
        if len < 2 {
            return Err("a segment with an impossible length");
        }
        i += len;
        if i > data.len() {
            return Err(TRUNCATED);
        }
        if marker == 0xDA {
            // Start of scan: skip the entropy-coded data, where 0xFF is only
            // followed by 0x00 (stuffing) or a restart marker.
            loop {
                match data
                    .get(i..)
                    .and_then(|rest| rest.iter().position(|&b| b == 0xFF))
                {
                    Some(skip) => i += skip,
                    None => return Err(TRUNCATED),
                }
                match data.get(i + 1) {
                    Some(0x00 | 0xD0..=0xD7) => i += 2,
                    Some(0xFF) => i += 1,
                    Some(_) => break,
                    None => return Err(TRUNCATED),
                }
            }
        }
    }
}
