//! The daemon: ESL links to one or more FreeSWITCH servers, the scene, and the player
//! that turns cues into frames on an output.
//!
//! Contract between the parts (each runs as its own tokio task):
//! * [`link`] owns one server's connection and its `PbxStatus`. It publishes the latest
//!   `StatusView` on a `watch` channel (so a burst of events costs one redraw, not one per
//!   event) and every `Notice` (calls, outcomes, gateways, pushed messages) on an `mpsc`.
//! * the player owns the `Scene` and the `Output`; it sleeps until the scene's next change,
//!   the scroll clock, or an update arrives.

pub mod calls;
pub mod daemon;
pub mod link;
pub mod player;
pub mod recording;
pub mod show;
