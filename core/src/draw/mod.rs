//! Plans and verifiable random draws (双随机、一公开, 信用+双随机, 进一次门、查多项事).
//!
//! A supervisor writes a [`PlanSpec`]. Fixing the plan resolves it into
//! [`PlanParams`] and snapshots its [`PlanPools`] (the subjects per credit
//! class, the eligible inspectors, the recusals); the SHA-256 of each pool
//! and a [`commitment`] over the parameters, the pool hashes and the named
//! entropy sources are published before anyone can know the entropy. Once a
//! second person has typed in the entropy's values (a lottery result drawn
//! after the plan was fixed), the seed follows from the commitment and the
//! values ([`seed`]), and [`run`] is a pure function of the plans, their
//! pools, their seeds and the subjects whose merge was undone: the same
//! inputs always give the same subjects, the same joint tasks and the same
//! inspectors. [`verify`] recomputes a published [`DrawRecord`] and names
//! the first place where it differs.
//!
//! The algorithm is written down for independent implementations in
//! `docs/draw.md`; every constant here is named there.

mod run;
mod verify;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use ts_rs::TS;

use crate::domain::RiskClass;

pub use run::{DrawOutcome, PlanDrawn, PlanInput, run};
pub use verify::{Mismatch, VerifyReport, verify};

/// The version of the algorithm a record was drawn with.
pub const DRAW_VERSION: u32 = 1;
/// Ratios are in basis points: 10,000 is every subject of the class.
pub const FULL_RATIO: u32 = 10_000;
/// The fewest inspectors a drawn task gets (two officers on every visit).
pub const MIN_INSPECTORS: u32 = 2;
/// The most inspectors a plan may ask for per task.
pub const MAX_INSPECTORS: u32 = 8;
/// Bounds of what a plan may name; larger plans are refused.
pub const MAX_PLAN_ITEMS: usize = 500;
pub const MAX_PLAN_LIST: usize = 200;
pub const MAX_ENTROPY_SOURCES: usize = 8;
pub const MAX_TEXT_CHARS: usize = 500;

const COMMIT_DOMAIN: &str = "fieldloop-draw-commit-v1";
const SEED_DOMAIN: &str = "fieldloop-draw-seed-v1";
const ASSIGN_DOMAIN: &str = "fieldloop-draw-assign-v1";

/// Sampling ratio per credit-risk class, in basis points (300 = 3 %).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Ratios {
    #[serde(rename = "A")]
    pub a: u32,
    #[serde(rename = "B")]
    pub b: u32,
    #[serde(rename = "C")]
    pub c: u32,
    #[serde(rename = "D")]
    pub d: u32,
}

impl Ratios {
    pub fn of(&self, class: RiskClass) -> u32 {
        match class {
            RiskClass::A => self.a,
            RiskClass::B => self.b,
            RiskClass::C => self.c,
            RiskClass::D => self.d,
        }
    }
}

/// How many of `pool` subjects a ratio draws: rounded **up**, so a class
/// with a ratio above zero and at least one subject always gives one.
pub fn quota(pool: usize, ratio: u32) -> usize {
    let ratio = ratio.min(FULL_RATIO) as u128;
    (((pool as u128) * ratio).div_ceil(FULL_RATIO as u128)) as usize
}

/// An inspection window in calendar days (Beijing time), `YYYY-MM-DD`,
/// both days included.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayWindow {
    pub start: String,
    pub due: String,
}

impl DayWindow {
    /// Whether both days are written `YYYY-MM-DD` and the due day is not before the start.
    pub fn is_well_formed(&self) -> bool {
        let shaped = |d: &str| {
            d.len() == 10
                && d.bytes().enumerate().all(|(i, b)| {
                    if i == 4 || i == 7 {
                        b == b'-'
                    } else {
                        b.is_ascii_digit()
                    }
                })
        };
        shaped(&self.start) && shaped(&self.due) && self.start <= self.due
    }

    /// The days both windows share, if any.
    pub fn intersect(&self, other: &DayWindow) -> Option<DayWindow> {
        let start = self.start.clone().max(other.start.clone());
        let due = self.due.clone().min(other.due.clone());
        (start <= due).then_some(DayWindow { start, due })
    }
}

/// Which subjects a plan covers; an empty list means no restriction.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubjectFilter {
    #[serde(default)]
    pub industries: Vec<String>,
    /// Townships (乡镇) of the subjects.
    #[serde(default)]
    pub townships: Vec<String>,
    #[serde(default)]
    pub classes: Vec<RiskClass>,
}

/// A plan as the supervisor writes it (年度/专项抽查计划).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct PlanSpec {
    pub name: String,
    /// One department, or several for a joint plan.
    pub departments: Vec<String>,
    pub lead_department: String,
    /// Catalog item ids; a subject is checked on those that apply to its industry.
    pub items: Vec<String>,
    #[serde(default)]
    pub filter: SubjectFilter,
    pub ratios: Ratios,
    pub inspectors_per_task: u32,
    pub teams: Vec<String>,
    pub window: DayWindow,
    /// A special plan (专项) with its reason may draw subjects at their yearly limit.
    #[serde(default)]
    pub special_reason: Option<String>,
    /// Never draw an inspector for a subject of the township they live in.
    #[serde(default)]
    pub recuse_same_township: bool,
    /// The entropy the seed will come from, named in advance, e.g.
    /// "中国福利彩票双色球 2026-12-10 开奖号码".
    pub entropy_sources: Vec<String>,
}

/// A catalog item as a plan uses it: the department it belongs to and the
/// industries it applies to (empty: all).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    pub id: String,
    pub department: String,
    pub industries: Vec<String>,
}

impl ItemRef {
    pub fn applies_to(&self, industry: &str) -> bool {
        self.industries.is_empty() || self.industries.iter().any(|i| i == industry)
    }
}

/// A fixed plan: its id, what the supervisor wrote and the items resolved
/// from the catalog at the moment it was fixed. The commitment covers all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct PlanParams {
    pub id: String,
    pub spec: PlanSpec,
    pub catalog: Vec<ItemRef>,
}

/// A subject in a plan's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSubject {
    pub uscc: String,
    pub name: String,
    pub industry: String,
    /// The township of the subject, for plans that recuse inspectors living there.
    pub township: Option<String>,
}

/// An inspector in a plan's pool: certified for `department`, active, in `team`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolInspector {
    pub id: String,
    pub department: String,
    pub team: String,
    /// Where the inspector lives, for plans that recuse by township.
    pub township: Option<String>,
}

impl PoolInspector {
    /// Whether a plan that recuses by township keeps this inspector from `subject`.
    pub fn lives_in(&self, subject: &PoolSubject) -> bool {
        matches!((&self.township, &subject.township), (Some(a), Some(b)) if a == b)
    }
}

/// A declared conflict of interest: the inspector is never drawn for the subject (回避).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct Recusal {
    pub inspector: String,
    pub uscc: String,
}

/// Subjects per credit-risk class, each list sorted by USCC.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClassPools {
    #[serde(rename = "A")]
    pub a: Vec<PoolSubject>,
    #[serde(rename = "B")]
    pub b: Vec<PoolSubject>,
    #[serde(rename = "C")]
    pub c: Vec<PoolSubject>,
    #[serde(rename = "D")]
    pub d: Vec<PoolSubject>,
}

impl ClassPools {
    pub fn of(&self, class: RiskClass) -> &[PoolSubject] {
        match class {
            RiskClass::A => &self.a,
            RiskClass::B => &self.b,
            RiskClass::C => &self.c,
            RiskClass::D => &self.d,
        }
    }

    pub fn of_mut(&mut self, class: RiskClass) -> &mut Vec<PoolSubject> {
        match class {
            RiskClass::A => &mut self.a,
            RiskClass::B => &mut self.b,
            RiskClass::C => &mut self.c,
            RiskClass::D => &mut self.d,
        }
    }
}

/// Why a subject the filters cover is not in the pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub uscc: String,
    pub name: String,
    /// Inspections of the subject this year, and the yearly limit of its class.
    pub inspections: u32,
    pub limit: u32,
}

/// What a plan draws from, snapshotted when it is fixed. Never public: the
/// class lists say each subject's risk class, and recusals are personal.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct PlanPools {
    pub plan: String,
    /// 32 random bytes (hex) hashed before each list, so that a published
    /// hash cannot be matched by guessing a small pool from public data.
    pub salt: String,
    pub subjects: ClassPools,
    /// Sorted by id.
    pub inspectors: Vec<PoolInspector>,
    /// Declared conflicts within the pool, sorted by (inspector, USCC).
    /// Recusal by township (when the plan asks for it) follows from the
    /// townships in the subject and inspector lists.
    pub recusals: Vec<Recusal>,
    /// Left out by the over-inspection guard (not hashed; shown in the preview).
    #[serde(default)]
    pub excluded: Vec<Exclusion>,
}

/// The published SHA-256 (hex) of each part of a plan's pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolHashes {
    #[serde(rename = "A")]
    pub a: String,
    #[serde(rename = "B")]
    pub b: String,
    #[serde(rename = "C")]
    pub c: String,
    #[serde(rename = "D")]
    pub d: String,
    pub inspectors: String,
    pub recusals: String,
}

impl PoolHashes {
    pub fn of(&self, class: RiskClass) -> &str {
        match class {
            RiskClass::A => &self.a,
            RiskClass::B => &self.b,
            RiskClass::C => &self.c,
            RiskClass::D => &self.d,
        }
    }
}

/// How many subjects each class pool holds, and how many inspectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PoolSizes {
    #[serde(rename = "A")]
    pub a: usize,
    #[serde(rename = "B")]
    pub b: usize,
    #[serde(rename = "C")]
    pub c: usize,
    #[serde(rename = "D")]
    pub d: usize,
    pub inspectors: usize,
    /// Subjects the over-inspection guard left out.
    pub excluded: usize,
}

impl PoolSizes {
    pub fn of(&self, class: RiskClass) -> usize {
        match class {
            RiskClass::A => self.a,
            RiskClass::B => self.b,
            RiskClass::C => self.c,
            RiskClass::D => self.d,
        }
    }
}

/// Compact JSON of `value`: fields in declaration order, no whitespace.
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("draw types always serialise")
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    hex::encode(h.finalize())
}

impl PlanPools {
    /// Sorts every list the way the hashes expect.
    pub fn normalise(&mut self) {
        for class in RiskClass::ALL {
            self.subjects
                .of_mut(class)
                .sort_by(|x, y| x.uscc.cmp(&y.uscc));
        }
        self.inspectors.sort_by(|x, y| x.id.cmp(&y.id));
        self.recusals.sort();
        self.recusals.dedup();
    }

    /// SHA-256 of the salt, a line feed and the list's compact JSON, per list.
    pub fn hashes(&self) -> PoolHashes {
        let salted = |json: String| sha256_hex(&[self.salt.as_bytes(), b"\n", json.as_bytes()]);
        let class = |c: RiskClass| salted(canonical_json(&self.subjects.of(c)));
        PoolHashes {
            a: class(RiskClass::A),
            b: class(RiskClass::B),
            c: class(RiskClass::C),
            d: class(RiskClass::D),
            inspectors: salted(canonical_json(&self.inspectors)),
            recusals: salted(canonical_json(&self.recusals)),
        }
    }

    pub fn sizes(&self) -> PoolSizes {
        PoolSizes {
            a: self.subjects.a.len(),
            b: self.subjects.b.len(),
            c: self.subjects.c.len(),
            d: self.subjects.d.len(),
            inspectors: self.inspectors.len(),
            excluded: self.excluded.len(),
        }
    }
}

/// The commitment published when a plan is fixed: SHA-256 over the domain
/// string, the parameters, the pool hashes and the pool sizes, each as
/// compact JSON on its own line.
pub fn commitment(params: &PlanParams, hashes: &PoolHashes, sizes: &PoolSizes) -> String {
    sha256_hex(&[
        COMMIT_DOMAIN.as_bytes(),
        b"\n",
        canonical_json(params).as_bytes(),
        b"\n",
        canonical_json(hashes).as_bytes(),
        b"\n",
        canonical_json(sizes).as_bytes(),
    ])
}

/// An entropy value in canonical form: full-width forms (U+FF01–U+FF5E)
/// made ASCII, the ideographic space a space, ASCII letters upper-cased,
/// each run of whitespace one space, none at either end. A value holding
/// `/` (the separator of the key string) is refused before it is stored.
pub fn canonical_entropy(value: &str) -> String {
    let mapped: String = value
        .chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .map(|c| c.to_ascii_uppercase())
        .collect();
    mapped.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether an entropy value can be used: something left in canonical form,
/// and no `/` in it.
pub fn entropy_value_ok(value: &str) -> bool {
    let c = canonical_entropy(value);
    !c.is_empty() && !c.contains('/')
}

/// The seed of a plan's draw: SHA-256 over the domain string, the
/// commitment, and each canonical entropy value followed by `/` (the
/// RFC 3797 key string).
pub fn seed(commitment: &str, values: &[String]) -> String {
    let mut key = String::new();
    for v in values {
        key.push_str(&canonical_entropy(v));
        key.push('/');
    }
    sha256_hex(&[
        SEED_DOMAIN.as_bytes(),
        b"\n",
        commitment.as_bytes(),
        b"\n",
        key.as_bytes(),
    ])
}

/// The seed of the inspector assignment of a draw over several plans:
/// SHA-256 over the domain string and each plan's seed followed by `\n`,
/// the plans in order of id.
pub fn assign_seed(seeds: &BTreeMap<String, String>) -> String {
    let mut h = Sha256::new();
    h.update(ASSIGN_DOMAIN.as_bytes());
    h.update(b"\n");
    for s in seeds.values() {
        h.update(s.as_bytes());
        h.update(b"\n");
    }
    hex::encode(h.finalize())
}

/// A ticket: SHA-256 of `seed`, then each part preceded by `/`. The
/// smallest tickets win.
pub fn ticket(seed: &str, parts: &[&str]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(seed.as_bytes());
    for p in parts {
        h.update(b"/");
        h.update(p.as_bytes());
    }
    h.finalize().into()
}

/// The entropy of one plan, typed in after the sources were drawn.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntropyValues {
    /// One value per source, in the plan's order.
    pub values: Vec<String>,
    /// The console user who typed them in (not the one who fixed the plan).
    pub entered_by: String,
    pub entered_at: i64,
}

/// One plan in a draw record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawnPlan {
    pub params: PlanParams,
    pub pool_hashes: PoolHashes,
    pub pool_sizes: PoolSizes,
    pub commitment: String,
    pub fixed_by: String,
    pub fixed_at: i64,
    pub entropy: EntropyValues,
    pub seed: String,
    /// Subjects drawn per class (the rounding rule applied to the pool sizes).
    pub quotas: PoolQuotas,
    /// The drawn subjects' USCCs in USCC order: the record does not say
    /// which drawn subject is of which class (the pools do).
    pub selected: Vec<String>,
}

/// Subjects drawn per class.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, TS, utoipa::ToSchema,
)]
#[serde(deny_unknown_fields)]
pub struct PoolQuotas {
    #[serde(rename = "A")]
    pub a: usize,
    #[serde(rename = "B")]
    pub b: usize,
    #[serde(rename = "C")]
    pub c: usize,
    #[serde(rename = "D")]
    pub d: usize,
}

impl PoolQuotas {
    pub fn of(ratios: &Ratios, sizes: &PoolSizes) -> Self {
        Self {
            a: quota(sizes.a, ratios.a),
            b: quota(sizes.b, ratios.b),
            c: quota(sizes.c, ratios.c),
            d: quota(sizes.d, ratios.d),
        }
    }

    pub fn total(&self) -> usize {
        self.a + self.b + self.c + self.d
    }
}

/// One visit the draw makes: a subject, the plans it serves (several when
/// merged), their items, and who goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DrawTask {
    pub uscc: String,
    pub name: String,
    /// The plans served, the lead plan first.
    pub plans: Vec<String>,
    pub departments: Vec<String>,
    pub lead_department: String,
    pub items: Vec<String>,
    pub window: DayWindow,
    pub team: String,
    /// The lead department's inspector first.
    pub inspectors: Vec<String>,
}

/// A drawn subject no team could staff: the draw says so instead of
/// sending fewer than two inspectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Unstaffed {
    pub uscc: String,
    pub name: String,
    pub plans: Vec<String>,
    /// The most eligible inspectors any candidate team had (a team may also
    /// fail for want of an inspector of the lead department), and how many
    /// were needed.
    pub eligible: usize,
    pub needed: usize,
}

/// A committed draw, as published (`RECORD.json`): everything `draw verify`
/// needs besides the pools.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct DrawRecord {
    pub version: u32,
    pub id: String,
    pub at: i64,
    pub by: String,
    /// In order of plan id.
    pub plans: Vec<DrawnPlan>,
    /// Subjects whose joint visit was undone: each plan visits alone.
    pub split: Vec<String>,
    pub assign_seed: String,
    pub tasks: Vec<DrawTask>,
    pub unstaffed: Vec<Unstaffed>,
}
