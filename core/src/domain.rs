//! The nouns of joint inspection that are not the task itself: departments,
//! industries, teams, inspectors, inspected subjects, the catalog of
//! supervision items and the per-industry handbooks that turn a subject into
//! a checklist.

use std::fmt;

use autosurgeon::{Hydrate, Reconcile};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::uscc::Uscc;

/// Credit risk class (信用风险分类): A is the lowest risk, D the highest.
/// Higher classes are drawn for inspection more often (信用+双随机).
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
    Hydrate,
    Reconcile,
    TS,
    utoipa::ToSchema,
)]
pub enum RiskClass {
    A,
    B,
    C,
    D,
}

impl RiskClass {
    pub const ALL: [RiskClass; 4] = [RiskClass::A, RiskClass::B, RiskClass::C, RiskClass::D];
}

impl fmt::Display for RiskClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::A => "A",
            Self::B => "B",
            Self::C => "C",
            Self::D => "D",
        })
    }
}

/// A position on the WGS-84 ellipsoid, in degrees.
#[derive(
    Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Hydrate, Reconcile, TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct GeoPoint {
    pub lat: f64,
    pub lon: f64,
}

/// A government department taking part in joint inspections (e.g. 市场监管).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Department {
    /// Short stable code, e.g. `SCJG`.
    pub code: String,
    pub name: String,
    pub name_en: String,
}

/// An industry, which selects the handbook (一业一册) of a subject.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Industry {
    pub code: String,
    pub name: String,
    pub name_en: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TeamKind {
    /// 乡镇"一支队伍": the township's combined enforcement squad.
    TownshipSquad,
    /// A county-level joint inspection team drawn from several bureaus.
    CountyTeam,
}

/// A team of inspectors that receives tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Team {
    pub id: String,
    pub name: String,
    pub kind: TeamKind,
    pub departments: Vec<String>,
}

/// An enforcement officer (执法人员) with a badge number (执法证号).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Inspector {
    pub id: String,
    pub name: String,
    pub badge_no: String,
    pub department: String,
    pub team: String,
    /// The township (乡镇) the inspector lives in, for recusal (回避) when a
    /// plan asks for it. Personal: never published.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub township: Option<String>,
}

/// An inspected business (监管对象 / 市场主体).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Subject {
    #[ts(type = "string")]
    #[schema(value_type = String)]
    pub uscc: Uscc,
    pub name: String,
    pub address: String,
    pub industry: String,
    pub risk_class: RiskClass,
    pub location: GeoPoint,
    pub legal_rep: String,
    /// The township (乡镇) of the subject's address, for plans' filters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub township: Option<String>,
}

/// One supervision item of a department's catalog (监管事项清单).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub id: String,
    pub department: String,
    pub title: String,
    pub legal_basis: String,
    /// Industries the item applies to; empty means every industry.
    pub industries: Vec<String>,
    /// Whether an answer must be backed by at least one piece of evidence.
    pub requires_evidence: bool,
}

/// The combined check of one industry (一业一册): which departments take
/// part, which leads, and which items make up the checklist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Handbook {
    pub industry: String,
    pub departments: Vec<String>,
    pub lead_department: String,
    pub items: Vec<String>,
}
