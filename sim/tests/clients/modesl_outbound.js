// An outbound-mode ESL application on Node's modesl (esl.Server): it listens, takes the
// call the mock's `socket` application connects, and reports what it sees as one JSON
// object per line on stdout. Driven by sim/tests/esl_outbound_modesl.rs.
//
// Usage: node modesl_outbound.js   (prints {"listening": PORT} first)

const net = require('net');
const esl = require('modesl');

const out = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');
// Bounded: a mock that never calls or never hangs up must not keep this process alive.
setTimeout(() => { out({ timeout: true }); process.exit(3); }, 30000);

const tcp = net.createServer();
tcp.listen(0, '127.0.0.1', () => {
  const server = new esl.Server({ server: tcp, myevents: true });
  out({ listening: tcp.address().port });
  server.on('connection::ready', (conn) => {
    const info = conn.getInfo();
    const uuid = info.getHeader('Unique-ID');
    out({
      connected: uuid,
      channel: info.getHeader('Channel-Name'),
      mode: info.getHeader('Socket-Mode'),
      control: info.getHeader('Control'),
      destination: info.getHeader('Caller-Destination-Number'),
    });
    conn.on('esl::event::CHANNEL_HANGUP::*', (ev) => out({ hangup: ev.getHeader('Hangup-Cause') }));
    conn.on('esl::event::disconnect::notice', (ev) => out({
      notice: ev.getHeader('Content-Disposition'),
      session: ev.getHeader('Controlled-Session-UUID'),
      body: ev.getBody(),
    }));
    conn.on('esl::end', () => { out({ end: true }); process.exit(0); });
    conn.execute('answer', '', () => {
      conn.execute('set', 'color=blue', (ev) => {
        out({ executed: ev.getHeader('Application'), data: ev.getHeader('Application-Data') });
        conn.api('uuid_getvar ' + uuid + ' color', (res) => {
          out({ getvar: res.getBody() });
          conn.execute('hangup', 'USER_BUSY');
        });
      });
    });
  });
});
