// The browser bundle: MQTT.js, stomp.js and fossil-delta from the pinned npm packages, and the same MQTT feature
// checks the Node script runs, exposed as page globals.
import mqtt from 'mqtt';
import { Client } from '@stomp/stompjs';
import { applyDelta } from 'fossil-delta';
import { mqttChecks } from '../mqtt-suite.js';
import { runAll, Inbox, assert, withTimeout } from '../util.js';

window.mqtt = mqtt;
window.StompJs = { Client };
window.fossilDelta = { applyDelta };
window.sluice = { mqttChecks, runAll, Inbox, assert, withTimeout };
