//! Findings (with rectification orders) and case leads handed to other
//! departments.

use automerge::ROOT;
use autosurgeon::reconcile_insert;

use super::edit::child;
use super::{Author, Finding, LeadTransfer, Millis, TaskDoc};
use crate::error::TaskError;

impl TaskDoc {
    /// Records a finding, with a rectification order if one was issued.
    pub fn add_finding(
        &mut self,
        author: &Author,
        at: Millis,
        mut finding: Finding,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if finding.description.trim().is_empty() {
            return Err(TaskError::FindingWithoutDescription);
        }
        if let Some(item) = &finding.item_id
            && !self.contains("checklist", item)?
        {
            return Err(TaskError::UnknownItem(item.clone()));
        }
        if finding.rectification_order.is_some() != finding.rectification_deadline.is_some() {
            return Err(TaskError::RectificationIncomplete);
        }
        finding.by = author.person.clone();
        finding.at = at;
        let message = match &finding.rectification_order {
            Some(_) => format!("记录问题并责令整改：{}", finding.description),
            None => format!("记录问题：{}", finding.description),
        };
        let index = self.len_of("findings")?;
        self.change(author, at, message, |doc| {
            let list = child(doc, &ROOT, "findings")?;
            reconcile_insert(doc, list.clone(), index, &finding)?;
            Ok(())
        })
    }

    /// Hands a case lead to another department (移送).
    pub fn add_lead_transfer(
        &mut self,
        author: &Author,
        at: Millis,
        mut transfer: LeadTransfer,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if transfer.summary.trim().is_empty() || transfer.to_department.trim().is_empty() {
            return Err(TaskError::TransferIncomplete);
        }
        transfer.by = author.person.clone();
        transfer.at = at;
        let message = if transfer.criminal {
            format!("移送 {}（行刑衔接）", transfer.to_department)
        } else {
            format!("移送 {}", transfer.to_department)
        };
        let index = self.len_of("lead_transfers")?;
        self.change(author, at, message, |doc| {
            let list = child(doc, &ROOT, "lead_transfers")?;
            reconcile_insert(doc, list.clone(), index, &transfer)?;
            Ok(())
        })
    }
}
