//! What an import file holds and where each row comes from: the kinds,
//! the two formats, and a row's origin (file and line).

use super::*;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Departments,
    Industries,
    Teams,
    Inspectors,
    Subjects,
    Items,
    Handbooks,
}

impl Kind {
    /// Every kind, those that others refer to first (the order of checks and writes).
    pub const ALL: [Kind; 7] = [
        Kind::Departments,
        Kind::Industries,
        Kind::Teams,
        Kind::Inspectors,
        Kind::Subjects,
        Kind::Items,
        Kind::Handbooks,
    ];

    /// The name used for `--kind` and in file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Departments => "departments",
            Self::Industries => "industries",
            Self::Teams => "teams",
            Self::Inspectors => "inspectors",
            Self::Subjects => "subjects",
            Self::Items => "items",
            Self::Handbooks => "handbooks",
        }
    }

    /// The Chinese name of the kind.
    pub fn zh(self) -> &'static str {
        match self {
            Self::Departments => "部门",
            Self::Industries => "行业",
            Self::Teams => "执法队伍",
            Self::Inspectors => "执法人员",
            Self::Subjects => "监管对象",
            Self::Items => "监管事项",
            Self::Handbooks => "一业一册",
        }
    }

    /// One of the kind, in English.
    pub(super) fn singular(self) -> &'static str {
        match self {
            Self::Departments => "department",
            Self::Industries => "industry",
            Self::Teams => "team",
            Self::Inspectors => "inspector",
            Self::Subjects => "subject",
            Self::Items => "item",
            Self::Handbooks => "handbook",
        }
    }

    /// The CSV columns of the kind (all required).
    pub fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Departments | Self::Industries => &["code", "name", "name_en"],
            Self::Teams => &["id", "name", "kind", "departments"],
            Self::Inspectors => &["id", "name", "badge_no", "department", "team"],
            Self::Subjects => &[
                "uscc",
                "name",
                "address",
                "industry",
                "risk_class",
                "lat",
                "lon",
                "legal_rep",
            ],
            Self::Items => &[
                "id",
                "department",
                "title",
                "legal_basis",
                "industries",
                "requires_evidence",
            ],
            Self::Handbooks => &["industry", "departments", "lead_department", "items"],
        }
    }

    /// Columns a CSV file may leave out.
    pub fn optional_columns(self) -> &'static [&'static str] {
        match self {
            Self::Inspectors | Self::Subjects => &["township"],
            _ => &[],
        }
    }

    /// The kind a file holds, by its name: `subjects.csv`, `subjects-2026.json`.
    pub fn of_path(path: &Path) -> Option<Kind> {
        let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| {
            stem.strip_prefix(k.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', '.']))
        })
    }

    pub(super) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                format!(
                    "数据类别应为 {0} 之一 (the kind must be one of {0})",
                    Self::ALL.map(Kind::as_str).join(", ")
                )
            })
    }
}

/// The two file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Json,
}

impl Format {
    /// By file extension.
    pub fn of_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "csv" => Some(Self::Csv),
            "json" => Some(Self::Json),
            _ => None,
        }
    }
}

/// Where a row (or a problem) comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The file as it was named on the command line.
    pub file: String,
    /// 1-based line in the file (CSV: the header is line 1).
    pub line: Option<usize>,
    /// 0-based position in a JSON array.
    pub index: Option<usize>,
}

impl Origin {
    pub(super) fn file(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            index: None,
        }
    }

    pub(super) fn line(file: &str, line: usize) -> Self {
        Self {
            line: Some(line),
            ..Self::file(file)
        }
    }

    pub(super) fn entry(file: &str, index: usize, line: Option<usize>) -> Self {
        Self {
            index: Some(index),
            line,
            ..Self::file(file)
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = &self.file;
        match (self.index, self.line) {
            (Some(i), Some(l)) => write!(
                f,
                "{file} 第 {} 条记录（第 {l} 行）(record [{i}], line {l})",
                i + 1
            ),
            (Some(i), None) => write!(f, "{file} 第 {} 条记录 (record [{i}])", i + 1),
            (None, Some(l)) => write!(f, "{file} 第 {l} 行 (line {l})"),
            (None, None) => f.write_str(file),
        }
    }
}

/// A row read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<T> {
    pub origin: Origin,
    pub value: T,
}
