//! The reference data (departments, industries, teams, inspectors,
//! subjects, items, handbooks): one row type per table, read and written
//! whole, and the import's upsert that counts what changed.

use fieldloop_core::{Department, Handbook, Industry, Inspector, Item, Subject, Team};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Cached, StoreError};
use crate::store::Counts;
use crate::store::codec::{self, SubjectColumns, subject_from, team_kind_from, team_kind_name};

/// The values of a list table (`SELECT value … WHERE owner = ?1 ORDER BY position`).
pub(super) fn list(conn: &Connection, sql: &str, owner: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let rows = stmt.query_map([owner], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Replaces the values of a list table for `owner`.
pub(super) fn write_list(
    conn: &Connection,
    table: &str,
    owner_column: &str,
    value_column: &str,
    owner: &str,
    values: &[String],
) -> Result<(), StoreError> {
    conn.cached_exec(
        &format!("DELETE FROM {table} WHERE {owner_column} = ?1"),
        [owner],
    )?;
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO {table} ({owner_column}, {value_column}, position) VALUES (?1, ?2, ?3)"
    ))?;
    for (position, value) in (0_i64..).zip(values) {
        stmt.execute(params![owner, value, position])?;
    }
    Ok(())
}

pub(super) fn read_department(
    conn: &Connection,
    code: &str,
) -> Result<Option<Department>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT code, name, name_en FROM departments WHERE code = ?1",
            [code],
            |r| {
                Ok(Department {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    name_en: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn write_department(conn: &Connection, d: &Department) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO departments (code, name, name_en) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
        params![d.code, d.name, d.name_en],
    )?;
    Ok(())
}

pub(super) fn read_industry(conn: &Connection, code: &str) -> Result<Option<Industry>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT code, name, name_en FROM industries WHERE code = ?1",
            [code],
            |r| {
                Ok(Industry {
                    code: r.get(0)?,
                    name: r.get(1)?,
                    name_en: r.get(2)?,
                })
            },
        )
        .optional()?)
}

pub(super) fn write_industry(conn: &Connection, i: &Industry) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO industries (code, name, name_en) VALUES (?1, ?2, ?3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
        params![i.code, i.name, i.name_en],
    )?;
    Ok(())
}

pub(super) fn read_team(conn: &Connection, id: &str) -> Result<Option<Team>, StoreError> {
    let row: Option<(String, String, String)> = conn
        .cached_row(
            "SELECT id, name, kind FROM teams WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    let Some((id, name, kind)) = row else {
        return Ok(None);
    };
    let departments = list(
        conn,
        "SELECT department FROM team_departments WHERE team = ?1 ORDER BY position",
        &id,
    )?;
    Ok(Some(Team {
        id,
        name,
        kind: team_kind_from(&kind)?,
        departments,
    }))
}

pub(super) fn write_team(conn: &Connection, t: &Team) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO teams (id, name, kind) VALUES (?1, ?2, ?3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
        params![t.id, t.name, team_kind_name(t.kind)],
    )?;
    write_list(
        conn,
        "team_departments",
        "team",
        "department",
        &t.id,
        &t.departments,
    )
}

pub(super) fn read_inspector(conn: &Connection, id: &str) -> Result<Option<Inspector>, StoreError> {
    Ok(conn
        .cached_row(
            "SELECT id, name, badge_no, department, team, township FROM inspectors WHERE id = ?1",
            [id],
            |r| {
                Ok(Inspector {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    badge_no: r.get(2)?,
                    department: r.get(3)?,
                    team: r.get(4)?,
                    township: r.get::<_, Option<String>>(5)?.filter(|t| !t.is_empty()),
                })
            },
        )
        .optional()?)
}

pub(super) fn write_inspector(conn: &Connection, i: &Inspector) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO inspectors (id, name, badge_no, department, team, township)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, badge_no = excluded.badge_no,
             department = excluded.department, team = excluded.team,
             township = excluded.township",
        params![
            i.id,
            i.name,
            i.badge_no,
            i.department,
            i.team,
            i.township.as_deref().unwrap_or("")
        ],
    )?;
    Ok(())
}

pub(super) fn read_subject(conn: &Connection, uscc: &str) -> Result<Option<Subject>, StoreError> {
    conn.cached_row(
        &format!("SELECT {SUBJECT_COLUMNS} FROM subjects WHERE uscc = ?1"),
        [uscc],
        subject_row,
    )
    .optional()?
    .map(subject_from)
    .transpose()
}

/// The columns [`subject_row`] reads, in its order.
pub(super) const SUBJECT_COLUMNS: &str =
    "uscc, name, address, industry, risk_class, lat, lon, legal_rep, township";

pub(super) fn subject_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<SubjectColumns> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

pub(super) fn write_subject(conn: &Connection, s: &Subject) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO subjects (uscc, name, address, industry, risk_class, lat, lon, legal_rep, township)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, address = excluded.address,
             industry = excluded.industry, risk_class = excluded.risk_class,
             lat = excluded.lat, lon = excluded.lon, legal_rep = excluded.legal_rep,
             township = excluded.township",
        params![
            s.uscc.as_str(),
            s.name,
            s.address,
            s.industry,
            s.risk_class.to_string(),
            s.location.lat,
            s.location.lon,
            s.legal_rep,
            s.township.as_deref().unwrap_or("")
        ],
    )?;
    Ok(())
}

pub(super) fn read_item(conn: &Connection, id: &str) -> Result<Option<Item>, StoreError> {
    let row: Option<(String, String, String, String, bool)> = conn
        .cached_row(
            "SELECT id, department, title, legal_basis, requires_evidence FROM items WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .optional()?;
    let Some((id, department, title, legal_basis, requires_evidence)) = row else {
        return Ok(None);
    };
    let industries = list(
        conn,
        "SELECT industry FROM item_industries WHERE item = ?1 ORDER BY position",
        &id,
    )?;
    Ok(Some(Item {
        id,
        department,
        title,
        legal_basis,
        industries,
        requires_evidence,
    }))
}

pub(super) fn write_item(conn: &Connection, i: &Item) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO items (id, department, title, legal_basis, requires_evidence)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (id) DO UPDATE SET department = excluded.department, title = excluded.title,
             legal_basis = excluded.legal_basis, requires_evidence = excluded.requires_evidence",
        params![
            i.id,
            i.department,
            i.title,
            i.legal_basis,
            i.requires_evidence
        ],
    )?;
    write_list(
        conn,
        "item_industries",
        "item",
        "industry",
        &i.id,
        &i.industries,
    )
}

pub(super) fn read_handbook(
    conn: &Connection,
    industry: &str,
) -> Result<Option<Handbook>, StoreError> {
    let row: Option<(String, String)> = conn
        .cached_row(
            "SELECT industry, lead_department FROM handbooks WHERE industry = ?1",
            [industry],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((industry, lead_department)) = row else {
        return Ok(None);
    };
    let departments = list(
        conn,
        "SELECT department FROM handbook_departments WHERE handbook = ?1 ORDER BY position",
        &industry,
    )?;
    let items = list(
        conn,
        "SELECT item FROM handbook_items WHERE handbook = ?1 ORDER BY position",
        &industry,
    )?;
    Ok(Some(Handbook {
        industry,
        departments,
        lead_department,
        items,
    }))
}

pub(super) fn write_handbook(conn: &Connection, h: &Handbook) -> Result<(), StoreError> {
    conn.cached_exec(
        "INSERT INTO handbooks (industry, lead_department) VALUES (?1, ?2)
         ON CONFLICT (industry) DO UPDATE SET lead_department = excluded.lead_department",
        params![h.industry, h.lead_department],
    )?;
    write_list(
        conn,
        "handbook_departments",
        "handbook",
        "department",
        &h.industry,
        &h.departments,
    )?;
    write_list(
        conn,
        "handbook_items",
        "handbook",
        "item",
        &h.industry,
        &h.items,
    )
}

/// [`codec::upsert`] on a connection: writes the rows of one table that
/// differ from what is stored, counting what it added, updated and left
/// unchanged.
pub(super) fn upsert<T: PartialEq>(
    conn: &Connection,
    rows: &[&T],
    key: impl Fn(&T) -> String,
    read: impl Fn(&Connection, &str) -> Result<Option<T>, StoreError>,
    write: impl Fn(&Connection, &T) -> Result<(), StoreError>,
) -> Result<Counts, StoreError> {
    codec::upsert(
        &mut &*conn,
        rows,
        key,
        |c, k| read(c, k),
        |c, v| write(c, v),
    )
}
