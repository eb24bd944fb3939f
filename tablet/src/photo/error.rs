//! What can go wrong with a photo, and its stable error codes.

use fieldloop_core::ErrorCode;

use super::PhotoFormat;
use crate::blobs::BlobError;

/// What can go wrong with a photo.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The file has no bytes.
    #[error("the photo file is empty; take the photo again")]
    Empty,
    /// Not a JPEG, PNG or WebP file.
    #[error(
        "this file is not a JPEG, PNG or WebP photo{}; take the photo again or convert it to JPEG",
        detected.as_ref().map(|d| format!(" (it looks like {d})")).unwrap_or_default()
    )]
    Unsupported {
        /// The format it looks like, if recognised at all.
        detected: Option<String>,
    },
    /// The file is damaged or incomplete.
    #[error(
        "the {format} photo is damaged or incomplete ({detail}); \
         take the photo again or copy the file again"
    )]
    Corrupt {
        /// The format the file claims to be.
        format: PhotoFormat,
        /// What the decoder found.
        detail: String,
    },
    /// More pixels than [`PhotoLimits::max_pixels`](super::PhotoLimits::max_pixels).
    #[error(
        "the photo is {width}×{height} pixels, more than the {max_pixels} pixels accepted; \
         take it at a lower resolution"
    )]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit in force.
        max_pixels: u64,
    },
    /// Decoding would need more memory than
    /// [`PhotoLimits::max_decode_bytes`](super::PhotoLimits::max_decode_bytes).
    #[error(
        "decoding the photo would need more than {max_bytes} bytes of memory; \
         take it at a lower resolution"
    )]
    TooMuchMemory {
        /// The limit in force.
        max_bytes: u64,
    },
    /// Resizing or encoding a derived image failed (a bug, not the photo's fault).
    #[error("could not make the display copy of the photo ({0}); please report this problem")]
    Derive(String),
    /// The photo was processed but storing it failed.
    #[error(transparent)]
    Store(#[from] BlobError),
}

impl PhotoError {
    /// Stable machine code of the error, for the UI and the logs.
    pub fn code(&self) -> ErrorCode {
        match self {
            PhotoError::Empty => ErrorCode::PhotoEmpty,
            PhotoError::Unsupported { .. } => ErrorCode::PhotoUnsupported,
            PhotoError::Corrupt { .. } => ErrorCode::PhotoCorrupt,
            PhotoError::TooLarge { .. } | PhotoError::TooMuchMemory { .. } => {
                ErrorCode::PhotoTooLarge
            }
            PhotoError::Derive(_) => ErrorCode::PhotoDeriveFailed,
            PhotoError::Store(e) => e.code(),
        }
    }
}
