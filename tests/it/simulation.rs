//! The seeded network simulation (see `fieldloop_tests::sim`): CI runs
//! `SIM_SEEDS` seeds (default 1000, about 8 minutes on two cores) on all cores; `cargo xtask soak --seeds N`
//! runs more.

#[test]
fn replicas_converge_whatever_the_network_does() {
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let outcomes = fieldloop_tests::sim::run_many(0..seeds);
    assert_eq!(outcomes.len() as u64, seeds);
    let lost: u32 = outcomes.iter().map(|o| o.lost).sum();
    let restarts: u32 = outcomes.iter().map(|o| o.restarts).sum();
    let edits: u32 = outcomes.iter().map(|o| o.edits).sum();
    let worst = outcomes.iter().map(|o| o.heal_passes).max().unwrap_or(0);
    eprintln!(
        "{seeds} seeds: {edits} edits, {lost} lost messages, {restarts} restarts, at most {worst} reliable passes to converge"
    );
    // The storm really was one: messages were lost and processes restarted.
    assert!(lost > seeds as u32 && restarts > seeds as u32 / 2);
}
