//! The task document's shape as Automerge stores it: every path with the
//! Automerge value type found there, and the status transition table, both
//! rendered as the Markdown that `docs/schema.md` holds. The rendering is
//! read off real documents and off [`crate::status::transition`], never
//! written by hand, and a test fails when the document and the code part.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use automerge::{AutoCommit, ObjId, ObjType, ROOT, ReadDoc, ScalarValue, Value};

use crate::status::{Event, EventKind, Role, Status, transition};

/// Keys of these maps are ids (of items, evidence, actors, people,
/// departments), not field names:
/// the schema shows them as a placeholder.
const KEYED_MAPS: [(&str, &str); 6] = [
    ("checklist", "<item id>"),
    ("evidence", "<sha256>"),
    ("actors", "<actor hex>"),
    ("names.inspectors", "<inspector id>"),
    ("names.badges", "<inspector id>"),
    ("names.departments", "<department code>"),
];

/// The Automerge type of a value, as the schema names it.
fn type_name(value: &Value<'_>) -> &'static str {
    match value {
        Value::Object(ObjType::Map | ObjType::Table) => "map",
        Value::Object(ObjType::List) => "list",
        Value::Object(ObjType::Text) => "text",
        Value::Scalar(s) => match s.as_ref() {
            ScalarValue::Str(_) => "str",
            ScalarValue::Int(_) => "int",
            ScalarValue::Uint(_) => "uint",
            ScalarValue::F64(_) => "f64",
            ScalarValue::Boolean(_) => "bool",
            ScalarValue::Null => "null",
            ScalarValue::Bytes(_) => "bytes",
            ScalarValue::Counter(_) => "counter",
            ScalarValue::Timestamp(_) => "timestamp",
            ScalarValue::Unknown { .. } => "unknown",
        },
    }
}

/// Every path of `docs` with the types found there (a path seen as a
/// string in one document and as null in another is `str | null`). List
/// elements are `[]`, keys of id-keyed maps a placeholder.
pub fn paths(docs: &[&AutoCommit]) -> BTreeMap<String, BTreeSet<&'static str>> {
    let mut found: BTreeMap<String, BTreeSet<&'static str>> = BTreeMap::new();
    for doc in docs {
        // An explicit stack: documents from elsewhere may nest deeply.
        let mut stack: Vec<(ObjId, String, bool)> = vec![(ROOT, String::new(), false)];
        while let Some((obj, path, keyed)) = stack.pop() {
            let entries: Vec<(String, Value<'_>, ObjId)> = match doc.object_type(&obj) {
                Ok(ObjType::List) => doc
                    .list_range(&obj, ..)
                    .map(|item| {
                        let id = item.id();
                        ("[]".to_owned(), item.value.into_value(), id)
                    })
                    .collect(),
                _ => doc
                    .map_range(&obj, ..)
                    .map(|item| {
                        let key = if keyed {
                            KEYED_MAPS
                                .iter()
                                .find(|(map, _)| path == *map)
                                .map_or_else(|| item.key.to_string(), |(_, p)| (*p).to_owned())
                        } else {
                            item.key.to_string()
                        };
                        let id = item.id();
                        (key, item.value.into_value(), id)
                    })
                    .collect(),
            };
            for (key, value, id) in entries {
                let child = if path.is_empty() {
                    key
                } else if key == "[]" {
                    format!("{path}[]")
                } else {
                    format!("{path}.{key}")
                };
                found
                    .entry(child.clone())
                    .or_default()
                    .insert(type_name(&value));
                if let Value::Object(_) = value {
                    let keyed = KEYED_MAPS.iter().any(|(map, _)| child == *map);
                    stack.push((id, child, keyed));
                }
            }
        }
    }
    found
}

/// [`paths`] as a Markdown table.
pub fn paths_table(docs: &[&AutoCommit]) -> String {
    let mut out = String::from("| path | Automerge type |\n| --- | --- |\n");
    for (path, types) in paths(docs) {
        let types: Vec<&str> = types.into_iter().collect();
        let _ = writeln!(out, "| `{path}` | {} |", types.join(" \\| "));
    }
    out
}

fn kind_name(kind: EventKind) -> &'static str {
    match kind {
        EventKind::Assigned => "assigned",
        EventKind::CheckedIn => "checked_in",
        EventKind::Submitted => "submitted",
        EventKind::Returned => "returned",
        EventKind::Approved => "approved",
        EventKind::Published => "published",
        EventKind::Cancelled => "cancelled",
        EventKind::Reopened => "reopened",
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::Inspector => "inspector",
        Role::Supervisor => "supervisor",
        Role::Admin => "admin",
    }
}

const KINDS: [EventKind; 8] = [
    EventKind::Assigned,
    EventKind::CheckedIn,
    EventKind::Submitted,
    EventKind::Returned,
    EventKind::Approved,
    EventKind::Published,
    EventKind::Cancelled,
    EventKind::Reopened,
];

/// The status transition table, read off [`transition`]: for each event
/// kind, who may record it, from which statuses, to which one, and whether
/// it needs a comment.
pub fn transitions_table() -> String {
    let mut out = String::from(
        "| event | recorded by | from | to | comment |\n| --- | --- | --- | --- | --- |\n",
    );
    let inspector = "I".to_owned();
    let froms: Vec<Option<Status>> = std::iter::once(None)
        .chain(Status::ALL.into_iter().map(Some))
        .collect();
    for kind in KINDS {
        let mut roles = Vec::new();
        let mut moves: BTreeMap<&'static str, Vec<&'static str>> = BTreeMap::new();
        let mut needs_comment = false;
        for role in [Role::Inspector, Role::Supervisor, Role::Admin] {
            let mut event = Event {
                kind,
                at: 0,
                by: inspector.clone(),
                role,
                comment: None,
                location: None,
            };
            let bare = froms
                .iter()
                .any(|from| transition(*from, &event, std::slice::from_ref(&inspector)).is_ok());
            event.comment = Some("c".into());
            let mut allowed = false;
            for from in &froms {
                if let Ok(to) = transition(*from, &event, std::slice::from_ref(&inspector)) {
                    allowed = true;
                    let from = from.map_or("(none)", Status::as_str);
                    let list = moves.entry(to.as_str()).or_default();
                    if !list.contains(&from) {
                        list.push(from);
                    }
                }
            }
            if allowed {
                roles.push(role_name(role));
                needs_comment |= !bare;
            }
        }
        for (to, from) in moves {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {to} | {} |",
                kind_name(kind),
                roles.join(", "),
                from.join(", "),
                if needs_comment { "required" } else { "—" }
            );
        }
    }
    out
}

/// Replaces what stands between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
/// in a document with `body` (for the generated parts of `docs/`). `None`
/// if the markers are missing.
pub fn splice(text: &str, name: &str, body: &str) -> Option<String> {
    let begin = format!("<!-- {name}:begin -->\n");
    let end = format!("<!-- {name}:end -->");
    let start = text.find(&begin)? + begin.len();
    let stop = text.find(&end)?;
    (start <= stop).then(|| format!("{}{body}{}", &text[..start], &text[stop..]))
}
