//! The [`Printer`]: the fonts and the typst engine with the templates,
//! built once and shared; each call typesets one sheet into PDF bytes.
//!
//! Before typesetting, every character of the sheet is checked against the
//! loaded fonts, so a name no font can draw fails with
//! [`PrintError::MissingGlyph`] instead of printing a blank box. The PDF's
//! document id and creation date come from the sheet, so the same sheet
//! gives the same bytes.

use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};
use typst::foundations::{Bytes, Datetime, Dict, IntoValue, Smart};
use typst::text::Font;
use typst_as_lib::{TypstEngine, TypstTemplateCollection};
use typst_layout::PagedDocument;
use typst_pdf::{PdfOptions, Timestamp};

use crate::error::PrintError;
use crate::sheet::{NoticeSheet, RecordSheet, short_hash};
use crate::time::{self, BEIJING_OFFSET_SECONDS};

/// Where Debian's fonts-noto-cjk puts the fonts.
pub const SYSTEM_FONT_DIR: &str = "/usr/share/fonts/opentype/noto";
/// The variable naming another font folder.
pub const FONT_DIR_VAR: &str = "FIELDLOOP_FONT_DIR";
/// The longest text of one field, in characters.
pub const MAX_FIELD_CHARS: usize = 20_000;
/// The most entries of one list (items, photos, findings, signatures).
pub const MAX_LIST_LEN: usize = 2_000;
/// The most characters of one sheet in all.
pub const MAX_SHEET_CHARS: usize = 1_000_000;
/// The largest font file read (the Noto CJK collections are 20–28 MB).
pub const MAX_FONT_FILE_BYTES: u64 = 64 * 1024 * 1024;

const COMMON: &str = include_str!("../templates/common.typ");
const RECORD: &str = include_str!("../templates/record.typ");
const NOTICE: &str = include_str!("../templates/notice.typ");

/// Characters any loaded font can draw: one bit per Unicode scalar value.
struct Coverage(Vec<u64>);

impl Coverage {
    fn of(fonts: &[Font]) -> Self {
        let mut bits = vec![0u64; (u32::from(char::MAX) as usize + 1).div_ceil(64)];
        for font in fonts {
            for c in font.info().coverage.iter() {
                if let Some(word) = bits.get_mut(c as usize / 64) {
                    *word |= 1 << (c % 64);
                }
            }
        }
        Self(bits)
    }

    fn contains(&self, c: char) -> bool {
        let c = u32::from(c) as usize;
        self.0.get(c / 64).is_some_and(|w| w & (1 << (c % 64)) != 0)
    }
}

/// Typesets 现场检查笔录 and 责令改正通知书 as PDF. Holds the fonts (about
/// 100 MB with the four Noto CJK collections); build it once and share it.
pub struct Printer {
    engine: TypstEngine<TypstTemplateCollection>,
    coverage: Coverage,
    families: Vec<String>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("families", &self.families)
            .finish_non_exhaustive()
    }
}

/// Whether to keep a face of a font file: of the Noto CJK collections only
/// the Simplified Chinese faces (the others draw the same characters with
/// other regional forms).
fn keep_face(font: &Font) -> bool {
    let family = &font.info().family;
    !(family.starts_with("Noto") && family.contains("CJK") && !family.ends_with(" SC"))
}

fn is_font_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "ttc" | "otf" | "ttf"))
}

impl Printer {
    /// The fonts of `$FIELDLOOP_FONT_DIR`, else of [`SYSTEM_FONT_DIR`].
    pub fn system() -> Result<Printer, PrintError> {
        let dir = std::env::var_os(FONT_DIR_VAR)
            .filter(|d| !d.is_empty())
            .map_or_else(|| PathBuf::from(SYSTEM_FONT_DIR), PathBuf::from);
        Self::from_font_dir(&dir)
    }

    /// The fonts of the `.ttc`, `.otf` and `.ttf` files directly in `dir`
    /// (e.g. NotoSansCJK-Regular.ttc and -Bold.ttc, NotoSerifCJK-*.ttc).
    /// [`PrintError::FontsMissing`] when none of them draws Chinese.
    pub fn from_font_dir(dir: &Path) -> Result<Printer, PrintError> {
        let missing = || PrintError::FontsMissing {
            dir: dir.to_owned(),
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|_| missing())?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| is_font_file(p))
            .collect();
        // Sorted, so that the same folder gives the same fonts in the same order.
        paths.sort();
        let mut data = Vec::new();
        for path in paths {
            let read = std::fs::metadata(&path).and_then(|m| {
                if m.len() > MAX_FONT_FILE_BYTES {
                    Err(std::io::Error::other(format!(
                        "larger than {MAX_FONT_FILE_BYTES} bytes"
                    )))
                } else {
                    std::fs::read(&path)
                }
            });
            match read {
                Ok(bytes) => data.push(bytes),
                Err(source) => return Err(PrintError::FontRead { path, source }),
            }
        }
        Self::from_font_data(data).map_err(|e| match e {
            PrintError::FontsMissing { .. } => missing(),
            other => other,
        })
    }

    /// The fonts in these font files' bytes (e.g. fonts bundled with an app).
    pub fn from_font_data(files: Vec<Vec<u8>>) -> Result<Printer, PrintError> {
        let fonts: Vec<Font> = files
            .into_iter()
            .flat_map(|bytes| Font::iter(Bytes::new(bytes)))
            .filter(keep_face)
            .collect();
        let coverage = Coverage::of(&fonts);
        if !coverage.contains('中') {
            return Err(PrintError::FontsMissing {
                dir: PathBuf::from("(font data)"),
            });
        }
        let mut families: Vec<String> = fonts.iter().map(|f| f.info().family.clone()).collect();
        families.dedup();
        let engine = TypstEngine::builder()
            .fonts(fonts)
            .with_static_source_file_resolver([
                ("common.typ", COMMON),
                ("record.typ", RECORD),
                ("notice.typ", NOTICE),
            ])
            .build();
        Ok(Printer {
            engine,
            coverage,
            families,
        })
    }

    /// Font families loaded, e.g. "Noto Sans CJK SC".
    pub fn families(&self) -> &[String] {
        &self.families
    }

    /// Whether the fonts draw `c`.
    pub fn covers(&self, c: char) -> bool {
        self.coverage.contains(c)
    }

    /// The 现场检查笔录 as PDF bytes.
    pub fn inspection_record(&self, sheet: &RecordSheet) -> Result<Vec<u8>, PrintError> {
        let view = record_view(sheet)?;
        let when = sheet.ended_at.or(sheet.started_at);
        self.render(
            "record.typ",
            &view,
            format!("fieldloop/record/{}", sheet.task_id),
            when,
            &sheet.verify_url,
        )
    }

    /// The 责令改正通知书 as PDF bytes.
    pub fn rectification_notice(&self, sheet: &NoticeSheet) -> Result<Vec<u8>, PrintError> {
        let view = notice_view(sheet)?;
        self.render(
            "notice.typ",
            &view,
            format!("fieldloop/notice/{}/{}", sheet.task_id, sheet.finding_id),
            Some(sheet.issued_at),
            &sheet.verify_url,
        )
    }

    fn render(
        &self,
        template: &str,
        view: &Json,
        ident: String,
        when: Option<fieldloop_core::Millis>,
        verify_url: &str,
    ) -> Result<Vec<u8>, PrintError> {
        check_text(view, &self.coverage)?;
        let mut inputs = Dict::new();
        inputs.insert("data".into(), view.to_string().into_value());
        if !verify_url.is_empty() {
            inputs.insert("qr".into(), qr_svg(verify_url)?.into_value());
        }
        let compiled = self
            .engine
            .compile_with_input::<_, _, PagedDocument>(template, inputs);
        let document = compiled
            .output
            .map_err(|e| PrintError::Typeset(describe(&e)))?;
        let options = PdfOptions {
            ident: Smart::Custom(ident),
            creator: Smart::Custom(Some("Fieldloop".to_owned())),
            timestamp: when.and_then(timestamp),
            ..PdfOptions::default()
        };
        typst_pdf::pdf(&document, &options).map_err(|diagnostics| {
            let messages: Vec<String> = diagnostics.iter().map(|d| d.message.to_string()).collect();
            PrintError::Typeset(messages.join("; "))
        })
    }
}

fn describe(error: &typst_as_lib::TypstAsLibError) -> String {
    match error {
        typst_as_lib::TypstAsLibError::TypstSource(diagnostics) => diagnostics
            .iter()
            .map(|d| d.message.to_string())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

/// The PDF's creation date: `ms` in Beijing time.
fn timestamp(ms: fieldloop_core::Millis) -> Option<Timestamp> {
    let t = time::beijing(ms)?;
    let datetime = Datetime::from_ymd_hms(
        t.year,
        u8::try_from(t.month).ok()?,
        u8::try_from(t.day).ok()?,
        u8::try_from(t.hour).ok()?,
        u8::try_from(t.minute).ok()?,
        u8::try_from(t.second).ok()?,
    )?;
    Timestamp::new_local(datetime, BEIJING_OFFSET_SECONDS / 60)
}

/// The verification QR code as SVG text.
fn qr_svg(url: &str) -> Result<String, PrintError> {
    let code = qrcode::QrCode::with_error_correction_level(url, qrcode::EcLevel::M)
        .map_err(|e| PrintError::Qr(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color<'_>>()
        .quiet_zone(false)
        .min_dimensions(160, 160)
        .build())
}

/// Checks every string of the view: its length, and that the fonts draw
/// each of its characters (line breaks and tabs aside).
fn check_text(view: &Json, coverage: &Coverage) -> Result<(), PrintError> {
    fn walk(
        value: &Json,
        path: &mut String,
        coverage: &Coverage,
        total: &mut usize,
    ) -> Result<(), PrintError> {
        match value {
            Json::String(s) => {
                let chars = s.chars().count();
                *total += chars;
                if chars > MAX_FIELD_CHARS {
                    return Err(PrintError::TooLarge {
                        field: path.clone(),
                        limit: MAX_FIELD_CHARS,
                    });
                }
                if *total > MAX_SHEET_CHARS {
                    return Err(PrintError::TooLarge {
                        field: "全部文字 (all text)".to_owned(),
                        limit: MAX_SHEET_CHARS,
                    });
                }
                match s
                    .chars()
                    .find(|&c| !matches!(c, '\n' | '\r' | '\t') && !coverage.contains(c))
                {
                    Some(character) => Err(PrintError::MissingGlyph {
                        character,
                        field: path.clone(),
                    }),
                    None => Ok(()),
                }
            }
            Json::Array(list) => {
                if list.len() > MAX_LIST_LEN {
                    return Err(PrintError::TooLarge {
                        field: path.clone(),
                        limit: MAX_LIST_LEN,
                    });
                }
                for (i, v) in list.iter().enumerate() {
                    let len = path.len();
                    path.push_str(&format!("[{}]", i + 1));
                    walk(v, path, coverage, total)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Json::Object(map) => {
                for (k, v) in map {
                    let len = path.len();
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                    walk(v, path, coverage, total)?;
                    path.truncate(len);
                }
                Ok(())
            }
            Json::Null | Json::Bool(_) | Json::Number(_) => Ok(()),
        }
    }
    walk(view, &mut String::new(), coverage, &mut 0)
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<Json, PrintError> {
    serde_json::to_value(value).map_err(|e| PrintError::Typeset(e.to_string()))
}

/// The record as the template reads it: the sheet plus times and hashes
/// written out.
fn record_view(sheet: &RecordSheet) -> Result<Json, PrintError> {
    let mut view = to_json(sheet)?;
    view["time_text"] = json!(time::span_text(sheet.started_at, sheet.ended_at));
    view["refused"] = json!(sheet.signatures.iter().any(|s| !s.signed));
    for (i, p) in sheet.photos.iter().enumerate() {
        view["photos"][i]["short"] = json!(p.sha256.chars().take(16).collect::<String>());
        view["photos"][i]["taken_text"] = json!(time::date_time_text(p.taken_at));
    }
    for (i, f) in sheet.findings.iter().enumerate() {
        view["findings"][i]["deadline_text"] =
            json!(f.deadline.map(time::date_text).unwrap_or_default());
    }
    for (i, s) in sheet.signatures.iter().enumerate() {
        view["signatures"][i]["at_text"] = json!(time::date_time_text(s.at));
        view["signatures"][i]["image_short"] = json!(short_hash(&s.image_sha256));
    }
    Ok(view)
}

/// The notice as the template reads it.
fn notice_view(sheet: &NoticeSheet) -> Result<Json, PrintError> {
    let mut view = to_json(sheet)?;
    view["inspected_text"] = json!(sheet.inspected_at.map(time::date_text).unwrap_or_default());
    view["deadline_text"] = json!(sheet.deadline.map(time::date_text).unwrap_or_default());
    view["issued_text"] = json!(time::date_text(sheet.issued_at));
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printers_can_be_shared_between_threads() {
        fn shared<T: Send + Sync>() {}
        shared::<Printer>();
    }

    #[test]
    fn qr_codes_are_svg() {
        let svg = qr_svg("https://example.org/v/abc").expect("qr");
        assert!(svg.contains("<svg"));
        assert!(matches!(qr_svg(&"x".repeat(5000)), Err(PrintError::Qr(_))));
    }
}
