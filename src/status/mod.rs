//! The PBX status model: what one FreeSWITCH server (or several) is doing right now.
//!
//! ESL has no replay, so state is rebuilt on every (re)connect from the answers to
//! [`RefreshCommand`]s (gathered in a [`RefreshResult`]) and then kept current by events
//! ([`PbxStatus::apply_event`]). Events come in through the small [`Headers`] trait, so this
//! module has no network code and runs the same on captured text as on a live socket.
//!
//! ```
//! use eslmatrix::status::{HeaderMap, LinkState, Notice, PbxStatus, RefreshCommand, RefreshResult};
//! use tokio::time::Instant;
//!
//! let now = Instant::now();
//! let mut pbx = PbxStatus::new("office");
//! pbx.set_link(LinkState::Up);
//! // After every (re)connect: mark the start, run the api commands, hand over the bodies.
//! pbx.begin_refresh();
//! let mut refresh = RefreshResult::default();
//! refresh.record(&RefreshCommand::ChannelsJson, r#"{"row_count": 0}"#).unwrap();
//! refresh.record(&RefreshCommand::RegistrationsCount, "\n7 total.\n").unwrap();
//! pbx.apply_refresh(&refresh, now);
//! assert_eq!((pbx.calls(), pbx.registrations(), pbx.is_stale()), (Some(0), Some(7), false));
//!
//! // Then follow events.
//! let ring = HeaderMap::new()
//!     .with("Event-Name", "CHANNEL_CREATE")
//!     .with("Unique-ID", "6f1c")
//!     .with("Call-Direction", "inbound")
//!     .with("Caller-Caller-ID-Number", "1001")
//!     .with("Caller-Caller-ID-Name", "Alice")
//!     .with("Caller-Destination-Number", "1000");
//! match pbx.apply_event(&ring, now) {
//!     Some(Notice::Incoming(call)) => assert_eq!(call.label(), "Alice (1001) → 1000"),
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(pbx.calls(), Some(1));
//! ```

pub mod api;
pub mod call_flow;
pub mod call_table;
pub mod calls;
pub mod gateway_table;
mod headers;
pub mod lines;
mod model;
mod refresh;
pub mod reg_table;
pub mod sip;
pub mod tracking;

#[cfg(test)]
mod convergence;

#[cfg(test)]
pub(crate) mod fixtures;

pub use api::{GatewayState, ParseError, RegistrationList, StatusInfo, VersionInfo};
pub use calls::{CallInfo, CallOutcome, Notice};
pub use headers::{percent_decode, HeaderMap, Headers, PackedHeaders};
pub use lines::{LineState, LineStates};
pub use model::{Aggregate, LinkState, LinkView, PbxStatus, StatusView};
pub use refresh::{RefreshCommand, RefreshResult};
pub use sip::{reason_phrase, sip_for_cause, SipStatus};
pub use tracking::Drift;
