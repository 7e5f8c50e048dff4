//! The PBX status model: what one FreeSWITCH server (or several) is doing right now.
//!
//! ESL has no replay, so state is rebuilt on every (re)connect from `api` outputs ([`api`]
//! parses them into a [`RefreshResult`]) and then kept current by events
//! ([`PbxStatus::apply_event`]). Events come in through the small [`Headers`] trait, so this
//! module has no network code and runs the same on captured text as on a live socket.

pub mod api;
pub mod calls;
mod headers;
mod model;
pub mod sip;
pub mod tracking;

#[cfg(test)]
pub(crate) mod fixtures;

pub use api::{GatewayState, ParseError, RegistrationList, StatusInfo, VersionInfo};
pub use calls::{CallInfo, CallOutcome, Notice};
pub use headers::{percent_decode, HeaderMap, Headers};
pub use model::{Aggregate, LinkState, LinkView, PbxStatus, RefreshResult, StatusView};
pub use sip::{reason_phrase, sip_for_cause, SipStatus};
