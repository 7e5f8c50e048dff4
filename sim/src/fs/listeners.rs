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
//! An event enters as one [`Delivery`] shared by every queue it lands in; each format
//! (plain, json, xml) is encoded at most once, by the first connection that writes it,
//! and those bytes are shared too. When the last queue lets go, all of it is freed.
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

/// One fired event on its way to listeners, with its encodings made on first use.
pub(crate) struct Delivery {
    event: Arc<Event>,
    /// What it counts against a queue's byte budget.
    size: usize,
    encoded: [OnceLock<Message>; 3],
}

impl Delivery {
    pub(crate) fn new(event: Arc<Event>) -> Delivery {
        let size = 64
            + event.headers.iter().map(|(n, v)| n.len() + v.len() + 4).sum::<usize>()
            + event.body.as_ref().map_or(0, String::len);
        Delivery { event, size, encoded: Default::default() }
    }

    /// Appends the framed message in `format` to `out`. An event no other queue holds is
    /// encoded straight into `out` (via `scratch`), with nothing kept; a shared one is
    /// encoded once and its bytes copied by every writer.
    pub(crate) fn append_to(self: &Arc<Self>, format: Format, scratch: &mut String, out: &mut Vec<u8>) {
        let slot = &self.encoded[format as usize];
        match slot.get() {
            None if Arc::strong_count(self) == 1 => wire::append_event(&self.event, format, scratch, out),
            _ => self.message(format).append_to(out),
        }
    }

    /// The framed message in `format`, encoded by the first caller only.
    pub(crate) fn message(&self, format: Format) -> &Message {
        self.encoded[format as usize].get_or_init(|| wire::event_message(&self.event, format))
    }
}

/// What a listener wants: its subscription, filters and `myevents` binding.
#[derive(Debug, Default)]
pub(crate) struct Interest {
    pub sub: Subscription,
    /// `myevents UUID`: only that channel's events.
    pub myevents: Option<String>,
}

impl Interest {
    pub(crate) fn wants(&self, event: &Event) -> bool {
        self.sub.wants(event) && self.myevents.as_deref().is_none_or(|u| event.get("Unique-ID") == Some(u))
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
        q.items.clear();
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
        let mut delivery: Option<Arc<Delivery>> = None;
        for l in all.iter() {
            if !l.listening.load(Ordering::Acquire) || !l.interest().wants(event) {
                continue;
            }
            let d = delivery.get_or_insert_with(|| Arc::new(Delivery::new(event.clone())));
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
