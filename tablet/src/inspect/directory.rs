//! Names of departments and inspectors.

use super::*;

/// Names of departments and inspectors. The tablet ships the directory of
/// the bundled data; codes it does not know are shown as they are.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    departments: Vec<DepartmentRef>,
    inspectors: Vec<(String, String)>,
    teams: Vec<(String, String)>,
}

impl Directory {
    /// The directory of the bundled data.
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
