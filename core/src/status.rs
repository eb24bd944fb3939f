//! Task status: derived, never stored.
//!
//! The status of a task is a fold over its append-only event list, walked in
//! the document's list order (identical on every replica after a merge), so
//! every replica derives the same status whatever order edits and syncs
//! arrived in. Each event is checked against the role rules; one that does
//! not apply is kept as history but changes nothing and is reported as an
//! [`Anomaly`].

use std::collections::BTreeSet;
use std::fmt;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::codes::ErrorCode;
use crate::domain::GeoPoint;

/// Who may do what: the role an actor acts in.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    #[autosurgeon(rename = "inspector")]
    Inspector,
    #[autosurgeon(rename = "supervisor")]
    Supervisor,
    #[autosurgeon(rename = "admin")]
    Admin,
}

/// Where a task stands.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Assigned,
    InProgress,
    Submitted,
    Returned,
    Approved,
    Published,
    Cancelled,
}

impl Status {
    pub const ALL: [Status; 7] = [
        Status::Assigned,
        Status::InProgress,
        Status::Submitted,
        Status::Returned,
        Status::Approved,
        Status::Published,
        Status::Cancelled,
    ];

    /// The stable name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::InProgress => "in_progress",
            Self::Submitted => "submitted",
            Self::Returned => "returned",
            Self::Approved => "approved",
            Self::Published => "published",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What an event records.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    Serialize,
    Deserialize,
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    #[autosurgeon(rename = "assigned")]
    Assigned,
    #[autosurgeon(rename = "checked_in")]
    CheckedIn,
    #[autosurgeon(rename = "submitted")]
    Submitted,
    #[autosurgeon(rename = "returned")]
    Returned,
    #[autosurgeon(rename = "approved")]
    Approved,
    #[autosurgeon(rename = "published")]
    Published,
    #[autosurgeon(rename = "cancelled")]
    Cancelled,
    #[autosurgeon(rename = "reopened")]
    Reopened,
}

/// One entry of a task's append-only event list.
#[derive(
    Debug, Clone, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
pub struct Event {
    pub kind: EventKind,
    /// Milliseconds since the Unix epoch, as the author's device saw it (advisory).
    pub at: i64,
    /// The person (inspector, supervisor or admin id) who acted.
    pub by: String,
    pub role: Role,
    /// Required for `returned`, `cancelled` and `reopened`.
    pub comment: Option<String>,
    /// Where it happened (check-ins record the position on site).
    pub location: Option<GeoPoint>,
}

/// Why an event was not applied.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, thiserror::Error, utoipa::ToSchema,
)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Rejection {
    #[error("{role:?} may not record “{kind:?}”")]
    RoleNotAllowed { kind: EventKind, role: Role },
    #[error("{by} is not an inspector of this task")]
    NotOnTask { by: String },
    #[error("“{kind:?}” does not apply to a task that is {from:?}")]
    WrongStatus {
        kind: EventKind,
        from: Option<Status>,
    },
    #[error("“{kind:?}” needs a comment or reason")]
    CommentRequired { kind: EventKind },
}

impl Rejection {
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::RoleNotAllowed { .. } => ErrorCode::StatusRoleNotAllowed,
            Self::NotOnTask { .. } => ErrorCode::StatusNotOnTask,
            Self::WrongStatus { .. } => ErrorCode::StatusWrongStatus,
            Self::CommentRequired { .. } => ErrorCode::StatusCommentRequired,
        }
    }
}

/// An event that is kept in the history but did not change the status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct Anomaly {
    /// Position of the event in the event list.
    pub index: u32,
    pub rejection: Rejection,
}

/// The result of folding a task's events.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusReport {
    /// `None` only for a document that has no valid `assigned` event.
    pub status: Option<Status>,
    pub anomalies: Vec<Anomaly>,
    /// Inspectors with an applied check-in, in id order.
    pub checked_in: BTreeSet<String>,
    /// Index of the last applied `submitted` event still in force
    /// (not followed by an applied `returned` or `reopened`).
    pub submitted_at_index: Option<u32>,
    /// The comment of the last applied `returned` event, if the task is returned.
    pub return_comment: Option<String>,
}

/// Whether `role` may record events of `kind` at all (the status they
/// apply to aside).
pub fn role_may_record(role: Role, kind: EventKind) -> bool {
    use EventKind as K;
    match kind {
        K::Assigned | K::Cancelled => matches!(role, Role::Supervisor | Role::Admin),
        K::CheckedIn | K::Submitted => role == Role::Inspector,
        K::Returned | K::Approved | K::Published => role == Role::Supervisor,
        K::Reopened => role == Role::Admin,
    }
}

/// The transition an event makes from `from`, or why it does not apply.
/// `inspectors` are the inspectors assigned to the task.
pub fn transition(
    from: Option<Status>,
    event: &Event,
    inspectors: &[String],
) -> Result<Status, Rejection> {
    use EventKind as K;
    use Status as S;
    let kind = event.kind;
    if !role_may_record(event.role, kind) {
        return Err(Rejection::RoleNotAllowed {
            kind,
            role: event.role,
        });
    }
    if matches!(kind, K::CheckedIn | K::Submitted) && !inspectors.contains(&event.by) {
        return Err(Rejection::NotOnTask {
            by: event.by.clone(),
        });
    }
    let needs_comment = matches!(kind, K::Returned | K::Cancelled | K::Reopened);
    if needs_comment && event.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(Rejection::CommentRequired { kind });
    }
    let to = match (kind, from) {
        (K::Assigned, None) => S::Assigned,
        (K::CheckedIn, Some(S::Assigned | S::InProgress | S::Returned)) => S::InProgress,
        (K::Submitted, Some(S::InProgress | S::Returned)) => S::Submitted,
        (K::Returned, Some(S::Submitted)) => S::Returned,
        (K::Approved, Some(S::Submitted)) => S::Approved,
        (K::Published, Some(S::Approved)) => S::Published,
        (K::Cancelled, Some(s)) if s != S::Published && s != S::Cancelled => S::Cancelled,
        (K::Reopened, Some(S::Published | S::Cancelled)) => S::Returned,
        _ => return Err(Rejection::WrongStatus { kind, from }),
    };
    Ok(to)
}

/// Folds the events in list order into a status.
pub fn fold(events: &[Event], inspectors: &[String]) -> StatusReport {
    let mut report = StatusReport::default();
    for (index, event) in events.iter().enumerate() {
        let index = index as u32;
        match transition(report.status, event, inspectors) {
            Ok(to) => {
                report.status = Some(to);
                match event.kind {
                    EventKind::CheckedIn => {
                        report.checked_in.insert(event.by.clone());
                    }
                    EventKind::Submitted => {
                        report.submitted_at_index = Some(index);
                        report.return_comment = None;
                    }
                    EventKind::Returned | EventKind::Reopened => {
                        report.submitted_at_index = None;
                        report.return_comment = event.comment.clone();
                    }
                    _ => {}
                }
            }
            Err(rejection) => report.anomalies.push(Anomaly { index, rejection }),
        }
    }
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: EventKind, by: &str, role: Role, comment: Option<&str>) -> Event {
        Event {
            kind,
            at: 0,
            by: by.into(),
            role,
            comment: comment.map(Into::into),
            location: None,
        }
    }

    fn inspectors() -> Vec<String> {
        vec!["I-1".into(), "I-2".into()]
    }

    #[test]
    fn the_review_loop_folds_to_published() {
        use EventKind::*;
        let events = vec![
            ev(Assigned, "S-1", Role::Supervisor, None),
            ev(CheckedIn, "I-1", Role::Inspector, None),
            ev(CheckedIn, "I-2", Role::Inspector, None),
            ev(Submitted, "I-1", Role::Inspector, None),
            ev(Returned, "S-1", Role::Supervisor, Some("照片不清晰")),
            ev(Submitted, "I-2", Role::Inspector, None),
            ev(Approved, "S-1", Role::Supervisor, None),
            ev(Published, "S-1", Role::Supervisor, None),
        ];
        let r = fold(&events, &inspectors());
        assert_eq!(r.status, Some(Status::Published));
        assert!(r.anomalies.is_empty(), "{:?}", r.anomalies);
        assert_eq!(r.checked_in.len(), 2);
    }

    #[test]
    fn invalid_events_are_kept_but_ignored() {
        use EventKind::*;
        let events = vec![
            ev(Assigned, "S-1", Role::Supervisor, None),
            ev(Approved, "I-1", Role::Inspector, None), // role
            ev(Submitted, "I-1", Role::Inspector, None), // status: not checked in
            ev(CheckedIn, "I-9", Role::Inspector, None), // not on task
            ev(CheckedIn, "I-1", Role::Inspector, None),
            ev(Submitted, "I-1", Role::Inspector, None),
            ev(Returned, "S-1", Role::Supervisor, Some("  ")), // comment required
            ev(Published, "S-1", Role::Supervisor, None),      // not approved
        ];
        let r = fold(&events, &inspectors());
        assert_eq!(r.status, Some(Status::Submitted));
        let codes: Vec<_> = r
            .anomalies
            .iter()
            .map(|a| (a.index, a.rejection.code().as_str()))
            .collect();
        assert_eq!(
            codes,
            vec![
                (1, "status.role_not_allowed"),
                (2, "status.wrong_status"),
                (3, "status.not_on_task"),
                (6, "status.comment_required"),
                (7, "status.wrong_status"),
            ]
        );
        assert_eq!(r.submitted_at_index, Some(5));
    }

    #[test]
    fn cancel_and_reopen() {
        use EventKind::*;
        let mut events = vec![
            ev(Assigned, "A-1", Role::Admin, None),
            ev(Cancelled, "S-1", Role::Supervisor, Some("企业已注销")),
            ev(Cancelled, "S-1", Role::Supervisor, Some("again")),
            ev(Reopened, "S-1", Role::Supervisor, Some("not admin")),
        ];
        let r = fold(&events, &inspectors());
        assert_eq!(r.status, Some(Status::Cancelled));
        assert_eq!(r.anomalies.len(), 2);
        events.push(ev(Reopened, "A-1", Role::Admin, Some("误注销")));
        let r = fold(&events, &inspectors());
        assert_eq!(r.status, Some(Status::Returned));
        assert_eq!(r.return_comment.as_deref(), Some("误注销"));
    }

    #[test]
    fn published_cannot_be_cancelled() {
        use EventKind::*;
        let events = vec![
            ev(Assigned, "S-1", Role::Supervisor, None),
            ev(CheckedIn, "I-1", Role::Inspector, None),
            ev(Submitted, "I-1", Role::Inspector, None),
            ev(Approved, "S-1", Role::Supervisor, None),
            ev(Published, "S-1", Role::Supervisor, None),
            ev(Cancelled, "S-1", Role::Supervisor, Some("x")),
        ];
        let r = fold(&events, &inspectors());
        assert_eq!(r.status, Some(Status::Published));
        assert_eq!(r.anomalies.len(), 1);
    }

    #[test]
    fn status_names_round_trip() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_string(&s).ok(),
                Some(format!("\"{}\"", s.as_str()))
            );
        }
        assert_eq!(Status::parse("bogus"), None);
    }
}
