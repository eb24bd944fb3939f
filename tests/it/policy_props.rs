//! Random edits by random devices — inspectors on the task, a squad mate
//! who is not, hand-built changes that break the rules, garbage — pushed
//! through the server's own sync function. Whatever the sequence, the
//! stored task keeps what the write policy promises, checked here without
//! the policy's code: the fixed fields are as created, no record ever
//! changes once stored, every record names the person behind the device
//! that made it, and nothing answers 5xx.

use std::collections::BTreeMap;

use automerge::transaction::{CommitOptions, Transactable};
use automerge::{AutoCommit, ObjId, ROOT, ReadDoc};
use fieldloop_core::sync::{self as wire, DocPush, SyncRequest};
use fieldloop_core::{Event, EventKind, Task};
use fieldloop_server::limits::Limits;
use fieldloop_server::store::sqlite::SqliteStore;
use fieldloop_server::store::{Device, Store};
use fieldloop_tests::NOW;
use proptest::prelude::*;
use serde_bytes::ByteBuf;

/// What a device tries.
#[derive(Debug, Clone, Copy)]
enum Try {
    Answer(u8),
    CheckIn,
    TraceAsMe,
    TraceAsOther,
    EventAsOther,
    Approve,
    RenameSubject,
    AddInspector,
    DeleteLastEvent,
    RewriteLastEvent,
    Garbage(u8),
    Pull,
}

fn attempt() -> impl Strategy<Value = Try> {
    prop_oneof![
        3 => (0u8..3).prop_map(Try::Answer),
        2 => Just(Try::CheckIn),
        2 => Just(Try::TraceAsMe),
        1 => Just(Try::TraceAsOther),
        1 => Just(Try::EventAsOther),
        1 => Just(Try::Approve),
        1 => Just(Try::RenameSubject),
        1 => Just(Try::AddInspector),
        1 => Just(Try::DeleteLastEvent),
        1 => Just(Try::RewriteLastEvent),
        1 => any::<u8>().prop_map(Try::Garbage),
        2 => Just(Try::Pull),
    ]
}

/// A device: its record on the server and its own copy of the task.
struct Member {
    device: Device,
    doc: AutoCommit,
    /// The heads the server last told it.
    known: Vec<fieldloop_core::ChangeHash>,
}

fn list(doc: &AutoCommit, key: &str) -> ObjId {
    doc.get(ROOT, key).expect("read").expect("list").1
}

fn append_map(doc: &mut AutoCommit, key: &str, fields: &[(&str, automerge::ScalarValue)]) {
    let list = list(doc, key);
    let n = doc.length(&list);
    let map = doc
        .insert_object(&list, n, automerge::ObjType::Map)
        .expect("insert");
    for (k, v) in fields {
        doc.put(&map, *k, v.clone()).expect("put");
    }
}

/// Applies `what` to the member's copy as one hand-built change; `false`
/// when it leaves nothing to push.
fn make(m: &mut Member, what: Try, item: &str, n: u64) -> bool {
    use automerge::ScalarValue as V;
    let me = m.device.person.clone();
    let doc = &mut m.doc;
    let actors = doc.get(ROOT, "actors").expect("read").expect("actors").1;
    let key = m.device.actor.clone();
    if doc.get(&actors, key.as_str()).expect("read").is_none() {
        let entry = doc
            .put_object(&actors, key.as_str(), automerge::ObjType::Map)
            .expect("register");
        doc.put(&entry, "person", me.as_str()).expect("put");
        doc.put(&entry, "role", "inspector").expect("put");
    }
    let event = |kind: &str, by: &str| {
        vec![
            ("kind", V::Str(kind.into())),
            ("at", V::Int(NOW)),
            ("by", V::Str(by.into())),
            ("role", V::Str("inspector".into())),
            ("comment", V::Null),
            ("location", V::Null),
        ]
    };
    let point = |by: &str| {
        vec![
            ("t", V::Int(NOW + n as i64)),
            ("lat", V::F64(27.0)),
            ("lon", V::F64(115.0)),
            ("accuracy", V::F64(5.0)),
            ("by", V::Str(by.into())),
        ]
    };
    match what {
        Try::Answer(k) => {
            let checklist = doc.get(ROOT, "checklist").expect("r").expect("c").1;
            let entry = doc.get(&checklist, item).expect("r").expect("i").1;
            let answer = doc.get(&entry, "answer").expect("r").expect("a").1;
            let value = ["pass", "fail", "not_applicable"][k as usize % 3];
            doc.put(&answer, "result", value).expect("put");
        }
        Try::CheckIn => append_map(doc, "events", &event("checked_in", &me)),
        Try::TraceAsMe => append_map(doc, "trace", &point(&me)),
        Try::TraceAsOther => append_map(doc, "trace", &point("I-004")),
        Try::EventAsOther => append_map(doc, "events", &event("checked_in", "I-004")),
        Try::Approve => append_map(doc, "events", &event("approved", &me)),
        Try::RenameSubject => {
            let subject = doc.get(ROOT, "subject").expect("r").expect("s").1;
            doc.put(&subject, "name", format!("公司{n}")).expect("put");
        }
        Try::AddInspector => {
            let inspectors = list(doc, "inspectors");
            let len = doc.length(&inspectors);
            doc.insert(&inspectors, len, "I-003").expect("insert");
        }
        Try::DeleteLastEvent | Try::RewriteLastEvent => {
            let events = list(doc, "events");
            let len = doc.length(&events);
            if len < 2 {
                return false;
            }
            if matches!(what, Try::DeleteLastEvent) {
                doc.delete(&events, len - 1).expect("delete");
            } else {
                let last = doc.get(&events, len - 1).expect("r").expect("e").1;
                doc.put(&last, "by", "I-004").expect("put");
            }
        }
        Try::Garbage(_) | Try::Pull => return false,
    }
    doc.commit_with(CommitOptions::default().with_message("prop"));
    true
}

/// One exchange of `m` with the server; the answer's status if refused.
fn exchange(
    store: &SqliteStore,
    m: &mut Member,
    id: &str,
    changes: Vec<u8>,
    limits: &Limits,
) -> Option<u16> {
    let request = SyncRequest {
        rotate: false,
        done: None,
        v: wire::PROTOCOL_VERSION,
        cursor: 0,
        docs: vec![DocPush {
            id: id.to_owned(),
            heads: wire::heads_to_wire(&m.doc.get_heads()),
            changes: ByteBuf::from(changes),
        }],
        directory: None,
    };
    match fieldloop_server::sync::run(store, &m.device, &request, NOW, limits) {
        Ok(_) => {
            let stored = store.task(id).expect("read").expect("task");
            m.doc = AutoCommit::load(&stored.doc).expect("load");
            m.doc.set_actor(m.device.actor.parse().expect("actor"));
            m.known = m.doc.get_heads();
            None
        }
        Err(e) => {
            // Refused: the device starts over from the server's copy.
            let stored = store.task(id).expect("read").expect("task");
            m.doc = AutoCommit::load(&stored.doc).expect("load");
            m.doc.set_actor(m.device.actor.parse().expect("actor"));
            m.known = m.doc.get_heads();
            Some(e.status().as_u16())
        }
    }
}

/// What is checked of the stored task after every step.
struct Oracle {
    created: Task,
    /// Every record seen, by its object id, as first stored.
    records: BTreeMap<String, String>,
    people: BTreeMap<String, String>,
}

impl Oracle {
    fn check(&mut self, stored: &[u8]) -> Result<(), TestCaseError> {
        let doc = AutoCommit::load(stored).expect("load");
        let task: Task = autosurgeon::hydrate(&doc).expect("a task");
        prop_assert_eq!(&task.subject, &self.created.subject);
        prop_assert_eq!(&task.window, &self.created.window);
        prop_assert_eq!(&task.inspectors, &self.created.inspectors);
        prop_assert_eq!(&task.verify_code, &self.created.verify_code);
        for (id, item) in &self.created.checklist {
            let now = &task.checklist[id];
            prop_assert_eq!(
                (
                    &now.title,
                    &now.department,
                    now.requires_evidence,
                    now.order
                ),
                (
                    &item.title,
                    &item.department,
                    item.requires_evidence,
                    item.order
                )
            );
        }
        for (actor, info) in &task.actors {
            if let Some(person) = self.people.get(actor) {
                prop_assert_eq!(&info.person, person);
            }
        }
        for key in ["events", "trace"] {
            let list = list(&doc, key);
            for item in doc.list_range(&list, ..) {
                let id = item.id();
                let record = match key {
                    "events" => format!("{:?}", Event::hydrate_map(&doc, &id).expect("event")),
                    _ => format!(
                        "{:?}",
                        fieldloop_core::TracePoint::hydrate_map(&doc, &id).expect("point")
                    ),
                };
                let by = match key {
                    "events" => Event::hydrate_map(&doc, &id).expect("event").by,
                    _ => {
                        fieldloop_core::TracePoint::hydrate_map(&doc, &id)
                            .expect("p")
                            .by
                    }
                };
                if let automerge::ObjId::Id(_, actor, _) = &id
                    && let Some(person) = task.actors.get(&actor.to_hex_string())
                {
                    prop_assert_eq!(&person.person, &by, "a record in its author's name");
                }
                let first = self.records.entry(id.to_string()).or_insert(record.clone());
                prop_assert_eq!(&*first, &record, "a stored record never changes");
            }
        }
        let anomalies = task.status_report().anomalies;
        prop_assert!(
            anomalies
                .iter()
                .all(|a| task.events[a.index as usize].kind == EventKind::CheckedIn),
            "{:?}",
            anomalies
        );
        prop_assert!(task.events.iter().all(|e| e.kind != EventKind::Approved));
        Ok(())
    }
}

use autosurgeon::Hydrate;

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).map_or(16, |c: u32| c.clamp(8, 32)),
        ..ProptestConfig::default()
    })]

    #[test]
    fn the_stored_task_keeps_the_policys_promises_whatever_is_pushed(
        steps in prop::collection::vec((0usize..3, attempt()), 1..30),
    ) {
        let dir = tempfile::Builder::new()
            .prefix("fieldloop-policy-")
            .tempdir_in(fieldloop_tests::sim::tmp_root())
            .expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("server");
        let data = fieldloop_server::demo::import_demo(&store).expect("people");
        fieldloop_server::demo::create_tasks(&store, &data, 1, NOW).expect("task");
        let id = store.changed_since("T-QX-01", 0, 1).expect("feed")[0].id.clone();
        let stored = store.task(&id).expect("read").expect("task");
        let created: Task = autosurgeon::hydrate(&AutoCommit::load(&stored.doc).expect("load")).expect("task");
        prop_assume!(created.inspectors == ["I-001", "I-002"]);
        let mut members: Vec<Member> = ["I-001", "I-002", "I-003"]
            .iter()
            .enumerate()
            .map(|(n, person)| {
                let code = fieldloop_server::enroll::issue_code(&store, person, NOW, 86_400_000).expect("code");
                let actor = format!("{:032x}", n + 1);
                let device = store
                    .redeem_enrollment(&fieldloop_server::auth::secret_hash(&code), NOW, &format!("D-{n}"), &format!("t-{n}"), &actor, "prop")
                    .expect("enroll");
                let mut doc = AutoCommit::load(&stored.doc).expect("load");
                doc.set_actor(actor.parse().expect("actor"));
                let known = doc.get_heads();
                Member { device, doc, known }
            })
            .collect();
        let mut oracle = Oracle {
            people: members.iter().map(|m| (m.device.actor.clone(), m.device.person.clone())).collect(),
            created,
            records: BTreeMap::new(),
        };
        let item = oracle.created.items_in_order()[0].0.clone();
        let limits = Limits::default();
        for (n, (who, what)) in steps.into_iter().enumerate() {
            let m = &mut members[who];
            let status = match what {
                Try::Garbage(seed) => {
                    let garbage: Vec<u8> = (0..64u8).map(|i| i.wrapping_mul(seed).wrapping_add(seed)).collect();
                    exchange(&store, m, &id, garbage, &limits)
                }
                Try::Pull => exchange(&store, m, &id, Vec::new(), &limits),
                _ => {
                    if !make(m, what, &item, n as u64) {
                        continue;
                    }
                    let changes = m.doc.save_after(&m.known);
                    exchange(&store, m, &id, changes, &limits)
                }
            };
            if let Some(status) = status {
                prop_assert!((400..500).contains(&status), "{what:?} answered {status}");
            }
            // Exactly what the policy allows is stored: an inspector on the
            // task answering, checking in and tracing in their own name.
            let allowed = match what {
                Try::Answer(_) | Try::CheckIn | Try::TraceAsMe => who < 2,
                Try::Pull => true,
                _ => false,
            };
            prop_assert_eq!(status.is_none(), allowed, "{:?} by {}", what, who);
            let stored = store.task(&id).expect("read").expect("task");
            oracle.check(&stored.doc)?;
        }
    }
}
