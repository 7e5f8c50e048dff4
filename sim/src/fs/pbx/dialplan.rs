//! An XML-dialplan subset (mod_dialplan_xml): contexts of extensions whose conditions
//! match a caller-profile field or a variable by regex, and the applications the model
//! runs for a matching extension (mod_dptools semantics, without media).
//!
//! Shipped defaults (conf/vanilla/dialplan): context `default` with `local_extension`
//! (`10[01][0-9]` bridged to the registered user, `hangup_after_bridge=true`) and 9196
//! (answer, echo); context `public` transferring `10[01][0-9]` to `default`. Scenario TOML
//! adds contexts or extensions in front of these.
//!
//! Who is routed here: `loopback/` B legs, `transfer`s, `originate … EXT`, and every INVITE
//! from a real SIP client (`Pbx::sip_invite`, in the caller's `default` context). A
//! `bridge` from such a call to a device that registered over SIP blocks until the device
//! answers or refuses (`channel::BridgeWait`); a refusal runs `switch_channel_handle_cause`
//! as FreeSWITCH does (`continue_on_fail` `true` or a list of causes; NO_ANSWER,
//! NO_USER_RESPONSE and ORIGINATOR_CANCEL always continue when it is unset).

use regex::Regex;

use super::causes::Cause;
use super::channel::ChanState;
use super::State;

/// Bound on the applications one channel runs in a row without blocking (a transfer loop
/// in a scenario's dialplan must not spin forever; FreeSWITCH caps transfers at
/// `max_forwards` 70 too).
const MAX_STEPS: usize = 256;

/// One `<condition field=… expression=…>`.
#[derive(Clone, Debug)]
pub struct Condition {
    /// The caller-profile field or channel variable tested (`destination_number`).
    pub field: String,
    /// What the field's value must match.
    pub expression: Regex,
}

/// One `<extension>`: all conditions must match; its actions run in order.
#[derive(Clone, Debug)]
pub struct Extension {
    /// `name`: what logs and errors call it.
    pub name: String,
    /// All must match for the extension to run.
    pub conditions: Vec<Condition>,
    /// `(application, data)`, e.g. `("bridge", "user/1001")`.
    pub actions: Vec<(String, String)>,
}

/// One `<context>`: its extensions, tried in order.
#[derive(Clone, Debug)]
pub struct Context {
    /// The context name a channel is routed in (`default`, `public`).
    pub name: String,
    /// Tried in order; the first whose conditions all match runs.
    pub extensions: Vec<Extension>,
}

/// The dialplan: contexts searched by name.
#[derive(Clone, Debug)]
pub struct Dialplan {
    /// Looked up by name; a scenario's contexts are added to the shipped ones.
    pub contexts: Vec<Context>,
}

fn ext(name: &str, field: &str, re: &str, actions: &[(&str, &str)]) -> Extension {
    Extension {
        name: name.to_string(),
        conditions: vec![Condition {
            field: field.to_string(),
            expression: Regex::new(re).unwrap_or_else(|_| Regex::new("^$").expect("literal")),
        }],
        actions: actions.iter().map(|(a, d)| (a.to_string(), d.to_string())).collect(),
    }
}

impl Default for Dialplan {
    fn default() -> Self {
        Dialplan {
            contexts: vec![
                Context {
                    name: "default".into(),
                    extensions: vec![
                        ext(
                            "local_extension",
                            "destination_number",
                            "^(10[01][0-9])$",
                            &[
                                ("export", "dialed_extension=$1"),
                                ("set", "hangup_after_bridge=true"),
                                ("bridge", "user/${dialed_extension}@${domain_name}"),
                            ],
                        ),
                        ext("echo", "destination_number", "^9196$", &[("answer", ""), ("echo", "")]),
                    ],
                },
                Context {
                    name: "public".into(),
                    extensions: vec![ext(
                        "public_extensions",
                        "destination_number",
                        "^(10[01][0-9])$",
                        &[("transfer", "$1 XML default")],
                    )],
                },
            ],
        }
    }
}

/// Why a scenario's dialplan could not be used.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("dialplan context {context:?} extension {extension:?}: {message}")]
pub struct DialplanError {
    /// The context the extension was for.
    pub context: String,
    /// The extension's name.
    pub extension: String,
    /// What is wrong (a condition regex that does not compile).
    pub message: String,
}

/// A scenario's extension before it is compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExtensionSpec {
    /// The context it joins (created when new).
    pub context: String,
    /// The extension's name.
    pub name: String,
    /// `(field, regex)`; an empty field means `destination_number`.
    pub conditions: Vec<(String, String)>,
    /// `"app data"` strings, e.g. `"hangup USER_BUSY"`.
    pub actions: Vec<String>,
}

impl Dialplan {
    /// Adds scenario extensions ahead of the shipped ones of their context.
    pub fn extend(&mut self, specs: &[ExtensionSpec]) -> Result<(), DialplanError> {
        let mut compiled: Vec<(String, Extension)> = Vec::new();
        for s in specs {
            let err = |m: String| DialplanError {
                context: s.context.clone(),
                extension: s.name.clone(),
                message: m,
            };
            let mut conditions = Vec::new();
            for (field, re) in &s.conditions {
                let expression = Regex::new(re).map_err(|e| err(format!("bad expression {re:?}: {e}")))?;
                let field = if field.is_empty() { "destination_number".to_string() } else { field.clone() };
                conditions.push(Condition { field, expression });
            }
            let actions = s
                .actions
                .iter()
                .map(|a| match a.trim().split_once(' ') {
                    Some((app, data)) => (app.to_string(), data.trim().to_string()),
                    None => (a.trim().to_string(), String::new()),
                })
                .collect();
            compiled.push((s.context.clone(), Extension { name: s.name.clone(), conditions, actions }));
        }
        for (context, e) in compiled.into_iter().rev() {
            match self.contexts.iter_mut().find(|c| c.name == context) {
                Some(c) => c.extensions.insert(0, e),
                None => self.contexts.push(Context { name: context, extensions: vec![e] }),
            }
        }
        Ok(())
    }
}

/// What an application did to the channel's flow.
enum Flow {
    /// Returned: the next action runs.
    Next,
    /// Blocks (park, echo, a bridge that is up, a connected socket): nothing runs until it is left.
    Blocked,
    /// The channel is gone or moved (hangup, transfer).
    Stop,
}

/// `$1`… from the last regex captures, as mod_dialplan_xml substitutes them.
fn substitute(data: &str, captures: &[String]) -> String {
    let mut out = String::with_capacity(data.len());
    let mut chars = data.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '$' {
            if let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
                chars.next();
                out.push_str(captures.get(d as usize).map(String::as_str).unwrap_or(""));
                continue;
            }
        }
        out.push(c);
    }
    out
}

impl State {
    /// `switch_channel_expand_variables`: `${name}` from the channel, then globals.
    pub(super) fn expand(&self, uuid: &str, data: &str) -> String {
        let mut out = String::with_capacity(data.len());
        let mut rest = data;
        while let Some(pos) = rest.find("${") {
            out.push_str(&rest[..pos]);
            let after = &rest[pos + 2..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[pos..]);
                return out;
            };
            let name = &after[..end];
            let value = self
                .chan(uuid)
                .and_then(|c| c.var(name).map(str::to_string))
                .or_else(|| self.globals.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
                .unwrap_or_default();
            out.push_str(&value);
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    /// A caller-profile field or variable a condition tests.
    fn field_value(&self, uuid: &str, field: &str) -> String {
        let Some(ch) = self.chan(uuid) else { return String::new() };
        let p = &ch.profile;
        match field {
            "destination_number" => p.dest.clone(),
            "caller_id_number" => p.cid_num.clone(),
            "caller_id_name" => p.cid_name.clone(),
            "ani" => p.cid_num.clone(),
            "context" => p.context.clone(),
            "network_addr" => p.network_addr.clone(),
            "username" => p.username.clone(),
            "uuid" | "chan_name" => {
                if field == "uuid" {
                    ch.uuid.clone()
                } else {
                    ch.name.clone()
                }
            }
            f if f.starts_with("${") => self.expand(uuid, f),
            f => ch.var(f).unwrap_or_default().to_string(),
        }
    }

    /// mod_dialplan_xml's hunt: the first extension of the context whose conditions all
    /// match; its actions with `$N` filled from the last condition's captures.
    fn hunt(&self, uuid: &str) -> Option<Vec<(String, String)>> {
        let context = self.chan(uuid)?.profile.context.clone();
        let ctx = self.dialplan.contexts.iter().find(|c| c.name == context)?;
        'ext: for e in &ctx.extensions {
            let mut captures: Vec<String> = Vec::new();
            for c in &e.conditions {
                let value = self.field_value(uuid, &c.field);
                match c.expression.captures(&value) {
                    Some(caps) => {
                        captures = caps
                            .iter()
                            .map(|m| m.map(|m| m.as_str().to_string()).unwrap_or_default())
                            .collect();
                    }
                    None => continue 'ext,
                }
            }
            return Some(e.actions.iter().map(|(a, d)| (a.clone(), substitute(d, &captures))).collect());
        }
        None
    }

    /// CS_ROUTING then CS_EXECUTE with the extension found (`switch_core_standard_on_routing`);
    /// no extension: hangup NO_ROUTE_DESTINATION.
    pub(super) fn route_channel(&mut self, uuid: &str) {
        self.set_state(uuid, ChanState::Routing);
        match self.hunt(uuid) {
            Some(actions) => {
                self.set_state(uuid, ChanState::Execute);
                self.run_actions(uuid, actions);
            }
            None => {
                self.kill(uuid, &Cause::named("NO_ROUTE_DESTINATION"));
            }
        }
    }

    /// Runs an inline or dialplan extension from its first action.
    pub(super) fn run_actions(&mut self, uuid: &str, actions: Vec<(String, String)>) {
        if let Some(ch) = self.chan_mut(uuid) {
            ch.pending = actions;
        }
        self.resume(uuid);
    }

    /// Runs pending actions until one blocks; an extension that runs out ends the call
    /// (`switch_core_standard_on_execute`: "has executed the last dialplan instruction,
    /// hanging up", NORMAL_CLEARING).
    pub(super) fn resume(&mut self, uuid: &str) {
        for _ in 0..MAX_STEPS {
            let Some(ch) = self.chan_mut(uuid) else { return };
            if ch.hungup {
                return;
            }
            if ch.pending.is_empty() {
                self.kill(uuid, &Cause::named("NORMAL_CLEARING"));
                return;
            }
            let (app, data) = ch.pending.remove(0);
            let data = self.expand(uuid, &data);
            match self.run_app(uuid, &app, &data) {
                Flow::Next => continue,
                Flow::Blocked | Flow::Stop => return,
            }
        }
        self.kill(uuid, &Cause::named("EXCHANGE_ROUTING_ERROR"));
    }

    /// One application (mod_dptools), without media: timings are not simulated, a
    /// playback returns at once with `FILE PLAYED`.
    fn run_app(&mut self, uuid: &str, app: &str, data: &str) -> Flow {
        self.start_app(uuid, app, data);
        let flow = match app {
            "answer" => {
                self.answer_leg(uuid);
                Flow::Next
            }
            "pre_answer" | "ring_ready" | "sleep" | "log" | "info" | "noop" | "start_dtmf"
            | "sched_hangup" => Flow::Next,
            "playback" | "speak" | "say" | "gentones" | "playback_terminators" => {
                self.set_var(uuid, "current_application_response", "FILE PLAYED");
                Flow::Next
            }
            "set" | "export" => {
                let (k, v) = data.split_once('=').unwrap_or((data, ""));
                if !k.is_empty() {
                    self.set_var(uuid, k, v);
                    if app == "export" {
                        let list = self.chan(uuid).and_then(|c| c.var("export_vars").map(str::to_string));
                        let list = match list {
                            Some(l) if !l.split(',').any(|x| x == k) => format!("{l},{k}"),
                            Some(l) => l,
                            None => k.to_string(),
                        };
                        self.set_var(uuid, "export_vars", &list);
                    }
                }
                Flow::Next
            }
            "unset" => {
                if let Some(ch) = self.chan_mut(uuid) {
                    ch.vars.retain(|(n, _)| n != data);
                }
                Flow::Next
            }
            "park" => {
                self.park(uuid);
                Flow::Blocked
            }
            "socket" if self.socket_app(uuid, data) => Flow::Blocked,
            "socket" => Flow::Next,
            "httapi" if self.httapi_app(uuid, data) => Flow::Blocked,
            "httapi" => Flow::Next,
            "echo" | "conference" | "fifo" | "playback_forever" => Flow::Blocked,
            "hangup" => {
                let cause = Cause::parse(data).unwrap_or_else(|| Cause::named("NORMAL_CLEARING"));
                self.kill(uuid, &cause);
                Flow::Stop
            }
            "transfer" => {
                let argv = super::dialstring::separate_blank(data, 4);
                self.finish_app(uuid);
                self.transfer(
                    uuid,
                    argv.first().map(String::as_str).unwrap_or(""),
                    argv.get(2).map(String::as_str),
                );
                return Flow::Stop;
            }
            "bridge" => {
                return match self.bridge_app(uuid, data) {
                    super::endpoints::BridgeFlow::Up => Flow::Blocked,
                    super::endpoints::BridgeFlow::Failed(cause) if self.bridge_failed(uuid, &cause) => {
                        Flow::Next
                    }
                    super::endpoints::BridgeFlow::Failed(_) => Flow::Stop,
                };
            }
            _ => {
                // switch_core_session_execute_application_get_flags: "Invalid Application".
                if let Some(ch) = self.chan_mut(uuid) {
                    ch.app_running = false;
                }
                self.kill(uuid, &Cause::named("DESTINATION_OUT_OF_ORDER"));
                return Flow::Stop;
            }
        };
        if matches!(flow, Flow::Next) {
            self.finish_app(uuid);
        }
        flow
    }

    pub(super) fn set_var(&mut self, uuid: &str, name: &str, value: &str) {
        if let Some(ch) = self.chan_mut(uuid) {
            ch.set_var(name, value);
        }
    }

    /// `switch_ivr_session_transfer`: the leg leaves its application, gets the new
    /// destination (and context) and routes again.
    pub(super) fn transfer(&mut self, uuid: &str, dest: &str, context: Option<&str>) {
        // A bridge still ringing a device gives up: the originate sees its caller leave
        // (switch_ivr_originate.c IDX_CANCEL) and the device leg ends ORIGINATOR_CANCEL.
        if let Some(wait) = self.chan_mut(uuid).and_then(|c| c.bridge_wait.take()) {
            let end = self.local_end(&wait.b, &Cause::named("ORIGINATOR_CANCEL"));
            self.end_legs(&[end]);
        }
        self.leave_app(uuid);
        let now = self.now_us();
        let Some(ch) = self.chan_mut(uuid) else { return };
        ch.pending.clear();
        ch.profile.dest = dest.to_string();
        if let Some(c) = context.filter(|c| !c.is_empty()) {
            ch.profile.context = c.to_string();
        }
        ch.transfer_us = now;
        self.route_channel(uuid);
    }

    /// `switch_ivr_parse_event` for a `sendmsg`: `execute` runs the application now, even
    /// inside a running one (park, echo keep running around it; a blocking one takes
    /// over), `hangup` ends the leg with `hangup-cause`. `Event-UUID` names the
    /// application run (`app_uuid`). The argument is `execute-app-arg`, else the body when
    /// `content-type` is `text/plain`. `loops` repeats only an application that took at
    /// least half a second (`aftr - b4 < 500000` breaks the loop), so with the model's
    /// instant applications it runs once (none for `loops: 0`), with `current_loop` and
    /// `total_loops` set meanwhile. `unicast` and `nomedia` need media: accepted, no effect.
    /// `event-lock` orders a queue of them, which the model runs in order anyway.
    pub(super) fn sendmsg(&mut self, uuid: &str, cmd: &crate::fs::command::Command) -> String {
        let command = cmd.header("call-command").unwrap_or("").to_ascii_lowercase();
        match command.as_str() {
            "execute" => {
                let app = cmd.header("execute-app-name").unwrap_or("").to_string();
                let text_body =
                    cmd.header("content-type").is_some_and(|t| t.eq_ignore_ascii_case("text/plain"));
                let arg = match cmd.header("execute-app-arg").filter(|a| !a.is_empty()) {
                    Some(a) => a.to_string(),
                    None if text_body => {
                        cmd.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
                    }
                    None => String::new(),
                };
                let loops = cmd.header("loops").map_or(1, |l| super::atol(l) as i32);
                if app.is_empty() || loops == 0 {
                    return "+OK".into();
                }
                if let Some(id) = cmd.header("Event-UUID") {
                    self.set_var(uuid, "app_uuid", id);
                }
                if let Some(n) = cmd.header("Event-UUID-Name") {
                    self.set_var(uuid, "app_uuid_name", n);
                }
                self.set_var(uuid, "current_loop", "1");
                self.set_var(uuid, "total_loops", &loops.to_string());
                self.execute_now(uuid, &app, &arg);
                if let Some(ch) = self.chan_mut(uuid) {
                    ch.vars.retain(|(n, _)| n != "current_loop" && n != "total_loops");
                }
            }
            "hangup" => {
                let cause = cmd
                    .header("hangup-cause")
                    .and_then(Cause::parse)
                    .unwrap_or_else(|| Cause::named("NORMAL_CLEARING"));
                self.kill(uuid, &cause);
            }
            _ => {}
        }
        "+OK".into()
    }

    /// Runs one application now; the one that was running resumes unless this one blocks.
    pub(super) fn execute_now(&mut self, uuid: &str, app: &str, data: &str) {
        let Some(ch) = self.chan(uuid) else { return };
        if ch.hungup {
            return;
        }
        let saved =
            (ch.application.clone(), ch.application_data.clone(), ch.app_running, ch.app_uuid.clone());
        let data = self.expand(uuid, data);
        let flow = self.run_app(uuid, app, &data);
        if matches!(flow, Flow::Next) && saved.2 {
            if let Some(ch) = self.chan_mut(uuid) {
                (ch.application, ch.application_data, ch.app_running, ch.app_uuid) = saved;
            }
        }
    }
}
