//! The evidence photo pipeline, end to end: formats, orientation, EXIF,
//! size bounds, and the refusals (corrupt, unsupported, bombs) that must
//! leave the blob store untouched.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use exif::{Field, In, Rational, Tag, Value};
use fieldloop_tablet::blobs::{BlobId, BlobStore};
use fieldloop_tablet::photo::{
    PhotoError, PhotoLimits, ProcessedPhoto, process_photo, store_photo,
};
use image::{ImageEncoder, Rgb, RgbImage};

const TESTDATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata");

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(TESTDATA).join(name)).unwrap()
}

/// A smooth colour picture (compresses like a photo, unlike flat colour).
fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        Rgb([
            (x * 255 / width.max(1)) as u8,
            (y * 255 / height.max(1)) as u8,
            ((x + y) % 64 * 4) as u8,
        ])
    })
}

/// A grey picture with a red 10×10 block in the stored top-left corner.
fn marked(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        if x < 10 && y < 10 {
            Rgb([255, 0, 0])
        } else {
            Rgb([128, 128, 128])
        }
    })
}

fn jpeg(image: &RgbImage, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif).unwrap();
    }
    encoder
        .write_image(
            image.as_raw(),
            image.width(),
            image.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
    out
}

fn encode(image: impl Into<image::DynamicImage>, format: image::ImageFormat) -> Vec<u8> {
    let mut out = Vec::new();
    image
        .into()
        .write_to(&mut Cursor::new(&mut out), format)
        .unwrap();
    out
}

fn png(image: &RgbImage) -> Vec<u8> {
    encode(image.clone(), image::ImageFormat::Png)
}

/// An EXIF (TIFF) block, as a camera writes after the `Exif\0\0` header.
fn exif_block(fields: &[Field]) -> Vec<u8> {
    let mut writer = exif::experimental::Writer::new();
    for field in fields {
        writer.push_field(field);
    }
    let mut out = Cursor::new(Vec::new());
    writer.write(&mut out, false).unwrap();
    out.into_inner()
}

fn field(tag: Tag, value: Value) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value,
    }
}

fn ascii(text: &str) -> Value {
    Value::Ascii(vec![text.as_bytes().to_vec()])
}

fn rationals(parts: &[(u32, u32)]) -> Value {
    Value::Rational(
        parts
            .iter()
            .map(|&(num, denom)| Rational { num, denom })
            .collect(),
    )
}

fn decode(jpeg: &[u8]) -> RgbImage {
    assert_eq!(
        image::guess_format(jpeg).unwrap(),
        image::ImageFormat::Jpeg,
        "derived images are JPEG"
    );
    image::load_from_memory(jpeg).unwrap().to_rgb8()
}

fn process(bytes: &[u8]) -> ProcessedPhoto {
    process_photo(bytes, &PhotoLimits::default()).unwrap()
}

fn long_side(w: u32, h: u32) -> u32 {
    w.max(h)
}

/// Checks the derived images against their declared sizes and hashes.
fn check_derived(photo: &ProcessedPhoto) {
    for derived in [&photo.display, &photo.thumbnail] {
        assert_eq!(derived.sha256, BlobId::of(&derived.jpeg));
        let image = decode(&derived.jpeg);
        assert_eq!(image.dimensions(), (derived.width, derived.height));
    }
    assert!(long_side(photo.display.width, photo.display.height) <= 2048);
    assert!(long_side(photo.thumbnail.width, photo.thumbnail.height) <= 320);
    assert!(photo.display.width <= photo.width && photo.display.height <= photo.height);
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}

fn is_red(p: &Rgb<u8>) -> bool {
    p[0] > 180 && p[1] < 80 && p[2] < 80
}

fn is_blue(p: &Rgb<u8>) -> bool {
    p[2] > 180 && p[0] < 80 && p[1] < 80
}

#[test]
fn jpeg_is_accepted_with_its_dimensions() {
    let bytes = jpeg(&picture(640, 480), None);
    let photo = process(&bytes);
    assert_eq!(photo.mime, "image/jpeg");
    assert_eq!((photo.width, photo.height), (640, 480));
    assert_eq!(photo.original_sha256, BlobId::of(&bytes));
    assert_eq!(photo.original_len, bytes.len() as u64);
    assert_eq!(photo.exif_orientation, 1);
    assert_eq!((photo.display.width, photo.display.height), (640, 480));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (320, 240));
    assert_eq!(photo.taken_at, None);
    assert_eq!(photo.gps, None);
    check_derived(&photo);
}

#[test]
fn png_is_accepted_with_its_dimensions() {
    let photo = process(&png(&picture(300, 200)));
    assert_eq!(photo.mime, "image/png");
    assert_eq!((photo.width, photo.height), (300, 200));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (300, 200));
    check_derived(&photo);
}

#[test]
fn webp_is_accepted_with_its_dimensions() {
    let photo = process(&encode(picture(500, 250), image::ImageFormat::WebP));
    assert_eq!(photo.mime, "image/webp");
    assert_eq!((photo.width, photo.height), (500, 250));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (320, 160));
    check_derived(&photo);
}

#[test]
fn big_landscape_is_bounded_to_2048_and_320() {
    let photo = process(&jpeg(&picture(3000, 1200), None));
    assert_eq!((photo.width, photo.height), (3000, 1200));
    assert_eq!((photo.display.width, photo.display.height), (2048, 819));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (320, 128));
    check_derived(&photo);
    // The resize keeps the picture: the gradient still runs left to right.
    let display = decode(&photo.display.jpeg);
    assert!(display.get_pixel(10, 400)[0] < 30);
    assert!(display.get_pixel(2037, 400)[0] > 225);
}

#[test]
fn big_portrait_is_bounded_to_2048_and_320() {
    let photo = process(&png(&picture(1200, 3000)));
    assert_eq!((photo.display.width, photo.display.height), (819, 2048));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (128, 320));
    check_derived(&photo);
}

#[test]
fn small_images_are_not_upscaled() {
    for (w, h) in [(50, 30), (1, 1), (320, 320), (2048, 16)] {
        let photo = process(&png(&picture(w, h)));
        assert_eq!((photo.display.width, photo.display.height), (w, h));
        let (tw, th) = (photo.thumbnail.width, photo.thumbnail.height);
        assert!(tw <= w && th <= h, "{w}×{h} gave a {tw}×{th} thumbnail");
        check_derived(&photo);
    }
}

#[test]
fn exif_orientation_6_rotates_and_swaps_dimensions() {
    let exif = exif_block(&[field(Tag::Orientation, Value::Short(vec![6]))]);
    let bytes = jpeg(&marked(60, 40), Some(exif));
    let photo = process(&bytes);
    assert_eq!(photo.exif_orientation, 6);
    assert_eq!((photo.width, photo.height), (40, 60));
    assert_eq!((photo.display.width, photo.display.height), (40, 60));
    check_derived(&photo);
    // Rotating 90° clockwise moves the stored top-left corner to the top right.
    let display = decode(&photo.display.jpeg);
    assert!(
        is_red(display.get_pixel(35, 4)),
        "{:?}",
        display.get_pixel(35, 4)
    );
    assert!(!is_red(display.get_pixel(4, 4)));
}

#[test]
fn every_exif_orientation_puts_the_corner_where_it_belongs() {
    // Where the stored top-left corner must be seen, for orientations 1–8.
    let expected = [
        (1, "top-left"),
        (2, "top-right"),
        (3, "bottom-right"),
        (4, "bottom-left"),
        (5, "top-left"),
        (6, "top-right"),
        (7, "bottom-right"),
        (8, "bottom-left"),
    ];
    for (orientation, corner) in expected {
        let exif = exif_block(&[field(Tag::Orientation, Value::Short(vec![orientation]))]);
        let photo = process(&jpeg(&marked(60, 40), Some(exif)));
        let swapped = orientation >= 5;
        let (w, h) = if swapped { (40, 60) } else { (60, 40) };
        assert_eq!(
            (photo.width, photo.height),
            (w, h),
            "orientation {orientation}"
        );
        for derived in [&photo.display, &photo.thumbnail] {
            let image = decode(&derived.jpeg);
            assert_eq!(image.dimensions(), (w, h));
            let (x, y) = match corner {
                "top-left" => (4, 4),
                "top-right" => (w - 5, 4),
                "bottom-right" => (w - 5, h - 5),
                _ => (4, h - 5),
            };
            assert!(
                is_red(image.get_pixel(x, y)),
                "orientation {orientation}: {corner}"
            );
        }
    }
}

#[test]
fn exif_time_and_gps_are_read() {
    let exif = exif_block(&[
        field(Tag::DateTimeOriginal, ascii("2026:05:17 10:42:07")),
        field(Tag::OffsetTimeOriginal, ascii("+08:00")),
        field(Tag::GPSLatitudeRef, ascii("N")),
        field(Tag::GPSLatitude, rationals(&[(22, 1), (32, 1), (504, 10)])),
        field(Tag::GPSLongitudeRef, ascii("E")),
        field(
            Tag::GPSLongitude,
            rationals(&[(114, 1), (3, 1), (3600, 100)]),
        ),
        field(Tag::GPSAltitudeRef, Value::Byte(vec![0])),
        field(Tag::GPSAltitude, rationals(&[(315, 10)])),
    ]);
    let photo = process(&jpeg(&picture(64, 48), Some(exif)));
    let taken = photo.taken_at.unwrap();
    assert_eq!(taken.to_string(), "2026-05-17T10:42:07+08:00");
    assert_eq!(taken.naive_local(), "2026-05-17T10:42:07");
    assert_eq!(taken.offset_minutes, Some(480));
    let gps = photo.gps.unwrap();
    assert!((gps.latitude - (22.0 + 32.0 / 60.0 + 50.4 / 3600.0)).abs() < 1e-9);
    assert!((gps.longitude - (114.0 + 3.0 / 60.0 + 36.0 / 3600.0)).abs() < 1e-9);
    assert_eq!(gps.altitude_m, Some(31.5));
}

#[test]
fn exif_time_without_offset_and_digitized_fallback() {
    let exif = exif_block(&[field(Tag::DateTimeDigitized, ascii("2025:12:31 23:59:59"))]);
    let taken = process(&jpeg(&picture(32, 32), Some(exif)))
        .taken_at
        .unwrap();
    assert_eq!(taken.to_string(), "2025-12-31T23:59:59");
    assert_eq!(taken.offset_minutes, None);
}

#[test]
fn invalid_exif_values_are_dropped_not_fatal() {
    let exif = exif_block(&[
        field(Tag::DateTimeOriginal, ascii("2026:13:40 25:00:00")),
        // Position without its hemisphere references: unknown, not guessed.
        field(Tag::GPSLatitude, rationals(&[(10, 1), (0, 1), (0, 1)])),
        field(Tag::GPSLongitude, rationals(&[(20, 1), (0, 1), (0, 1)])),
        field(Tag::Orientation, Value::Short(vec![9])),
    ]);
    let photo = process(&jpeg(&picture(32, 16), Some(exif)));
    assert_eq!(photo.taken_at, None);
    assert_eq!(photo.gps, None);
    assert_eq!(photo.exif_orientation, 1);
    assert_eq!((photo.width, photo.height), (32, 16));
}

#[test]
fn exiftool_jpeg_orientation_time_and_southwest_gps() {
    let photo = process(&fixture("orient6.jpg"));
    assert_eq!(photo.exif_orientation, 6);
    assert_eq!((photo.width, photo.height), (16, 32));
    let display = decode(&photo.display.jpeg);
    assert_eq!(display.dimensions(), (16, 32));
    // Stored left (red) is seen on top, stored right (blue) at the bottom.
    assert!(
        is_red(display.get_pixel(8, 4)),
        "{:?}",
        display.get_pixel(8, 4)
    );
    assert!(
        is_blue(display.get_pixel(8, 28)),
        "{:?}",
        display.get_pixel(8, 28)
    );
    assert_eq!(
        photo.taken_at.unwrap().to_string(),
        "2025-11-03T14:07:09+08:00"
    );
    let gps = photo.gps.unwrap();
    assert!((gps.latitude - -31.5).abs() < 1e-9, "{gps:?}");
    assert!((gps.longitude - -121.25).abs() < 1e-9, "{gps:?}");
    assert_eq!(gps.altitude_m, Some(-12.5));
}

#[test]
fn exiftool_png_time_and_gps() {
    let photo = process(&fixture("exif.png"));
    assert_eq!(photo.mime, "image/png");
    assert_eq!((photo.width, photo.height), (24, 12));
    assert_eq!(photo.taken_at.unwrap().to_string(), "2024-02-29T23:59:58");
    let gps = photo.gps.unwrap();
    assert!((gps.latitude - 39.9042).abs() < 1e-4, "{gps:?}");
    assert!((gps.longitude - 116.4074).abs() < 1e-4, "{gps:?}");
    check_derived(&photo);
}

#[test]
fn exiftool_webp_orientation_and_time() {
    let photo = process(&fixture("exif.webp"));
    assert_eq!(photo.mime, "image/webp");
    assert_eq!(photo.exif_orientation, 8);
    assert_eq!((photo.width, photo.height), (12, 24));
    assert_eq!(photo.taken_at.unwrap().to_string(), "2023-07-01T08:00:00");
    assert_eq!(photo.gps, None);
    check_derived(&photo);
}

fn assert_refused_and_nothing_stored(bytes: &[u8], code: &str) -> PhotoError {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().join("blobs")).unwrap();
    let err = store_photo(&store, bytes, &PhotoLimits::default()).unwrap_err();
    assert_eq!(err.code(), code, "{err}");
    assert!(
        files_under(store.root()).is_empty(),
        "nothing may be stored: {:?}",
        files_under(store.root())
    );
    let again = process_photo(bytes, &PhotoLimits::default()).unwrap_err();
    assert_eq!(again.code(), code);
    err
}

#[test]
fn truncated_jpeg_is_corrupt_and_nothing_is_stored() {
    let bytes = jpeg(&picture(400, 300), None);
    for keep in [bytes.len() / 2, bytes.len() - 2, 600] {
        let err = assert_refused_and_nothing_stored(&bytes[..keep], "photo.corrupt");
        assert!(err.to_string().contains("JPEG"), "{err}");
    }
}

#[test]
fn truncated_png_and_webp_are_corrupt() {
    let png = png(&picture(400, 300));
    assert_refused_and_nothing_stored(&png[..png.len() / 2], "photo.corrupt");
    let webp = encode(picture(400, 300), image::ImageFormat::WebP);
    assert_refused_and_nothing_stored(&webp[..webp.len() / 2], "photo.corrupt");
}

#[test]
fn a_jpeg_with_a_trailer_after_the_image_is_accepted() {
    let mut bytes = jpeg(&picture(64, 48), None);
    bytes.extend_from_slice(b"vendor trailer \xFF\xD8 with stray markers");
    assert_eq!(process(&bytes).width, 64);
}

#[test]
fn random_bytes_and_other_files_are_unsupported() {
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let random: Vec<u8> = (0..4096)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    assert_refused_and_nothing_stored(&random, "photo.unsupported");
    assert_refused_and_nothing_stored(b"%PDF-1.7 not a photo", "photo.unsupported");
    let gif = assert_refused_and_nothing_stored(b"GIF89a\x01\x00\x01\x00", "photo.unsupported");
    assert!(gif.to_string().contains("Gif"), "{gif}");
    assert_refused_and_nothing_stored(b"", "photo.empty");
}

/// CRC-32 (ISO-HDLC), as PNG chunks use.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A tiny valid PNG whose header then claims `width` × `height`.
fn png_bomb(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(&picture(8, 8));
    // Signature (8), IHDR length (4), "IHDR" (4), data (13), CRC (4).
    assert_eq!(&bytes[12..16], b"IHDR");
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

#[test]
fn png_bomb_is_rejected_from_its_header() {
    let bomb = png_bomb(20_000, 20_000);
    assert!(bomb.len() < 1024);
    let err = assert_refused_and_nothing_stored(&bomb, "photo.too_large");
    // With no memory limit at all, the refusal still comes from the header
    // check, not from a failed or bounded decode.
    let unbounded = PhotoLimits {
        max_decode_bytes: u64::MAX,
        ..PhotoLimits::default()
    };
    match process_photo(&bomb, &unbounded).unwrap_err() {
        PhotoError::TooLarge {
            width: 20_000,
            height: 20_000,
            max_pixels: 100_000_000,
        } => {}
        other => panic!("expected TooLarge from the header, got {other:?}"),
    }
    assert!(err.to_string().contains("20000×20000"), "{err}");
}

#[test]
fn jpeg_bomb_is_rejected_from_its_header() {
    let mut bytes = jpeg(&picture(16, 16), None);
    // Baseline start-of-frame: FF C0, length (2), precision (1), height, width.
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&60_000u16.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&60_000u16.to_be_bytes());
    let unbounded = PhotoLimits {
        max_decode_bytes: u64::MAX,
        ..PhotoLimits::default()
    };
    match process_photo(&bytes, &unbounded).unwrap_err() {
        PhotoError::TooLarge {
            width: 60_000,
            height: 60_000,
            ..
        } => {}
        other => panic!("expected TooLarge from the header, got {other:?}"),
    }
}

#[test]
fn limits_are_configurable() {
    let bytes = png(&picture(200, 100));
    let few_pixels = PhotoLimits {
        max_pixels: 19_999,
        ..PhotoLimits::default()
    };
    assert_eq!(
        process_photo(&bytes, &few_pixels).unwrap_err().code(),
        "photo.too_large"
    );
    let exact = PhotoLimits {
        max_pixels: 20_000,
        ..PhotoLimits::default()
    };
    assert!(process_photo(&bytes, &exact).is_ok());
    let little_memory = PhotoLimits {
        max_decode_bytes: 1000,
        ..PhotoLimits::default()
    };
    let err = process_photo(&bytes, &little_memory).unwrap_err();
    assert!(matches!(err, PhotoError::TooMuchMemory { .. }), "{err:?}");
    assert_eq!(err.code(), "photo.too_large");
}

#[test]
fn store_photo_stores_original_display_and_thumbnail() {
    let dir = tempfile::tempdir().unwrap();
    let store = BlobStore::open(dir.path().join("blobs")).unwrap();
    let bytes = jpeg(&picture(900, 700), None);
    let photo = store_photo(&store, &bytes, &PhotoLimits::default()).unwrap();
    assert_eq!(store.get(&photo.original_sha256).unwrap(), bytes);
    assert_eq!(
        store.get(&photo.display.sha256).unwrap(),
        photo.display.jpeg
    );
    assert_eq!(
        store.get(&photo.thumbnail.sha256).unwrap(),
        photo.thumbnail.jpeg
    );
    let blobs: Vec<_> = files_under(store.root());
    assert_eq!(blobs.len(), 3, "{blobs:?}");
    // Storing the same photo again adds nothing.
    store_photo(&store, &bytes, &PhotoLimits::default()).unwrap();
    assert_eq!(files_under(store.root()).len(), 3);
}

#[test]
fn processing_is_deterministic() {
    let bytes = jpeg(&picture(800, 600), None);
    let a = process(&bytes);
    let b = process(&bytes);
    assert_eq!(a, b);
}

#[test]
fn transparency_is_flattened_onto_white() {
    let rgba = image::RgbaImage::from_fn(40, 20, |x, _| {
        if x < 20 {
            image::Rgba([0, 0, 0, 0])
        } else {
            image::Rgba([0, 0, 255, 255])
        }
    });
    let photo = process(&encode(rgba, image::ImageFormat::Png));
    let display = decode(&photo.display.jpeg);
    let clear = display.get_pixel(5, 10);
    assert!(clear.0.iter().all(|&c| c > 240), "{clear:?}");
    assert!(is_blue(display.get_pixel(35, 10)));
}

#[test]
fn grey_and_16_bit_images_are_accepted() {
    let grey = image::GrayImage::from_fn(100, 60, |x, _| image::Luma([(x * 2) as u8]));
    let photo = process(&encode(grey.clone(), image::ImageFormat::Jpeg));
    assert_eq!((photo.width, photo.height), (100, 60));
    check_derived(&photo);
    let photo = process(&encode(grey, image::ImageFormat::Png));
    check_derived(&photo);

    let deep = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(70, 50, |x, y| {
        image::Rgb([(x * 900) as u16, (y * 1200) as u16, 40_000])
    });
    let photo = process(&encode(deep, image::ImageFormat::Png));
    assert_eq!((photo.width, photo.height), (70, 50));
    check_derived(&photo);
}

/// The mean absolute difference per sample between two images of one size.
fn mean_difference(a: &RgbImage, b: &RgbImage) -> f64 {
    assert_eq!(a.dimensions(), b.dimensions());
    let sum: u64 = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    sum as f64 / a.as_raw().len() as f64
}

#[test]
fn a_camera_sized_jpeg_is_decoded_at_reduced_scale_and_keeps_its_picture() {
    // 4000×3000, as a 12-megapixel camera writes it; the JPEG path decodes
    // it at 5/8 (2500×1875) and resizes to 2048×1536.
    let source = RgbImage::from_fn(4000, 3000, |x, y| {
        let wave = ((x as f32 / 4000.0 * 12.0).sin() * 90.0 + 128.0) as u8;
        Rgb([(x * 255 / 4000) as u8, (y * 255 / 3000) as u8, wave])
    });
    let photo = process(&jpeg(&source, None));
    assert_eq!((photo.width, photo.height), (4000, 3000));
    assert_eq!((photo.display.width, photo.display.height), (2048, 1536));
    assert_eq!((photo.thumbnail.width, photo.thumbnail.height), (320, 240));
    check_derived(&photo);
    // The same picture as resizing the full-size source straight to display
    // size, up to JPEG noise.
    let expected =
        image::imageops::resize(&source, 2048, 1536, image::imageops::FilterType::Triangle);
    let display = decode(&photo.display.jpeg);
    let diff = mean_difference(&display, &expected);
    assert!(diff < 3.0, "mean difference {diff:.2} per sample");
}

#[test]
fn every_dct_scale_gives_the_exact_display_size() {
    // Long sides just above 2048 and far above it, both orientations, odd
    // sizes: the scaled decode is resized to exactly what fit_within says.
    for (w, h, display) in [
        (2049, 1000, (2048, 1000)),
        (2600, 1950, (2048, 1536)),
        (4001, 2999, (2048, 1535)),
        (1999, 6000, (682, 2048)),
        (16000, 900, (2048, 115)),
    ] {
        let photo = process(&jpeg(&picture(w, h), None));
        assert_eq!((photo.width, photo.height), (w, h));
        assert_eq!(
            (photo.display.width, photo.display.height),
            display,
            "{w}×{h}"
        );
        check_derived(&photo);
    }
}

#[test]
fn a_big_grey_jpeg_stays_grey() {
    let grey = image::GrayImage::from_fn(3000, 2000, |x, _| image::Luma([(x / 12) as u8]));
    let photo = process(&encode(grey, image::ImageFormat::Jpeg));
    assert_eq!((photo.display.width, photo.display.height), (2048, 1365));
    check_derived(&photo);
    let display = decode(&photo.display.jpeg);
    let p = display.get_pixel(1024, 700);
    assert!(
        p[0].abs_diff(p[1]) <= 2 && p[1].abs_diff(p[2]) <= 2,
        "{p:?}"
    );
    assert!(display.get_pixel(10, 10)[0] < 10);
    assert!(display.get_pixel(2040, 10)[0] > 235);
}

#[test]
fn damaged_entropy_data_is_read_or_refused_never_a_panic() {
    let good = jpeg(&picture(2400, 1800), None);
    let sos = good.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let mut refused = 0;
    for step in 0..40usize {
        let mut bytes = good.clone();
        // Flip bytes inside the entropy-coded data, never the markers.
        let at = sos + 20 + step * (good.len() - sos - 40) / 40;
        bytes[at] ^= 0x5A;
        if good[at] == 0xFF || bytes[at] == 0xFF || bytes[at - 1] == 0xFF {
            continue;
        }
        match process_photo(&bytes, &PhotoLimits::default()) {
            Ok(photo) => {
                assert_eq!((photo.display.width, photo.display.height), (2048, 1536));
                check_derived(&photo);
            }
            Err(err) => {
                refused += 1;
                assert_eq!(err.code(), "photo.corrupt", "{err}");
            }
        }
    }
    assert!(refused < 40, "a damaged scan is decoded as far as it goes");
}
