// The browser bundle: MQTT.js and stomp.js from the pinned npm packages, exposed as page globals.
import mqtt from 'mqtt';
import { Client, Versions } from '@stomp/stompjs';

window.mqtt = mqtt;
window.StompJs = { Client, Versions };
