// Runs named feature checks one after another and prints their outcomes as ONE JSON line on stdout:
// {"results":{"<feature>":{"ok":true|false,"detail":"..."}}}. The JUnit side asserts on that line.
// Every check is bounded in time; a check that throws or times out is a failure with the reason as detail.

export function parseArgs() {
  if (process.argv.length < 3) {
    throw new Error('usage: node <script> \'{"url":...,"features":[...]}\'');
  }
  return JSON.parse(process.argv[2]);
}

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export async function runChecks(wanted, checks, perCheckMs = 30000) {
  const results = {};
  for (const name of wanted) {
    const check = checks[name];
    if (!check) {
      results[name] = { ok: false, detail: `no such check in this script: ${name}` };
      continue;
    }
    try {
      const detail = await withTimeout(Promise.resolve().then(check), perCheckMs, name);
      results[name] = { ok: true, detail: detail || '' };
    } catch (e) {
      results[name] = { ok: false, detail: String(e && e.stack ? e.stack : e) };
    }
  }
  process.stdout.write(JSON.stringify({ results }) + '\n');
}

export function assert(condition, message) {
  if (!condition) {
    throw new Error(message);
  }
}

/** Messages arriving on some source, awaited one at a time in arrival order. */
export class Inbox {
  constructor() {
    this.items = [];
    this.waiters = [];
  }

  push(item) {
    const waiter = this.waiters.shift();
    if (waiter) {
      waiter(item);
    } else {
      this.items.push(item);
    }
  }

  next(ms, what) {
    if (this.items.length) {
      return Promise.resolve(this.items.shift());
    }
    return withTimeout(new Promise((resolve) => this.waiters.push(resolve)), ms, what);
  }
}

export function unique(prefix) {
  return `${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}
