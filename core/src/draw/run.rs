//! The draw itself: subjects per class by ticket, joint visits merged,
//! inspectors assigned. A pure function of its inputs.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use super::{
    DayWindow, DrawTask, MIN_INSPECTORS, PlanParams, PlanPools, PoolInspector, PoolQuotas,
    PoolSubject, Unstaffed, assign_seed, quota, ticket,
};
use crate::domain::RiskClass;

/// One plan's part of a draw's input.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    pub params: &'a PlanParams,
    pub pools: &'a PlanPools,
    pub seed: &'a str,
}

/// What one plan drew.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanDrawn {
    pub plan: String,
    pub quotas: PoolQuotas,
    /// USCCs in USCC order.
    pub selected: Vec<String>,
}

/// Everything a draw decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrawOutcome {
    /// In order of plan id.
    pub plans: Vec<PlanDrawn>,
    pub assign_seed: String,
    /// In order of USCC, then of the visits of one subject (their lead
    /// plans by window start, then id).
    pub tasks: Vec<DrawTask>,
    pub unstaffed: Vec<Unstaffed>,
}

impl DrawOutcome {
    /// Visits saved by merging, per plan: each task that serves `n` plans
    /// saves `n - 1` visits, counted for the plans that joined the lead's visit.
    pub fn saved_visits(&self) -> BTreeMap<String, usize> {
        let mut saved: BTreeMap<String, usize> =
            self.plans.iter().map(|p| (p.plan.clone(), 0)).collect();
        for t in &self.tasks {
            for p in t.plans.iter().skip(1) {
                *saved.entry(p.clone()).or_default() += 1;
            }
        }
        saved
    }
}

/// Draws: see `docs/draw.md` for each step. `plans` may come in any order;
/// they are taken in order of id. `split` lists subjects whose joint visit
/// was undone.
pub fn run(plans: &[PlanInput<'_>], split: &BTreeSet<String>) -> DrawOutcome {
    let mut plans: Vec<PlanInput<'_>> = plans.to_vec();
    plans.sort_by(|x, y| x.params.id.cmp(&y.params.id));

    // 1. Subjects, per plan and class, by smallest ticket.
    let mut drawn = Vec::with_capacity(plans.len());
    let mut picked: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    let mut subjects: HashMap<&str, &PoolSubject> = HashMap::new();
    for (index, plan) in plans.iter().enumerate() {
        let mut quotas = PoolQuotas::default();
        let mut selected = Vec::new();
        for class in RiskClass::ALL {
            let pool = plan.pools.subjects.of(class);
            let q = quota(pool.len(), plan.params.spec.ratios.of(class));
            let class_name = class.to_string();
            let mut tickets: Vec<([u8; 32], &PoolSubject)> = pool
                .iter()
                // The pool's salt keeps the public seed from telling, for a
                // drawn subject, which class it was drawn from.
                .map(|s| {
                    (
                        ticket(plan.seed, &[&plan.pools.salt, &class_name, &s.uscc]),
                        s,
                    )
                })
                .collect();
            tickets.sort_by(|x, y| x.0.cmp(&y.0).then_with(|| x.1.uscc.cmp(&y.1.uscc)));
            for (_, s) in tickets.into_iter().take(q) {
                selected.push(s.uscc.clone());
                picked.entry(&s.uscc).or_default().push(index);
                subjects.entry(&s.uscc).or_insert(s);
            }
            match class {
                RiskClass::A => quotas.a = q,
                RiskClass::B => quotas.b = q,
                RiskClass::C => quotas.c = q,
                RiskClass::D => quotas.d = q,
            }
        }
        selected.sort();
        drawn.push(PlanDrawn {
            plan: plan.params.id.clone(),
            quotas,
            selected,
        });
    }

    // 2. Joint visits: per subject, plans in order of (window start, id);
    // each joins the last group if the windows still share a day and the
    // teams still share a team.
    struct Group {
        members: Vec<usize>,
        window: DayWindow,
        teams: BTreeSet<String>,
    }
    let mut tasks: Vec<(DrawTask, BTreeSet<String>, u32, Vec<usize>)> = Vec::new();
    let mut subject_of: Vec<&PoolSubject> = Vec::new();
    for (uscc, mut members) in picked {
        members.sort_by(|&x, &y| {
            let (px, py) = (&plans[x].params, &plans[y].params);
            px.spec
                .window
                .start
                .cmp(&py.spec.window.start)
                .then_with(|| px.id.cmp(&py.id))
        });
        members.dedup();
        let mut groups: Vec<Group> = Vec::new();
        for m in members {
            let spec = &plans[m].params.spec;
            let teams: BTreeSet<String> = spec.teams.iter().cloned().collect();
            if !split.contains(uscc)
                && let Some(last) = groups.last_mut()
                && let Some(window) = last.window.intersect(&spec.window)
            {
                let shared: BTreeSet<String> = last.teams.intersection(&teams).cloned().collect();
                if !shared.is_empty() {
                    last.members.push(m);
                    last.window = window;
                    last.teams = shared;
                    continue;
                }
            }
            groups.push(Group {
                members: vec![m],
                window: spec.window.clone(),
                teams,
            });
        }
        let subject = subjects[uscc];
        for g in groups {
            let mut items: Vec<String> = Vec::new();
            let mut departments: Vec<String> = Vec::new();
            let mut seen = HashSet::new();
            for &m in &g.members {
                for item in &plans[m].params.catalog {
                    if item.applies_to(&subject.industry) && seen.insert(item.id.as_str()) {
                        items.push(item.id.clone());
                        if !departments.contains(&item.department) {
                            departments.push(item.department.clone());
                        }
                    }
                }
            }
            let lead_spec = &plans[g.members[0]].params.spec;
            let lead_department = if departments.contains(&lead_spec.lead_department) {
                lead_spec.lead_department.clone()
            } else {
                departments.first().cloned().unwrap_or_default()
            };
            let needed = g
                .members
                .iter()
                .map(|&m| plans[m].params.spec.inspectors_per_task)
                .max()
                .unwrap_or(MIN_INSPECTORS)
                .max(MIN_INSPECTORS);
            let task = DrawTask {
                uscc: uscc.to_owned(),
                name: subject.name.clone(),
                plans: g
                    .members
                    .iter()
                    .map(|&m| plans[m].params.id.clone())
                    .collect(),
                departments,
                lead_department,
                items,
                window: g.window,
                team: String::new(),
                inspectors: Vec::new(),
            };
            tasks.push((task, g.teams, needed, g.members));
            subject_of.push(subject);
        }
    }

    // 3. Inspectors: tasks in ticket order; the least-loaded team that can
    // staff the task, then the least-loaded inspectors, the lead
    // department's first; ties by ticket.
    let seeds: BTreeMap<String, String> = plans
        .iter()
        .map(|p| (p.params.id.clone(), p.seed.to_owned()))
        .collect();
    let assign = assign_seed(&seeds);
    let recused: Vec<HashSet<(&str, &str)>> = plans
        .iter()
        .map(|p| {
            p.pools
                .recusals
                .iter()
                .map(|r| (r.inspector.as_str(), r.uscc.as_str()))
                .collect()
        })
        .collect();
    let mut order: Vec<(usize, [u8; 32])> = tasks
        .iter()
        .enumerate()
        .map(|(i, (t, ..))| (i, ticket(&assign, &["task", &t.uscc, &t.plans[0]])))
        .collect();
    order.sort_by(|x, y| x.1.cmp(&y.1).then(x.0.cmp(&y.0)));
    let mut team_load: HashMap<String, u32> = HashMap::new();
    let mut load: HashMap<String, u32> = HashMap::new();
    let mut staffed = vec![true; tasks.len()];
    let mut shortfall = vec![0usize; tasks.len()];
    for (i, _) in order {
        let (task, teams, needed, members) = &tasks[i];
        let needed = *needed as usize;
        let mut best: Option<(u32, [u8; 32], &String, Vec<&PoolInspector>)> = None;
        let mut most_eligible = 0;
        for team in teams {
            let mut eligible: Vec<&PoolInspector> = Vec::new();
            for &m in members {
                for p in &plans[m].pools.inspectors {
                    if &p.team == team
                        && task.departments.contains(&p.department)
                        && !members.iter().any(|&r| {
                            recused[r].contains(&(p.id.as_str(), task.uscc.as_str()))
                                || (plans[r].params.spec.recuse_same_township
                                    && p.lives_in(subject_of[i]))
                        })
                        && !eligible.iter().any(|e| e.id == p.id)
                    {
                        eligible.push(p);
                    }
                }
            }
            most_eligible = most_eligible.max(eligible.len());
            let can_lead = eligible
                .iter()
                .any(|p| p.department == task.lead_department);
            if eligible.len() < needed || !can_lead {
                continue;
            }
            let key = (
                team_load.get(team).copied().unwrap_or(0),
                ticket(&assign, &["team", &task.uscc, team]),
            );
            if best.as_ref().is_none_or(|b| key < (b.0, b.1)) {
                best = Some((key.0, key.1, team, eligible));
            }
        }
        let Some((_, _, team, eligible)) = best else {
            staffed[i] = false;
            shortfall[i] = most_eligible;
            continue;
        };
        let rank = |p: &PoolInspector| {
            (
                load.get(&p.id).copied().unwrap_or(0),
                ticket(&assign, &["inspector", &task.uscc, &p.id]),
            )
        };
        let lead = eligible
            .iter()
            .filter(|p| p.department == task.lead_department)
            .min_by_key(|p| rank(p))
            .map(|p| p.id.clone())
            .expect("a team is chosen only with a lead-department inspector");
        let mut rest: Vec<(_, &PoolInspector)> = eligible
            .iter()
            .filter(|p| p.id != lead)
            .map(|p| (rank(p), *p))
            .collect();
        rest.sort_by_key(|x| x.0);
        let mut chosen = vec![lead];
        chosen.extend(rest.into_iter().take(needed - 1).map(|(_, p)| p.id.clone()));
        for id in &chosen {
            *load.entry(id.clone()).or_default() += 1;
        }
        *team_load.entry(team.clone()).or_default() += 1;
        let team = team.clone();
        let task = &mut tasks[i].0;
        task.team = team;
        task.inspectors = chosen;
    }

    let mut done = Vec::new();
    let mut unstaffed = Vec::new();
    for (i, (task, _, needed, _)) in tasks.into_iter().enumerate() {
        if staffed[i] {
            done.push(task);
        } else {
            unstaffed.push(Unstaffed {
                uscc: task.uscc,
                name: task.name,
                plans: task.plans,
                eligible: shortfall[i],
                needed: needed as usize,
            });
        }
    }
    DrawOutcome {
        plans: drawn,
        assign_seed: assign,
        tasks: done,
        unstaffed,
    }
}
