// The npm package fossil-delta against Sluice's Java Fossil delta codec. Argument: {"pairs": "<file>",
// "out": "<file>", "features": [...]}; the pairs file holds [{source, target, delta}] in base64, delta made
// by the Java encoder. Checks: npm applies every Java delta to the target (npm-applies-java), npm's own deltas
// are byte for byte the Java ones (same-deltas); npm's deltas are written to "out" for the Java decoder.
import { readFileSync, writeFileSync } from 'node:fs';
import { applyDelta, createDelta } from 'fossil-delta';
import { parseArgs, runChecks } from './checks.mjs';

const args = parseArgs();
const b64 = (s) => new Uint8Array(Buffer.from(s, 'base64'));
const pairs = JSON.parse(readFileSync(args.pairs, 'utf8')).map((p) => ({
  source: b64(p.source), target: b64(p.target), delta: b64(p.delta),
}));
const equal = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
const npmDeltas = pairs.map((p) => createDelta(p.source, p.target));
writeFileSync(args.out, JSON.stringify(npmDeltas.map((d) => Buffer.from(d).toString('base64'))));

await runChecks(args.features, {
  'npm-applies-java': () => {
    const wrong = pairs.filter((p) => !equal(applyDelta(p.source, p.delta), p.target)).length;
    if (wrong) throw new Error(`${wrong} of ${pairs.length} Java deltas applied by npm fossil-delta gave another target`);
    return `${pairs.length} Java deltas applied by npm fossil-delta`;
  },
  'same-deltas': () => {
    const differ = pairs.filter((p, i) => !equal(npmDeltas[i], p.delta)).length;
    if (differ) throw new Error(`${differ} of ${pairs.length} deltas differ between npm fossil-delta and Java`);
    return `${pairs.length} deltas byte for byte equal`;
  },
});
