//! The GPS track recorded on site.

use automerge::{ROOT, ReadDoc};
use autosurgeon::reconcile_insert;

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
                reconcile_insert(doc, list.clone(), len, &point)?;
            }
            Ok(())
        })
    }
}
