// The Node side of the checks: the argument is one JSON object (argv[2]); the outcomes are printed as ONE JSON
// line on stdout: {"results":{"<feature>":{"ok":true|false,"detail":"..."}}}. The JUnit side asserts on that line.
// Every check is bounded in time; a check that throws or times out is a failure with the reason as detail.
import { runAll } from './util.js';

export { assert, Inbox, unique, withTimeout } from './util.js';

export function parseArgs() {
  if (process.argv.length < 3) {
    throw new Error('usage: node <script> \'{"url":...,"features":[...]}\'');
  }
  return JSON.parse(process.argv[2]);
}

export async function runChecks(wanted, checks, perCheckMs = 30000) {
  const results = await runAll(wanted, checks, perCheckMs);
  process.stdout.write(JSON.stringify({ results }) + '\n');
}
