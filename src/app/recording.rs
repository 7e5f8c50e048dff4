//! A view that remembers every picture the LEDs showed and when, for hardware-in-the-loop
//! tests (golden frame sequences) and for checking what a run displayed.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use crate::backend::view::{View, ViewError};
use crate::backend::LedGrid;

/// One picture, as `#`/`.` rows, and the time it appeared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shot {
    /// Tokio time since the recording started.
    pub at: Duration,
    /// The LEDs as `#`/`.` rows.
    pub rows: Vec<String>,
}

/// The pictures recorded so far; cloning shares the same record.
#[derive(Debug, Clone, Default)]
pub struct Recording(Arc<Mutex<Vec<Shot>>>);

impl Recording {
    /// An empty recording.
    pub fn new() -> Self {
        Self::default()
    }

    /// A view for an [`Output`](crate::backend::Output) that adds to this record.
    pub fn view(&self) -> Box<dyn View> {
        Box::new(Recorder(self.clone()))
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Shot>> {
        // A panic elsewhere while holding the lock leaves the list itself intact.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every change, in order.
    pub fn shots(&self) -> Vec<Shot> {
        self.lock().clone()
    }

    /// The distinct pictures in order of first appearance, each once: what a person would
    /// list watching the display, independent of scroll timing jitter.
    pub fn distinct(&self) -> Vec<Vec<String>> {
        let mut seen: Vec<Vec<String>> = Vec::new();
        for s in self.lock().iter() {
            if !seen.contains(&s.rows) {
                seen.push(s.rows.clone());
            }
        }
        seen
    }

    /// Whether some recorded picture is exactly `rows`.
    pub fn showed(&self, rows: &[String]) -> bool {
        self.lock().iter().any(|s| s.rows == rows)
    }

    /// The last picture, if any.
    pub fn last(&self) -> Option<Shot> {
        self.lock().last().cloned()
    }
}

/// Pictures as one text block, each headed by its number, for snapshots.
pub fn sequence_text(pictures: &[Vec<String>]) -> String {
    let mut out = String::new();
    for (i, rows) in pictures.iter().enumerate() {
        out.push_str(&format!("#{i}\n"));
        for r in rows {
            out.push_str(r);
            out.push('\n');
        }
    }
    out
}

struct Recorder(Recording);

impl View for Recorder {
    fn show(&mut self, leds: &LedGrid, at: Duration) -> Result<(), ViewError> {
        let rows = leds.to_rows();
        let mut shots = self.0.lock();
        if shots.last().is_none_or(|s| s.rows != rows) {
            shots.push(Shot { at, rows });
        }
        Ok(())
    }
}
