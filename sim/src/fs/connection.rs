//! One client connection: a session of mod_event_socket (greeting, auth, commands, event
//! delivery, notices) with the connection-level faults applied to writes. Inbound sessions
//! are accepted by the server; outbound ones are dialled by `socket` (`fs::outbound`) and
//! start authenticated and bound to their channel. Both run the one `parse_command` here.

use std::io::IoSlice;
use std::net::SocketAddr;
use std::ops::ControlFlow::{self, Break, Continue};
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::broadcast::Receiver;
use tokio::time::{sleep, sleep_until, timeout, Instant};

use super::acl;
use super::command::{has_prefix, Command, Framer};
use super::fault::{Fault, Target};
use super::filter::{Filter, FilterError};
use super::listeners::{Delivery, Interest, Listener};
use super::outbound::Outbound;
use super::pbx::logs::{self, LogLine};
use super::pbx::ApiOutput;
use super::session_hold::{Holder, SessionHold};
use super::shared::{Control, Shared};
use super::userauth::{self, Permissions};
use super::wire::{self, Format, Message, GOODBYE, LOST_EVENTS, SHUTDOWN};

/// Bytes the `Garbage` fault writes: binary, no header terminator.
const GARBAGE: &[u8] = b"\x00\x01\xfe\xffGarbage-Not-ESL: \x07\x1b[31m\r";
/// The event inside [`Fault::MalformedEvent`]'s frame: its second line has no colon.
const MALFORMED_EVENT: &str = "Event-Name: HEARTBEAT\nthis line is not a header\n\n";
/// Channel events `myevents` subscribes to: mod_event_socket.c parse_command's
/// `event_list[]` assignments, in its order.
const MYEVENTS: &str = "CHANNEL_ANSWER CHANNEL_APPLICATION CHANNEL_BRIDGE CHANNEL_CREATE CHANNEL_DATA \
    CHANNEL_DESTROY CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_HANGUP CHANNEL_HANGUP_COMPLETE \
    CHANNEL_ORIGINATE CHANNEL_UUID CHANNEL_OUTGOING CHANNEL_PARK CHANNEL_PROGRESS \
    CHANNEL_PROGRESS_MEDIA CHANNEL_STATE CHANNEL_UNBRIDGE CHANNEL_UNPARK DETECTED_SPEECH DTMF NOTALK TALK";
/// `Interest::myevents` of a `myevents` that locked no session: any channel's events.
const ANY_CHANNEL: &str = "";
/// mod_event_socket.c listener_run's `char reply[512]`: longer replies are cut.
const REPLY_MAX: usize = 511;
/// How many queued events one write may batch, and about how many bytes.
const BATCH: usize = 512;
const BATCH_BYTES: usize = 64 * 1024;
/// Linux's `UIO_MAXIOV`: buffers one `writev` may take.
const IOV_MAX: usize = 1024;
/// A last notice to a peer that does not read must not pin the task forever; the same
/// grace lets a write in progress finish when the listener is killed.
const NOTICE_TIMEOUT: Duration = Duration::from_secs(5);
/// After closing our side, unread peer bytes are drained this long so the close is a FIN,
/// not an RST that could destroy the notice before the peer reads it.
const LINGER: Duration = Duration::from_millis(500);

/// How a session ends.
enum Ending {
    /// A `text/disconnect-notice` with this text, then close.
    Notice(&'static str),
    /// Close without a word (write failed, or a fault cut a message).
    Silent,
    /// The peer closed (at least its sending side) first: mod_event_socket.c
    /// listener_run still has the socket and sends the goodbye notice.
    Eof,
}

type Step = ControlFlow<Ending>;

/// Removes the listener from the hub however the task ends (including abort).
struct Registered {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.hub.remove(self.id);
    }
}

/// Serves one accepted socket until it ends. `id` numbers connections from 1.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, id: u64, shared: Arc<Shared>) {
    let conn = Conn::new(stream, id, shared);
    tracing::info!(connection = id, %peer, "connected");
    conn.run(peer).await;
}

/// Serves a socket `socket` connected out for the channel `outbound` controls
/// (listener_run with `listener->session` set and LFLAG_AUTHED).
pub(crate) async fn serve_outbound(
    stream: TcpStream,
    id: u64,
    shared: Arc<Shared>,
    outbound: Outbound,
    hold: SessionHold,
) {
    let peer = stream.peer_addr().ok();
    let mut conn = Conn::new(stream, id, shared);
    tracing::info!(connection = id, ?peer, uuid = %hold.uuid, "outbound session connected");
    conn.authed = true;
    conn.session = Some(hold.uuid.clone());
    conn.outbound = Some(Box::new(outbound));
    conn.hold = Some(Box::new(hold));
    let ending = conn.session().await;
    conn.finish(ending).await;
}

impl Conn {
    fn new(stream: TcpStream, id: u64, shared: Arc<Shared>) -> Conn {
        let _ = stream.set_nodelay(true);
        let (reader, half) = stream.into_split();
        let listener = shared.hub.add(id);
        Conn {
            id,
            faults: shared.faults.subscribe(),
            control: shared.control.subscribe(),
            rng: StdRng::seed_from_u64(shared.seed ^ id.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
            _registered: Registered { shared: shared.clone(), id },
            shared,
            reader,
            out: Writer {
                half,
                listener: listener.clone(),
                split: None,
                cut_header: false,
                cut_body: false,
                stall_mid: None,
                own: Vec::new(),
                scratch: String::new(),
            },
            listener,
            framer: Framer::default(),
            authed: false,
            commanded: false,
            hold_events: false,
            logging: false,
            log_rx: None,
            log_level: 0,
            perms: Permissions::all(),
            session: None,
            outbound: None,
            hold: None,
            linger: None,
            mute_reply: false,
        }
    }
}

struct Writer {
    half: OwnedWriteHalf,
    /// Whose kill cuts a stuck write short.
    listener: Arc<Listener>,
    split: Option<usize>,
    cut_header: bool,
    cut_body: bool,
    stall_mid: Option<u64>,
    /// Where events this writer alone holds are framed (reused; at most a batch's bytes).
    own: Vec<u8>,
    scratch: String,
}

impl Writer {
    /// Header block and body go out as separate writes, as FreeSWITCH sends them.
    async fn send(&mut self, msg: &Message) -> Step {
        if std::mem::take(&mut self.cut_header) {
            self.raw(&msg.head[..msg.head.len() / 2]).await?;
            return Break(Ending::Silent);
        }
        if let Some(ms) = self.stall_mid.take() {
            let (first, rest) = msg.head.split_at(msg.head.len() / 2);
            self.raw(first).await?;
            sleep(Duration::from_millis(ms)).await;
            self.raw(rest).await?;
            if !msg.body.is_empty() {
                self.raw(&msg.body).await?;
            }
            return Continue(());
        }
        if self.cut_body && !msg.body.is_empty() {
            self.raw(&msg.head).await?;
            self.raw(&msg.body[..msg.body.len() / 2]).await?;
            return Break(Ending::Silent);
        }
        self.raw(&msg.head).await?;
        if !msg.body.is_empty() {
            self.raw(&msg.body).await?;
        }
        Continue(())
    }

    /// Queued events, in one write unless a fault wants to see each message.
    async fn send_events(&mut self, batch: &[Arc<Delivery>], format: Format) -> Step {
        if self.split.is_some() || self.cut_header || self.cut_body || self.stall_mid.is_some() {
            for d in batch {
                self.send(d.message(format)).await?;
            }
            return Continue(());
        }
        // The events' shared bytes go out as they are (writev): nothing is copied per
        // connection. An event only this connection took is framed into its own buffer,
        // with no message made for it.
        let mut own = std::mem::take(&mut self.own);
        own.clear();
        let mut spans = Vec::with_capacity(batch.len());
        for d in batch {
            let start = own.len();
            let framed = format == Format::Plain && d.append_own_plain(&mut self.scratch, &mut own);
            spans.push(framed.then_some(start..own.len()));
        }
        let mut slices = Vec::with_capacity(2 * batch.len());
        for (d, span) in batch.iter().zip(spans) {
            if let Some(span) = span {
                slices.push(IoSlice::new(&own[span]));
            } else {
                let msg = d.message(format);
                slices.push(IoSlice::new(&msg.head));
                if !msg.body.is_empty() {
                    slices.push(IoSlice::new(&msg.body));
                }
            }
        }
        let step = self.write_slices(&mut slices).await;
        drop(slices);
        // A large event's room is not kept for the small ones after it.
        if own.capacity() > 4 * BATCH_BYTES {
            own = Vec::new();
        }
        if self.scratch.capacity() > BATCH_BYTES {
            self.scratch = String::new();
        }
        self.own = own;
        step
    }

    /// [`Writer::write`] for several buffers at once.
    async fn write_slices(&mut self, mut slices: &mut [IoSlice<'_>]) -> Step {
        let mut grace: Option<Instant> = self.listener.killed().map(|_| Instant::now() + NOTICE_TIMEOUT);
        while !slices.is_empty() {
            tokio::select! {
                biased;
                written = self.half.write_vectored(&slices[..slices.len().min(IOV_MAX)]) => match written {
                    Ok(n) if n > 0 => IoSlice::advance_slices(&mut slices, n),
                    _ => return Break(Ending::Silent),
                },
                _ = self.listener.kill.notified(), if grace.is_none() => {
                    grace = Some(Instant::now() + NOTICE_TIMEOUT);
                }
                _ = sleep_until(grace.unwrap_or_else(Instant::now)), if grace.is_some() => {
                    return Break(Ending::Silent);
                }
            }
        }
        Continue(())
    }

    async fn raw(&mut self, bytes: &[u8]) -> Step {
        match self.split {
            Some(max) => {
                for chunk in bytes.chunks(max) {
                    self.write(chunk).await?;
                    // Give the peer a chance to see each fragment on its own.
                    tokio::task::yield_now().await;
                }
                Continue(())
            }
            None => self.write(bytes).await,
        }
    }

    /// `write_all`, except that once the listener is killed the rest of the write gets
    /// [`NOTICE_TIMEOUT`] to go out (so the notice can follow a whole frame), then the
    /// connection ends silently: a peer that does not read cannot hold the task.
    async fn write(&mut self, bytes: &[u8]) -> Step {
        if bytes.is_empty() {
            return Continue(());
        }
        self.write_slices(&mut [IoSlice::new(bytes)]).await
    }
}

struct Conn {
    id: u64,
    shared: Arc<Shared>,
    reader: OwnedReadHalf,
    out: Writer,
    framer: Framer,
    listener: Arc<Listener>,
    faults: Receiver<(Target, Fault)>,
    control: Receiver<Control>,
    authed: bool,
    /// A complete command arrived: the pre-auth timeout no longer applies.
    commanded: bool,
    hold_events: bool,
    logging: bool,
    /// `log LEVEL`: the model's log lines, and the highest level this listener wants.
    log_rx: Option<Receiver<Arc<LogLine>>>,
    log_level: u8,
    /// What a `userauth` login may do (everything after `auth`).
    perms: Permissions,
    /// `listener->session`: the channel an outbound session controls, or that an inbound
    /// one bound with `myevents UUID`.
    session: Option<String>,
    /// Set for a session `socket` dialled (boxed: inbound connections, the many, stay small).
    outbound: Option<Box<Outbound>>,
    /// The lock on the `session` channel (boxed for the same reason); `None` for a
    /// `myevents UUID` whose channel the model does not have (an `api_overrides` answer).
    hold: Option<Box<SessionHold>>,
    /// `linger [N]`: seconds (-1: no limit) the socket stays open after the hangup.
    linger: Option<i64>,
    /// An outbound session's first command: listener_run parses it but sends no reply.
    mute_reply: bool,
    rng: StdRng,
    _registered: Registered,
}

/// What woke the connection up.
enum Wake {
    Control(Result<Control, RecvError>),
    Fault(Result<(Target, Fault), RecvError>),
    Events,
    Log(Result<Arc<LogLine>, RecvError>),
    Killed,
    Read(std::io::Result<usize>),
    PreAuthTimeout,
    /// The controlled channel went down.
    ChannelDown,
    /// The `linger N` time after the hangup is over.
    LingerOver,
}

impl Conn {
    async fn run(mut self, peer: SocketAddr) {
        let ending = if acl::allows(&self.shared.acl, peer.ip()) {
            self.session().await
        } else {
            tracing::info!(connection = self.id, %peer, "denied by the ACL");
            match self.out.send(&wire::rude_rejection()).await {
                Continue(()) => Ending::Notice(GOODBYE),
                Break(e) => e,
            }
        };
        self.finish(ending).await;
    }

    async fn session(&mut self) -> Ending {
        // An outbound session's first packet is awaited as long as an inbound greeting's
        // answer (listener_run: `read_packet(listener, &ievent, 25)`).
        let deadline = Instant::now() + self.shared.pre_auth_timeout;
        if self.outbound.is_none() {
            if let Break(e) = self.out.send(&wire::auth_request()).await {
                return e;
            }
        }
        loop {
            if let Some(text) = self.listener.killed() {
                return Ending::Notice(text);
            }
            if let Break(e) = self.channel_check().await {
                return e;
            }
            match self.framer.next_command() {
                Ok(Some(cmd)) => {
                    self.mute_reply = self.outbound.is_some() && !self.commanded;
                    self.commanded = true;
                    let step = self.command(cmd).await;
                    self.mute_reply = false;
                    if let Break(e) = step {
                        return e;
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::info!(connection = self.id, "closing: {e}");
                    return Ending::Notice(GOODBYE);
                }
            }
            let buffered = self.framer.buffer().len();
            if !self.authed && buffered > self.shared.limits.pre_auth_bytes {
                tracing::warn!(
                    connection = self.id,
                    "closing: {buffered} bytes of an unauthenticated command (limit {})",
                    self.shared.limits.pre_auth_bytes
                );
                return Ending::Notice(GOODBYE);
            }
            self.framer.buffer().reserve(8192);
            let may_write_events = self.framer.is_empty() && !self.hold_events;
            let pre_auth = !self.commanded && (!self.authed || self.outbound.is_some());
            let watch_down = self.hold.as_ref().is_some_and(|h| h.watching());
            // One timer serves both deadlines (they never overlap): a session future stays small.
            let timer = match self.hold.as_ref().and_then(|h| h.linger_until) {
                _ if pre_auth => Some((deadline, false)),
                Some(at) => Some((at, true)),
                None => None,
            };
            let wake = tokio::select! {
                biased;
                c = self.control.recv() => Wake::Control(c),
                _ = self.listener.kill.notified() => Wake::Killed,
                // Events already queued go out before a fault injected in the same instant.
                _ = self.listener.ready.notified(), if may_write_events => Wake::Events,
                f = self.faults.recv() => Wake::Fault(f),
                l = next_log(&mut self.log_rx), if may_write_events && self.log_rx.is_some() => Wake::Log(l),
                n = self.reader.read_buf(self.framer.buffer()) => Wake::Read(n),
                _ = down_notified(&self.hold), if watch_down => Wake::ChannelDown,
                // An async block: the Sleep (and its runtime-handle clone) is only made when
                // polled, not on every turn of an authenticated session's loop.
                () = async { if let Some((at, _)) = timer { sleep_until(at).await } }, if timer.is_some() => {
                    if timer.is_some_and(|t| t.1) { Wake::LingerOver } else { Wake::PreAuthTimeout }
                }
            };
            let step = match wake {
                Wake::Control(Ok(Control::Shutdown) | Err(RecvError::Closed)) => {
                    Break(Ending::Notice(SHUTDOWN))
                }
                Wake::Control(Err(RecvError::Lagged(_))) => Continue(()),
                Wake::Fault(Ok((target, fault))) => match target {
                    Target::All => self.fault(fault).await,
                    Target::Connection(id) if id == self.id => self.fault(fault).await,
                    Target::Connection(_) => Continue(()),
                },
                Wake::Fault(Err(_)) => Continue(()),
                Wake::Events => self.deliver().await,
                Wake::Log(l) => self.log_line(l).await,
                Wake::Killed => Continue(()),
                Wake::Read(Ok(0) | Err(_)) => Break(Ending::Eof),
                Wake::Read(Ok(_)) => Continue(()),
                Wake::PreAuthTimeout => {
                    tracing::info!(connection = self.id, "closing: no command in time");
                    Break(Ending::Notice(GOODBYE))
                }
                Wake::ChannelDown => Continue(()),
                Wake::LingerOver => {
                    tracing::info!(connection = self.id, "linger timeout, closing socket");
                    Break(Ending::Notice(GOODBYE))
                }
            };
            if let Break(e) = step {
                return e;
            }
        }
    }

    async fn finish(mut self, ending: Ending) {
        // listener_run's end: off the listener list first, then send_disconnect.
        self.shared.hub.remove(self.id);
        let notice = |text: &str| match &self.session {
            Some(uuid) => wire::session_disconnect_notice(uuid, text),
            None => wire::disconnect_notice(text),
        };
        match ending {
            Ending::Notice(text) => {
                tracing::info!(connection = self.id, "disconnecting: {}", text.trim_end());
                let _ = timeout(NOTICE_TIMEOUT, self.out.send(&notice(text))).await;
            }
            Ending::Silent => tracing::info!(connection = self.id, "closed"),
            Ending::Eof => {
                tracing::info!(connection = self.id, "peer closed");
                let _ = timeout(NOTICE_TIMEOUT, self.out.send(&notice(GOODBYE))).await;
            }
        }
        let _ = self.out.half.shutdown().await;
        // The channel is let go once the socket is closed (CF_CONTROLLED cleared, then
        // switch_core_session_rwunlock).
        drop(self.hold.take());
        if !matches!(ending, Ending::Eof) {
            let mut sink = [0u8; 4096];
            let drain = async { while matches!(self.reader.read(&mut sink).await, Ok(n) if n > 0) {} };
            let _ = timeout(LINGER, drain).await;
        }
    }

    fn interest(&self) -> std::sync::MutexGuard<'_, Interest> {
        self.listener.interest()
    }

    /// Writes everything queued, in batches.
    async fn deliver(&mut self) -> Step {
        let mut batch = Vec::new();
        loop {
            if let Some(text) = self.listener.killed() {
                return Break(Ending::Notice(text));
            }
            batch.clear();
            self.listener.pop_batch(BATCH, BATCH_BYTES, &mut batch);
            if batch.is_empty() {
                return Continue(());
            }
            let format = self.interest().sub.format;
            self.out.send_events(&batch, format).await?;
        }
    }

    async fn reply(&mut self, text: &str) -> Step {
        if self.mute_reply {
            return Continue(());
        }
        self.out.send(&wire::command_reply(text, &[])).await
    }

    /// read_packet's hangup check for a held channel (outbound, or bound by `myevents
    /// UUID`): what is queued goes out, then the linger notice (the socket stays until
    /// `linger N` runs out or the client leaves) or the disconnect.
    async fn channel_check(&mut self) -> Step {
        let Some(h) = &self.hold else { return Continue(()) };
        if !h.watching() || !h.control.is_down() {
            return Continue(());
        }
        let uuid = h.uuid.clone();
        self.deliver().await?;
        if let Some(h) = self.hold.as_mut() {
            h.disco_handled = true;
        }
        let Some(secs) = self.linger else {
            return Break(Ending::Notice(GOODBYE));
        };
        if let (Some(h), Ok(s)) = (self.hold.as_mut(), u64::try_from(secs)) {
            h.linger_until = Some(Instant::now() + Duration::from_secs(s));
        }
        let name = self.shared.pbx.channel_name(&uuid).unwrap_or_default();
        tracing::debug!(connection = self.id, "{name} Socket Linger {secs}");
        self.out.send(&wire::linger_notice(&uuid, &name, secs)).await
    }

    fn uuid(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        b[6] = (b[6] & 0x0F) | 0x40;
        b[8] = (b[8] & 0x3F) | 0x80;
        let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
        format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
    }

    async fn fault(&mut self, fault: Fault) -> Step {
        tracing::info!(connection = self.id, ?fault, "fault");
        match fault {
            Fault::SplitWrites { max } => self.out.split = Some(max.max(1)),
            Fault::WholeWrites => self.out.split = None,
            Fault::Stall { ms } => sleep(Duration::from_millis(ms)).await,
            Fault::StallMidFrame { ms } => self.out.stall_mid = Some(ms),
            Fault::CloseMidHeader => self.out.cut_header = true,
            Fault::CloseMidBody => self.out.cut_body = true,
            Fault::Garbage => self.out.raw(GARBAGE).await?,
            Fault::MalformedEvent => {
                let frame = format!(
                    "Content-Length: {}\nContent-Type: text/event-plain\n\n{MALFORMED_EVENT}",
                    MALFORMED_EVENT.len()
                );
                self.out.raw(frame.as_bytes()).await?;
            }
            Fault::Shutdown => return Break(Ending::Notice(SHUTDOWN)),
            Fault::SlowReaderKill => return Break(Ending::Notice(LOST_EVENTS)),
            Fault::HoldEvents => self.hold_events = true,
            // Server-level: the accept loop drops every connection itself.
            Fault::Restart { .. } => {}
        }
        Continue(())
    }

    /// mod_event_socket's `parse_command`: keyword prefixes, tested in its order.
    async fn command(&mut self, cmd: Command) -> Step {
        // Events fired before the command arrived go out ahead of its reply.
        self.hold_events = false;
        self.deliver().await?;
        let line = cmd.line.as_str();
        tracing::debug!(connection = self.id, command = %redacted(line), "command");
        if has_prefix(line, "exit") || line.starts_with("...") {
            self.reply("+OK bye").await?;
            return Break(Ending::Notice(GOODBYE));
        }
        if !self.authed {
            return self.login(line).await;
        }
        if has_prefix(line, "filter ") {
            return self.filter(&line[7..]).await;
        }
        if let Some(uuid) = self.session.clone() {
            if has_prefix(line, "resume") {
                self.shared.pbx.set_channel_variable(&uuid, "socket_resume", "true");
                return self.reply("+OK").await;
            }
            if has_prefix(line, "connect") {
                return self.connect(&uuid).await;
            }
            if has_prefix(line, "getvar") {
                let value = line
                    .split_once(' ')
                    .and_then(|(_, name)| self.shared.pbx.channel_variable(&uuid, name))
                    .unwrap_or_default();
                // An unset variable leaves the reply empty: "-ERR command not found".
                return self.reply_or_not_found(&value).await;
            }
            if has_prefix(line, "myevents") {
                return self.session_myevents(&uuid, line).await;
            }
        } else if has_prefix(line, "myevents") {
            return self.myevents(&line[8..]).await;
        }
        if has_prefix(line, "divert_events") {
            return self.divert_events(&line[13..]).await;
        }
        if has_prefix(line, "sendmsg") {
            return self.sendmsg(&cmd).await;
        }
        if self.outbound.as_ref().is_some_and(|o| !o.full) {
            // Single-channel control ends parse_command here.
            return self.reply("-ERR command not found").await;
        }
        if has_prefix(line, "sendevent") {
            self.sendevent(&cmd).await
        } else if has_prefix(line, "api ") {
            self.api(&line[4..], &cmd.raw_line[4..]).await
        } else if has_prefix(line, "bgapi ") {
            self.bgapi(&cmd, &line[6..]).await
        } else if has_prefix(line, "log") {
            self.log(&line[3..]).await
        } else if has_prefix(line, "linger") {
            self.linger(&line[6..]).await
        } else if has_prefix(line, "nolinger") {
            if self.session.is_none() {
                return self.reply("-ERR not controlling a session").await;
            }
            self.linger = None;
            self.reply("+OK will not linger").await
        } else if has_prefix(line, "event") {
            let args = line.split_once(' ').map_or("", |(_, a)| a);
            if !self.events_permitted(args) {
                return self.reply("-ERR permission denied").await;
            }
            let (keys, format) = {
                let mut interest = self.interest();
                (interest.sub.subscribe(args), interest.sub.format)
            };
            self.listener.update_listening();
            match keys {
                0 => self.reply("-ERR no keywords supplied").await,
                _ => self.reply(&format!("+OK event listener enabled {}", format.as_str())).await,
            }
        } else if has_prefix(line, "nixevent") {
            let args = line.split_once(' ').map_or("", |(_, a)| a);
            let keys = self.interest().sub.nix(args);
            match keys {
                0 => self.reply("-ERR no keywords supplied").await,
                _ => self.reply("+OK events nixed").await,
            }
        } else if has_prefix(line, "noevents") {
            let was = {
                let mut interest = self.interest();
                interest.myevents = None;
                interest.sub.clear()
            };
            self.listener.update_listening();
            if was {
                self.listener.clear_queue();
                self.reply("+OK no longer listening for events").await
            } else {
                self.reply("-ERR not listening for events").await
            }
        } else if has_prefix(line, "nolog") {
            self.log_rx = None;
            match std::mem::take(&mut self.logging) {
                true => self.reply("+OK no longer logging").await,
                false => self.reply("-ERR not loging").await,
            }
        } else {
            self.reply("-ERR command not found").await
        }
    }

    async fn login(&mut self, line: &str) -> Step {
        let ok = if has_prefix(line, "auth ") {
            line[5..] == self.shared.password
        } else if has_prefix(line, "userauth ") {
            let directory = self.shared.pbx.directory();
            if let Some(ok) = userauth::login(&directory, &line[9..], &self.shared.password) {
                self.authed = true;
                self.perms = ok.permissions;
                tracing::info!(connection = self.id, "authenticated (userauth)");
                return self.out.raw(&ok.reply).await;
            }
            false
        } else {
            return self.reply("-ERR command not found").await;
        };
        if ok {
            self.authed = true;
            tracing::info!(connection = self.id, "authenticated");
            self.reply("+OK accepted").await
        } else {
            tracing::warn!(connection = self.id, "authentication failed");
            self.reply("-ERR invalid").await?;
            Break(Ending::Notice(GOODBYE))
        }
    }

    /// Runs an API command and renders its output as the `api/response` body would be.
    async fn run_api(&self, name: &str, args: &str) -> String {
        let output = match self.shared.api_overrides.get(name) {
            Some(canned) => canned.clone(),
            None => self.shared.pbx.api_call(name, args).await,
        };
        match output {
            ApiOutput::Text(t) => t,
            ApiOutput::NotFound => format!("-ERR {name} Command not found!\n"),
        }
    }

    async fn api(&mut self, rest: &str, raw: &[u8]) -> Step {
        let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let raw_name = raw.split(|&b| b == b' ').next().unwrap_or(raw);
        if raw_name != name.as_bytes() {
            // Not UTF-8: no command has such a name; the answer echoes the bytes as sent.
            let mut out = b"-ERR ".to_vec();
            out.extend_from_slice(raw_name);
            out.extend_from_slice(b" Command not found!\n");
            return self.out.send(&wire::api_response_bytes(&out)).await;
        }
        if !self.perms.allows_api(name, args) {
            return self.reply("-ERR permission denied").await;
        }
        let mut out = self.run_api(name, args).await;
        if out.is_empty() {
            out = "-ERR no reply\n".into();
        }
        self.out.send(&wire::api_response(&out)).await
    }

    async fn bgapi(&mut self, cmd: &Command, rest: &str) -> Step {
        let (name, arg) = match rest.split_once(' ') {
            Some((n, a)) => (n, Some(a)),
            None => (rest, None),
        };
        if !self.perms.allows_api("bgapi", rest) {
            return self.reply("-ERR permission denied").await;
        }
        let job = match cmd.header("Job-UUID") {
            Some(j) => j.to_string(),
            None => self.uuid(),
        };
        let reply = wire::command_reply(&format!("+OK Job-UUID: {job}"), &[("Job-UUID", &job)]);
        self.out.send(&reply).await?;
        let output = self.run_api(name, arg.unwrap_or("")).await;
        let mut event = self.shared.pbx.event("BACKGROUND_JOB");
        event.push("Job-UUID", job).push("Job-Owner-UUID", "").push("Job-Command", name);
        if let Some(arg) = arg {
            event.push("Job-Command-Arg", arg);
        }
        event.body = Some(output);
        // The job's owner only, and only if it listens: a bgapi result is never broadcast.
        let format = self.interest().sub.format;
        if self.interest().sub.wants(&event) {
            self.out.send(&wire::event_message(&event, format)).await?;
        }
        Continue(())
    }

    async fn filter(&mut self, rest: &str) -> Step {
        let (name, value) = split_word(rest);
        match value {
            Some(target) if name.eq_ignore_ascii_case("delete") => {
                let (header, value) = split_word(target);
                if header.eq_ignore_ascii_case("all") {
                    self.interest().sub.clear_filters();
                } else {
                    self.interest().sub.delete_filter(header, value);
                }
                self.reply(&format!("+OK filter deleted. [{header}][{}]", value.unwrap_or(""))).await
            }
            Some(rest) => {
                let (header, value) = match name.eq_ignore_ascii_case("add") {
                    true => split_word(rest),
                    false => (name, Some(rest)),
                };
                match value {
                    Some(value) => match self.add_filter(header, value).await {
                        Ok(()) => self.reply(&format!("+OK filter added. [{header}]=[{value}]")).await,
                        Err(e) => {
                            tracing::info!(connection = self.id, "filter refused: {e}");
                            self.reply(&format!("-ERR {e}")).await
                        }
                    },
                    None => self.reply("-ERR invalid syntax").await,
                }
            }
            None => self.reply("-ERR invalid syntax").await,
        }
    }

    /// Checks the cap, then compiles off the runtime's worker threads: a costly regex
    /// delays only the connection that sent it.
    async fn add_filter(&mut self, header: &str, value: &str) -> Result<(), FilterError> {
        let limits = &self.shared.limits;
        if self.interest().sub.filter_count() >= limits.max_filters {
            return Err(FilterError::TooMany(limits.max_filters));
        }
        let filter = if Filter::needs_compiling(value) {
            let (h, v, size) = (header.to_string(), value.to_string(), limits.regex_bytes);
            tokio::task::spawn_blocking(move || Filter::parse(&h, &v, size))
                .await
                .unwrap_or(Err(FilterError::Compile))?
        } else {
            Filter::parse(header, value, limits.regex_bytes)?
        };
        self.interest().sub.insert_filter(filter, limits.max_filters)
    }

    async fn sendevent(&mut self, cmd: &Command) -> Step {
        let name = cmd.line[9..].trim_start_matches([' ', '\t']);
        let body = cmd.body.as_ref().map(|b| String::from_utf8_lossy(b).into_owned());
        let uuid = self.shared.pbx.sendevent(&cmd.line, name, &cmd.headers, body);
        self.reply(&format!("+OK {uuid}")).await
    }

    /// Whether the PBX knows a call by this UUID (`uuid_exists` answers `true`).
    async fn call_exists(&self, uuid: &str) -> bool {
        !uuid.is_empty() && self.run_api("uuid_exists", uuid).await.trim() == "true"
    }

    /// `myevents UUID [FORMAT]` on a connection without a session: binds it to that call,
    /// holding it as an outbound session does (`listener->session =
    /// switch_core_session_locate(uuid)`), so its hangup ends or lingers the connection.
    /// A UUID that cannot be locked (unknown, or already hanging up) is refused only when a
    /// FORMAT follows; without one parse_command goes on with no session, and LFLAG_MYEVENTS
    /// with no session passes every event that has a Unique-ID.
    async fn myevents(&mut self, rest: &str) -> Step {
        if self.interest().myevents.is_some() {
            return self.reply("-ERR aready enabled.").await;
        }
        let (uuid, format) = split_word(rest.trim());
        let exists = self.call_exists(uuid).await;
        let locked = if exists { self.shared.pbx.bind(uuid) } else { Err(false) };
        match locked {
            Ok(control) => {
                let (uuid, pbx) = (uuid.to_string(), self.shared.pbx.clone());
                let hold = SessionHold {
                    uuid,
                    control,
                    disco_handled: false,
                    linger_until: None,
                    holder: Holder::Bound,
                    pbx,
                };
                self.hold = Some(Box::new(hold));
            }
            // uuid_exists said yes (an `api_overrides` answer) but the model has no such
            // channel: bound by name, with nothing to hold.
            Err(false) if exists => {}
            Err(_) if format.is_some() => return self.reply("-ERR invalid uuid").await,
            Err(_) => return self.enable_myevents(ANY_CHANNEL, format_in(rest)).await,
        }
        self.session = Some(uuid.to_string());
        self.enable_myevents(uuid, format_in(rest)).await
    }

    /// `myevents [FORMAT]` of a session: its own channel, the format found anywhere in
    /// the line (`strstr(cmd, "xml")`, then `"json"`).
    async fn session_myevents(&mut self, uuid: &str, line: &str) -> Step {
        if self.interest().myevents.is_some() {
            return self.reply("-ERR aready enabled.").await;
        }
        self.enable_myevents(uuid, format_in(line)).await
    }

    async fn enable_myevents(&mut self, uuid: &str, format: Option<Format>) -> Step {
        {
            let mut interest = self.interest();
            if let Some(format) = format {
                interest.sub.format = format;
            }
            interest.sub.subscribe(MYEVENTS);
            interest.myevents = Some(uuid.to_string());
        }
        self.listener.update_listening();
        self.reply("+OK Events Enabled").await
    }

    /// `connect`: the channel data as one flat header block (a serialized CHANNEL_DATA
    /// event with the reply's headers at its end, no Content-Length); in async mode the
    /// channel then parks (socket_function waits for LFLAG_CONNECTED, then
    /// `switch_ivr_park`).
    async fn connect(&mut self, uuid: &str) -> Step {
        // An inbound session was made LFLAG_ASYNC by `myevents UUID`, and is never full.
        let (async_mode, full) = self.outbound.as_ref().map_or((true, false), |o| (o.async_mode, o.full));
        let mut ev = self.shared.pbx.socket_connect_data(uuid);
        ev.push("Content-Type", "command/reply");
        ev.push("Reply-Text", "+OK\n");
        ev.push("Socket-Mode", if async_mode { "async" } else { "static" });
        ev.push("Control", if full { "full" } else { "single-channel" });
        self.out.raw(&wire::encode_plain(&ev)).await?;
        let first = self.outbound.as_mut().is_some_and(|o| !std::mem::replace(&mut o.connected, true));
        if first && async_mode {
            self.shared.pbx.socket_park(uuid);
        }
        Continue(())
    }

    async fn reply_or_not_found(&mut self, text: &str) -> Step {
        let mut end = text.len().min(REPLY_MAX);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        match &text[..end] {
            "" => self.reply("-ERR command not found").await,
            cut => self.reply(cut).await,
        }
    }

    async fn divert_events(&mut self, rest: &str) -> Step {
        if self.session.is_none() {
            return self.reply("-ERR not controlling a session.").await;
        }
        match rest.trim_start_matches(' ') {
            "" => self.reply("-ERR missing value.").await,
            on if on.eq_ignore_ascii_case("on") => self.reply("+OK events diverted").await,
            _ => self.reply("+OK events not diverted").await,
        }
    }

    /// `linger [N]`: `*(cmd+6) == ' ' && *(cmd+7)` gives `atoi(cmd+7)` seconds, else -1
    /// (no limit).
    async fn linger(&mut self, rest: &str) -> Step {
        if self.session.is_none() {
            return self.reply("-ERR not controlling a session").await;
        }
        let secs = match rest.strip_prefix(' ') {
            Some(n) if !n.is_empty() => i64::from(crate::fs::pbx::atol(n) as i32),
            _ => -1,
        };
        self.linger = Some(secs);
        match secs {
            -1 => self.reply("+OK will linger").await,
            n => self.reply(&format!("+OK will linger {n} seconds")).await,
        }
    }

    async fn sendmsg(&mut self, cmd: &Command) -> Step {
        let uuid = match cmd.line[7..].trim() {
            "" => cmd.header("session-id").unwrap_or_default(),
            u => u,
        };
        if let Some(own) = self.session.as_deref().filter(|own| uuid.is_empty() || uuid == *own) {
            // The controlled channel: queued for its own thread in async mode (or with an
            // `async: true` header); in sync mode switch_ivr_parse_event runs in the
            // listener's thread, so an application that blocks holds the reply, the reading
            // and the events until it returns.
            let own = own.to_string();
            let reply = self.shared.pbx.sendmsg(&own, cmd);
            let forced = cmd.header("async").is_some_and(switch_true);
            let sync = self.outbound.as_ref().is_some_and(|o| !o.async_mode && !forced);
            if let Some(control) = self.hold.as_ref().filter(|_| sync).map(|h| h.control.clone()) {
                while self.shared.pbx.in_other_app(&own) && !control.is_down() {
                    tokio::select! {
                        _ = control.app_done.notified() => {}
                        _ = control.notify.notified() => {}
                    }
                }
            }
            return self.reply(&reply).await;
        }

        if !self.call_exists(uuid).await {
            return self.reply(&format!("-ERR invalid session id [{uuid}]")).await;
        }
        let uuid = uuid.to_string();
        let reply = self.shared.pbx.sendmsg(&uuid, cmd);
        self.reply(&reply).await
    }

    /// mod_event_socket.c socket_logger / listener_run: lines at or below the listener's
    /// level go out as `log/data`; a listener that fell behind hears how many lines it
    /// lost, and one that lost more than MAX_MISSED is killed.
    async fn log_line(&mut self, line: Result<Arc<LogLine>, RecvError>) -> Step {
        match line {
            Ok(l) if l.level <= self.log_level => {
                let frame = l.frame();
                self.out.raw(&frame).await
            }
            Ok(_) => Continue(()),
            Err(RecvError::Lagged(n)) if n > logs::MAX_MISSED => Break(Ending::Notice(logs::LOST_LOGS)),
            Err(RecvError::Lagged(n)) => {
                let text =
                    format!("Lost [{n}] log lines! Log Queue size: [0/{}]\n", self.shared.pbx.log_queue());
                let site = ("mod_event_socket.c", "socket_logger", 186);
                let l =
                    LogLine::new(logs::CRIT, logs::ID_LOG, site, "", &text, self.shared.pbx.now_us(), 0.0);
                if l.level <= self.log_level {
                    return self.out.raw(&l.frame()).await;
                }
                Continue(())
            }
            Err(RecvError::Closed) => {
                self.log_rx = None;
                Continue(())
            }
        }
    }

    /// Whether a userauth login may subscribe to every keyword of an `event` command.
    fn events_permitted(&self, args: &str) -> bool {
        let mut custom = false;
        for word in args.split(' ').filter(|w| !w.is_empty()) {
            if ["plain", "json", "xml"].iter().any(|f| word.eq_ignore_ascii_case(f)) {
                continue;
            }
            if !self.perms.allows_event(word, custom) {
                return false;
            }
            custom |= word.eq_ignore_ascii_case("CUSTOM");
        }
        true
    }

    async fn log(&mut self, rest: &str) -> Step {
        if !self.perms.allows_log() {
            return self.reply("-ERR permission denied").await;
        }
        let level = rest.trim_start_matches(' ');
        let number = if level.is_empty() { Some(7) } else { log_level(level) };
        match number {
            Some(n) => {
                self.logging = true;
                self.log_level = n;
                if self.log_rx.is_none() {
                    self.log_rx = Some(self.shared.pbx.subscribe_logs());
                }
                self.reply(&format!("+OK log level {level} [{n}]")).await
            }
            None => self.reply("-ERR invalid log level").await,
        }
    }
}

/// `switch_true`: yes, on, true, t, enabled, active, allow, or a non-zero number.
fn switch_true(v: &str) -> bool {
    ["yes", "on", "true", "t", "enabled", "active", "allow"].iter().any(|w| v.eq_ignore_ascii_case(w))
        || v.parse::<i64>().is_ok_and(|n| n != 0)
}

/// parse_command's `myevents` format: `strstr(cmd, "xml")` (or "XML"), then "json"; else
/// the listener's format stays.
fn format_in(line: &str) -> Option<Format> {
    if line.contains("json") || line.contains("JSON") {
        Some(Format::Json)
    } else if line.contains("xml") || line.contains("XML") {
        Some(Format::Xml)
    } else {
        None
    }
}

/// The held channel's hangup, or never.
async fn down_notified(hold: &Option<Box<SessionHold>>) {
    match hold {
        Some(h) => h.control.notify.notified().await,
        None => std::future::pending().await,
    }
}

/// The next log line, or never when logging is off.
async fn next_log(rx: &mut Option<Receiver<Arc<LogLine>>>) -> Result<Arc<LogLine>, RecvError> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

/// The command line as the log shows it: passwords never reach it.
fn redacted(line: &str) -> std::borrow::Cow<'_, str> {
    if has_prefix(line, "auth ") {
        "auth ********".into()
    } else if has_prefix(line, "userauth ") {
        match line.rsplit_once(':') {
            Some((user, _)) => format!("{user}:********").into(),
            None => "userauth ********".into(),
        }
    } else {
        line.into()
    }
}

/// `switch_log_str2level`: a number 0–7 or a level name.
fn log_level(s: &str) -> Option<u8> {
    const NAMES: [&str; 8] = ["console", "alert", "crit", "err", "warning", "notice", "info", "debug"];
    if let Ok(n) = s.parse::<u8>() {
        return (n <= 7).then_some(n);
    }
    let s = if s.eq_ignore_ascii_case("error") { "err" } else { s };
    NAMES.iter().position(|n| n.eq_ignore_ascii_case(s)).map(|p| p as u8)
}

/// First word and the rest after one space, like `strchr(s, ' ')` splitting in C.
fn split_word(s: &str) -> (&str, Option<&str>) {
    match s.split_once(' ') {
        Some((a, b)) => (a, Some(b)),
        None => (s, None),
    }
}
