//! The lead state machine.

use proptest::prelude::*;

use super::*;

fn lead(criminal: bool) -> Lead {
    LeadDraft {
        source: Channel::Hotline12345,
        reference: None,
        received_at: 1,
        uscc: None,
        subject_name: "某餐馆".into(),
        summary: "后厨卫生差".into(),
        attachments: Vec::new(),
        departments: Vec::new(),
        criminal,
        by: "channel:hotline_12345".into(),
        source_task: None,
        source_transfer: None,
        detect_duplicates: true,
    }
    .into_lead("XS-2026-000001".into(), 1)
}

#[test]
fn a_lead_goes_from_received_to_answered_through_each_state() {
    let mut l = lead(false);
    let mut kinds = Vec::new();
    for action in [
        Action::Dispatch(vec!["SCJG".into()]),
        Action::StartTask("T-1".into()),
        Action::Transfer("XFJY".into()),
        Action::Verify,
        Action::Handle,
        Action::Answer("已责令整改".into()),
    ] {
        let (next, event) = step(&l, &action, "S-001", 5).expect("allowed");
        assert_eq!((event.by.as_str(), event.at), ("S-001", 5));
        kinds.push(event.kind);
        l = next;
    }
    assert_eq!(l.state, LeadState::Answered);
    assert_eq!(l.answer.as_deref(), Some("已责令整改"));
    assert_eq!(l.departments, vec!["XFJY"]);
    assert_eq!(l.tasks, vec!["T-1"]);
    assert_eq!(
        kinds,
        [
            LeadEventKind::Dispatched,
            LeadEventKind::TaskStarted,
            LeadEventKind::Transferred,
            LeadEventKind::Verified,
            LeadEventKind::Handled,
            LeadEventKind::Answered
        ]
    );
    assert!(available(&l).is_empty(), "{:?}", available(&l));
}

#[test]
fn invalid_steps_are_refused_as_state_conflicts() {
    let l = lead(false);
    for action in [
        Action::Verify,
        Action::Handle,
        Action::Answer("x".into()),
        Action::StartTask("T".into()),
    ] {
        let e = step(&l, &action, "S", 2).expect_err("not from received");
        assert!(e.is_conflict(), "{e}");
    }
    let e = step(&l, &Action::PackageSent("a".into()), "S", 2).expect_err("not criminal");
    assert!(e.is_conflict());
    let e = step(&l, &Action::Dispatch(vec![]), "S", 2).expect_err("no departments");
    assert!(!e.is_conflict());
    let e = step(&l, &Action::LinkDuplicate(l.id.clone()), "S", 2).expect_err("itself");
    assert_eq!(e, LeadError::DuplicateOfSelf);
}

#[test]
fn a_package_is_sent_received_and_accepted_in_order_and_by_its_hash() {
    let l = lead(true);
    let (l, e) = step(&l, &Action::PackageSent("aa".into()), "S", 2).expect("sent");
    assert_eq!(e.sha256.as_deref(), Some("aa"));
    assert!(step(&l, &Action::PackageAccepted("aa".into()), "S", 3).is_err());
    assert!(step(&l, &Action::PackageReceived("bb".into()), "S", 3).is_err());
    let (l, _) = step(&l, &Action::PackageReceived("aa".into()), "J", 3).expect("received");
    let (l, e) = step(&l, &Action::PackageAccepted("aa".into()), "J", 4).expect("accepted");
    assert_eq!(e.kind, LeadEventKind::PackageAccepted);
    assert_eq!(l.package.map(|p| p.stage), Some(PackageStage::Accepted));
}

#[test]
fn tablet_transfers_become_leads_in_the_receiving_departments_inbox() {
    let t = LeadTransfer {
        id: "LT-1".into(),
        to_department: "GA".into(),
        summary: "涉嫌销售假冒商品".into(),
        evidence: vec!["a".repeat(64), "a".repeat(64), "b".repeat(64)],
        criminal: true,
        by: "I-001".into(),
        at: 9,
    };
    let drafts = transfer_leads("task-1", "not a uscc", "某超市", &[t], 10);
    assert_eq!(drafts.len(), 1);
    let d = &drafts[0];
    assert_eq!(d.departments, vec!["GA"]);
    assert_eq!(d.attachments.len(), 2);
    assert_eq!(d.source, Channel::TabletTransfer);
    assert_eq!(d.source_task.as_deref(), Some("task-1"));
    assert_eq!(d.source_transfer.as_deref(), Some("LT-1"));
    assert!(d.criminal && !d.detect_duplicates && d.uscc.is_none());
}

#[test]
fn input_is_checked_and_bounded() {
    let ok = LeadInput {
        summary: "内容".into(),
        subject_name: "某店".into(),
        ..LeadInput::default()
    };
    assert!(check_input(&ok, 100).is_ok());
    for bad in [
        LeadInput {
            uscc: Some("91360000X".into()),
            ..ok.clone()
        },
        LeadInput {
            summary: "x".repeat(MAX_SUMMARY_CHARS + 1),
            ..ok.clone()
        },
        LeadInput {
            summary: " ".into(),
            ..ok.clone()
        },
        LeadInput {
            attachments: vec!["not-a-hash".into()],
            ..ok.clone()
        },
        LeadInput {
            received_at: Some(100 + 3_600_000),
            ..ok.clone()
        },
    ] {
        assert!(check_input(&bad, 100).is_err(), "{bad:?}");
    }
}

fn any_action() -> impl Strategy<Value = Action> {
    prop_oneof![
        prop::sample::select(vec!["SCJG", "XFJY", "GA"])
            .prop_map(|d| Action::Dispatch(vec![d.to_owned()])),
        prop::sample::select(vec!["SCJG", "XFJY", "GA"]).prop_map(|d| Action::Transfer(d.into())),
        Just(Action::Verify),
        Just(Action::Handle),
        Just(Action::Answer("已处理".into())),
        Just(Action::LinkDuplicate("XS-2026-000009".into())),
        Just(Action::StartTask("T".into())),
        Just(Action::PackageSent("aa".into())),
        Just(Action::PackageReceived("aa".into())),
        Just(Action::PackageAccepted("aa".into())),
    ]
}

proptest! {
    /// No sequence of steps reaches `answered` without passing `handled`;
    /// every step taken is recorded with who and when, and a refused step
    /// changes nothing.
    #[test]
    fn answered_only_after_handled_and_every_step_recorded(
        criminal in any::<bool>(),
        actions in prop::collection::vec(any_action(), 0..40),
    ) {
        let mut l = lead(criminal);
        let mut events = Vec::new();
        let mut handled = false;
        for (n, action) in actions.iter().enumerate() {
            let at = 10 + n as i64;
            if let Ok((next, event)) = step(&l, action, "S-001", at) {
                {
                    prop_assert_eq!(event.at, at);
                    prop_assert_eq!(event.by.as_str(), "S-001");
                    prop_assert_eq!(next.updated_at, at);
                    events.push(event);
                    if next.state == LeadState::Handled {
                        handled = true;
                    }
                    if next.state == LeadState::Answered && l.state != LeadState::Answered {
                        prop_assert!(handled, "answered without handled: {:?}", events);
                        prop_assert_eq!(l.state, LeadState::Handled);
                    }
                    if !l.state.is_open() {
                        // A closed lead only takes package steps.
                        prop_assert_eq!(next.state, l.state);
                    }
                    l = next;
                }
            }
        }
        prop_assert!(events.len() <= actions.len());
        let answered = events.iter().filter(|e| e.kind == LeadEventKind::Answered).count();
        prop_assert!(answered <= 1);
        if l.state == LeadState::Answered {
            prop_assert!(events.iter().any(|e| e.kind == LeadEventKind::Handled));
        }
    }
}

mod packages {
    use std::collections::BTreeMap;
    use std::io::Cursor;

    use sha2::{Digest, Sha256};

    use crate::leads::package::{
        FORMAT, MAX_ENTRY_BYTES, Manifest, ManifestFile, Mismatch, PackagedReceipt,
        PackagedReceipts, verify, write_zip,
    };
    use crate::store::Receipt;

    fn sha(bytes: &[u8]) -> String {
        hex::encode(Sha256::digest(bytes))
    }

    /// A chain of three receipts: the task's, another task's, the task's.
    fn chain() -> Vec<Receipt> {
        let mut prev = "0".repeat(64);
        let mut out = Vec::new();
        for (seq, task) in [(1, "T-1"), (2, "T-2"), (3, "T-1")] {
            let mut r = Receipt {
                seq,
                change_hash: format!("{seq:064x}"),
                task_id: task.into(),
                device_id: "D-1".into(),
                received_at: 1_000 + seq,
                prev: prev.clone(),
                hash: String::new(),
            };
            r.hash = r.expected_hash();
            prev = r.hash.clone();
            out.push(r);
        }
        out
    }

    fn receipts_json(chain: &[Receipt]) -> Vec<u8> {
        let entries = chain
            .iter()
            .map(|r| {
                let whole = r.task_id == "T-1";
                PackagedReceipt {
                    seq: r.seq,
                    prev: r.prev.clone(),
                    hash: r.hash.clone(),
                    change_hash: whole.then(|| r.change_hash.clone()),
                    task_id: whole.then(|| r.task_id.clone()),
                    device_id: whole.then(|| r.device_id.clone()),
                    received_at: whole.then_some(r.received_at),
                }
            })
            .collect();
        serde_json::to_vec(&PackagedReceipts {
            task: Some("T-1".into()),
            head: chain.last().map(|r| r.hash.clone()),
            entries,
        })
        .expect("json")
    }

    /// The files of a package and its manifest, listing `files`.
    fn package(mut files: BTreeMap<String, Vec<u8>>, head: &str) -> BTreeMap<String, Vec<u8>> {
        let manifest = Manifest {
            format: FORMAT.into(),
            lead: "XS-2026-000001".into(),
            task: Some("T-1".into()),
            task_code: Some("JX-2026-000001".into()),
            created_at: 5,
            created_by: "S-1".into(),
            receipt_chain_head: Some(head.into()),
            receipt_chain_seq: Some(3),
            files: files
                .iter()
                .map(|(path, bytes)| ManifestFile {
                    path: path.clone(),
                    sha256: sha(bytes),
                    size: bytes.len() as u64,
                })
                .collect(),
            missing_evidence: Vec::new(),
        };
        let bytes = serde_json::to_vec(&manifest).expect("json");
        files.insert("manifest.sha256".into(), sha(&bytes).into_bytes());
        files.insert("manifest.json".into(), bytes);
        files
    }

    fn good() -> (BTreeMap<String, Vec<u8>>, String) {
        let chain = chain();
        let head = chain.last().map(|r| r.hash.clone()).expect("head");
        let photo = b"photo bytes".to_vec();
        let mut files = BTreeMap::new();
        files.insert(format!("evidence/{}", sha(&photo)), photo);
        files.insert("record.json".into(), b"{}".to_vec());
        files.insert("receipts.json".into(), receipts_json(&chain));
        (package(files, &head), head)
    }

    fn check(files: &BTreeMap<String, Vec<u8>>) -> Result<usize, Mismatch> {
        let zip = write_zip(files).expect("zip");
        verify(Cursor::new(zip)).map(|v| v.receipts)
    }

    #[test]
    fn a_good_package_verifies_and_is_the_same_bytes_each_time() {
        let (files, _) = good();
        assert_eq!(check(&files), Ok(3));
        assert_eq!(write_zip(&files).ok(), write_zip(&files).ok());
    }

    #[test]
    fn a_changed_file_is_named() {
        let (mut files, _) = good();
        let photo = files
            .keys()
            .find(|k| k.starts_with("evidence/"))
            .cloned()
            .expect("photo");
        files.insert(photo.clone(), b"photo bytez".to_vec());
        match check(&files) {
            Err(Mismatch::Hash { path, .. }) => assert_eq!(path, photo),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_altered_manifest_an_unlisted_file_and_a_missing_one_are_caught() {
        let (files, _) = good();
        let mut altered = files.clone();
        let text = String::from_utf8(altered["manifest.json"].clone()).expect("utf8");
        altered.insert(
            "manifest.json".into(),
            text.replace("S-1", "S-2").into_bytes(),
        );
        assert_eq!(check(&altered), Err(Mismatch::ManifestAltered));

        let mut extra = files.clone();
        extra.insert("evidence/planted".into(), b"x".to_vec());
        assert_eq!(
            check(&extra),
            Err(Mismatch::Unlisted("evidence/planted".into()))
        );

        let mut missing = files;
        missing.remove("record.json");
        assert_eq!(
            check(&missing),
            Err(Mismatch::Missing("record.json".into()))
        );
    }

    #[test]
    fn receipts_that_do_not_chain_to_the_head_are_caught() {
        let mut chain = chain();
        let head = chain.last().map(|r| r.hash.clone()).expect("head");
        // The task's first receipt altered (its hash kept).
        chain[0].device_id = "D-9".into();
        let mut files = BTreeMap::new();
        files.insert("receipts.json".into(), receipts_json(&chain));
        match check(&package(files, &head)) {
            Err(Mismatch::Receipts(why)) => assert!(why.contains("entry 1 was altered"), "{why}"),
            other => panic!("{other:?}"),
        }
        // An entry removed.
        let mut chain = self::chain();
        chain.remove(1);
        let mut files = BTreeMap::new();
        files.insert("receipts.json".into(), receipts_json(&chain));
        assert!(matches!(
            check(&package(files, &head)),
            Err(Mismatch::Receipts(_))
        ));
        // Another head than the manifest's.
        let (files, _) = good();
        let mut files: BTreeMap<String, Vec<u8>> = files
            .into_iter()
            .filter(|(k, _)| !k.starts_with("manifest"))
            .collect();
        files.insert("receipts.json".into(), receipts_json(&self::chain()));
        assert!(matches!(
            check(&package(files, &"f".repeat(64))),
            Err(Mismatch::Receipts(_))
        ));
    }

    #[test]
    fn oversized_entries_are_refused_before_they_are_unpacked() {
        let (files, _) = good();
        let mut text: serde_json::Value =
            serde_json::from_slice(&files["manifest.json"]).expect("json");
        text["files"][0]["size"] = serde_json::json!(MAX_ENTRY_BYTES + 1);
        let bytes = serde_json::to_vec(&text).expect("json");
        let mut bomb = files;
        bomb.insert("manifest.sha256".into(), sha(&bytes).into_bytes());
        bomb.insert("manifest.json".into(), bytes);
        assert!(matches!(check(&bomb), Err(Mismatch::TooLarge(_))));
        assert!(matches!(
            verify(Cursor::new(b"not a zip".to_vec())),
            Err(Mismatch::NotZip(_))
        ));
    }
}
