#![allow(clippy::unwrap_used)]

use super::decode::check_jpeg_complete;
use super::derived::{fit_within, flatten_alpha};
use super::jpeg::scale_for;
use super::{PhotoError, TakenAt};
use crate::blobs::{BlobError, BlobId};

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
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0xFF, 0xDA, 0x00, 0x03, 0x00, 0x12, 0xFF,
        0x00, 0x34, 0xFF, 0xD0, 0x56, 0xFF, 0xD9,
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

#[test]
fn the_dct_scale_is_the_smallest_that_covers_the_display_size() {
    let scale = |w, h| {
        let f = scale_for(w, h, 2048);
        (f.num(), f.denom())
    };
    assert_eq!(scale(4000, 3000), (5, 8)); // 2500×1875
    assert_eq!(scale(3000, 4000), (5, 8));
    assert_eq!(scale(6000, 4000), (3, 8)); // 2250×1500
    assert_eq!(scale(16000, 900), (1, 4)); // 4000×225
    assert_eq!(scale(16384, 16384), (1, 8)); // 2048×2048
    assert_eq!(scale(2049, 1000), (1, 1)); // 7/8 would be 1793
    assert_eq!(scale(2048, 1536), (1, 1));
    assert_eq!(scale(640, 480), (1, 1));
}

#[test]
fn a_camera_jpeg_is_decoded_at_five_eighths_never_at_full_size() {
    let image = image::RgbImage::from_fn(4000, 3000, |x, y| {
        image::Rgb([(x / 16) as u8, (y / 12) as u8, 90])
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .encode_image(&image)
        .unwrap();
    let scaled = super::jpeg::decode_scaled(&jpeg, 2048, &super::PhotoLimits::default()).unwrap();
    assert_eq!((scaled.full_width, scaled.full_height), (4000, 3000));
    assert_eq!((scaled.pixels.width, scaled.pixels.height), (2500, 1875));
    // A buffer that would not fit the limit is not decoded this way.
    let tight = super::PhotoLimits {
        max_decode_bytes: 2500 * 1875 * 3 - 1,
        ..super::PhotoLimits::default()
    };
    assert!(super::jpeg::decode_scaled(&jpeg, 2048, &tight).is_none());
    // Not a JPEG libjpeg-turbo can read: left to the caller.
    assert!(super::jpeg::decode_scaled(b"\xFF\xD8 not really", 2048, &tight).is_none());
}
