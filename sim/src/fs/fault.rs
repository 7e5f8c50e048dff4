//! Fault injection: what a test or a scenario can make the mock do wrong.
//!
//! A [`FaultControl`] is shared by the server, the scenario runner and tests. Faults go
//! to every live connection, or to one connection by its id (connections are numbered
//! from 1 in accept order).

use serde::Deserialize;
use tokio::sync::broadcast;

/// One misbehaviour. Connection-level faults change how that connection writes or
/// ends; server-level faults (`Restart`, `Shutdown`) act on the whole mock.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// From now on, every write is cut into chunks of at most `max` bytes (1 = drip).
    SplitWrites {
        /// Largest chunk in bytes; 0 is read as 1.
        max: usize,
    },
    /// Back to whole writes.
    WholeWrites,
    /// The connection writes nothing for `ms` milliseconds (tokio time).
    Stall {
        /// Length of the silence.
        ms: u64,
    },
    /// The next message stops halfway through its header block for `ms` milliseconds
    /// (tokio time), then the rest follows: a server stuck mid-frame.
    StallMidFrame {
        /// Length of the pause inside the frame.
        ms: u64,
    },
    /// The next message is cut off in the middle of its header block and the socket closed.
    CloseMidHeader,
    /// The next message with a body is cut off in the middle of the body and the socket closed.
    CloseMidBody,
    /// A frame that is not ESL (no header block terminator, binary bytes) is written.
    Garbage,
    /// A well-framed `text/event-plain` whose event has a line that is not a header: the
    /// stream stays in step, only that one event is unreadable.
    MalformedEvent,
    /// `text/disconnect-notice` "The system is being shut down." then close. Injected to
    /// all, every connection gets it; the listener stays up so clients can reconnect
    /// (use `Restart` for a port that goes away, `MockHandle::shutdown` for the real end).
    Shutdown,
    /// `text/disconnect-notice` "killed listener because of lost events" then close.
    SlowReaderKill,
    /// Events are held back until the connection reads its next command, then written
    /// ahead of that command's reply — what FreeSWITCH does when its queue drains while it
    /// reads a command. Makes "an event races ahead of a reply" deterministic.
    HoldEvents,
    /// The listener goes away for `down_ms` milliseconds: every connection is closed,
    /// connects are refused, and the PBX comes back with its counters reset.
    Restart {
        /// How long the port stays closed.
        down_ms: u64,
    },
}

/// Where a fault goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Every live connection, and the server for server-level faults.
    All,
    /// One connection, by its number (counted from 1 in accept order).
    Connection(u64),
}

/// A cloneable handle to inject faults.
#[derive(Clone, Debug)]
pub struct FaultControl {
    tx: broadcast::Sender<(Target, Fault)>,
}

impl Default for FaultControl {
    fn default() -> Self {
        Self::new()
    }
}

impl FaultControl {
    /// A control with no subscriber yet. Up to 256 faults wait per subscriber; one that
    /// falls further behind loses the oldest (tokio broadcast's rule).
    pub fn new() -> Self {
        let (tx, _) = broadcast::channel(256);
        FaultControl { tx }
    }

    /// Injects a fault into every live connection (or the server, for server-level faults).
    pub fn inject(&self, fault: Fault) {
        let _ = self.tx.send((Target::All, fault));
    }

    /// Injects a fault into one connection.
    pub fn inject_into(&self, connection: u64, fault: Fault) {
        let _ = self.tx.send((Target::Connection(connection), fault));
    }

    /// For the server and its connections: receives every injected fault.
    pub fn subscribe(&self) -> broadcast::Receiver<(Target, Fault)> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_read_from_scenario_text() {
        let parsed: Vec<Fault> = serde_json::from_str(
            r#"[{"kind":"split_writes","max":1},{"kind":"hold_events"},{"kind":"restart","down_ms":1500}]"#,
        )
        .unwrap();
        assert_eq!(
            parsed,
            [Fault::SplitWrites { max: 1 }, Fault::HoldEvents, Fault::Restart { down_ms: 1500 }]
        );
        assert!(serde_json::from_str::<Fault>(r#"{"kind":"explode"}"#).is_err());
    }

    #[test]
    fn targets_reach_subscribers() {
        let control = FaultControl::new();
        let mut rx = control.subscribe();
        control.inject(Fault::Garbage);
        control.inject_into(3, Fault::Stall { ms: 10 });
        assert_eq!(rx.try_recv().unwrap(), (Target::All, Fault::Garbage));
        assert_eq!(rx.try_recv().unwrap(), (Target::Connection(3), Fault::Stall { ms: 10 }));
    }
}
