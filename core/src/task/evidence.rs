//! Evidence: attaching it, captioning it, withdrawing it.

use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc};
use autosurgeon::reconcile_prop;

use super::edit::child;
use super::{Author, Evidence, Millis, NewEvidence, TaskDoc};
use crate::error::TaskError;

/// An evidence key as a blob id: keys come from other devices too, and are
/// never sliced or used as text before they are known to be 64 hex digits.
fn evidence_key(key: &str) -> Result<crate::blob::BlobId, TaskError> {
    crate::blob::BlobId::parse(key).map_err(|_| TaskError::BadHash(key.chars().take(80).collect()))
}

impl TaskDoc {
    /// Attaches evidence (its bytes are stored apart, by hash).
    pub fn add_evidence(
        &mut self,
        author: &Author,
        at: Millis,
        new: NewEvidence,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        for sha in [
            Some(&new.sha256),
            new.thumb_sha256.as_ref(),
            new.display_sha256.as_ref(),
        ]
        .into_iter()
        .flatten()
        {
            if crate::blob::BlobId::parse(sha).is_err() {
                return Err(TaskError::BadHash(sha.clone()));
            }
        }
        if let Some(item) = &new.item
            && !self.contains("checklist", item)?
        {
            return Err(TaskError::UnknownItem(item.clone()));
        }
        if self.contains("evidence", &new.sha256)? {
            return Err(TaskError::DuplicateEvidence(new.sha256));
        }
        let evidence = Evidence {
            sha256: new.sha256.clone(),
            kind: new.kind,
            taken_at: new.taken_at,
            by: author.person.clone(),
            location: new.location,
            caption: new.caption,
            mime: new.mime,
            bytes: new.bytes,
            thumb_sha256: new.thumb_sha256,
            display_sha256: new.display_sha256,
            item: new.item.clone(),
            withdrawn_at: None,
            withdrawn_by: None,
            withdrawn_reason: None,
        };
        let short = &new.sha256[..12];
        let message = match &new.item {
            Some(item) => format!("添加证据 {short}（检查项 {item}）"),
            None => format!("添加证据 {short}"),
        };
        self.change(author, at, message, |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            reconcile_prop(doc, &map, evidence.sha256.as_str(), &evidence)?;
            if let Some(item) = &new.item {
                let checklist = child(doc, &ROOT, "checklist")?;
                let item = child(doc, &checklist, item)?;
                let list = child(doc, &item, "evidence")?;
                let len = doc.length(&list);
                doc.insert(&list, len, evidence.sha256.as_str())?;
            }
            Ok(())
        })
    }

    /// Sets or clears the caption of a piece of evidence.
    pub fn set_caption(
        &mut self,
        author: &Author,
        at: Millis,
        sha256: &str,
        caption: &str,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let id = evidence_key(sha256)?;
        if !self.contains("evidence", sha256)? {
            return Err(TaskError::UnknownEvidence(sha256.to_owned()));
        }
        let message = format!("修改证据说明 {}", &id.to_hex()[..12]);
        self.change(author, at, message, |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            let ev = child(doc, &map, sha256)?;
            reconcile_prop(doc, &ev, "caption", Some(caption))?;
            Ok(())
        })
    }

    /// Withdraws evidence: it stays in the record but no longer counts.
    pub fn withdraw_evidence(
        &mut self,
        author: &Author,
        at: Millis,
        sha256: &str,
        reason: &str,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let id = evidence_key(sha256)?;
        if !self.contains("evidence", sha256)? {
            return Err(TaskError::UnknownEvidence(sha256.to_owned()));
        }
        if reason.trim().is_empty() {
            return Err(TaskError::ReasonRequired);
        }
        let message = format!("撤回证据 {}：{reason}", &id.to_hex()[..12]);
        self.change(author, at, message, |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            let ev = child(doc, &map, sha256)?;
            reconcile_prop(doc, &ev, "withdrawn_at", Some(at))?;
            reconcile_prop(doc, &ev, "withdrawn_by", Some(author.person.as_str()))?;
            reconcile_prop(doc, &ev, "withdrawn_reason", Some(reason))?;
            Ok(())
        })
    }
}
