//! Reading files into an import set: CSV with line numbers that match
//! the file, JSON arrays, each row with its origin.

use super::*;

/// 1-based line of byte `offset` in `text`.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
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
pub(super) struct Lines<'a> {
    text: &'a str,
    offset: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    pub(super) fn new(text: &'a str) -> Self {
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

/// serde_json's message without its " at line L column C" (which is
/// relative to the record, not the file).
pub(super) fn message_of(e: &serde_json::Error) -> String {
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
    #[cfg(feature = "demo")]
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
            if !expected.contains(&name.as_str())
                && !T::KIND.optional_columns().contains(&name.as_str())
            {
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
        // Syntax first, with serde_json's line and column in the whole file;
        // a valid array is kept as raw records, each a slice of `text`, so
        // its offset gives the line where the record starts.
        let records = match serde_json::from_str::<Vec<&RawValue>>(text) {
            Ok(records) => records,
            Err(e) => {
                let error = if e.classify() == serde_json::error::Category::Data {
                    DataError::NotAnArray
                } else {
                    DataError::Syntax {
                        format: "JSON",
                        message: format!(
                            "{} (第 {c} 列, column {c})",
                            message_of(&e),
                            c = e.column()
                        ),
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
        };
        // Lines are counted forward from the previous record, so a large
        // file costs one pass.
        let (mut counted_to, mut line) = (0, 1);
        for (index, raw) in records.into_iter().enumerate() {
            let record = raw.get();
            // `record` borrows from `text`: a RawValue is the input's own slice.
            let start = record.as_ptr() as usize - text.as_ptr() as usize;
            line += line_at(&text[counted_to..], start - counted_to) - 1;
            counted_to = start;
            let first_line = line;
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
