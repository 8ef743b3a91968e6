//! Execution planes as the control plane sees them.
//!
//! Each `astraflow-plane` a customer runs reports a heartbeat (`POST /api/v1/plane/heartbeat`)
//! with the access token of its engine client, so the tenant and environment it reports for
//! are the token's, whatever its body says. Members of the tenant list its planes with
//! `GET /api/v1/tenants/{tenant}/planes`: live, silent, or stopped.

pub mod routes;
pub mod service;
pub mod store;

/// A plane is live while its last heartbeat is at most this old; planes beat every 15 s by
/// default, so a minute forgives a few lost beats.
pub const LIVE_WITHIN_SECS: i64 = 60;

/// At most this many job types per heartbeat, as the table allows.
pub const MAX_JOB_TYPES: usize = 200;

/// Whether a plane counts as live: in `state` running, and heard from within
/// [`LIVE_WITHIN_SECS`] (`silent_secs` ago).
#[must_use]
pub fn is_live(state: &str, silent_secs: i64) -> bool {
    state == "running" && silent_secs <= LIVE_WITHIN_SECS
}
