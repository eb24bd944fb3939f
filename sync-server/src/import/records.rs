//! The importable domain types: how each is read from a CSV record and
//! checked field by field.

use super::*;

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
    pub(super) problems: Vec<Problem>,
    /// Keys of rows that could not be read: their problem is reported, so
    /// references to them are not reported again.
    pub(super) unreadable: HashSet<(Kind, String)>,
    /// Files in the order they were read, to report problems in that order.
    pub(super) files: Vec<String>,
}

/// A domain type that can be imported.
pub(super) trait Record: DeserializeOwned + Sized {
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
pub(super) struct Cells<'a> {
    pub(super) columns: &'a HashMap<String, usize>,
    pub(super) record: &'a csv::StringRecord,
}

impl Cells<'_> {
    fn get(&self, column: &str) -> &str {
        self.columns
            .get(column)
            .and_then(|&i| self.record.get(i))
            .unwrap_or("")
            .trim()
    }

    pub(super) fn text(&self, column: &str) -> String {
        self.get(column).to_owned()
    }

    /// A cell that may be empty or whose column may be missing.
    fn optional(&self, column: &str) -> Option<String> {
        Some(self.get(column))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
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
pub(super) fn done<T: Record>(value: T, mut errors: Vec<DataError>) -> Result<T, Vec<DataError>> {
    if errors.is_empty() {
        Ok(value)
    } else {
        errors.extend(value.check());
        Err(errors)
    }
}

/// An id or code: non-empty, letters, digits and `-_.` only (so that it is
/// safe in lists, file names and URLs).
pub(super) fn check_id(field: &'static str, value: &str, errors: &mut Vec<DataError>) {
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

pub(super) fn check_text(field: &'static str, value: &str, errors: &mut Vec<DataError>) {
    if value.trim().is_empty() {
        errors.push(DataError::Empty(field));
    }
}

/// A list of ids: each an id, none twice; `required`: at least one.
pub(super) fn check_list(
    field: &'static str,
    values: &[String],
    required: bool,
    errors: &mut Vec<DataError>,
) {
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

/// Departments and industries are both a code, a Chinese name and an
/// English one.
macro_rules! code_and_names {
    ($record:ty, $kind:expr, $rows:ident) => {
        impl Record for $record {
            const KIND: Kind = $kind;
            const KEY: &'static str = "code";
            fn key(&self) -> String {
                self.code.clone()
            }
            fn rows(set: &mut ImportSet) -> &mut Vec<Row<Self>> {
                &mut set.$rows
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
    };
}

code_and_names!(Department, Kind::Departments, departments);
code_and_names!(Industry, Kind::Industries, industries);

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
            township: c.optional("township"),
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
                township: c.optional("township"),
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
pub(super) fn check_subject(fields: [&String; 4], location: GeoPoint, e: &mut Vec<DataError>) {
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

impl ImportSet {
    /// The rows to write, without their origins.
    pub fn rows(&self) -> CatalogRows<'_> {
        fn values<T>(rows: &[Row<T>]) -> Vec<&T> {
            rows.iter().map(|r| &r.value).collect()
        }
        CatalogRows {
            departments: values(&self.departments),
            industries: values(&self.industries),
            teams: values(&self.teams),
            inspectors: values(&self.inspectors),
            subjects: values(&self.subjects),
            items: values(&self.items),
            handbooks: values(&self.handbooks),
        }
    }
}
