//! Typed reads that walk each Automerge object once.
//!
//! autosurgeon reads a struct field by field: every field is a `get`, and
//! in Automerge each `get` seeks the key among the document's operations
//! again (in a demo task, about 300 such seeks to read it whole). [`Walked`]
//! is a view of a document for autosurgeon that, the first time a map or a
//! list is asked about, reads all of its entries in one pass (`map_range`,
//! `list_range`) and answers every later question about that object from
//! what it read. What it answers is what the document answers: the same
//! winning value of a key, the same object ids; anything else (text,
//! ranges, parents) is asked of the document itself.
//!
//! A view lives for one read: it borrows the document, so the document
//! cannot change under it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ops::RangeBounds;
use std::rc::Rc;

use automerge::{AutomergeError, ObjId, ObjType, Prop, ReadDoc, Value};

/// What [`Walked`] reads: an Automerge document that autosurgeon can read.
pub trait Readable: ReadDoc + autosurgeon::ReadDoc {}

impl<D: ReadDoc + autosurgeon::ReadDoc> Readable for D {}

/// One visible entry as a pass read it: the winning value, the id of the
/// operation that set it, and whether concurrent edits left others.
type Seen = (Value<'static>, ObjId, bool);

/// An object's entries as one pass read them, in the document's order.
enum Entries {
    /// Keys in order, with where each is in `entries`.
    Map {
        entries: Vec<(String, Seen)>,
        at: HashMap<String, usize>,
    },
    List(Vec<Seen>),
    /// Text and anything else: asked of the document.
    Other,
}

/// A document read through one pass per object (see the module's note).
pub struct Walked<'a, D: Readable> {
    doc: &'a D,
    objects: RefCell<HashMap<ObjId, Rc<Entries>>>,
    /// Roughly what was read, in bytes ([`Walked::bytes_read`]).
    bytes: Cell<usize>,
}

/// What one entry counts for in [`Walked::bytes_read`] beside its key and
/// the bytes of its value.
const ENTRY_BYTES: usize = 32;

/// The bytes a value holds beside [`ENTRY_BYTES`]: a string's or a byte
/// string's length.
fn value_bytes(value: &Value<'_>) -> usize {
    match value {
        Value::Scalar(s) => match s.as_ref() {
            automerge::ScalarValue::Str(s) => s.len(),
            automerge::ScalarValue::Bytes(b) => b.len(),
            _ => 0,
        },
        Value::Object(_) => 0,
    }
}

impl<'a, D: Readable> Walked<'a, D> {
    pub fn new(doc: &'a D) -> Self {
        Self {
            doc,
            objects: RefCell::new(HashMap::new()),
            bytes: Cell::new(0),
        }
    }

    /// Roughly the bytes of what this view has read so far: every entry
    /// of every object read, its key and its string or byte value, and the
    /// text read. What a typed read made from it holds is of that order.
    pub fn bytes_read(&self) -> usize {
        self.bytes.get()
    }

    fn count(&self, bytes: usize) {
        self.bytes.set(self.bytes.get().saturating_add(bytes));
    }

    /// `obj`'s entries, read in one pass the first time.
    fn entries(&self, obj: &ObjId) -> Rc<Entries> {
        if let Some(found) = self.objects.borrow().get(obj) {
            return Rc::clone(found);
        }
        let entries = match ReadDoc::object_type(self.doc, obj) {
            Ok(ObjType::Map | ObjType::Table) => {
                let entries: Vec<(String, Seen)> = ReadDoc::map_range(self.doc, obj, ..)
                    .map(|item| {
                        let id = item.id();
                        let value = item.value.into_value();
                        self.count(ENTRY_BYTES + item.key.len() + value_bytes(&value));
                        (item.key.into_owned(), (value, id, item.conflict))
                    })
                    .collect();
                let at = entries
                    .iter()
                    .enumerate()
                    .map(|(i, (key, _))| (key.clone(), i))
                    .collect();
                Entries::Map { entries, at }
            }
            Ok(ObjType::List) => Entries::List(
                ReadDoc::list_range(self.doc, obj, ..)
                    .map(|item| {
                        let id = item.id();
                        let value = item.value.into_value();
                        self.count(ENTRY_BYTES + value_bytes(&value));
                        (value, id, item.conflict)
                    })
                    .collect(),
            ),
            Ok(ObjType::Text) | Err(_) => Entries::Other,
        };
        let entries = Rc::new(entries);
        self.objects
            .borrow_mut()
            .insert(obj.clone(), Rc::clone(&entries));
        entries
    }

    /// [`crate::conflict::conflicts`] of the document, from the objects
    /// this view has read (and reading the others): after a whole typed
    /// read, the conflicts cost no second pass over the document.
    pub fn conflicts(
        &self,
        actors: &std::collections::BTreeMap<String, crate::task::ActorInfo>,
    ) -> Result<Vec<crate::Conflict>, crate::TaskError> {
        crate::conflict::conflicts_with(self.doc, actors, |obj, ty| {
            let child = |value: &Value<'_>, id: &ObjId| match value {
                Value::Object(t) => Some((id.clone(), *t)),
                Value::Scalar(_) => None,
            };
            match (&*self.entries(obj), ty) {
                (Entries::Map { entries, .. }, ObjType::Map | ObjType::Table) => entries
                    .iter()
                    .map(|(key, (value, id, conflict))| {
                        (Prop::Map(key.clone()), child(value, id), *conflict)
                    })
                    .collect(),
                (Entries::List(list), ObjType::List) => list
                    .iter()
                    .enumerate()
                    .map(|(i, (value, id, conflict))| (Prop::Seq(i), child(value, id), *conflict))
                    .collect(),
                // Anything else as the document answers.
                _ => crate::conflict::entries(self.doc, obj, ty),
            }
        })
    }
}

impl<D: Readable> std::fmt::Debug for Walked<'_, D> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Walked")
            .field("objects_read", &self.objects.borrow().len())
            .finish_non_exhaustive()
    }
}

impl<D: Readable> autosurgeon::ReadDoc for Walked<'_, D> {
    type Parents<'b>
        = automerge::Parents<'b>
    where
        Self: 'b;

    fn get_heads(&self) -> Vec<automerge::ChangeHash> {
        autosurgeon::ReadDoc::get_heads(self.doc)
    }

    fn get<P: Into<Prop>>(
        &self,
        obj: &ObjId,
        prop: P,
    ) -> Result<Option<(Value<'_>, ObjId)>, AutomergeError> {
        let prop = prop.into();
        let seen = |(value, id, _): &Seen| (value.clone(), id.clone());
        match (&*self.entries(obj), &prop) {
            (Entries::Map { entries, at }, Prop::Map(key)) => {
                Ok(at.get(key).map(|&i| seen(&entries[i].1)))
            }
            (Entries::List(list), Prop::Seq(index)) => Ok(list.get(*index).map(seen)),
            // A key of a list, an index of a map, text: as the document answers.
            _ => ReadDoc::get(self.doc, obj, prop),
        }
    }

    fn object_type<O: AsRef<ObjId>>(&self, obj: O) -> Option<ObjType> {
        ReadDoc::object_type(self.doc, obj).ok()
    }

    fn map_range<'b, O, R>(&'b self, obj: O, range: R) -> automerge::iter::MapRange<'b>
    where
        R: RangeBounds<String> + 'b,
        O: AsRef<ObjId>,
    {
        ReadDoc::map_range(self.doc, obj, range)
    }

    fn list_range<O: AsRef<ObjId>, R: RangeBounds<usize>>(
        &self,
        obj: O,
        range: R,
    ) -> automerge::iter::ListRange<'_> {
        ReadDoc::list_range(self.doc, obj, range)
    }

    fn length<O: AsRef<ObjId>>(&self, obj: O) -> usize {
        match &*self.entries(obj.as_ref()) {
            Entries::List(list) => list.len(),
            Entries::Map { entries, .. } => entries.len(),
            Entries::Other => ReadDoc::length(self.doc, obj),
        }
    }

    fn text<O: AsRef<ObjId>>(&self, obj: O) -> Result<String, AutomergeError> {
        let text = ReadDoc::text(self.doc, obj)?;
        self.count(text.len());
        Ok(text)
    }

    fn parents<O: AsRef<ObjId>>(&self, obj: O) -> Result<Self::Parents<'_>, AutomergeError> {
        ReadDoc::parents(self.doc, obj)
    }

    fn is_empty(&self) -> bool {
        self.length(automerge::ROOT) == 0
    }
}

/// [`autosurgeon::hydrate`] through a [`Walked`] view of `doc`.
pub fn hydrate<D: Readable, T: autosurgeon::Hydrate>(
    doc: &D,
) -> Result<T, autosurgeon::HydrateError> {
    autosurgeon::hydrate(&Walked::new(doc))
}

/// A task document read once, one pass per object: the task and its
/// conflicts ([`Walked::conflicts`]).
pub fn task_and_conflicts<D: Readable>(
    doc: &D,
) -> Result<(crate::task::Task, Vec<crate::Conflict>), crate::TaskError> {
    let walked = Walked::new(doc);
    let task: crate::task::Task = autosurgeon::hydrate(&walked)?;
    let conflicts = walked.conflicts(&task.actors)?;
    Ok((task, conflicts))
}

/// [`autosurgeon::hydrate_prop`] through a [`Walked`] view of `doc`.
pub fn hydrate_prop<'p, D, T, P, O>(
    doc: &D,
    obj: O,
    prop: P,
) -> Result<T, autosurgeon::HydrateError>
where
    D: Readable,
    T: autosurgeon::Hydrate,
    P: Into<autosurgeon::Prop<'p>>,
    O: AsRef<ObjId>,
{
    autosurgeon::hydrate_prop(&Walked::new(doc), obj, prop)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use automerge::transaction::Transactable as _;
    use automerge::{ActorId, AutoCommit, ObjType, ROOT};
    use autosurgeon::{Hydrate, Reconcile, Text};

    #[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
    struct Inner {
        n: i64,
        tags: Vec<String>,
    }

    #[derive(Debug, Clone, PartialEq, Hydrate, Reconcile)]
    struct Outer {
        name: String,
        note: Text,
        maybe: Option<String>,
        inner: Inner,
        list: Vec<Inner>,
        by_key: BTreeMap<String, Inner>,
    }

    fn outer(name: &str, n: i64) -> Outer {
        let inner = Inner {
            n,
            tags: vec!["a".into(), name.into()],
        };
        Outer {
            name: name.into(),
            note: Text::with_value(format!("说明 {name}")),
            maybe: (n % 2 == 0).then(|| name.to_owned()),
            inner: inner.clone(),
            list: vec![inner.clone(), inner.clone()],
            by_key: BTreeMap::from([("k1".into(), inner.clone()), (name.into(), inner)]),
        }
    }

    /// Both ways of reading `doc` agree (and on the parts too).
    fn same_reads(doc: &AutoCommit) -> Outer {
        let direct: Outer = autosurgeon::hydrate(doc).expect("direct");
        let walked: Outer = super::hydrate(doc).expect("walked");
        assert_eq!(walked, direct);
        let list: Vec<Inner> = super::hydrate_prop(doc, ROOT, "list").expect("list");
        assert_eq!(list, direct.list);
        walked
    }

    /// A document two actors wrote the same keys of at once, scalars and
    /// objects alike.
    fn conflicted() -> AutoCommit {
        let mut a = AutoCommit::new().with_actor(ActorId::from(vec![1u8; 16]));
        autosurgeon::reconcile(&mut a, outer("甲", 1)).expect("reconcile");
        a.commit();
        let mut b = a.fork().with_actor(ActorId::from(vec![2u8; 16]));
        autosurgeon::reconcile(&mut a, outer("乙", 2)).expect("a");
        autosurgeon::reconcile(&mut b, outer("丙", 3)).expect("b");
        a.put(ROOT, "maybe", "甲写的").expect("put");
        b.put_object(ROOT, "maybe", ObjType::Map)
            .expect("put object");
        b.put(ROOT, "maybe", "乙写的").expect("put");
        a.commit();
        b.commit();
        a.merge(&mut b).expect("merge");
        a
    }

    #[test]
    fn a_walked_read_is_the_direct_one_whatever_won_a_conflict() {
        let a = conflicted();
        let read = same_reads(&a);
        // The conflicts are there to be won: both sides wrote.
        assert!(
            automerge::ReadDoc::get_all(&a, ROOT, "name")
                .expect("get_all")
                .len()
                > 1
        );
        assert!(["乙", "丙"].contains(&read.name.as_str()), "{read:?}");
    }

    #[test]
    fn a_view_finds_the_conflicts_a_walk_of_the_document_finds() {
        let a = conflicted();
        let actors = BTreeMap::new();
        let direct = crate::conflict::conflicts(&a, &actors).expect("direct");
        assert!(direct.len() > 2, "{direct:?}");
        // Before any typed read (every object read for the conflicts), and
        // after one (the objects it read answered from what it read).
        let walked = super::Walked::new(&a);
        assert_eq!(walked.conflicts(&actors).expect("walked"), direct);
        let walked = super::Walked::new(&a);
        let _: Outer = autosurgeon::hydrate(&walked).expect("read");
        assert_eq!(walked.conflicts(&actors).expect("walked"), direct);
    }

    #[test]
    fn what_a_view_read_is_counted_with_its_strings() {
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, outer("甲", 1)).expect("reconcile");
        doc.commit();
        let walked = super::Walked::new(&doc);
        let _: Outer = autosurgeon::hydrate(&walked).expect("read");
        let small = walked.bytes_read();
        assert!(small > 0 && small < 4096, "{small}");
        // A long name is counted whole.
        let long = "长".repeat(10_000);
        doc.put(ROOT, "name", long.as_str()).expect("put");
        doc.commit();
        let walked = super::Walked::new(&doc);
        let _: Outer = autosurgeon::hydrate(&walked).expect("read");
        assert!(walked.bytes_read() >= small + long.len() - "甲".len());
    }

    #[test]
    fn a_walked_read_refuses_what_the_direct_one_refuses() {
        let mut doc = AutoCommit::new();
        autosurgeon::reconcile(&mut doc, outer("甲", 1)).expect("reconcile");
        // A list where a map is expected, a number where text is.
        doc.put_object(ROOT, "inner", ObjType::List).expect("list");
        doc.put(ROOT, "name", 7).expect("number");
        doc.commit();
        let direct = autosurgeon::hydrate::<_, Outer>(&doc).map_err(|e| e.to_string());
        let walked = super::hydrate::<_, Outer>(&doc).map_err(|e| e.to_string());
        assert!(direct.is_err());
        assert_eq!(walked, direct);
    }
}
