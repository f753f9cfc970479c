// Bundles the client with MQTT.js for browsers: an ES module (dist/sluice-client.mjs) and a script-tag build
// (dist/sluice-client.js, the global `Sluice` with `Sluice.SluiceClient`). Node.js uses src/ directly.
import * as esbuild from 'esbuild';

const common = {
  entryPoints: ['src/index.js'],
  bundle: true,
  platform: 'browser',
  target: 'es2020',
  minify: true,
  sourcemap: true,
  logLevel: 'warning',
};
await esbuild.build({ ...common, format: 'esm', outfile: 'dist/sluice-client.mjs' });
await esbuild.build({ ...common, format: 'iife', globalName: 'Sluice', outfile: 'dist/sluice-client.js' });
console.log('dist/sluice-client.mjs and dist/sluice-client.js written');
