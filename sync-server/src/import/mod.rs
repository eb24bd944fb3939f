//! `fieldloop-server import`: departments, industries, teams, inspectors,
//! subjects, catalog items and handbooks from CSV or JSON files.
//!
//! Files are read into typed rows that remember where they came from (file
//! and line), every row is checked (its fields, duplicates, and references
//! to rows of the same import or already in the database), and only a set
//! without a single problem is handed to [`Store::write_catalog`], which writes it
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

#[cfg(feature = "demo")]
use fieldloop_core::demo::DemoData;
use fieldloop_core::{
    Department, GeoPoint, Handbook, Industry, Inspector, Item, RiskClass, Subject, Team, TeamKind,
    Uscc, UsccError,
};
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::store::{CatalogCounts, CatalogRows, Store, StoreError};

mod kinds;
mod problems;
mod read;
mod records;
mod references;

pub use kinds::*;
pub use problems::*;

pub use records::*;
use references::*;

/// Checks `set` and, if it has no problem at all, writes it in one transaction.
pub fn import(store: &dyn Store, set: &ImportSet) -> Result<ImportCounts, ImportError> {
    set.check(store)?;
    Ok(store.write_catalog(&set.rows())?.into())
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
