// Clients: search the connections (client id, protocol, transport, address), page through them, inspect one,
// disconnect it.
import { api } from './api.js';
import { bytes, field, h, status } from './dom.js';

const PAGE = 50;

export function clients(main) {
  const search = h('input', { type: 'search', placeholder: 'part of a client id', autocomplete: 'off' });
  const address = h('input', { type: 'search', placeholder: 'ip or ip:port', autocomplete: 'off' });
  const protocol = h('select', {}, h('option', { value: '' }, 'any'), h('option', { value: 'mqtt' }, 'MQTT'),
    h('option', { value: 'stomp' }, 'STOMP'), h('option', { value: 'sse' }, 'SSE'), h('option', { value: 'poll' }, 'long-poll'));
  const transport = h('select', {}, h('option', { value: '' }, 'any'), h('option', { value: 'tcp' }, 'TCP'),
    h('option', { value: 'ws' }, 'WebSocket'), h('option', { value: 'sse' }, 'SSE'));
  const rows = h('tbody');
  const more = h('button', { type: 'button', disabled: true }, 'Next page');
  const first = h('button', { type: 'button', disabled: true }, 'First page');
  const detail = h('section', { class: 'detail', 'aria-label': 'Client details', hidden: true });
  const count = h('p', { class: 'hint', 'aria-live': 'polite' });

  main.append(
    h('h2', {}, 'Clients'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => { e.preventDefault(); load(null); } },
      field('Client id', search), field('Protocol', protocol), field('Transport', transport), field('Address', address),
      h('button', { type: 'submit' }, 'Search')),
    count,
    h('table', { class: 'clients' },
      h('caption', { class: 'visually-hidden' }, 'Connected clients'),
      h('thead', {}, h('tr', {}, ['Client id', 'Protocol', 'Transport', 'Address', 'Connected', 'Messages in / out', 'Bytes in / out',
        'Subscriptions', 'Queued', 'In flight', 'Paused', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
      rows),
    h('p', { class: 'pager' }, first, more),
    detail,
  );

  let cursor = null;
  let next = null;
  let typing = null;
  for (const el of [search, address]) {
    el.addEventListener('input', () => {
      clearTimeout(typing);
      typing = setTimeout(() => load(null), 250);
    });
  }
  for (const el of [protocol, transport]) el.addEventListener('change', () => load(null));
  more.addEventListener('click', () => load(next));
  first.addEventListener('click', () => load(null));

  async function load(from) {
    cursor = from;
    try {
      const page = await api.get('connections', {
        limit: PAGE, cursor: from, clientId: search.value.trim(), protocol: protocol.value,
        transport: transport.value, address: address.value.trim(),
      });
      next = page.nextCursor || null;
      more.disabled = !next;
      first.disabled = !from;
      count.textContent = page.items.length ? `${page.items.length} shown${next ? ', more on the next page' : ''}`
        : 'No client matches.';
      rows.replaceChildren(...page.items.map(row));
    } catch (e) {
      status(e.message);
    }
  }

  function row(c) {
    return h('tr', { dataset: { clientId: c.clientId, id: String(c.id) } },
      h('th', { scope: 'row' }, c.clientId),
      h('td', {}, c.protocol), h('td', {}, c.transport), h('td', {}, c.address),
      h('td', {}, new Date(c.connectedAt).toLocaleTimeString()),
      h('td', {}, `${c.messagesIn} / ${c.messagesOut}`), h('td', {}, `${bytes(c.bytesIn)} / ${bytes(c.bytesOut)}`),
      h('td', {}, String(c.subscriptionCount)), h('td', {}, String(c.queued)), h('td', {}, String(c.inflight)),
      h('td', {}, c.pausedByBackpressure ? 'yes' : 'no'),
      h('td', { class: 'actions' },
        h('button', { type: 'button', 'aria-label': `Inspect ${c.clientId}`, onclick: () => inspect(c.id) }, 'Inspect'),
        h('button', { type: 'button', class: 'danger', 'aria-label': `Disconnect ${c.clientId}`,
          onclick: () => disconnect(c) }, 'Disconnect')));
  }

  async function inspect(id) {
    try {
      const c = await api.get(`connections/${id}`);
      detail.hidden = false;
      detail.replaceChildren(
        h('h3', { tabindex: '-1' }, `Client ${c.clientId}`),
        h('dl', { class: 'counts' }, [
          ['Protocol', `${c.protocol} over ${c.transport}${c.subprotocol ? ` (${c.subprotocol})` : ''}`],
          ['Address', c.address], ['Connected at', new Date(c.connectedAt).toLocaleString()],
          ['Messages in / out', `${c.messagesIn} / ${c.messagesOut}`],
          ['Bytes in / out', `${bytes(c.bytesIn)} / ${bytes(c.bytesOut)}`],
          ['Queued', `${c.queued} (${bytes(c.queuedBytes)})`], ['In flight / window', `${c.inflight} / ${c.window}`],
          ['Paused by backpressure', c.pausedByBackpressure ? 'yes' : 'no'],
          ['Sessions', c.sessions.map((s) => `${s.id}${s.persistent ? `, persistent, expiry ${s.expirySeconds ?? 'never'}` : ''}`).join('; ') || 'none'],
        ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
        h('table', {},
          h('caption', {}, 'Subscriptions'),
          h('thead', {}, h('tr', {}, ['Filter', 'QoS', 'Shared group', 'No local'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, (c.subscriptions || []).length ? c.subscriptions.map((s) => h('tr', {},
            h('td', {}, s.filter), h('td', {}, String(s.qos)), h('td', {}, s.shareGroup || ''), h('td', {}, s.noLocal ? 'yes' : 'no')))
            : h('tr', {}, h('td', { colspan: 4 }, 'none')))),
      );
      detail.querySelector('h3').focus();
    } catch (e) {
      status(e.message);
    }
  }

  async function disconnect(c) {
    if (!window.confirm(`Disconnect ${c.clientId} (${c.protocol} over ${c.transport} from ${c.address})?`)) return;
    try {
      await api.del(`connections/${c.id}`);
      status(`${c.clientId} disconnected`);
    } catch (e) {
      status(e.message);
    }
    detail.hidden = true;
    // the connection leaves the table once its protocol has said goodbye
    for (let i = 0; i < 20; i++) {
      await load(cursor);
      if (!rows.querySelector(`tr[data-id="${c.id}"]`)) return;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  load(null);
  const timer = setInterval(() => { if (!document.activeElement?.closest('tbody')) load(cursor); }, 5000);
  return { stop: () => clearInterval(timer) };
}
