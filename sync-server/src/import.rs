//! `fieldloop-server import`: departments, industries, teams, inspectors,
//! subjects, catalog items and handbooks from CSV or JSON files.
//!
//! Files are read into typed rows that remember where they came from (file
//! and line), every row is checked (its fields, duplicates, and references
//! to rows of the same import or already in the database), and only a set
//! without a single problem is handed to [`Store::import`], which writes it
//! in one transaction. A file with one bad line therefore imports nothing,
//! and the administrator gets the whole list of lines to fix at once.
//!
//! The JSON shape of each kind is the serde shape of its type in
//! [`fieldloop_core::domain`]: an array of objects, unknown fields refused.
//! A CSV file has a header row with the same field names (any order); the
//! list fields (`departments`, `industries`, `items`) hold `;`-separated
//! values in one cell, and a subject's location is two columns, `lat` and
//! `lon`. Files must be UTF-8 (Excel: "CSV UTF-8").

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use fieldloop_core::demo::DemoData;
use fieldloop_core::{
    Department, GeoPoint, Handbook, Industry, Inspector, Item, RiskClass, Subject, Team, TeamKind,
    Uscc, UsccError,
};
use serde::de::{DeserializeOwned, IgnoredAny};

use crate::store::{Store, StoreError};

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
    fn singular(self) -> &'static str {
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

    /// The kind a file holds, by its name: `subjects.csv`, `subjects-2026.json`.
    pub fn of_path(path: &Path) -> Option<Kind> {
        let stem = path.file_stem()?.to_str()?.to_ascii_lowercase();
        Self::ALL.into_iter().find(|k| {
            stem.strip_prefix(k.as_str())
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(['-', '_', '.']))
        })
    }

    fn index(self) -> usize {
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
    fn file(file: &str) -> Self {
        Self {
            file: file.to_owned(),
            line: None,
            index: None,
        }
    }

    fn line(file: &str, line: usize) -> Self {
        Self {
            line: Some(line),
            ..Self::file(file)
        }
    }

    fn entry(file: &str, index: usize, line: Option<usize>) -> Self {
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

/// What is wrong with a file, a row or a field.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DataError {
    #[error("无法读取文件 (cannot read the file): {0}")]
    Read(String),
    #[error(
        "看不出文件里是哪类数据：文件名应以 {0} 之一开头（如 subjects.csv），或用 --kind 指定 (cannot tell what the file holds: start its name with its kind, e.g. subjects.csv, or pass --kind)",
        Kind::ALL.map(Kind::as_str).join("、")
    )]
    UnknownKind,
    #[error("只能导入 .csv 或 .json 文件 (only .csv and .json files can be imported)")]
    Format,
    #[error(
        "文件不是 UTF-8 编码：在 Excel 中请“另存为 CSV UTF-8” (the file is not UTF-8; in Excel use \"Save as CSV UTF-8\")"
    )]
    NotUtf8,
    #[error("文件格式错误 (the file is not valid {format}): {message}")]
    Syntax {
        format: &'static str,
        message: String,
    },
    #[error("JSON 文件应为一个数组 [ … ] (a JSON file must hold one array of records)")]
    NotAnArray,
    #[error("记录的字段或取值不对 (a field is missing, unknown or has a wrong value): {0}")]
    Shape(String),
    #[error("缺少列 “{0}” (column '{0}' is missing from the header)")]
    MissingColumn(String),
    #[error(
        "未知的列 “{column}”，应为 {expected} (unknown column '{column}'; the columns are {expected})"
    )]
    UnknownColumn { column: String, expected: String },
    #[error("列 “{0}” 出现了两次 (column '{0}' appears twice)")]
    DuplicateColumn(String),
    #[error(
        "这一行有 {found} 格，表头有 {expected} 列 (this line has {found} cells, the header {expected})"
    )]
    CellCount { expected: usize, found: usize },
    #[error("“{0}” 不能为空 ('{0}' must not be empty)")]
    Empty(&'static str),
    #[error(
        "“{field}” 的值 “{value}” 只能由字母、数字和 - _ . 组成 ('{field}' may hold only letters, digits, '-', '_' and '.', not '{value}')"
    )]
    BadId { field: &'static str, value: String },
    #[error("统一社会信用代码 “{value}” 有误 (bad USCC '{value}'): {error}")]
    Uscc { value: String, error: UsccError },
    #[error(
        "信用风险分类应为 A、B、C 或 D，这里是 “{0}” (the risk class must be A, B, C or D, not '{0}')"
    )]
    RiskClass(String),
    #[error(
        "队伍类型应为 township_squad（乡镇一支队伍）或 county_team（县级联合检查组），这里是 “{0}” (the team kind must be township_squad or county_team, not '{0}')"
    )]
    TeamKind(String),
    #[error(
        "“{field}” 应为 是/否（true/false），这里是 “{value}” ('{field}' must be true or false, not '{value}')"
    )]
    Bool { field: &'static str, value: String },
    #[error("“{field}” 应为数字，这里是 “{value}” ('{field}' must be a number, not '{value}')")]
    Number { field: &'static str, value: String },
    #[error("“{field}” 超出范围：{value} ('{field}' is out of range: {value})")]
    OutOfRange { field: &'static str, value: f64 },
    #[error("“{field}” 里 “{value}” 出现了两次 ('{value}' is listed twice in '{field}')")]
    Repeated { field: &'static str, value: String },
    #[error(
        "{kind_zh} {value} 不存在：本次导入的文件和数据库里都没有 (no {kind_en} '{value}', neither in the imported files nor in the database)",
        kind_zh = .kind.zh(),
        kind_en = .kind.singular()
    )]
    Unknown { kind: Kind, value: String },
    #[error("{key} 重复：{first} 已有同一条 ({key} appears twice; see {first})")]
    Duplicate { key: String, first: Origin },
    #[error(
        "执法人员的部门 {department} 不在队伍 {team} 的部门中 (the inspector's department {department} is not one of team {team}'s departments)"
    )]
    DepartmentNotInTeam { department: String, team: String },
    #[error(
        "牵头部门 {0} 不在本册的部门中 (the lead department {0} is not one of the handbook's departments)"
    )]
    LeadNotListed(String),
    #[error(
        "事项 {item} 属于部门 {department}，该部门不在本册的部门中 (item {item} belongs to {department}, which is not one of the handbook's departments)"
    )]
    ItemOutsideDepartments { item: String, department: String },
    #[error(
        "事项 {item} 不适用于行业 {industry} (item {item} does not apply to industry {industry})"
    )]
    ItemNotForIndustry { item: String, industry: String },
}

impl DataError {
    /// A stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Read(_) => "import.read",
            Self::UnknownKind => "import.unknown_kind",
            Self::Format => "import.format",
            Self::NotUtf8 => "import.not_utf8",
            Self::Syntax { .. } => "import.syntax",
            Self::NotAnArray => "import.not_an_array",
            Self::Shape(_) => "import.shape",
            Self::MissingColumn(_) => "import.missing_column",
            Self::UnknownColumn { .. } => "import.unknown_column",
            Self::DuplicateColumn(_) => "import.duplicate_column",
            Self::CellCount { .. } => "import.cell_count",
            Self::Empty(_) => "import.empty",
            Self::BadId { .. } => "import.bad_id",
            Self::Uscc { error, .. } => error.code(),
            Self::RiskClass(_) => "import.risk_class",
            Self::TeamKind(_) => "import.team_kind",
            Self::Bool { .. } => "import.bool",
            Self::Number { .. } => "import.number",
            Self::OutOfRange { .. } => "import.out_of_range",
            Self::Repeated { .. } => "import.repeated",
            Self::Unknown { .. } => "import.unknown_reference",
            Self::Duplicate { .. } => "import.duplicate",
            Self::DepartmentNotInTeam { .. } => "import.department_not_in_team",
            Self::LeadNotListed(_) => "import.lead_not_listed",
            Self::ItemOutsideDepartments { .. } => "import.item_outside_departments",
            Self::ItemNotForIndustry { .. } => "import.item_not_for_industry",
        }
    }
}

/// A problem and where it is.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub at: Origin,
    pub error: DataError,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}：{}", self.at, self.error)
    }
}

/// Why an import did not happen.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error(
        "发现 {n} 处问题，未导入任何数据 ({n} problems found; nothing was imported)",
        n = .0.len()
    )]
    Invalid(Vec<Problem>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ImportError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(_) => "import.invalid",
            Self::Store(_) => "import.store",
        }
    }
}

/// What an import did to the rows of one kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.added + self.updated + self.unchanged
    }
}

/// How one stored row compares with the imported one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Added,
    Updated,
    Unchanged,
}

/// What an import did, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    by_kind: [Counts; 7],
}

impl ImportCounts {
    pub fn of(&self, kind: Kind) -> Counts {
        self.by_kind[kind.index()]
    }

    pub fn record(&mut self, kind: Kind, change: Change) {
        let c = &mut self.by_kind[kind.index()];
        match change {
            Change::Added => c.added += 1,
            Change::Updated => c.updated += 1,
            Change::Unchanged => c.unchanged += 1,
        }
    }

    /// Rows added or updated, over all kinds.
    pub fn changed(&self) -> usize {
        self.by_kind.iter().map(|c| c.added + c.updated).sum()
    }
}

/// Rows to import, with the problems found while reading them.
#[derive(Debug, Clone, Default)]
pub struct ImportSet {
    pub departments: Vec<Row<Department>>,
    pub industries: Vec<Row<Industry>>,
    pub teams: Vec<Row<Team>>,
    pub inspectors: Vec<Row<Inspector>>,
    pub subjects: Vec<Row<Subject>>,
    pub items: Vec<Row<Item>>,
    pub handbooks: Vec<Row<Handbook>>,
    /// Problems found while reading.
    problems: Vec<Problem>,
    /// Keys of rows that could not be read: their problem is reported, so
    /// references to them are not reported again.
    unreadable: HashSet<(Kind, String)>,
    /// Files in the order they were read, to report problems in that order.
    files: Vec<String>,
}

/// A domain type that can be imported.
trait Record: DeserializeOwned + Sized {
    const KIND: Kind;
    /// The column or field that identifies a row.
    const KEY: &'static str;
    fn key(&self) -> String;
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>>;
    fn from_cells(cells: &Cells<'_>) -> Result<Self, Vec<DataError>>;
    /// Checks of the row alone.
    fn check(&self) -> Vec<DataError>;
}

/// One CSV record, by column name.
struct Cells<'a> {
    columns: &'a HashMap<String, usize>,
    record: &'a csv::StringRecord,
}

impl Cells<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    fn text(&self, column: &str) -> String {
        self.get(column).to_owned()
    }

    fn list(&self, column: &str) -> Vec<String> {
        self.get(column)
            .split([';', '；'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }

    fn number(&self, column: &'static str, errors: &mut Vec<DataError>) -> f64 {
        let value = self.get(column);
        value.parse().unwrap_or_else(|_| {
            errors.push(DataError::Number {
                field: column,
                value: value.to_owned(),
            });
            f64::NAN
        })
    }

    fn flag(&self, column: &'static str, errors: &mut Vec<DataError>) -> bool {
        let value = self.get(column);
        match value.to_lowercase().as_str() {
            "true" | "1" | "yes" | "y" | "是" => true,
            "false" | "0" | "no" | "n" | "否" => false,
            _ => {
                errors.push(DataError::Bool {
                    field: column,
                    value: value.to_owned(),
                });
                false
            }
        }
    }
}

/// `value`, or every problem of the row: those of reading its cells and
/// those [`Record::check`] finds in the rest.
fn done<T: Record>(value: T, mut errors: Vec<DataError>) -> Result<T, Vec<DataError>> {
    if errors.is_empty() {
        Ok(value)
    } else {
        errors.extend(value.check());
        Err(errors)
    }
}

/// An id or code: non-empty, letters, digits and `-_.` only (so that it is
/// safe in lists, file names and URLs).
fn check_id(field: &'static str, value: &str, errors: &mut Vec<DataError>) {
    if value.trim().is_empty() {
        errors.push(DataError::Empty(field));
    } else if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        errors.push(DataError::BadId {
            field,
            value: value.to_owned(),
        });
    }
}

fn check_text(field: &'static str, value: &str, errors: &mut Vec<DataError>) {
    if value.trim().is_empty() {
        errors.push(DataError::Empty(field));
    }
}

/// A list of ids: each an id, none twice; `required`: at least one.
fn check_list(field: &'static str, values: &[String], required: bool, errors: &mut Vec<DataError>) {
    if required && values.is_empty() {
        errors.push(DataError::Empty(field));
    }
    let mut seen = HashSet::new();
    for v in values {
        check_id(field, v, errors);
        if !seen.insert(v) {
            errors.push(DataError::Repeated {
                field,
                value: v.clone(),
            });
        }
    }
}

impl Record for Department {
    const KIND: Kind = Kind::Departments;
    const KEY: &'static str = "code";
    fn key(&self) -> String {
        self.code.clone()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.departments
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        Ok(Self {
            code: c.text("code"),
            name: c.text("name"),
            name_en: c.text("name_en"),
        })
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        check_id("code", &self.code, &mut e);
        check_text("name", &self.name, &mut e);
        e
    }
}

impl Record for Industry {
    const KIND: Kind = Kind::Industries;
    const KEY: &'static str = "code";
    fn key(&self) -> String {
        self.code.clone()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.industries
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        Ok(Self {
            code: c.text("code"),
            name: c.text("name"),
            name_en: c.text("name_en"),
        })
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        check_id("code", &self.code, &mut e);
        check_text("name", &self.name, &mut e);
        e
    }
}

impl Record for Team {
    const KIND: Kind = Kind::Teams;
    const KEY: &'static str = "id";
    fn key(&self) -> String {
        self.id.clone()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.teams
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        let mut errors = Vec::new();
        let kind = match c.get("kind").to_ascii_lowercase().as_str() {
            "township_squad" => TeamKind::TownshipSquad,
            "county_team" => TeamKind::CountyTeam,
            other => {
                errors.push(DataError::TeamKind(other.to_owned()));
                TeamKind::CountyTeam
            }
        };
        let team = Self {
            id: c.text("id"),
            name: c.text("name"),
            kind,
            departments: c.list("departments"),
        };
        done(team, errors)
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        check_id("id", &self.id, &mut e);
        check_text("name", &self.name, &mut e);
        check_list("departments", &self.departments, true, &mut e);
        e
    }
}

impl Record for Inspector {
    const KIND: Kind = Kind::Inspectors;
    const KEY: &'static str = "id";
    fn key(&self) -> String {
        self.id.clone()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.inspectors
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        Ok(Self {
            id: c.text("id"),
            name: c.text("name"),
            badge_no: c.text("badge_no"),
            department: c.text("department"),
            team: c.text("team"),
        })
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        check_id("id", &self.id, &mut e);
        check_text("name", &self.name, &mut e);
        check_text("badge_no", &self.badge_no, &mut e);
        check_id("department", &self.department, &mut e);
        check_id("team", &self.team, &mut e);
        e
    }
}

impl Record for Subject {
    const KIND: Kind = Kind::Subjects;
    const KEY: &'static str = "uscc";
    fn key(&self) -> String {
        self.uscc.to_string()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.subjects
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        let mut errors = Vec::new();
        let raw = c.get("uscc");
        let uscc = Uscc::parse(raw).map_err(|error| {
            errors.push(DataError::Uscc {
                value: raw.to_owned(),
                error,
            })
        });
        let risk = c.get("risk_class");
        let risk_class = match risk.to_ascii_uppercase().as_str() {
            "A" => Some(RiskClass::A),
            "B" => Some(RiskClass::B),
            "C" => Some(RiskClass::C),
            "D" => Some(RiskClass::D),
            _ => {
                errors.push(DataError::RiskClass(risk.to_owned()));
                None
            }
        };
        let location = GeoPoint {
            lat: c.number("lat", &mut errors),
            lon: c.number("lon", &mut errors),
        };
        let (name, address, industry, legal_rep) = (
            c.text("name"),
            c.text("address"),
            c.text("industry"),
            c.text("legal_rep"),
        );
        match (uscc, risk_class) {
            (Ok(uscc), Some(risk_class)) if errors.is_empty() => Ok(Self {
                uscc,
                name,
                address,
                industry,
                risk_class,
                location,
                legal_rep,
            }),
            _ => {
                // The rest of the row is checked too, so one run reports all.
                let located = |GeoPoint { lat, lon }| GeoPoint {
                    lat: if lat.is_nan() { 0.0 } else { lat },
                    lon: if lon.is_nan() { 0.0 } else { lon },
                };
                let fields = [&name, &address, &industry, &legal_rep];
                check_subject(fields, located(location), &mut errors);
                Err(errors)
            }
        }
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        let fields = [&self.name, &self.address, &self.industry, &self.legal_rep];
        check_subject(fields, self.location, &mut e);
        e
    }
}

/// A subject's name, address, industry and legal representative, and location.
fn check_subject(fields: [&String; 4], location: GeoPoint, e: &mut Vec<DataError>) {
    let [name, address, industry, legal_rep] = fields;
    check_text("name", name, e);
    check_text("address", address, e);
    check_id("industry", industry, e);
    check_text("legal_rep", legal_rep, e);
    let GeoPoint { lat, lon } = location;
    if !(-90.0..=90.0).contains(&lat) {
        e.push(DataError::OutOfRange {
            field: "lat",
            value: lat,
        });
    }
    if !(-180.0..=180.0).contains(&lon) {
        e.push(DataError::OutOfRange {
            field: "lon",
            value: lon,
        });
    }
}

impl Record for Item {
    const KIND: Kind = Kind::Items;
    const KEY: &'static str = "id";
    fn key(&self) -> String {
        self.id.clone()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.items
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        let mut errors = Vec::new();
        let requires_evidence = c.flag("requires_evidence", &mut errors);
        let item = Self {
            id: c.text("id"),
            department: c.text("department"),
            title: c.text("title"),
            legal_basis: c.text("legal_basis"),
            industries: c.list("industries"),
            requires_evidence,
        };
        done(item, errors)
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        check_id("id", &self.id, &mut e);
        check_id("department", &self.department, &mut e);
        check_text("title", &self.title, &mut e);
        check_text("legal_basis", &self.legal_basis, &mut e);
        check_list("industries", &self.industries, false, &mut e);
        e
    }
}

impl Record for Handbook {
    const KIND: Kind = Kind::Handbooks;
    const KEY: &'static str = "industry";
    fn key(&self) -> String {
        self.industry.clone()
    }
    fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
        &mut set.handbooks
    }
    fn from_cells(c: &Cells<'_>) -> Result<Self, Vec<DataError>> {
        Ok(Self {
            industry: c.text("industry"),
            departments: c.list("departments"),
            lead_department: c.text("lead_department"),
            items: c.list("items"),
        })
    }
    fn check(&self) -> Vec<DataError> {
        let mut e = Vec::new();
        check_id("industry", &self.industry, &mut e);
        check_list("departments", &self.departments, true, &mut e);
        check_id("lead_department", &self.lead_department, &mut e);
        if !self.lead_department.is_empty() && !self.departments.contains(&self.lead_department) {
            e.push(DataError::LeadNotListed(self.lead_department.clone()));
        }
        check_list("items", &self.items, true, &mut e);
        e
    }
}

/// 1-based line of byte `offset` in `text`.
fn line_at(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

/// Lines of CSV records. The csv crate's own line numbers skip blank lines
/// and miscount CRLF files; its byte offset of a record points at the line
/// breaks before it, so the record starts after them. Counted forward only,
/// so a large file costs one pass.
struct Lines<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            offset: 0,
            line: 1,
        }
    }

    fn at(&mut self, byte: u64) -> usize {
        let bytes = self.text.as_bytes();
        let mut start = usize::try_from(byte).unwrap_or(usize::MAX).min(bytes.len());
        while start < bytes.len() && matches!(bytes[start], b'\r' | b'\n') {
            start += 1;
        }
        if start >= self.offset {
            self.line += bytes[self.offset..start]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
        } else {
            self.line = line_at(self.text, start);
        }
        self.offset = start;
        self.line
    }
}

fn skip_whitespace(text: &str, from: usize) -> usize {
    from + text[from..].len() - text[from..].trim_start().len()
}

/// serde_json's message without its " at line L column C" (which is
/// relative to the record, not the file).
fn message_of(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let suffix = format!(" at line {} column {}", e.line(), e.column());
    text.strip_suffix(&suffix).unwrap_or(&text).to_owned()
}

impl ImportSet {
    /// Problems found while reading files.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// How many rows of `kind` the set holds.
    pub fn len(&self, kind: Kind) -> usize {
        match kind {
            Kind::Departments => self.departments.len(),
            Kind::Industries => self.industries.len(),
            Kind::Teams => self.teams.len(),
            Kind::Inspectors => self.inspectors.len(),
            Kind::Subjects => self.subjects.len(),
            Kind::Items => self.items.len(),
            Kind::Handbooks => self.handbooks.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        Kind::ALL.iter().all(|&k| self.len(k) == 0)
    }

    /// The demo data set, as if read from `assets/demo/*.json`.
    pub fn from_demo(data: &DemoData) -> Self {
        fn rows<T: Clone>(kind: Kind, values: &[T]) -> Vec<Row<T>> {
            let file = format!("assets/demo/{kind}.json");
            values
                .iter()
                .enumerate()
                .map(|(i, v)| Row {
                    origin: Origin::entry(&file, i, None),
                    value: v.clone(),
                })
                .collect()
        }
        Self {
            departments: rows(Kind::Departments, &data.departments),
            industries: rows(Kind::Industries, &data.industries),
            teams: rows(Kind::Teams, &data.teams),
            inspectors: rows(Kind::Inspectors, &data.inspectors),
            subjects: rows(Kind::Subjects, &data.subjects),
            items: rows(Kind::Items, &data.items),
            handbooks: rows(Kind::Handbooks, &data.handbooks),
            ..Self::default()
        }
    }

    /// Reads a file whose kind is `kind` or, if `None`, told by its name.
    /// Problems are kept in the set (see [`ImportSet::problems`]).
    pub fn read_file(&mut self, path: &Path, kind: Option<Kind>) {
        let file = path.display().to_string();
        self.files.push(file.clone());
        let problem = |error| Problem {
            at: Origin::file(&file),
            error,
        };
        let Some(kind) = kind.or_else(|| Kind::of_path(path)) else {
            self.problems.push(problem(DataError::UnknownKind));
            return;
        };
        let Some(format) = Format::of_path(path) else {
            self.problems.push(problem(DataError::Format));
            return;
        };
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                self.problems.push(problem(DataError::Read(e.to_string())));
                return;
            }
        };
        let Ok(text) = String::from_utf8(bytes) else {
            self.problems.push(problem(DataError::NotUtf8));
            return;
        };
        self.read_text(&file, kind, format, &text);
    }

    /// Reads the text of a file named `file`.
    pub fn read_text(&mut self, file: &str, kind: Kind, format: Format, text: &str) {
        if !self.files.iter().any(|f| f == file) {
            self.files.push(file.to_owned());
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        match kind {
            Kind::Departments => self.read_rows::<Department>(file, format, text),
            Kind::Industries => self.read_rows::<Industry>(file, format, text),
            Kind::Teams => self.read_rows::<Team>(file, format, text),
            Kind::Inspectors => self.read_rows::<Inspector>(file, format, text),
            Kind::Subjects => self.read_rows::<Subject>(file, format, text),
            Kind::Items => self.read_rows::<Item>(file, format, text),
            Kind::Handbooks => self.read_rows::<Handbook>(file, format, text),
        }
    }

    fn read_rows<T: Record>(&mut self, file: &str, format: Format, text: &str) {
        match format {
            Format::Csv => self.read_csv::<T>(file, text),
            Format::Json => self.read_json::<T>(file, text),
        }
    }

    fn push<T: Record>(&mut self, origin: Origin, value: T) {
        let errors = value.check();
        if errors.is_empty() {
            T::rows(self).push(Row { origin, value });
        } else {
            self.unreadable.insert((T::KIND, value.key()));
            self.problems
                .extend(errors.into_iter().map(|error| Problem {
                    at: origin.clone(),
                    error,
                }));
        }
    }

    fn read_csv<T: Record>(&mut self, file: &str, text: &str) {
        let syntax = |line: usize, e: &csv::Error| Problem {
            at: Origin::line(file, line),
            error: DataError::Syntax {
                format: "CSV",
                message: e.to_string(),
            },
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(true)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let header = match reader.headers() {
            Ok(h) => h.clone(),
            Err(e) => {
                self.problems.push(syntax(1, &e));
                return;
            }
        };
        let expected = T::KIND.columns();
        let mut columns = HashMap::new();
        let before = self.problems.len();
        let at_header = || Origin::line(file, 1);
        for (i, name) in header.iter().enumerate() {
            let name = name.trim().to_ascii_lowercase();
            if !expected.contains(&name.as_str()) {
                self.problems.push(Problem {
                    at: at_header(),
                    error: DataError::UnknownColumn {
                        column: name,
                        expected: expected.join(","),
                    },
                });
            } else if columns.insert(name.clone(), i).is_some() {
                self.problems.push(Problem {
                    at: at_header(),
                    error: DataError::DuplicateColumn(name),
                });
            }
        }
        for column in expected {
            if !columns.contains_key(*column) {
                self.problems.push(Problem {
                    at: at_header(),
                    error: DataError::MissingColumn((*column).to_owned()),
                });
            }
        }
        if self.problems.len() > before {
            // Without the right header no row can be read; one report is enough.
            return;
        }
        let mut record = csv::StringRecord::new();
        let mut lines = Lines::new(text);
        loop {
            let before = reader.position().byte();
            match reader.read_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let line = lines.at(e.position().map_or(before, csv::Position::byte));
                    self.problems.push(syntax(line, &e));
                    continue;
                }
            }
            let line = lines.at(record.position().map_or(before, csv::Position::byte));
            if record.iter().all(str::is_empty) {
                continue;
            }
            let origin = Origin::line(file, line);
            let cells = Cells {
                columns: &columns,
                record: &record,
            };
            if record.len() != header.len() {
                self.unreadable.insert((T::KIND, cells.text(T::KEY)));
                self.problems.push(Problem {
                    at: origin,
                    error: DataError::CellCount {
                        expected: header.len(),
                        found: record.len(),
                    },
                });
                continue;
            }
            match T::from_cells(&cells) {
                Ok(value) => self.push(origin, value),
                Err(errors) => {
                    self.unreadable.insert((T::KIND, cells.text(T::KEY)));
                    self.problems
                        .extend(errors.into_iter().map(|error| Problem {
                            at: origin.clone(),
                            error,
                        }));
                }
            }
        }
    }

    fn read_json<T: Record>(&mut self, file: &str, text: &str) {
        // Syntax first, with serde_json's line and column in the whole file.
        if let Err(e) = serde_json::from_str::<Vec<IgnoredAny>>(text) {
            let error = if e.classify() == serde_json::error::Category::Data {
                DataError::NotAnArray
            } else {
                DataError::Syntax {
                    format: "JSON",
                    message: format!("{} (第 {c} 列, column {c})", message_of(&e), c = e.column()),
                }
            };
            let at = if e.line() > 0 {
                Origin::line(file, e.line())
            } else {
                Origin::file(file)
            };
            self.problems.push(Problem { at, error });
            return;
        }
        // A valid array: walk its records to know where each one starts.
        let mut pos = skip_whitespace(text, 0) + 1; // past '['
        let mut index = 0;
        loop {
            pos = skip_whitespace(text, pos);
            if text[pos..].starts_with(']') {
                break;
            }
            let start = pos;
            let mut stream =
                serde_json::Deserializer::from_str(&text[start..]).into_iter::<IgnoredAny>();
            if stream.next().is_none() {
                break;
            }
            let end = start + stream.byte_offset();
            let record = &text[start..end];
            let first_line = line_at(text, start);
            match serde_json::from_str::<T>(record) {
                Ok(value) => self.push(Origin::entry(file, index, Some(first_line)), value),
                Err(e) => {
                    let key = serde_json::from_str::<serde_json::Value>(record)
                        .ok()
                        .and_then(|v| v.get(T::KEY).and_then(|k| k.as_str()).map(str::to_owned));
                    if let Some(key) = key {
                        self.unreadable.insert((T::KIND, key));
                    }
                    let line = first_line + e.line().saturating_sub(1);
                    self.problems.push(Problem {
                        at: Origin::entry(file, index, Some(line)),
                        error: DataError::Shape(message_of(&e)),
                    });
                }
            }
            index += 1;
            pos = skip_whitespace(text, end);
            if text[pos..].starts_with(',') {
                pos += 1;
            }
        }
    }

    /// Checks the set as a whole against itself and the `store`: every
    /// problem found while reading, duplicates, and references.
    pub fn check(&self, store: &dyn Store) -> Result<(), ImportError> {
        let mut problems = self.problems.clone();
        let mut refs = References::new(self, store);
        let mut report = |at: &Origin, error| {
            problems.push(Problem {
                at: at.clone(),
                error,
            })
        };
        duplicates(&self.departments, &mut report);
        duplicates(&self.industries, &mut report);
        duplicates(&self.teams, &mut report);
        duplicates(&self.inspectors, &mut report);
        duplicates(&self.subjects, &mut report);
        duplicates(&self.items, &mut report);
        duplicates(&self.handbooks, &mut report);
        let mut badges = HashMap::new();
        for Row { origin, value } in &self.inspectors {
            if let Some(first) = badges.insert(&value.badge_no, origin) {
                report(
                    origin,
                    DataError::Duplicate {
                        key: format!("执法证号 badge_no {}", value.badge_no),
                        first: first.clone(),
                    },
                );
            }
        }

        for Row { origin, value } in &self.teams {
            for d in &value.departments {
                refs.require(Kind::Departments, d, origin, &mut report)?;
            }
        }
        for Row { origin, value } in &self.inspectors {
            let department =
                refs.require(Kind::Departments, &value.department, origin, &mut report)?;
            match refs.team(&value.team)? {
                Found::Yes(team) => {
                    if department && !team.departments.contains(&value.department) {
                        report(
                            origin,
                            DataError::DepartmentNotInTeam {
                                department: value.department.clone(),
                                team: value.team.clone(),
                            },
                        );
                    }
                }
                Found::Unreadable => {}
                Found::No => report(origin, refs.unknown(Kind::Teams, &value.team)),
            }
        }
        for Row { origin, value } in &self.subjects {
            refs.require(Kind::Industries, &value.industry, origin, &mut report)?;
        }
        for Row { origin, value } in &self.items {
            refs.require(Kind::Departments, &value.department, origin, &mut report)?;
            for i in &value.industries {
                refs.require(Kind::Industries, i, origin, &mut report)?;
            }
        }
        for Row { origin, value } in &self.handbooks {
            refs.require(Kind::Industries, &value.industry, origin, &mut report)?;
            for d in &value.departments {
                refs.require(Kind::Departments, d, origin, &mut report)?;
            }
            for id in &value.items {
                match refs.item(id)? {
                    Found::Yes(item) => {
                        if !value.departments.contains(&item.department) {
                            report(
                                origin,
                                DataError::ItemOutsideDepartments {
                                    item: id.clone(),
                                    department: item.department.clone(),
                                },
                            );
                        }
                        if !item.industries.is_empty() && !item.industries.contains(&value.industry)
                        {
                            report(
                                origin,
                                DataError::ItemNotForIndustry {
                                    item: id.clone(),
                                    industry: value.industry.clone(),
                                },
                            );
                        }
                    }
                    Found::Unreadable => {}
                    Found::No => report(origin, refs.unknown(Kind::Items, id)),
                }
            }
        }
        if problems.is_empty() {
            return Ok(());
        }
        let file_rank = |f: &str| self.files.iter().position(|x| x == f).unwrap_or(usize::MAX);
        problems.sort_by_key(|p| (file_rank(&p.at.file), p.at.index, p.at.line));
        Err(ImportError::Invalid(problems))
    }
}

/// Reports every row whose key an earlier row already has.
fn duplicates<T: Record>(rows: &[Row<T>], report: &mut impl FnMut(&Origin, DataError)) {
    let mut seen: HashMap<String, &Origin> = HashMap::new();
    for row in rows {
        let key = row.value.key();
        if let Some(first) = seen.get(&key) {
            report(
                &row.origin,
                DataError::Duplicate {
                    key: format!("{} {key}", T::KEY),
                    first: (*first).clone(),
                },
            );
        } else {
            seen.insert(key, &row.origin);
        }
    }
}

/// Whether a referenced row exists.
enum Found<T> {
    Yes(T),
    /// In the files but unreadable: already reported.
    Unreadable,
    No,
}

/// Resolves references against the set first, then the store (cached).
struct References<'a> {
    set: &'a ImportSet,
    store: &'a dyn Store,
    departments: HashSet<&'a str>,
    industries: HashSet<&'a str>,
    teams: HashMap<&'a str, &'a Team>,
    items: HashMap<&'a str, &'a Item>,
    stored_codes: HashMap<(Kind, String), bool>,
    stored_teams: HashMap<String, Option<Team>>,
    stored_items: HashMap<String, Option<Item>>,
}

impl<'a> References<'a> {
    fn new(set: &'a ImportSet, store: &'a dyn Store) -> Self {
        Self {
            set,
            store,
            departments: set
                .departments
                .iter()
                .map(|r| r.value.code.as_str())
                .collect(),
            industries: set
                .industries
                .iter()
                .map(|r| r.value.code.as_str())
                .collect(),
            teams: set
                .teams
                .iter()
                .map(|r| (r.value.id.as_str(), &r.value))
                .collect(),
            items: set
                .items
                .iter()
                .map(|r| (r.value.id.as_str(), &r.value))
                .collect(),
            stored_codes: HashMap::new(),
            stored_teams: HashMap::new(),
            stored_items: HashMap::new(),
        }
    }

    fn unreadable(&self, kind: Kind, key: &str) -> bool {
        self.set.unreadable.contains(&(kind, key.to_owned()))
    }

    fn unknown(&self, kind: Kind, value: &str) -> DataError {
        DataError::Unknown {
            kind,
            value: value.to_owned(),
        }
    }

    /// Reports `value` unless a department or industry (per `kind`) has
    /// that code; whether one has (or is in the files but unreadable).
    fn require(
        &mut self,
        kind: Kind,
        value: &str,
        origin: &Origin,
        report: &mut impl FnMut(&Origin, DataError),
    ) -> Result<bool, StoreError> {
        let in_set = match kind {
            Kind::Departments => self.departments.contains(value),
            _ => self.industries.contains(value),
        };
        if in_set || self.unreadable(kind, value) {
            return Ok(true);
        }
        let key = (kind, value.to_owned());
        let stored = match self.stored_codes.get(&key) {
            Some(&known) => known,
            None => {
                let known = match kind {
                    Kind::Departments => self.store.department(value)?.is_some(),
                    _ => self.store.industry(value)?.is_some(),
                };
                self.stored_codes.insert(key, known);
                known
            }
        };
        if !stored {
            report(origin, self.unknown(kind, value));
        }
        Ok(stored)
    }

    fn team(&mut self, id: &str) -> Result<Found<Team>, StoreError> {
        if let Some(team) = self.teams.get(id) {
            return Ok(Found::Yes((*team).clone()));
        }
        if self.unreadable(Kind::Teams, id) {
            return Ok(Found::Unreadable);
        }
        if !self.stored_teams.contains_key(id) {
            let team = self.store.team(id)?;
            self.stored_teams.insert(id.to_owned(), team);
        }
        Ok(match self.stored_teams.get(id) {
            Some(Some(team)) => Found::Yes(team.clone()),
            _ => Found::No,
        })
    }

    fn item(&mut self, id: &str) -> Result<Found<Item>, StoreError> {
        if let Some(item) = self.items.get(id) {
            return Ok(Found::Yes((*item).clone()));
        }
        if self.unreadable(Kind::Items, id) {
            return Ok(Found::Unreadable);
        }
        if !self.stored_items.contains_key(id) {
            let item = self.store.item(id)?;
            self.stored_items.insert(id.to_owned(), item);
        }
        Ok(match self.stored_items.get(id) {
            Some(Some(item)) => Found::Yes(item.clone()),
            _ => Found::No,
        })
    }
}

/// Checks `set` and, if it has no problem at all, writes it in one transaction.
pub fn import(store: &dyn Store, set: &ImportSet) -> Result<ImportCounts, ImportError> {
    set.check(store)?;
    Ok(store.import(set)?)
}

/// Reads `files` (kind from `kind` or each file's name) and imports them
/// all, or nothing.
pub fn import_files(
    store: &dyn Store,
    files: &[PathBuf],
    kind: Option<Kind>,
) -> Result<ImportCounts, ImportError> {
    let mut set = ImportSet::default();
    for file in files {
        set.read_file(file, kind);
    }
    import(store, &set)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::sqlite::SqliteStore;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("store");
        (dir, store)
    }

    fn demo() -> DemoData {
        DemoData::embedded().expect("demo data")
    }

    /// The problems of a set, as (file, line, code).
    fn problems(set: &ImportSet, store: &dyn Store) -> Vec<(String, Option<usize>, &'static str)> {
        match set.check(store) {
            Ok(()) => Vec::new(),
            Err(ImportError::Invalid(p)) => p
                .into_iter()
                .map(|p| (p.at.file, p.at.line, p.error.code()))
                .collect(),
            Err(e) => panic!("store error: {e}"),
        }
    }

    fn csv_set(kind: Kind, text: &str) -> ImportSet {
        let mut set = ImportSet::default();
        set.read_text(&format!("{kind}.csv"), kind, Format::Csv, text);
        set
    }

    fn json_set(kind: Kind, text: &str) -> ImportSet {
        let mut set = ImportSet::default();
        set.read_text(&format!("{kind}.json"), kind, Format::Json, text);
        set
    }

    #[test]
    fn kinds_come_from_the_option_or_the_file_name() {
        assert_eq!(
            Kind::of_path(Path::new("a/subjects.csv")),
            Some(Kind::Subjects)
        );
        assert_eq!(
            Kind::of_path(Path::new("Inspectors-2026.JSON")),
            Some(Kind::Inspectors)
        );
        assert_eq!(Kind::of_path(Path::new("subjectsx.csv")), None);
        assert_eq!(Kind::of_path(Path::new("people.csv")), None);
        assert_eq!("Handbooks".parse::<Kind>(), Ok(Kind::Handbooks));
        assert!("people".parse::<Kind>().is_err());
        assert_eq!(Format::of_path(Path::new("x.CSV")), Some(Format::Csv));
        assert_eq!(Format::of_path(Path::new("x.xlsx")), None);
    }

    #[test]
    fn the_demo_set_imports_and_a_second_import_changes_nothing() {
        let (_dir, store) = store();
        let data = demo();
        let set = ImportSet::from_demo(&data);
        let first = import(&store, &set).expect("first import");
        assert_eq!(first.of(Kind::Subjects).added, 200);
        assert_eq!(first.of(Kind::Handbooks).added, data.handbooks.len());
        let second = import(&store, &set).expect("second import");
        assert_eq!(second.changed(), 0);
        assert_eq!(second.of(Kind::Items).unchanged, data.items.len());

        // What was stored reads back the same.
        assert_eq!(
            store.team("T-QX-01").expect("read").as_ref(),
            Some(&data.teams[0])
        );
        let handbook = store.handbook("catering").expect("read");
        assert_eq!(handbook.as_ref(), data.handbook("catering"));
        let s = &data.subjects[17];
        assert_eq!(store.subject(&s.uscc).expect("read").as_ref(), Some(s));
        assert_eq!(
            store.item(&data.items[3].id).expect("read").as_ref(),
            Some(&data.items[3])
        );
        assert_eq!(
            store.inspector("I-003").expect("read").as_ref(),
            data.inspectors.iter().find(|i| i.id == "I-003")
        );

        // A changed row is updated, the rest untouched.
        let mut changed = data.clone();
        changed.subjects[0].risk_class = RiskClass::D;
        changed.teams[0].departments.pop();
        changed
            .inspectors
            .retain(|i| i.team != "T-QX-01" || i.department != "XFJY");
        let third = import(&store, &ImportSet::from_demo(&changed)).expect("third import");
        assert_eq!(third.of(Kind::Subjects).updated, 1);
        assert_eq!(third.of(Kind::Subjects).unchanged, 199);
        assert_eq!(third.of(Kind::Teams).updated, 1);
        assert_eq!(
            store
                .subject(&changed.subjects[0].uscc)
                .expect("read")
                .map(|s| s.risk_class),
            Some(RiskClass::D)
        );
    }

    #[test]
    fn csv_rows_are_typed_with_their_lines() {
        let text = "\u{feff}id, department ,title,legal_basis,industries,requires_evidence\n\
                    X-1,SCJG,\"two\nlines\",《法》,catering; supermarket；hotel,是\n\
                    \n\
                    X-2,SCJG,t,b,,false\n";
        let set = csv_set(Kind::Items, text);
        assert!(set.problems().is_empty(), "{:?}", set.problems());
        assert_eq!(set.items.len(), 2);
        let first = &set.items[0];
        assert_eq!(first.origin.line, Some(2));
        assert_eq!(first.value.title, "two\nlines");
        assert_eq!(first.value.industries, ["catering", "supermarket", "hotel"]);
        assert!(first.value.requires_evidence);
        assert_eq!(set.items[1].origin.line, Some(5));
        assert!(set.items[1].value.industries.is_empty());
        assert!(!set.items[1].value.requires_evidence);

        // Excel writes CRLF and leaves blank lines; the lines stay right.
        let crlf = "id,department,title,legal_basis,industries,requires_evidence\r\n\r\n\
                    X-1,SCJG,t,b,,no\r\n\r\n\r\n\
                    X-2,SCJG,\"t\r\n2\",b,,no\r\n\
                    X-3,SCJG,t,b,,maybe\r\n";
        let set = csv_set(Kind::Items, crlf);
        let lines: Vec<_> = set.items.iter().map(|r| r.origin.line).collect();
        assert_eq!(lines, [Some(3), Some(6)]);
        assert_eq!(set.problems()[0].at.line, Some(8));
        assert_eq!(set.problems()[0].error.code(), "import.bool");
    }

    #[test]
    fn a_bad_header_is_reported_once() {
        let set = csv_set(Kind::Departments, "code,name,english\nA,甲,x\nB,乙,y\n");
        let codes: Vec<_> = set
            .problems()
            .iter()
            .map(|p| (p.at.line, p.error.code()))
            .collect();
        assert_eq!(
            codes,
            [
                (Some(1), "import.unknown_column"),
                (Some(1), "import.missing_column")
            ]
        );
        assert!(set.departments.is_empty());
    }

    #[test]
    fn every_bad_csv_row_is_reported_with_its_line() {
        let (_dir, store) = store();
        crate::demo::import_demo(&store).expect("demo");
        let text = "uscc,name,address,industry,risk_class,lat,lon,legal_rep\n\
                    92360736MA36XJ6832,甲,路1号,catering,a,25.6,115.3,张三\n\
                    92360736MA36XJ6833,乙,路2号,catering,B,25.6,115.3,李四\n\
                    92360736MA385BH132,丙,路3号,shipbuilding,E,95,x,\n\
                    92360736MA36XJ6832,丁,路4号,catering,C,25.6,115.3,王五\n\
                    92360736MA386K9Q7A,戊,路5号\n";
        let set = csv_set(Kind::Subjects, text);
        let found = problems(&set, &store);
        let at = |line: usize| -> Vec<&str> {
            found
                .iter()
                .filter(|p| p.1 == Some(line))
                .map(|p| p.2)
                .collect()
        };
        assert!(at(2).is_empty());
        assert_eq!(at(3), ["uscc.check_digit"]);
        assert_eq!(
            at(4),
            [
                "import.risk_class",
                "import.number",
                "import.empty",
                "import.out_of_range"
            ]
        );
        assert_eq!(at(5), ["import.duplicate"]);
        assert_eq!(at(6), ["import.cell_count"]);
        assert_eq!(set.subjects.len(), 2, "lines 2 and 5 parsed");
    }

    #[test]
    fn json_records_carry_their_index_and_line() {
        let text = "[\n  {\"code\": \"A\", \"name\": \"甲\", \"name_en\": \"a\"},\n  {\n    \"code\": \"B\",\n    \"name\": \"乙\",\n    \"nmae_en\": \"b\"\n  },\n  {\"code\": \"C\", \"name\": \"\", \"name_en\": \"c\"}\n]\n";
        let set = json_set(Kind::Departments, text);
        assert_eq!(set.departments.len(), 1);
        assert_eq!(set.departments[0].origin.index, Some(0));
        assert_eq!(set.departments[0].origin.line, Some(2));
        let found: Vec<_> = set
            .problems()
            .iter()
            .map(|p| (p.at.index, p.at.line, p.error.code()))
            .collect();
        assert_eq!(
            found,
            [
                (Some(1), Some(6), "import.shape"),
                (Some(2), Some(8), "import.empty")
            ]
        );
        let shown = set.problems()[0].to_string();
        assert!(shown.contains("departments.json 第 2 条记录"), "{shown}");
        assert!(shown.contains("record [1], line 6"), "{shown}");
        assert!(shown.contains("nmae_en"), "{shown}");
    }

    #[test]
    fn json_syntax_errors_and_non_arrays_are_reported_by_line() {
        let set = json_set(
            Kind::Industries,
            "[\n {\"code\": \"a\",\n  \"name\" \"x\"}\n]",
        );
        assert_eq!(set.problems().len(), 1);
        assert_eq!(set.problems()[0].at.line, Some(3));
        assert_eq!(set.problems()[0].error.code(), "import.syntax");
        let set = json_set(Kind::Industries, "{\"code\": \"a\"}");
        assert_eq!(set.problems()[0].error.code(), "import.not_an_array");
        let set = json_set(Kind::Industries, " [ ] ");
        assert!(set.problems().is_empty() && set.is_empty());
        let set = json_set(
            Kind::Subjects,
            r#"[{"uscc": "91350100M000100Y44", "name": "x", "address": "y", "industry": "z", "risk_class": "A", "location": {"lat": 1, "lon": 2}, "legal_rep": "w"}]"#,
        );
        let shown = set.problems()[0].to_string();
        assert!(shown.contains("校验位"), "{shown}");
    }

    #[test]
    fn references_resolve_against_the_files_and_the_database() {
        let (_dir, store) = store();
        let data = demo();
        // Departments and industries first, in their own import.
        let mut base = ImportSet::from_demo(&data);
        base.teams.clear();
        base.inspectors.clear();
        base.subjects.clear();
        base.items.clear();
        base.handbooks.clear();
        import(&store, &base).expect("base");
        // Then teams and inspectors in one CSV set: teams come from the
        // files, departments from the database.
        let mut set = ImportSet::default();
        set.read_text(
            "teams.csv",
            Kind::Teams,
            Format::Csv,
            "id,name,kind,departments\nT-9,九队,township_squad,SCJG;YJGL\nT-8,八队,village,SCJG\n",
        );
        set.read_text(
            "inspectors.csv",
            Kind::Inspectors,
            Format::Csv,
            "id,name,badge_no,department,team\n\
             I-901,甲,9001,SCJG,T-9\n\
             I-902,乙,9002,XFJY,T-9\n\
             I-903,丙,9003,SCJG,T-7\n\
             I-904,丁,9004,SCJG,T-8\n\
             I-905,戊,9001,NOPE,T-9\n",
        );
        let found = problems(&set, &store);
        let codes: Vec<_> = found
            .iter()
            .map(|(f, l, c)| (f.as_str(), l.unwrap_or(0), *c))
            .collect();
        assert_eq!(
            codes,
            [
                ("teams.csv", 3, "import.team_kind"),
                ("inspectors.csv", 3, "import.department_not_in_team"),
                ("inspectors.csv", 4, "import.unknown_reference"),
                // I-904's team T-8 is in the file but unreadable: its problem is already reported.
                ("inspectors.csv", 6, "import.duplicate"),
                ("inspectors.csv", 6, "import.unknown_reference"),
            ]
        );
        assert!(matches!(import(&store, &set), Err(ImportError::Invalid(_))));
        assert_eq!(store.team("T-9").expect("read"), None, "nothing imported");
    }

    #[test]
    fn handbooks_must_hold_together() {
        let (_dir, store) = store();
        crate::demo::import_demo(&store).expect("demo");
        let text = "industry,departments,lead_department,items\n\
                    catering,SCJG;XFJY,WSJK,SCJG-SP-001;XFJY-TY-001\n\
                    hotel,SCJG,SCJG,SW-CPY-001;NO-SUCH-ITEM\n\
                    pharmacy,SCJG,SCJG,SCJG-SP-001\n\
                    fishing,SCJG,SCJG,SCJG-SP-001;SCJG-SP-001\n";
        let found = problems(&csv_set(Kind::Handbooks, text), &store);
        let codes: Vec<_> = found.iter().map(|(_, l, c)| (l.unwrap_or(0), *c)).collect();
        assert_eq!(
            codes,
            [
                (2, "import.lead_not_listed"),
                (3, "import.item_outside_departments"),
                (3, "import.item_not_for_industry"),
                (3, "import.unknown_reference"),
                (4, "import.item_not_for_industry"),
                (5, "import.repeated"),
            ]
        );
    }

    #[test]
    fn files_that_cannot_be_read_are_problems_too() {
        let dir = tempfile::tempdir().expect("tempdir");
        let gbk = dir.path().join("subjects.csv");
        std::fs::write(&gbk, [0xc7, 0xe0, 0xcf, 0xaa, b'\n']).expect("write");
        let mut set = ImportSet::default();
        set.read_file(&gbk, None);
        set.read_file(&dir.path().join("missing.json"), Some(Kind::Items));
        set.read_file(&dir.path().join("people.csv"), None);
        set.read_file(&dir.path().join("items.xlsx"), None);
        let codes: Vec<_> = set.problems().iter().map(|p| p.error.code()).collect();
        assert_eq!(
            codes,
            [
                "import.not_utf8",
                "import.read",
                "import.unknown_kind",
                "import.format"
            ]
        );
    }
}
