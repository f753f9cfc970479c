// A text/event-stream reader over fetch, for where there is no EventSource (Node.js) or where the request must
// carry an Authorization header (EventSource cannot set headers). It parses events the way the HTML standard
// says a browser does and offers the part of the EventSource interface the client uses: onopen, onmessage,
// onerror, addEventListener('reset'), close(). It does not reconnect by itself: the client does.

export class FetchEventSource {
  constructor(url, { headers = {}, fetch: fetchImpl = globalThis.fetch } = {}) {
    this.onopen = null;
    this.onmessage = null;
    this.onerror = null;
    this.listeners = {};
    this.lastEventId = '';
    this.abort = new AbortController();
    this.run(url, headers, fetchImpl).catch((e) => {
      if (!this.abort.signal.aborted && this.onerror) this.onerror(e);
    });
  }

  addEventListener(type, fn) {
    (this.listeners[type] ||= []).push(fn);
  }

  close() {
    this.abort.abort();
  }

  async run(url, headers, fetchImpl) {
    const res = await fetchImpl(url, { headers: { accept: 'text/event-stream', ...headers }, signal: this.abort.signal });
    if (res.status !== 200 || !String(res.headers.get('content-type')).startsWith('text/event-stream')) {
      throw Object.assign(new Error(`GET /sse answered ${res.status}`), { status: res.status });
    }
    if (this.onopen) this.onopen();
    const decoder = new TextDecoder();
    let buffer = '';
    let id = null;
    let type = null;
    let data = null;
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let nl;
      while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1));
        if (line === '') {
          if (id !== null) this.lastEventId = id;
          if (data !== null) this.dispatch(type || 'message', data);
          id = type = data = null;
        } else if (!line.startsWith(':')) {
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          let value = colon < 0 ? '' : line.slice(colon + 1);
          if (value.startsWith(' ')) value = value.slice(1);
          if (field === 'id') id = value;
          else if (field === 'event') type = value;
          else if (field === 'data') data = data === null ? value : `${data}\n${value}`;
        }
      }
    }
    throw new Error('the stream ended');
  }

  dispatch(type, data) {
    const event = { type, data, lastEventId: this.lastEventId };
    if (type === 'message' && this.onmessage) this.onmessage(event);
    for (const fn of this.listeners[type] || []) fn(event);
  }
}
