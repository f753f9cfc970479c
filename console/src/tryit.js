// Try it: subscribe and publish from the page itself, over MQTT over WebSocket (MQTT.js), STOMP over WebSocket
// (stomp.js) and Server-Sent Events (GET /sse, POST /publish). Everything received lands in one log.
import mqtt from 'mqtt';
import { Client } from '@stomp/stompjs';
import { field, h } from './dom.js';

const MAX_LOG = 200;
const wsBase = () => `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const random = () => Math.random().toString(36).slice(2, 8);

export function tryIt(main) {
  const log = h('ol', { class: 'log', 'aria-label': 'Messages received' });
  const logStatus = h('p', { class: 'hint', 'aria-live': 'polite' });
  const cleanups = [];

  function received(via, topic, payload) {
    const when = new Date().toLocaleTimeString();
    log.prepend(h('li', { dataset: { via, topic } }, h('span', { class: 'via' }, via), ' ',
      h('code', { class: 'topic' }, topic), ' ', h('span', { class: 'payload' }, payload), ' ', h('time', {}, when)));
    while (log.children.length > MAX_LOG) log.lastChild.remove();
    logStatus.textContent = `${via}: message on ${topic}`;
  }

  function panel(title, stateText, ...content) {
    return h('section', { class: 'panel', 'aria-label': title }, h('h3', {}, title), stateText, ...content);
  }

  // ---- credentials for a broker that authenticates (MQTT user name and password, STOMP login and passcode)
  const user = h('input', { autocomplete: 'username' });
  const password = h('input', { type: 'password', autocomplete: 'current-password' });
  const login = () => (user.value ? { user: user.value, password: password.value } : null);

  // ---- MQTT over WebSocket
  const mqttState = h('p', { class: 'state', 'aria-live': 'polite' }, 'not connected');
  const mqttId = h('input', { value: `console-${random()}`, autocomplete: 'off' });
  const mqttConnect = h('button', { type: 'button' }, 'Connect');
  const mqttFilter = h('input', { value: 'demo/#', autocomplete: 'off' });
  const mqttSubQos = qosSelect();
  const mqttTopic = h('input', { value: 'demo/hello', autocomplete: 'off' });
  const mqttPayload = h('input', { value: 'hello from the console', autocomplete: 'off' });
  const mqttQos = qosSelect();
  const mqttRetain = h('input', { type: 'checkbox' });
  let mqttClient = null;
  mqttConnect.addEventListener('click', () => {
    if (mqttClient) {
      mqttClient.end(true);
      mqttClient = null;
      mqttConnect.textContent = 'Connect';
      mqttState.textContent = 'not connected';
      return;
    }
    mqttState.textContent = 'connecting…';
    const credentials = login() ? { username: login().user, password: login().password } : {};
    mqttClient = mqtt.connect(`${wsBase()}/mqtt`, { clientId: mqttId.value, protocolVersion: 5, reconnectPeriod: 0,
      connectTimeout: 10000, ...credentials });
    mqttClient.on('connect', () => {
      mqttState.textContent = `connected as ${mqttId.value}`;
      mqttConnect.textContent = 'Disconnect';
    });
    mqttClient.on('error', (e) => { mqttState.textContent = `error: ${e.message}`; });
    mqttClient.on('close', () => {
      if (mqttClient) mqttState.textContent = 'connection closed';
    });
    mqttClient.on('message', (topic, payload) => received('MQTT', topic, new TextDecoder().decode(payload)));
  });
  const mqttSubscribe = h('button', { type: 'button' }, 'Subscribe');
  mqttSubscribe.addEventListener('click', () => {
    if (!mqttClient?.connected) { mqttState.textContent = 'connect first'; return; }
    mqttClient.subscribe(mqttFilter.value, { qos: Number(mqttSubQos.value) }, (err, granted) => {
      mqttState.textContent = err ? `subscribe failed: ${err.message}`
        : `subscribed to ${mqttFilter.value} (granted QoS ${granted?.[0]?.qos})`;
    });
  });
  const mqttPublish = h('button', { type: 'button' }, 'Publish');
  mqttPublish.addEventListener('click', () => {
    if (!mqttClient?.connected) { mqttState.textContent = 'connect first'; return; }
    mqttClient.publish(mqttTopic.value, mqttPayload.value, { qos: Number(mqttQos.value), retain: mqttRetain.checked },
      (err) => { mqttState.textContent = err ? `publish failed: ${err.message}` : `published to ${mqttTopic.value}`; });
  });
  cleanups.push(() => mqttClient?.end(true));

  // ---- STOMP over WebSocket
  const stompState = h('p', { class: 'state', 'aria-live': 'polite' }, 'not connected');
  const stompConnect = h('button', { type: 'button' }, 'Connect');
  const stompDest = h('input', { value: '/topic/demo/#', autocomplete: 'off' });
  const stompSendDest = h('input', { value: '/topic/demo/hello', autocomplete: 'off' });
  const stompBody = h('input', { value: 'hello over STOMP', autocomplete: 'off' });
  let stomp = null;
  stompConnect.addEventListener('click', () => {
    if (stomp) {
      stomp.deactivate();
      stomp = null;
      stompConnect.textContent = 'Connect';
      stompState.textContent = 'not connected';
      return;
    }
    stompState.textContent = 'connecting…';
    const connectHeaders = login() ? { login: login().user, passcode: login().password } : {};
    stomp = new Client({ brokerURL: `${wsBase()}/stomp`, reconnectDelay: 0, heartbeatIncoming: 0, heartbeatOutgoing: 0,
      connectHeaders });
    stomp.onConnect = () => {
      stompState.textContent = 'connected';
      stompConnect.textContent = 'Disconnect';
    };
    stomp.onStompError = (f) => { stompState.textContent = `error: ${f.headers.message}`; };
    stomp.onWebSocketClose = () => { if (stomp) stompState.textContent = 'connection closed'; };
    stomp.activate();
  });
  const stompSubscribe = h('button', { type: 'button' }, 'Subscribe');
  stompSubscribe.addEventListener('click', () => {
    if (!stomp?.connected) { stompState.textContent = 'connect first'; return; }
    const dest = stompDest.value;
    stomp.subscribe(dest, (m) => received('STOMP', m.headers.destination || dest, m.body));
    stompState.textContent = `subscribed to ${dest}`;
  });
  const stompSend = h('button', { type: 'button' }, 'Send');
  stompSend.addEventListener('click', () => {
    if (!stomp?.connected) { stompState.textContent = 'connect first'; return; }
    stomp.publish({ destination: stompSendDest.value, body: stompBody.value });
    stompState.textContent = `sent to ${stompSendDest.value}`;
  });
  cleanups.push(() => stomp?.deactivate());

  // ---- Server-Sent Events
  const sseState = h('p', { class: 'state', 'aria-live': 'polite' }, 'not subscribed');
  const sseFilter = h('input', { value: 'demo/#', autocomplete: 'off' });
  const sseTopic = h('input', { value: 'demo/hello', autocomplete: 'off' });
  const ssePayload = h('input', { value: 'hello over HTTP', autocomplete: 'off' });
  const sseSubscribe = h('button', { type: 'button' }, 'Subscribe');
  let source = null;
  sseSubscribe.addEventListener('click', () => {
    if (source) {
      source.close();
      source = null;
      sseSubscribe.textContent = 'Subscribe';
      sseState.textContent = 'not subscribed';
      return;
    }
    source = new EventSource(`/sse?filter=${encodeURIComponent(sseFilter.value)}`);
    sseSubscribe.textContent = 'Unsubscribe';
    sseState.textContent = 'opening…';
    source.onopen = () => { sseState.textContent = `subscribed to ${sseFilter.value}`; };
    source.onerror = () => {
      if (source?.readyState === EventSource.CLOSED) sseState.textContent = 'the broker refused the stream (is /sse served?)';
      else sseState.textContent = 'stream interrupted; reconnecting…';
    };
    source.onmessage = (e) => {
      try {
        const m = JSON.parse(e.data);
        received('SSE', m.topic, m.encoding === 'base64' ? `base64 ${m.payload}` : m.payload);
      } catch {
        received('SSE', '?', e.data);
      }
    };
  });
  const ssePublish = h('button', { type: 'button' }, 'Publish over HTTP');
  ssePublish.addEventListener('click', async () => {
    const r = await fetch(`/publish?topic=${encodeURIComponent(sseTopic.value)}&qos=1`, {
      method: 'POST', headers: { 'content-type': 'text/plain' }, body: ssePayload.value,
    }).catch((e) => ({ ok: false, status: e.message }));
    sseState.textContent = r.ok ? `published to ${sseTopic.value}` : `publish failed: ${r.status}`;
  });
  cleanups.push(() => source?.close());

  main.append(
    h('h2', {}, 'Try it'),
    h('p', { class: 'hint' }, 'Subscribe and publish from this page through the broker itself. What arrives is listed below.'),
    h('div', { class: 'row credentials' }, field('User name (if the broker asks)', user), field('Password', password)),
    h('div', { class: 'panels' },
      panel('MQTT over WebSocket', mqttState,
        h('div', { class: 'row' }, field('Client id', mqttId), mqttConnect),
        h('div', { class: 'row' }, field('MQTT filter', mqttFilter), field('Subscribe QoS', mqttSubQos), mqttSubscribe),
        h('div', { class: 'row' }, field('MQTT topic', mqttTopic), field('MQTT payload', mqttPayload),
          field('Publish QoS', mqttQos), field('Retain', mqttRetain), mqttPublish)),
      panel('STOMP over WebSocket', stompState,
        h('div', { class: 'row' }, stompConnect),
        h('div', { class: 'row' }, field('STOMP destination', stompDest), stompSubscribe),
        h('div', { class: 'row' }, field('STOMP send destination', stompSendDest), field('STOMP body', stompBody), stompSend)),
      panel('Server-Sent Events', sseState,
        h('div', { class: 'row' }, field('SSE filter', sseFilter), sseSubscribe),
        h('div', { class: 'row' }, field('HTTP topic', sseTopic), field('HTTP payload', ssePayload), ssePublish))),
    h('h3', {}, 'Received'),
    logStatus,
    log,
  );
  return { stop: () => cleanups.forEach((c) => c()) };
}

function qosSelect() {
  return h('select', {}, h('option', { value: '0' }, '0'), h('option', { value: '1', selected: true }, '1'),
    h('option', { value: '2' }, '2'));
}
