//! What the SQLite and the PostgreSQL stores write and read alike: how a
//! value is stored as a column and taken back from it, and the figures
//! computed over the rows read. No SQL: each store reads and writes the
//! columns in its own dialect and hands the plain values to these.

use std::collections::{BTreeMap, HashMap};

use automerge::ChangeHash;
use chrono::Datelike;
use fieldloop_core::{
    GeoPoint, Millis, RiskClass, Role, Severity, Status, Subject, TeamKind, Uscc,
};

use super::{Counts, FeedTask, PlanState, StoreError, TaskDelta, TaskSince};
use crate::claims::FeedbackRow;
use crate::console::{
    Dashboard, DepartmentCount, InspectionCount, RECTIFICATION_SOON_MS, StatusCounts, is_overdue,
};
use crate::leads::{Lead, LeadDraft, LeadEvent, LeadEventKind, LeadState};
use crate::rectify::{RectState, Rectification};

/// Beijing time, for the year in a lead's id.
pub(in crate::store) const CHINA_OFFSET_MS: i64 = 8 * 3_600_000;

/// A feed position as the stores' 64-bit integer; a cursor past the end is clamped.
pub(in crate::store) fn seq_param(cursor: u64) -> i64 {
    i64::try_from(cursor).unwrap_or(i64::MAX)
}

/// A `usize` limit as the stores' 64-bit integer (clamped).
pub(in crate::store) fn limit_param(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// A role as stored; anything else is damage, never silently an inspector.
pub(in crate::store) fn role_from(name: &str) -> Result<Role, StoreError> {
    match name {
        "inspector" => Ok(Role::Inspector),
        "supervisor" => Ok(Role::Supervisor),
        "admin" => Ok(Role::Admin),
        other => Err(StoreError::Invalid(format!("unknown role “{other}”"))),
    }
}

/// The role's stored name.
pub(in crate::store) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Inspector => "inspector",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

/// The stored name of a console user's role; an inspector is none.
pub(in crate::store) fn console_role_name(role: Role) -> Result<&'static str, StoreError> {
    match role {
        Role::Supervisor | Role::Admin => Ok(role_name(role)),
        Role::Inspector => Err(StoreError::Invalid(
            "an inspector is not a console user".into(),
        )),
    }
}

/// The stored name of a team kind.
pub(in crate::store) fn team_kind_name(kind: TeamKind) -> &'static str {
    match kind {
        TeamKind::TownshipSquad => "township_squad",
        TeamKind::CountyTeam => "county_team",
    }
}

/// A team kind from its stored name; anything else is damage.
pub(in crate::store) fn team_kind_from(name: &str) -> Result<TeamKind, StoreError> {
    match name {
        "township_squad" => Ok(TeamKind::TownshipSquad),
        "county_team" => Ok(TeamKind::CountyTeam),
        other => Err(StoreError::Invalid(format!("unknown team kind {other}"))),
    }
}

/// A risk class from its stored letter; anything else is damage.
pub(in crate::store) fn risk_class_from(name: &str) -> Result<RiskClass, StoreError> {
    RiskClass::ALL
        .into_iter()
        .find(|c| c.to_string() == name)
        .ok_or_else(|| StoreError::Invalid(format!("unknown risk class {name}")))
}

/// Writes the rows of one table that differ from what is stored (`read`
/// and `write` reach it through `c`), counting what it added, updated and
/// left unchanged.
pub(in crate::store) fn upsert<T: PartialEq, C: ?Sized>(
    c: &mut C,
    rows: &[&T],
    key: impl Fn(&T) -> String,
    read: impl Fn(&mut C, &str) -> Result<Option<T>, StoreError>,
    write: impl Fn(&mut C, &T) -> Result<(), StoreError>,
) -> Result<Counts, StoreError> {
    let mut counts = Counts::default();
    for &value in rows {
        match read(c, &key(value))? {
            Some(stored) if stored == *value => counts.unchanged += 1,
            stored => {
                write(c, value)?;
                if stored.is_none() {
                    counts.added += 1;
                } else {
                    counts.updated += 1;
                }
            }
        }
    }
    Ok(counts)
}

/// A subject's columns as stored (uscc, name, address, industry,
/// risk_class, lat, lon, legal_rep, township), before they are checked.
pub(in crate::store) type SubjectColumns = (
    String,
    String,
    String,
    String,
    String,
    f64,
    f64,
    String,
    String,
);

/// A subject from its stored columns (an empty township is none).
pub(in crate::store) fn subject_from(row: SubjectColumns) -> Result<Subject, StoreError> {
    let (uscc, name, address, industry, risk_class, lat, lon, legal_rep, township) = row;
    Ok(Subject {
        uscc: Uscc::parse(&uscc).map_err(|e| StoreError::Invalid(format!("{uscc}: {e}")))?,
        name,
        address,
        industry,
        risk_class: risk_class_from(&risk_class)?,
        location: GeoPoint { lat, lon },
        legal_rep,
        township: Some(township).filter(|t| !t.is_empty()),
    })
}

/// `[a, b]` as ` a b `, so that a substring search for ` a ` finds a whole code.
pub(in crate::store) fn spaced(values: &[String]) -> String {
    let mut s = String::from(" ");
    for v in values {
        s.push_str(v);
        s.push(' ');
    }
    s
}

/// The values [`spaced`] wrote (or any list stored space-separated).
pub(in crate::store) fn unspaced(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_owned).collect()
}

/// `value` as JSON text.
pub(in crate::store) fn json<T: serde::Serialize + ?Sized>(
    value: &T,
) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(format!("JSON: {e}")))
}

/// `text` parsed as JSON; `what` names it in the error.
pub(in crate::store) fn parsed<T: serde::de::DeserializeOwned>(
    what: &str,
    text: &str,
) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Invalid(format!("{what}: {e}")))
}

/// A list of codes or ids (a console user's teams and departments, a
/// feedback's departments) as the JSON text stored for it.
pub(in crate::store) fn list_json(values: &[String]) -> Result<String, StoreError> {
    serde_json::to_string(values).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A console user's list of teams or departments from its stored JSON text.
pub(in crate::store) fn list_from(text: &str) -> Result<Vec<String>, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Invalid(e.to_string()))
}

/// A plan state as stored; anything else is damage.
pub(in crate::store) fn state_from(s: &str) -> Result<PlanState, StoreError> {
    match s {
        "draft" => Ok(PlanState::Draft),
        "fixed" => Ok(PlanState::Fixed),
        "drawn" => Ok(PlanState::Drawn),
        other => Err(StoreError::Invalid(format!("plan state {other}"))),
    }
}

/// A feed row of `changed_since` / `unsent_since`: the task and its first
/// and last positions.
pub(in crate::store) fn feed_task(id: String, first: i64, last: i64) -> FeedTask {
    FeedTask {
        id,
        first: first.unsigned_abs(),
        last: last.unsigned_abs(),
    }
}

/// A task's feed entries after a cursor, gathered in order for `task_since`.
pub(in crate::store) struct EntriesSince {
    /// The last entry's heads, as stored.
    latest: Option<Vec<u8>>,
    /// The entries' changes one after the other; `None` once an entry lacks its changes.
    changes: Option<Vec<u8>>,
}

impl EntriesSince {
    /// No entries yet.
    pub(in crate::store) fn new() -> Self {
        Self {
            latest: None,
            changes: Some(Vec::new()),
        }
    }

    /// Adds the next entry: its heads as stored and the changes it added, if kept.
    pub(in crate::store) fn push(&mut self, heads: Vec<u8>, added: Option<&[u8]>) {
        self.latest = Some(heads);
        match (&mut self.changes, added) {
            (Some(all), Some(added)) => all.extend_from_slice(added),
            _ => self.changes = None,
        }
    }

    /// What a device at the cursor lacks, given `base`, the task's heads at
    /// the cursor: the changes when every entry kept them and there is a
    /// base, or else the whole document, read by `doc` (its bytes as stored
    /// and how many runs of changes follow the snapshot in them). `None`: no
    /// such task.
    pub(in crate::store) fn since(
        self,
        base: Option<Vec<ChangeHash>>,
        doc: impl FnOnce() -> Result<Option<(Vec<u8>, u32)>, StoreError>,
    ) -> Result<Option<TaskSince>, StoreError> {
        let heads = match (self.latest, &base) {
            (Some(latest), _) => fieldloop_core::sync::heads_from_bytes(&latest),
            (None, Some(base)) => base.clone(),
            (None, None) => return Ok(None),
        };
        let delta = match (self.changes, base) {
            (Some(changes), Some(_)) => TaskDelta::Changes(changes),
            (_, base) => {
                let Some((doc, chunks)) = doc()? else {
                    return Ok(None);
                };
                TaskDelta::Whole { doc, base, chunks }
            }
        };
        Ok(Some(TaskSince { heads, delta }))
    }
}

/// The dashboard's figures, counted one task-index row at a time.
pub(in crate::store) struct DashboardTally {
    now: Millis,
    /// Rectification deadlines up to here count as due.
    soon: Millis,
    year_start: Millis,
    year_end: Millis,
    by_status: StatusCounts,
    departments: BTreeMap<String, StatusCounts>,
    overdue: u64,
    returned: u64,
    rectification_due: u64,
    joint: u64,
    single: u64,
    per_subject: HashMap<String, u64>,
}

impl DashboardTally {
    /// Nothing counted yet, at `now`; "this year" is the year whose windows
    /// start in `[year_start, year_end)`.
    pub(in crate::store) fn new(now: Millis, year_start: Millis, year_end: Millis) -> Self {
        Self {
            now,
            soon: now + RECTIFICATION_SOON_MS,
            year_start,
            year_end,
            by_status: StatusCounts::new(),
            departments: BTreeMap::new(),
            overdue: 0,
            returned: 0,
            rectification_due: 0,
            joint: 0,
            single: 0,
            per_subject: HashMap::new(),
        }
    }

    /// Counts a task of `status`, due at `due`, with the rectification
    /// deadline `deadline`, of the departments `listed` ([`spaced`]), whose
    /// window starts at `start`. Returns whether it is one of this year's
    /// tasks (not cancelled), which [`Self::add_of_year`] then counts too.
    pub(in crate::store) fn add(
        &mut self,
        status: Status,
        due: Millis,
        deadline: Option<Millis>,
        listed: &str,
        start: Millis,
    ) -> bool {
        if deadline.is_some_and(|d| d <= self.soon) && status != Status::Cancelled {
            self.rectification_due += 1;
        }
        *self.by_status.entry(status).or_default() += 1;
        for d in listed.split_whitespace() {
            *self
                .departments
                .entry(d.to_owned())
                .or_default()
                .entry(status)
                .or_default() += 1;
        }
        if is_overdue(Some(status), due, self.now) {
            self.overdue += 1;
        }
        if status == Status::Returned {
            self.returned += 1;
        }
        status != Status::Cancelled && (self.year_start..self.year_end).contains(&start)
    }

    /// Counts one of this year's tasks: joint or single, and for its subject `uscc`.
    pub(in crate::store) fn add_of_year(&mut self, joint: bool, uscc: String) {
        if joint {
            self.joint += 1;
        } else {
            self.single += 1;
        }
        *self.per_subject.entry(uscc).or_default() += 1;
    }

    /// The dashboard of `year` from what was counted.
    pub(in crate::store) fn finish(self, year: i32) -> Dashboard {
        let mut histogram: BTreeMap<u64, u64> = BTreeMap::new();
        for n in self.per_subject.into_values() {
            *histogram.entry(n).or_default() += 1;
        }
        Dashboard {
            year,
            by_status: self.by_status,
            by_department: self
                .departments
                .into_iter()
                .map(|(code, by_status)| DepartmentCount {
                    code,
                    total: by_status.values().sum(),
                    by_status,
                })
                .collect(),
            overdue: self.overdue,
            returned: self.returned,
            rectification_due: self.rectification_due,
            joint: self.joint,
            single: self.single,
            inspections_per_subject: histogram
                .into_iter()
                .map(|(inspections, subjects)| InspectionCount {
                    inspections,
                    subjects,
                })
                .collect(),
        }
    }
}

/// A lead from its stored JSON body.
pub(in crate::store) fn lead_from(body: &str) -> Result<Lead, StoreError> {
    parsed("stored lead", body)
}

/// The new lead of `draft`, numbered `seq` (its id `XS-<year received,
/// Beijing time>-<seq>`), with its first event; no duplicate linked yet.
pub(in crate::store) fn received_lead(
    draft: &LeadDraft,
    seq: i64,
    now: Millis,
) -> (Lead, Vec<LeadEvent>) {
    let year =
        chrono::DateTime::from_timestamp_millis(draft.received_at.saturating_add(CHINA_OFFSET_MS))
            .map_or(1970, |d| d.year());
    let lead = draft.clone().into_lead(format!("XS-{year}-{seq:06}"), now);
    let mut received = LeadEvent::new(LeadEventKind::Received, &draft.by, now);
    received.departments = lead.departments.clone();
    received.task = lead.source_task.clone();
    (lead, vec![received])
}

/// Marks a new `lead` a duplicate of the open lead `of`, with the event that says so.
pub(in crate::store) fn link_duplicate(
    lead: &mut Lead,
    events: &mut Vec<LeadEvent>,
    of: String,
    now: Millis,
) {
    lead.state = LeadState::Duplicate;
    lead.duplicate_of = Some(of.clone());
    let mut linked = LeadEvent::new(LeadEventKind::DuplicateLinked, crate::leads::SYSTEM, now);
    linked.duplicate_of = Some(of);
    events.push(linked);
}

/// A severity's stored name.
pub(in crate::store) fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Minor => "minor",
        Severity::Major => "major",
        Severity::Critical => "critical",
    }
}

/// A severity from its stored name; anything else is damage.
pub(in crate::store) fn severity_from(s: &str) -> Result<Severity, StoreError> {
    Ok(match s {
        "minor" => Severity::Minor,
        "major" => Severity::Major,
        "critical" => Severity::Critical,
        other => return Err(StoreError::Invalid(format!("severity {other}"))),
    })
}

/// A rectification's columns as stored, in the stores' `COLUMNS` order:
/// id to finding_id, item_id, item_title, description to
/// rectification_order, deadline, ordered_at, state, recheck_task,
/// recheck_code, closed_at, updated_at.
pub(in crate::store) type RectificationColumns = (
    [String; 9],
    Option<String>,
    Option<String>,
    [String; 3],
    i64,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
);

/// A rectification from its stored columns, as stored (never `due`, not
/// marked overdue).
pub(in crate::store) fn rectification_from(
    row: RectificationColumns,
) -> Result<Rectification, StoreError> {
    let (
        [
            id,
            task_id,
            task_code,
            team,
            departments,
            lead_department,
            uscc,
            subject_name,
            finding_id,
        ],
        item_id,
        item_title,
        [description, severity, order],
        deadline,
        ordered_at,
        state,
        recheck_task,
        recheck_code,
        closed_at,
        updated_at,
    ) = row;
    let state = RectState::parse(&state)
        .filter(|s| *s != RectState::Due)
        .ok_or_else(|| StoreError::Invalid(format!("rectification state {state}")))?;
    Ok(Rectification {
        id,
        task_id,
        task_code,
        team,
        departments: unspaced(&departments),
        lead_department,
        uscc,
        subject_name,
        finding_id,
        item_id,
        item_title,
        description,
        severity: severity_from(&severity)?,
        order,
        deadline,
        ordered_at,
        state,
        overdue: false,
        recheck_task,
        recheck_code,
        closed_at,
        updated_at,
    })
}

/// A feedback row's columns as stored, in the stores' `COLUMNS` order:
/// (task_id, team, departments), (rating, badge_shown, rights_told,
/// money_asked), (comment, address_hash, received_at), (task_code,
/// subject_name).
pub(in crate::store) type FeedbackColumns = (
    (String, String, String),
    (u8, bool, bool, bool),
    (String, String, i64),
    (String, String),
);

/// A feedback row from its stored columns.
pub(in crate::store) fn feedback_from(row: FeedbackColumns) -> Result<FeedbackRow, StoreError> {
    let (
        (task_id, team, departments),
        (rating, badge_shown, rights_told, money_asked),
        (comment, address_hash, received_at),
        (task_code, subject_name),
    ) = row;
    Ok(FeedbackRow {
        task_id,
        task_code,
        subject_name,
        team,
        departments: parsed("feedback departments", &departments)?,
        rating,
        badge_shown,
        rights_told,
        money_asked,
        comment,
        address_hash,
        received_at,
    })
}
