//! What a printed record says: plain data, filled from a task document by
//! [`record_sheet`] and [`notice_sheets`], or by hand.
//!
//! Times are [`Millis`]; the printer writes them in Beijing time. Names are
//! resolved here (inspector ids to names, department codes to names), so the
//! templates only lay text out.

use std::collections::{BTreeMap, BTreeSet};

use fieldloop_core::{EvidenceKind, Millis, Outcome, Severity, SignerRole, Task};
use serde::{Deserialize, Serialize};

/// The legal basis of an order to correct when the caller names none:
/// 《行政处罚法》第二十八条第一款 (行政机关实施行政处罚时，应当责令当事人改正或者限期改正违法行为).
pub const DEFAULT_ORDER_BASIS: &str = "《中华人民共和国行政处罚法》第二十八条第一款";
/// The 文号 prefix of a notice when the caller names none.
pub const DEFAULT_NOTICE_PREFIX: &str = "责改";

/// What the printer needs besides the task: who issues the record, where
/// the QR code points, and the inspectors' badge numbers (the task document
/// carries names only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SheetContext {
    /// The issuing agency (检查机关), e.g. the lead department's name; empty:
    /// the lead department's name from the task's names.
    pub agency: String,
    /// The public verification link the QR code carries.
    pub verify_url: String,
    /// Inspector id → 执法证号. An inspector not named here takes the badge
    /// number of the task's signed claim, if it has one (on the tablet).
    pub badges: BTreeMap<String, String>,
    /// The 文号 prefix of notices, e.g. "某市监责改"; empty: [`DEFAULT_NOTICE_PREFIX`].
    pub notice_prefix: String,
    /// 联系人及电话 printed on notices; empty: left out.
    pub contact: String,
    /// The legal basis of orders to correct; empty: [`DEFAULT_ORDER_BASIS`].
    pub order_basis: String,
}

/// The inspected party (当事人).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Party {
    pub name: String,
    /// 统一社会信用代码.
    pub uscc: String,
    /// 住所（住址）.
    pub address: String,
    /// 法定代表人（负责人）.
    pub legal_representative: String,
    /// 现场负责人 present at the inspection.
    pub present: String,
    /// His or her role (职务).
    pub present_role: String,
}

/// An inspector as printed: name and 执法证号 (empty: a line to fill in).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Officer {
    pub id: String,
    pub name: String,
    pub badge: String,
}

/// One scripted notice and the party's answer, verbatim.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScriptedNotice {
    pub question: String,
    pub answer: String,
}

/// One checklist item as checked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordItem {
    /// From 1, in handbook order.
    pub number: u32,
    /// The department's name.
    pub department: String,
    pub title: String,
    pub legal_basis: String,
    /// 合格 / 不合格 / 不涉及 / 未检查.
    pub result: String,
    /// The recorded value and note.
    pub remark: String,
    /// Numbers of the photos (see [`RecordSheet::photos`]).
    pub photos: Vec<u32>,
    /// Other evidence (audio, documents): SHA-256, first 12 hex digits.
    pub other_evidence: Vec<String>,
}

/// One problem found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFinding {
    /// From 1.
    pub number: u32,
    /// The number of the checklist item it concerns.
    pub item: Option<u32>,
    pub description: String,
    /// 一般 / 较重 / 严重.
    pub severity: String,
    /// 责令改正 content; empty: no order.
    pub order: String,
    pub deadline: Option<Millis>,
    /// Numbers of the photos of its item.
    pub photos: Vec<u32>,
}

/// One photo referred to by number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoRef {
    /// From 1, in the order they were taken.
    pub number: u32,
    /// Full SHA-256 (hex); printed shortened.
    pub sha256: String,
    pub taken_at: Millis,
    /// Who took it (name).
    pub by: String,
    pub caption: String,
}

/// A signature on the record, or a refusal to sign.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignatureLine {
    /// 当事人 or 检查人员.
    pub role: String,
    pub name: String,
    /// Signed (true) or refused (false).
    pub signed: bool,
    /// SHA-256 of the signature image; empty when refused.
    pub image_sha256: String,
    /// Why the signer refused; empty when signed.
    pub refused_reason: String,
    pub at: Millis,
}

/// Everything a 现场检查笔录 prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordSheet {
    /// Names the PDF (its document id); not printed.
    pub task_id: String,
    pub task_code: String,
    /// 检查机关.
    pub agency: String,
    /// Names of the departments taking part.
    pub departments: Vec<String>,
    pub party: Party,
    /// 检查时间 from and to.
    pub started_at: Option<Millis>,
    pub ended_at: Option<Millis>,
    /// 检查地点.
    pub place: String,
    pub inspectors: Vec<Officer>,
    /// 记录人 (name).
    pub recorder: String,
    /// 见证人 (name), empty when none.
    pub witness: String,
    /// The scripted notices (identity, rights and duties, recusal).
    pub notices: Vec<ScriptedNotice>,
    pub items: Vec<RecordItem>,
    pub findings: Vec<RecordFinding>,
    pub photos: Vec<PhotoRef>,
    /// 当事人的陈述和申辩.
    pub party_statement: String,
    pub signatures: Vec<SignatureLine>,
    /// The link the verification QR code carries.
    pub verify_url: String,
}

/// Everything a 责令改正通知书 prints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeSheet {
    /// Names the PDF (its document id); not printed.
    pub task_id: String,
    pub task_code: String,
    pub finding_id: String,
    /// The issuing agency.
    pub agency: String,
    /// 文号, e.g. "责改〔2026〕T-0001-1号".
    pub number: String,
    /// The addressee.
    pub party: Party,
    /// When the facts were found.
    pub inspected_at: Option<Millis>,
    pub place: String,
    /// What was found.
    pub facts: String,
    /// The provision violated (the checklist item's legal basis).
    pub provision: String,
    /// The legal basis of the order itself.
    pub legal_basis: String,
    /// Correct by this time; `None`: at once (立即).
    pub deadline: Option<Millis>,
    /// 改正内容及要求.
    pub correction: String,
    /// 联系人及电话; empty: left out.
    pub contact: String,
    /// The notice's date.
    pub issued_at: Millis,
    /// The link the verification QR code carries.
    pub verify_url: String,
}

/// The three scripted questions of the record (司法部 2025 现场检查笔录).
pub fn notice_questions(agency: &str, inspectors: &[Officer]) -> [String; 3] {
    let names: Vec<&str> = inspectors.iter().map(|o| o.name.as_str()).collect();
    let agency = if agency.is_empty() {
        "本机关"
    } else {
        agency
    };
    [
        format!(
            "我们是{agency}的执法人员{}，这是我们的执法证件（出示执法证件），你是否看清楚？",
            names.join("、")
        ),
        "依法你（单位）有陈述、申辩的权利，同时负有如实回答询问、协助检查的义务，不得拒绝、阻挠检查。你是否听清楚？".to_owned(),
        "检查人员与你（单位）有直接利害关系或者其他关系可能影响公正执法的，你有申请回避的权利。你是否申请回避？".to_owned(),
    ]
}

fn outcome_text(outcome: Option<Outcome>) -> &'static str {
    match outcome {
        Some(Outcome::Pass) => "合格",
        Some(Outcome::Fail) => "不合格",
        Some(Outcome::NotApplicable) => "不涉及",
        None => "未检查",
    }
}

fn severity_text(severity: Severity) -> &'static str {
    match severity {
        Severity::Minor => "一般",
        Severity::Major => "较重",
        Severity::Critical => "严重",
    }
}

/// The first 12 hex digits of a hash, as printed beside evidence.
pub(crate) fn short_hash(sha256: &str) -> String {
    sha256.chars().take(12).collect()
}

/// Names the task carries, with codes as they are where it names none.
struct Lookup<'a> {
    task: &'a Task,
}

impl Lookup<'_> {
    fn inspector(&self, id: &str) -> String {
        self.task
            .names
            .as_ref()
            .and_then(|n| n.inspectors.get(id))
            .cloned()
            .unwrap_or_else(|| id.to_owned())
    }

    fn department(&self, code: &str) -> String {
        self.task
            .names
            .as_ref()
            .and_then(|n| n.departments.get(code))
            .map(|d| d.name.clone())
            .unwrap_or_else(|| code.to_owned())
    }

    /// Badge numbers the task's signed claim (亮码检查) carries, by
    /// inspector id: what a tablet knows without the server's directory.
    /// The claim lists the inspectors in the task's order; a name that does
    /// not match is left out.
    fn claim_badges(&self) -> BTreeMap<String, String> {
        let Some(claim) = self
            .task
            .claim
            .as_deref()
            .and_then(|text| fieldloop_core::claim::decode_unverified(text).ok())
        else {
            return BTreeMap::new();
        };
        self.task
            .inspectors
            .iter()
            .zip(&claim.inspectors)
            .filter(|(id, c)| !c.badge.is_empty() && self.inspector(id) == c.name)
            .map(|(id, c)| (id.clone(), c.badge.clone()))
            .collect()
    }

    fn agency(&self, ctx: &SheetContext) -> String {
        if ctx.agency.is_empty() {
            self.department(&self.task.lead_department)
        } else {
            ctx.agency.clone()
        }
    }

    fn party(&self) -> Party {
        let notes = self.task.record_notes.clone().unwrap_or_default();
        let s = &self.task.subject;
        Party {
            name: s.name.clone(),
            uscc: s.uscc.clone(),
            address: s.address.clone(),
            legal_representative: if notes.legal_representative.is_empty() {
                s.legal_rep.clone()
            } else {
                notes.legal_representative
            },
            present: notes.party_present,
            present_role: notes.party_role,
        }
    }
}

/// Photos in the order they were taken (withdrawn ones left out), numbered from 1.
fn photo_numbers(task: &Task) -> Vec<(&str, u32)> {
    let mut photos: Vec<_> = task
        .evidence
        .values()
        .filter(|e| e.kind == EvidenceKind::Photo && !e.is_withdrawn())
        .collect();
    photos.sort_by(|a, b| (a.taken_at, &a.sha256).cmp(&(b.taken_at, &b.sha256)));
    photos
        .into_iter()
        .zip(1u32..)
        .map(|(e, n)| (e.sha256.as_str(), n))
        .collect()
}

/// The 现场检查笔录 of a task: subject, record notes, checklist in handbook
/// order with photo numbers, findings, photos, signatures.
pub fn record_sheet(task: &Task, ctx: &SheetContext) -> RecordSheet {
    let names = Lookup { task };
    let notes = task.record_notes.clone().unwrap_or_default();
    let agency = names.agency(ctx);
    let numbers: BTreeMap<&str, u32> = photo_numbers(task).into_iter().collect();
    let claimed = names.claim_badges();
    let inspectors: Vec<Officer> = task
        .inspectors
        .iter()
        .map(|id| Officer {
            id: id.clone(),
            name: names.inspector(id),
            badge: ctx
                .badges
                .get(id)
                .or_else(|| claimed.get(id))
                .cloned()
                .unwrap_or_default(),
        })
        .collect();
    let mut item_numbers: BTreeMap<&str, u32> = BTreeMap::new();
    let mut item_photos: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    let items = task
        .items_in_order()
        .into_iter()
        .zip(1u32..)
        .map(|((id, item), number)| {
            item_numbers.insert(id.as_str(), number);
            // Evidence listed on the item, and evidence that names the item.
            let mut hashes: BTreeSet<&str> = item.evidence.iter().map(String::as_str).collect();
            hashes.extend(
                task.evidence
                    .values()
                    .filter(|e| e.item.as_deref() == Some(id.as_str()))
                    .map(|e| e.sha256.as_str()),
            );
            let mut photos: Vec<u32> = Vec::new();
            let mut other_evidence = Vec::new();
            for hash in hashes {
                match (numbers.get(hash), task.evidence.get(hash)) {
                    (Some(n), _) => photos.push(*n),
                    (None, Some(e))
                        if !e.is_withdrawn()
                            && !matches!(e.kind, EvidenceKind::Photo | EvidenceKind::Signature) =>
                    {
                        other_evidence.push(short_hash(hash));
                    }
                    _ => {}
                }
            }
            photos.sort_unstable();
            item_photos.insert(id.as_str(), photos.clone());
            let remark = [item.answer.value.as_deref(), item.answer.note.as_deref()]
                .into_iter()
                .flatten()
                .filter(|s| !s.trim().is_empty())
                .collect::<Vec<_>>()
                .join("；");
            RecordItem {
                number,
                department: names.department(&item.department),
                title: item.title.clone(),
                legal_basis: item.legal_basis.clone(),
                result: outcome_text(item.answer.result).to_owned(),
                remark,
                photos,
                other_evidence,
            }
        })
        .collect();
    let findings = task
        .findings
        .iter()
        .zip(1u32..)
        .map(|(f, number)| {
            let item = f.item_id.as_deref();
            RecordFinding {
                number,
                item: item.and_then(|i| item_numbers.get(i).copied()),
                description: f.description.clone(),
                severity: severity_text(f.severity).to_owned(),
                order: f.rectification_order.clone().unwrap_or_default(),
                deadline: f.rectification_deadline,
                photos: item
                    .and_then(|i| item_photos.get(i).cloned())
                    .unwrap_or_default(),
            }
        })
        .collect();
    let photos = photo_numbers(task)
        .into_iter()
        .filter_map(|(hash, number)| {
            let e = task.evidence.get(hash)?;
            Some(PhotoRef {
                number,
                sha256: e.sha256.clone(),
                taken_at: e.taken_at,
                by: names.inspector(&e.by),
                caption: e.caption.clone().unwrap_or_default(),
            })
        })
        .collect();
    let signatures = task
        .signatures
        .iter()
        .map(|s| SignatureLine {
            role: match s.role {
                SignerRole::Inspector => "检查人员",
                SignerRole::Enterprise => "当事人",
            }
            .to_owned(),
            name: match s.role {
                SignerRole::Inspector => names.inspector(&s.signer),
                SignerRole::Enterprise => s.signer.clone(),
            },
            signed: s.refused_reason.is_none(),
            image_sha256: s.image.clone().unwrap_or_default(),
            refused_reason: s.refused_reason.clone().unwrap_or_default(),
            at: s.at,
        })
        .collect();
    let questions = notice_questions(&agency, &inspectors);
    let answers = [
        notes.credentials_answer,
        notes.rights_answer,
        notes.recusal_answer,
    ];
    let notices = questions
        .into_iter()
        .zip(answers)
        .map(|(question, answer)| ScriptedNotice { question, answer })
        .collect();
    RecordSheet {
        task_id: task.id.clone(),
        task_code: task.code.clone(),
        agency,
        departments: task
            .departments
            .iter()
            .map(|d| names.department(d))
            .collect(),
        party: names.party(),
        started_at: notes.started_at,
        ended_at: notes.ended_at,
        place: if notes.place.is_empty() {
            task.subject.address.clone()
        } else {
            notes.place
        },
        inspectors,
        recorder: if notes.recorder.is_empty() {
            String::new()
        } else {
            names.inspector(&notes.recorder)
        },
        witness: notes.witness,
        notices,
        items,
        findings,
        photos,
        party_statement: notes.party_statement,
        signatures,
        verify_url: ctx.verify_url.clone(),
    }
}

/// One 责令改正通知书 per finding with a rectification order, in the order
/// of the findings; numbered `{prefix}〔{year}〕{task code}-{n}号`.
pub fn notice_sheets(task: &Task, ctx: &SheetContext) -> Vec<NoticeSheet> {
    let names = Lookup { task };
    let notes = task.record_notes.clone().unwrap_or_default();
    let agency = names.agency(ctx);
    let prefix = if ctx.notice_prefix.is_empty() {
        DEFAULT_NOTICE_PREFIX
    } else {
        ctx.notice_prefix.as_str()
    };
    let basis = if ctx.order_basis.is_empty() {
        DEFAULT_ORDER_BASIS
    } else {
        ctx.order_basis.as_str()
    };
    task.findings
        .iter()
        .filter(|f| {
            f.rectification_order
                .as_deref()
                .is_some_and(|o| !o.trim().is_empty())
        })
        .zip(1u32..)
        .map(|(f, n)| {
            let item = f.item_id.as_deref().and_then(|i| task.checklist.get(i));
            let year = crate::time::beijing(f.at).map_or(0, |t| t.year);
            NoticeSheet {
                task_id: task.id.clone(),
                task_code: task.code.clone(),
                finding_id: f.id.clone(),
                agency: agency.clone(),
                number: format!("{prefix}〔{year}〕{}-{n}号", task.code),
                party: names.party(),
                inspected_at: notes.started_at.or(Some(f.at)),
                place: if notes.place.is_empty() {
                    task.subject.address.clone()
                } else {
                    notes.place.clone()
                },
                facts: f.description.clone(),
                provision: item.map(|i| i.legal_basis.clone()).unwrap_or_default(),
                legal_basis: basis.to_owned(),
                deadline: f.rectification_deadline,
                correction: f.rectification_order.clone().unwrap_or_default(),
                contact: ctx.contact.clone(),
                issued_at: f.at,
                verify_url: ctx.verify_url.clone(),
            }
        })
        .collect()
}
