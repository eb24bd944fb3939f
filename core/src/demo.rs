//! The demo data set shipped in `assets/demo/` (a fictional county in
//! Jiangxi with its departments, squads, inspectors, 200 businesses, the
//! item catalog and one handbook per industry), and a deterministic way to
//! turn it into tasks for demos, tests and benchmarks.

use sha2::{Digest, Sha256};

use crate::domain::{Department, Handbook, Industry, Inspector, Item, Subject, Team, TeamKind};
use crate::error::TaskError;
use crate::task::{Millis, Names, TaskSpec, Window};

const DAY: Millis = 86_400_000;

/// Everything in `assets/demo/`.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    pub departments: Vec<Department>,
    pub industries: Vec<Industry>,
    pub teams: Vec<Team>,
    pub inspectors: Vec<Inspector>,
    pub subjects: Vec<Subject>,
    pub items: Vec<Item>,
    pub handbooks: Vec<Handbook>,
}

/// A reference in the demo data that does not resolve, or a file that does not parse.
#[derive(Debug, thiserror::Error)]
pub enum DemoDataError {
    #[error("assets/demo/{file}: {source}")]
    Parse {
        file: &'static str,
        source: serde_json::Error,
    },
    #[error("assets/demo: {0}")]
    Reference(String),
}

fn parse<T: serde::de::DeserializeOwned>(
    file: &'static str,
    text: &str,
) -> Result<T, DemoDataError> {
    serde_json::from_str(text).map_err(|source| DemoDataError::Parse { file, source })
}

impl DemoData {
    /// The data set compiled into the binary.
    pub fn embedded() -> Result<Self, DemoDataError> {
        let data = Self {
            departments: parse(
                "departments.json",
                include_str!("../../assets/demo/departments.json"),
            )?,
            industries: parse(
                "industries.json",
                include_str!("../../assets/demo/industries.json"),
            )?,
            teams: parse("teams.json", include_str!("../../assets/demo/teams.json"))?,
            inspectors: parse(
                "inspectors.json",
                include_str!("../../assets/demo/inspectors.json"),
            )?,
            subjects: parse(
                "subjects.json",
                include_str!("../../assets/demo/subjects.json"),
            )?,
            items: parse("items.json", include_str!("../../assets/demo/items.json"))?,
            handbooks: parse(
                "handbooks.json",
                include_str!("../../assets/demo/handbooks.json"),
            )?,
        };
        data.check_references()?;
        Ok(data)
    }

    /// Checks that every code and id the data refers to exists.
    pub fn check_references(&self) -> Result<(), DemoDataError> {
        let dept = |c: &str| self.departments.iter().any(|d| d.code == c);
        let industry = |c: &str| self.industries.iter().any(|i| i.code == c);
        let bad = |what: String| Err(DemoDataError::Reference(what));
        for t in &self.teams {
            if let Some(d) = t.departments.iter().find(|d| !dept(d)) {
                return bad(format!("team {} names unknown department {d}", t.id));
            }
        }
        for i in &self.inspectors {
            if !dept(&i.department) || !self.teams.iter().any(|t| t.id == i.team) {
                return bad(format!(
                    "inspector {} has an unknown department or team",
                    i.id
                ));
            }
        }
        for s in &self.subjects {
            if !industry(&s.industry) {
                return bad(format!(
                    "subject {} has unknown industry {}",
                    s.uscc, s.industry
                ));
            }
        }
        for i in &self.items {
            if !dept(&i.department) || i.industries.iter().any(|c| !industry(c)) {
                return bad(format!(
                    "item {} names an unknown department or industry",
                    i.id
                ));
            }
        }
        for h in &self.handbooks {
            if !industry(&h.industry) || !h.departments.contains(&h.lead_department) {
                return bad(format!(
                    "handbook {} has an unknown industry or lead",
                    h.industry
                ));
            }
            for id in &h.items {
                match self.items.iter().find(|i| &i.id == id) {
                    Some(item) if h.departments.contains(&item.department) => {}
                    _ => {
                        return bad(format!(
                            "handbook {} lists item {id} outside its departments",
                            h.industry
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    pub fn handbook(&self, industry: &str) -> Option<&Handbook> {
        self.handbooks.iter().find(|h| h.industry == industry)
    }

    /// `count` task specs for the township squad, deterministic for a given
    /// `now`: subjects taken in a fixed stride, riskier classes first, two or
    /// three squad members each, windows spread around `now`.
    pub fn task_specs(&self, count: usize, now: Millis) -> Result<Vec<TaskSpec>, TaskError> {
        let squad = self
            .teams
            .iter()
            .find(|t| t.kind == TeamKind::TownshipSquad)
            .ok_or_else(|| TaskError::DemoData("no township squad".into()))?;
        let members: Vec<&Inspector> = self
            .inspectors
            .iter()
            .filter(|i| i.team == squad.id)
            .collect();
        if members.len() < 2 || self.subjects.is_empty() {
            return Err(TaskError::DemoData(
                "it needs two squad members and subjects".into(),
            ));
        }
        let mut subjects: Vec<&Subject> = self.subjects.iter().collect();
        subjects.sort_by(|a, b| b.risk_class.cmp(&a.risk_class).then(a.uscc.cmp(&b.uscc)));
        (0..count)
            .map(|n| {
                let subject = subjects[(n * 7) % subjects.len()].clone();
                let handbook = self.handbook(&subject.industry).ok_or_else(|| {
                    TaskError::DemoData(format!("no handbook for {}", subject.industry))
                })?;
                let size = 2 + n % 2;
                let inspectors = (0..size)
                    .map(|k| members[(n + k) % members.len()].id.clone())
                    .collect();
                let start = now - (n as Millis % 10) * DAY;
                let window = Window {
                    start,
                    due: start + (5 + (n as Millis * 3) % 20) * DAY,
                };
                let digest = Sha256::digest(format!("fieldloop-demo-task-{n}"));
                let hex = hex::encode(digest);
                let id = format!(
                    "{}-{}-4{}-8{}-{}",
                    &hex[0..8],
                    &hex[8..12],
                    &hex[13..16],
                    &hex[17..20],
                    &hex[20..32]
                );
                let mut spec = TaskSpec::from_handbook(
                    id,
                    format!("JX-2026-{:06}", n + 1),
                    subject,
                    handbook,
                    &self.items,
                    squad.id.clone(),
                    inspectors,
                    window,
                    hex[32..56].to_owned(),
                )?;
                spec.names = self.names_for(&spec);
                Ok(spec)
            })
            .collect()
    }

    /// The names of a spec's team, inspectors and departments in the demo
    /// data (a team it does not have is named by its id).
    pub fn names_for(&self, spec: &TaskSpec) -> Names {
        let team = self.teams.iter().find(|t| t.id == spec.team);
        Names::of(
            team.map_or(spec.team.as_str(), |t| t.name.as_str()),
            self.inspectors
                .iter()
                .filter(|i| spec.inspectors.contains(&i.id)),
            self.departments
                .iter()
                .filter(|d| spec.departments.contains(&d.code)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn embedded_data_parses_and_references_resolve() {
        let data = DemoData::embedded().expect("demo data");
        assert_eq!(data.subjects.len(), 200);
        let usccs: HashSet<_> = data.subjects.iter().map(|s| s.uscc.as_str()).collect();
        assert_eq!(usccs.len(), 200, "USCCs are unique");
        assert!(data.inspectors.len() >= 10);
        for industry in &data.industries {
            assert!(
                data.handbook(&industry.code).is_some(),
                "handbook for {}",
                industry.code
            );
        }
        for class in crate::RiskClass::ALL {
            assert!(
                data.subjects.iter().any(|s| s.risk_class == class),
                "class {class} present"
            );
        }
    }

    #[test]
    fn task_specs_are_deterministic_and_valid() {
        let data = DemoData::embedded().expect("demo data");
        let a = data.task_specs(30, 1_780_000_000_000).expect("specs");
        let b = data.task_specs(30, 1_780_000_000_000).expect("specs");
        assert_eq!(a, b);
        let ids: HashSet<_> = a.iter().map(|s| s.id.clone()).collect();
        assert_eq!(ids.len(), 30);
        assert!(
            a.iter()
                .all(|s| s.inspectors.len() >= 2 && !s.items.is_empty())
        );
        assert!(
            a.iter().any(|s| s.departments.len() > 1),
            "joint tasks exist"
        );
    }
}
