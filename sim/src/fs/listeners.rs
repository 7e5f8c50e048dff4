//! The listener list and each listener's event queue: mod_event_socket's `event_handler`.
//!
//! FreeSWITCH filters every event for every listener on the thread that dispatches it,
//! and `switch_queue_trypush`es a copy into that listener's queue of `MAX_QUEUE_LEN`
//! events. A push that finds the queue full is a lost event; a successful push resets the
//! count; the push that makes it exceed `MAX_MISSED` kills the listener with
//! "killed listener because of lost events". The [`Hub`] does the same, so a reader that
//! stops reading is dropped by the rule itself, however it stalls, and its queue is freed
//! at once. On top of the count, a byte budget ([`Limits::queue_bytes`]) makes large events
//! count as full early.
//!
//! An event enters as one [`Delivery`] shared by every queue it lands in. When several
//! queues take it, it is held as its bytes in each format the takers use (plain, json,
//! xml), encoded once on the firing thread, with no parsed headers, so a full queue costs
//! about its byte budget. An event only one queue takes is encoded by that queue's writer
//! instead, so with one reader the firing thread and the writer share the work across
//! cores. When the last queue lets go, all of it is freed.
//!
//! The hub is the model's [`EventSink`]: events are queued on the firing thread, so an
//! event fired before a command arrives is always queued ahead of that command's reply.
//! Never call into the model while holding a listener's [`Listener::interest`]: the
//! model holds its own lock while it fires.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use tokio::sync::Notify;

use super::bus::EventSink;
use super::event::Event;
use super::filter::Subscription;
use super::limits::Limits;
use super::wire::{self, Format, Message, LOST_EVENTS};

/// One fired event on its way to listeners, as compact as a queue can hold it.
///
/// An event several listeners take is encoded on the firing thread, once, in every format
/// they use; queues hold only those bytes, shared. The parsed headers are dropped once the
/// event is dispatched (filters ran on them already), unless the plain bytes could not give
/// them back exactly: a listener that switches format (`event json ...` after `event plain
/// ...`) has its queued events written in the new format, as FreeSWITCH serializes at write
/// time, and those are made from the plain bytes.
pub(crate) struct Delivery {
    /// What it counts against a queue's byte budget: the bytes it holds.
    size: usize,
    /// Made on the firing thread for an event several queues share; by the writer, on
    /// first use, for an event only one queue takes ([`Delivery::for_one`]).
    plain: OnceLock<Message>,
    /// Kept while `plain` is not made yet, or when `plain` does not decode back to it
    /// (see [`plain_is_exact`]).
    event: Option<Arc<Event>>,
    /// Where the header lines end in `plain.body`, and whether a body follows them.
    headers_len: u32,
    has_body: bool,
    json: OnceLock<Box<Message>>,
    xml: OnceLock<Box<Message>>,
}

/// Heap blocks of a queued delivery besides its bytes (the `Arc`, the head), for the budget.
const ENTRY_OVERHEAD: usize = std::mem::size_of::<Delivery>() + 64;

impl Delivery {
    pub(crate) fn new(event: &Arc<Event>) -> Delivery {
        let plain = encoded(event, Format::Plain);
        let has_body = event.body.as_deref().is_some_and(|b| !b.is_empty());
        let headers_len = if has_body {
            let body = event.body.as_deref().unwrap_or_default();
            let tail = format!("Content-Length: {}\n\n", body.len());
            plain.body.len() - body.len() - tail.len()
        } else {
            plain.body.len() - 1
        };
        let exact = plain_is_exact(event);
        let size = ENTRY_OVERHEAD + plain.len() + if exact { 0 } else { plain.len() };
        Delivery {
            size,
            plain: OnceLock::from(plain),
            event: (!exact).then(|| event.clone()),
            headers_len: u32::try_from(headers_len).unwrap_or(u32::MAX),
            has_body,
            json: OnceLock::new(),
            xml: OnceLock::new(),
        }
    }

    /// An event only one queue takes: held parsed, and encoded by that queue's writer when
    /// it writes it, so the firing thread does not wait for the encoding and, with one
    /// reader, the two run on two cores. It counts against the budget as its text, about
    /// what its encoding will take; the parsed headers' own heap cost (a 48-byte pair and
    /// two allocations a header) comes on top, so such a queue may hold up to about three
    /// times its budget in heap (16 MiB → about 50 MiB), still bounded. An event several
    /// queues share is held as bytes only: the 500-reader figures are of those.
    pub(crate) fn for_one(event: &Arc<Event>) -> Delivery {
        let size = ENTRY_OVERHEAD
            + event.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>()
            + event.body.as_ref().map_or(0, String::len);
        Delivery {
            size,
            plain: OnceLock::new(),
            event: Some(event.clone()),
            headers_len: 0,
            has_body: false,
            json: OnceLock::new(),
            xml: OnceLock::new(),
        }
    }

    /// Frames this event in plain into `out` when the caller holds the only reference and
    /// it was never encoded (an event only one queue took, popped by its writer): nothing
    /// is kept. False when the delivery's own bytes are to be written instead.
    pub(crate) fn append_own_plain(self: &Arc<Self>, scratch: &mut String, out: &mut Vec<u8>) -> bool {
        if self.plain.get().is_some() || Arc::strong_count(self) != 1 {
            return false;
        }
        match &self.event {
            Some(event) => {
                wire::append_plain_event(event, scratch, out);
                true
            }
            None => false,
        }
    }

    /// Encodes `format` now, from the parsed event the dispatcher still has.
    fn prepare(&self, format: Format, event: &Event) {
        if let Some(slot) = self.slot(format) {
            slot.get_or_init(|| Box::new(encoded(event, format)));
        }
    }

    fn slot(&self, format: Format) -> Option<&OnceLock<Box<Message>>> {
        match format {
            Format::Plain => None,
            Format::Json => Some(&self.json),
            Format::Xml => Some(&self.xml),
        }
    }

    /// The framed message in `format`.
    pub(crate) fn message(&self, format: Format) -> &Message {
        match self.slot(format) {
            None => self.plain.get_or_init(|| match &self.event {
                Some(event) => wire::event_message(event, Format::Plain),
                // Not reached: a delivery is made either encoded or with its event.
                None => Message::default(),
            }),
            Some(slot) => slot.get_or_init(|| {
                let event = match &self.event {
                    Some(event) => encoded(event, format),
                    None => encoded(&self.decoded(), format),
                };
                Box::new(event)
            }),
        }
    }

    /// The event back from its plain bytes (exact when `event` is `None`).
    fn decoded(&self) -> Event {
        let text = String::from_utf8_lossy(&self.message(Format::Plain).body);
        let (lines, rest) = text.split_at((self.headers_len as usize).min(text.len()));
        let mut event = Event::new();
        for line in lines.split_terminator('\n') {
            let (name, value) = line.split_once(": ").unwrap_or((line, ""));
            let value = if value == "_undef_" { String::new() } else { wire::percent_decode(value) };
            event.headers.push((name.to_string(), value));
        }
        if self.has_body {
            event.body = rest.split_once("\n\n").map(|(_, body)| body.to_string());
        }
        event
    }
}

/// The event's bytes without the encoder's spare room: the plain encoder reserves 64 bytes
/// a header, about twice what a channel event's lines take, and a queue keeps them for as
/// long as its reader is behind (a full queue held twice its budget).
fn encoded(event: &Event, format: Format) -> Message {
    let mut m = wire::event_message(event, format);
    m.head.shrink_to_fit();
    m.body.shrink_to_fit();
    m
}

/// Whether [`Delivery::decoded`] gives this event back: the plain encoding is lossy for a
/// value that already holds a `%XX` escape (FreeSWITCH's encoder leaves it alone), for a
/// literal `_undef_`, and for header names that hold `: ` or a line break.
fn plain_is_exact(event: &Event) -> bool {
    event.headers.iter().all(|(name, value)| {
        !name.contains(": ")
            && !name.contains('\n')
            && value != "_undef_"
            && !value
                .as_bytes()
                .windows(3)
                .any(|w| w[0] == b'%' && w[1].is_ascii_hexdigit() && w[2].is_ascii_hexdigit())
    })
}

/// What a listener wants: its subscription, filters and `myevents` binding.
#[derive(Debug, Default)]
pub(crate) struct Interest {
    pub sub: Subscription,
    /// `myevents UUID`: only that channel's events; empty when no session was locked
    /// (event_handler: `if (!uuid || (l->session && strcmp(…)))`), any event with a Unique-ID.
    pub myevents: Option<String>,
}

impl Interest {
    pub(crate) fn wants(&self, event: &Event) -> bool {
        self.sub.wants(event)
            && self
                .myevents
                .as_deref()
                .is_none_or(|u| event.get("Unique-ID").is_some_and(|id| u.is_empty() || id == u))
    }
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Arc<Delivery>>,
    bytes: usize,
    /// Consecutive pushes that found the queue full (`l->lost_events`).
    lost: u32,
    /// Set once, with the notice text, when the rule kills the listener.
    killed: Option<&'static str>,
}

/// One connection as the dispatcher sees it.
pub(crate) struct Listener {
    id: u64,
    interest: Mutex<Interest>,
    /// Mirrors `interest.sub.enabled` so the dispatcher skips non-listeners without a lock
    /// (FreeSWITCH's `LFLAG_EVENTS`).
    listening: AtomicBool,
    queue: Mutex<Queue>,
    /// Something was queued (or the listener was killed).
    pub(crate) ready: Notify,
    /// The listener was killed: a write in progress gets a short grace, then ends.
    pub(crate) kill: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Listener {
    /// The subscription, for commands that read or change it. Hold it briefly: the
    /// dispatcher takes it for every event.
    pub(crate) fn interest(&self) -> MutexGuard<'_, Interest> {
        lock(&self.interest)
    }

    /// Call after changing the subscription so the dispatcher sees whether it listens.
    pub(crate) fn update_listening(&self) {
        let on = self.interest().sub.enabled;
        self.listening.store(on, Ordering::Release);
    }

    /// The notice to end with, once the lost-events rule has killed this listener.
    pub(crate) fn killed(&self) -> Option<&'static str> {
        lock(&self.queue).killed
    }

    /// `noevents`: what is queued will not be written.
    pub(crate) fn clear_queue(&self) {
        let mut q = lock(&self.queue);
        // Its capacity too: up to `event_queue` slots of a queue that was once full.
        q.items = VecDeque::new();
        q.bytes = 0;
    }

    /// Events queued now.
    #[cfg(test)]
    pub(crate) fn queued(&self) -> usize {
        lock(&self.queue).items.len()
    }

    /// Moves up to `max_items` events (and at least one, if any) totalling about
    /// `max_bytes` into `out`. Popped events no longer count against the queue: like
    /// FreeSWITCH's listener thread, the writer holds what it is writing outside it.
    pub(crate) fn pop_batch(&self, max_items: usize, max_bytes: usize, out: &mut Vec<Arc<Delivery>>) {
        let mut q = lock(&self.queue);

        let mut bytes = 0;
        while out.len() < max_items && (out.is_empty() || bytes < max_bytes) {
            let Some(d) = q.items.pop_front() else { break };
            bytes += d.size;
            q.bytes -= d.size;
            out.push(d);
        }
        if q.items.is_empty() && q.items.capacity() > 1024 {
            q.items.shrink_to(64);
        }
    }

    /// `switch_queue_trypush` plus the `lost_events` rule. Returns true when this push
    /// killed the listener.
    fn push(&self, delivery: &Arc<Delivery>, limits: &Limits) -> bool {
        let mut q = lock(&self.queue);
        if q.killed.is_some() {
            return false;
        }
        let fits = q.items.is_empty()
            || (q.items.len() < limits.event_queue && q.bytes + delivery.size <= limits.queue_bytes);
        if fits {
            let was_empty = q.items.is_empty();
            q.items.push_back(delivery.clone());
            q.bytes += delivery.size;
            if q.lost > 0 {
                tracing::warn!(
                    connection = self.id,
                    "Lost [{}] events! Event Queue size: [{}/{}]",
                    q.lost,
                    q.items.len(),
                    limits.event_queue
                );
                q.lost = 0;
            }
            drop(q);
            if was_empty {
                self.ready.notify_one();
            }
            return false;
        }
        self.lose(q, 1, limits)
    }

    /// `n` events that should have been queued were not.
    fn lose(&self, mut q: MutexGuard<'_, Queue>, n: u32, limits: &Limits) -> bool {
        if q.killed.is_some() {
            return false;
        }
        q.lost = q.lost.saturating_add(n);
        if q.lost <= limits.lost_events {
            return false;
        }
        tracing::warn!(
            connection = self.id,
            "Killing listener because of too many lost events. Lost [{}] Queue size[{}/{}] ({} bytes)",
            q.lost,
            q.items.len(),
            limits.event_queue,
            q.bytes
        );
        q.killed = Some(LOST_EVENTS);
        q.items = VecDeque::new();
        q.bytes = 0;
        drop(q);
        self.kill.notify_one();
        self.ready.notify_one();
        true
    }
}

/// Every listener.
pub(crate) struct Hub {
    listeners: RwLock<Vec<Arc<Listener>>>,
    limits: Limits,
    kills: AtomicU64,
}

impl Hub {
    pub(crate) fn new(limits: Limits) -> Hub {
        Hub { listeners: RwLock::new(Vec::new()), limits, kills: AtomicU64::new(0) }
    }

    /// A new connection's listener; it receives nothing until it subscribes.
    pub(crate) fn add(&self, id: u64) -> Arc<Listener> {
        let l = Arc::new(Listener {
            id,
            interest: Mutex::default(),
            listening: AtomicBool::new(false),
            queue: Mutex::default(),
            ready: Notify::new(),
            kill: Notify::new(),
        });
        self.listeners.write().unwrap_or_else(std::sync::PoisonError::into_inner).push(l.clone());
        l
    }

    /// Forgets a listener and frees its queue.
    pub(crate) fn remove(&self, id: u64) {
        let mut all = self.listeners.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(i) = all.iter().position(|l| l.id == id) {
            let l = all.swap_remove(i);
            l.clear_queue();
        }
        // After a crowd has left, the table need not keep room for it.
        if all.capacity() > 64 && all.len() < all.capacity() / 4 {
            let keep = (all.len() * 2).max(64);
            all.shrink_to(keep);
        }
    }

    /// Listeners the lost-events rule has killed since start.
    pub(crate) fn kills(&self) -> u64 {
        self.kills.load(Ordering::Relaxed)
    }
}

impl EventSink for Hub {
    /// `event_handler`: the event goes into the queue of every listener that wants it.
    fn deliver(&self, event: &Arc<Event>) {
        let all = self.listeners.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let takes = |l: &Listener| l.listening.load(Ordering::Acquire) && l.interest().wants(event);
        // How it is held depends on who takes it: the count stops at two.
        let shared = all.iter().filter(|l| takes(l)).nth(1).is_some();
        let mut delivery: Option<Arc<Delivery>> = None;
        for l in all.iter() {
            if !l.listening.load(Ordering::Acquire) {
                continue;
            }
            let format = {
                let interest = l.interest();
                if !interest.wants(event) {
                    continue;
                }
                interest.sub.format
            };
            let d = delivery.get_or_insert_with(|| {
                Arc::new(if shared { Delivery::new(event) } else { Delivery::for_one(event) })
            });
            if shared {
                d.prepare(format, event);
            }
            if l.push(d, &self.limits) {
                self.kills.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Tx<'a>(&'a Hub);

    impl Tx<'_> {
        fn send(&self, event: Arc<Event>) -> Result<(), ()> {
            self.0.deliver(&event);
            Ok(())
        }
    }

    fn hub(limits: Limits) -> Hub {
        Hub::new(limits)
    }

    fn listen(hub: &Hub, id: u64, what: &str) -> Arc<Listener> {
        let l = hub.add(id);
        l.interest().sub.subscribe(what);
        l.update_listening();
        l
    }

    fn heartbeat() -> Arc<Event> {
        Arc::new(Event::new().with("Event-Name", "HEARTBEAT"))
    }

    /// mod_event_socket.c `event_handler`: `if (++l->lost_events > MAX_MISSED)` kills,
    /// and a successful `switch_queue_trypush` resets the count.
    #[test]
    fn the_push_after_max_missed_consecutive_losses_kills() {
        let limits = Limits { event_queue: 2, lost_events: 3, ..Limits::default() };
        let hub = hub(limits);
        let tx = Tx(&hub);
        let slow = listen(&hub, 1, "HEARTBEAT");
        let other = listen(&hub, 2, "CHANNEL_CREATE");
        for _ in 0..5 {
            tx.send(heartbeat()).unwrap();
        }
        // 2 queued, 3 lost: at the limit, not over it.
        assert_eq!((slow.queued(), slow.killed()), (2, None));
        let mut popped = Vec::new();
        slow.pop_batch(1, usize::MAX, &mut popped);
        tx.send(heartbeat()).unwrap();
        // That push succeeded and reset the count: three more losses are still allowed.
        for _ in 0..4 {
            tx.send(heartbeat()).unwrap();
        }
        assert_eq!(slow.killed(), Some(LOST_EVENTS));
        assert_eq!(slow.queued(), 0, "a killed listener's queue is freed");
        assert_eq!(hub.kills(), 1);
        assert_eq!(other.killed(), None, "a listener that did not want them lost nothing");
    }

    #[test]
    fn the_byte_budget_fills_a_queue_before_its_count() {
        let limits = Limits { event_queue: 1000, lost_events: 1, queue_bytes: 10_000, ..Limits::default() };
        let hub = hub(limits);
        let tx = Tx(&hub);
        let l = listen(&hub, 1, "ALL");
        let big = Arc::new(Event::new().with("Event-Name", "CUSTOM").with("Big", "x".repeat(4000)));
        for _ in 0..3 {
            tx.send(big.clone()).unwrap();
        }
        assert_eq!((l.queued(), l.killed()), (2, None), "two fit in 10 000 bytes, one lost");
        tx.send(big.clone()).unwrap();
        assert_eq!(l.killed(), Some(LOST_EVENTS));
        // An empty queue takes one event even above the budget, so none is unsendable.
        let l2 = listen(&hub, 2, "ALL");
        tx.send(Arc::new(Event::new().with("Event-Name", "CUSTOM").with("Huge", "y".repeat(20_000))))
            .unwrap();
        assert_eq!(l2.queued(), 1);
    }

    #[test]
    fn one_encoding_per_format_is_shared() {
        let hub = hub(Limits::default());
        let tx = Tx(&hub);
        let a = listen(&hub, 1, "ALL");
        let b = listen(&hub, 2, "ALL");
        tx.send(heartbeat()).unwrap();
        let (mut da, mut db) = (Vec::new(), Vec::new());
        a.pop_batch(10, usize::MAX, &mut da);
        b.pop_batch(10, usize::MAX, &mut db);
        assert!(Arc::ptr_eq(&da[0], &db[0]));
        let pa: *const Message = da[0].message(Format::Plain);
        let pb: *const Message = db[0].message(Format::Plain);
        assert_eq!(pa, pb);
        assert_eq!(*da[0].message(Format::Json), wire::event_message(&heartbeat(), Format::Json));
    }

    /// mod_event_socket serializes at write time (`listener_run` calls
    /// `switch_event_serialize` / `_json` / `_xmlize` on the popped event), so a listener
    /// that switches format gets its queued events in the new one: made from the plain
    /// bytes, or from the kept event where those are lossy.
    #[test]
    fn a_queued_event_is_written_in_any_format_exactly() {
        let exact = Event::new()
            .with("Event-Name", "CUSTOM")
            .with("Caller-Caller-ID-Name", "Zoë: \"front\" desk\n100% <b>")
            .with("Empty", "")
            .with("Event-Subclass", "sofia::register")
            .with("Hangup-Cause", "NORMAL_CLEARING")
            .with("Hangup-Cause", "NORMAL_CLEARING");
        let mut with_body = exact.clone();
        with_body.body = Some("line one\n\nline: three\n".into());
        let lossy = [("Literal", "_undef_"), ("Escaped", "%41%zz"), ("Odd: name", "v")];
        let hub = hub(Limits::default());
        let tx = Tx(&hub);
        let l = listen(&hub, 1, "ALL");
        // A second taker: shared events are the ones held as bytes.
        let _other = listen(&hub, 2, "ALL");
        let mut events = vec![exact.clone(), with_body.clone()];
        for (name, value) in lossy {
            events.push(with_body.clone().with(name, value));
        }
        for e in &events {
            tx.send(Arc::new(e.clone())).unwrap();
        }
        let mut queued = Vec::new();
        l.pop_batch(10, usize::MAX, &mut queued);
        assert_eq!(queued.len(), events.len());
        for (i, (d, e)) in queued.iter().zip(&events).enumerate() {
            assert_eq!(d.event.is_some(), i >= 2, "parsed headers kept only where plain is lossy: {e:?}");
            for format in [Format::Plain, Format::Json, Format::Xml] {
                assert_eq!(*d.message(format), wire::event_message(e, format), "{format:?} of {e:?}");
            }
        }
    }

    /// An event for one queue only is left to its writer to encode (the firing thread does
    /// not wait for it); once a second listener takes the same kind, events are held as
    /// their shared bytes.
    #[test]
    fn an_event_one_queue_takes_is_encoded_by_its_writer() {
        let hub = hub(Limits::default());
        let tx = Tx(&hub);
        let l = listen(&hub, 1, "HEARTBEAT");
        let _custom = listen(&hub, 2, "CUSTOM");
        tx.send(heartbeat()).unwrap();
        let _second = listen(&hub, 3, "HEARTBEAT");
        tx.send(heartbeat()).unwrap();
        let mut queued = Vec::new();
        l.pop_batch(10, usize::MAX, &mut queued);
        assert_eq!(queued.len(), 2);
        assert!(queued[0].plain.get().is_none() && queued[0].event.is_some(), "one taker: left parsed");
        assert!(queued[1].plain.get().is_some() && queued[1].event.is_none(), "two takers: bytes only");
        // Its writer, holding the only reference, frames it straight into its buffer.
        let (mut scratch, mut out) = (String::new(), b"before|".to_vec());
        assert!(queued[0].append_own_plain(&mut scratch, &mut out));
        let mut expected = b"before|".to_vec();
        wire::event_message(&heartbeat(), Format::Plain).append_to(&mut expected);
        assert_eq!(out, expected);
        assert!(!queued[1].append_own_plain(&mut scratch, &mut out), "encoded already: its bytes go out");
        let held_twice = queued[0].clone();
        assert!(!held_twice.append_own_plain(&mut scratch, &mut out), "shared: encoded once, kept");
        for d in &queued {
            for format in [Format::Plain, Format::Json, Format::Xml] {
                assert_eq!(*d.message(format), wire::event_message(&heartbeat(), format));
            }
        }
    }

    #[test]
    fn the_budget_counts_the_bytes_a_queue_holds() {
        let event = Arc::new(Event::new().with("Event-Name", "CUSTOM").with("Big", "x".repeat(4000)));
        let plain = wire::event_message(&event, Format::Plain).len();
        let d = Delivery::new(&event);
        assert_eq!(d.size, plain + ENTRY_OVERHEAD);
        let m = d.message(Format::Plain);
        assert_eq!(
            (m.head.capacity(), m.body.capacity()),
            (m.head.len(), m.body.len()),
            "no spare room kept"
        );
        let lossy = Arc::new(Event::clone(&event).with("Escaped", "%41"));
        let d = Delivery::new(&lossy);
        assert!(d.size > 2 * plain, "a kept event counts too");
    }

    #[test]
    fn leaving_listeners_give_back_their_room() {
        let hub = hub(Limits::default());
        let tx = Tx(&hub);
        let all: Vec<_> = (0..500).map(|id| listen(&hub, id, "ALL")).collect();
        for _ in 0..2000 {
            tx.send(heartbeat()).unwrap();
        }
        assert!(lock(&all[0].queue).items.capacity() >= 2000);
        all[0].clear_queue();
        assert_eq!(lock(&all[0].queue).items.capacity(), 0, "noevents frees the slots");
        for id in 0..500 {
            hub.remove(id);
        }
        let table = hub.listeners.read().unwrap().capacity();
        assert!(table <= 128, "{table}");
        assert!(all.iter().all(|l| l.queued() == 0), "every queue freed");
    }

    #[test]
    fn removed_and_unsubscribed_listeners_get_nothing() {
        let hub = hub(Limits::default());
        let tx = Tx(&hub);
        let l = hub.add(1);
        tx.send(heartbeat()).unwrap();
        assert_eq!(l.queued(), 0);
        let l = listen(&hub, 2, "ALL");
        hub.remove(2);
        tx.send(heartbeat()).unwrap();
        assert_eq!(l.queued(), 0);
    }
}
