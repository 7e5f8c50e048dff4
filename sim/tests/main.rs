//! The integration tests of this crate, one binary: each module was once its own test
//! binary, and linking the crate once instead of per file is most of the build time saved.

mod esl_support;
mod node_support;

mod chain_luma;
mod chain_max7219;
mod chain_props;
mod chain_registers;
mod chain_shift;
mod esl_bound;
mod esl_client;
mod esl_limits;
mod esl_outbound;
mod esl_outbound_modesl;
mod esl_props;
mod esl_raw;
mod esl_wire;
mod http_api;
mod http_httapi;
mod live_suite;
mod pbx_api;
mod pbx_consistency;
mod pbx_events;
mod pbx_registry;
mod pbx_scenarios;
mod sip_b2bua;
mod sip_calls;
mod sip_chat;
mod sip_dialplan;
mod sip_pages;
mod sip_register;
mod sip_sipp;
mod sip_timers;
mod sip_ws;
mod sip_ws_sipjs;
