//! The seeded network simulation (see `fieldloop_tests::sim`): `SIM_SEEDS`
//! seeds on all cores — 100 for a plain `cargo test` (about 20 s on two
//! cores), a fixed sample of 500 in `cargo xtask test`, and as many as asked
//! in `cargo xtask soak --seeds N`.

#[test]
fn replicas_converge_whatever_the_network_does() {
    let seeds: u64 = std::env::var("SIM_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
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
