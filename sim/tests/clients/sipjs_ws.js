// SIP.js (the version pinned in package.json) under Node over WebSocket, with the `ws`
// package as the WebSocket and a fake SessionDescriptionHandler (fixed SDP, no media):
// an independent client of the mock's ws/wss bindings. Driven by sim/tests/sip_ws_sipjs.rs
// through one JSON line per event on stdout and one command per line on stdin.
//
// Environment: NODE_PATH (the installed packages), CA_PEM (the wss certificate to trust,
// exactly), and UAS: a JSON list of {name, user, password, server, domain}.
// Commands: `register NAME`, `unregister NAME`, `call NAME TARGET`, `answer NAME`,
// `reject NAME CODE`, `bye NAME`, `cancel NAME`, `message NAME TARGET TEXT…` (a MESSAGE,
// text/plain), `quit`. A MESSAGE received is reported and accepted (200).
"use strict";
const path = require("node:path");
const readline = require("node:readline");
const { pathToFileURL } = require("node:url");
const WS = require("ws");

const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");

// SIP.js opens `new WebSocket(server, "sip")`; trust the mock's certificate and no other.
class TrustingWebSocket extends WS {
  constructor(url, protocols) {
    super(url, protocols, process.env.CA_PEM ? { ca: process.env.CA_PEM } : {});
  }
}
globalThis.WebSocket = TrustingWebSocket;

// What a browser's SDP offer/answer looks like to the mock: it passes SDP through.
const sdp = (user) =>
  ["v=0", `o=${user} 1 1 IN IP4 127.0.0.1`, "s=-", "c=IN IP4 127.0.0.1", "t=0 0",
    "m=audio 9 UDP/TLS/RTP/SAVPF 111", "a=rtpmap:111 opus/48000/2", "a=sendrecv", ""].join("\r\n");

function fakeMedia(name, user) {
  return () => ({
    close() {},
    getDescription() {
      return Promise.resolve({ body: sdp(user), contentType: "application/sdp" });
    },
    hasDescription(contentType) {
      return contentType === "application/sdp";
    },
    rollbackDescription() {
      return Promise.resolve();
    },
    sendDtmf() {
      return false;
    },
    setDescription(body) {
      say({ name, remote_sdp: body.split("\r\n")[1] || "" });
      return Promise.resolve();
    },
  });
}

(async () => {
  const SIP = await import(pathToFileURL(path.join(process.env.NODE_PATH, "sip.js/lib/index.js")).href);
  const { UserAgent, Registerer, RegistererState, Inviter, Messager } = SIP;
  const uas = new Map();
  for (const c of JSON.parse(process.env.UAS)) {
    const entry = { c, session: undefined };
    const follow = (session) => {
      entry.session = session;
      session.stateChange.addListener((state) => {
        say({ name: c.name, session: state });
      });
    };
    entry.follow = follow;
    entry.ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${c.user}@${c.domain}`),
      authorizationUsername: c.user,
      authorizationPassword: c.password,
      displayName: c.display || c.user,
      transportOptions: { server: c.server, traceSip: false },
      sessionDescriptionHandlerFactory: fakeMedia(c.name, c.user),
      logBuiltinEnabled: false,
      delegate: {
        onInvite(invitation) {
          follow(invitation);
          say({ name: c.name, invite: invitation.remoteIdentity.uri.user, display: invitation.remoteIdentity.displayName || "" });
        },
        onMessage(message) {
          const req = message.request;
          say({ name: c.name, message: req.body, from: req.from.uri.user, content_type: req.getHeader("Content-Type") || "" });
          message.accept();
        },
        onDisconnect(error) {
          say({ name: c.name, disconnected: error ? error.message : "" });
        },
      },
    });
    entry.registerer = new Registerer(entry.ua, { expires: c.expires || 300 });
    entry.registerer.stateChange.addListener((s) => say({ name: c.name, registration: s }));
    await entry.ua.start();
    say({ name: c.name, connected: c.server });
    uas.set(c.name, entry);
  }
  say({ ready: true });

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const [cmd, name, arg, ...rest] = line.trim().split(/\s+/);
    const e = uas.get(name);
    try {
      if (cmd === "quit") break;
      if (!e) throw new Error(`no UA ${name}`);
      if (cmd === "register") {
        await e.registerer.register({
          requestDelegate: { onReject: (r) => say({ name, register_rejected: r.message.statusCode }) },
        });
      } else if (cmd === "unregister") {
        await e.registerer.unregister();
      } else if (cmd === "call") {
        const inviter = new Inviter(e.ua, UserAgent.makeURI(`sip:${arg}@${e.c.domain}`));
        e.follow(inviter);
        await inviter.invite({
          requestDelegate: {
            onProgress: (r) => say({ name, progress: r.message.statusCode }),
            onReject: (r) => say({ name, rejected: r.message.statusCode, reason: r.message.reasonPhrase }),
          },
        });
      } else if (cmd === "message") {
        const messager = new Messager(e.ua, UserAgent.makeURI(`sip:${arg}@${e.c.domain}`), rest.join(" "));
        await new Promise((resolve) => messager.message({
          requestDelegate: {
            onAccept: (r) => { say({ name, message_status: r.message.statusCode }); resolve(); },
            onReject: (r) => { say({ name, message_status: r.message.statusCode }); resolve(); },
          },
        }));
      } else if (cmd === "answer") {
        await e.session.accept();
      } else if (cmd === "reject") {
        await e.session.reject({ statusCode: Number(arg) });
      } else if (cmd === "bye") {
        await e.session.bye();
      } else if (cmd === "cancel") {
        await e.session.cancel();
      } else {
        throw new Error(`unknown command ${cmd}`);
      }
      say({ name, done: cmd });
    } catch (err) {
      say({ name, error: `${cmd}: ${err.message}` });
    }
  }
  for (const e of uas.values()) {
    if (e.registerer.state === RegistererState.Registered) {
      await e.registerer.unregister().catch(() => {});
    }
  }
  await new Promise((r) => setTimeout(r, 200));
  for (const e of uas.values()) await e.ua.stop().catch(() => {});
  say({ end: true });
  process.exit(0);
})().catch((err) => {
  say({ fatal: err.stack || String(err) });
  process.exit(1);
});
