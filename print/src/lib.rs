//! Fieldloop's printed records: the 现场检查笔录 (on-site inspection record)
//! and the 责令改正通知书 (rectification notice) as PDF, on the server and
//! on the tablet with no network.
//!
//! typst typesets the `.typ` templates of `templates/` (compiled into the
//! crate) with the sheet passed in as JSON; the Noto CJK fonts are loaded
//! from the system (Debian's fonts-noto-cjk) and embedded as subsets. The
//! same sheet always gives the same bytes, so a PDF's hash can go in a
//! task's history.
//!
//! ```no_run
//! # fn main() -> Result<(), fieldloop_print::PrintError> {
//! # let task: fieldloop_core::Task = todo!();
//! use fieldloop_print::{Printer, SheetContext, record_sheet};
//! let printer = Printer::system()?; // once; share it
//! let ctx = SheetContext { agency: "某县市场监督管理局".into(), ..SheetContext::default() };
//! let pdf: Vec<u8> = printer.inspection_record(&record_sheet(&task, &ctx))?;
//! # Ok(()) }
//! ```

mod error;
mod printer;
pub mod sample;
mod sheet;
pub mod time;

pub use error::PrintError;
pub use printer::{
    FONT_DIR_VAR, MAX_FIELD_CHARS, MAX_FONT_FILE_BYTES, MAX_LIST_LEN, MAX_SHEET_CHARS, Printer,
    SYSTEM_FONT_DIR,
};
pub use sheet::{
    DEFAULT_NOTICE_PREFIX, DEFAULT_ORDER_BASIS, NoticeSheet, Officer, Party, PhotoRef,
    RecordFinding, RecordItem, RecordSheet, ScriptedNotice, SheetContext, SignatureLine,
    notice_questions, notice_sheets, record_sheet,
};
