// Helpers shared by the Node scripts and the browser page (no Node-only APIs here).

export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** Runs the wanted checks one after another, each bounded in time; returns {name: {ok, detail}}. */
export async function runAll(wanted, checks, perCheckMs = 30000) {
  const results = {};
  for (const name of wanted) {
    const check = checks[name];
    if (!check) {
      results[name] = { ok: false, detail: `no such check: ${name}` };
      continue;
    }
    try {
      const detail = await withTimeout(Promise.resolve().then(check), perCheckMs, name);
      results[name] = { ok: true, detail: detail || '' };
    } catch (e) {
      results[name] = { ok: false, detail: String(e && e.stack ? e.stack : e) };
    }
  }
  return results;
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
    let waiter;
    const arrival = new Promise((resolve) => {
      waiter = resolve;
      this.waiters.push(resolve);
    });
    // a waiter that timed out is taken off: left there, it would swallow the next item (a probe repeated until one
    // arrives would lose every later probe to the earlier ones' waiters once delivery takes longer than the wait)
    return withTimeout(arrival, ms, what).catch((e) => {
      const i = this.waiters.indexOf(waiter);
      if (i >= 0) {
        this.waiters.splice(i, 1);
      }
      throw e;
    });
  }
}

export function unique(prefix) {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
}
