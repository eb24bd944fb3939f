//! The console's task index in SQLite: written with each task document,
//! read by the list, the export and the dashboard.

use fieldloop_core::{Millis, Status};
use rusqlite::types::Value;
use rusqlite::{Connection, params};

use super::Cached;
use crate::console::{
    ConsoleTaskRow, Dashboard, RECTIFICATION_SOON_MS, Scope, TaskFilter, TaskIndex, TaskPage,
    TaskSort, is_overdue,
};
use crate::store::StoreError;
use crate::store::codec::{DashboardTally, limit_param, spaced, unspaced};

/// Writes (or replaces) a task's index row.
pub(super) fn write_index(
    conn: &Connection,
    index: &TaskIndex,
    now: Millis,
) -> rusqlite::Result<()> {
    conn.cached_exec(
        "INSERT INTO task_index (task_id, code, subject_name, uscc, status, team, departments,
             lead_department, inspectors, window_start, due, joint, open_conflicts, evidence,
             findings, rectification_due, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)
         ON CONFLICT (task_id) DO UPDATE SET code = ?2, subject_name = ?3, uscc = ?4,
             status = ?5, team = ?6, departments = ?7, lead_department = ?8, inspectors = ?9,
             window_start = ?10, due = ?11, joint = ?12, open_conflicts = ?13, evidence = ?14,
             findings = ?15, rectification_due = ?16, updated_at = ?17",
        params![
            index.id,
            index.code,
            index.subject_name,
            index.uscc,
            index.status.map(Status::as_str),
            index.team,
            spaced(&index.departments),
            index.lead_department,
            spaced(&index.inspectors),
            index.window_start,
            index.due,
            index.joint(),
            index.open_conflicts,
            index.evidence,
            index.findings,
            index.rectification_due,
            now,
        ],
    )?;
    let rowid: i64 = conn.cached_row(
        "SELECT rowid FROM task_index WHERE task_id = ?1",
        [&index.id],
        |r| r.get(0),
    )?;
    conn.cached_exec("DELETE FROM task_search WHERE rowid = ?1", [rowid])?;
    conn.cached_exec(
        "INSERT INTO task_search (rowid, text) VALUES (?1, ?2)",
        params![
            rowid,
            format!("{} {} {}", index.subject_name, index.uscc, index.code)
        ],
    )?;
    Ok(())
}

/// Searches of at least this many characters use the trigram index.
const TRIGRAM: usize = 3;

/// The statuses a task may be overdue in, as SQL.
const OPEN_STATUSES: &str = "('assigned', 'in_progress', 'returned')";

/// The `WHERE` clause of `filter` at `now`, and its parameters.
fn where_clause(filter: &TaskFilter, now: Millis) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = vec!["1".into()];
    let mut values: Vec<Value> = Vec::new();
    let param = |values: &mut Vec<Value>, v: Value| {
        values.push(v);
        format!("?{}", values.len())
    };
    if let Some(scope) = &filter.scope {
        let mut any: Vec<String> = Vec::new();
        if !scope.teams.is_empty() {
            let list: Vec<String> = scope
                .teams
                .iter()
                .map(|t| param(&mut values, Value::Text(t.clone())))
                .collect();
            any.push(format!("team IN ({})", list.join(", ")));
        }
        for d in &scope.departments {
            let p = param(&mut values, Value::Text(format!(" {d} ")));
            any.push(format!("instr(departments, {p}) > 0"));
        }
        if any.is_empty() {
            any.push("0".into());
        }
        clauses.push(format!("({})", any.join(" OR ")));
    }
    if !filter.statuses.is_empty() {
        let list: Vec<String> = filter
            .statuses
            .iter()
            .map(|s| param(&mut values, Value::Text(s.as_str().into())))
            .collect();
        clauses.push(format!("status IN ({})", list.join(", ")));
    }
    if let Some(d) = &filter.department {
        let p = param(&mut values, Value::Text(format!(" {d} ")));
        clauses.push(format!("instr(departments, {p}) > 0"));
    }
    if let Some(t) = &filter.team {
        let p = param(&mut values, Value::Text(t.clone()));
        clauses.push(format!("team = {p}"));
    }
    if let Some(i) = &filter.inspector {
        let p = param(&mut values, Value::Text(format!(" {i} ")));
        clauses.push(format!("instr(inspectors, {p}) > 0"));
    }
    if let Some(text) = filter
        .text
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if text.chars().count() >= TRIGRAM {
            // One phrase of trigrams: the text anywhere in name, USCC or code.
            let phrase = format!("\"{}\"", text.replace('"', "\"\""));
            let p = param(&mut values, Value::Text(phrase));
            clauses.push(format!(
                "rowid IN (SELECT rowid FROM task_search WHERE task_search MATCH {p})"
            ));
        } else {
            let p = param(&mut values, Value::Text(text.to_owned()));
            clauses.push(format!(
                "(instr(subject_name, {p}) > 0 OR instr(uscc, upper({p})) > 0 OR instr(code, upper({p})) > 0)"
            ));
        }
    }
    if let Some(from) = filter.due_from {
        let p = param(&mut values, Value::Integer(from));
        clauses.push(format!("due >= {p}"));
    }
    if let Some(to) = filter.due_to {
        let p = param(&mut values, Value::Integer(to));
        clauses.push(format!("due <= {p}"));
    }
    if filter.overdue {
        let p = param(&mut values, Value::Integer(now));
        clauses.push(format!("due < {p} AND status IN {OPEN_STATUSES}"));
    }
    if filter.returned {
        clauses.push("status = 'returned'".into());
    }
    if filter.rectification_due {
        let p = param(&mut values, Value::Integer(now + RECTIFICATION_SOON_MS));
        clauses.push(format!(
            "rectification_due IS NOT NULL AND rectification_due <= {p} AND status <> 'cancelled'"
        ));
    }
    if let Some(joint) = filter.joint {
        clauses.push(format!("joint = {}", i32::from(joint)));
    }
    if let Some((start, end)) = filter.year {
        let (s, e) = (
            param(&mut values, Value::Integer(start)),
            param(&mut values, Value::Integer(end)),
        );
        clauses.push(format!(
            "window_start >= {s} AND window_start < {e} AND status IS NOT NULL AND status <> 'cancelled'"
        ));
    }
    (clauses.join(" AND "), values)
}

fn order_by(sort: TaskSort) -> &'static str {
    match sort {
        TaskSort::DueAsc => "due ASC, code ASC",
        TaskSort::DueDesc => "due DESC, code DESC",
        TaskSort::CodeAsc => "code ASC",
        TaskSort::CodeDesc => "code DESC",
        TaskSort::SubjectAsc => "subject_name ASC, code ASC",
        TaskSort::SubjectDesc => "subject_name DESC, code DESC",
        TaskSort::StatusAsc => "status ASC, due ASC, code ASC",
        TaskSort::StatusDesc => "status DESC, due ASC, code ASC",
        TaskSort::UpdatedAsc => "updated_at ASC, code ASC",
        TaskSort::UpdatedDesc => "updated_at DESC, code DESC",
    }
}

const COLUMNS: &str =
    "task_id, code, subject_name, uscc, status, team, departments, lead_department,
    inspectors, window_start, due, joint, open_conflicts, evidence, findings, rectification_due,
    updated_at";

fn row(r: &rusqlite::Row<'_>, now: Millis) -> rusqlite::Result<ConsoleTaskRow> {
    let status: Option<String> = r.get(4)?;
    let status = status.as_deref().and_then(Status::parse);
    let due: Millis = r.get(10)?;
    Ok(ConsoleTaskRow {
        id: r.get(0)?,
        code: r.get(1)?,
        subject_name: r.get(2)?,
        uscc: r.get(3)?,
        status,
        team: r.get(5)?,
        departments: unspaced(&r.get::<_, String>(6)?),
        lead_department: r.get(7)?,
        inspectors: unspaced(&r.get::<_, String>(8)?),
        window_start: r.get(9)?,
        due,
        joint: r.get(11)?,
        open_conflicts: r.get(12)?,
        evidence: r.get(13)?,
        findings: r.get(14)?,
        rectification_due: r.get(15)?,
        updated_at: r.get(16)?,
        overdue: is_overdue(status, due, now),
    })
}

pub(super) fn list(
    conn: &Connection,
    filter: &TaskFilter,
    sort: TaskSort,
    page: u32,
    per_page: u32,
    now: Millis,
) -> Result<TaskPage, StoreError> {
    let (clause, mut values) = where_clause(filter, now);
    let total: i64 = conn.cached_row(
        &format!("SELECT count(*) FROM task_index WHERE {clause}"),
        rusqlite::params_from_iter(values.iter()),
        |r| r.get(0),
    )?;
    values.push(Value::Integer(i64::from(per_page)));
    values.push(Value::Integer(
        i64::from(page.saturating_sub(1)) * i64::from(per_page),
    ));
    let n = values.len();
    let sql = format!(
        "SELECT {COLUMNS} FROM task_index WHERE {clause} ORDER BY {} LIMIT ?{} OFFSET ?{n}",
        order_by(sort),
        n - 1
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(values.iter()), |r| row(r, now))?
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
    conn: &Connection,
    filter: &TaskFilter,
    sort: TaskSort,
    limit: usize,
    now: Millis,
    each: &mut dyn FnMut(ConsoleTaskRow) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let (clause, mut values) = where_clause(filter, now);
    values.push(Value::Integer(limit_param(limit)));
    let sql = format!(
        "SELECT {COLUMNS} FROM task_index WHERE {clause} ORDER BY {} LIMIT ?{}",
        order_by(sort),
        values.len()
    );
    let mut stmt = conn.prepare(&sql)?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    while let Some(r) = rows.next()? {
        each(row(r, now)?)?;
    }
    Ok(())
}

/// The dashboard's figures over the tasks `scope` covers, in one pass over
/// their index rows; "this year" is the year whose windows start in
/// `[year_start, year_end)`. Each figure equals the `total` of the list
/// with the matching filter (a test holds them to it).
pub(super) fn dashboard(
    conn: &Connection,
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
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT status, departments, due, rectification_due, joint, window_start, uscc
         FROM task_index WHERE {clause}"
    ))?;
    let mut rows = stmt.query(rusqlite::params_from_iter(values.iter()))?;
    let mut tally = DashboardTally::new(now, year_start, year_end);
    while let Some(r) = rows.next()? {
        let status: Option<String> = r.get(0)?;
        let status = status.as_deref().and_then(Status::parse);
        let due: Millis = r.get(2)?;
        let Some(status) = status else {
            continue;
        };
        let listed: String = r.get(1)?;
        if tally.add(status, due, r.get(3)?, &listed, r.get(5)?) {
            tally.add_of_year(r.get(4)?, r.get(6)?);
        }
    }
    Ok(tally.finish(year))
}

/// How often each subject (by USCC) was inspected in the year
/// `[year_start, year_end)`, cancelled tasks aside.
pub(super) fn inspections_in(
    conn: &Connection,
    usccs: &[String],
    year_start: Millis,
    year_end: Millis,
) -> Result<Vec<u64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM task_index WHERE uscc = ?1 AND window_start >= ?2
         AND window_start < ?3 AND coalesce(status, '') <> 'cancelled'",
    )?;
    usccs
        .iter()
        .map(|u| {
            let n: i64 = stmt.query_row(params![u, year_start, year_end], |r| r.get(0))?;
            Ok(n.unsigned_abs())
        })
        .collect()
}
