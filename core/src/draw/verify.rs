//! Recomputing a published draw: what `fieldloop-server draw verify` runs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::run::PlanInput;
use super::{
    DRAW_VERSION, DrawRecord, MIN_INSPECTORS, PlanPools, PoolQuotas, assign_seed, commitment, run,
    seed,
};
use crate::domain::RiskClass;

/// The first place where a record differs from its recomputation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// A path into the record, e.g. `plans[0].selected[3]`.
    pub place: String,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: recomputed {}, the record has {}",
            self.place, self.expected, self.found
        )
    }
}

impl std::error::Error for Mismatch {}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub plans: usize,
    pub selected: usize,
    pub tasks: usize,
    /// Whether pools were given, so that the selection and the inspectors
    /// were recomputed, not only the seeds, quotas and structure.
    pub recomputed: bool,
}

fn differ(place: impl Into<String>, expected: impl fmt::Debug, found: impl fmt::Debug) -> Mismatch {
    Mismatch {
        place: place.into(),
        expected: format!("{expected:?}"),
        found: format!("{found:?}"),
    }
}

fn same<T: PartialEq + fmt::Debug>(place: &str, expected: &T, found: &T) -> Result<(), Mismatch> {
    if expected == found {
        Ok(())
    } else {
        Err(differ(place, expected, found))
    }
}

/// Recomputes `record`: the commitments, seeds, quotas and the assignment
/// seed always; with `pools`, also the pool hashes, every drawn subject,
/// every joint visit and every inspector. Without pools, the record's
/// structure is checked instead (each drawn subject visited exactly once
/// per plan, merged windows overlapping, at least two distinct inspectors).
pub fn verify(record: &DrawRecord, pools: Option<&[PlanPools]>) -> Result<VerifyReport, Mismatch> {
    same("version", &DRAW_VERSION, &record.version)?;
    let ids: Vec<&str> = record.plans.iter().map(|p| p.params.id.as_str()).collect();
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    same("plans (in order of id, each once)", &sorted, &ids)?;
    let mut seeds = BTreeMap::new();
    for (i, plan) in record.plans.iter().enumerate() {
        let at = |field: &str| format!("plans[{i}].{field}");
        let c = commitment(&plan.params, &plan.pool_hashes, &plan.pool_sizes);
        same(&at("commitment"), &c, &plan.commitment)?;
        if plan.params.spec.entropy_sources.is_empty() {
            return Err(differ(
                at("params.spec.entropy_sources"),
                "at least one source",
                "none",
            ));
        }
        if plan.entropy.entered_by == plan.fixed_by {
            return Err(differ(
                at("entropy.entered_by"),
                "someone other than who fixed the plan",
                &plan.entropy.entered_by,
            ));
        }
        if plan.entropy.entered_at <= plan.fixed_at {
            return Err(differ(
                at("entropy.entered_at"),
                format!("after the plan was fixed ({})", plan.fixed_at),
                plan.entropy.entered_at,
            ));
        }
        if let Some(v) = plan
            .entropy
            .values
            .iter()
            .find(|v| !super::entropy_value_ok(v))
        {
            return Err(differ(
                at("entropy.values"),
                "values with something in them and no '/'",
                v,
            ));
        }
        same(
            &at("entropy.values (one per source)"),
            &plan.params.spec.entropy_sources.len(),
            &plan.entropy.values.len(),
        )?;
        let s = seed(&plan.commitment, &plan.entropy.values);
        same(&at("seed"), &s, &plan.seed)?;
        let quotas = PoolQuotas::of(&plan.params.spec.ratios, &plan.pool_sizes);
        same(&at("quotas"), &quotas, &plan.quotas)?;
        same(
            &at("selected (count)"),
            &quotas.total(),
            &plan.selected.len(),
        )?;
        seeds.insert(plan.params.id.clone(), plan.seed.clone());
    }
    same("assign_seed", &assign_seed(&seeds), &record.assign_seed)?;
    let split: BTreeSet<String> = record.split.iter().cloned().collect();

    let Some(pools) = pools else {
        structure(record, &split)?;
        return Ok(VerifyReport {
            plans: record.plans.len(),
            selected: record.plans.iter().map(|p| p.selected.len()).sum(),
            tasks: record.tasks.len(),
            recomputed: false,
        });
    };

    let mut inputs = Vec::new();
    for (i, plan) in record.plans.iter().enumerate() {
        let Some(pool) = pools.iter().find(|p| p.plan == plan.params.id) else {
            return Err(differ(
                format!("pools for plans[{i}]"),
                &plan.params.id,
                "no pools for this plan",
            ));
        };
        if pool.salt.len() != 64
            || !pool
                .salt
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(differ(
                format!("pools[{i}].salt"),
                "64 lowercase hex digits",
                &pool.salt,
            ));
        }
        let hashes = pool.hashes();
        for class in RiskClass::ALL {
            same(
                &format!("plans[{i}].pool_hashes.{class}"),
                &hashes.of(class).to_owned(),
                &plan.pool_hashes.of(class).to_owned(),
            )?;
        }
        same(
            &format!("plans[{i}].pool_hashes.inspectors"),
            &hashes.inspectors,
            &plan.pool_hashes.inspectors,
        )?;
        same(
            &format!("plans[{i}].pool_hashes.recusals"),
            &hashes.recusals,
            &plan.pool_hashes.recusals,
        )?;
        let mut sizes = pool.sizes();
        // The guard's exclusions are listed for the preview, not hashed.
        sizes.excluded = plan.pool_sizes.excluded;
        same(&format!("plans[{i}].pool_sizes"), &sizes, &plan.pool_sizes)?;
        inputs.push(PlanInput {
            params: &plan.params,
            pools: pool,
            seed: &plan.seed,
        });
    }
    let outcome = run(&inputs, &split);
    for (i, (plan, drawn)) in record.plans.iter().zip(&outcome.plans).enumerate() {
        for (j, (expected, found)) in drawn.selected.iter().zip(&plan.selected).enumerate() {
            same(&format!("plans[{i}].selected[{j}]"), expected, found)?;
        }
    }
    same("tasks (count)", &outcome.tasks.len(), &record.tasks.len())?;
    for (k, (expected, found)) in outcome.tasks.iter().zip(&record.tasks).enumerate() {
        let at = |field: &str| format!("tasks[{k}].{field}");
        same(&at("uscc"), &expected.uscc, &found.uscc)?;
        same(&at("plans"), &expected.plans, &found.plans)?;
        same(&at("items"), &expected.items, &found.items)?;
        same(
            &at("departments"),
            &expected.departments,
            &found.departments,
        )?;
        same(
            &at("lead_department"),
            &expected.lead_department,
            &found.lead_department,
        )?;
        same(&at("window"), &expected.window, &found.window)?;
        same(&at("team"), &expected.team, &found.team)?;
        same(&at("inspectors"), &expected.inspectors, &found.inspectors)?;
        same(&at("name"), &expected.name, &found.name)?;
    }
    same("unstaffed", &outcome.unstaffed, &record.unstaffed)?;
    Ok(VerifyReport {
        plans: record.plans.len(),
        selected: outcome.plans.iter().map(|p| p.selected.len()).sum(),
        tasks: record.tasks.len(),
        recomputed: true,
    })
}

/// The checks that need no pools.
fn structure(record: &DrawRecord, split: &BTreeSet<String>) -> Result<(), Mismatch> {
    let plans: BTreeMap<&str, &super::DrawnPlan> = record
        .plans
        .iter()
        .map(|p| (p.params.id.as_str(), p))
        .collect();
    let mut wanted: BTreeSet<(&str, &str)> = BTreeSet::new();
    for (i, p) in record.plans.iter().enumerate() {
        for (j, u) in p.selected.iter().enumerate() {
            if !wanted.insert((p.params.id.as_str(), u.as_str())) {
                return Err(differ(
                    format!("plans[{i}].selected[{j}]"),
                    "each subject once",
                    u,
                ));
            }
        }
    }
    let visits = record
        .tasks
        .iter()
        .map(|t| (&t.uscc, &t.plans, Some(t)))
        .chain(record.unstaffed.iter().map(|u| (&u.uscc, &u.plans, None)));
    for (k, (uscc, served, task)) in visits.enumerate() {
        if served.is_empty() {
            return Err(differ(
                format!("visit {k} ({uscc}).plans"),
                "at least one plan",
                "none",
            ));
        }
        if split.contains(uscc) && served.len() > 1 {
            return Err(differ(
                format!("visit {k} ({uscc}).plans"),
                "one plan (its merge was undone)",
                served,
            ));
        }
        let mut window = None::<super::DayWindow>;
        for plan in served {
            if !wanted.remove(&(plan.as_str(), uscc.as_str())) {
                return Err(differ(
                    format!("visit {k} ({uscc}).plans"),
                    "plans that drew this subject, each once",
                    plan,
                ));
            }
            let Some(p) = plans.get(plan.as_str()) else {
                return Err(differ(
                    format!("visit {k}.plans"),
                    "a plan of the draw",
                    plan,
                ));
            };
            let w = &p.params.spec.window;
            window = Some(match window {
                None => w.clone(),
                Some(v) => v.intersect(w).ok_or_else(|| {
                    differ(
                        format!("visit {k} ({uscc}).plans"),
                        "plans whose windows overlap",
                        served,
                    )
                })?,
            });
        }
        if let (Some(t), Some(w)) = (task, window) {
            same(&format!("tasks[{k}].window"), &w, &t.window)?;
            let mut people = t.inspectors.clone();
            people.sort();
            people.dedup();
            if people.len() < MIN_INSPECTORS as usize || people.len() != t.inspectors.len() {
                return Err(differ(
                    format!("tasks[{k}].inspectors"),
                    "at least two distinct inspectors",
                    &t.inspectors,
                ));
            }
            let served: Vec<&super::DrawnPlan> = t
                .plans
                .iter()
                .filter_map(|p| plans.get(p.as_str()).copied())
                .collect();
            let needed = served
                .iter()
                .map(|p| p.params.spec.inspectors_per_task)
                .max()
                .unwrap_or(MIN_INSPECTORS)
                .max(MIN_INSPECTORS) as usize;
            if people.len() != needed {
                return Err(differ(
                    format!("tasks[{k}].inspectors"),
                    format!("exactly {needed} inspectors, as the plans ask"),
                    &t.inspectors,
                ));
            }
            if !served.iter().all(|p| p.params.spec.teams.contains(&t.team)) {
                return Err(differ(
                    format!("tasks[{k}].team"),
                    "a team of every plan served",
                    &t.team,
                ));
            }
            if !t.departments.contains(&t.lead_department) {
                return Err(differ(
                    format!("tasks[{k}].lead_department"),
                    "one of the task's departments",
                    &t.lead_department,
                ));
            }
            for item in &t.items {
                let known = served
                    .iter()
                    .find_map(|p| p.params.catalog.iter().find(|c| &c.id == item));
                match known {
                    Some(c) if t.departments.contains(&c.department) => {}
                    _ => {
                        return Err(differ(
                            format!("tasks[{k}].items"),
                            "items of the plans served, of the task's departments",
                            item,
                        ));
                    }
                }
            }
        }
    }
    if let Some((plan, uscc)) = wanted.into_iter().next() {
        return Err(differ(
            format!("plan {plan}"),
            format!("a visit for drawn subject {uscc}"),
            "none",
        ));
    }
    Ok(())
}
