// Bundles MQTT.js and stomp.js for the browser page (no CDN): node bundle.mjs <output directory>.
import * as esbuild from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

const out = process.argv[2];
if (!out) {
  throw new Error('usage: node bundle.mjs <output directory>');
}
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: ['browser/entry.js'],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'es2020',
  minify: true,
  outfile: join(out, 'bundle.js'),
  logLevel: 'warning',
});
copyFileSync('browser/index.html', join(out, 'index.html'));
console.log(`browser bundle written to ${out}`);
