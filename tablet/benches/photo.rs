//! Benchmark of the evidence photo pipeline on a 12-megapixel camera photo.
//!
//! The input is generated once into a temporary folder: a 4000×3000 picture
//! of gradients and noise (so it compresses like a real photo, not like flat
//! colour), JPEG quality 90, about 3–5 MB. `scripts/photo-compare.sh` puts
//! the same job side by side with vipsthumbnail and ImageMagick.

#![allow(clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fieldloop_tablet::blobs::BlobStore;
use fieldloop_tablet::photo::{PhotoLimits, process_photo, store_photo};
use image::{ImageEncoder, Rgb, RgbImage};

/// A camera-like 4000×3000 JPEG, written to (and read back from) a temp file.
fn camera_jpeg() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("camera-4000x3000.jpg");
    let (w, h) = (4000u32, 3000u32);
    let mut state = 0x9E37_79B9_7F4A_7C15_u64;
    let mut noise = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        i32::from((state >> 56) as u8) / 12 - 10
    };
    let image = RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let wave = ((fx * 23.0).sin() * (fy * 17.0).cos() * 40.0) as i32;
        let base = [
            (fx * 180.0) as i32 + 40 + wave,
            (fy * 160.0) as i32 + 50 - wave / 2,
            ((1.0 - fx) * 120.0 + fy * 60.0) as i32 + 30,
        ];
        Rgb(base.map(|c| (c + noise()).clamp(0, 255) as u8))
    });
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
        .write_image(image.as_raw(), w, h, image::ExtendedColorType::Rgb8)
        .unwrap();
    std::fs::write(&path, &jpeg).unwrap();
    std::fs::read(&path).unwrap()
}

fn bench_photo(c: &mut Criterion) {
    let jpeg = camera_jpeg();
    eprintln!("input: 4000×3000 JPEG, {} bytes", jpeg.len());
    let limits = PhotoLimits::default();
    let mut group = c.benchmark_group("photo");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(jpeg.len() as u64));
    group.bench_function("process_photo_4000x3000_jpeg", |b| {
        b.iter(|| process_photo(black_box(&jpeg), &limits).unwrap())
    });
    // The whole pipeline into the evidence folder (three blobs written and
    // made durable), encrypted as the app keeps them and plain, side by side.
    let key = fieldloop_tablet::keystore::DataKey::random();
    for (name, encrypted) in [
        ("store_photo_encrypted", true),
        ("store_photo_plain", false),
    ] {
        group.bench_function(name, |b| {
            b.iter_batched(
                || {
                    let dir = tempfile::tempdir().unwrap();
                    let blobs = if encrypted {
                        BlobStore::open_with_key(dir.path(), &key).unwrap()
                    } else {
                        BlobStore::open(dir.path()).unwrap()
                    };
                    (dir, blobs)
                },
                |(dir, blobs)| {
                    store_photo(&blobs, black_box(&jpeg), &limits).unwrap();
                    dir
                },
                criterion::BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, bench_photo);
criterion_main!(benches);
