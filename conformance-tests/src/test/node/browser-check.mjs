// Headless Chromium (playwright-core, the system's Chromium: no browser download) opens the bundled page
// from a loopback HTTP server and runs the MQTT.js <-> stomp.js round trip in it against the broker.
// Argument: {"pageDir": ".../browser", "chromium": "/usr/bin/chromium", "mqttUrl": "ws://...",
//            "stompUrl": "ws://...", "features": [...], "entry": "sluiceRoundTrip"}; entry names the page's function
// that runs the checks (sluiceCompression: the same clients over compressed WebSockets; sluiceSecure: over wss://
// with a token). Optional: "chromiumArgs" (more command-line flags), "page" (more parameters for the entry),
// "unpinned": {"pfx": "file.p12", "passphrase": "..."}, a TLS server with a key Chromium was not told to trust,
// whose wss:// URL the page gets as unpinnedUrl; the connect check then also needs the handshake failure it saw.
import { chromium } from 'playwright-core';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs, withTimeout } from './checks.mjs';

const args = parseArgs();
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8' };

const server = createServer((req, res) => {
  const name = new URL(req.url, 'http://x').pathname.replace(/^\/+/, '') || 'index.html';
  if (!/^[a-z.]+$/.test(name)) {
    res.writeHead(404).end();
    return;
  }
  try {
    const body = readFileSync(join(args.pageDir, name));
    res.writeHead(200, { 'content-type': TYPES[name.slice(name.lastIndexOf('.'))] || 'application/octet-stream' });
    res.end(body);
  } catch {
    res.writeHead(404).end();
  }
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const pageUrl = `http://127.0.0.1:${server.address().port}/index.html`;

let unpinned;
const unpinnedFailures = [];
if (args.unpinned) {
  unpinned = createTlsServer({ pfx: readFileSync(args.unpinned.pfx), passphrase: args.unpinned.passphrase },
    (req, res) => res.writeHead(404).end());
  unpinned.on('tlsClientError', (e) => unpinnedFailures.push(e.message));
  await new Promise((resolve) => unpinned.listen(0, '127.0.0.1', resolve));
}

const userDataDir = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));
let context;
const problems = [];
let results;
try {
  context = await withTimeout(chromium.launchPersistentContext(userDataDir, {
    executablePath: args.chromium,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync', ...(args.chromiumArgs || [])],
  }), 60000, `starting ${args.chromium}`);
  const page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  await page.goto(pageUrl, { timeout: 30000 });
  results = await withTimeout(page.evaluate(({ entry, p }) => window[entry](p), {
    entry: args.entry || 'sluiceRoundTrip',
    p: {
      mqttUrl: args.mqttUrl, stompUrl: args.stompUrl, features: args.features, ...(args.page || {}),
      ...(unpinned ? { unpinnedUrl: `wss://127.0.0.1:${unpinned.address().port}/` } : {}),
    },
  }), 240000, 'the page\'s checks');
  const connect = results['connect-clean'];
  if (unpinned && connect && connect.ok) {
    // the page saw the WebSocket fail; the server says why: the browser refused its certificate
    if (unpinnedFailures.length === 0) {
      connect.ok = false;
      connect.detail += '; but the unpinned server saw no failed handshake';
    } else {
      connect.detail += ` (that server's handshake failed: ${unpinnedFailures[0].match(/alert [a-z ]+/)?.[0] || unpinnedFailures[0]})`;
    }
  }
  const agent = await page.evaluate(() => navigator.userAgent);
  for (const r of Object.values(results)) {
    r.detail = `${r.detail} [${agent.match(/(Headless)?Chrome\/[\d.]+/)?.[0] || agent}]`;
    if (!r.ok && problems.length) r.detail += `; ${problems.join('; ')}`;
  }
} catch (e) {
  results = Object.fromEntries(args.features.map((f) => [f, { ok: false, detail: `${e.message}; ${problems.join('; ')}` }]));
} finally {
  if (context) await context.close().catch(() => {});
  server.close();
  if (unpinned) unpinned.close();
  rmSync(userDataDir, { recursive: true, force: true });
}
process.stdout.write(JSON.stringify({ results }) + '\n');
process.exit(0);
