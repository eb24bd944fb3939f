//! Checks across rows: duplicates, and references resolved against the
//! set first, then the store.

use super::*;

/// Reports every row whose key an earlier row already has.
pub(super) fn duplicates<T: Record>(rows: &[Row<T>], report: &mut impl FnMut(&Origin, DataError)) {
    let mut seen: HashMap<String, &Origin> = HashMap::new();
    for row in rows {
        let key = row.value.key();
        if let Some(first) = seen.get(&key) {
            report(
                &row.origin,
                DataError::Duplicate {
                    key: format!("{} {key}", T::KEY),
                    first: (*first).clone(),
                },
            );
        } else {
            seen.insert(key, &row.origin);
        }
    }
}

/// Whether a referenced row exists.
pub(super) enum Found<T> {
    Yes(T),
    /// In the files but unreadable: already reported.
    Unreadable,
    No,
}

/// Resolves references against the set first, then the store (cached).
pub(super) struct References<'a> {
    set: &'a ImportSet,
    store: &'a dyn Store,
    departments: HashSet<&'a str>,
    industries: HashSet<&'a str>,
    teams: HashMap<&'a str, &'a Team>,
    items: HashMap<&'a str, &'a Item>,
    stored_codes: HashMap<(Kind, String), bool>,
    stored_teams: HashMap<String, Option<Team>>,
    stored_items: HashMap<String, Option<Item>>,
}

impl<'a> References<'a> {
    pub(super) fn new(set: &'a ImportSet, store: &'a dyn Store) -> Self {
        Self {
            set,
            store,
            departments: set
                .departments
                .iter()
                .map(|r| r.value.code.as_str())
                .collect(),
            industries: set
                .industries
                .iter()
                .map(|r| r.value.code.as_str())
                .collect(),
            teams: set
                .teams
                .iter()
                .map(|r| (r.value.id.as_str(), &r.value))
                .collect(),
            items: set
                .items
                .iter()
                .map(|r| (r.value.id.as_str(), &r.value))
                .collect(),
            stored_codes: HashMap::new(),
            stored_teams: HashMap::new(),
            stored_items: HashMap::new(),
        }
    }

    fn unreadable(&self, kind: Kind, key: &str) -> bool {
        self.set.unreadable.contains(&(kind, key.to_owned()))
    }

    pub(super) fn unknown(&self, kind: Kind, value: &str) -> DataError {
        DataError::Unknown {
            kind,
            value: value.to_owned(),
        }
    }

    /// Reports `value` unless a department or industry (per `kind`) has
    /// that code; whether one has (or is in the files but unreadable).
    pub(super) fn require(
        &mut self,
        kind: Kind,
        value: &str,
        origin: &Origin,
        report: &mut impl FnMut(&Origin, DataError),
    ) -> Result<bool, StoreError> {
        let in_set = match kind {
            Kind::Departments => self.departments.contains(value),
            _ => self.industries.contains(value),
        };
        if in_set || self.unreadable(kind, value) {
            return Ok(true);
        }
        let key = (kind, value.to_owned());
        let stored = match self.stored_codes.get(&key) {
            Some(&known) => known,
            None => {
                let known = match kind {
                    Kind::Departments => self.store.department(value)?.is_some(),
                    _ => self.store.industry(value)?.is_some(),
                };
                self.stored_codes.insert(key, known);
                known
            }
        };
        if !stored {
            report(origin, self.unknown(kind, value));
        }
        Ok(stored)
    }

    pub(super) fn team(&mut self, id: &str) -> Result<Found<Team>, StoreError> {
        if let Some(team) = self.teams.get(id) {
            return Ok(Found::Yes((*team).clone()));
        }
        if self.unreadable(Kind::Teams, id) {
            return Ok(Found::Unreadable);
        }
        if !self.stored_teams.contains_key(id) {
            let team = self.store.team(id)?;
            self.stored_teams.insert(id.to_owned(), team);
        }
        Ok(match self.stored_teams.get(id) {
            Some(Some(team)) => Found::Yes(team.clone()),
            _ => Found::No,
        })
    }

    pub(super) fn item(&mut self, id: &str) -> Result<Found<Item>, StoreError> {
        if let Some(item) = self.items.get(id) {
            return Ok(Found::Yes((*item).clone()));
        }
        if self.unreadable(Kind::Items, id) {
            return Ok(Found::Unreadable);
        }
        if !self.stored_items.contains_key(id) {
            let item = self.store.item(id)?;
            self.stored_items.insert(id.to_owned(), item);
        }
        Ok(match self.stored_items.get(id) {
            Some(Some(item)) => Found::Yes(item.clone()),
            _ => Found::No,
        })
    }
}
