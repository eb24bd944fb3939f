//! Plans and their draws on the server: checking and storing plans,
//! fixing them (pools snapshotted, commitment made), taking the entropy
//! from a second person, previewing a draw over several plans with its
//! joint visits, and committing it (the tasks created and assigned in one
//! transaction, the record frozen). The draw itself is
//! [`fieldloop_core::draw::run`]; this module only gathers its inputs and
//! keeps its outputs.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use fieldloop_core::draw::{
    self, DRAW_VERSION, DrawRecord, DrawTask, DrawnPlan, EntropyValues, Exclusion, ItemRef,
    MAX_ENTROPY_SOURCES, MAX_INSPECTORS, MAX_PLAN_ITEMS, MAX_PLAN_LIST, MAX_TEXT_CHARS,
    MIN_INSPECTORS, PlanInput, PlanParams, PlanPools, PlanSpec, PoolInspector, PoolQuotas,
    PoolSizes, PoolSubject, Recusal, Unstaffed,
};
use fieldloop_core::task::Names;
use fieldloop_core::{
    ActorId, Author, Item, Millis, RiskClass, Role, Subject, TaskDoc, TaskSpec, Uscc, Window,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::console::TaskIndex;
use crate::store::{
    ConsoleUser, DrawWrite, FixedPlan, PlanRow, PlanState, Store, StoreError, TaskCodes, TaskWrite,
};
use crate::tasks::{CODE_PREFIX, Day, SERVER_SUPERVISOR_ACTOR, verify_code};

/// Inspections a year a subject may have before random draws leave it out
/// (信用+双随机: low-risk businesses are disturbed least), by class A–D.
/// `serve --yearly-limit A=1,B=2,C=3,D=4` changes them.
pub const YEARLY_LIMITS: [u32; 4] = [1, 2, 3, 4];
/// The longest entropy value, in characters.
pub const MAX_ENTROPY_CHARS: usize = 200;
/// Plans in one draw.
pub const MAX_DRAW_PLANS: usize = 20;
/// Subjects whose joint visit a draw may undo.
pub const MAX_SPLIT: usize = 10_000;

/// Why a plan or a draw was refused. Nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("{0}")]
    Invalid(String),
    #[error("没有计划 {0} (no plan {0})")]
    NotFound(String),
    #[error("{0}")]
    State(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("任务无法创建 (a task could not be made): {0}")]
    Task(#[from] fieldloop_core::TaskError),
}

fn invalid(message: impl Into<String>) -> PlanError {
    PlanError::Invalid(message.into())
}

/// A plan as the console shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PlanView {
    pub id: String,
    pub spec: PlanSpec,
    pub state: PlanState,
    pub created_by: String,
    pub created_at: i64,
    pub updated_at: i64,
    pub fixed: Option<FixedPlan>,
    pub entropy: Option<EntropyValues>,
    pub draw: Option<String>,
}

impl From<PlanRow> for PlanView {
    fn from(p: PlanRow) -> Self {
        Self {
            id: p.id,
            spec: p.spec,
            state: p.state,
            created_by: p.created_by,
            created_at: p.created_at,
            updated_at: p.updated_at,
            fixed: p.fixed,
            entropy: p.entropy,
            draw: p.draw,
        }
    }
}

/// What to draw: fixed plans with their entropy, and the subjects whose
/// joint visit is undone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[ts(export)]
pub struct DrawRequest {
    pub plans: Vec<String>,
    #[serde(default)]
    pub split: Vec<String>,
}

/// One plan in a preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct PlanPreview {
    pub id: String,
    pub name: String,
    pub sizes: PoolSizes,
    pub quotas: PoolQuotas,
    pub seed: String,
    /// Subjects the over-inspection guard left out.
    pub excluded: Vec<Exclusion>,
    /// Visits this plan's subjects did not need because another plan's visit took its items.
    pub saved_visits: usize,
}

/// What a draw would do, before it is committed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DrawPreview {
    pub plans: Vec<PlanPreview>,
    /// The visits, joint ones with several plans. Their team and
    /// inspectors are left empty: they are drawn when the draw is
    /// committed, so that undoing merges cannot be used to steer who goes.
    pub tasks: Vec<DrawTask>,
    pub unstaffed: Vec<Unstaffed>,
    /// Subjects drawn, over all plans.
    pub selections: usize,
    pub visits: usize,
    pub split: Vec<String>,
}

/// A committed draw in a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DrawSummary {
    pub id: String,
    pub at: i64,
    pub by: String,
    pub plans: Vec<DrawSummaryPlan>,
    pub tasks: usize,
    pub unstaffed: usize,
    pub saved_visits: usize,
}

/// A plan of a committed draw, as the public list shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
pub struct DrawSummaryPlan {
    pub id: String,
    pub name: String,
    pub departments: Vec<String>,
    pub window: draw::DayWindow,
    pub sizes: PoolSizes,
    pub quotas: PoolQuotas,
    pub seed: String,
    pub commitment: String,
    pub pool_hashes: draw::PoolHashes,
    pub entropy_sources: Vec<String>,
    pub entropy_values: Vec<String>,
    pub special_reason: Option<String>,
}

/// Whether `user` may write, fix or draw `spec`: an administrator; a
/// supervisor acting for every one of its departments; or one acting for
/// every team of the plan, whose departments those teams cover.
pub fn may_plan(store: &dyn Store, user: &ConsoleUser, spec: &PlanSpec) -> Result<bool, PlanError> {
    if user.role == Role::Admin {
        return Ok(true);
    }
    if !spec.departments.is_empty()
        && spec
            .departments
            .iter()
            .all(|d| user.departments.contains(d))
    {
        return Ok(true);
    }
    if spec.teams.is_empty() || !spec.teams.iter().all(|t| user.teams.contains(t)) {
        return Ok(false);
    }
    let mut covered = BTreeSet::new();
    for t in &spec.teams {
        if let Some(team) = store.team(t)? {
            covered.extend(team.departments);
        }
    }
    Ok(spec.departments.iter().all(|d| covered.contains(d)))
}

fn forbidden() -> PlanError {
    PlanError::Forbidden(
        "您不负责该计划的全部部门或队伍 (you do not act for every department or team of this plan)"
            .into(),
    )
}

fn text_ok(field: &str, value: &str) -> Result<(), PlanError> {
    let n = value.trim().chars().count();
    if n == 0 || n > MAX_TEXT_CHARS || value.chars().any(char::is_control) {
        return Err(invalid(format!(
            "{field} 不能为空、不能含控制字符、最多 {MAX_TEXT_CHARS} 字 ({field} must be 1–{MAX_TEXT_CHARS} characters without control characters)"
        )));
    }
    Ok(())
}

fn list_ok(field: &str, list: &[String], required: bool) -> Result<(), PlanError> {
    if required && list.is_empty() {
        return Err(invalid(format!(
            "{field} 不能为空 ({field} must not be empty)"
        )));
    }
    if list.len() > MAX_PLAN_LIST {
        return Err(invalid(format!(
            "{field} 最多 {MAX_PLAN_LIST} 项 ({field} holds at most {MAX_PLAN_LIST})"
        )));
    }
    let mut seen = BTreeSet::new();
    for v in list {
        text_ok(field, v)?;
        if !seen.insert(v) {
            return Err(invalid(format!(
                "{field} 中 “{v}” 重复 ({field} lists '{v}' twice)"
            )));
        }
    }
    Ok(())
}

/// Checks a plan against the directory and the catalog; the message names
/// the field.
pub fn check_spec(store: &dyn Store, spec: &PlanSpec) -> Result<(), PlanError> {
    text_ok("name", &spec.name)?;
    list_ok("departments", &spec.departments, true)?;
    for d in &spec.departments {
        if store.department(d)?.is_none() {
            return Err(invalid(format!(
                "没有部门 {d} (departments: no department {d})"
            )));
        }
    }
    if !spec.departments.contains(&spec.lead_department) {
        return Err(invalid(
            "牵头部门须是计划的部门之一 (lead_department must be one of the departments)",
        ));
    }
    if spec.items.is_empty() || spec.items.len() > MAX_PLAN_ITEMS {
        return Err(invalid(format!(
            "检查事项须有 1–{MAX_PLAN_ITEMS} 项 (items: 1 to {MAX_PLAN_ITEMS})"
        )));
    }
    let mut seen = BTreeSet::new();
    for id in &spec.items {
        if !seen.insert(id) {
            return Err(invalid(format!(
                "检查事项 {id} 重复 (items lists {id} twice)"
            )));
        }
        match store.item(id)? {
            None => return Err(invalid(format!("没有检查事项 {id} (items: no item {id})"))),
            Some(item) if !spec.departments.contains(&item.department) => {
                return Err(invalid(format!(
                    "检查事项 {id} 属于部门 {}，不在计划的部门中 (items: {id} belongs to {}, not a department of the plan)",
                    item.department, item.department
                )));
            }
            Some(_) => {}
        }
    }
    list_ok("filter.industries", &spec.filter.industries, false)?;
    for i in &spec.filter.industries {
        if store.industry(i)?.is_none() {
            return Err(invalid(format!(
                "没有行业 {i} (filter.industries: no industry {i})"
            )));
        }
    }
    list_ok("filter.townships", &spec.filter.townships, false)?;
    if spec.filter.classes.len() > 4 {
        return Err(invalid("filter.classes: at most A, B, C, D"));
    }
    for class in RiskClass::ALL {
        if spec.ratios.of(class) > draw::FULL_RATIO {
            return Err(invalid(format!(
                "{class} 类抽查比例不能超过 100% (ratios.{class}: at most 10000 basis points)"
            )));
        }
    }
    if !(MIN_INSPECTORS..=MAX_INSPECTORS).contains(&spec.inspectors_per_task) {
        return Err(invalid(format!(
            "每项任务的执法人员须为 {MIN_INSPECTORS}–{MAX_INSPECTORS} 名 (inspectors_per_task: {MIN_INSPECTORS} to {MAX_INSPECTORS})"
        )));
    }
    list_ok("teams", &spec.teams, true)?;
    for t in &spec.teams {
        if store.team(t)?.is_none() {
            return Err(invalid(format!("没有队伍 {t} (teams: no team {t})")));
        }
    }
    let start: Day = spec.window.start.parse().map_err(PlanError::Invalid)?;
    let due: Day = spec.window.due.parse().map_err(PlanError::Invalid)?;
    if due < start {
        return Err(invalid(format!(
            "截止日期 {due} 早于开始日期 {start} (window: the due day is before the start)"
        )));
    }
    if spec.entropy_sources.is_empty() || spec.entropy_sources.len() > MAX_ENTROPY_SOURCES {
        return Err(invalid(format!(
            "须写明 1–{MAX_ENTROPY_SOURCES} 个随机数来源，如某期彩票开奖号码 (entropy_sources: name 1 to {MAX_ENTROPY_SOURCES} sources, e.g. a future lottery draw)"
        )));
    }
    list_ok("entropy_sources", &spec.entropy_sources, true)?;
    if let Some(reason) = &spec.special_reason {
        text_ok("special_reason", reason)?;
    }
    Ok(())
}

fn plan_id() -> String {
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("P-{}", &id[..10].to_ascii_uppercase())
}

fn load(store: &dyn Store, id: &str) -> Result<PlanRow, PlanError> {
    store
        .plan(id)?
        .ok_or_else(|| PlanError::NotFound(id.to_owned()))
}

fn visible(store: &dyn Store, user: &ConsoleUser, plan: &PlanRow) -> Result<(), PlanError> {
    if may_plan(store, user, &plan.spec)? {
        Ok(())
    } else {
        // Another department's plan is not told apart from no plan.
        Err(PlanError::NotFound(plan.id.clone()))
    }
}

/// The plans `user` may see, newest first.
pub fn list(store: &dyn Store, user: &ConsoleUser) -> Result<Vec<PlanView>, PlanError> {
    let mut out = Vec::new();
    for p in store.plans()? {
        if may_plan(store, user, &p.spec)? {
            out.push(p.into());
        }
    }
    Ok(out)
}

pub fn get(store: &dyn Store, user: &ConsoleUser, id: &str) -> Result<PlanView, PlanError> {
    let plan = load(store, id)?;
    visible(store, user, &plan)?;
    Ok(plan.into())
}

/// Stores a new draft plan.
pub fn create(
    store: &dyn Store,
    user: &ConsoleUser,
    spec: PlanSpec,
    now: Millis,
) -> Result<PlanView, PlanError> {
    check_spec(store, &spec)?;
    if !may_plan(store, user, &spec)? {
        return Err(forbidden());
    }
    let row = PlanRow {
        id: plan_id(),
        spec,
        state: PlanState::Draft,
        created_by: user.id.clone(),
        created_at: now,
        updated_at: now,
        fixed: None,
        entropy: None,
        draw: None,
    };
    store.save_plan(&row, None, None)?;
    Ok(row.into())
}

fn not_draft(plan: &PlanRow) -> PlanError {
    PlanError::State(format!(
        "计划 {} 已锁定，不能再修改 (plan {} is fixed and can no longer change)",
        plan.id, plan.id
    ))
}

/// Replaces a draft plan's spec.
pub fn update(
    store: &dyn Store,
    user: &ConsoleUser,
    id: &str,
    spec: PlanSpec,
    now: Millis,
) -> Result<PlanView, PlanError> {
    let mut plan = load(store, id)?;
    visible(store, user, &plan)?;
    if plan.state != PlanState::Draft {
        return Err(not_draft(&plan));
    }
    check_spec(store, &spec)?;
    if !may_plan(store, user, &spec)? {
        return Err(forbidden());
    }
    plan.spec = spec;
    plan.updated_at = now;
    store.save_plan(&plan, None, Some(PlanState::Draft))?;
    Ok(plan.into())
}

/// Deletes a draft plan.
pub fn delete(store: &dyn Store, user: &ConsoleUser, id: &str) -> Result<(), PlanError> {
    let plan = load(store, id)?;
    visible(store, user, &plan)?;
    if plan.state != PlanState::Draft || !store.delete_plan(id)? {
        return Err(not_draft(&plan));
    }
    Ok(())
}

/// A day's year, for the over-inspection guard.
fn year_range_of(day: &str) -> Result<(Millis, Millis), PlanError> {
    let day: Day = day.parse().map_err(PlanError::Invalid)?;
    Ok(crate::console::year_range(day.year()))
}

/// The pools of `params` from the directory as it is now.
pub fn pools_of(
    store: &dyn Store,
    params: &PlanParams,
    yearly_limits: [u32; 4],
) -> Result<PlanPools, PlanError> {
    let spec = &params.spec;
    let counts = store.inspection_counts(year_range_of(&spec.window.start)?)?;
    let mut salt = [0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut salt[..]);
    let mut pools = PlanPools {
        plan: params.id.clone(),
        salt: hex::encode(salt),
        ..PlanPools::default()
    };
    let mut in_pool = BTreeSet::new();
    for s in store.all_subjects()? {
        let f = &spec.filter;
        let township = s.township.clone().unwrap_or_default();
        if (!f.industries.is_empty() && !f.industries.contains(&s.industry))
            || (!f.townships.is_empty() && !f.townships.contains(&township))
            || (!f.classes.is_empty() && !f.classes.contains(&s.risk_class))
            || !params.catalog.iter().any(|i| i.applies_to(&s.industry))
        {
            continue;
        }
        let uscc = s.uscc.to_string();
        let had = counts.get(&uscc).copied().unwrap_or(0);
        let limit = yearly_limits[s.risk_class as usize];
        if spec.special_reason.is_none() && had >= u64::from(limit) {
            pools.excluded.push(Exclusion {
                uscc,
                name: s.name,
                inspections: u32::try_from(had).unwrap_or(u32::MAX),
                limit,
            });
            continue;
        }
        in_pool.insert(uscc.clone());
        pools.subjects.of_mut(s.risk_class).push(PoolSubject {
            uscc,
            name: s.name,
            industry: s.industry,
            township: s.township,
        });
    }
    let directory = store.directory()?;
    let mut people = BTreeSet::new();
    for (i, active) in directory.inspectors {
        if active && spec.teams.contains(&i.team) && spec.departments.contains(&i.department) {
            people.insert(i.id.clone());
            pools.inspectors.push(PoolInspector {
                id: i.id,
                department: i.department,
                team: i.team,
                township: i.township,
            });
        }
    }
    for c in store.conflicts()? {
        if people.contains(&c.inspector) && in_pool.contains(&c.uscc) {
            pools.recusals.push(Recusal {
                inspector: c.inspector,
                uscc: c.uscc,
            });
        }
    }
    pools.normalise();
    Ok(pools)
}

/// Fixes a draft plan: resolves its items, snapshots its pools and makes
/// its commitment, which the public page shows from then on.
pub fn fix(
    store: &dyn Store,
    user: &ConsoleUser,
    id: &str,
    yearly_limits: [u32; 4],
    now: Millis,
) -> Result<PlanView, PlanError> {
    let mut plan = load(store, id)?;
    visible(store, user, &plan)?;
    if plan.state != PlanState::Draft {
        return Err(not_draft(&plan));
    }
    check_spec(store, &plan.spec)?;
    let mut catalog = Vec::with_capacity(plan.spec.items.len());
    for id in &plan.spec.items {
        let item = store
            .item(id)?
            .ok_or_else(|| invalid(format!("没有检查事项 {id} (items: no item {id})")))?;
        catalog.push(ItemRef {
            id: item.id,
            department: item.department,
            industries: item.industries,
        });
    }
    let params = PlanParams {
        id: plan.id.clone(),
        spec: plan.spec.clone(),
        catalog,
    };
    let pools = pools_of(store, &params, yearly_limits)?;
    let hashes = pools.hashes();
    let sizes = pools.sizes();
    let commitment = draw::commitment(&params, &hashes, &sizes);
    plan.fixed = Some(FixedPlan {
        params,
        pool_hashes: hashes,
        pool_sizes: sizes,
        commitment,
        fixed_by: user.id.clone(),
        fixed_at: now,
    });
    plan.state = PlanState::Fixed;
    plan.updated_at = now;
    store.save_plan(&plan, Some(&pools), Some(PlanState::Draft))?;
    Ok(plan.into())
}

/// Records the entropy of a fixed plan, typed in once, by someone other
/// than who fixed it.
pub fn enter_entropy(
    store: &dyn Store,
    user: &ConsoleUser,
    id: &str,
    values: Vec<String>,
    now: Millis,
) -> Result<PlanView, PlanError> {
    let mut plan = load(store, id)?;
    visible(store, user, &plan)?;
    let Some(fixed) = &plan.fixed else {
        return Err(PlanError::State(
            "计划尚未锁定，锁定后才能录入随机数 (fix the plan before its entropy is entered)"
                .into(),
        ));
    };
    if plan.state != PlanState::Fixed || plan.entropy.is_some() {
        return Err(PlanError::State(
            "该计划的随机数已录入，不能更改 (this plan's entropy was entered already and cannot change)"
                .into(),
        ));
    }
    if fixed.fixed_by == user.id {
        return Err(PlanError::State(format!(
            "随机数须由锁定计划者（{}）以外的另一人录入 (the entropy must be typed in by someone other than {}, who fixed the plan)",
            fixed.fixed_by, fixed.fixed_by
        )));
    }
    if values.len() != plan.spec.entropy_sources.len() {
        return Err(invalid(format!(
            "须为 {} 个来源各录入一个值 (one value per source: {} expected, {} given)",
            plan.spec.entropy_sources.len(),
            plan.spec.entropy_sources.len(),
            values.len()
        )));
    }
    for v in &values {
        if !draw::entropy_value_ok(v)
            || v.chars().count() > MAX_ENTROPY_CHARS
            || v.chars().any(char::is_control)
        {
            return Err(invalid(format!(
                "随机数值须为 1–{MAX_ENTROPY_CHARS} 个字符，且不含 / (each value: 1 to {MAX_ENTROPY_CHARS} characters, without '/')"
            )));
        }
    }
    plan.entropy = Some(EntropyValues {
        values,
        entered_by: user.id.clone(),
        entered_at: now,
    });
    plan.updated_at = now;
    store.save_plan(&plan, None, Some(PlanState::Fixed))?;
    Ok(plan.into())
}

/// A plan ready to draw.
struct Ready {
    fixed: FixedPlan,
    entropy: EntropyValues,
    pools: PlanPools,
    seed: String,
}

fn ready(
    store: &dyn Store,
    user: &ConsoleUser,
    request: &DrawRequest,
) -> Result<Vec<Ready>, PlanError> {
    if request.plans.is_empty() || request.plans.len() > MAX_DRAW_PLANS {
        return Err(invalid(format!(
            "请选择 1–{MAX_DRAW_PLANS} 个计划 (choose 1 to {MAX_DRAW_PLANS} plans)"
        )));
    }
    if request.split.len() > MAX_SPLIT {
        return Err(invalid(format!("split: at most {MAX_SPLIT} subjects")));
    }
    for u in &request.split {
        Uscc::parse(u).map_err(|e| invalid(format!("split: “{u}”: {e}")))?;
    }
    let mut ids: Vec<&String> = request.plans.iter().collect();
    ids.sort();
    ids.dedup();
    let mut out = Vec::new();
    for id in ids {
        let plan = load(store, id)?;
        visible(store, user, &plan)?;
        let (Some(fixed), Some(entropy), PlanState::Fixed) = (plan.fixed, plan.entropy, plan.state)
        else {
            return Err(PlanError::State(format!(
                "计划 {id} 须已锁定、已录入随机数且尚未抽取 (plan {id} must be fixed, have its entropy, and not be drawn yet)"
            )));
        };
        let pools = store
            .plan_pools(id)?
            .ok_or_else(|| StoreError::Invalid(format!("plan {id} has no pools")))?;
        let seed = draw::seed(&fixed.commitment, &entropy.values);
        out.push(Ready {
            fixed,
            entropy,
            pools,
            seed,
        });
    }
    Ok(out)
}

fn outcome(plans: &[Ready], split: &BTreeSet<String>) -> draw::DrawOutcome {
    let inputs: Vec<PlanInput<'_>> = plans
        .iter()
        .map(|r| PlanInput {
            params: &r.fixed.params,
            pools: &r.pools,
            seed: &r.seed,
        })
        .collect();
    draw::run(&inputs, split)
}

/// What a draw over `request.plans` would do.
pub fn preview(
    store: &dyn Store,
    user: &ConsoleUser,
    request: &DrawRequest,
) -> Result<DrawPreview, PlanError> {
    let plans = ready(store, user, request)?;
    let split: BTreeSet<String> = request.split.iter().cloned().collect();
    let out = outcome(&plans, &split);
    let saved = out.saved_visits();
    Ok(DrawPreview {
        plans: plans
            .iter()
            .zip(&out.plans)
            .map(|(r, d)| PlanPreview {
                id: r.fixed.params.id.clone(),
                name: r.fixed.params.spec.name.clone(),
                sizes: r.fixed.pool_sizes,
                quotas: d.quotas,
                seed: r.seed.clone(),
                excluded: r.pools.excluded.clone(),
                saved_visits: saved.get(&d.plan).copied().unwrap_or(0),
            })
            .collect(),
        selections: out.plans.iter().map(|p| p.selected.len()).sum(),
        visits: out.tasks.len() + out.unstaffed.len(),
        tasks: out
            .tasks
            .into_iter()
            .map(|t| DrawTask {
                team: String::new(),
                inspectors: Vec::new(),
                ..t
            })
            .collect(),
        unstaffed: out.unstaffed,
        split: split.into_iter().collect(),
    })
}

fn draw_id(now: Millis) -> String {
    let day = chrono::DateTime::from_timestamp_millis(now + 8 * 3_600_000)
        .map(|d| d.format("%Y%m%d").to_string())
        .unwrap_or_default();
    let id = uuid::Uuid::new_v4().simple().to_string();
    format!("DR-{day}-{}", id[..6].to_ascii_uppercase())
}

/// The public summary of a record.
pub fn summary_of(record: &DrawRecord) -> DrawSummary {
    let mut saved = 0;
    for t in &record.tasks {
        saved += t.plans.len().saturating_sub(1);
    }
    DrawSummary {
        id: record.id.clone(),
        at: record.at,
        by: record.by.clone(),
        plans: record
            .plans
            .iter()
            .map(|p| DrawSummaryPlan {
                id: p.params.id.clone(),
                name: p.params.spec.name.clone(),
                departments: p.params.spec.departments.clone(),
                window: p.params.spec.window.clone(),
                sizes: p.pool_sizes,
                quotas: p.quotas,
                seed: p.seed.clone(),
                commitment: p.commitment.clone(),
                pool_hashes: p.pool_hashes.clone(),
                entropy_sources: p.params.spec.entropy_sources.clone(),
                entropy_values: p.entropy.values.clone(),
                special_reason: p.params.spec.special_reason.clone(),
            })
            .collect(),
        tasks: record.tasks.len(),
        unstaffed: record.unstaffed.len(),
        saved_visits: saved,
    }
}

/// Directory rows a draw's tasks need, read once.
struct Lookup<'a> {
    store: &'a dyn Store,
    items: HashMap<String, Item>,
    departments: HashMap<String, fieldloop_core::Department>,
    inspectors: HashMap<String, fieldloop_core::Inspector>,
    teams: HashMap<String, fieldloop_core::Team>,
}

impl Lookup<'_> {
    fn item(&mut self, id: &str) -> Result<Item, PlanError> {
        if let Some(i) = self.items.get(id) {
            return Ok(i.clone());
        }
        let item = self
            .store
            .item(id)?
            .ok_or_else(|| invalid(format!("item {id} left the catalog")))?;
        self.items.insert(id.to_owned(), item.clone());
        Ok(item)
    }
    fn department(&mut self, code: &str) -> Result<fieldloop_core::Department, PlanError> {
        if let Some(d) = self.departments.get(code) {
            return Ok(d.clone());
        }
        let d = self
            .store
            .department(code)?
            .ok_or_else(|| invalid(format!("department {code} left the directory")))?;
        self.departments.insert(code.to_owned(), d.clone());
        Ok(d)
    }
    fn inspector(&mut self, id: &str) -> Result<fieldloop_core::Inspector, PlanError> {
        if let Some(i) = self.inspectors.get(id) {
            return Ok(i.clone());
        }
        let i = self
            .store
            .inspector(id)?
            .ok_or_else(|| invalid(format!("inspector {id} left the directory")))?;
        self.inspectors.insert(id.to_owned(), i.clone());
        Ok(i)
    }
    fn team(&mut self, id: &str) -> Result<fieldloop_core::Team, PlanError> {
        if let Some(t) = self.teams.get(id) {
            return Ok(t.clone());
        }
        let t = self
            .store
            .team(id)?
            .ok_or_else(|| invalid(format!("team {id} left the directory")))?;
        self.teams.insert(id.to_owned(), t.clone());
        Ok(t)
    }
}

/// The spec of the task of one drawn visit, its names read from the directory.
fn spec_of(
    look: &mut Lookup<'_>,
    t: &DrawTask,
    subject: Subject,
    code: String,
    now: Millis,
) -> Result<TaskSpec, PlanError> {
    let start: Day = t.window.start.parse().map_err(PlanError::Invalid)?;
    let due: Day = t.window.due.parse().map_err(PlanError::Invalid)?;
    let items = t
        .items
        .iter()
        .map(|i| look.item(i))
        .collect::<Result<Vec<_>, _>>()?;
    let departments = t
        .departments
        .iter()
        .map(|d| look.department(d))
        .collect::<Result<Vec<_>, _>>()?;
    let people = t
        .inspectors
        .iter()
        .map(|i| look.inspector(i))
        .collect::<Result<Vec<_>, _>>()?;
    let team = look.team(&t.team)?;
    let mut spec = TaskSpec {
        id: uuid::Uuid::new_v4().to_string(),
        code,
        subject,
        team: t.team.clone(),
        inspectors: t.inspectors.clone(),
        window: Window {
            start: start.start_ms(),
            due: due.end_ms(),
        },
        verify_code: verify_code(),
        departments: t.departments.clone(),
        lead_department: t.lead_department.clone(),
        items,
        names: Names::of(&team.name, &people, &departments),
        claim: None,
    };
    // The signed claim of 亮码检查, with the badge numbers read above.
    if let Some(key) = look.store.claim_key() {
        let badges = people
            .iter()
            .map(|i| (i.id.clone(), i.badge_no.clone()))
            .collect();
        spec.claim = Some(key.sign(&fieldloop_core::claim::Claim::of_spec(&spec, &badges, now)));
    }
    Ok(spec)
}

/// The stored form of a new task: its document, heads and index row.
fn write_of(
    spec: TaskSpec,
    author: &Author,
    now: Millis,
) -> Result<(TaskWrite, TaskCodes), PlanError> {
    let (id, team, code, verify) = (
        spec.id.clone(),
        spec.team.clone(),
        spec.code.clone(),
        spec.verify_code.clone(),
    );
    let mut doc = TaskDoc::create(spec, author, now)?;
    let heads = doc.heads();
    let index = TaskIndex::of(doc.automerge())?;
    Ok((
        TaskWrite {
            id,
            team,
            doc: doc.save(),
            heads: heads.clone(),
            new_changes: heads,
            added: None,
            append: false,
            flags: Vec::new(),
            index: Some(index),
        },
        TaskCodes {
            code,
            verify_code: verify,
        },
    ))
}

/// Commits a draw: creates and assigns its tasks (they reach the tablets
/// at their next sync), marks its plans drawn and freezes its record, all
/// in one transaction. Returns the record as published.
pub fn commit(
    store: &dyn Store,
    user: &ConsoleUser,
    request: &DrawRequest,
    now: Millis,
) -> Result<DrawRecord, PlanError> {
    let plans = ready(store, user, request)?;
    let split: BTreeSet<String> = request.split.iter().cloned().collect();
    let out = outcome(&plans, &split);
    let record = DrawRecord {
        version: DRAW_VERSION,
        id: draw_id(now),
        at: now,
        by: user.id.clone(),
        plans: plans
            .iter()
            .zip(&out.plans)
            .map(|(r, d)| DrawnPlan {
                params: r.fixed.params.clone(),
                pool_hashes: r.fixed.pool_hashes.clone(),
                pool_sizes: r.fixed.pool_sizes,
                commitment: r.fixed.commitment.clone(),
                fixed_by: r.fixed.fixed_by.clone(),
                fixed_at: r.fixed.fixed_at,
                entropy: r.entropy.clone(),
                seed: r.seed.clone(),
                quotas: d.quotas,
                selected: d.selected.clone(),
            })
            .collect(),
        split: split.into_iter().collect(),
        assign_seed: out.assign_seed.clone(),
        tasks: out.tasks.clone(),
        unstaffed: out.unstaffed.clone(),
    };
    let author = Author::new(
        ActorId::from(SERVER_SUPERVISOR_ACTOR),
        user.id.clone(),
        Role::Supervisor,
    );
    let mut look = Lookup {
        store,
        items: HashMap::new(),
        departments: HashMap::new(),
        inspectors: HashMap::new(),
        teams: HashMap::new(),
    };
    let mut next: BTreeMap<i32, u64> = BTreeMap::new();
    let mut specs = Vec::with_capacity(record.tasks.len());
    for t in &record.tasks {
        let uscc = Uscc::parse(&t.uscc).map_err(|e| invalid(format!("{}: {e}", t.uscc)))?;
        let subject = store
            .subject(&uscc)?
            .ok_or_else(|| invalid(format!("subject {} left the directory", t.uscc)))?;
        let year = t
            .window
            .start
            .parse::<Day>()
            .map_err(PlanError::Invalid)?
            .year();
        let prefix = format!("{CODE_PREFIX}-{year}-");
        let n = match next.get_mut(&year) {
            Some(n) => n,
            None => next.entry(year).or_insert(store.highest_code(&prefix)?),
        };
        *n += 1;
        let code = format!("{prefix}{:06}", *n);
        specs.push(spec_of(&mut look, t, subject, code, now)?);
    }
    // Making the documents is most of a commit's time: on every core.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = specs.len().div_ceil(cores).max(1);
    let mut tasks = Vec::with_capacity(specs.len());
    let made: Vec<Result<Vec<(TaskWrite, TaskCodes)>, PlanError>> = std::thread::scope(|scope| {
        let mut rest = specs;
        let mut workers = Vec::new();
        while !rest.is_empty() {
            let tail = rest.split_off(chunk.min(rest.len()));
            let part = std::mem::replace(&mut rest, tail);
            let author = &author;
            workers.push(scope.spawn(move || {
                part.into_iter()
                    .map(|spec| write_of(spec, author, now))
                    .collect::<Result<Vec<_>, _>>()
            }));
        }
        workers
            .into_iter()
            .map(|w| {
                w.join()
                    .unwrap_or_else(|_| Err(invalid("a task could not be made")))
            })
            .collect()
    });
    for part in made {
        tasks.extend(part?);
    }
    let pools: Vec<PlanPools> = plans.into_iter().map(|r| r.pools).collect();
    let summary = serde_json::to_string(&summary_of(&record))
        .map_err(|e| StoreError::Invalid(e.to_string()))?;
    store.commit_draw(
        &DrawWrite {
            record: &record,
            pools: &pools,
            summary,
            tasks,
        },
        now,
    )?;
    Ok(record)
}

/// Parses `A=1,B=2,C=3,D=4` (any subset) over the defaults.
pub fn parse_yearly_limits(text: &str) -> Result<[u32; 4], String> {
    let mut limits = YEARLY_LIMITS;
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (class, n) = part
            .split_once('=')
            .ok_or_else(|| format!("“{part}”: write CLASS=N, e.g. A=1"))?;
        let i = match class.trim() {
            "A" | "a" => 0,
            "B" | "b" => 1,
            "C" | "c" => 2,
            "D" | "d" => 3,
            other => return Err(format!("“{other}” is not a risk class (A, B, C or D)")),
        };
        limits[i] = n
            .trim()
            .parse()
            .map_err(|_| format!("“{n}” is not a whole number"))?;
    }
    Ok(limits)
}
