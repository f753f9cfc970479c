// Overview: the broker's counts, and live charts of the last 15 minutes from the feed (GET /api/v1/feed, SSE):
// the history arrives at once, then a sample a second.
import uPlot from 'uplot';
import { api } from './api.js';
import { h, status } from './dom.js';

const COLORS = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#4b5563', '#ca8a04'];
const KEEP = 15 * 60;

/** One chart: its series are named by `keys(sample)`, valued by `value(sample, key)`. */
function chart(title, unit, keys, value) {
  const figure = h('figure', { class: 'chart', dataset: { chart: title, points: '0' } },
    h('figcaption', {}, title));
  const body = h('div', { class: 'plot', role: 'img', 'aria-label': `${title}, last 15 minutes` });
  const legend = h('p', { class: 'latest', 'aria-live': 'off' });
  figure.append(body, legend);
  let plot = null;
  let names = [];
  return {
    figure,
    draw(samples) {
      const seen = new Set(names);
      for (const s of samples) for (const k of keys(s)) seen.add(k);
      const wanted = [...seen].sort();
      const width = Math.max(280, body.clientWidth || 480);
      if (!plot || wanted.join() !== names.join()) {
        names = wanted;
        if (plot) plot.destroy();
        plot = new uPlot({
          width,
          height: 180,
          legend: { show: true, live: false },
          scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
          axes: [{}, { label: unit, size: 60 }],
          series: [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2, points: { show: false } }))],
        }, [[]], body);
      } else if (Math.abs(plot.width - width) > 4) {
        plot.setSize({ width, height: 180 });
      }
      const xs = samples.map((s) => s.time / 1000);
      const data = [xs, ...names.map((n) => samples.map((s) => value(s, n) ?? null))];
      plot.setData(data);
      const last = samples[samples.length - 1];
      const latest = {};
      for (const n of names) latest[n] = last ? value(last, n) ?? null : null;
      figure.dataset.points = String(samples.length);
      figure.dataset.latest = JSON.stringify(latest);
      legend.textContent = names.length
        ? `Now: ${names.map((n) => `${n} ${latest[n] == null ? 'none' : +latest[n].toFixed(2)}`).join(', ')}`
        : 'No data yet';
    },
  };
}

const connectionKeys = (s) => Object.entries(s.connections || {}).flatMap(([p, ts]) => Object.keys(ts).map((t) => `${p}/${t}`));
const connectionValue = (s, k) => {
  const [p, t] = k.split('/');
  return s.connections?.[p]?.[t] ?? 0;
};

export function overview(main) {
  const counts = h('dl', { class: 'counts' });
  const charts = [
    chart('Connections by protocol and transport', 'connections', connectionKeys, connectionValue),
    chart('Messages per second', 'msg/s', () => ['in', 'out'], (s, k) => (k === 'in' ? s.messagesInPerSecond : s.messagesOutPerSecond)),
    chart('Drops and backpressure pauses per second', 'per s', () => ['drops', 'pauses'],
      (s, k) => (k === 'drops' ? s.dropsPerSecond : s.backpressurePausesPerSecond)),
    chart('p99 delivery latency', 'ms', () => ['p99'], (s) => s.p99LatencyMillis ?? null),
  ];
  const reasons = h('div', { class: 'reasons' });
  main.append(
    h('h2', {}, 'Overview'),
    counts,
    h('section', { class: 'charts', 'aria-label': 'Live charts' }, charts.map((c) => c.figure)),
    h('h3', {}, 'Refusals, drops and disconnects since start'),
    reasons,
  );

  let samples = [];
  const redraw = () => charts.forEach((c) => c.draw(samples));
  const feed = new EventSource('/api/v1/feed');
  feed.addEventListener('history', (e) => {
    samples = JSON.parse(e.data);
    redraw();
  });
  feed.addEventListener('sample', (e) => {
    const s = JSON.parse(e.data);
    if (samples.length && samples[samples.length - 1].time >= s.time) return;
    samples.push(s);
    if (samples.length > KEEP) samples.splice(0, samples.length - KEEP);
    redraw();
  });
  feed.onerror = () => status('Live feed interrupted; reconnecting…');
  feed.onopen = () => status('');

  async function refresh() {
    try {
      const s = await api.get('summary');
      const c = s.counts;
      counts.replaceChildren(...[
        ['Connections', c.connections], ['Sessions online', c.sessionsOnline], ['Sessions offline', c.sessionsOffline],
        ['Subscriptions', c.subscriptions], ['Retained messages', c.retained], ['Queued', c.queued], ['In flight', c.inflight],
      ].flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, String(v))]));
      const r = await api.get('refusals');
      reasons.replaceChildren(...Object.entries(r).map(([group, byReason]) => {
        const rows = Object.entries(byReason).filter(([, n]) => n > 0);
        return h('table', {},
          h('caption', {}, group.replace(/([A-Z])/g, ' $1').toLowerCase()),
          h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'reason'), h('th', { scope: 'col' }, 'count'))),
          h('tbody', {}, rows.length ? rows.map(([k, n]) => h('tr', {}, h('td', {}, k.replace(/_/g, ' ')), h('td', {}, String(n))))
            : h('tr', {}, h('td', { colspan: 2 }, 'none'))));
      }));
    } catch (e) {
      status(e.message);
    }
  }
  refresh();
  const timer = setInterval(refresh, 2000);
  const onResize = () => redraw();
  window.addEventListener('resize', onResize);
  return {
    stop() {
      feed.close();
      clearInterval(timer);
      window.removeEventListener('resize', onResize);
    },
  };
}
