//! Bytes from another device never panic: damaged change chunks (with a
//! checksum that still matches, as a hostile sender would make them) go
//! through the push decoder and, when they decode, through the write
//! policy, and answer an error or a verdict, never a crash.

use fieldloop_core::policy::{self, Writer};
use fieldloop_core::sync::{Budget, decode_changes};
use fieldloop_core::{EventKind, Outcome};
use proptest::prelude::*;
use sha2::{Digest, Sha256};

use crate::support::*;

/// A task and the bytes of one inspector's edit of it.
fn edit() -> (fieldloop_core::TaskDoc, Vec<u8>) {
    let mut doc = new_task();
    let before = doc.heads();
    let item = item_ids(&doc)[0].clone();
    let mut mine = doc.fork();
    mine.check_in(&inspector(1), T0, None).expect("check in");
    mine.record_answer(
        &inspector(1),
        T0,
        &item,
        Some(Outcome::Pass),
        Some("3"),
        Some("ok"),
    )
    .expect("answer");
    mine.decide(&supervisor(), T0, EventKind::Cancelled, Some("x"))
        .expect("cancel");
    (doc, mine.save_after(&before))
}

/// Fixes the checksum of every chunk in `bytes` after it was tampered with.
fn reseal(bytes: &mut [u8]) {
    let mut at = 0;
    while at + 9 < bytes.len() {
        let mut len = 0usize;
        let mut used = 0;
        loop {
            let Some(&b) = bytes.get(at + 9 + used) else {
                return;
            };
            len |= usize::from(b & 0x7f) << (7 * used);
            used += 1;
            if b & 0x80 == 0 || used > 8 {
                break;
            }
        }
        let end = (at + 9 + used).saturating_add(len).min(bytes.len());
        let digest = Sha256::digest(&bytes[at + 8..end]);
        bytes[at + 4..at + 8].copy_from_slice(&digest[..4]);
        at = end;
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn damaged_changes_are_refused_or_judged_never_a_panic(
        flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (mut doc, mut bytes) = edit();
        for (at, value) in flips {
            let i = at.index(bytes.len());
            // The chunk magic is left alone: it only makes the chunk check fail earlier.
            if i >= 4 {
                bytes[i] = value;
            }
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()).max(1));
        }
        reseal(&mut bytes);
        if let Ok(changes) = decode_changes(&bytes, &Budget::default()) {
            let am = doc.automerge();
            let before = am.get_heads();
            if fieldloop_core::sync::apply_changes(am, changes.clone()).is_ok()
                && am.get_missing_deps(&[]).is_empty()
            {
                let writer = Writer {
                    actor: inspector(1).actor,
                    person: "I-001".into(),
                    role: fieldloop_core::Role::Inspector,
                    certified: Some(vec!["SCJG".into()]),
                };
                let new: Vec<_> = changes.into_iter().filter(|c| !before.contains(&c.hash())).collect();
                let _ = policy::check(am, &new, &writer);
                let _ = doc.task();
                let _ = doc.conflicts();
                let _ = doc.history();
            }
        }
    }
}

#[test]
fn a_document_nested_twenty_thousand_deep_is_walked_without_a_stack_overflow() {
    use automerge::transaction::Transactable;
    let mut doc = new_task();
    let am = doc.automerge();
    let mut at = am
        .put_object(automerge::ROOT, "deep", automerge::ObjType::Map)
        .expect("map");
    for _ in 0..20_000 {
        at = am
            .put_object(&at, "x", automerge::ObjType::Map)
            .expect("map");
    }
    am.commit();
    // A thread with a small stack, as a tablet's worker might have.
    let conflicts = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || doc.conflicts().map(|c| c.len()))
        .expect("thread")
        .join()
        .expect("no stack overflow");
    assert_eq!(conflicts.expect("walked"), 0);
}
