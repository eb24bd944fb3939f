//! Property tests of the draw (双随机): the same inputs always give the same
//! draw; a changed pool entry, ratio or seed shows in the hashes or the
//! result; quotas follow the rounding rule; recused inspectors are never
//! drawn; every visit has at least two inspectors certified for its
//! departments, of its team; merging never loses an item and never joins
//! windows that do not overlap; `verify` accepts what `run` drew and names
//! the place of any swapped subject.
//!
//! The number of cases follows `PROPTEST_CASES` (CI sets it).

use std::collections::{BTreeMap, BTreeSet};

use fieldloop_core::RiskClass;
use fieldloop_core::draw::{
    self, ClassPools, DRAW_VERSION, DayWindow, DrawRecord, DrawnPlan, EntropyValues, ItemRef,
    PlanInput, PlanParams, PlanPools, PlanSpec, PoolInspector, PoolQuotas, PoolSubject, Ratios,
    Recusal, SubjectFilter,
};
use proptest::prelude::*;

const DEPARTMENTS: [&str; 3] = ["SCJG", "XFJY", "YJGL"];
const TEAMS: [&str; 2] = ["T-1", "T-2"];
const INDUSTRIES: [&str; 3] = ["catering", "retail", "hotel"];
const TOWNS: [&str; 3] = ["梅林镇", "龙口镇", "白鹭镇"];

#[derive(Debug, Clone)]
struct World {
    subjects: Vec<(String, RiskClass, usize, Option<usize>)>,
    inspectors: Vec<(String, usize, usize, Option<usize>)>,
    plans: Vec<PlanShape>,
    conflicts: Vec<(usize, usize)>,
}

#[derive(Debug, Clone)]
struct PlanShape {
    departments: Vec<usize>,
    ratios: [u32; 4],
    start: u32,
    len: u32,
    teams: Vec<usize>,
    per_task: u32,
    recuse_town: bool,
    entropy: String,
}

fn class() -> impl Strategy<Value = RiskClass> {
    prop_oneof![
        Just(RiskClass::A),
        Just(RiskClass::B),
        Just(RiskClass::C),
        Just(RiskClass::D)
    ]
}

fn plan_shape() -> impl Strategy<Value = PlanShape> {
    (
        proptest::sample::subsequence(vec![0usize, 1, 2], 1..=3),
        [0u32..=10_000, 0u32..=10_000, 0u32..=10_000, 0u32..=10_000],
        0u32..20,
        0u32..15,
        proptest::sample::subsequence(vec![0usize, 1], 1..=2),
        2u32..=3,
        any::<bool>(),
        "[0-9 ]{1,12}",
    )
        .prop_map(
            |(departments, ratios, start, len, teams, per_task, recuse_town, entropy)| PlanShape {
                departments,
                ratios,
                start,
                len,
                teams,
                per_task,
                recuse_town,
                entropy: format!("{entropy}7"),
            },
        )
}

fn world() -> impl Strategy<Value = World> {
    (
        proptest::collection::vec((class(), 0usize..3, proptest::option::of(0usize..3)), 5..40),
        proptest::collection::vec(
            (0usize..3, 0usize..2, proptest::option::of(0usize..3)),
            4..14,
        ),
        proptest::collection::vec(plan_shape(), 1..=3),
        proptest::collection::vec((0usize..14, 0usize..40), 0..8),
    )
        .prop_map(|(subjects, inspectors, plans, conflicts)| World {
            subjects: subjects
                .into_iter()
                .enumerate()
                .map(|(i, (c, ind, town))| (format!("USCC{i:04}"), c, ind, town))
                .collect(),
            inspectors: inspectors
                .into_iter()
                .enumerate()
                .map(|(i, (d, t, town))| (format!("I-{i:03}"), d, t, town))
                .collect(),
            plans,
            conflicts,
        })
}

fn day(n: u32) -> String {
    format!("2027-03-{:02}", n + 1)
}

/// Items: per department, one for every industry and one for catering only.
fn catalog(departments: &[usize]) -> Vec<ItemRef> {
    let mut items = Vec::new();
    for &d in departments {
        items.push(ItemRef {
            id: format!("{}-ALL", DEPARTMENTS[d]),
            department: DEPARTMENTS[d].into(),
            industries: vec![],
        });
        items.push(ItemRef {
            id: format!("{}-CAT", DEPARTMENTS[d]),
            department: DEPARTMENTS[d].into(),
            industries: vec!["catering".into()],
        });
    }
    items
}

struct Built {
    params: Vec<PlanParams>,
    pools: Vec<PlanPools>,
    seeds: Vec<String>,
}

fn build(w: &World) -> Built {
    let mut params = Vec::new();
    let mut pools = Vec::new();
    let mut seeds = Vec::new();
    for (n, shape) in w.plans.iter().enumerate() {
        let departments: Vec<String> = shape
            .departments
            .iter()
            .map(|&d| DEPARTMENTS[d].to_owned())
            .collect();
        let spec = PlanSpec {
            name: format!("计划{n}"),
            lead_department: departments[0].clone(),
            departments: departments.clone(),
            items: catalog(&shape.departments)
                .into_iter()
                .map(|i| i.id)
                .collect(),
            filter: SubjectFilter::default(),
            ratios: Ratios {
                a: shape.ratios[0],
                b: shape.ratios[1],
                c: shape.ratios[2],
                d: shape.ratios[3],
            },
            inspectors_per_task: shape.per_task,
            teams: shape.teams.iter().map(|&t| TEAMS[t].to_owned()).collect(),
            window: DayWindow {
                start: day(shape.start),
                due: day((shape.start + shape.len).min(27)),
            },
            special_reason: None,
            recuse_same_township: shape.recuse_town,
            entropy_sources: vec!["福彩3D 开奖号码".into()],
        };
        let p = PlanParams {
            id: format!("P-{n}"),
            catalog: catalog(&shape.departments),
            spec,
        };
        let mut pool = PlanPools {
            plan: p.id.clone(),
            salt: format!("{n:064x}"),
            subjects: ClassPools::default(),
            ..PlanPools::default()
        };
        for (uscc, class, industry, town) in &w.subjects {
            pool.subjects.of_mut(*class).push(PoolSubject {
                uscc: uscc.clone(),
                name: format!("企业{uscc}"),
                industry: INDUSTRIES[*industry].into(),
                township: town.map(|t| TOWNS[t].to_owned()),
            });
        }
        for (id, d, t, town) in &w.inspectors {
            if p.spec.teams.contains(&TEAMS[*t].to_owned())
                && p.spec.departments.contains(&DEPARTMENTS[*d].to_owned())
            {
                pool.inspectors.push(PoolInspector {
                    id: id.clone(),
                    department: DEPARTMENTS[*d].into(),
                    team: TEAMS[*t].into(),
                    township: town.map(|t| TOWNS[t].to_owned()),
                });
            }
        }
        for &(i, s) in &w.conflicts {
            if let (Some(insp), Some(subj)) = (w.inspectors.get(i), w.subjects.get(s)) {
                pool.recusals.push(Recusal {
                    inspector: insp.0.clone(),
                    uscc: subj.0.clone(),
                });
            }
        }
        pool.normalise();
        let commitment = draw::commitment(&p, &pool.hashes(), &pool.sizes());
        seeds.push(draw::seed(
            &commitment,
            std::slice::from_ref(&shape.entropy),
        ));
        params.push(p);
        pools.push(pool);
    }
    Built {
        params,
        pools,
        seeds,
    }
}

fn inputs(b: &Built) -> Vec<PlanInput<'_>> {
    (0..b.params.len())
        .map(|i| PlanInput {
            params: &b.params[i],
            pools: &b.pools[i],
            seed: &b.seeds[i],
        })
        .collect()
}

fn record(b: &Built, w: &World, split: &BTreeSet<String>) -> DrawRecord {
    let out = draw::run(&inputs(b), split);
    let mut seeds = BTreeMap::new();
    let plans = (0..b.params.len())
        .map(|i| {
            let hashes = b.pools[i].hashes();
            let sizes = b.pools[i].sizes();
            seeds.insert(b.params[i].id.clone(), b.seeds[i].clone());
            DrawnPlan {
                commitment: draw::commitment(&b.params[i], &hashes, &sizes),
                params: b.params[i].clone(),
                pool_hashes: hashes,
                pool_sizes: sizes,
                fixed_by: "S-001".into(),
                fixed_at: 1,
                entropy: EntropyValues {
                    values: vec![w.plans[i].entropy.clone()],
                    entered_by: "S-002".into(),
                    entered_at: 2,
                },
                seed: b.seeds[i].clone(),
                quotas: out.plans[i].quotas,
                selected: out.plans[i].selected.clone(),
            }
        })
        .collect();
    DrawRecord {
        version: DRAW_VERSION,
        id: "DR-TEST".into(),
        at: 3,
        by: "S-001".into(),
        plans,
        split: split.iter().cloned().collect(),
        assign_seed: out.assign_seed,
        tasks: out.tasks,
        unstaffed: out.unstaffed,
    }
}

fn inspector<'a>(w: &'a World, id: &str) -> &'a (String, usize, usize, Option<usize>) {
    w.inspectors.iter().find(|i| i.0 == id).expect("known")
}

fn subject<'a>(w: &'a World, uscc: &str) -> &'a (String, RiskClass, usize, Option<usize>) {
    w.subjects.iter().find(|s| s.0 == uscc).expect("known")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(128)
    ))]

    #[test]
    fn the_same_inputs_give_the_same_draw(w in world(), splits in proptest::collection::vec(0usize..40, 0..4)) {
        let b = build(&w);
        let split: BTreeSet<String> = splits.iter().filter_map(|&i| w.subjects.get(i)).map(|s| s.0.clone()).collect();
        let first = draw::run(&inputs(&b), &split);
        let mut reversed = inputs(&b);
        reversed.reverse();
        prop_assert_eq!(&first, &draw::run(&reversed, &split), "plan order does not matter");
        prop_assert_eq!(&first, &draw::run(&inputs(&b), &split));
    }

    #[test]
    fn quotas_follow_the_rounding_rule_and_selection_stays_in_the_pool(w in world()) {
        let b = build(&w);
        let out = draw::run(&inputs(&b), &BTreeSet::new());
        for (i, drawn) in out.plans.iter().enumerate() {
            let mut expected = PoolQuotas::default();
            for class in RiskClass::ALL {
                let n = b.pools[i].subjects.of(class).len();
                let r = b.params[i].spec.ratios.of(class) as usize;
                // ceil(n * r / 10000), written out.
                let q = (n * r).div_ceil(10_000);
                prop_assert!(q <= n);
                if r > 0 && n > 0 { prop_assert!(q >= 1); }
                match class {
                    RiskClass::A => expected.a = q,
                    RiskClass::B => expected.b = q,
                    RiskClass::C => expected.c = q,
                    RiskClass::D => expected.d = q,
                }
                let chosen = drawn.selected.iter().filter(|u| subject(&w, u).1 == class).count();
                prop_assert_eq!(chosen, q, "class {} of plan {}", class, i);
            }
            prop_assert_eq!(drawn.quotas, expected);
            let mut sorted = drawn.selected.clone();
            sorted.sort();
            sorted.dedup();
            prop_assert_eq!(&sorted, &drawn.selected, "sorted by USCC, each once");
        }
    }

    #[test]
    fn visits_are_staffed_by_certified_unrecused_inspectors_of_their_team(w in world()) {
        let b = build(&w);
        let out = draw::run(&inputs(&b), &BTreeSet::new());
        let declared: BTreeSet<(String, String)> = w.conflicts.iter()
            .filter_map(|&(i, s)| Some((w.inspectors.get(i)?.0.clone(), w.subjects.get(s)?.0.clone())))
            .collect();
        for t in &out.tasks {
            let people: BTreeSet<&String> = t.inspectors.iter().collect();
            prop_assert_eq!(people.len(), t.inspectors.len(), "distinct");
            let needed = t.plans.iter().map(|p| b.params.iter().find(|x| &x.id == p).expect("present").spec.inspectors_per_task).max().expect("present");
            prop_assert!(t.inspectors.len() as u32 >= needed.max(2));
            let lead = inspector(&w, &t.inspectors[0]);
            prop_assert_eq!(DEPARTMENTS[lead.1], t.lead_department.as_str(), "the lead department's officer first");
            let town = subject(&w, &t.uscc).3;
            let recuse_town = t.plans.iter().any(|p| b.params.iter().find(|x| &x.id == p).expect("present").spec.recuse_same_township);
            for id in &t.inspectors {
                let i = inspector(&w, id);
                prop_assert!(t.departments.contains(&DEPARTMENTS[i.1].to_owned()), "certified for the task's departments");
                prop_assert_eq!(TEAMS[i.2], t.team.as_str());
                prop_assert!(!declared.contains(&(id.clone(), t.uscc.clone())), "declared conflict drawn");
                if recuse_town && town.is_some() {
                    prop_assert_ne!(i.3, town, "an inspector living in the township was drawn");
                }
            }
        }
    }

    #[test]
    fn merging_loses_no_item_and_joins_only_overlapping_windows(w in world()) {
        let b = build(&w);
        let out = draw::run(&inputs(&b), &BTreeSet::new());
        let mut visits: BTreeMap<(String, String), usize> = BTreeMap::new();
        for t in out.tasks.iter().map(|t| (&t.uscc, &t.plans, Some(t)))
            .chain(out.unstaffed.iter().map(|u| (&u.uscc, &u.plans, None)))
        {
            let (uscc, plans, task) = t;
            let industry = INDUSTRIES[subject(&w, uscc).2];
            let mut window: Option<DayWindow> = None;
            for p in plans {
                *visits.entry((p.clone(), uscc.clone())).or_default() += 1;
                let params = b.params.iter().find(|x| &x.id == p).expect("present");
                window = Some(match window {
                    None => params.spec.window.clone(),
                    Some(v) => v.intersect(&params.spec.window).expect("merged windows overlap"),
                });
                if let Some(task) = task {
                    for item in params.catalog.iter().filter(|i| i.applies_to(industry)) {
                        prop_assert!(task.items.contains(&item.id), "item {} lost", item.id);
                    }
                }
            }
            if let Some(task) = task {
                prop_assert_eq!(Some(&task.window), window.as_ref());
                prop_assert!(task.window.start <= task.window.due);
            }
        }
        for d in &out.plans {
            for u in &d.selected {
                prop_assert_eq!(visits.remove(&(d.plan.clone(), u.clone())), Some(1), "each drawn subject visited once per plan");
            }
        }
        prop_assert!(visits.is_empty());
    }

    #[test]
    fn undoing_a_merge_splits_only_that_subject(w in world()) {
        let b = build(&w);
        let out = draw::run(&inputs(&b), &BTreeSet::new());
        if let Some(joint) = out.tasks.iter().find(|t| t.plans.len() > 1) {
            let split = BTreeSet::from([joint.uscc.clone()]);
            let again = draw::run(&inputs(&b), &split);
            prop_assert_eq!(
                out.plans.iter().map(|p| &p.selected).collect::<Vec<_>>(),
                again.plans.iter().map(|p| &p.selected).collect::<Vec<_>>(),
                "the same subjects are drawn"
            );
            prop_assert!(again.tasks.iter().chain(std::iter::empty()).filter(|t| t.uscc == joint.uscc).all(|t| t.plans.len() == 1));
            let merged = |o: &draw::DrawOutcome| o.tasks.iter().filter(|t| t.uscc != joint.uscc && t.plans.len() > 1).map(|t| (t.uscc.clone(), t.plans.clone())).collect::<Vec<_>>();
            prop_assert_eq!(merged(&out), merged(&again), "other merges stay");
        }
    }

    #[test]
    fn any_change_of_pool_ratio_or_seed_shows(w in world(), which in 0usize..40, bump in 1u32..500) {
        let b = build(&w);
        // A pool entry: its class list's hash changes.
        let mut pool = b.pools[0].clone();
        let class = RiskClass::ALL.into_iter().find(|c| !pool.subjects.of(*c).is_empty()).expect("present");
        let before = pool.hashes();
        let list = pool.subjects.of_mut(class);
        let n = which % list.len();
        list[n].name.push('X');
        let after = pool.hashes();
        prop_assert_ne!(before.of(class), after.of(class));
        // A ratio: the commitment, hence the seed, changes.
        let mut params = b.params[0].clone();
        let c0 = draw::commitment(&params, &before, &b.pools[0].sizes());
        params.spec.ratios.a = (params.spec.ratios.a + bump) % 10_001;
        prop_assume!(params.spec.ratios.a != b.params[0].spec.ratios.a);
        prop_assert_ne!(&c0, &draw::commitment(&params, &before, &b.pools[0].sizes()));
        // The seed: another entropy value gives another seed.
        prop_assert_ne!(draw::seed(&c0, &["1".into()]), draw::seed(&c0, &["2".into()]));
    }

    #[test]
    fn verify_accepts_the_draw_and_names_a_swapped_subject(w in world(), pick in 0usize..1000) {
        let b = build(&w);
        let rec = record(&b, &w, &BTreeSet::new());
        let report = draw::verify(&rec, Some(&b.pools)).expect("a true record verifies");
        prop_assert!(report.recomputed);
        draw::verify(&rec, None).expect("and its structure holds without pools");
        // Swap one drawn subject for one not drawn by that plan.
        let Some((i, plan)) = rec.plans.iter().enumerate().find(|(_, p)| !p.selected.is_empty()) else { return Ok(()); };
        let j = pick % plan.selected.len();
        let Some(other) = w.subjects.iter().map(|s| &s.0).find(|u| !plan.selected.contains(u)) else { return Ok(()); };
        let mut forged = rec.clone();
        forged.plans[i].selected[j] = other.clone();
        let m = draw::verify(&forged, Some(&b.pools)).expect_err("a swapped subject is found");
        prop_assert_eq!(m.place, format!("plans[{i}].selected[{j}]"));
        prop_assert!(draw::verify(&forged, None).is_err(), "without pools the visits no longer match");
    }
}

#[test]
fn a_changed_seed_changes_a_large_selection() {
    // 60 subjects of one class, half drawn: C(60, 30) selections, so two
    // seeds giving the same one is out of reach.
    let w = World {
        subjects: (0..60)
            .map(|i| (format!("USCC{i:04}"), RiskClass::B, 0, None))
            .collect(),
        inspectors: vec![("I-000".into(), 0, 0, None), ("I-001".into(), 0, 0, None)],
        plans: vec![PlanShape {
            departments: vec![0],
            ratios: [0, 5_000, 0, 0],
            start: 0,
            len: 5,
            teams: vec![0],
            per_task: 2,
            recuse_town: false,
            entropy: "1".into(),
        }],
        conflicts: vec![],
    };
    let b = build(&w);
    let one = draw::run(&inputs(&b), &BTreeSet::new());
    let mut other = inputs(&b);
    let seed = draw::seed("x", &["2".into()]);
    other[0].seed = &seed;
    let two = draw::run(&other, &BTreeSet::new());
    assert_eq!(one.plans[0].selected.len(), 30);
    assert_ne!(one.plans[0].selected, two.plans[0].selected);
}

#[test]
fn entropy_is_read_in_one_canonical_form() {
    assert_eq!(
        draw::canonical_entropy("  ０３ 15\u{3000}22 b "),
        "03 15 22 B"
    );
    assert_eq!(
        draw::seed("c", &["03 15 22".into()]),
        draw::seed("c", &["０３　15   22".into()])
    );
    assert_ne!(
        draw::seed("c", &["1 23".into()]),
        draw::seed("c", &["12 3".into()])
    );
    assert!(!draw::entropy_value_ok("12/3"));
    assert!(!draw::entropy_value_ok("12／3"));
    assert!(!draw::entropy_value_ok(" \u{3000} "));
    assert!(draw::entropy_value_ok("双色球 03 07 12"));
}
