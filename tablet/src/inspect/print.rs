//! The 现场检查笔录 printed on the tablet, with no network: typeset by
//! `fieldloop-print` from the task as the tablet holds it, written into the
//! tablet's data folder, and its SHA-256 recorded in the task's history.

use std::io::Write as _;

use fieldloop_core::task::INSPECTION_RECORD;
use fieldloop_core::{PrintedRecord, Status, Task};
use fieldloop_print::{PrintError, Printer, SheetContext, record_sheet};
use sha2::{Digest, Sha256};

use super::*;

/// The folder under the tablet's data folder that holds printed records.
pub const PRINTS_DIR: &str = "prints";
/// A folder of fonts under the tablet's data folder, used before the
/// system's when it exists (a tablet without Noto CJK installed).
pub const FONTS_DIR: &str = "fonts";

/// A record printed on this tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct PrintedFile {
    /// Where the PDF was saved, in full.
    pub path: String,
    /// The file's name, `<task code>-<first 8 hex digits of its SHA-256>.pdf`.
    pub file: String,
    /// SHA-256 of the PDF, lowercase hex.
    pub sha256: String,
    pub bytes: u64,
    /// The print is now in the task's history; `false` when the task can
    /// no longer be edited here (submitted, approved, …) or the same PDF
    /// was recorded already.
    pub recorded: bool,
}

/// A task code as part of a file name: letters, digits, `-` and `_` kept,
/// anything else `_`.
fn file_stem(code: &str) -> String {
    let stem: String = code
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if stem.is_empty() {
        "record".to_owned()
    } else {
        stem
    }
}

impl Tablet {
    /// The printer, its fonts loaded on first use: `<data>/fonts` when it
    /// exists, else `$FIELDLOOP_FONT_DIR` or the system's Noto CJK.
    fn printer(&self) -> Result<&Printer, AppError> {
        if let Some(printer) = self.printer.get() {
            return Ok(printer);
        }
        let own = self.dir.join(FONTS_DIR);
        let printer = if own.is_dir() {
            Printer::from_font_dir(&own)?
        } else {
            Printer::system()?
        };
        Ok(self.printer.get_or_init(|| printer))
    }

    /// What the printer needs besides the task: the verification link and
    /// the badge numbers the task carries.
    fn sheet_context(&self, task: &Task) -> Result<SheetContext, AppError> {
        let badges = task
            .names
            .as_ref()
            .and_then(|n| n.badges.clone())
            .unwrap_or_default();
        Ok(SheetContext {
            verify_url: fieldloop_core::record::verify_url(&self.verify_base()?, &task.verify_code),
            badges,
            ..SheetContext::default()
        })
    }

    /// The 现场检查笔录 of a task as PDF bytes, from the task as stored here.
    pub fn record_pdf(&self, task_id: &str) -> Result<Vec<u8>, AppError> {
        let task = self.store.open_task(task_id)?.task()?;
        let sheet = record_sheet(&task, &self.sheet_context(&task)?);
        Ok(self.printer()?.inspection_record(&sheet)?)
    }

    /// Prints the 现场检查笔录 of a task: the PDF goes to
    /// `<data>/prints/<task code>-<sha8>.pdf` and its SHA-256 into the task's
    /// history (while the task may be edited here; it changes no status).
    /// Needs no network.
    pub fn print_record(&mut self, task_id: &str, now: Millis) -> Result<PrintedFile, AppError> {
        let task = self.store.open_task(task_id)?.task()?;
        let sheet = record_sheet(&task, &self.sheet_context(&task)?);
        let pdf = self.printer()?.inspection_record(&sheet)?;
        let sha256 = hex::encode(Sha256::digest(&pdf));
        let file = format!("{}-{}.pdf", file_stem(&task.code), &sha256[..8]);
        let folder = self.dir.join(PRINTS_DIR);
        std::fs::create_dir_all(&folder).map_err(|e| AppError::PrintFile(e.to_string()))?;
        let path = folder.join(&file);
        // Written whole under another name, then renamed: never half a PDF.
        let mut partial = tempfile::NamedTempFile::new_in(&folder)
            .map_err(|e| AppError::PrintFile(e.to_string()))?;
        partial
            .write_all(&pdf)
            .and_then(|()| partial.as_file().sync_all())
            .map_err(|e| AppError::PrintFile(e.to_string()))?;
        partial
            .persist(&path)
            .map_err(|e| AppError::PrintFile(e.error.to_string()))?;

        let me = self.store.setting(keys::PERSON)?;
        let status = task.status_report().status;
        let editable = me.as_ref().is_some_and(|me| task.inspectors.contains(me))
            && matches!(
                status,
                Some(Status::Assigned | Status::InProgress | Status::Returned)
            );
        let known = task
            .prints
            .as_ref()
            .is_some_and(|p| p.iter().any(|p| p.sha256 == sha256));
        let recorded = editable && !known;
        if recorded {
            let print = PrintedRecord {
                sha256: sha256.clone(),
                document: INSPECTION_RECORD.to_owned(),
                file: file.clone(),
                by: String::new(),
                at: now,
            };
            let author = self.author()?;
            self.store
                .edit(task_id, now, |doc| doc.add_print(&author, now, print))?;
        }
        Ok(PrintedFile {
            path: path.display().to_string(),
            file,
            sha256,
            bytes: pdf.len() as u64,
            recorded,
        })
    }
}

impl From<PrintError> for AppError {
    fn from(e: PrintError) -> Self {
        Self::Print(e)
    }
}
