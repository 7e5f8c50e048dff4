//! A mock FreeSWITCH: the Event Socket protocol (inbound mode) over a PBX model.

pub mod event;
pub mod fault;
pub mod pbx;
