//! Signing the record on site, or recording a refusal to sign (拒签).

use automerge::ROOT;
use autosurgeon::{reconcile_insert, reconcile_prop};

use super::edit::child;
use super::{Author, Evidence, EvidenceKind, Millis, NewEvidence, Signature, SignerRole, TaskDoc};
use crate::error::TaskError;

impl TaskDoc {
    /// Records a signature: the image is kept as evidence of kind
    /// `signature` (its bytes stored apart, by hash) and listed under
    /// `signatures` with the signer.
    pub fn sign(
        &mut self,
        author: &Author,
        at: Millis,
        role: SignerRole,
        signer: &str,
        image: NewEvidence,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let signer = signer.trim();
        if signer.is_empty() {
            return Err(TaskError::SignerRequired);
        }
        if crate::blob::BlobId::parse(&image.sha256).is_err() {
            return Err(TaskError::BadHash(image.sha256));
        }
        if self.contains("evidence", &image.sha256)? {
            return Err(TaskError::DuplicateEvidence(image.sha256));
        }
        let evidence = Evidence {
            sha256: image.sha256.clone(),
            kind: EvidenceKind::Signature,
            taken_at: image.taken_at,
            by: author.person.clone(),
            location: image.location,
            caption: Some(signer.to_owned()),
            mime: image.mime,
            bytes: image.bytes,
            thumb_sha256: None,
            display_sha256: None,
            item: None,
            withdrawn_at: None,
            withdrawn_by: None,
            withdrawn_reason: None,
        };
        let signature = Signature {
            role,
            signer: signer.to_owned(),
            image: Some(image.sha256),
            refused_reason: None,
            by: author.person.clone(),
            at,
        };
        let index = self.len_of("signatures")?;
        self.change(author, at, format!("{signer} 签名"), |doc| {
            let map = child(doc, &ROOT, "evidence")?;
            reconcile_prop(doc, &map, evidence.sha256.as_str(), &evidence)?;
            let list = child(doc, &ROOT, "signatures")?;
            reconcile_insert(doc, list.clone(), index, &signature)?;
            Ok(())
        })
    }

    /// Records that `signer` refused to sign (拒签), and why.
    pub fn refuse_to_sign(
        &mut self,
        author: &Author,
        at: Millis,
        role: SignerRole,
        signer: &str,
        reason: &str,
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        let (signer, reason) = (signer.trim(), reason.trim());
        if signer.is_empty() {
            return Err(TaskError::SignerRequired);
        }
        if reason.is_empty() {
            return Err(TaskError::ReasonRequired);
        }
        let signature = Signature {
            role,
            signer: signer.to_owned(),
            image: None,
            refused_reason: Some(reason.to_owned()),
            by: author.person.clone(),
            at,
        };
        let index = self.len_of("signatures")?;
        self.change(
            author,
            at,
            format!("{signer} 拒绝签名：{reason}"),
            |doc| {
                let list = child(doc, &ROOT, "signatures")?;
                reconcile_insert(doc, list.clone(), index, &signature)?;
                Ok(())
            },
        )
    }
}
