//! Conflicts: fields where concurrent edits left several values.
//!
//! Automerge keeps every value written concurrently to the same key and
//! picks one deterministically; Fieldloop never lets that pick pass
//! silently. [`conflicts`] walks the document and lists each scalar field
//! holding more than one distinct value, with who wrote each; a resolution
//! writes the chosen value over all of them.

use std::collections::BTreeMap;

use automerge::{
    AutoCommit, ObjId, ObjType, Prop, ROOT, ReadDoc, ScalarValue, Value, transaction::Transactable,
};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::error::TaskError;
use crate::task::ActorInfo;

/// One of the values of a conflicted field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct ConflictValue {
    #[ts(type = "unknown")]
    pub value: serde_json::Value,
    /// The Automerge operation that wrote it (`counter@actor`).
    pub op: String,
    /// Actor id (hex) of the device that wrote it.
    pub actor: String,
    /// The person acting through that device, if the document knows them.
    pub person: Option<String>,
    /// When that device wrote it (its clock, ms since the epoch; second
    /// precision), when known — see [`crate::TaskDoc::conflicts_with_times`].
    pub at: Option<i64>,
}

/// A field with several concurrent values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
pub struct Conflict {
    /// Keys from the document root, e.g. `["checklist", "SCJG-CY-001", "answer", "result"]`.
    pub path: Vec<String>,
    /// The values, the one Automerge currently shows first.
    pub values: Vec<ConflictValue>,
}

/// How to resolve a conflict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, utoipa::ToSchema)]
#[ts(export)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Resolution {
    /// Keep one of the values, named by its `op`.
    Pick { op: String },
    /// Write a new value.
    Value {
        #[ts(type = "unknown")]
        value: serde_json::Value,
    },
}

fn scalar_to_json(s: &ScalarValue) -> serde_json::Value {
    use serde_json::Value as J;
    match s {
        ScalarValue::Str(s) => J::String(s.to_string()),
        ScalarValue::Int(i) | ScalarValue::Timestamp(i) => J::from(*i),
        ScalarValue::Uint(u) => J::from(*u),
        ScalarValue::F64(f) => J::from(*f),
        ScalarValue::Boolean(b) => J::Bool(*b),
        ScalarValue::Null => J::Null,
        ScalarValue::Counter(c) => J::from(i64::from(c)),
        ScalarValue::Bytes(b) => J::String(hex::encode(b)),
        ScalarValue::Unknown { bytes, .. } => J::String(hex::encode(bytes)),
    }
}

fn json_to_scalar(v: &serde_json::Value) -> Result<ScalarValue, TaskError> {
    use serde_json::Value as J;
    Ok(match v {
        J::Null => ScalarValue::Null,
        J::Bool(b) => ScalarValue::Boolean(*b),
        J::String(s) => ScalarValue::Str(s.as_str().into()),
        J::Number(n) => {
            if let Some(i) = n.as_i64() {
                ScalarValue::Int(i)
            } else if let Some(u) = n.as_u64() {
                ScalarValue::Uint(u)
            } else {
                ScalarValue::F64(n.as_f64().unwrap_or_default())
            }
        }
        J::Array(_) | J::Object(_) => {
            return Err(TaskError::NotScalar);
        }
    })
}

fn op_name(id: &automerge::ObjId) -> (String, String) {
    match id {
        automerge::ObjId::Id(counter, actor, _) => {
            let hex = actor.to_hex_string();
            (format!("{counter}@{hex}"), hex)
        }
        automerge::ObjId::Root => ("root".into(), String::new()),
    }
}

/// Fills in when each conflicting value was written, from the change that
/// holds its operation.
pub(crate) fn add_times(doc: &mut AutoCommit, conflicts: &mut [Conflict]) {
    if conflicts.is_empty() {
        return;
    }
    // actor (hex) → (first op, op count, time in ms) of each of its changes.
    let mut changes: BTreeMap<String, Vec<(u64, u64, i64)>> = BTreeMap::new();
    for change in doc.get_changes(&[]) {
        changes
            .entry(change.actor_id().to_hex_string())
            .or_default()
            .push((
                change.start_op().get(),
                change.len() as u64,
                change.timestamp().saturating_mul(1000),
            ));
    }
    for value in conflicts.iter_mut().flat_map(|c| c.values.iter_mut()) {
        let Some(counter) = value
            .op
            .split_once('@')
            .and_then(|(n, _)| n.parse::<u64>().ok())
        else {
            continue;
        };
        value.at = changes.get(&value.actor).and_then(|list| {
            list.iter()
                .find(|(start, len, _)| (*start..start + len).contains(&counter))
                .map(|(_, _, at)| *at)
        });
    }
}

/// Every conflicted scalar field of the document, in document order.
///
/// The walk keeps its own stack instead of recursing: a document that
/// arrived from elsewhere may nest deeper than a thread's stack.
pub fn conflicts<D: ReadDoc>(
    doc: &D,
    actors: &BTreeMap<String, ActorInfo>,
) -> Result<Vec<Conflict>, TaskError> {
    conflicts_with(doc, actors, |obj, ty| entries(doc, obj, ty))
}

/// [`conflicts`] with each object's visible entries given by `entries`
/// (in the document's order, as [`entries`] reads them): a view that has
/// read them already ([`crate::walk::Walked::conflicts`]) need not read
/// them again.
pub(crate) fn conflicts_with<D: ReadDoc>(
    doc: &D,
    actors: &BTreeMap<String, ActorInfo>,
    entries: impl Fn(&ObjId, ObjType) -> Vec<Entry>,
) -> Result<Vec<Conflict>, TaskError> {
    let mut found = Vec::new();
    // Objects still to visit, with their path; children are pushed in
    // reverse so that they are visited in order.
    let mut stack: Vec<(ObjId, ObjType, Vec<String>)> = vec![(ROOT, ObjType::Map, Vec::new())];
    while let Some((obj, ty, path)) = stack.pop() {
        if ty == ObjType::Text {
            continue;
        }
        let mut children = Vec::new();
        // One pass over the object's visible values, which say whether
        // they are conflicted: only those are looked at again.
        for (prop, child, conflicted) in entries(&obj, ty) {
            let mut here = path.clone();
            here.push(prop_name(&prop));
            if conflicted {
                let all = doc.get_all(&obj, prop)?;
                let values: Vec<ConflictValue> = all
                    .iter()
                    .filter_map(|(v, id)| match v {
                        Value::Scalar(s) => {
                            let (op, actor) = op_name(id);
                            let person = actors.get(&actor).map(|a| a.person.clone());
                            Some(ConflictValue {
                                value: scalar_to_json(s),
                                op,
                                actor,
                                person,
                                at: None,
                            })
                        }
                        Value::Object(_) => None,
                    })
                    .collect();
                if values.windows(2).any(|w| w[0].value != w[1].value) {
                    found.push(Conflict {
                        path: here.clone(),
                        values,
                    });
                }
            }
            if let Some((child, child_ty)) = child {
                children.push((child, child_ty, here));
            }
        }
        stack.extend(children.into_iter().rev());
    }
    Ok(found)
}

/// An object's visible entries: the key or index, the object there (if
/// the visible value is one) and whether concurrent edits left it several
/// values.
pub(crate) type Entry = (Prop, Option<(ObjId, ObjType)>, bool);

pub(crate) fn entries<D: ReadDoc>(doc: &D, obj: &ObjId, ty: ObjType) -> Vec<Entry> {
    let child = |value: &automerge::ValueRef<'_>, id: ObjId| match value {
        automerge::ValueRef::Object(t) => Some((id, *t)),
        automerge::ValueRef::Scalar(_) => None,
    };
    match ty {
        ObjType::Map | ObjType::Table => doc
            .map_range(obj, ..)
            .map(|item| {
                let at = child(&item.value, item.id());
                (Prop::Map(item.key.into_owned()), at, item.conflict)
            })
            .collect(),
        ObjType::List | ObjType::Text => doc
            .list_range(obj, ..)
            .map(|item| {
                let at = child(&item.value, item.id());
                (Prop::Seq(item.index), at, item.conflict)
            })
            .collect(),
    }
}

fn prop_name(p: &Prop) -> String {
    match p {
        Prop::Map(k) => k.clone(),
        Prop::Seq(i) => i.to_string(),
    }
}

/// Writes the resolution of the conflict at `path`. Fails, changing
/// nothing, if there is no conflict there or the choice is not one of its values.
pub(crate) fn resolve(
    doc: &mut AutoCommit,
    path: &[String],
    choice: &Resolution,
) -> Result<(), TaskError> {
    let not_found = || TaskError::NoConflict(path.join("/"));
    let (last, parents) = path.split_last().ok_or_else(not_found)?;
    let mut obj = ROOT;
    let mut ty = ObjType::Map;
    let to_prop = |ty: ObjType, seg: &str| -> Result<Prop, TaskError> {
        match ty {
            ObjType::List | ObjType::Text => {
                seg.parse::<usize>().map(Prop::Seq).map_err(|_| not_found())
            }
            ObjType::Map | ObjType::Table => Ok(Prop::Map(seg.to_owned())),
        }
    };
    for seg in parents {
        match doc.get(&obj, to_prop(ty, seg)?)? {
            Some((Value::Object(t), id)) => {
                obj = id;
                ty = t;
            }
            _ => return Err(not_found()),
        }
    }
    let prop = to_prop(ty, last)?;
    let all = doc.get_all(&obj, prop.clone())?;
    let scalars: Vec<(ScalarValue, String)> = all
        .iter()
        .filter_map(|(v, id)| match v {
            Value::Scalar(s) => Some((s.as_ref().clone(), op_name(id).0)),
            Value::Object(_) => None,
        })
        .collect();
    let distinct = scalars.windows(2).any(|w| w[0].0 != w[1].0);
    if !distinct {
        return Err(not_found());
    }
    let value = match choice {
        Resolution::Pick { op } => scalars
            .iter()
            .find(|(_, o)| o == op)
            .map(|(v, _)| v.clone())
            .ok_or_else(|| TaskError::NotAConflictingValue(op.to_string()))?,
        Resolution::Value { value } => json_to_scalar(value)?,
    };
    match prop {
        Prop::Map(k) => doc.put(&obj, k, value)?,
        Prop::Seq(i) => doc.put(&obj, i, value)?,
    }
    // A new value must still make a valid task (an outcome stays an outcome).
    crate::walk::hydrate::<_, crate::Task>(doc)
        .map_err(|e| TaskError::ValueDoesNotFit(e.to_string()))?;
    Ok(())
}
