//! The model's event stream. Every fired event goes, on the firing thread and in firing
//! order, to the attached sink (the server's listener queues: FreeSWITCH's
//! `event_handler` runs on the dispatching thread too) and then to broadcast observers
//! (tests, the scenario runner), which see it only if they keep up.

use std::sync::{Arc, OnceLock};

use tokio::sync::broadcast;

use super::event::Event;

/// Where the server's listeners receive fired events.
pub(crate) trait EventSink: Send + Sync {
    fn deliver(&self, event: &Arc<Event>);
}

/// A cloneable sender; all clones feed the same sink and observers.
#[derive(Clone)]
pub struct EventBus {
    observers: broadcast::Sender<Arc<Event>>,
    sink: Arc<OnceLock<Arc<dyn EventSink>>>,
}

impl EventBus {
    /// Observers may fall `capacity` events behind before they see `Lagged`.
    pub fn new(capacity: usize) -> EventBus {
        let (observers, _) = broadcast::channel(capacity.max(1));
        EventBus { observers, sink: Arc::new(OnceLock::new()) }
    }

    /// Fires an event.
    pub fn send(&self, event: Arc<Event>) {
        if let Some(sink) = self.sink.get() {
            sink.deliver(&event);
        }
        if self.observers.receiver_count() > 0 {
            let _ = self.observers.send(event);
        }
    }

    /// Every event fired from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.observers.subscribe()
    }

    /// Connects the server's listeners; only the first call takes effect.
    pub(crate) fn attach(&self, sink: Arc<dyn EventSink>) {
        let _ = self.sink.set(sink);
    }
}
