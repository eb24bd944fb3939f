//! Names of departments and inspectors.

use super::DepartmentRef;
use crate::Names;
#[cfg(feature = "demo")]
use crate::demo::DemoData;

/// Names of departments, inspectors and teams. A task carries the names the
/// server wrote into it ([`Names`]), which come first; a demo build also
/// ships the directory of the bundled demo data; codes nobody names are
/// shown as they are.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    departments: Vec<DepartmentRef>,
    inspectors: Vec<(String, String)>,
    teams: Vec<(String, String)>,
}

impl Directory {
    /// This directory with the names a task carries in front.
    pub fn with_names(&self, names: Option<&Names>) -> Self {
        let Some(names) = names else {
            return self.clone();
        };
        let mut directory = Self {
            departments: names
                .departments
                .iter()
                .map(|(code, n)| DepartmentRef {
                    code: code.clone(),
                    name: n.name.clone(),
                    name_en: n.name_en.clone(),
                })
                .collect(),
            inspectors: names
                .inspectors
                .iter()
                .map(|(id, name)| (id.clone(), name.clone()))
                .collect(),
            teams: Vec::new(),
        };
        directory
            .departments
            .extend(self.departments.iter().cloned());
        directory.inspectors.extend(self.inspectors.iter().cloned());
        directory.teams.extend(self.teams.iter().cloned());
        directory
    }

    /// The directory a server sent.
    pub fn from_snapshot(snapshot: &crate::sync::DirectorySnapshot) -> Self {
        Self {
            departments: snapshot
                .departments
                .iter()
                .map(|d| DepartmentRef {
                    code: d.code.clone(),
                    name: d.name.clone(),
                    name_en: d.name_en.clone(),
                })
                .collect(),
            inspectors: snapshot
                .inspectors
                .iter()
                .map(|p| (p.id.clone(), p.name.clone()))
                .collect(),
            teams: snapshot
                .teams
                .iter()
                .map(|t| (t.id.clone(), t.name.clone()))
                .collect(),
        }
    }

    /// This directory, with `fallback`'s names for whatever it does not name.
    pub fn or(mut self, fallback: &Directory) -> Self {
        self.departments
            .extend(fallback.departments.iter().cloned());
        self.inspectors.extend(fallback.inspectors.iter().cloned());
        self.teams.extend(fallback.teams.iter().cloned());
        self
    }

    /// Every department named, once each, in the order they are listed.
    pub fn departments(&self) -> Vec<DepartmentRef> {
        let mut seen = std::collections::HashSet::new();
        self.departments
            .iter()
            .filter(|d| seen.insert(d.code.as_str()))
            .cloned()
            .collect()
    }

    /// The name of an inspector, if this directory has one.
    pub fn find_inspector(&self, id: &str) -> Option<&str> {
        self.inspectors
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, name)| name.as_str())
    }

    /// The directory of the bundled demo data.
    #[cfg(feature = "demo")]
    pub fn bundled() -> Self {
        match DemoData::embedded() {
            Ok(data) => Self {
                departments: data
                    .departments
                    .into_iter()
                    .map(|d| DepartmentRef {
                        code: d.code,
                        name: d.name,
                        name_en: d.name_en,
                    })
                    .collect(),
                inspectors: data
                    .inspectors
                    .into_iter()
                    .map(|i| (i.id, i.name))
                    .collect(),
                teams: data.teams.into_iter().map(|t| (t.id, t.name)).collect(),
            },
            Err(_) => Self::default(),
        }
    }

    pub fn department(&self, code: &str) -> DepartmentRef {
        self.departments
            .iter()
            .find(|d| d.code == code)
            .cloned()
            .unwrap_or_else(|| DepartmentRef {
                code: code.to_owned(),
                name: code.to_owned(),
                name_en: code.to_owned(),
            })
    }

    pub fn team_name(&self, id: &str) -> Option<String> {
        self.teams
            .iter()
            .find(|(t, _)| t == id)
            .map(|(_, name)| name.clone())
    }

    pub fn inspector_name(&self, id: &str) -> String {
        self.inspectors
            .iter()
            .find(|(i, _)| i == id)
            .map_or_else(|| id.to_owned(), |(_, name)| name.clone())
    }
}
