// @sluice/client: publish and subscribe to a Sluice broker from a browser or Node.js over whatever the network
// allows. MQTT over WebSocket first (through MQTT.js), then Server-Sent Events with POST /publish, then
// long-polling; back to WebSocket as soon as an upgrade succeeds again. See README.md.
import mqtt from 'mqtt';
import { applyDelta } from 'fossil-delta';
import { backoffDelay, DEFAULT_BACKOFF } from './backoff.js';
import { matches } from './filter.js';
import { FetchEventSource } from './event-stream.js';

export { backoffDelay, DEFAULT_BACKOFF, matches };

export const TRANSPORTS = Object.freeze(['websocket', 'sse', 'poll']);

const DEFAULTS = {
  transports: TRANSPORTS,
  backoff: DEFAULT_BACKOFF,
  upgradeInterval: 30000,
  connectTimeout: 10000,
  sessionExpiry: 300,
  publishRetries: 5,
  clientId: null,
  username: null,
  password: null,
  token: null,
  envelope: 'compact',
  delta: true,
};

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function toBytes(payload) {
  if (payload instanceof Uint8Array) return payload;
  if (typeof payload === 'string') return encoder.encode(payload);
  if (payload instanceof ArrayBuffer) return new Uint8Array(payload);
  return encoder.encode(JSON.stringify(payload));
}

function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function randomId() {
  const b = new Uint8Array(8);
  globalThis.crypto.getRandomValues(b);
  return 'sluice-js-' + Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/** A message as the callbacks get it, whatever the transport. */
function message(topic, payload, { retained = false, qos = 0, id = null, transport, properties } = {}) {
  return {
    topic,
    payload,
    get text() { return decoder.decode(payload); },
    retained,
    qos,
    id,
    transport,
    properties,
  };
}

function fromEnvelope(e, transport, client) {
  const wire = e.encoding === 'base64' ? base64ToBytes(e.payload) : encoder.encode(e.payload);
  const payload = client.payloadOf(e.topic, wire, e.delta === 'fossil');
  return payload && message(e.topic, payload, { retained: !!e.retained, qos: e.qos || 0, id: e.id || null, transport,
    properties: e.properties });
}

/** MQTT 5 SUBSCRIBE options; with deltas on, the user property that asks for them (docs/bandwidth.md). */
function subscribeOptions(client) {
  return client.options.delta ? { qos: 1, rh: 1, properties: { userProperties: { 'sluice-delta': 'fossil' } } }
    : { qos: 1, rh: 1 };
}

/** A PUBLISH's properties without the broker's delta marker, which is the client's business, not the caller's. */
function withoutDeltaMarker(properties) {
  if (!properties?.userProperties || !('sluice-delta' in properties.userProperties)) return properties;
  const { 'sluice-delta': _, ...rest } = properties.userProperties;
  return { ...properties, userProperties: rest };
}

export class SluiceClient {
  /**
   * @param url the broker's HTTP port, e.g. 'https://broker.example.com' or 'http://127.0.0.1:8083'
   * @param options see README.md
   */
  constructor(url, options = {}) {
    this.base = String(url).replace(/\/+$/, '');
    this.options = { ...DEFAULTS, ...options, backoff: { ...DEFAULT_BACKOFF, ...(options.backoff || {}) } };
    this.clientId = this.options.clientId || randomId();
    this.subscriptions = new Map();
    this.listeners = {};
    this.level = 0;
    this.attempt = 0;
    this.cursor = null;
    this.seen = new Set();
    // the last payload per topic, what the broker's next delta on that topic applies to
    this.bases = new Map();
    this.current = null;
    this.probe = null;
    this.timers = new Set();
    this.closed = false;
    // after the caller's first subscribe() calls, so the first connection carries them
    queueMicrotask(() => this.connect());
  }

  /** Listen to 'transport' (name), 'reconnecting' ({attempt, delay}), 'reset' ({reason}), 'error' (Error). */
  on(type, fn) {
    (this.listeners[type] ||= []).push(fn);
    return this;
  }

  off(type, fn) {
    this.listeners[type] = (this.listeners[type] || []).filter((f) => f !== fn);
    return this;
  }

  emit(type, value) {
    for (const fn of this.listeners[type] || []) {
      try { fn(value); } catch (e) { /* a listener's error is its own */ }
    }
  }

  /** The transport in use now ('websocket', 'sse', 'poll'), null while connecting. */
  get transport() {
    return this.current && this.current.opened ? this.current.name : null;
  }

  /** Call onMessage({topic, payload, text, retained, id, transport}) for every message matching filter. */
  subscribe(filter, onMessage) {
    let set = this.subscriptions.get(filter);
    const isNew = !set;
    if (isNew) {
      set = new Set();
      this.subscriptions.set(filter, set);
    }
    set.add(onMessage);
    if (isNew && this.current) this.current.subscribe(filter);
    return () => this.unsubscribe(filter, onMessage);
  }

  unsubscribe(filter, onMessage) {
    const set = this.subscriptions.get(filter);
    if (!set) return;
    if (onMessage) set.delete(onMessage);
    if (!onMessage || set.size === 0) {
      this.subscriptions.delete(filter);
      if (this.current) this.current.unsubscribe(filter);
    }
  }

  /**
   * Publish; resolves once the broker holds the message (QoS 1: queued for every subscriber). Over MQTT when
   * the WebSocket is up, else with POST /publish, which a full subscriber queue answers with 503 and
   * Retry-After: the client waits as told and sends again, up to `publishRetries` times.
   */
  async publish(topic, payload, { qos = 0, retain = false } = {}) {
    const bytes = toBytes(payload);
    const c = this.current;
    if (c && c.opened && c.name === 'websocket') {
      return c.publish(topic, bytes, { qos, retain });
    }
    return this.publishHttp(topic, bytes, { qos, retain }, typeof payload === 'string' ? 'text/plain; charset=utf-8' : null);
  }

  async publishHttp(topic, bytes, { qos, retain }, contentType) {
    const url = `${this.base}/publish?topic=${encodeURIComponent(topic)}&qos=${qos}&retain=${retain}`;
    for (let attempt = 0; ; attempt++) {
      const headers = this.authHeaders();
      if (contentType) headers['content-type'] = contentType;
      const res = await fetch(url, { method: 'POST', body: bytes, headers });
      if (res.status === 200) return;
      if (res.status === 503 && attempt < this.options.publishRetries) {
        const after = Number(res.headers.get('retry-after')) || 1;
        await this.sleep(after * 1000);
        continue;
      }
      throw new Error(`publish to ${topic} answered ${res.status}: ${(await res.text()).trim()}`);
    }
  }

  /** Stop: close the transport, cancel timers. */
  close() {
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    if (this.probe) this.probe.close();
    if (this.current) this.current.close();
    this.current = this.probe = null;
  }

  // ---- transport choice

  connect() {
    if (this.closed) return;
    const name = this.options.transports[this.level];
    this.current = this.start(name, false);
  }

  start(name, probing) {
    const client = this;
    const t = { name, opened: false, probing };
    const handlers = {
      open() {
        t.opened = true;
        client.opened(t);
      },
      fail(error) {
        client.failed(t, error);
      },
      message(m) {
        if (client.current === t) client.deliver(m);
      },
      reset(info) {
        if (client.current === t) client.emit('reset', info);
      },
    };
    IMPLEMENTATIONS[name](this, handlers, t);
    return t;
  }

  opened(t) {
    if (t.probing) {
      // a WebSocket is possible again: it takes over once subscribed; the fallback transport ends
      this.probe = null;
      t.probing = false;
      const old = this.current;
      this.current = t;
      this.level = 0;
      if (old) old.close();
    } else if (t !== this.current) {
      t.close();
      return;
    }
    this.attempt = 0;
    if (this.announced !== t.name) {
      this.announced = t.name;
      this.emit('transport', t.name);
    }
    this.scheduleUpgrade();
  }

  failed(t, error) {
    t.close();
    if (t.probing) {
      if (this.probe === t) this.probe = null;
      this.scheduleUpgrade();
      return;
    }
    if (t !== this.current || this.closed) return;
    this.current = null;
    this.announced = null;
    if (error) this.emit('error', error);
    const last = this.level >= this.options.transports.length - 1;
    if (!t.opened && !last) {
      // the upgrade failed or the connection closed before it opened: the next transport, at once
      this.level++;
      this.connect();
      return;
    }
    // every transport failed, or an open one dropped: back off, then start again from the best one
    this.level = 0;
    const delay = backoffDelay(this.attempt, this.options.backoff);
    this.emit('reconnecting', { attempt: ++this.attempt, delay });
    this.later(() => this.connect(), delay);
  }

  scheduleUpgrade() {
    const ws = this.options.transports.indexOf('websocket');
    if (this.closed || ws < 0 || !this.current || this.current.name === 'websocket' || this.probe
        || !this.options.upgradeInterval) return;
    this.later(() => {
      if (!this.closed && !this.probe && this.current && this.current.name !== 'websocket') {
        this.probe = this.start('websocket', true);
      }
    }, this.options.upgradeInterval);
  }

  later(fn, ms) {
    const t = setTimeout(() => { this.timers.delete(t); fn(); }, ms);
    this.timers.add(t);
  }

  sleep(ms) {
    return new Promise((resolve) => this.later(resolve, ms));
  }

  deliver(m) {
    if (m.id) {
      // positions make SSE and long-poll deliveries idempotent: a message seen once is not handed out again
      if (this.seen.has(m.id)) return;
      this.seen.add(m.id);
      if (this.seen.size > 2000) this.seen.delete(this.seen.values().next().value);
    }
    for (const [filter, callbacks] of this.subscriptions) {
      if (matches(filter, m.topic)) {
        for (const fn of callbacks) {
          try { fn(m); } catch (e) { this.emit('error', e); }
        }
      }
    }
  }

  // ---- what the HTTP transports share

  authHeaders() {
    const o = this.options;
    if (o.token) return { authorization: `Bearer ${o.token}` };
    if (o.username != null) {
      return { authorization: `Basic ${btoa(unescape(encodeURIComponent(`${o.username}:${o.password ?? ''}`)))}` };
    }
    return {};
  }

  readerUrl(path, { token = false } = {}) {
    const q = [...this.subscriptions.keys()].map((f) => `filter=${encodeURIComponent(f)}`);
    if (this.cursor) q.push(`since=${encodeURIComponent(this.cursor)}`);
    if (this.options.envelope === 'json') q.push('envelope=json');
    if (this.options.delta && path === '/sse') q.push('delta=fossil');
    if (token && this.options.token) q.push(`token=${encodeURIComponent(this.options.token)}`);
    return `${this.base}${path}?${q.join('&')}`;
  }

  /**
   * The payload a message carries: itself, or with deltas on and the message marked as one, the Fossil delta
   * applied to the last payload of its topic. The broker starts every connection from whole payloads, so a delta
   * always has its base here; null (and an 'error') if it does not.
   */
  payloadOf(topic, bytes, isDelta) {
    if (!this.options.delta) return bytes;
    let payload = bytes;
    if (isDelta) {
      const base = this.bases.get(topic);
      try {
        payload = applyDelta(base, bytes);
      } catch (e) {
        this.emit('error', new Error(`a delta on ${topic} could not be applied: ${e.message}`));
        this.bases.delete(topic);
        return null;
      }
    }
    this.bases.set(topic, payload);
    return payload;
  }

  /** Restart an SSE or long-poll transport so it carries a changed set of filters (from its position). */
  restartReader() {
    const t = this.current;
    if (!t || t.name === 'websocket') return;
    t.close();
    this.current = this.start(t.name, false);
  }
}

const IMPLEMENTATIONS = {
  websocket(client, h, t) {
    const o = client.options;
    const url = client.base.replace(/^http/, 'ws') + '/mqtt';
    let done = false;
    const c = mqtt.connect(url, {
      clientId: client.clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: o.sessionExpiry },
      reconnectPeriod: 0,
      connectTimeout: o.connectTimeout,
      username: o.username ?? undefined,
      password: o.token ?? o.password ?? undefined,
    });
    c.on('connect', () => {
      const filters = [...client.subscriptions.keys()];
      if (filters.length === 0) {
        h.open();
        return;
      }
      // Retain Handling 1: retained messages only for a subscription the session did not hold yet
      c.subscribe(filters, subscribeOptions(client), (err) => (err ? fail(err) : h.open()));
    });
    c.on('message', (topic, wire, packet) => {
      const marked = packet.properties?.userProperties?.['sluice-delta'] === 'fossil';
      const payload = client.payloadOf(topic, new Uint8Array(wire), marked);
      if (payload) {
        h.message(message(topic, payload, { retained: packet.retain, qos: packet.qos, transport: 'websocket',
          properties: withoutDeltaMarker(packet.properties) }));
      }
    });
    const fail = (err) => {
      if (!done) {
        done = true;
        h.fail(err instanceof Error ? err : null);
      }
    };
    c.on('error', fail);
    c.on('close', () => fail(null));
    t.close = () => {
      done = true;
      c.end(true);
    };
    t.subscribe = (filter) => c.subscribe(filter, subscribeOptions(client));
    t.unsubscribe = (filter) => c.unsubscribe(filter);
    t.publish = (topic, bytes, { qos, retain }) => new Promise((resolve, reject) => c.publish(topic, bytes,
      { qos, retain }, (err) => (err ? reject(err) : resolve())));
  },

  sse(client, h, t) {
    let es;
    let stopped = false;
    let openSinceError = false;
    const open = () => {
      // a browser's own EventSource (proxies know it; it resumes by Last-Event-ID itself); the fetch reader where
      // there is none or where credentials must travel in a header
      const headers = client.authHeaders();
      const native = typeof globalThis.EventSource === 'function' && !headers.authorization?.startsWith('Basic');
      es = native ? new globalThis.EventSource(client.readerUrl('/sse', { token: true }))
        : new FetchEventSource(client.readerUrl('/sse'), { headers });
      es.onopen = () => {
        openSinceError = true;
        if (!t.opened) h.open();
      };
      es.onmessage = (e) => {
        if (e.lastEventId) client.cursor = e.lastEventId;
        const m = fromEnvelope(JSON.parse(e.data), 'sse', client);
        if (m) h.message(m);
      };
      es.addEventListener('reset', (e) => {
        const info = JSON.parse(e.data);
        client.cursor = info.id;
        h.reset(info);
      });
      es.onerror = (e) => {
        if (stopped) return;
        if (es.lastEventId) client.cursor = es.lastEventId;
        if (native && es.readyState === 0 && openSinceError) {
          // the browser reconnects by itself after the server's retry delay, with Last-Event-ID
          openSinceError = false;
          client.emit('reconnecting', { attempt: 0, delay: null });
          return;
        }
        stopped = true;
        es.close();
        t.opened = t.opened && openSinceError;
        h.fail(e instanceof Error ? e : null);
      };
    };
    t.close = () => {
      stopped = true;
      if (es) es.close();
    };
    t.subscribe = t.unsubscribe = () => client.restartReader();
    if (client.subscriptions.size === 0) {
      h.open(); // nothing to read yet: idle until the first subscribe() restarts it
    } else {
      open();
    }
  },

  poll(client, h, t) {
    const abort = new AbortController();
    let stopped = false;
    t.close = () => {
      stopped = true;
      abort.abort();
    };
    t.subscribe = t.unsubscribe = () => client.restartReader();
    if (client.subscriptions.size === 0) {
      h.open();
      return;
    }
    (async () => {
      while (!stopped) {
        let body;
        try {
          const res = await fetch(client.readerUrl('/poll'), { headers: client.authHeaders(), signal: abort.signal });
          if (res.status !== 200) throw new Error(`GET /poll answered ${res.status}`);
          body = await res.json();
        } catch (e) {
          if (!stopped) h.fail(e);
          return;
        }
        if (stopped) return;
        if (!t.opened) h.open();
        if (body.reset) h.reset({ reason: body.reset, id: body.next });
        for (const e of body.messages) {
          const m = fromEnvelope(e, 'poll', client);
          if (m) h.message(m);
        }
        client.cursor = body.next;
      }
    })();
  },
};

export default SluiceClient;
