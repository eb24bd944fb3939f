//! The printed records as a reader sees them: text extracted with
//! `pdftotext`, fonts listed with `pdffonts` (poppler-utils), bytes compared
//! for determinism. Needs the Noto CJK fonts (fonts-noto-cjk) or
//! `FIELDLOOP_FONT_DIR`.

use std::io::Write;
use std::process::Command;
use std::sync::OnceLock;

use fieldloop_core::demo::DemoData;
use fieldloop_core::{
    ActorId, Answer, Author, Evidence, EvidenceKind, Finding, Outcome, RecordNotes, Role, Severity,
    Signature, SignerRole, Task, TaskDoc,
};
use fieldloop_print::{
    MAX_FIELD_CHARS, PrintError, Printer, SheetContext, notice_sheets, record_sheet, sample,
};

fn printer() -> &'static Printer {
    static PRINTER: OnceLock<Printer> = OnceLock::new();
    PRINTER.get_or_init(|| {
        Printer::system().expect("the Noto CJK fonts (apt-get install fonts-noto-cjk)")
    })
}

fn poppler(tool: &str, pdf: &[u8], args: &[&str]) -> String {
    let mut file = tempfile::NamedTempFile::new().expect("temp file");
    file.write_all(pdf).expect("write pdf");
    let output = Command::new(tool)
        .args(args)
        .arg(file.path())
        .args(if tool == "pdftotext" {
            &["-"][..]
        } else {
            &[][..]
        })
        .output()
        .unwrap_or_else(|e| panic!("{tool} (apt-get install poppler-utils): {e}"));
    assert!(
        output.status.success(),
        "{tool}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("utf-8")
}

/// The text of each page.
fn pages(pdf: &[u8]) -> Vec<String> {
    let text = poppler("pdftotext", pdf, &["-enc", "UTF-8"]);
    let mut pages: Vec<String> = text.split('\u{c}').map(str::to_owned).collect();
    if pages.last().is_some_and(|p| p.trim().is_empty()) {
        pages.pop();
    }
    pages
}

/// Text without any white space, so that line breaks do not matter.
fn squeezed(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

#[test]
fn the_record_has_party_badges_notices_and_a_footer_on_every_page() {
    let sheet = sample::record(60, 20);
    let pdf = printer().inspection_record(&sheet).expect("record");
    assert!(pdf.starts_with(b"%PDF-"));
    let pages = pages(&pdf);
    let n = pages.len();
    assert!(n >= 3, "60 items and 20 photos fill several pages, got {n}");
    for (i, page) in pages.iter().enumerate() {
        // "第 N 页 共 M 页" (pdftotext drops the thin spaces).
        let footer = format!("第{}页共{n}页", i + 1);
        let flat = squeezed(page);
        assert!(
            flat.contains(&footer),
            "page {} lacks {footer:?}:\n{page}",
            i + 1
        );
        assert!(
            flat.contains("当事人签名（盖章、捺印）"),
            "page {} lacks the party's signature line",
            i + 1
        );
        assert!(
            flat.contains("检查人员签名"),
            "page {} lacks the inspectors' signature line",
            i + 1
        );
        assert!(
            flat.contains("见证人"),
            "page {} lacks the witness line",
            i + 1
        );
    }
    let all = squeezed(&pages.join("\n"));
    for expected in [
        "现场检查笔录",
        "某县市场监督管理局",
        "青石镇老街餐饮有限公司",
        "91330106MA2H3XYZ7K",
        "王建国",
        "李秀英（店长）",
        "2026年12月4日9时30分至10时45分",
        "张明（执法证号：33010020231001）",
        "陈晓燕（执法证号：33010020231002）",
        "出示执法证件），你是否看清楚？",
        "答：看清楚了。",
        "答：听清楚了。",
        "你是否申请回避？",
        "答：不申请回避。",
        "检查事项60：",
        "见照片20",
        "冷藏柜温度超过8℃",
        "责令改正：调整冷藏设备温度至0–8℃",
        "于2026年12月18日前改正",
        "对检查发现的问题无异议",
        "冷藏柜已联系维修",
        "拒绝签名，理由：需请示法定代表人",
        "见证人赵志强在场见证当事人拒绝签名",
        "https://fieldloop.example.gov.cn/v/8f3kq2m9x7",
    ] {
        assert!(
            all.contains(&squeezed(expected)),
            "the record lacks {expected:?}"
        );
    }
    // Photos are listed with the start of their hash.
    let first = &sheet.photos[0].sha256[..16];
    assert!(all.contains(first), "the photo list lacks {first}");
}

#[test]
fn fonts_are_embedded_as_subsets() {
    for pdf in [
        printer()
            .inspection_record(&sample::record(5, 2))
            .expect("record"),
        printer()
            .rectification_notice(&sample::notice())
            .expect("notice"),
    ] {
        let listing = poppler("pdffonts", &pdf, &[]);
        let fonts: Vec<&str> = listing.lines().skip(2).collect();
        assert!(!fonts.is_empty(), "no fonts listed:\n{listing}");
        for line in fonts {
            assert!(line.contains("+Noto"), "not a subset of Noto: {line}");
            // columns: name type encoding emb sub uni object ID
            assert!(
                line.contains(" yes yes "),
                "not embedded and subset: {line}"
            );
        }
    }
}

#[test]
fn the_same_sheet_gives_the_same_bytes() {
    let sheet = sample::record(12, 4);
    let first = printer().inspection_record(&sheet).expect("record");
    let again = printer().inspection_record(&sheet).expect("record");
    assert!(first == again, "two renderings of one sheet differ");
    // A second printer (another process would load the same way) agrees.
    let other = Printer::system().expect("fonts");
    assert!(first == other.inspection_record(&sheet).expect("record"));
    // The creation date is the record's, not the printing's.
    let info = poppler("pdfinfo", &first, &["-isodates"]);
    assert!(
        info.contains("2026-12-04T10:45:00+08"),
        "creation date:\n{info}"
    );
    // And a change shows.
    let mut changed = sheet.clone();
    changed.party_statement.push('。');
    assert!(first != printer().inspection_record(&changed).expect("record"));
    let notice = sample::notice();
    assert!(
        printer().rectification_notice(&notice).expect("notice")
            == printer().rectification_notice(&notice).expect("notice")
    );
}

#[test]
fn a_character_the_fonts_lack_fails_loudly() {
    let mut sheet = sample::record(3, 1);
    // U+31350 (CJK Extension H, Unicode 15) is not in Noto CJK 2.004.
    sheet.party.name = "𱍐记面馆".to_owned();
    assert!(!printer().covers('𱍐'));
    let error = printer().inspection_record(&sheet).expect_err("must fail");
    match &error {
        PrintError::MissingGlyph { character, field } => {
            assert_eq!(*character, '𱍐');
            assert_eq!(field, "party.name");
        }
        other => panic!("wrong error: {other:?}"),
    }
    assert_eq!(error.code(), "print.missing_glyph");
    let message = error.to_string();
    assert!(
        message.contains("字体中没有字符“𱍐”") && message.contains("U+31350"),
        "{message}"
    );
    assert!(message.contains("party.name"), "{message}");

    let mut notice = sample::notice();
    notice.correction = "清理完毕😀".to_owned();
    assert!(matches!(
        printer().rectification_notice(&notice),
        Err(PrintError::MissingGlyph { character: '😀', ref field }) if field == "correction"
    ));
}

#[test]
fn rare_name_characters_outside_gb2312_print() {
    let mut sheet = sample::record(2, 0);
    sheet.party.legal_representative = "王堃".to_owned();
    sheet.inspectors[0].name = "李喆".to_owned();
    sheet.inspectors[1].name = "赵珺玥".to_owned();
    let pdf = printer().inspection_record(&sheet).expect("record");
    let all = squeezed(&pages(&pdf).join(""));
    for name in ["王堃", "李喆", "赵珺玥"] {
        assert!(all.contains(name), "{name} missing");
    }
}

#[test]
fn oversized_fields_are_refused() {
    let mut sheet = sample::record(2, 0);
    sheet.party_statement = "述".repeat(MAX_FIELD_CHARS + 1);
    let error = printer().inspection_record(&sheet).expect_err("too long");
    assert!(matches!(&error, PrintError::TooLarge { field, .. } if field == "party_statement"));
    assert_eq!(error.code(), "print.too_large");
}

#[test]
fn the_notice_has_number_facts_basis_deadline_and_remedies() {
    let pdf = printer()
        .rectification_notice(&sample::notice())
        .expect("notice");
    let pages = pages(&pdf);
    assert_eq!(pages.len(), 1);
    assert!(squeezed(&pages[0]).contains("第1页共1页"), "{}", pages[0]);
    let all = squeezed(&pages[0]);
    for expected in [
        "责令改正通知书",
        "某市监责改〔2026〕JX-2026-000001-1号",
        "青石镇老街餐饮有限公司：",
        "后厨冷藏柜温度为9℃",
        "违反了《中华人民共和国食品安全法》第五十条第一款的规定",
        "依据《中华人民共和国行政处罚法》第二十八条第一款的规定",
        "于2026年12月18日前改正上述违法行为",
        "改正内容及要求：调整冷藏设备温度至0–8℃",
        "六十日内依法申请行政复议",
        "六个月内依法向人民法院提起行政诉讼",
        "联系人及电话：张明0571-12345678",
        "2026年12月4日",
    ] {
        assert!(
            all.contains(&squeezed(expected)),
            "the notice lacks {expected:?}:\n{}",
            pages[0]
        );
    }
    // No deadline: at once.
    let mut at_once = sample::notice();
    at_once.deadline = None;
    let text = squeezed(&pages_text(
        &printer().rectification_notice(&at_once).expect("notice"),
    ));
    assert!(
        text.contains("现责令你（单位）立即改正上述违法行为"),
        "{text}"
    );
}

fn pages_text(pdf: &[u8]) -> String {
    pages(pdf).join("\n")
}

#[test]
fn the_templates_own_text_is_in_the_fonts() {
    for (name, text) in [
        ("common.typ", include_str!("../templates/common.typ")),
        ("record.typ", include_str!("../templates/record.typ")),
        ("notice.typ", include_str!("../templates/notice.typ")),
    ] {
        for c in text.chars().filter(|c| !c.is_ascii()) {
            assert!(printer().covers(c), "{name}: the fonts lack {c:?}");
        }
    }
}

#[test]
fn a_folder_without_chinese_fonts_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("dir");
    let error = Printer::from_font_dir(dir.path()).expect_err("no fonts");
    assert_eq!(error.code(), "print.fonts_missing");
    let message = error.to_string();
    assert!(message.contains("fonts-noto-cjk"), "{message}");
    assert!(
        message.contains(&dir.path().display().to_string()),
        "{message}"
    );
}

// ---- From a task document ----

const NOW: i64 = sample::SAMPLE_START;

fn demo_task() -> Task {
    let demo = DemoData::embedded().expect("demo data");
    let spec = demo.task_specs(1, NOW).expect("spec").remove(0);
    let author = Author::new(ActorId::from(&[7u8; 16][..]), "S-001", Role::Supervisor);
    TaskDoc::create(spec, &author, NOW)
        .expect("create")
        .task()
        .expect("task")
}

fn hash(n: u8) -> String {
    format!("{n:02x}").repeat(32)
}

fn evidence(
    sha256: String,
    kind: EvidenceKind,
    taken_at: i64,
    by: &str,
    item: Option<&str>,
) -> Evidence {
    Evidence {
        sha256,
        kind,
        taken_at,
        by: by.to_owned(),
        location: None,
        caption: Some("现场照片".to_owned()),
        mime: "image/jpeg".to_owned(),
        bytes: 1000,
        thumb_sha256: None,
        display_sha256: None,
        item: item.map(str::to_owned),
        withdrawn_at: None,
        withdrawn_by: None,
        withdrawn_reason: None,
    }
}

#[test]
fn a_task_becomes_a_record_sheet_and_notices() {
    let mut task = demo_task();
    let items: Vec<String> = task
        .items_in_order()
        .into_iter()
        .map(|(id, _)| id.clone())
        .collect();
    let (first, second) = (items[0].clone(), items[1].clone());
    let inspector = task.inspectors[0].clone();
    let other = task.inspectors[1].clone();
    // Answers, photos (one withdrawn, taken out of order), a document.
    task.checklist.get_mut(&first).expect("item").answer = Answer {
        result: Some(Outcome::Fail),
        value: Some("9℃".to_owned()),
        note: Some("冷藏柜超温".to_owned()),
    };
    task.checklist.get_mut(&second).expect("item").answer.result = Some(Outcome::Pass);
    task.evidence.insert(
        hash(1),
        evidence(
            hash(1),
            EvidenceKind::Photo,
            NOW + 2000,
            &inspector,
            Some(&first),
        ),
    );
    task.evidence.insert(
        hash(2),
        evidence(
            hash(2),
            EvidenceKind::Photo,
            NOW + 1000,
            &inspector,
            Some(&second),
        ),
    );
    let mut withdrawn = evidence(
        hash(3),
        EvidenceKind::Photo,
        NOW + 500,
        &inspector,
        Some(&first),
    );
    withdrawn.withdrawn_at = Some(NOW + 600);
    task.evidence.insert(hash(3), withdrawn);
    task.evidence.insert(
        hash(4),
        evidence(
            hash(4),
            EvidenceKind::Document,
            NOW + 3000,
            &inspector,
            Some(&first),
        ),
    );
    task.findings = vec![
        Finding {
            id: "F-1".to_owned(),
            item_id: Some(first.clone()),
            description: "冷藏柜温度超过 8℃".to_owned(),
            severity: Severity::Minor,
            rectification_order: Some("调整冷藏设备温度".to_owned()),
            rectification_deadline: Some(NOW + 7 * 86_400_000),
            by: inspector.clone(),
            at: NOW + 4000,
        },
        Finding {
            id: "F-2".to_owned(),
            item_id: None,
            description: "门口堆放杂物".to_owned(),
            severity: Severity::Minor,
            rectification_order: None,
            rectification_deadline: None,
            by: inspector.clone(),
            at: NOW + 5000,
        },
    ];
    task.signatures = vec![
        Signature {
            role: SignerRole::Inspector,
            signer: inspector.clone(),
            image: Some(hash(9)),
            refused_reason: None,
            by: inspector.clone(),
            at: NOW + 6000,
        },
        Signature {
            role: SignerRole::Enterprise,
            signer: "李秀英".to_owned(),
            image: None,
            refused_reason: Some("不认可检查结论".to_owned()),
            by: inspector.clone(),
            at: NOW + 7000,
        },
    ];
    task.record_notes = Some(RecordNotes {
        place: String::new(),
        started_at: Some(NOW),
        ended_at: Some(NOW + 3_600_000),
        party_present: "李秀英".to_owned(),
        party_role: "店长".to_owned(),
        legal_representative: String::new(),
        recorder: other.clone(),
        witness: "赵志强".to_owned(),
        credentials_answer: "看清楚了".to_owned(),
        rights_answer: "清楚".to_owned(),
        recusal_answer: "不申请".to_owned(),
        party_statement: "无异议".to_owned(),
    });
    let ctx = SheetContext {
        verify_url: "https://example.org/v/abc".to_owned(),
        badges: [
            (inspector.clone(), "B-111".to_owned()),
            (other.clone(), "B-222".to_owned()),
        ]
        .into(),
        ..SheetContext::default()
    };
    let names = task.names.clone().expect("names");
    let sheet = record_sheet(&task, &ctx);

    let lead = &names.departments[&task.lead_department].name;
    assert_eq!(&sheet.agency, lead, "the agency is the lead department");
    assert_eq!(sheet.party.name, task.subject.name);
    assert_eq!(
        sheet.party.legal_representative, task.subject.legal_rep,
        "falls back to the subject's"
    );
    assert_eq!(
        sheet.place, task.subject.address,
        "falls back to the subject's address"
    );
    assert_eq!(sheet.inspectors[0].name, names.inspectors[&inspector]);
    assert_eq!(sheet.inspectors[0].badge, "B-111");
    assert_eq!(sheet.inspectors[1].badge, "B-222");
    assert_eq!(sheet.recorder, names.inspectors[&other]);
    assert_eq!(sheet.notices.len(), 3);
    assert_eq!(sheet.notices[0].answer, "看清楚了");
    assert!(
        sheet.notices[0]
            .question
            .contains(&names.inspectors[&inspector])
    );
    assert_eq!(sheet.notices[2].answer, "不申请");
    // Photos numbered in the order taken; the withdrawn one left out.
    assert_eq!(sheet.photos.len(), 2);
    assert_eq!(
        (sheet.photos[0].number, sheet.photos[0].sha256.as_str()),
        (1, hash(2).as_str())
    );
    assert_eq!(
        (sheet.photos[1].number, sheet.photos[1].sha256.as_str()),
        (2, hash(1).as_str())
    );
    assert_eq!(sheet.items.len(), task.checklist.len());
    assert_eq!(sheet.items[0].number, 1);
    assert_eq!(sheet.items[0].result, "不合格");
    assert_eq!(sheet.items[0].remark, "9℃；冷藏柜超温");
    assert_eq!(sheet.items[0].photos, vec![2]);
    assert_eq!(
        sheet.items[0].other_evidence,
        vec![hash(4)[..12].to_owned()]
    );
    assert_eq!(sheet.items[1].photos, vec![1]);
    assert_eq!(sheet.items[2].result, "未检查");
    assert_eq!(sheet.findings[0].item, Some(1));
    assert_eq!(sheet.findings[0].photos, vec![2]);
    assert_eq!(sheet.findings[1].item, None);
    assert_eq!(sheet.signatures[1].role, "当事人");
    assert!(!sheet.signatures[1].signed);
    assert_eq!(sheet.signatures[1].refused_reason, "不认可检查结论");

    let notices = notice_sheets(&task, &ctx);
    assert_eq!(notices.len(), 1, "one notice per finding with an order");
    let notice = &notices[0];
    assert_eq!(notice.finding_id, "F-1");
    assert_eq!(notice.number, format!("责改〔2026〕{}-1号", task.code));
    assert_eq!(notice.provision, task.checklist[&first].legal_basis);
    assert_eq!(notice.correction, "调整冷藏设备温度");
    assert_eq!(notice.deadline, Some(NOW + 7 * 86_400_000));

    // And both print, with the task's names.
    let pdf = printer().inspection_record(&sheet).expect("record");
    let text = squeezed(&pages_text(&pdf));
    assert!(
        text.contains(&squeezed(&task.subject.name)),
        "{} not in {text}",
        task.subject.name
    );
    assert!(text.contains("B-111") && text.contains("B-222"));
    let pdf = printer().rectification_notice(notice).expect("notice");
    let text = squeezed(&pages_text(&pdf));
    assert!(
        text.contains(&squeezed(&task.subject.name)),
        "{} not in {text}",
        task.subject.name
    );
}

#[test]
fn without_a_directory_the_badges_come_from_the_signed_claim() {
    use fieldloop_core::claim::{self, Claim};
    let mut task = demo_task();
    let badges: std::collections::BTreeMap<String, String> = task
        .inspectors
        .iter()
        .enumerate()
        .map(|(n, id)| (id.clone(), format!("CLAIM-{n}")))
        .collect();
    let key = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    task.claim = Some(claim::sign(&key, &Claim::of_task(&task, &badges, NOW)));
    // The tablet has no directory: an empty context.
    let sheet = record_sheet(&task, &SheetContext::default());
    let printed: Vec<&str> = sheet.inspectors.iter().map(|o| o.badge.as_str()).collect();
    let expected: Vec<&str> = task
        .inspectors
        .iter()
        .map(|id| badges[id].as_str())
        .collect();
    assert_eq!(printed, expected);
    // The directory, when there is one, wins.
    let ctx = SheetContext {
        badges: [(task.inspectors[0].clone(), "DIR-0".to_owned())].into(),
        ..SheetContext::default()
    };
    assert_eq!(record_sheet(&task, &ctx).inspectors[0].badge, "DIR-0");
}
