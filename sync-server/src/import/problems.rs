//! What can be wrong with an import (per file, row and field), and what
//! an import did.

use super::*;

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
            Self::Uscc { error, .. } => error.code().as_str(),
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

pub use crate::store::Counts;

/// What an import did, per kind.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportCounts {
    by_kind: [Counts; 7],
}

impl ImportCounts {
    pub fn of(&self, kind: Kind) -> Counts {
        self.by_kind[kind.index()]
    }

    /// Rows added or updated, over all kinds.
    pub fn changed(&self) -> usize {
        self.by_kind.iter().map(|c| c.added + c.updated).sum()
    }
}

impl From<CatalogCounts> for ImportCounts {
    fn from(c: CatalogCounts) -> Self {
        let mut counts = Self::default();
        for (kind, of) in [
            (Kind::Departments, c.departments),
            (Kind::Industries, c.industries),
            (Kind::Teams, c.teams),
            (Kind::Inspectors, c.inspectors),
            (Kind::Subjects, c.subjects),
            (Kind::Items, c.items),
            (Kind::Handbooks, c.handbooks),
        ] {
            counts.by_kind[kind.index()] = of;
        }
        counts
    }
}
