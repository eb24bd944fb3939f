//! The reference data (departments, industries, teams, inspectors,
//! subjects, items, handbooks) on PostgreSQL: one row type per table, read
//! and written whole, and the import's upsert that counts what changed.
//! The PostgreSQL form of `sqlite/catalog.rs`.

use super::conn::Sql;
use fieldloop_core::{Department, Handbook, Industry, Inspector, Item, Subject, Team};

use super::StoreError;
use crate::store::codec::{SubjectColumns, subject_from, team_kind_from, team_kind_name};

/// The values of a list table (`SELECT value … WHERE owner = $1 ORDER BY position`).
pub(super) fn list(c: &mut impl Sql, sql: &str, owner: &str) -> Result<Vec<String>, StoreError> {
    c.query(sql, &[&owner])?
        .iter()
        .map(|r| -> Result<String, StoreError> { Ok(r.try_get(0)?) })
        .collect()
}

/// Replaces the values of a list table for `owner`, keeping their order in
/// `position`.
pub(super) fn write_list(
    c: &mut impl Sql,
    table: &str,
    owner_column: &str,
    value_column: &str,
    owner: &str,
    values: &[String],
) -> Result<(), StoreError> {
    c.execute(
        &format!("DELETE FROM {table} WHERE {owner_column} = $1"),
        &[&owner],
    )?;
    if values.is_empty() {
        return Ok(());
    }
    let insert = format!(
        "INSERT INTO {table} ({owner_column}, {value_column}, position) VALUES ($1, $2, $3)"
    );
    for (position, value) in (0_i64..).zip(values) {
        c.execute(&insert, &[&owner, value, &position])?;
    }
    Ok(())
}

/// The department with `code`, if any.
pub(super) fn read_department(
    c: &mut impl Sql,
    code: &str,
) -> Result<Option<Department>, StoreError> {
    c.query_opt(
        "SELECT code, name, name_en FROM departments WHERE code = $1",
        &[&code],
    )?
    .map(|r| -> Result<_, StoreError> {
        Ok(Department {
            code: r.try_get(0)?,
            name: r.try_get(1)?,
            name_en: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Adds or replaces a department.
pub(super) fn write_department(c: &mut impl Sql, d: &Department) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO departments (code, name, name_en) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
        &[&d.code, &d.name, &d.name_en],
    )?;
    Ok(())
}

/// The industry with `code`, if any.
pub(super) fn read_industry(c: &mut impl Sql, code: &str) -> Result<Option<Industry>, StoreError> {
    c.query_opt(
        "SELECT code, name, name_en FROM industries WHERE code = $1",
        &[&code],
    )?
    .map(|r| -> Result<_, StoreError> {
        Ok(Industry {
            code: r.try_get(0)?,
            name: r.try_get(1)?,
            name_en: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Adds or replaces an industry.
pub(super) fn write_industry(c: &mut impl Sql, i: &Industry) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO industries (code, name, name_en) VALUES ($1, $2, $3)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, name_en = excluded.name_en",
        &[&i.code, &i.name, &i.name_en],
    )?;
    Ok(())
}

/// The team with `id` and its departments in order, if any.
pub(super) fn read_team(c: &mut impl Sql, id: &str) -> Result<Option<Team>, StoreError> {
    let Some(r) = c.query_opt("SELECT id, name, kind FROM teams WHERE id = $1", &[&id])? else {
        return Ok(None);
    };
    let id: String = r.try_get(0)?;
    let name: String = r.try_get(1)?;
    let kind: String = r.try_get(2)?;
    let departments = list(
        c,
        "SELECT department FROM team_departments WHERE team = $1 ORDER BY position",
        &id,
    )?;
    Ok(Some(Team {
        id,
        name,
        kind: team_kind_from(&kind)?,
        departments,
    }))
}

/// Adds or replaces a team with its departments.
pub(super) fn write_team(c: &mut impl Sql, t: &Team) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO teams (id, name, kind) VALUES ($1, $2, $3)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind",
        &[&t.id, &t.name, &team_kind_name(t.kind)],
    )?;
    write_list(
        c,
        "team_departments",
        "team",
        "department",
        &t.id,
        &t.departments,
    )
}

/// The inspector with `id`, if any (an empty township is none).
pub(super) fn read_inspector(c: &mut impl Sql, id: &str) -> Result<Option<Inspector>, StoreError> {
    c.query_opt(
        "SELECT id, name, badge_no, department, team, township FROM inspectors WHERE id = $1",
        &[&id],
    )?
    .map(|r| -> Result<_, StoreError> {
        Ok(Inspector {
            id: r.try_get(0)?,
            name: r.try_get(1)?,
            badge_no: r.try_get(2)?,
            department: r.try_get(3)?,
            team: r.try_get(4)?,
            township: r.try_get::<_, Option<String>>(5)?.filter(|t| !t.is_empty()),
        })
    })
    .transpose()
}

/// Adds or replaces an inspector (no township is stored as empty); whether
/// they are active is left as it is.
pub(super) fn write_inspector(c: &mut impl Sql, i: &Inspector) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO inspectors (id, name, badge_no, department, team, township)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, badge_no = excluded.badge_no,
             department = excluded.department, team = excluded.team,
             township = excluded.township",
        &[
            &i.id,
            &i.name,
            &i.badge_no,
            &i.department,
            &i.team,
            &i.township.as_deref().unwrap_or(""),
        ],
    )?;
    Ok(())
}

/// The subject with `uscc`, if any.
pub(super) fn read_subject(c: &mut impl Sql, uscc: &str) -> Result<Option<Subject>, StoreError> {
    c.query_opt(
        &format!("SELECT {SUBJECT_COLUMNS} FROM subjects WHERE uscc = $1"),
        &[&uscc],
    )?
    .map(|r| subject_from(subject_row(&r)?))
    .transpose()
}

/// The columns [`subject_row`] reads, in its order.
pub(super) const SUBJECT_COLUMNS: &str =
    "uscc, name, address, industry, risk_class, lat, lon, legal_rep, township";

/// One subjects row, selected as [`SUBJECT_COLUMNS`].
pub(super) fn subject_row(r: &postgres::Row) -> Result<SubjectColumns, StoreError> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
        r.try_get(7)?,
        r.try_get(8)?,
    ))
}

/// Adds or replaces a subject (no township is stored as empty).
pub(super) fn write_subject(c: &mut impl Sql, s: &Subject) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO subjects (uscc, name, address, industry, risk_class, lat, lon, legal_rep, township)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
         ON CONFLICT (uscc) DO UPDATE SET name = excluded.name, address = excluded.address,
             industry = excluded.industry, risk_class = excluded.risk_class,
             lat = excluded.lat, lon = excluded.lon, legal_rep = excluded.legal_rep,
             township = excluded.township",
        &[
            &s.uscc.as_str(),
            &s.name,
            &s.address,
            &s.industry,
            &s.risk_class.to_string(),
            &s.location.lat,
            &s.location.lon,
            &s.legal_rep,
            &s.township.as_deref().unwrap_or(""),
        ],
    )?;
    Ok(())
}

/// The item with `id` and its industries in order, if any.
pub(super) fn read_item(c: &mut impl Sql, id: &str) -> Result<Option<Item>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT id, department, title, legal_basis, requires_evidence FROM items WHERE id = $1",
        &[&id],
    )?
    else {
        return Ok(None);
    };
    let id: String = r.try_get(0)?;
    let department: String = r.try_get(1)?;
    let title: String = r.try_get(2)?;
    let legal_basis: String = r.try_get(3)?;
    let requires_evidence = r.try_get::<_, i64>(4)? != 0;
    let industries = list(
        c,
        "SELECT industry FROM item_industries WHERE item = $1 ORDER BY position",
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

/// Adds or replaces an item with its industries.
pub(super) fn write_item(c: &mut impl Sql, i: &Item) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO items (id, department, title, legal_basis, requires_evidence)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET department = excluded.department, title = excluded.title,
             legal_basis = excluded.legal_basis, requires_evidence = excluded.requires_evidence",
        &[
            &i.id,
            &i.department,
            &i.title,
            &i.legal_basis,
            &i64::from(i.requires_evidence),
        ],
    )?;
    write_list(
        c,
        "item_industries",
        "item",
        "industry",
        &i.id,
        &i.industries,
    )
}

/// The handbook of `industry` with its departments and items in order, if any.
pub(super) fn read_handbook(
    c: &mut impl Sql,
    industry: &str,
) -> Result<Option<Handbook>, StoreError> {
    let Some(r) = c.query_opt(
        "SELECT industry, lead_department FROM handbooks WHERE industry = $1",
        &[&industry],
    )?
    else {
        return Ok(None);
    };
    let industry: String = r.try_get(0)?;
    let lead_department: String = r.try_get(1)?;
    let departments = list(
        c,
        "SELECT department FROM handbook_departments WHERE handbook = $1 ORDER BY position",
        &industry,
    )?;
    let items = list(
        c,
        "SELECT item FROM handbook_items WHERE handbook = $1 ORDER BY position",
        &industry,
    )?;
    Ok(Some(Handbook {
        industry,
        departments,
        lead_department,
        items,
    }))
}

/// Adds or replaces a handbook with its departments and items.
pub(super) fn write_handbook(c: &mut impl Sql, h: &Handbook) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO handbooks (industry, lead_department) VALUES ($1, $2)
         ON CONFLICT (industry) DO UPDATE SET lead_department = excluded.lead_department",
        &[&h.industry, &h.lead_department],
    )?;
    write_list(
        c,
        "handbook_departments",
        "handbook",
        "department",
        &h.industry,
        &h.departments,
    )?;
    write_list(
        c,
        "handbook_items",
        "handbook",
        "item",
        &h.industry,
        &h.items,
    )
}
