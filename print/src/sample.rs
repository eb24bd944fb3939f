//! Made-up sheets of a plausible size, for tests, benchmarks and trying the
//! templates out. The people, business and codes are invented.

use fieldloop_core::Millis;
use sha2::{Digest, Sha256};

use crate::sheet::{
    NoticeSheet, Officer, Party, PhotoRef, RecordFinding, RecordItem, RecordSheet, ScriptedNotice,
    SignatureLine, notice_questions,
};

/// 2026-12-04 09:30 Beijing time.
pub const SAMPLE_START: Millis = 1_796_347_800_000;

fn party() -> Party {
    Party {
        name: "青石镇老街餐饮有限公司".to_owned(),
        uscc: "91330106MA2H3XYZ7K".to_owned(),
        address: "浙江省某县青石镇老街 18 号".to_owned(),
        legal_representative: "王建国".to_owned(),
        present: "李秀英".to_owned(),
        present_role: "店长".to_owned(),
    }
}

/// A record with `items` checklist items and `photos` photos: every third
/// item failed with a finding and an order, photos spread over the items.
pub fn record(items: u32, photos: u32) -> RecordSheet {
    let agency = "某县市场监督管理局".to_owned();
    let inspectors = vec![
        Officer {
            id: "I-001".to_owned(),
            name: "张明".to_owned(),
            badge: "33010020231001".to_owned(),
        },
        Officer {
            id: "I-002".to_owned(),
            name: "陈晓燕".to_owned(),
            badge: "33010020231002".to_owned(),
        },
    ];
    let notices = notice_questions(&agency, &inspectors)
        .into_iter()
        .zip(["看清楚了。", "听清楚了。", "不申请回避。"])
        .map(|(question, answer)| ScriptedNotice {
            question,
            answer: answer.to_owned(),
        })
        .collect();
    let photo_refs: Vec<PhotoRef> = (1..=photos)
        .map(|n| PhotoRef {
            number: n,
            sha256: hex::encode(Sha256::digest(format!("sample photo {n}"))),
            taken_at: SAMPLE_START + Millis::from(n) * 60_000,
            by: if n % 2 == 0 { "陈晓燕" } else { "张明" }.to_owned(),
            caption: format!("后厨现场第{n}处"),
        })
        .collect();
    let record_items: Vec<RecordItem> = (1..=items)
        .map(|n| RecordItem {
            number: n,
            department: if n % 2 == 0 {
                "县卫生健康局"
            } else {
                "县市场监督管理局"
            }
            .to_owned(),
            title: format!("检查事项{n}：食品原料进货查验记录、贮存条件与标签标识是否符合要求"),
            legal_basis: "《中华人民共和国食品安全法》第五十条、第五十三条".to_owned(),
            result: if n % 3 == 0 { "不合格" } else { "合格" }.to_owned(),
            remark: if n % 3 == 0 {
                "冷藏柜温度 9℃，部分原料无进货凭证".to_owned()
            } else {
                String::new()
            },
            photos: if photos == 0 {
                Vec::new()
            } else {
                vec![(n - 1) % photos + 1]
            },
            other_evidence: Vec::new(),
        })
        .collect();
    let findings = (1..=items)
        .filter(|n| n % 3 == 0)
        .zip(1..)
        .map(|(item, number)| RecordFinding {
            number,
            item: Some(item),
            description: format!("第{item}项：冷藏柜温度超过 8℃，部分原料未能提供进货凭证"),
            severity: "一般".to_owned(),
            order: "调整冷藏设备温度至 0–8℃，补齐进货查验记录".to_owned(),
            deadline: Some(SAMPLE_START + 14 * 86_400_000),
            photos: record_items
                .get(item as usize - 1)
                .map(|i| i.photos.clone())
                .unwrap_or_default(),
        })
        .collect();
    RecordSheet {
        task_id: "5f0c1a2e-0000-4000-8000-000000000001".to_owned(),
        task_code: "JX-2026-000001".to_owned(),
        agency,
        departments: vec!["县市场监督管理局".to_owned(), "县卫生健康局".to_owned()],
        party: party(),
        started_at: Some(SAMPLE_START),
        ended_at: Some(SAMPLE_START + 75 * 60_000),
        place: "浙江省某县青石镇老街 18 号后厨及仓库".to_owned(),
        inspectors,
        recorder: "陈晓燕".to_owned(),
        witness: "赵志强".to_owned(),
        notices,
        items: record_items,
        findings,
        photos: photo_refs,
        party_statement: "对检查发现的问题无异议，将按要求整改。\n冷藏柜已联系维修。".to_owned(),
        signatures: vec![
            SignatureLine {
                role: "检查人员".to_owned(),
                name: "张明".to_owned(),
                signed: true,
                image_sha256: "ab".repeat(32),
                refused_reason: String::new(),
                at: SAMPLE_START + 80 * 60_000,
            },
            SignatureLine {
                role: "检查人员".to_owned(),
                name: "陈晓燕".to_owned(),
                signed: true,
                image_sha256: "cd".repeat(32),
                refused_reason: String::new(),
                at: SAMPLE_START + 80 * 60_000,
            },
            SignatureLine {
                role: "当事人".to_owned(),
                name: "李秀英".to_owned(),
                signed: false,
                image_sha256: String::new(),
                refused_reason: "需请示法定代表人".to_owned(),
                at: SAMPLE_START + 82 * 60_000,
            },
        ],
        verify_url: "https://fieldloop.example.gov.cn/v/8f3kq2m9x7".to_owned(),
    }
}

/// A notice for the first finding of [`record`].
pub fn notice() -> NoticeSheet {
    NoticeSheet {
        task_id: "5f0c1a2e-0000-4000-8000-000000000001".to_owned(),
        task_code: "JX-2026-000001".to_owned(),
        finding_id: "F-1".to_owned(),
        agency: "某县市场监督管理局".to_owned(),
        number: "某市监责改〔2026〕JX-2026-000001-1号".to_owned(),
        party: party(),
        inspected_at: Some(SAMPLE_START),
        place: "浙江省某县青石镇老街 18 号".to_owned(),
        facts: "后厨冷藏柜温度为 9℃，超过 8℃；部分食品原料未能提供进货查验记录。".to_owned(),
        provision: "《中华人民共和国食品安全法》第五十条第一款".to_owned(),
        legal_basis: crate::sheet::DEFAULT_ORDER_BASIS.to_owned(),
        deadline: Some(SAMPLE_START + 14 * 86_400_000),
        correction: "调整冷藏设备温度至 0–8℃，补齐进货查验记录，并于期限届满前报送整改情况。"
            .to_owned(),
        contact: "张明 0571-12345678".to_owned(),
        issued_at: SAMPLE_START + 90 * 60_000,
        verify_url: "https://fieldloop.example.gov.cn/v/8f3kq2m9x7".to_owned(),
    }
}
