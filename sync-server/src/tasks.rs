//! `fieldloop-server task create`: one joint-inspection task for a subject,
//! its checklist taken from the handbook of the subject's industry
//! (一业一册), assigned to a team and at least two of its inspectors. The
//! server's supervisor actor creates it, so it is in the document's history
//! and the receipt log, and it reaches the team's tablets at their next sync.

use std::fmt;

use chrono::Datelike;
use std::str::FromStr;

use fieldloop_core::task::{MIN_CHECKED_IN, Names};
use fieldloop_core::{
    ActorId, Author, Millis, Role, TaskDoc, TaskError, TaskSpec, Uscc, UsccError, Window,
};
use rand::Rng;

use crate::store::{Store, StoreError, TaskCodes, TaskWrite};

/// The Automerge actor of the changes the server makes as a supervisor.
pub const SERVER_SUPERVISOR_ACTOR: &[u8] = b"fieldloop-server-supervisor";
/// The device id the server's own changes are receipted under.
pub const SERVER_DEVICE: &str = "server";
/// Generated task codes are `JX-{year of the start}-{number:06}`.
pub const CODE_PREFIX: &str = "JX";
/// Letters and digits of a verify code: none that can be misread for another.
const VERIFY_ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
/// 20 characters of 5 bits: 100 random bits.
const VERIFY_LEN: usize = 20;
const DAY_MS: Millis = 86_400_000;
/// Dates on the command line are days in Beijing time (UTC+8).
const CHINA_OFFSET_MS: Millis = 8 * 3_600_000;
/// Tries with the next free code when another task took the generated one meanwhile.
const CODE_ATTEMPTS: usize = 5;

/// A calendar day, written `2026-12-01`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(chrono::NaiveDate);

impl Day {
    pub fn new(year: i32, month: u32, day: u32) -> Option<Self> {
        chrono::NaiveDate::from_ymd_opt(year, month, day)
            .filter(|d| (1..=9999).contains(&d.year()))
            .map(Self)
    }

    pub fn year(self) -> i32 {
        self.0.year()
    }

    /// 00:00 of this day, Beijing time.
    pub fn start_ms(self) -> Millis {
        self.0
            .and_time(chrono::NaiveTime::MIN)
            .and_utc()
            .timestamp_millis()
            - CHINA_OFFSET_MS
    }

    /// The last millisecond of this day, Beijing time.
    pub fn end_ms(self) -> Millis {
        self.start_ms() + DAY_MS - 1
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format("%Y-%m-%d"))
    }
}

impl FromStr for Day {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        // Exactly YYYY-MM-DD: chrono alone would also take `2026-1-5`.
        let shaped = s.len() == 10 && s.as_bytes()[4] == b'-' && s.as_bytes()[7] == b'-';
        chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .filter(|_| shaped)
            .and_then(|d| Day::new(d.year(), d.month(), d.day()))
            .ok_or_else(|| {
                format!(
                    "“{s}” 不是有效日期，请写成 2026-12-01 这样的格式 ('{s}' is not a date; write it like 2026-12-01)"
                )
            })
    }
}

/// What the administrator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// The subject's USCC as typed.
    pub subject: String,
    pub team: String,
    pub inspectors: Vec<String>,
    pub start: Day,
    pub due: Day,
    /// The task code; the next free `JX-{year}-{number}` if `None`.
    pub code: Option<String>,
    /// Who creates it, as recorded in the task's history.
    pub by: String,
    /// The handbook's items to check; `None`: all of them.
    pub items: Option<Vec<String>>,
}

/// A task that was created and stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTask {
    pub id: String,
    pub code: String,
    pub verify_code: String,
}

impl CreatedTask {
    /// The path of the public verification page (the QR code's target).
    pub fn verify_path(&self) -> String {
        format!("/v/{}", self.verify_code)
    }
}

/// Why no task was created. Nothing is stored in any case.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("统一社会信用代码 “{value}” 有误 (bad USCC '{value}'): {error}")]
    BadUscc { value: String, error: UsccError },
    #[error(
        "没有统一社会信用代码为 {0} 的监管对象，请先导入 subjects (no subject with USCC {0}; import it first)"
    )]
    UnknownSubject(String),
    #[error("没有执法队伍 {0}，请先导入 teams (no team {0}; import it first)")]
    UnknownTeam(String),
    #[error("没有执法人员 {0}，请先导入 inspectors (no inspector {0}; import it first)")]
    UnknownInspector(String),
    #[error(
        "执法人员 {inspector} 属于队伍 {actual}，不属于 {team} (inspector {inspector} is in team {actual}, not {team})"
    )]
    NotInTeam {
        inspector: String,
        team: String,
        actual: String,
    },
    #[error(
        "至少需要 {need} 名执法人员，这里只有 {have} 名 (at least {need} inspectors are needed, there are {have})"
    )]
    TooFewInspectors { have: usize, need: usize },
    #[error("截止日期 {due} 早于开始日期 {start} (the due date {due} is before the start {start})")]
    DueBeforeStart { start: Day, due: Day },
    #[error(
        "行业 {0} 还没有一业一册，无法生成检查清单，请先导入 handbooks (industry {0} has no handbook to make the checklist from; import it first)"
    )]
    NoHandbook(String),
    #[error(
        "任务编号 “{0}” 只能由字母、数字和 - 组成，最长 40 个字符 (a task code holds only letters, digits and '-', at most 40)"
    )]
    BadCode(String),
    #[error(
        "任务编号 {0} 已被占用，请换一个或不填由系统生成 (task code {0} is taken; choose another or leave it out)"
    )]
    CodeTaken(String),
    #[error("检查事项 {0} 不在该行业的一业一册中 (item {0} is not in the industry's handbook)")]
    UnknownItem(String),
    #[error("至少要选一个检查事项 (choose at least one item)")]
    NoItems,
    #[error(
        "您既不负责队伍 {0}，也不负责这项任务的任何部门 (you act neither for team {0} nor for any department of this task)"
    )]
    OutOfScope(String),
    #[error(transparent)]
    Task(#[from] TaskError),
    #[error(transparent)]
    Store(StoreError),
}

impl CreateError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadUscc { .. } => "task.bad_uscc",
            Self::UnknownSubject(_) => "task.unknown_subject",
            Self::UnknownTeam(_) => "task.unknown_team",
            Self::UnknownInspector(_) => "task.unknown_inspector",
            Self::NotInTeam { .. } => "task.inspector_not_in_team",
            Self::TooFewInspectors { .. } => "task.too_few_inspectors",
            Self::DueBeforeStart { .. } => "task.bad_window",
            Self::NoHandbook(_) => "task.no_handbook",
            Self::BadCode(_) => "task.bad_code",
            Self::CodeTaken(_) => "task.code_taken",
            Self::UnknownItem(_) => "task.unknown_item",
            Self::NoItems => "task.no_items",
            Self::OutOfScope(_) => "task.out_of_scope",
            Self::Task(e) => e.code().as_str(),
            Self::Store(_) => "task.store",
        }
    }
}

impl From<StoreError> for CreateError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::TaskCodeTaken(code) => Self::CodeTaken(code),
            other => Self::Store(other),
        }
    }
}

/// A fresh random verify code.
pub fn verify_code() -> String {
    let mut rng = rand::rng();
    (0..VERIFY_LEN)
        .map(|_| VERIFY_ALPHABET[rng.random_range(0..VERIFY_ALPHABET.len())] as char)
        .collect()
}

/// The next free generated code of `year`, after the highest number in use.
pub fn next_code(store: &dyn Store, year: i32) -> Result<String, StoreError> {
    let prefix = format!("{CODE_PREFIX}-{year}-");
    let highest = store
        .task_codes(&prefix)?
        .iter()
        .filter_map(|c| c[prefix.len()..].parse::<u64>().ok())
        .max()
        .unwrap_or(0);
    Ok(format!("{prefix}{:06}", highest + 1))
}

/// Keeps only the `chosen` items of a handbook's spec, and the departments
/// they belong to (the lead department moves to the first one left if it
/// has no item any more).
fn narrow(spec: &mut TaskSpec, chosen: &[String]) {
    spec.items.retain(|i| chosen.contains(&i.id));
    let items = &spec.items;
    spec.departments
        .retain(|d| items.iter().any(|i| &i.department == d));
    if !spec.departments.contains(&spec.lead_department) {
        spec.lead_department = spec.departments.first().cloned().unwrap_or_default();
    }
}

fn check_code(code: &str) -> Result<(), CreateError> {
    let ok = !code.is_empty()
        && code.len() <= 40
        && code.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(CreateError::BadCode(code.to_owned()))
    }
}

/// Creates and stores the task `new` asks for, or stores nothing and says why.
pub fn create(store: &dyn Store, new: &NewTask, now: Millis) -> Result<CreatedTask, CreateError> {
    create_within(store, new, None, now)
}

/// [`create`] for someone who acts only for `scope` (`None`: for all): the
/// task must be of one of their teams or include one of their departments.
pub fn create_within(
    store: &dyn Store,
    new: &NewTask,
    scope: Option<&crate::console::Scope>,
    now: Millis,
) -> Result<CreatedTask, CreateError> {
    create_recheck(store, new, scope, None, now)
}

/// [`create_within`], for a re-check task (复查) when `recheck_of` is given:
/// the document carries the finding it follows up from its first change.
pub fn create_recheck(
    store: &dyn Store,
    new: &NewTask,
    scope: Option<&crate::console::Scope>,
    recheck_of: Option<&fieldloop_core::RecheckOf>,
    now: Millis,
) -> Result<CreatedTask, CreateError> {
    if new.due < new.start {
        return Err(CreateError::DueBeforeStart {
            start: new.start,
            due: new.due,
        });
    }
    let mut inspectors: Vec<String> = Vec::new();
    for id in new
        .inspectors
        .iter()
        .map(|i| i.trim())
        .filter(|i| !i.is_empty())
    {
        if !inspectors.iter().any(|i| i == id) {
            inspectors.push(id.to_owned());
        }
    }
    if inspectors.len() < MIN_CHECKED_IN {
        return Err(CreateError::TooFewInspectors {
            have: inspectors.len(),
            need: MIN_CHECKED_IN,
        });
    }
    if let Some(code) = &new.code {
        check_code(code)?;
    }
    let uscc = Uscc::parse(&new.subject).map_err(|error| CreateError::BadUscc {
        value: new.subject.trim().to_owned(),
        error,
    })?;
    let subject = store
        .subject(&uscc)?
        .ok_or_else(|| CreateError::UnknownSubject(uscc.to_string()))?;
    let team = store
        .team(new.team.trim())?
        .ok_or_else(|| CreateError::UnknownTeam(new.team.trim().to_owned()))?;
    let mut people = Vec::with_capacity(inspectors.len());
    for id in &inspectors {
        let inspector = store
            .inspector(id)?
            .ok_or_else(|| CreateError::UnknownInspector(id.clone()))?;
        if inspector.team != team.id {
            return Err(CreateError::NotInTeam {
                inspector: id.clone(),
                team: team.id.clone(),
                actual: inspector.team,
            });
        }
        people.push(inspector);
    }
    let handbook = store
        .handbook(&subject.industry)?
        .ok_or_else(|| CreateError::NoHandbook(subject.industry.clone()))?;
    let mut catalog = Vec::new();
    for id in &handbook.items {
        catalog.extend(store.item(id)?);
    }
    if let Some(items) = &new.items {
        if let Some(unknown) = items.iter().find(|i| !handbook.items.contains(i)) {
            return Err(CreateError::UnknownItem(unknown.clone()));
        }
        if items.is_empty() {
            return Err(CreateError::NoItems);
        }
    }
    let mut departments = Vec::with_capacity(handbook.departments.len());
    for code in &handbook.departments {
        departments.extend(store.department(code)?);
    }
    let names = Names::of(&team.name, &people, &departments);
    let window = Window {
        start: new.start.start_ms(),
        due: new.due.end_ms(),
    };
    let author = Author::new(
        ActorId::from(SERVER_SUPERVISOR_ACTOR),
        new.by.clone(),
        Role::Supervisor,
    );
    let id = uuid::Uuid::new_v4().to_string();
    let verify_code = verify_code();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let code = match &new.code {
            Some(code) => code.clone(),
            None => next_code(store, new.start.year())?,
        };
        let mut spec = TaskSpec::from_handbook(
            id.clone(),
            code.clone(),
            subject.clone(),
            &handbook,
            &catalog,
            team.id.clone(),
            inspectors.clone(),
            window,
            verify_code.clone(),
        )?;
        spec.names = names.clone();
        if let Some(chosen) = &new.items {
            narrow(&mut spec, chosen);
        }
        if let Some(scope) = scope
            && !scope.covers(&team.id, &spec.departments)
        {
            return Err(CreateError::OutOfScope(team.id.clone()));
        }
        crate::claims::sign_spec(store, &mut spec, now)?;
        let mut doc = TaskDoc::create_recheck(spec, &author, now, recheck_of.cloned())?;
        let heads = doc.heads();
        let index = crate::console::TaskIndex::of(doc.automerge())?;
        let write = TaskWrite {
            id: id.clone(),
            team: team.id.clone(),
            doc: doc.save(),
            heads: heads.clone(),
            new_changes: heads,
            added: None,
            append: false,
            flags: Vec::new(),
            index: Some(index),
        };
        let codes = TaskCodes {
            code: code.clone(),
            verify_code: verify_code.clone(),
        };
        match store.insert_task(&write, &codes, SERVER_DEVICE, now) {
            Ok(()) => {
                return Ok(CreatedTask {
                    id,
                    code,
                    verify_code,
                });
            }
            Err(StoreError::TaskCodeTaken(_)) if new.code.is_none() && attempt < CODE_ATTEMPTS => {}
            Err(e) => return Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use fieldloop_core::Status;

    use super::*;
    use crate::store::sqlite::SqliteStore;

    const NOW: Millis = 1_790_000_000_000;

    fn demo_store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("store");
        crate::demo::import_demo(&store).expect("demo data");
        (dir, store)
    }

    fn day(s: &str) -> Day {
        s.parse().expect("day")
    }

    fn request() -> NewTask {
        NewTask {
            subject: "92360736MA36XJ6832".into(),
            team: "T-QX-01".into(),
            inspectors: vec!["I-001".into(), "I-002".into()],
            start: day("2026-12-01"),
            due: day("2026-12-15"),
            code: None,
            by: "S-001".into(),
            items: None,
        }
    }

    #[test]
    fn days_parse_strictly_and_are_beijing_days() {
        assert_eq!(day("2026-12-01").start_ms(), 1_796_054_400_000);
        assert_eq!(day("2024-02-29").start_ms(), 1_709_136_000_000);
        assert_eq!(day("1970-01-01").start_ms(), -28_800_000);
        assert_eq!(day("2000-03-01").start_ms(), 951_840_000_000);
        assert_eq!(day("2026-12-01").end_ms() + 1, day("2026-12-02").start_ms());
        assert_eq!(day(" 2026-12-01 ").to_string(), "2026-12-01");
        for bad in [
            "2026-02-29",
            "2026-13-01",
            "2026-12-00",
            "2026-1-01",
            "26-12-01",
            "2026/12/01",
            "2026-12-01-01",
            "",
            "0000-01-01",
        ] {
            assert!(bad.parse::<Day>().is_err(), "{bad}");
        }
        assert!(day("2026-12-01") < day("2026-12-15"));
    }

    #[test]
    fn verify_codes_are_long_random_and_unambiguous() {
        let a = verify_code();
        let b = verify_code();
        assert_ne!(a, b);
        assert_eq!(a.len(), VERIFY_LEN);
        assert!(a.bytes().all(|c| VERIFY_ALPHABET.contains(&c)));
    }

    #[test]
    fn a_task_is_built_from_the_handbook_and_assigned() {
        let (_dir, store) = demo_store();
        let created = create(&store, &request(), NOW).expect("created");
        assert_eq!(created.code, "JX-2026-000001");
        assert_eq!(created.verify_path(), format!("/v/{}", created.verify_code));
        assert_eq!(
            uuid::Uuid::parse_str(&created.id)
                .expect("uuid")
                .get_version_num(),
            4
        );

        let stored = store.task(&created.id).expect("read").expect("stored");
        assert_eq!(stored.team, "T-QX-01");
        let doc = TaskDoc::load(&stored.doc).expect("document");
        assert_eq!(doc.status().expect("status"), Status::Assigned);
        let task = doc.task().expect("task");
        let handbook = store.handbook("catering").expect("read").expect("handbook");
        assert_eq!(task.code, created.code);
        assert_eq!(task.verify_code, created.verify_code);
        assert_eq!(task.subject.uscc, "92360736MA36XJ6832");
        assert_eq!(task.inspectors, ["I-001", "I-002"]);
        assert_eq!(task.departments, handbook.departments);
        assert_eq!(task.lead_department, handbook.lead_department);
        assert_eq!(task.checklist.len(), handbook.items.len());
        assert_eq!(task.window.start, day("2026-12-01").start_ms());
        assert_eq!(task.window.due, day("2026-12-15").end_ms());
        assert_eq!(task.events[0].by, "S-001");
        assert_eq!(task.events[0].at, NOW);
        let receipts = store.receipts().expect("receipts");
        assert_eq!(crate::store::verify_receipts(&receipts), Ok(1));
        assert_eq!(receipts[0].device_id, SERVER_DEVICE);

        let second = create(&store, &request(), NOW).expect("second");
        assert_eq!(second.code, "JX-2026-000002");
        assert_ne!(second.verify_code, created.verify_code);
        let next_year = NewTask {
            start: day("2027-01-04"),
            due: day("2027-01-04"),
            ..request()
        };
        assert_eq!(
            create(&store, &next_year, NOW).expect("2027").code,
            "JX-2027-000001"
        );
    }

    #[test]
    fn generated_codes_follow_the_highest_in_use() {
        let (_dir, store) = demo_store();
        let given = NewTask {
            code: Some("JX-2026-000041".into()),
            ..request()
        };
        create(&store, &given, NOW).expect("given code");
        let odd = NewTask {
            code: Some("JX-2026-special".into()),
            ..request()
        };
        create(&store, &odd, NOW).expect("odd code");
        assert_eq!(next_code(&store, 2026).expect("next"), "JX-2026-000042");
        assert_eq!(next_code(&store, 2025).expect("next"), "JX-2025-000001");
    }

    #[test]
    fn bad_requests_are_refused_and_store_nothing() {
        let (_dir, store) = demo_store();
        create(
            &store,
            &NewTask {
                code: Some("JX-2026-000007".into()),
                ..request()
            },
            NOW,
        )
        .expect("first task");
        let feed = store.feed_end().expect("feed");
        let cases = [
            (
                NewTask {
                    subject: "92360736MA36XJ6833".into(),
                    ..request()
                },
                "uscc",
            ),
            (
                NewTask {
                    subject: "91350100M000100Y43".into(),
                    ..request()
                },
                "task.unknown_subject",
            ),
            (
                NewTask {
                    team: "T-XX-99".into(),
                    ..request()
                },
                "task.unknown_team",
            ),
            (
                NewTask {
                    inspectors: vec!["I-001".into(), "I-999".into()],
                    ..request()
                },
                "task.unknown_inspector",
            ),
            (
                NewTask {
                    inspectors: vec!["I-001".into(), "I-006".into()],
                    ..request()
                },
                "task.inspector_not_in_team",
            ),
            (
                NewTask {
                    inspectors: vec!["I-001".into(), " I-001".into()],
                    ..request()
                },
                "task.too_few_inspectors",
            ),
            (
                NewTask {
                    due: day("2026-11-30"),
                    ..request()
                },
                "task.bad_window",
            ),
            (
                NewTask {
                    code: Some("JX 2026/1".into()),
                    ..request()
                },
                "task.bad_code",
            ),
            (
                NewTask {
                    code: Some("JX-2026-000007".into()),
                    ..request()
                },
                "task.code_taken",
            ),
        ];
        for (new, code) in cases {
            let err = create(&store, &new, NOW).expect_err(code);
            assert!(err.code().contains(code), "{code}: {} ({err})", err.code());
            assert!(err.to_string().contains('('), "bilingual: {err}");
        }
        assert_eq!(store.feed_end().expect("feed"), feed, "nothing stored");
        assert_eq!(store.receipts().expect("receipts").len(), 1);
    }

    #[test]
    fn a_subject_whose_industry_has_no_handbook_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path()).expect("store");
        let mut data = fieldloop_core::demo::DemoData::embedded().expect("demo");
        data.handbooks.retain(|h| h.industry != "catering");
        crate::import::import(&store, &crate::import::ImportSet::from_demo(&data)).expect("import");
        let err = create(&store, &request(), NOW).expect_err("no handbook");
        assert_eq!(err.code(), "task.no_handbook");
        assert_eq!(store.feed_end().expect("feed"), 0);
    }
}
