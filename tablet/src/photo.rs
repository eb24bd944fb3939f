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
//! Cost: one full-size 8-bit buffer is alive at a time. It is resized with
//! `fast_image_resize` (SIMD) straight to display size and dropped; the
//! thumbnail is resized from the display copy; the orientation is applied to
//! the two small images only; both are encoded by `jpeg-encoder` with 4:2:0
//! chroma, as cameras do (a third smaller than `image`'s 4:4:4 encoder, and
//! faster). A 12-megapixel JPEG takes about 0.2 s and 70 MiB in a release
//! build (`scripts/photo-compare.sh`, `benches/photo.rs`).

use std::fmt;
use std::io::Cursor;

use fast_image_resize as fir;
use fieldloop_core::ErrorCode;
use image::{
    DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, metadata::Orientation,
};

use crate::blobs::{BlobError, BlobId, BlobStore};

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

    fn image_format(self) -> ImageFormat {
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
    /// More pixels than [`PhotoLimits::max_pixels`].
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
    /// Decoding would need more memory than [`PhotoLimits::max_decode_bytes`].
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

/// When the photo was taken, as the camera's EXIF says (the camera's clock,
/// in its local time; the UTC offset only when the camera recorded one).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TakenAt {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month, 1–12.
    pub month: u8,
    /// Day of month, 1–31.
    pub day: u8,
    /// Hour, 0–23.
    pub hour: u8,
    /// Minute, 0–59.
    pub minute: u8,
    /// Second, 0–60.
    pub second: u8,
    /// Offset of the local time from UTC in minutes (EXIF OffsetTimeOriginal).
    pub offset_minutes: Option<i16>,
}

impl TakenAt {
    /// The naive local time, `YYYY-MM-DDTHH:MM:SS`.
    pub fn naive_local(&self) -> String {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

impl fmt::Display for TakenAt {
    /// ISO 8601: the naive local time, followed by `±HH:MM` when the offset
    /// is known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.naive_local())?;
        if let Some(offset) = self.offset_minutes {
            let sign = if offset < 0 { '-' } else { '+' };
            let abs = offset.unsigned_abs();
            write!(f, "{sign}{:02}:{:02}", abs / 60, abs % 60)?;
        }
        Ok(())
    }
}

/// Where the photo was taken, as the camera's EXIF GPS says (WGS 84).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GpsPosition {
    /// Degrees, north positive.
    pub latitude: f64,
    /// Degrees, east positive.
    pub longitude: f64,
    /// Metres above sea level, negative below.
    pub altitude_m: Option<f64>,
}

/// A JPEG derived from the original photo.
#[derive(Clone, PartialEq, Eq)]
pub struct DerivedJpeg {
    /// The JPEG file.
    pub jpeg: Vec<u8>,
    /// SHA-256 of `jpeg` (its blob id).
    pub sha256: BlobId,
    /// Width in pixels (orientation applied).
    pub width: u32,
    /// Height in pixels (orientation applied).
    pub height: u32,
}

impl fmt::Debug for DerivedJpeg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DerivedJpeg")
            .field("jpeg", &format_args!("{} bytes", self.jpeg.len()))
            .field("sha256", &self.sha256)
            .field("width", &self.width)
            .field("height", &self.height)
            .finish()
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

    let decoded =
        DynamicImage::from_decoder(decoder).map_err(|e| map_image_error(e, format, limits))?;
    let full = Pixels::from_image(decoded);

    let (dw, dh) = fit_within(full.width, full.height, DISPLAY_LONG_SIDE);
    let display = full.resized(dw, dh)?;
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

fn map_image_error(err: ImageError, format: PhotoFormat, limits: &PhotoLimits) -> PhotoError {
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

/// The largest size that fits in `long_side` × `long_side` with the same
/// aspect ratio, never larger than the input.
fn fit_within(width: u32, height: u32, long_side: u32) -> (u32, u32) {
    let long = width.max(height);
    if long <= long_side {
        return (width, height);
    }
    let scale = |side: u32| -> u32 {
        let scaled =
            (u64::from(side) * u64::from(long_side) + u64::from(long) / 2) / u64::from(long);
        u32::try_from(scaled)
            .unwrap_or(long_side)
            .clamp(1, long_side)
    };
    if width >= height {
        (long_side, scale(height))
    } else {
        (scale(width), long_side)
    }
}

/// Whether a pixel buffer is grey or colour (8 bits per sample, no alpha).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Channels {
    Luma,
    Rgb,
}

/// An 8-bit image without alpha: what the resizer and the encoder take.
struct Pixels {
    buf: Vec<u8>,
    width: u32,
    height: u32,
    channels: Channels,
}

impl Pixels {
    /// Converts any decoded image to 8-bit grey or RGB, in place where the
    /// decoder already produced 8 bits (the usual case: no second buffer).
    /// Transparency is flattened onto white.
    fn from_image(image: DynamicImage) -> Pixels {
        let (width, height) = (image.width(), image.height());
        let (buf, channels) = match image {
            DynamicImage::ImageRgb8(img) => (img.into_raw(), Channels::Rgb),
            DynamicImage::ImageLuma8(img) => (img.into_raw(), Channels::Luma),
            DynamicImage::ImageRgba8(img) => (flatten_alpha::<4>(img.into_raw()), Channels::Rgb),
            DynamicImage::ImageLumaA8(img) => (flatten_alpha::<2>(img.into_raw()), Channels::Luma),
            DynamicImage::ImageLuma16(_) => (image.into_luma8().into_raw(), Channels::Luma),
            other if other.color().has_alpha() => (
                flatten_alpha::<4>(other.into_rgba8().into_raw()),
                Channels::Rgb,
            ),
            other => (other.into_rgb8().into_raw(), Channels::Rgb),
        };
        Pixels {
            buf,
            width,
            height,
            channels,
        }
    }

    fn pixel_type(&self) -> fir::PixelType {
        match self.channels {
            Channels::Luma => fir::PixelType::U8,
            Channels::Rgb => fir::PixelType::U8x3,
        }
    }

    /// Resizes to `width` × `height`, consuming `self` (a no-op when the size
    /// is unchanged).
    fn resized(self, width: u32, height: u32) -> Result<Pixels, PhotoError> {
        if (width, height) == (self.width, self.height) {
            return Ok(self);
        }
        self.clone_resized(width, height)
    }

    /// A resized copy.
    fn clone_resized(&self, width: u32, height: u32) -> Result<Pixels, PhotoError> {
        if (width, height) == (self.width, self.height) {
            return Ok(Pixels {
                buf: self.buf.clone(),
                width,
                height,
                channels: self.channels,
            });
        }
        let pixel_type = self.pixel_type();
        let src = fir::images::ImageRef::new(self.width, self.height, &self.buf, pixel_type)
            .map_err(|e| PhotoError::Derive(e.to_string()))?;
        let mut dst = fir::images::Image::new(width, height, pixel_type);
        let options = fir::ResizeOptions::new()
            .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
        fir::Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| PhotoError::Derive(e.to_string()))?;
        Ok(Pixels {
            buf: dst.into_vec(),
            width,
            height,
            channels: self.channels,
        })
    }

    fn oriented(self, orientation: Orientation) -> Result<Pixels, PhotoError> {
        if orientation == Orientation::NoTransforms {
            return Ok(self);
        }
        let channels = self.channels;
        let image = match channels {
            Channels::Luma => image::GrayImage::from_raw(self.width, self.height, self.buf)
                .map(DynamicImage::ImageLuma8),
            Channels::Rgb => image::RgbImage::from_raw(self.width, self.height, self.buf)
                .map(DynamicImage::ImageRgb8),
        };
        let mut image =
            image.ok_or_else(|| PhotoError::Derive("pixel buffer of the wrong size".into()))?;
        image.apply_orientation(orientation);
        let (width, height) = (image.width(), image.height());
        Ok(Pixels {
            buf: image.into_bytes(),
            width,
            height,
            channels,
        })
    }

    fn encode_jpeg(self, quality: u8) -> Result<DerivedJpeg, PhotoError> {
        let derive = |e: &dyn fmt::Display| PhotoError::Derive(e.to_string());
        let color = match self.channels {
            Channels::Luma => jpeg_encoder::ColorType::Luma,
            Channels::Rgb => jpeg_encoder::ColorType::Rgb,
        };
        let width = u16::try_from(self.width).map_err(|e| derive(&e))?;
        let height = u16::try_from(self.height).map_err(|e| derive(&e))?;
        let mut jpeg = Vec::with_capacity(self.buf.len() / 8);
        let mut encoder = jpeg_encoder::Encoder::new(&mut jpeg, quality);
        // 4:2:0 with averaged chroma, as libjpeg and camera firmware do:
        // about a third smaller than 4:4:4 at the same quality.
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::R_4_2_0);
        encoder.set_chroma_subsampling_method(jpeg_encoder::ChromaSubsamplingMethod::Average);
        encoder
            .encode(&self.buf, width, height, color)
            .map_err(|e| derive(&e))?;
        Ok(DerivedJpeg {
            sha256: BlobId::of(&jpeg),
            jpeg,
            width: self.width,
            height: self.height,
        })
    }
}

/// Drops the alpha channel of `N`-sample pixels (grey+alpha or RGBA),
/// blending onto white, in the same buffer.
fn flatten_alpha<const N: usize>(mut buf: Vec<u8>) -> Vec<u8> {
    let colour = N - 1;
    let pixels = buf.len() / N;
    for i in 0..pixels {
        let alpha = u32::from(buf[i * N + colour]);
        for c in 0..colour {
            let v = u32::from(buf[i * N + c]);
            let blended = (v * alpha + 255 * (255 - alpha) + 127) / 255;
            // Writes land at or before the pixel being read: safe in place.
            buf[i * colour + c] = u8::try_from(blended).unwrap_or(u8::MAX);
        }
    }
    buf.truncate(pixels * colour);
    buf
}

/// Checks that a JPEG's segments are complete up to its end-of-image marker.
/// Data after the marker (some cameras append previews) is allowed.
fn check_jpeg_complete(data: &[u8]) -> Result<(), &'static str> {
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

fn read_exif(bytes: &[u8]) -> Option<exif::Exif> {
    // A photo with damaged EXIF is still evidence: read what is there.
    match exif::Reader::new()
        .continue_on_error(true)
        .read_from_container(&mut Cursor::new(bytes))
    {
        Ok(exif) => Some(exif),
        Err(err) => err.distill_partial_result(|_| ()).ok(),
    }
}

fn field(exif: &exif::Exif, tag: exif::Tag) -> Option<&exif::Value> {
    exif.get_field(tag, exif::In::PRIMARY).map(|f| &f.value)
}

fn ascii(exif: &exif::Exif, tag: exif::Tag) -> Option<&[u8]> {
    match field(exif, tag)? {
        exif::Value::Ascii(values) => values.first().map(Vec::as_slice),
        _ => None,
    }
}

fn orientation(exif: &exif::Exif) -> Option<u8> {
    let value = field(exif, exif::Tag::Orientation)?.get_uint(0)?;
    u8::try_from(value).ok().filter(|v| (1..=8).contains(v))
}

fn taken_at(exif: &exif::Exif) -> Option<TakenAt> {
    use exif::Tag;
    [
        (Tag::DateTimeOriginal, Tag::OffsetTimeOriginal),
        (Tag::DateTimeDigitized, Tag::OffsetTimeDigitized),
    ]
    .into_iter()
    .find_map(|(time_tag, offset_tag)| {
        let mut dt = exif::DateTime::from_ascii(ascii(exif, time_tag)?).ok()?;
        if let Some(offset) = ascii(exif, offset_tag) {
            // A malformed offset leaves it unknown; the time stays valid.
            let _ = dt.parse_offset(offset);
        }
        // A real calendar day and time of day (no 31 February); a leap second counts.
        let valid = (1..=9999).contains(&dt.year)
            && chrono::NaiveDate::from_ymd_opt(
                i32::from(dt.year),
                u32::from(dt.month),
                u32::from(dt.day),
            )
            .is_some()
            && chrono::NaiveTime::from_hms_opt(
                u32::from(dt.hour),
                u32::from(dt.minute),
                u32::from(dt.second.min(59)),
            )
            .is_some()
            && dt.second <= 60;
        valid.then_some(TakenAt {
            year: dt.year,
            month: dt.month,
            day: dt.day,
            hour: dt.hour,
            minute: dt.minute,
            second: dt.second,
            offset_minutes: dt.offset.filter(|o| o.abs() <= 18 * 60),
        })
    })
}

/// Degrees from an EXIF degrees/minutes/seconds triple (or fewer parts).
fn degrees(value: &exif::Value) -> Option<f64> {
    let exif::Value::Rational(parts) = value else {
        return None;
    };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|r| r.denom == 0) {
        return None;
    }
    let total = parts
        .iter()
        .zip([1.0, 60.0, 3600.0])
        .map(|(r, unit)| r.to_f64() / unit)
        .sum::<f64>();
    total.is_finite().then_some(total)
}

fn gps(exif: &exif::Exif) -> Option<GpsPosition> {
    use exif::Tag;
    let signed = |value_tag, ref_tag, positive: u8, negative: u8, max: f64| -> Option<f64> {
        let magnitude = degrees(field(exif, value_tag)?)?;
        // Without its reference the hemisphere is unknown: no position.
        let sign = match ascii(exif, ref_tag)?.first()?.to_ascii_uppercase() {
            r if r == positive => 1.0,
            r if r == negative => -1.0,
            _ => return None,
        };
        (magnitude <= max).then_some(sign * magnitude)
    };
    let latitude = signed(Tag::GPSLatitude, Tag::GPSLatitudeRef, b'N', b'S', 90.0)?;
    let longitude = signed(Tag::GPSLongitude, Tag::GPSLongitudeRef, b'E', b'W', 180.0)?;
    let altitude_m = field(exif, Tag::GPSAltitude).and_then(|v| match v {
        exif::Value::Rational(r) if r.first().is_some_and(|r| r.denom != 0) => {
            let metres = r[0].to_f64();
            let below = field(exif, Tag::GPSAltitudeRef).and_then(|v| v.get_uint(0)) == Some(1);
            Some(if below { -metres } else { metres })
        }
        _ => None,
    });
    Some(GpsPosition {
        latitude,
        longitude,
        altitude_m,
    })
}

/// The camera's EXIF time in milliseconds since the epoch. Without a
/// recorded offset the camera is taken to be on China Standard Time (UTC+8).
pub fn camera_time_millis(t: TakenAt) -> Option<fieldloop_core::Millis> {
    let date = chrono::NaiveDate::from_ymd_opt(t.year.into(), t.month.into(), t.day.into())?;
    let local = date.and_hms_opt(t.hour.into(), t.minute.into(), t.second.min(59).into())?;
    let offset_minutes = i64::from(t.offset_minutes.unwrap_or(8 * 60));
    Some((local.and_utc().timestamp() - offset_minutes * 60) * 1000)
}

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fit_within_keeps_aspect_and_never_upscales() {
        assert_eq!(fit_within(4000, 3000, 2048), (2048, 1536));
        assert_eq!(fit_within(3000, 4000, 2048), (1536, 2048));
        assert_eq!(fit_within(2048, 10, 2048), (2048, 10));
        assert_eq!(fit_within(100, 50, 2048), (100, 50));
        assert_eq!(fit_within(10000, 1, 320), (320, 1));
        assert_eq!(fit_within(2048, 1536, 320), (320, 240));
    }

    #[test]
    fn flatten_alpha_blends_onto_white() {
        let rgba = vec![255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128];
        assert_eq!(
            flatten_alpha::<4>(rgba),
            vec![255, 0, 0, 255, 255, 255, 127, 127, 127]
        );
        let la = vec![0, 255, 0, 0];
        assert_eq!(flatten_alpha::<2>(la), vec![0, 255]);
    }

    #[test]
    fn jpeg_structure_check() {
        // SOI, APP0 (len 4), SOS (len 3) + data with stuffing and RST, EOI.
        let ok = [
            0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xDA, 0x00, 0x03, 0x00, 0x12,
            0xFF, 0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9,
        ];
        assert_eq!(check_jpeg_complete(&ok), Ok(()));
        let mut trailing = ok.to_vec();
        trailing.extend_from_slice(b"camera trailer");
        assert_eq!(check_jpeg_complete(&trailing), Ok(()));
        for cut in 0..ok.len() - 1 {
            assert!(check_jpeg_complete(&ok[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn taken_at_formats_as_iso_8601() {
        let t = TakenAt {
            year: 2026,
            month: 3,
            day: 7,
            hour: 9,
            minute: 5,
            second: 1,
            offset_minutes: Some(480),
        };
        assert_eq!(t.naive_local(), "2026-03-07T09:05:01");
        assert_eq!(t.to_string(), "2026-03-07T09:05:01+08:00");
        let west = TakenAt {
            offset_minutes: Some(-150),
            ..t
        };
        assert_eq!(west.to_string(), "2026-03-07T09:05:01-02:30");
    }

    #[test]
    fn error_codes_are_stable() {
        assert_eq!(PhotoError::Empty.code(), "photo.empty");
        assert_eq!(
            PhotoError::Unsupported { detected: None }.code(),
            "photo.unsupported"
        );
        assert_eq!(
            PhotoError::TooMuchMemory { max_bytes: 1 }.code(),
            "photo.too_large"
        );
        let store = PhotoError::from(BlobError::NotFound(BlobId::of(b"")));
        assert_eq!(store.code(), "blob.not_found");
    }
}
