//! A mock FreeSWITCH: the Event Socket protocol (inbound mode) over a PBX model.
//!
//! * [`server`]: [`MockFreeSwitch::start`] / [`run_mock`], the accept loop, ACL, HEARTBEAT timer.
//! * `connection`: one client session (auth, commands, event delivery, notices).
//! * [`command`]: client → server framing; [`wire`]: server → client bytes and event formats.
//! * [`filter`]: `event`/`nixevent`/`filter` semantics; [`acl`]: CIDR allow-lists.
//! * [`fault`]: misbehaviour on demand; [`pbx`]: the model every answer derives from.

pub mod acl;
pub mod command;
mod connection;
pub mod event;
pub mod fault;
pub mod filter;
pub mod pbx;
pub mod server;
pub mod wire;

pub use acl::Cidr;
pub use server::{run_mock, MockConfig, MockError, MockFreeSwitch, MockHandle};
