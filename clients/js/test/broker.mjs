// Starts the real broker (server/target/sluice.jar, or $SLUICE_JAR) on ephemeral loopback ports and reads its
// ready line: "Sluice ready: mqtt=HOST:PORT http=HOST:PORT stomp=HOST:PORT".
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const JAR = process.env.SLUICE_JAR || fileURLToPath(new URL('../../../server/target/sluice.jar', import.meta.url));

/**
 * The broker with its message store in a fresh temporary directory; {@code restart()} stops it and starts it
 * again on the same ports and directory (persistent sessions and their queues survive).
 */
export async function startBroker(extraFlags = []) {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-client-test-'));
  let b = await launch(['--data-dir', dataDir, ...extraFlags], { mqtt: 0, http: 0 });
  const handle = {
    ...b,
    async restart() {
      await b.stop();
      b = await launch(['--data-dir', dataDir, ...extraFlags], { mqtt: b.mqttPort, http: b.httpPort });
    },
    async stop() {
      await b.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

async function launch(flags, ports) {
  if (!existsSync(JAR)) {
    throw new Error(`no broker jar at ${JAR}: build it first (mvn -B -q -DskipTests package) or set SLUICE_JAR`);
  }
  const proc = spawn('java', ['-jar', JAR, '--bind', '127.0.0.1', '--mqtt-port', String(ports.mqtt), '--http-port',
    String(ports.http), '--stomp-port', '0', '--sys-interval', '0', '--shutdown-drain', '0', ...flags],
  { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const ready = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the broker did not get ready in 60 s: ${output}`)), 60000);
    const onData = (d) => {
      output += d;
      const m = output.match(/Sluice ready: (.*)/);
      if (m) {
        clearTimeout(timer);
        resolve(Object.fromEntries(m[1].trim().split(/\s+/).map((kv) => kv.split('='))));
      }
    };
    proc.stdout.on('data', onData);
    proc.stderr.on('data', onData);
    proc.on('exit', (code) => reject(new Error(`the broker exited with ${code}: ${output}`)));
  });
  return {
    http: `http://${ready.http}`,
    mqtt: `mqtt://${ready.mqtt}`,
    httpPort: Number(ready.http.split(':')[1]),
    mqttPort: Number(ready.mqtt.split(':')[1]),
    stop: () => new Promise((resolve) => {
      proc.removeAllListeners('exit');
      proc.on('exit', resolve);
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 10000).unref();
    }),
  };
}
