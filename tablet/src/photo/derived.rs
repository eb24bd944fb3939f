//! The derived images: sizes, resizing, orientation and JPEG encoding.

use std::fmt;

use fast_image_resize as fir;
use image::{DynamicImage, metadata::Orientation};

use super::PhotoError;
use crate::blobs::BlobId;

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

/// The largest size that fits in `long_side` × `long_side` with the same
/// aspect ratio, never larger than the input.
pub(super) fn fit_within(width: u32, height: u32, long_side: u32) -> (u32, u32) {
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
pub(super) struct Pixels {
    buf: Vec<u8>,
    pub(super) width: u32,
    pub(super) height: u32,
    channels: Channels,
}

impl Pixels {
    /// Converts any decoded image to 8-bit grey or RGB, in place where the
    /// decoder already produced 8 bits (the usual case: no second buffer).
    /// Transparency is flattened onto white.
    pub(super) fn from_image(image: DynamicImage) -> Pixels {
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

    /// An RGB buffer (3 bytes a pixel, rows without padding).
    pub(super) fn rgb(buf: Vec<u8>, width: u32, height: u32) -> Pixels {
        Pixels {
            buf,
            width,
            height,
            channels: Channels::Rgb,
        }
    }

    /// A grey buffer (1 byte a pixel, rows without padding).
    pub(super) fn luma(buf: Vec<u8>, width: u32, height: u32) -> Pixels {
        Pixels {
            buf,
            width,
            height,
            channels: Channels::Luma,
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
    pub(super) fn resized(self, width: u32, height: u32) -> Result<Pixels, PhotoError> {
        if (width, height) == (self.width, self.height) {
            return Ok(self);
        }
        self.clone_resized(width, height)
    }

    /// A resized copy.
    pub(super) fn clone_resized(&self, width: u32, height: u32) -> Result<Pixels, PhotoError> {
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

    pub(super) fn oriented(self, orientation: Orientation) -> Result<Pixels, PhotoError> {
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

    /// Encodes with libjpeg-turbo (SIMD), with 4:2:0 chroma for colour as
    /// cameras do: about a third smaller than 4:4:4 at the same quality.
    pub(super) fn encode_jpeg(self, quality: u8) -> Result<DerivedJpeg, PhotoError> {
        let derive = |e: &dyn fmt::Display| PhotoError::Derive(e.to_string());
        let (format, subsamp, samples) = match self.channels {
            Channels::Luma => (turbojpeg::PixelFormat::GRAY, turbojpeg::Subsamp::Gray, 1),
            Channels::Rgb => (turbojpeg::PixelFormat::RGB, turbojpeg::Subsamp::Sub2x2, 3),
        };
        let width = usize::try_from(self.width).map_err(|e| derive(&e))?;
        let height = usize::try_from(self.height).map_err(|e| derive(&e))?;
        if self.buf.len() != width * height * samples {
            return Err(derive(&"pixel buffer of the wrong size"));
        }
        let mut compressor = turbojpeg::Compressor::new().map_err(|e| derive(&e))?;
        compressor
            .set_quality(i32::from(quality))
            .map_err(|e| derive(&e))?;
        compressor.set_subsamp(subsamp).map_err(|e| derive(&e))?;
        let jpeg = compressor
            .compress_to_vec(turbojpeg::Image {
                pixels: self.buf.as_slice(),
                width,
                pitch: width * samples,
                height,
                format,
            })
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
pub(super) fn flatten_alpha<const N: usize>(mut buf: Vec<u8>) -> Vec<u8> {
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
