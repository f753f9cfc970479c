// Bundles the console (its code, MQTT.js, stomp.js and uPlot) for the browser: node build.mjs <output directory>.
// The output is three files, index.html, console.js and console.css, served by the broker from its jar.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  throw new Error('usage: node build.mjs <output directory>');
}
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: { console: 'src/main.js' },
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  outdir: out,
  logLevel: 'warning',
});
copyFileSync('src/index.html', join(out, 'index.html'));
