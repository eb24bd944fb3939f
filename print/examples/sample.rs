//! Writes the sample 笔录 (60 items, 20 photos) and notice to a folder, to
//! look at the templates: `cargo run -p fieldloop-print --example sample -- OUT_DIR`.

use std::path::PathBuf;

use fieldloop_print::{Printer, sample};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".to_owned()));
    let printer = Printer::system()?;
    let started = std::time::Instant::now();
    let record = printer.inspection_record(&sample::record(60, 20))?;
    println!("record: {} bytes in {:?}", record.len(), started.elapsed());
    std::fs::write(out.join("record.pdf"), record)?;
    let notice = printer.rectification_notice(&sample::notice())?;
    std::fs::write(out.join("notice.pdf"), notice)?;
    Ok(())
}
