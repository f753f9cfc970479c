// MQTT.js 5 feature checks on Node against a running broker, over mqtt:// or ws:// with protocol version 3, 4
// or 5. Argument: {"url": "...", "version": 3|4|5, "features": [...], "stompUrl": "ws://.../stomp"}.
import mqtt from 'mqtt';
import { Client } from '@stomp/stompjs';
import WebSocket from 'ws';
import { parseArgs, runChecks } from './checks.mjs';
import { mqttChecks } from './mqtt-suite.js';

const args = parseArgs();
const checks = mqttChecks({
  mqtt,
  StompClient: Client,
  stompSocket: () => new WebSocket(args.stompUrl, ['v12.stomp']),
  url: args.url,
  version: args.version,
  label: 'mqttjs',
});
await runChecks(args.features, checks);
process.exit(0);
