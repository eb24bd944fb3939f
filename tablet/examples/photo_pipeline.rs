//! Runs the evidence photo pipeline on one file, as `scripts/photo-compare.sh`
//! measures it: reads the photo, derives the display copy and the thumbnail,
//! writes them to `OUT_DIR/display.jpg` and `OUT_DIR/thumb.jpg`, and prints
//! the original's SHA-256 and the sizes.
//!
//! Usage: `cargo run --release -p fieldloop-tablet --example photo_pipeline -- PHOTO OUT_DIR`

use std::path::PathBuf;
use std::process::ExitCode;

use fieldloop_tablet::photo::{PhotoLimits, process_photo};

fn main() -> ExitCode {
    let args: Vec<PathBuf> = std::env::args_os().skip(1).map(PathBuf::from).collect();
    let [photo, out_dir] = args.as_slice() else {
        eprintln!("usage: photo_pipeline PHOTO OUT_DIR");
        return ExitCode::from(2);
    };
    match run(photo, out_dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("photo_pipeline: {err}");
            ExitCode::FAILURE
        }
    }
}

fn run(photo: &PathBuf, out_dir: &PathBuf) -> Result<(), Box<dyn std::error::Error>> {
    let bytes = std::fs::read(photo)?;
    let processed = process_photo(&bytes, &PhotoLimits::default())
        .map_err(|e| format!("{} ({})", e, e.code()))?;
    drop(bytes);
    std::fs::create_dir_all(out_dir)?;
    std::fs::write(out_dir.join("display.jpg"), &processed.display.jpeg)?;
    std::fs::write(out_dir.join("thumb.jpg"), &processed.thumbnail.jpeg)?;
    println!(
        "{}  {}x{}  display {}x{} ({} bytes)  thumb {}x{} ({} bytes)",
        processed.original_sha256,
        processed.width,
        processed.height,
        processed.display.width,
        processed.display.height,
        processed.display.jpeg.len(),
        processed.thumbnail.width,
        processed.thumbnail.height,
        processed.thumbnail.jpeg.len(),
    );
    Ok(())
}
