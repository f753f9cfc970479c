// The "MQTT.js with the command line" recipe of docs/testing.md, run as written there: start Sluice as a
// process with --strict --port-file --violations-file --fault-injection, read its ports, drop a client through
// the fault endpoint and watch MQTT.js reconnect, let another client break a rule, stop the broker with SIGTERM
// and read the violations. Argument: {"command": ["java", "-cp", "...", "io.sluice.server.Main"], "dir": "..."}.
import mqtt from 'mqtt';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { parseArgs, runChecks, assert, withTimeout } from './checks.mjs';

const args = parseArgs();
const ports = `${args.dir}/ports.json`;
const violations = `${args.dir}/violations.jsonl`;

async function startSluice() {
  rmSync(ports, { force: true });
  const [cmd, ...rest] = args.command;
  const proc = spawn(cmd, [...rest, '--strict', '--port-file', ports, '--violations-file', violations,
    '--fault-injection', '--mqtt-port', '0', '--http-port', '0', '--stomp-port', '0', '--bind', '127.0.0.1',
    '--persistence', 'none', '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
  const deadline = Date.now() + 30000;
  while (!existsSync(ports)) {
    assert(Date.now() < deadline && proc.exitCode === null, 'the broker wrote no port file');
    await new Promise((r) => setTimeout(r, 20));
  }
  const p = JSON.parse(readFileSync(ports, 'utf8'));
  return {
    url: `mqtt://127.0.0.1:${p.mqtt}`,
    fault: (path) => fetch(`http://127.0.0.1:${p.http}/api/v1/testkit/${path}`, { method: 'POST' }),
    async stop() {
      const exited = new Promise((r) => proc.on('exit', r));
      proc.kill('SIGTERM');
      await withTimeout(exited, 20000, 'the broker stopping on SIGTERM');
      return readFileSync(violations, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
  };
}

function once(emitter, event) {
  return new Promise((resolve) => emitter.once(event, resolve));
}

await runChecks(['cli-recipe'], {
  'cli-recipe': async () => {
    const sluice = await startSluice();
    const client = mqtt.connect(sluice.url, { clientId: 'js-1', reconnectPeriod: 200, protocolVersion: 5 });
    await withTimeout(once(client, 'connect'), 10000, 'the first connect');
    const answer = await sluice.fault('faults/drop?client=js-1');
    assert(answer.status === 200, `fault endpoint answered ${answer.status}`);
    await withTimeout(once(client, 'reconnect'), 10000, 'MQTT.js reconnecting after the drop');
    await withTimeout(once(client, 'connect'), 10000, 'the connect after the drop');
    client.end(true);

    const bad = mqtt.connect(sluice.url, { clientId: 'js-bad', reconnectPeriod: 0, protocolVersion: 4 });
    await withTimeout(once(bad, 'connect'), 10000, 'the rule breaker connecting');
    const closed = once(bad, 'close');
    bad.publish('a/+', 'wildcard', { qos: 1 }, () => {});
    await withTimeout(closed, 10000, 'the broker closing the rule breaker');
    bad.end(true);

    const found = await sluice.stop();
    assert(found.length === 1, `one violation expected, got ${JSON.stringify(found)}`);
    assert(found[0].rule === 'MQTT-3.3.2-2' && found[0].clientId === 'js-bad', JSON.stringify(found[0]));
    return `drop -> MQTT.js reconnected; ${found[0].rule} by ${found[0].clientId} in the violations file`;
  },
}, 60000);
process.exit(0);
