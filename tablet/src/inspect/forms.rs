//! What the screen sends: who this tablet is, a new finding or transfer, a GPS fix.

use super::*;

/// Who this tablet is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Identity {
    pub person: String,
    pub name: String,
    pub team: Option<String>,
    /// The team's name, e.g. 东山镇综合执法队.
    pub team_name: Option<String>,
    /// The server it syncs with; `None` for a demo tablet without a server.
    pub server: Option<String>,
    pub device: Option<String>,
}

/// What a new finding says; who and when are filled in by the tablet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewFinding {
    pub item_id: Option<String>,
    pub description: String,
    pub severity: Severity,
    pub rectification_order: Option<String>,
    pub rectification_deadline: Option<Millis>,
}

/// What a new lead transfer says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct NewTransfer {
    pub to_department: String,
    pub summary: String,
    pub criminal: bool,
    /// Evidence handed over with the lead.
    pub evidence: Vec<String>,
}

/// One GPS fix from the platform's location service (or a test).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(export)]
pub struct Fix {
    pub t: Millis,
    pub lat: f64,
    pub lon: f64,
    pub accuracy: f64,
}
