//! Every bound the server puts on what a client may make it do, each a
//! named default that `serve` can override (`--feed-page` and friends) and
//! tests can shrink. A request beyond a bound is refused with the code
//! named beside it; `docs/protocol.md` lists them.

/// The server's bounds. [`Limits::default`] is what `serve` runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Tasks one sync answer carries from the feed; more are announced
    /// with `m` (more).
    pub feed_page_docs: usize,
    /// Change bytes one sync answer carries from the feed: once a page
    /// holds this much, it ends (a single larger task still goes alone).
    pub feed_page_bytes: usize,
    /// Changes and operations one document's push may expand to
    /// (`sync.too_many_changes`, `sync.too_many_ops`).
    pub budget: fieldloop_core::sync::Budget,
    /// The largest a task document may grow, saved (`sync.doc_too_large`).
    pub doc_bytes: usize,
}

/// [`Limits::feed_page_docs`] by default.
pub const FEED_PAGE_DOCS: usize = 200;
/// [`Limits::feed_page_bytes`] by default.
pub const FEED_PAGE_BYTES: usize = 8 * 1024 * 1024;

/// [`Limits::doc_bytes`] by default: a task with a few thousand edits is
/// well under 1 MiB (photos are never inside it).
pub const DOC_BYTES: usize = 16 * 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Self {
            feed_page_docs: FEED_PAGE_DOCS,
            feed_page_bytes: FEED_PAGE_BYTES,
            budget: fieldloop_core::sync::Budget::default(),
            doc_bytes: DOC_BYTES,
        }
    }
}
