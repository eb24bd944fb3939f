//! Every bound the server puts on what a client may make it do, each a
//! named default that `serve` can override (`--feed-page` and friends) and
//! tests can shrink. A request beyond a bound is refused with the code
//! named beside it; `docs/protocol.md` lists them.

use std::time::Duration;

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
    /// Connections open at once; more are closed when accepted.
    pub connections: usize,
    /// Time for a request's headers to arrive (and for an idle kept-alive
    /// connection to send its next request).
    pub header_timeout: Duration,
    /// Time for a request's body to arrive.
    pub body_timeout: Duration,
    /// Time to answer a request (`408 http.timeout` after it).
    pub request_timeout: Duration,
    /// Sync and blob requests handled at once; more are answered `503
    /// server.busy` with `Retry-After` instead of queueing.
    pub in_flight: usize,
    /// Sync and blob requests of one device handled at once.
    pub device_in_flight: usize,
    /// Enrollment attempts a minute from one address (all addresses
    /// together may make the larger of this and
    /// [`crate::enroll::ATTEMPTS_IN_ALL`]).
    pub enrollments_per_address: u32,
    /// How long a device token is accepted after it was issued.
    pub token_lifetime: Duration,
    /// A sync with a token older than this is answered with a new one.
    pub token_rotate_after: Duration,
    /// How long a replaced token is still accepted.
    pub token_grace: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client (none by
    /// default: the header is then ignored), see [`crate::peer`].
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Inspections a year a subject may have before a random draw leaves
    /// it out, by class A–D (the over-inspection guard; a special plan
    /// with its reason is exempt).
    pub yearly_limits: [u32; 4],
    /// A sync that leaves this many receipts or more after the latest
    /// checkpoint makes a new one (`serve --checkpoint-every`).
    pub checkpoint_every: u64,
    /// How often the server makes a checkpoint when anything was received
    /// since the latest one (`serve --checkpoint-interval`).
    pub checkpoint_interval: Duration,
}

/// [`Limits::connections`] by default (kept below the open-file limit).
pub const CONNECTIONS: usize = 4096;
/// [`Limits::header_timeout`] by default.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// [`Limits::body_timeout`] by default: a 1 MiB chunk over a slow hotspot.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(60);
/// [`Limits::request_timeout`] by default.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// [`Limits::in_flight`] by default.
pub const IN_FLIGHT: usize = 256;
/// [`Limits::device_in_flight`] by default: a tablet syncs and uploads one
/// file at a time.
pub const DEVICE_IN_FLIGHT: usize = 4;

/// [`Limits::token_lifetime`] by default: a tablet that has not synced for
/// this long (a device lost, or left in a drawer) must be enrolled again.
pub const TOKEN_LIFETIME: Duration = Duration::from_secs(45 * 24 * 3600);
/// [`Limits::token_rotate_after`] by default: one new token a day of use.
pub const TOKEN_ROTATE_AFTER: Duration = Duration::from_secs(24 * 3600);
/// [`Limits::token_grace`] by default: a week for an answer that carried a
/// new token and was lost (the tablet then gets another one).
pub const TOKEN_GRACE: Duration = Duration::from_secs(7 * 24 * 3600);

/// [`Limits::checkpoint_every`] by default.
pub const CHECKPOINT_EVERY: u64 = 1000;
/// [`Limits::checkpoint_interval`] by default.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(3600);

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
            connections: CONNECTIONS,
            header_timeout: HEADER_TIMEOUT,
            body_timeout: BODY_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
            in_flight: IN_FLIGHT,
            device_in_flight: DEVICE_IN_FLIGHT,
            enrollments_per_address: crate::enroll::ATTEMPTS_PER_ADDRESS,
            token_lifetime: TOKEN_LIFETIME,
            token_rotate_after: TOKEN_ROTATE_AFTER,
            token_grace: TOKEN_GRACE,
            trusted_proxies: Vec::new(),
            yearly_limits: crate::draws::YEARLY_LIMITS,
            checkpoint_every: CHECKPOINT_EVERY,
            checkpoint_interval: CHECKPOINT_INTERVAL,
        }
    }
}
