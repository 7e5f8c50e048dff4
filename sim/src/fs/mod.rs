//! A mock FreeSWITCH: the Event Socket protocol (inbound mode) over a PBX model.
//!
//! * [`server`]: [`MockFreeSwitch::start`] / [`run_mock`], the accept loop, connection
//!   limit, HEARTBEAT timer; `shared`: what the server and its connections share.
//! * `connection`: one client session (auth, commands, writing its queued events, notices);
//!   `outbound`: the `socket` application's dialer, whose sessions run the same code;
//!   `session_hold`: a listener's hold on its channel (outbound, or `myevents UUID`).
//! * [`bus`]: the model's event stream; `listeners`: event fan-out with FreeSWITCH's per-listener queue and lost-events rule;
//!   [`limits`]: every bound one client is held to.
//! * [`command`]: client → server framing; [`wire`]: server → client bytes and event formats.
//! * [`filter`]: `event`/`nixevent`/`filter` semantics; [`acl`]: CIDR allow-lists.
//! * [`fault`]: misbehaviour on demand; [`pbx`]: the model every answer derives from.
//! * [`http`]: the web API (mod_xml_rpc's `/api/`, `/webapi/`, `/txtapi/`) over the same model.
//! * [`sip`]: real SIP clients (UDP, TCP; WebSocket) on the internal profile, into the model.
//! * [`userauth`]: `userauth` logins against the directory and their permissions.

pub mod acl;
pub mod bus;
pub mod command;
mod connection;
mod dialer;
pub mod event;
pub mod fault;
pub mod filter;
pub mod http;
pub mod limits;
mod listeners;
mod outbound;
pub mod pbx;
pub mod server;
mod session_hold;
mod shared;
pub mod sip;
pub mod userauth;
pub mod wire;

pub use acl::Cidr;
pub use limits::Limits;
pub use server::{run_mock, MockConfig, MockError, MockFreeSwitch, MockHandle};
