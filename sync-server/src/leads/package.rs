//! The evidence package of a criminal lead (行刑衔接): one ZIP the judicial
//! side can check offline with `fieldloop-server package verify`.
//!
//! ```text
//! manifest.json      format, lead and task ids, created at/by, the receipt
//!                    chain's head, and every other file with its SHA-256 and size
//! manifest.sha256    SHA-256 (hex) of manifest.json's bytes
//! lead.json          the lead and its events
//! record.json        the task's record as the console shows it
//! record.pdf         the 现场检查笔录, when the server has a printer configured
//! history.json       every change of the task: who, device time, what, and
//!                    the server's receipt (device, server time)
//! receipts.json      the receipt log from the task's first entry to the head:
//!                    the task's entries whole, others as seq/prev/hash only
//! evidence/<sha256>  every evidence file of the task and attachment of the
//!                    lead that the server holds (the rest listed as missing)
//! ```
//!
//! Entries are in name order with a fixed timestamp (1980-01-01) and
//! permissions, so the same contents give the same bytes.

use std::collections::BTreeMap;
use std::io::{Read, Seek, Write};

use fieldloop_core::record::{Directory, build_record};
use fieldloop_core::{Millis, TaskDoc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Lead, RecordPrinter};
use crate::blobs::Blobs;
use crate::store::{Receipt, Store, StoreError};

/// The package's format, named in its manifest.
pub const FORMAT: &str = "fieldloop-evidence-package/1";
/// The largest package the server builds (it is built in memory).
pub const MAX_PACKAGE_BYTES: u64 = 1 << 30;
/// The largest package file `package verify` reads.
pub const MAX_VERIFY_BYTES: u64 = 4 << 30;
/// The most entries a package may hold (verify refuses more).
pub const MAX_PACKAGE_ENTRIES: usize = 10_000;
/// The largest single entry, unpacked (a blob is at most 200 MiB).
pub const MAX_ENTRY_BYTES: u64 = 256 << 20;
/// The most bytes all entries may unpack to (zip bombs).
pub const MAX_UNPACKED_BYTES: u64 = 8 << 30;
/// The most receipt-log entries a package carries.
pub const MAX_PACKAGE_RECEIPTS: usize = 1_000_000;

/// One file of the package as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    pub path: String,
    pub sha256: String,
    pub size: u64,
}

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub lead: String,
    pub task: Option<String>,
    pub task_code: Option<String>,
    pub created_at: Millis,
    pub created_by: String,
    /// Hash of the receipt log's last entry when the package was built.
    pub receipt_chain_head: Option<String>,
    pub receipt_chain_seq: Option<i64>,
    /// Every file but the manifest and its hash, in name order.
    pub files: Vec<ManifestFile>,
    /// Evidence listed by the task or lead that the server does not hold (not uploaded yet).
    pub missing_evidence: Vec<String>,
}

/// One receipt-log entry in `receipts.json`: whole when it covers the task,
/// else only what links the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagedReceipt {
    pub seq: i64,
    pub prev: String,
    pub hash: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<i64>,
}

/// `receipts.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackagedReceipts {
    pub task: Option<String>,
    pub head: Option<String>,
    pub entries: Vec<PackagedReceipt>,
}

/// One change of the task in `history.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryLine {
    #[serde(flatten)]
    pub entry: fieldloop_core::HistoryEntry,
    pub received_by: Option<String>,
    pub received_at: Option<i64>,
}

/// Why no package was built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(
        "证据包将超过 {0} 字节，或收据日志过长 (the package would be over {0} bytes, or the receipt log too long)"
    )]
    TooLarge(u64),
    #[error("任务 {0} 无法读取 (task {0} cannot be read): {1}")]
    Task(String, String),
    #[error("无法写入证据包 (cannot write the package): {0}")]
    Zip(String),
    #[error("无法读取证据文件 {0} (cannot read evidence {0}): {1}")]
    Blob(String, String),
}

fn json_bytes<T: Serialize>(value: &T) -> Result<Vec<u8>, BuildError> {
    serde_json::to_vec_pretty(value).map_err(|e| BuildError::Zip(e.to_string()))
}

fn sha_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The task a lead's package is about: the one it was transferred from, else
/// the latest one started from it.
fn task_of(lead: &Lead) -> Option<&String> {
    lead.source_task.as_ref().or(lead.tasks.last())
}

/// Builds the package of `lead` (the caller checked that it is criminal).
pub fn build(
    store: &dyn Store,
    blobs: &Blobs,
    printer: Option<&dyn RecordPrinter>,
    lead: &Lead,
    by: &str,
    now: Millis,
) -> Result<Vec<u8>, BuildError> {
    let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let events = store.lead_events(&lead.id)?;
    files.insert(
        "lead.json".into(),
        json_bytes(&serde_json::json!({ "lead": lead, "events": events }))?,
    );
    let mut evidence: Vec<String> = lead.attachments.clone();
    let mut task_code = None;
    let task_id = task_of(lead).cloned();
    let mut receipts = PackagedReceipts {
        task: task_id.clone(),
        head: None,
        entries: Vec::new(),
    };
    let mut head_seq = None;
    if let Some(id) = &task_id {
        let stored = store
            .task(id)?
            .ok_or_else(|| BuildError::Task(id.clone(), "not on the server".into()))?;
        let bad = |e: &dyn std::fmt::Display| BuildError::Task(id.clone(), e.to_string());
        let mut doc = TaskDoc::load(&stored.doc).map_err(|e| bad(&e))?;
        let task = doc.task().map_err(|e| bad(&e))?;
        task_code = Some(task.code.clone());
        for e in task.evidence.values() {
            if !evidence.contains(&e.sha256) {
                evidence.push(e.sha256.clone());
            }
        }
        let record =
            build_record(&mut doc, &Directory::default(), None, "").map_err(|e| bad(&e))?;
        files.insert("record.json".into(), json_bytes(&record)?);
        if let Some(printer) = printer {
            let pdf = printer
                .record_pdf(&task)
                .map_err(|e| BuildError::Task(id.clone(), e))?;
            files.insert("record.pdf".into(), pdf);
        }
        let span = store
            .receipts_since_task(id, MAX_PACKAGE_RECEIPTS)?
            .ok_or(BuildError::TooLarge(MAX_PACKAGE_BYTES))?;
        let mut times: std::collections::HashMap<&str, &Receipt> = span
            .iter()
            .filter(|r| &r.task_id == id)
            .map(|r| (r.change_hash.as_str(), r))
            .collect();
        let history: Vec<HistoryLine> = doc
            .history()
            .map_err(|e| bad(&e))?
            .into_iter()
            .map(|entry| {
                let receipt = times.remove(entry.hash.as_str());
                HistoryLine {
                    received_by: receipt.map(|r| r.device_id.clone()),
                    received_at: receipt.map(|r| r.received_at),
                    entry,
                }
            })
            .collect();
        files.insert("history.json".into(), json_bytes(&history)?);
        receipts.head = span.last().map(|r| r.hash.clone());
        head_seq = span.last().map(|r| r.seq);
        receipts.entries = span
            .into_iter()
            .map(|r| {
                let whole = &r.task_id == id;
                PackagedReceipt {
                    seq: r.seq,
                    prev: r.prev,
                    hash: r.hash,
                    change_hash: whole.then_some(r.change_hash),
                    task_id: whole.then_some(r.task_id),
                    device_id: whole.then_some(r.device_id),
                    received_at: whole.then_some(r.received_at),
                }
            })
            .collect();
    }
    files.insert("receipts.json".into(), json_bytes(&receipts)?);
    let mut missing = Vec::new();
    let mut total: u64 = files.values().map(|f| f.len() as u64).sum();
    for sha in evidence {
        let Ok(blob) = fieldloop_core::blob::BlobId::parse(&sha) else {
            missing.push(sha);
            continue;
        };
        // Called on a blocking thread (the console's handler): the blob
        // store is asked from here and its answer awaited.
        let read = tokio::runtime::Handle::current()
            .block_on(blobs.read(&blob, MAX_PACKAGE_BYTES.saturating_sub(total)))
            .map_err(|e| BuildError::Blob(sha.clone(), e.to_string()))?;
        let bytes = match read {
            None => {
                missing.push(sha);
                continue;
            }
            Some(Err(_too_long)) => return Err(BuildError::TooLarge(MAX_PACKAGE_BYTES)),
            Some(Ok(bytes)) => bytes,
        };
        total += bytes.len() as u64;
        if total > MAX_PACKAGE_BYTES {
            return Err(BuildError::TooLarge(MAX_PACKAGE_BYTES));
        }
        files.insert(format!("evidence/{sha}"), bytes);
    }
    missing.sort();
    let manifest = Manifest {
        format: FORMAT.into(),
        lead: lead.id.clone(),
        task: task_id,
        task_code,
        created_at: now,
        created_by: by.to_owned(),
        receipt_chain_head: receipts.head.clone(),
        receipt_chain_seq: head_seq,
        files: files
            .iter()
            .map(|(path, bytes)| ManifestFile {
                path: path.clone(),
                sha256: sha_hex(bytes),
                size: bytes.len() as u64,
            })
            .collect(),
        missing_evidence: missing,
    };
    let manifest_bytes = json_bytes(&manifest)?;
    files.insert(
        "manifest.sha256".into(),
        sha_hex(&manifest_bytes).into_bytes(),
    );
    files.insert("manifest.json".into(), manifest_bytes);
    write_zip(&files)
}

/// The ZIP of `files`, in name order, deterministic.
pub fn write_zip(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, BuildError> {
    use zip::write::SimpleFileOptions;
    let zip_error = |e: &dyn std::fmt::Display| BuildError::Zip(e.to_string());
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, bytes) in files {
        // Evidence (photos, audio) is compressed already.
        let method = if name.starts_with("evidence/") || name.ends_with(".pdf") {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = SimpleFileOptions::default()
            .compression_method(method)
            .last_modified_time(zip::DateTime::DEFAULT)
            .unix_permissions(0o644);
        writer
            .start_file(name.as_str(), options)
            .map_err(|e| zip_error(&e))?;
        writer.write_all(bytes).map_err(|e| zip_error(&e))?;
    }
    Ok(writer.finish().map_err(|e| zip_error(&e))?.into_inner())
}

/// The first thing wrong with a package.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Mismatch {
    #[error("not a ZIP file, or a damaged one: {0}")]
    NotZip(String),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("{0} is missing")]
    Missing(String),
    #[error("{path} is damaged in the ZIP (altered?): {reason}")]
    Damaged { path: String, reason: String },
    #[error("manifest.json does not match manifest.sha256 (the manifest was altered)")]
    ManifestAltered,
    #[error("manifest.json cannot be read: {0}")]
    BadManifest(String),
    #[error("{path}: SHA-256 {found} does not match the manifest's {expected}")]
    Hash {
        path: String,
        expected: String,
        found: String,
    },
    #[error("{path}: {found} bytes, the manifest says {expected}")]
    Size {
        path: String,
        expected: u64,
        found: u64,
    },
    #[error("{0} is in the package but not in the manifest")]
    Unlisted(String),
    #[error("receipts.json: {0}")]
    Receipts(String),
}

/// What a good package holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub manifest: Manifest,
    pub receipts: usize,
}

/// Reads one entry whole, at most `limit` bytes.
fn read_entry<R: Read + Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    limit: u64,
) -> Result<Vec<u8>, Mismatch> {
    let entry = archive
        .by_name(name)
        .map_err(|_| Mismatch::Missing(name.to_owned()))?;
    let mut bytes = Vec::new();
    entry
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Mismatch::Damaged {
            path: name.to_owned(),
            reason: e.to_string(),
        })?;
    if bytes.len() as u64 > limit {
        return Err(Mismatch::TooLarge(format!(
            "{name} unpacks to more than {limit} bytes"
        )));
    }
    Ok(bytes)
}

/// Checks a package offline: the manifest against its hash, every file
/// against the manifest (and nothing unlisted), and that the receipt entries
/// chain to the head the manifest states. Bounded: at most
/// [`MAX_PACKAGE_ENTRIES`] entries, each at most [`MAX_ENTRY_BYTES`]
/// unpacked, [`MAX_UNPACKED_BYTES`] in all.
pub fn verify<R: Read + Seek>(reader: R) -> Result<Verified, Mismatch> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| Mismatch::NotZip(e.to_string()))?;
    if archive.len() > MAX_PACKAGE_ENTRIES {
        return Err(Mismatch::TooLarge(format!(
            "{} entries, at most {MAX_PACKAGE_ENTRIES}",
            archive.len()
        )));
    }
    let manifest_bytes = read_entry(&mut archive, "manifest.json", MAX_ENTRY_BYTES)?;
    let stated = read_entry(&mut archive, "manifest.sha256", 128)?;
    if String::from_utf8_lossy(&stated).trim() != sha_hex(&manifest_bytes) {
        return Err(Mismatch::ManifestAltered);
    }
    let manifest: Manifest = serde_json::from_slice(&manifest_bytes)
        .map_err(|e| Mismatch::BadManifest(e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(Mismatch::BadManifest(format!(
            "format {} (this verifier reads {FORMAT})",
            manifest.format
        )));
    }
    let mut total: u64 = 0;
    let mut receipts_bytes = None;
    for file in &manifest.files {
        if file.size > MAX_ENTRY_BYTES {
            return Err(Mismatch::TooLarge(format!(
                "{} is listed at {} bytes, at most {MAX_ENTRY_BYTES}",
                file.path, file.size
            )));
        }
        total += file.size;
        if total > MAX_UNPACKED_BYTES {
            return Err(Mismatch::TooLarge(format!(
                "the files unpack to more than {MAX_UNPACKED_BYTES} bytes"
            )));
        }
        // One byte more than listed is enough to tell a wrong size.
        let bytes = read_entry(&mut archive, &file.path, file.size + 1).map_err(|e| match e {
            Mismatch::TooLarge(_) => Mismatch::Size {
                path: file.path.clone(),
                expected: file.size,
                found: file.size + 1,
            },
            other => other,
        })?;
        let found = sha_hex(&bytes);
        if found != file.sha256 {
            return Err(Mismatch::Hash {
                path: file.path.clone(),
                expected: file.sha256.clone(),
                found,
            });
        }
        if bytes.len() as u64 != file.size {
            return Err(Mismatch::Size {
                path: file.path.clone(),
                expected: file.size,
                found: bytes.len() as u64,
            });
        }
        if file.path == "receipts.json" {
            receipts_bytes = Some(bytes);
        }
    }
    for i in 0..archive.len() {
        let name = archive
            .name_for_index(i)
            .and_then(|n| n.ok())
            .map(|n| n.into_owned())
            .unwrap_or_default();
        let listed = name == "manifest.json"
            || name == "manifest.sha256"
            || manifest.files.iter().any(|f| f.path == name);
        if !listed {
            return Err(Mismatch::Unlisted(name));
        }
    }
    let receipts_bytes = receipts_bytes.ok_or_else(|| Mismatch::Missing("receipts.json".into()))?;
    let receipts: PackagedReceipts =
        serde_json::from_slice(&receipts_bytes).map_err(|e| Mismatch::Receipts(e.to_string()))?;
    let n = check_chain(&receipts, &manifest)?;
    Ok(Verified {
        manifest,
        receipts: n,
    })
}

/// The entries link one to the next, each whole entry hashes to its hash,
/// and the last is the head the manifest states.
fn check_chain(receipts: &PackagedReceipts, manifest: &Manifest) -> Result<usize, Mismatch> {
    let fail = |m: String| Err(Mismatch::Receipts(m));
    if receipts.head != manifest.receipt_chain_head {
        return fail("the head is not the manifest's receipt_chain_head".into());
    }
    let mut prev: Option<&PackagedReceipt> = None;
    for r in &receipts.entries {
        if let Some(p) = prev {
            if r.prev != p.hash {
                return fail(format!(
                    "entry {} does not follow entry {} (removed or reordered)",
                    r.seq, p.seq
                ));
            }
            if r.seq != p.seq + 1 {
                return fail(format!("entry {} is out of order", r.seq));
            }
        }
        if let (Some(change_hash), Some(task_id), Some(device_id), Some(received_at)) =
            (&r.change_hash, &r.task_id, &r.device_id, r.received_at)
        {
            let whole = Receipt {
                seq: r.seq,
                change_hash: change_hash.clone(),
                task_id: task_id.clone(),
                device_id: device_id.clone(),
                received_at,
                prev: r.prev.clone(),
                hash: r.hash.clone(),
            };
            if whole.expected_hash() != r.hash {
                return fail(format!("entry {} was altered", r.seq));
            }
        } else if manifest.task.is_some() && r.task_id.is_none() && prev.is_none() {
            return fail(format!(
                "entry {} should be one of the task's own (the span starts with it)",
                r.seq
            ));
        }
        prev = Some(r);
    }
    match (prev, &receipts.head) {
        (Some(last), Some(head)) if &last.hash == head => {}
        (None, None) => {}
        _ => return fail("the entries do not end at the head".into()),
    }
    if manifest.receipt_chain_seq != prev.map(|p| p.seq) {
        return fail("the head's sequence number is not the manifest's".into());
    }
    Ok(receipts.entries.len())
}
