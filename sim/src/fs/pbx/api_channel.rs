//! Channel and core-variable API commands of mod_commands.c, with its exact texts
//! (including the ones without a trailing newline: `uuid_exists`, `uuid_getvar`,
//! `global_setvar`, `msleep`, `hostname`, `echo`, `eval`).

use super::channel::{CallState, ChanState};
use super::dialstring::{separate_blank, separate_char};
use super::{Site, State};
use crate::fs::wire;

const SETVAR_SYNTAX: &str = "<uuid> <var> [value]";
const SETVAR_MULTI_SYNTAX: &str = "<uuid> <var>=<value>;<var>=<value>...";
const GETVAR_SYNTAX: &str = "<uuid> <var>";
const DUMP_SYNTAX: &str = "<uuid> [format]";
const UUID_SYNTAX: &str = "<uuid> <other_uuid>";
const TRANSFER_SYNTAX: &str = "<uuid> [-bleg|-both] <dest-exten> [<dialplan>] [<context>]";
const PARK_SYNTAX: &str = "<uuid>";
const HOLD_SYNTAX: &str = "[off|toggle] <uuid> [<display>]";
const GLOBAL_SETVAR_SYNTAX: &str = "<var>=<value> [=<value2>]";
const NO_CHANNEL: &str = "-ERR No such channel!\n";

const SITE_DUMP: Site = ("mod_commands.c", "uuid_dump_function", 6495);
const SITE_HOLD: Site = ("switch_ivr.c", "switch_ivr_hold", 1558);
const SITE_UNHOLD: Site = ("switch_ivr.c", "switch_ivr_unhold", 1638);

impl State {
    /// The commands of this module, or `None` when `command` is not one of them.
    pub(super) fn channel_api(&mut self, command: &str, args: &str) -> Option<String> {
        Some(match command {
            "uuid_exists" => {
                let live = !args.is_empty() && self.locate(args).is_some();
                (if live { "true" } else { "false" }).to_string()
            }
            "uuid_getvar" => self.uuid_getvar(args),
            "uuid_setvar" => self.uuid_setvar(args),
            "uuid_setvar_multi" => self.uuid_setvar_multi(args),
            "uuid_dump" => self.uuid_dump(args),
            "uuid_answer" => match self.locate(args) {
                Some(_) => {
                    self.answer_leg(args);
                    "+OK\n".into()
                }
                None => "-ERROR\n".into(),
            },
            "uuid_bridge" => self.uuid_bridge(args),
            "uuid_transfer" => self.uuid_transfer(args),
            "uuid_park" => self.uuid_park(args),
            "uuid_hold" => self.uuid_hold(args),
            "hostname" => self.config.hostname.clone(),
            "switchname" => self.config.switchname.clone(),
            "global_getvar" => self.global_getvar(args),
            "global_setvar" => self.global_setvar(args),
            "eval" => self.eval(args),
            "echo" => args.to_string(),
            "reloadxml" => "+OK [Success]\n".into(),
            _ => return None,
        })
    }

    fn uuid_getvar(&self, args: &str) -> String {
        let argv = separate_blank(args, 4);
        if argv.len() < 2 || argv[0].is_empty() {
            return format!("-USAGE: {GETVAR_SYNTAX}\n");
        }
        match self.locate(&argv[0]) {
            None => NO_CHANNEL.into(),
            Some(_) if argv[1].is_empty() => "-ERR No variable name specified!\n".into(),
            Some(ch) => ch.var(&argv[1]).unwrap_or("_undef_").to_string(),
        }
    }

    fn uuid_setvar(&mut self, args: &str) -> String {
        let argv = separate_blank(args, 3);
        if !(2..=3).contains(&argv.len()) || argv[0].is_empty() {
            return format!("-USAGE: {SETVAR_SYNTAX}\n");
        }
        let Some(ch) = self.locate_mut(&argv[0]) else { return NO_CHANNEL.into() };
        if argv[1].is_empty() {
            return "-ERR No variable specified\n".into();
        }
        // switch_channel_add_variable_var_check with no value removes the variable.
        match argv.get(2).filter(|v| !v.is_empty()) {
            Some(v) => ch.set_var(&argv[1], v.clone()),
            None => ch.vars.retain(|(n, _)| n != &argv[1]),
        }
        "+OK\n".into()
    }

    fn uuid_setvar_multi(&mut self, args: &str) -> String {
        let usage = format!("-USAGE: {SETVAR_MULTI_SYNTAX}\n");
        let Some((uuid, vars)) = args.split_once(' ') else { return usage };
        let Some(ch) = self.locate_mut(uuid) else { return format!("{NO_CHANNEL}{usage}") };
        let mut out = String::new();
        let mut set = 0;
        for item in separate_char(vars, ';', 64) {
            let (name, value) = item.split_once('=').unwrap_or((item.as_str(), ""));
            if name.is_empty() {
                out.push_str("-ERR No variable specified\n");
            } else {
                if value.is_empty() {
                    ch.vars.retain(|(n, _)| n != name);
                } else {
                    ch.set_var(name, value);
                }
                set += 1;
            }
        }
        if set > 0 {
            out.push_str("+OK\n");
        } else {
            out.push_str(&usage);
        }
        out
    }

    /// `uuid_dump`: a CHANNEL_DATA event of the channel, serialized as `txt` (the plain
    /// event form), `plain` (not URL-encoded), `json` or `xml`.
    fn uuid_dump(&mut self, args: &str) -> String {
        let argv = separate_blank(args, 2);
        let Some(uuid) = argv.first().filter(|u| !u.is_empty()).cloned() else {
            return format!("-USAGE: {DUMP_SYNTAX}\n");
        };
        if self.locate(&uuid).is_none() {
            return NO_CHANNEL.into();
        }
        let ev = self.channel_event("CHANNEL_DATA", SITE_DUMP, &uuid, &[]);
        let format = argv.get(1).map(|f| f.to_ascii_lowercase()).unwrap_or_else(|| "txt".into());
        let bytes = match format.as_str() {
            "json" => wire::encode_json(&ev),
            "xml" => wire::encode_xml(&ev),
            "plain" => {
                let mut out = String::new();
                for (k, v) in &ev.headers {
                    out.push_str(&format!("{k}: {v}\n"));
                }
                out.push('\n');
                out.into_bytes()
            }
            _ => wire::encode_plain(&ev),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// `switch_ivr_uuid_bridge`: both legs leave what they run and are bridged.
    fn uuid_bridge(&mut self, args: &str) -> String {
        let argv = separate_blank(args, 4);
        if argv.len() < 2 {
            return format!("-USAGE: {UUID_SYNTAX}\n");
        }
        let mut who = None;
        for other in argv.iter().skip(1).take(2) {
            if self.locate(&argv[0]).is_some() && self.locate(other).is_some() && argv[0] != *other {
                who = Some(other.clone());
                break;
            }
        }
        let Some(b) = who else { return "-ERR Invalid uuid\n".into() };
        let a = argv[0].clone();
        for leg in [&a, &b] {
            self.leave_app(leg);
            if let Some(ch) = self.chan_mut(leg) {
                ch.pending.clear();
            }
        }
        if let Some(ch) = self.chan_mut(&a) {
            ch.peer = Some((b.clone(), super::channel::PeerRole::Originatee));
        }
        if let Some(ch) = self.chan_mut(&b) {
            ch.peer = Some((a.clone(), super::channel::PeerRole::Originator));
        }
        self.answer_leg(&a);
        self.answer_leg(&b);
        self.bridge(&a, &b);
        format!("+OK {b}\n")
    }

    fn uuid_transfer(&mut self, args: &str) -> String {
        if args.is_empty() {
            return format!("-USAGE: {TRANSFER_SYNTAX}\n");
        }
        let argv = separate_blank(args, 5);
        if argv.len() < 2 {
            return format!("-USAGE: {TRANSFER_SYNTAX}\n");
        }
        if self.locate(&argv[0]).is_none() {
            return NO_CHANNEL.into();
        }
        let (flag, rest) = match argv[1].strip_prefix('-') {
            Some(f) => (Some(f.to_ascii_lowercase()), &argv[2..]),
            None => (None, &argv[1..]),
        };
        let Some(dest) = rest.first().cloned() else { return format!("-USAGE: {TRANSFER_SYNTAX}\n") };
        let context = rest.get(2).cloned();
        let bridged = self.chan(&argv[0]).and_then(|c| c.var("bridge_uuid").map(str::to_string));
        let mut target = argv[0].clone();
        match flag.as_deref() {
            Some("bleg") => {
                if let Some(b) = bridged.filter(|b| self.locate(b).is_some()) {
                    target = b;
                }
            }
            Some("both") => {
                if let Some(b) = bridged.filter(|b| self.locate(b).is_some()) {
                    self.unbridge_for_transfer(&target, &b, false);
                    self.transfer(&b, &dest, context.as_deref());
                }
            }
            _ => {}
        }
        if let Some(b) = self.chan(&target).and_then(|c| self.live_peer(c)).map(str::to_string) {
            self.unbridge_for_transfer(&target, &b, true);
        }
        self.transfer(&target, &dest, context.as_deref());
        "+OK\n".into()
    }

    /// A transferred leg leaves its bridge; the other leg hangs up (hangup_after_bridge)
    /// unless it is being transferred too.
    fn unbridge_for_transfer(&mut self, leg: &str, other: &str, hang_other: bool) {
        if let Some(bridge) = self.calls.remove_bridge_of(leg) {
            self.fire_channel("CHANNEL_UNBRIDGE", super::SITE_UNBRIDGE, &bridge.caller, &[]);
        }
        for me in [leg, other] {
            if let Some(ch) = self.chan_mut(me) {
                ch.peer = None;
            }
        }
        if hang_other {
            self.kill(other, &super::causes::Cause::named("NORMAL_CLEARING"));
        }
    }

    /// `switch_ivr_park_session`: CS_PARK, whose standard handler parks the leg.
    fn uuid_park(&mut self, args: &str) -> String {
        if args.is_empty() {
            return format!("-USAGE: {PARK_SYNTAX}\n");
        }
        if self.locate(args).is_none() {
            return NO_CHANNEL.into();
        }
        self.leave_app(args);
        if let Some(ch) = self.chan_mut(args) {
            ch.pending.clear();
        }
        self.set_state(args, ChanState::Park);
        self.park(args);
        "+OK\n".into()
    }

    /// `uuid_hold [off|toggle] <uuid>` (mod_commands.c `uuid_hold_function`): `+OK Success`
    /// unless the hold or unhold itself fails; a UUID with no channel is a success, as
    /// `switch_ivr_hold_uuid` starts from SWITCH_STATUS_SUCCESS and finds no session to act on.
    fn uuid_hold(&mut self, args: &str) -> String {
        let argv = separate_blank(args, 4);
        let Some(first) = argv.first().filter(|a| !a.is_empty()) else {
            return format!("-USAGE: {HOLD_SYNTAX}\n-ERR Operation failed\n");
        };
        let uuid = |i: usize| argv.get(i).cloned().unwrap_or_default();
        let done = if first.eq_ignore_ascii_case("off") {
            self.unhold(&uuid(1))
        } else if first.eq_ignore_ascii_case("toggle") {
            // switch_ivr_hold_toggle_uuid: only an ACTIVE or UNHELD leg is held, only a HELD
            // one is taken off; any other leg is left alone, successfully.
            let target = uuid(1);
            match self.locate(&target).map(|c| c.callstate) {
                Some(CallState::Active | CallState::Unheld) => self.hold(&target),
                Some(CallState::Held) => self.unhold(&target),
                _ => true,
            }
        } else {
            self.hold(first)
        };
        if done {
            "+OK Success\n".into()
        } else {
            "-ERR Operation failed\n".into()
        }
    }

    /// `switch_ivr_hold`: refused on a leg already HELD. mod_sofia answers
    /// SWITCH_MESSAGE_INDICATE_HOLD by setting CF_LEG_HOLDING, which makes an answered leg
    /// HELD (CHANNEL_CALLSTATE) before CHANNEL_HOLD fires; other endpoints set no such flag,
    /// so their call state stays. (The hold music FreeSWITCH broadcasts to the partner is
    /// not modelled.) `true` when it succeeded or there was no channel.
    fn hold(&mut self, uuid: &str) -> bool {
        let Some(ch) = self.locate(uuid) else { return true };
        if ch.callstate == CallState::Held {
            return false;
        }
        if ch.answered && ch.name.starts_with("sofia/") {
            self.set_callstate(uuid, CallState::Held);
        }
        self.fire_channel("CHANNEL_HOLD", SITE_HOLD, uuid, &[]);
        true
    }

    /// `switch_ivr_unhold`: refused unless the leg is HELD; mod_sofia clears CF_LEG_HOLDING
    /// (the leg becomes UNHELD) before CHANNEL_UNHOLD fires.
    fn unhold(&mut self, uuid: &str) -> bool {
        let Some(ch) = self.locate(uuid) else { return true };
        if ch.callstate != CallState::Held {
            return false;
        }
        self.set_callstate(uuid, CallState::Unheld);
        self.fire_channel("CHANNEL_UNHOLD", SITE_UNHOLD, uuid, &[]);
        true
    }

    fn global_getvar(&self, args: &str) -> String {
        if args.is_empty() {
            // switch_core_dump_variables: one `name=value` line each.
            return self.globals.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
        }
        self.globals.iter().find(|(k, _)| k == args).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    fn global_setvar(&mut self, args: &str) -> String {
        let argv = separate_char(args, '=', 3);
        let Some(name) = argv.first().filter(|n| !n.is_empty() && !args.is_empty()).cloned() else {
            return format!("-USAGE: {GLOBAL_SETVAR_SYNTAX}\n");
        };
        let value = argv.get(1).cloned().unwrap_or_default();
        let pos = self.globals.iter().position(|(k, _)| *k == name);
        // switch_core_set_var_conditional: set only if the current value equals value2.
        if let Some(expected) = argv.get(2).filter(|v| !v.is_empty()) {
            let current = pos.map(|i| self.globals[i].1.clone()).unwrap_or_default();
            if current != *expected {
                return "+OK".into();
            }
        }
        match (pos, value.is_empty()) {
            (Some(i), true) => {
                self.globals.remove(i);
            }
            (Some(i), false) => self.globals[i].1 = value,
            (None, false) => self.globals.push((name, value)),
            (None, true) => {}
        }
        "+OK".into()
    }

    /// `eval [uuid:<uuid> ]<expression>`: `${var}` expanded against the channel.
    fn eval(&self, args: &str) -> String {
        let (uuid, input) = match args.strip_prefix("uuid:").and_then(|r| r.split_once(' ')) {
            Some((u, rest)) => (u.to_string(), rest),
            None => (String::new(), args),
        };
        self.expand(&uuid, input)
    }
}
