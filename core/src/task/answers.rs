//! Answering checklist items.

use automerge::ROOT;
use autosurgeon::reconcile_prop;

use super::edit::child;
use super::{Author, Millis, Outcome, TaskDoc};
use crate::error::TaskError;

impl TaskDoc {
    /// Records the answer to a checklist item. `None` fields are left as they are.
    pub fn record_answer(
        &mut self,
        author: &Author,
        at: Millis,
        item_id: &str,
        result: Option<Outcome>,
        value: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if !self.contains("checklist", item_id)? {
            return Err(TaskError::UnknownItem(item_id.to_owned()));
        }
        let summary = match result {
            Some(Outcome::Pass) => "合格",
            Some(Outcome::Fail) => "不合格",
            Some(Outcome::NotApplicable) => "不涉及",
            None => "备注",
        };
        let message = format!("检查项 {item_id}：{summary}");
        self.change(author, at, message, |doc| {
            let checklist = child(doc, &ROOT, "checklist")?;
            let item = child(doc, &checklist, item_id)?;
            let answer = child(doc, &item, "answer")?;
            if let Some(r) = result {
                reconcile_prop(doc, &answer, "result", Some(r))?;
            }
            if let Some(v) = value {
                reconcile_prop(doc, &answer, "value", Some(v))?;
            }
            if let Some(n) = note {
                reconcile_prop(doc, &answer, "note", Some(n))?;
            }
            Ok(())
        })
    }
}
