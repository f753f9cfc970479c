// Starts the real broker (server/target/sluice.jar, or $SLUICE_JAR) on ephemeral loopback ports and reads its
// ready line: "Sluice ready: mqtt=HOST:PORT http=HOST:PORT stomp=HOST:PORT".
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const JAR = process.env.SLUICE_JAR || fileURLToPath(new URL('../../../server/target/sluice.jar', import.meta.url));

export async function startBroker(extraFlags = []) {
  if (!existsSync(JAR)) {
    throw new Error(`no broker jar at ${JAR}: build it first (mvn -B -q -DskipTests package) or set SLUICE_JAR`);
  }
  const proc = spawn('java', ['-jar', JAR, '--bind', '127.0.0.1', '--mqtt-port', '0', '--http-port', '0',
    '--stomp-port', '0', '--sys-interval', '0', '--shutdown-drain', '0', ...extraFlags], { stdio: ['ignore', 'pipe', 'pipe'] });
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
    stop: () => new Promise((resolve) => {
      proc.removeAllListeners('exit');
      proc.on('exit', resolve);
      proc.kill('SIGTERM');
      setTimeout(() => proc.kill('SIGKILL'), 10000).unref();
    }),
  };
}
