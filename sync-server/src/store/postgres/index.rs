//! The console's task index in PostgreSQL: written with each task document,
//! read by the list, the export and the dashboard (see `sqlite/index.rs`).
//!
//! Where the SQLite form differs:
//! - the text search uses the generated column `search_text` (name, USCC and
//!   code) with `ILIKE`, which a pg_trgm index serves, instead of the FTS5
//!   trigram table `task_search`: the same case-insensitive substring match;
//! - text sorts use `COLLATE "C"`, SQLite's byte order, and a sort on the
//!   nullable `status` says where NULLs go, as SQLite puts them (first when
//!   ascending, last when descending).

use super::conn::Sql;
use fieldloop_core::{Millis, Status};
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use crate::console::{
    ConsoleTaskRow, Dashboard, RECTIFICATION_SOON_MS, Scope, TaskFilter, TaskIndex, TaskPage,
    TaskSort, is_overdue,
};
use crate::store::StoreError;
use crate::store::codec::{DashboardTally, limit_param, spaced, unspaced};

/// Parameters of a statement built at run time, numbered `$1`, `$2`, … in
/// the order pushed.
type Params = Vec<Box<dyn ToSql + Sync>>;

/// `params` as the slice the client takes.
fn refs(params: &Params) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p.as_ref()).collect()
}

/// Pushes `value` and returns its placeholder.
fn param(params: &mut Params, value: impl ToSql + Sync + 'static) -> String {
    params.push(Box::new(value));
    format!("${}", params.len())
}

/// Writes (or replaces) a task's index row; its search text follows from
/// the generated column.
pub(super) fn write_index(
    c: &mut impl Sql,
    index: &TaskIndex,
    now: Millis,
) -> Result<(), postgres::Error> {
    c.execute(
        "INSERT INTO task_index (task_id, code, subject_name, uscc, status, team, departments,
             lead_department, inspectors, window_start, due, joint, open_conflicts, evidence,
             findings, rectification_due, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
         ON CONFLICT (task_id) DO UPDATE SET code = excluded.code,
             subject_name = excluded.subject_name, uscc = excluded.uscc,
             status = excluded.status, team = excluded.team,
             departments = excluded.departments, lead_department = excluded.lead_department,
             inspectors = excluded.inspectors, window_start = excluded.window_start,
             due = excluded.due, joint = excluded.joint, open_conflicts = excluded.open_conflicts,
             evidence = excluded.evidence, findings = excluded.findings,
             rectification_due = excluded.rectification_due, updated_at = excluded.updated_at",
        &[
            &index.id,
            &index.code,
            &index.subject_name,
            &index.uscc,
            &index.status.map(Status::as_str),
            &index.team,
            &spaced(&index.departments),
            &index.lead_department,
            &spaced(&index.inspectors),
            &index.window_start,
            &index.due,
            &i64::from(index.joint()),
            &i64::from(index.open_conflicts),
            &i64::from(index.evidence),
            &i64::from(index.findings),
            &index.rectification_due,
            &now,
        ],
    )?;
    Ok(())
}

/// Searches of at least this many characters match case-insensitively
/// anywhere in `search_text` (served by its trigram index).
const TRIGRAM: usize = 3;

/// The statuses a task may be overdue in, as SQL.
const OPEN_STATUSES: &str = "('assigned', 'in_progress', 'returned')";

/// `text` as an `ILIKE` pattern (backslash escapes) that matches it anywhere.
fn contains_pattern(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for ch in text.chars() {
        if matches!(ch, '\\' | '%' | '_') {
            pattern.push('\\');
        }
        pattern.push(ch);
    }
    pattern.push('%');
    pattern
}

/// The `WHERE` clause of `filter` at `now`, and its parameters.
fn where_clause(filter: &TaskFilter, now: Millis) -> (String, Params) {
    let mut clauses: Vec<String> = vec!["TRUE".into()];
    let mut values: Params = Vec::new();
    if let Some(scope) = &filter.scope {
        let mut any: Vec<String> = Vec::new();
        if !scope.teams.is_empty() {
            let list: Vec<String> = scope
                .teams
                .iter()
                .map(|t| param(&mut values, t.clone()))
                .collect();
            any.push(format!("team IN ({})", list.join(", ")));
        }
        for d in &scope.departments {
            let p = param(&mut values, format!(" {d} "));
            any.push(format!("strpos(departments, {p}) > 0"));
        }
        if any.is_empty() {
            any.push("FALSE".into());
        }
        clauses.push(format!("({})", any.join(" OR ")));
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| param(&mut values, s.as_str()))
            .collect();
        clauses.push(format!("status IN ({})", list.join(", ")));
    }
    if let Some(d) = &filter.department {
        let p = param(&mut values, format!(" {d} "));
        clauses.push(format!("strpos(departments, {p}) > 0"));
    }
    if let Some(t) = &filter.team {
        let p = param(&mut values, t.clone());
        clauses.push(format!("team = {p}"));
    }
    if let Some(i) = &filter.inspector {
        let p = param(&mut values, format!(" {i} "));
        clauses.push(format!("strpos(inspectors, {p}) > 0"));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if text.chars().count() >= TRIGRAM {
            // The text anywhere in "name USCC code", whatever its case.
            let p = param(&mut values, contains_pattern(text));
            clauses.push(format!("search_text ILIKE {p} ESCAPE E'\\\\'"));
        } else {
            let p = param(&mut values, text.to_owned());
            clauses.push(format!(
                "(strpos(subject_name, {p}::TEXT) > 0 OR strpos(uscc, upper({p}::TEXT)) > 0 \
                 OR strpos(code, upper({p}::TEXT)) > 0)"
            ));
        }
    }
    if let Some(from) = filter.due_from {
        let p = param(&mut values, from);
        clauses.push(format!("due >= {p}"));
    }
    if let Some(to) = filter.due_to {
        let p = param(&mut values, to);
        clauses.push(format!("due <= {p}"));
    }
    if filter.overdue {
        let p = param(&mut values, now);
        clauses.push(format!("due < {p} AND status IN {OPEN_STATUSES}"));
    }
    if filter.returned {
        clauses.push("status = 'returned'".into());
    }
    if filter.rectification_due {
        let p = param(&mut values, now + RECTIFICATION_SOON_MS);
        clauses.push(format!(
            "rectification_due IS NOT NULL AND rectification_due <= {p} AND status <> 'cancelled'"
        ));
    }
    if let Some(joint) = filter.joint {
        clauses.push(format!("joint = {}", i64::from(joint)));
    }
    if let Some((start, end)) = filter.year {
        let (s, e) = (param(&mut values, start), param(&mut values, end));
        clauses.push(format!(
            "window_start >= {s} AND window_start < {e} AND status IS NOT NULL AND status <> 'cancelled'"
        ));
    }
    (clauses.join(" AND "), values)
}

/// The `ORDER BY` of `sort`, in SQLite's order: text in byte order, a NULL
/// status first ascending and last descending.
fn order_by(sort: TaskSort) -> &'static str {
    match sort {
        TaskSort::DueAsc => r#"due ASC, code COLLATE "C" ASC"#,
        TaskSort::DueDesc => r#"due DESC, code COLLATE "C" DESC"#,
        TaskSort::CodeAsc => r#"code COLLATE "C" ASC"#,
        TaskSort::CodeDesc => r#"code COLLATE "C" DESC"#,
        TaskSort::SubjectAsc => r#"subject_name COLLATE "C" ASC, code COLLATE "C" ASC"#,
        TaskSort::SubjectDesc => r#"subject_name COLLATE "C" DESC, code COLLATE "C" DESC"#,
        TaskSort::StatusAsc => {
            r#"status COLLATE "C" ASC NULLS FIRST, due ASC, code COLLATE "C" ASC"#
        }
        TaskSort::StatusDesc => {
            r#"status COLLATE "C" DESC NULLS LAST, due ASC, code COLLATE "C" ASC"#
        }
        TaskSort::UpdatedAsc => r#"updated_at ASC, code COLLATE "C" ASC"#,
        TaskSort::UpdatedDesc => r#"updated_at DESC, code COLLATE "C" DESC"#,
    }
}

/// The columns [`row`] reads, in its order.
const COLUMNS: &str =
    "task_id, code, subject_name, uscc, status, team, departments, lead_department,
    inspectors, window_start, due, joint, open_conflicts, evidence, findings, rectification_due,
    updated_at";

/// A count column as the `u32` the row holds (out of range: damage).
fn count(r: &postgres::Row, i: usize) -> Result<u32, StoreError> {
    let n: i64 = r.try_get(i)?;
    u32::try_from(n).map_err(|_| StoreError::Invalid(format!("task index count {n}")))
}

/// One index row, selected as [`COLUMNS`], as the list shows it at `now`.
fn row(r: &postgres::Row, now: Millis) -> Result<ConsoleTaskRow, StoreError> {
    let status: Option<String> = r.try_get(4)?;
    let status = status.as_deref().and_then(Status::parse);
    let due: Millis = r.try_get(10)?;
    Ok(ConsoleTaskRow {
        id: r.try_get(0)?,
        code: r.try_get(1)?,
        subject_name: r.try_get(2)?,
        uscc: r.try_get(3)?,
        status,
        team: r.try_get(5)?,
        departments: unspaced(r.try_get::<_, &str>(6)?),
        lead_department: r.try_get(7)?,
        inspectors: unspaced(r.try_get::<_, &str>(8)?),
        window_start: r.try_get(9)?,
        due,
        joint: r.try_get::<_, i64>(11)? != 0,
        open_conflicts: count(r, 12)?,
        evidence: count(r, 13)?,
        findings: count(r, 14)?,
        rectification_due: r.try_get(15)?,
        updated_at: r.try_get(16)?,
        overdue: is_overdue(status, due, now),
    })
}

/// One page (from 1) of the tasks `filter` takes, in `sort` order, with
/// how many it takes in all.
pub(super) fn list(
    c: &mut impl Sql,
    filter: &TaskFilter,
    sort: TaskSort,
    page: u32,
    per_page: u32,
    now: Millis,
) -> Result<TaskPage, StoreError> {
    let (clause, mut values) = where_clause(filter, now);
    let total: i64 = c
        .query_one(
            &format!("SELECT count(*) FROM task_index WHERE {clause}"),
            &refs(&values),
        )?
        .try_get(0)?;
    let limit = param(&mut values, i64::from(per_page));
    let offset = param(
        &mut values,
        i64::from(page.saturating_sub(1)) * i64::from(per_page),
    );
    let sql = format!(
        "SELECT {COLUMNS} FROM task_index WHERE {clause} ORDER BY {} LIMIT {limit} OFFSET {offset}",
        order_by(sort),
    );
    let rows = c
        .query(&sql, &refs(&values))?
        .iter()
        .map(|r| row(r, now))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(TaskPage {
        total: total.unsigned_abs(),
        page,
        per_page,
        rows,
    })
}

/// Calls `each` for every task `filter` takes (at most `limit`), in `sort`
/// order, one row at a time.
pub(super) fn export(
    c: &mut impl Sql,
    filter: &TaskFilter,
    sort: TaskSort,
    limit: usize,
    now: Millis,
    each: &mut dyn FnMut(ConsoleTaskRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (clause, mut values) = where_clause(filter, now);
    let limit = param(&mut values, limit_param(limit));
    let sql = format!(
        "SELECT {COLUMNS} FROM task_index WHERE {clause} ORDER BY {} LIMIT {limit}",
        order_by(sort),
    );
    let mut rows = c.query_iter(&sql, values)?;
    while let Some(r) = rows.next()? {
        each(row(&r, now)?)?;
    }
    Ok(())
}

/// The dashboard's figures over the tasks `scope` covers, in one pass over
/// their index rows; "this year" is the year whose windows start in
/// `[year_start, year_end)`. Each figure equals the `total` of the list
/// with the matching filter (a test holds them to it).
pub(super) fn dashboard(
    c: &mut impl Sql,
    scope: Option<&Scope>,
    now: Millis,
    year: i32,
    year_start: Millis,
    year_end: Millis,
) -> Result<Dashboard, StoreError> {
    let scoped = TaskFilter {
        scope: scope.cloned(),
        ..TaskFilter::default()
    };
    let (clause, values) = where_clause(&scoped, now);
    let mut rows = c.query_iter(
        &format!(
            "SELECT status, departments, due, rectification_due, joint, window_start, uscc
             FROM task_index WHERE {clause}"
        ),
        values,
    )?;
    let mut tally = DashboardTally::new(now, year_start, year_end);
    while let Some(r) = rows.next()? {
        let status: Option<String> = r.try_get(0)?;
        let status = status.as_deref().and_then(Status::parse);
        let due: Millis = r.try_get(2)?;
        let Some(status) = status else {
            continue;
        };
        let listed: &str = r.try_get(1)?;
        if tally.add(status, due, r.try_get(3)?, listed, r.try_get(5)?) {
            tally.add_of_year(r.try_get::<_, i64>(4)? != 0, r.try_get(6)?);
        }
    }
    Ok(tally.finish(year))
}

/// How often each subject (by USCC) was inspected in the year
/// `[year_start, year_end)`, cancelled tasks aside.
pub(super) fn inspections_in(
    c: &mut impl Sql,
    usccs: &[String],
    year_start: Millis,
    year_end: Millis,
) -> Result<Vec<u64>, StoreError> {
    let sql = "SELECT count(*) FROM task_index WHERE uscc = $1 AND window_start >= $2
         AND window_start < $3 AND coalesce(status, '') <> 'cancelled'";
    usccs
        .iter()
        .map(|u| {
            let n: i64 = c.query_one(sql, &[u, &year_start, &year_end])?.try_get(0)?;
            Ok(n.unsigned_abs())
        })
        .collect()
}
