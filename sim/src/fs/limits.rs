//! Every bound the mock puts on what one client can make it hold or do. The defaults are
//! FreeSWITCH's where FreeSWITCH has one (`MAX_QUEUE_LEN`, `MAX_MISSED` in
//! mod_event_socket.c) and small where it has none, so a hostile or stuck client costs a
//! known amount of memory and never stalls the others.

/// The bounds of one mock. `Default` is what `eslmatrix mock-fs` runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Events a listener's queue holds (`MAX_QUEUE_LEN`, 100 000).
    pub event_queue: usize,
    /// Consecutive events that found the queue full before the listener is killed with
    /// "killed listener because of lost events" (`MAX_MISSED`, 500: the 501st kills).
    pub lost_events: u32,
    /// Bytes of queued events per listener: what the queue holds, the event's plain
    /// encoding and its entry (a json or xml encoding that other listeners made of the
    /// same event is shared and not counted). FreeSWITCH counts events only; this bound
    /// keeps large events from exhausting memory first. A queue always takes one event
    /// when it is empty, however large.
    pub queue_bytes: usize,
    /// `filter` entries per connection (FreeSWITCH has no cap).
    pub max_filters: usize,
    /// Compiled size and lazy-DFA cache of one `filter` regex (regex's `size_limit` and
    /// `dfa_size_limit`).
    pub regex_bytes: usize,
    /// Bytes a client may have buffered towards a command before it authenticates.
    pub pre_auth_bytes: usize,
    /// Open connections; one more is refused with a logged `text/rude-rejection`.
    pub max_connections: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            event_queue: 100_000,
            lost_events: 500,
            queue_bytes: 16 * 1024 * 1024,
            max_filters: 128,
            regex_bytes: 1024 * 1024,
            pre_auth_bytes: 8 * 1024,
            max_connections: 2048,
        }
    }
}
