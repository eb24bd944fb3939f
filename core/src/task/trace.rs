//! The GPS track recorded on site.

use automerge::hydrate;
use automerge::transaction::Transactable;
use automerge::{ROOT, ReadDoc, ScalarValue};

use super::edit::child;
use super::{Author, Millis, TaskDoc, TracePoint};
use crate::domain::GeoPoint;
use crate::error::TaskError;

impl TaskDoc {
    /// Appends GPS points to the track.
    pub fn add_trace(
        &mut self,
        author: &Author,
        at: Millis,
        points: &[(Millis, GeoPoint, f64)],
    ) -> Result<(), TaskError> {
        self.check_inspector_may_edit(author)?;
        if points.is_empty() {
            return Ok(());
        }
        let message = format!("记录轨迹 {} 个点", points.len());
        self.change(author, at, message, |doc| {
            let list = child(doc, &ROOT, "trace")?;
            for (t, p, accuracy) in points {
                let len = doc.length(&list);
                let point = TracePoint {
                    t: *t,
                    lat: p.lat,
                    lon: p.lon,
                    accuracy: *accuracy,
                    by: author.person.clone(),
                };
                doc.batch_create_object(&list, len, &point_value(&point), true)?;
            }
            Ok(())
        })
    }
}

/// A trace point as the Automerge values `TracePoint`'s `Reconcile` writes
/// (the same keys and scalar types), to insert in one batch: the point is
/// the tablet's most frequent write, and Automerge adds a new map's fields
/// field by field (as `autosurgeon::reconcile_insert` does) at about twice
/// the cost of the whole batch. The tests hold the two to the same values.
fn point_value(point: &TracePoint) -> hydrate::Value {
    let TracePoint {
        t,
        lat,
        lon,
        accuracy,
        by,
    } = point;
    automerge::hydrate_map! {
        "t" => ScalarValue::Int(*t),
        "lat" => ScalarValue::F64(*lat),
        "lon" => ScalarValue::F64(*lon),
        "accuracy" => ScalarValue::F64(*accuracy),
        "by" => ScalarValue::Str(by.as_str().into()),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use automerge::{AutoCommit, ObjType, ROOT, ReadDoc};
    use autosurgeon::reconcile_insert;

    use super::*;

    /// Every key and scalar of a map, in key order.
    fn fields(doc: &AutoCommit, map: &automerge::ObjId) -> Vec<(String, String)> {
        doc.map_range(map, ..)
            .map(|item| (item.key.to_string(), format!("{:?}", item.value)))
            .collect()
    }

    /// A point written in one batch holds what autosurgeon would write:
    /// the same keys with the same scalar types and values, and it reads
    /// back as the same point.
    #[test]
    fn a_batched_point_is_what_reconcile_writes() {
        let point = TracePoint {
            t: 1_780_000_000_123,
            lat: 25.61,
            lon: -115.3,
            accuracy: 4.5,
            by: "检查员-01".into(),
        };
        let mut by_reconcile = AutoCommit::new();
        let list = by_reconcile
            .put_object(ROOT, "trace", ObjType::List)
            .expect("list");
        reconcile_insert(&mut by_reconcile, list.clone(), 0, &point).expect("reconcile");
        let mut by_batch = AutoCommit::new();
        let batch_list = by_batch
            .put_object(ROOT, "trace", ObjType::List)
            .expect("list");
        by_batch
            .batch_create_object(&batch_list, 0, &point_value(&point), true)
            .expect("batch");

        let map_of = |doc: &AutoCommit, list: &automerge::ObjId| match doc.get(list, 0) {
            Ok(Some((automerge::Value::Object(ObjType::Map), id))) => id,
            other => panic!("no map at 0: {other:?}"),
        };
        let reconciled = fields(&by_reconcile, &map_of(&by_reconcile, &list));
        assert_eq!(reconciled.len(), 5, "{reconciled:?}");
        assert_eq!(
            fields(&by_batch, &map_of(&by_batch, &batch_list)),
            reconciled
        );
        let read: Vec<TracePoint> =
            autosurgeon::hydrate_prop(&by_batch, ROOT, "trace").expect("hydrate");
        assert_eq!(read, [point]);
    }
}
