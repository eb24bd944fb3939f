//! A task document arrives from other devices, so it can hold anything an
//! Automerge document can: any key (multi-byte, empty, path-like), any value
//! type at any place, objects where scalars belong, concurrent values. The
//! tablet reads it (load → hydrate → view → conflicts → history) and must
//! answer a value or a typed error, never panic: a panic would happen while
//! the app holds the tablet's lock, and every later command would fail.

use automerge::transaction::Transactable;
use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue};
use fieldloop_core::demo::DemoData;
use fieldloop_core::{ActorId, Author, Evidence, EvidenceKind, Outcome, Role, TaskDoc};
use fieldloop_tablet::inspect::{Directory, build_record};
use proptest::prelude::*;

const NOW: i64 = 1_780_272_000_000;

/// A demo task with a check-in and an answer, so that events, answers and
/// actors hold entries.
fn task() -> (TaskDoc, String) {
    let spec = DemoData::embedded()
        .unwrap()
        .task_specs(1, NOW)
        .unwrap()
        .remove(0);
    let inspector = spec.inspectors[0].clone();
    let item = spec.items[0].id.clone();
    let supervisor = Author::new(ActorId::from(vec![1u8; 16]), "S-001", Role::Supervisor);
    let mut doc = TaskDoc::create(spec, &supervisor, NOW).unwrap();
    let mut mine = doc.fork();
    let me = Author::new(
        ActorId::from(vec![2u8; 16]),
        inspector.as_str(),
        Role::Inspector,
    );
    mine.check_in(&me, NOW + 1, None).unwrap();
    mine.record_answer(&me, NOW + 2, &item, Some(Outcome::Fail), None, Some("x"))
        .unwrap();
    doc.merge(&mut mine).unwrap();
    (doc, inspector)
}

/// Every map and list of the document, to depth 5, with its type.
fn objects(doc: &AutoCommit) -> Vec<(ObjId, ObjType)> {
    let mut found = vec![(ROOT, ObjType::Map)];
    let mut next = 0;
    while next < found.len() && found.len() < 400 {
        let (obj, _) = found[next].clone();
        next += 1;
        let children: Vec<ObjId> = match doc.object_type(&obj) {
            Ok(ObjType::Map) | Ok(ObjType::Table) => doc
                .keys(&obj)
                .filter_map(|k| doc.get(&obj, k.as_str()).ok().flatten())
                .filter(|(v, _)| v.is_object())
                .map(|(_, id)| id)
                .collect(),
            Ok(ObjType::List) => (0..doc.length(&obj))
                .filter_map(|i| doc.get(&obj, i).ok().flatten())
                .filter(|(v, _)| v.is_object())
                .map(|(_, id)| id)
                .collect(),
            _ => Vec::new(),
        };
        for child in children {
            if let Ok(t) = doc.object_type(&child) {
                found.push((child, t));
            }
        }
    }
    found
}

#[derive(Debug, Clone)]
enum Value {
    Scalar(ScalarValue),
    Object(ObjType),
    Text(String),
    Delete,
    /// A well-formed piece of evidence under the key, naming `sha256` and
    /// `item`: it survives the load, so the key and names reach the view and
    /// the verbs.
    Evidence {
        sha256: String,
        item: String,
    },
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        // Names the schema uses, so that the edit lands where the code reads.
        prop::sample::select(vec![
            "status",
            "events",
            "checklist",
            "evidence",
            "answer",
            "result",
            "kind",
            "at",
            "by",
            "inspectors",
            "actors",
            "signatures",
            "findings",
            "window",
            "subject",
            "trace",
            "withdrawn",
            "sha256",
            "item",
            "caption",
            "lead_department",
        ])
        .prop_map(str::to_owned),
        // Keys from another device: multi-byte, empty, path-like, long.
        prop::sample::select(vec![
            "",
            "证据证据证据证据证据证据",
            "../../etc/passwd",
            "é",
            "\u{202e}x",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
            "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        ])
        .prop_map(str::to_owned),
        "\\PC{0,24}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        "\\PC{0,40}".prop_map(|s| Value::Scalar(ScalarValue::Str(s.into()))),
        any::<i64>().prop_map(|n| Value::Scalar(ScalarValue::Int(n))),
        any::<u64>().prop_map(|n| Value::Scalar(ScalarValue::Uint(n))),
        prop_oneof![
            any::<f64>(),
            Just(f64::NAN),
            Just(f64::INFINITY),
            Just(-0.0)
        ]
        .prop_map(|f| Value::Scalar(ScalarValue::F64(f))),
        any::<bool>().prop_map(|b| Value::Scalar(ScalarValue::Boolean(b))),
        Just(Value::Scalar(ScalarValue::Null)),
        prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(|b| Value::Scalar(ScalarValue::Bytes(b))),
        any::<i64>().prop_map(|n| Value::Scalar(ScalarValue::Timestamp(n))),
        any::<i64>().prop_map(|n| Value::Scalar(ScalarValue::counter(n))),
        prop::sample::select(vec![ObjType::Map, ObjType::List, ObjType::Table])
            .prop_map(Value::Object),
        "\\PC{0,20}".prop_map(Value::Text),
        Just(Value::Delete),
        (key(), key()).prop_map(|(sha256, item)| Value::Evidence { sha256, item }),
    ]
}

/// One edit: in the `target`-th object, at the `slot`-th existing key or
/// index (or a new `key`), write `value`; on a `fork`, so that it becomes a
/// value concurrent with the next edit when merged.
#[derive(Debug, Clone)]
struct Edit {
    target: prop::sample::Index,
    slot: Option<prop::sample::Index>,
    key: String,
    value: Value,
    fork: bool,
}

fn edit() -> impl Strategy<Value = Edit> {
    (
        any::<prop::sample::Index>(),
        prop::option::of(any::<prop::sample::Index>()),
        key(),
        value(),
        any::<bool>(),
    )
        .prop_map(|(target, slot, key, value, fork)| Edit {
            target,
            slot,
            key,
            value,
            fork,
        })
}

/// Applies `edit` to `doc` as raw Automerge operations (no policy: another
/// device's modified software). Operations Automerge itself refuses are
/// skipped; they never reach a document.
fn apply(doc: &mut AutoCommit, edit: &Edit) {
    let objs = objects(doc);
    let (obj, kind) = objs[edit.target.index(objs.len())].clone();
    match kind {
        ObjType::Map | ObjType::Table => {
            let existing: Vec<String> = doc.keys(&obj).collect();
            let key = match (&edit.slot, existing.is_empty()) {
                (Some(i), false) => existing[i.index(existing.len())].clone(),
                _ => edit.key.clone(),
            };
            let _ = match &edit.value {
                Value::Scalar(s) => doc.put(&obj, key.as_str(), s.clone()).map(|_| ()),
                Value::Object(t) => doc.put_object(&obj, key.as_str(), *t).map(|_| ()),
                Value::Text(s) => doc
                    .put_object(&obj, key.as_str(), ObjType::Text)
                    .and_then(|text| doc.splice_text(&text, 0, 0, s)),
                Value::Delete => doc.delete(&obj, key.as_str()),
                Value::Evidence { sha256, item } => {
                    // In the evidence map, whatever object was picked.
                    let Ok(Some((_, map))) = doc.get(ROOT, "evidence") else {
                        return;
                    };
                    let evidence = Evidence {
                        sha256: sha256.clone(),
                        kind: EvidenceKind::Photo,
                        taken_at: NOW,
                        by: "I-001".into(),
                        location: None,
                        caption: None,
                        mime: "image/jpeg".into(),
                        bytes: 1,
                        thumb_sha256: Some(sha256.clone()),
                        display_sha256: None,
                        item: Some(item.clone()),
                        withdrawn_at: None,
                        withdrawn_by: None,
                        withdrawn_reason: None,
                    };
                    let _ = autosurgeon::reconcile_prop(doc, &map, key.as_str(), &evidence);
                    Ok(())
                }
            };
        }
        ObjType::List => {
            let len = doc.length(&obj);
            let at = edit.slot.as_ref().map_or(len, |i| i.index(len + 1));
            let _ = match &edit.value {
                Value::Scalar(s) if at < len => doc.put(&obj, at, s.clone()).map(|_| ()),
                Value::Scalar(s) => doc.insert(&obj, at, s.clone()),
                Value::Object(t) => doc.insert_object(&obj, at, *t).map(|_| ()),
                Value::Text(s) => doc.insert(&obj, at, s.as_str()),
                Value::Delete if at < len => doc.delete(&obj, at),
                Value::Delete | Value::Evidence { .. } => Ok(()),
            };
        }
        ObjType::Text => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn any_document_from_another_device_is_read_or_refused_never_a_panic(
        edits in prop::collection::vec(edit(), 1..12),
    ) {
        let (mut task, me) = task();
        let mut doc = task.automerge().clone();
        let mut other = doc.fork();
        other.set_actor(ActorId::from(vec![9u8; 16]));
        for e in &edits {
            if e.fork {
                apply(&mut other, e);
            } else {
                apply(&mut doc, e);
            }
        }
        doc.merge(&mut other).unwrap();
        // What the tablet receives is the saved document.
        let bytes = doc.save();
        let mut received = match TaskDoc::load(&bytes) {
            Ok(d) => d,
            // Refused whole is an answer too (e.g. not a task any more).
            Err(e) => { prop_assert!(!e.to_string().is_empty()); return Ok(()); }
        };
        let directory = Directory::bundled();
        let view = build_record(&mut received, &directory, Some(&me), "https://v.example");
        if let Err(e) = &view {
            prop_assert!(!e.to_string().is_empty());
            let _ = e.code();
        }
        let _ = received.summary();
        let _ = received.status_report();
        let _ = received.submit_problems();
        let _ = received.conflicts();
        let _ = received.conflicts_with_times();
        let _ = received.history();
        // The inspector's verbs on keys that came from the document (the
        // UI offers them for each piece of evidence it shows).
        let author = Author::new(ActorId::from(vec![2u8; 16]), me.as_str(), Role::Inspector);
        let keys: Vec<String> = {
            let am = received.automerge();
            match am.get(ROOT, "evidence") {
                Ok(Some((v, map))) if v.is_object() => am.keys(&map).collect(),
                _ => Vec::new(),
            }
        };
        for key in keys {
            let _ = received.set_caption(&author, NOW + 10, &key, "说明");
            let _ = received.withdraw_evidence(&author, NOW + 11, &key, "拍错了");
        }
    }
}
