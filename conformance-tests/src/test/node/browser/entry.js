// The browser bundle: MQTT.js and stomp.js from the pinned npm packages, and the same MQTT feature checks the
// Node script runs, exposed as page globals.
import mqtt from 'mqtt';
import { Client } from '@stomp/stompjs';
import { mqttChecks } from '../mqtt-suite.js';
import { runAll, Inbox, assert } from '../util.js';

window.mqtt = mqtt;
window.StompJs = { Client };
window.sluice = { mqttChecks, runAll, Inbox, assert };
