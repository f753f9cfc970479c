// A tiny reverse proxy in front of the broker that plays the broken network: it can refuse WebSocket upgrades
// (as proxies that strip Upgrade do), refuse GET /sse, and cut every connection it forwards. It also serves
// the browser test page and the script-tag build.
import { createServer, request } from 'node:http';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';

export async function startProxy(brokerPort, files = {}) {
  const state = { refuseWebSocket: false, refuseSse: false };
  const open = new Set();
  const server = createServer((req, res) => {
    const path = new URL(req.url, 'http://x').pathname;
    if (files[path]) {
      const [type, file] = files[path];
      res.writeHead(200, { 'content-type': type }).end(readFileSync(file));
      return;
    }
    if (path === '/sse' && state.refuseSse) {
      res.writeHead(503, { 'content-type': 'text/plain' }).end('refused by the test proxy\n');
      return;
    }
    const up = request({ host: '127.0.0.1', port: brokerPort, method: req.method, path: req.url, headers: req.headers },
      (upRes) => {
        res.writeHead(upRes.statusCode, upRes.headers);
        res.flushHeaders();
        upRes.pipe(res);
      });
    up.on('error', () => res.destroy());
    const pair = [up, res];
    open.add(pair);
    res.on('close', () => { open.delete(pair); up.destroy(); });
    req.pipe(up);
  });
  server.on('upgrade', (req, socket, head) => {
    if (state.refuseWebSocket) {
      socket.end('HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n');
      return;
    }
    const up = connect(brokerPort, '127.0.0.1', () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      up.write(lines.join('\r\n') + '\r\n\r\n');
      if (head.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    const pair = [up, socket];
    open.add(pair);
    const done = () => { open.delete(pair); up.destroy(); socket.destroy(); };
    up.on('error', done);
    socket.on('error', done);
    up.on('close', done);
    socket.on('close', done);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    state,
    cut() {
      for (const [a, b] of open) {
        a.destroy();
        b.destroy();
      }
      open.clear();
    },
    close() {
      this.cut();
      server.close();
      server.closeAllConnections?.();
    },
  };
}
