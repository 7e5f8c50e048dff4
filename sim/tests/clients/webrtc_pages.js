// Drives the two example pages (fixtures/webrtc/) in Debian's Chromium with playwright-core:
// fake microphone and permission prompt, the pages served from PAGES_DIR at PAGES_ORIGIN
// and SIP.js from the npm package in NODE_PATH in place of the CDN (the pages' import map
// still checks each module's SHA-384, so the pin is tested too). Driven by
// tests/webrtc_pages.rs: one JSON line per event on stdout, one command per line on stdin.
//
// Environment: NODE_PATH, PAGES_DIR, PAGES_ORIGIN (http://127.0.0.1:PORT, a secure
// context), QUERY (appended to both pages' URLs: server, domain), CHROMIUM (the browser),
// CA_PEM (optional: the wss binding's self-signed certificate, which Chromium then trusts
// by its public key and trusts nothing else it would refuse).
// Commands: `open-answer`, `open-call`, `message TEXT` (the call page chats to the answer
// page), `call`, `answer`, `media`, `hangup`, `quit`.
"use strict";
const crypto = require("node:crypto");
const fs = require("node:fs");
const path = require("node:path");
const readline = require("node:readline");
const { chromium } = require("playwright-core");

const say = (o) => process.stdout.write(JSON.stringify(o) + "\n");
const STEP = 20000; // every wait is bounded: a stuck page fails the test, never hangs it

const pagesDir = process.env.PAGES_DIR;
const origin = process.env.PAGES_ORIGIN;
const query = process.env.QUERY || "";
const sipjsLib = path.join(process.env.NODE_PATH, "sip.js", "lib");
const sipjsVersion = JSON.parse(fs.readFileSync(path.join(process.env.NODE_PATH, "sip.js", "package.json"))).version;
const cdn = `https://cdn.jsdelivr.net/npm/sip.js@${sipjsVersion}/lib/`;

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css" };

function serveFrom(dir, prefix, extraHeaders) {
  return (route) => {
    const url = new URL(route.request().url());
    const rel = decodeURIComponent(url.href.slice(prefix.length).split("?")[0]);
    const file = path.join(dir, rel);
    if (!file.startsWith(dir) || !fs.existsSync(file) || !fs.statSync(file).isFile()) {
      return route.fulfill({ status: 404, body: "not found" });
    }
    return route.fulfill({
      status: 200,
      headers: { "content-type": types[path.extname(file)] || "application/octet-stream", ...extraHeaders },
      body: fs.readFileSync(file),
    });
  };
}

// Chromium's pin for one certificate: base64 SHA-256 of its SubjectPublicKeyInfo, the
// value --ignore-certificate-errors-spki-list takes (Chromium honours it only with a
// --user-data-dir, which playwright always passes).
function spkiPin(pem) {
  const spki = new crypto.X509Certificate(pem).publicKey.export({ type: "spki", format: "der" });
  return crypto.createHash("sha256").update(spki).digest("base64");
}

(async () => {
  const trust = process.env.CA_PEM ? [`--ignore-certificate-errors-spki-list=${spkiPin(process.env.CA_PEM)}`] : [];
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    args: ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream", "--no-sandbox",
      "--autoplay-policy=no-user-gesture-required", ...trust],
    timeout: STEP,
  });
  const context = await browser.newContext();
  // SIP.js is a cross-origin module on the CDN: CORS as jsDelivr answers it.
  await context.route(`${cdn}**`, serveFrom(sipjsLib, cdn, { "access-control-allow-origin": "*" }));
  // Anything else off this machine would be a page bug (no STUN, no fonts, no analytics).
  await context.route(/^https?:\/\/(?!127\.0\.0\.1|localhost)/, (route) => {
    if (route.request().url().startsWith(cdn)) return route.fallback();
    say({ offline_request: route.request().url() });
    return route.abort();
  });
  if (process.env.SERVE_PAGES === "1") {
    await context.route(`${origin}/**`, serveFrom(pagesDir, `${origin}/`, {}));
  }
  const pages = {};
  const open = async (name, file) => {
    const page = await context.newPage();
    page.on("pageerror", (e) => say({ page: name, pageerror: e.message }));
    page.on("console", (m) => {
      if (m.type() === "error") say({ page: name, console: m.text() });
    });
    await page.goto(`${origin}/${file}${query}`, { timeout: STEP });
    pages[name] = page;
    return page;
  };
  const status = (name) => pages[name].textContent("#status");
  // Waits until `fn` holds in the page, or the page reports a failure (then at once).
  const waitFor = async (name, fn) => {
    const page = pages[name];
    const deadline = Date.now() + STEP;
    for (;;) {
      const failure = await page.evaluate(() => window.phone && window.phone.failure);
      if (failure || Date.now() > deadline) {
        const log = await page.evaluate(() => window.phone && window.phone.log);
        throw new Error(`${name} page: ${failure ? "failed" : `no ${fn} in time`}; status "${await status(name)}", log ${JSON.stringify(log)}`);
      }
      if (await page.evaluate(fn)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  say({ ready: true, chromium: browser.version() });

  const rl = readline.createInterface({ input: process.stdin });
  for await (const line of rl) {
    const cmd = line.trim();
    try {
      if (cmd === "quit") break;
      if (cmd === "open-answer") {
        await open("answer", "answer.html");
        await waitFor("answer", () => window.phone && window.phone.registered);
        say({ registered: await status("answer") });
      } else if (cmd === "open-call") {
        await open("call", "call.html");
        await pages.call.waitForSelector("#call:not([disabled])", { timeout: STEP });
        say({ call_ready: await status("call") });
      } else if (cmd.startsWith("message ")) {
        const text = cmd.slice("message ".length);
        await pages.call.evaluate((t) => window.phone.message(t), text);
        const deadline = Date.now() + STEP;
        while (!(await pages.answer.evaluate((t) => window.phone.messages.some((m) => m.text === t), text))) {
          if (Date.now() > deadline) throw new Error(`no chat shown; answer page: "${await status("answer")}"`);
          await new Promise((r) => setTimeout(r, 100));
        }
        say({ chat: await pages.answer.textContent("#chat") });
      } else if (cmd === "call") {
        await pages.call.click("#call");
        // Rings on the answer page, unless the call page reports a failure first.
        const deadline = Date.now() + STEP;
        while (!(await pages.answer.isEnabled("#answer"))) {
          const failure = await pages.call.evaluate(() => window.phone.failure);
          if (failure) throw new Error(`call page: ${failure}`);
          if (Date.now() > deadline) throw new Error(`no ring; call page: "${await status("call")}"`);
          await new Promise((r) => setTimeout(r, 100));
        }
        say({ ringing: await status("answer"), caller: await pages.answer.evaluate(() => window.phone.caller) });
      } else if (cmd === "answer") {
        await pages.answer.click("#answer");
        await waitFor("call", () => window.phone.state === "Established");
        await waitFor("answer", () => window.phone.state === "Established");
        say({ answered: await status("call") });
      } else if (cmd === "media") {
        // RTP flows browser to browser (the mock relays only SIP): both sides receive.
        const got = {};
        for (const name of ["call", "answer"]) {
          await waitFor(name, async () => (await window.phone.bytesReceived()) > 2000);
          got[name] = await pages[name].evaluate(() => window.phone.bytesReceived());
        }
        say({ media: got });
      } else if (cmd === "hangup") {
        await pages.call.click("#hangup");
        await waitFor("call", () => window.phone.state === "Terminated");
        await waitFor("answer", () => window.phone.state === "Terminated");
        say({ hung_up: await status("answer") });
      } else {
        throw new Error(`unknown command ${cmd}`);
      }
    } catch (err) {
      say({ error: `${cmd}: ${err.message}` });
    }
  }
  await browser.close();
  say({ end: true });
  process.exit(0);
})().catch((err) => {
  say({ fatal: err.stack || String(err) });
  process.exit(1);
});
