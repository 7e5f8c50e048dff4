//! The integration tests of this crate, one binary: each module was once its own test
//! binary, and linking the crate once instead of per file is most of the build time saved.

mod common;
mod link_support;
mod story;

mod backends;
mod calls_flow;
mod calls_tmux;
mod calls_view;
mod cli;
mod daemon_blf;
mod daemon_cli;
mod daemon_hil;
mod daemon_truth;
mod docs_commands;
mod first_run;
mod golden;
mod imports;
mod link_faults;
mod link_state;
mod mock_fs_cli;
mod mock_fs_http;
mod power_budget;
mod roundtrip;
mod sip_load_leds;
mod sip_softphone;
mod terminal_preview;
mod tools_cli;
mod tools_probe;
mod tools_selftest;
mod tools_wizard;
mod webrtc_pages;
