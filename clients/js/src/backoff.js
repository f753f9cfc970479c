// Reconnection delays: exponential backoff with full jitter (the AWS Architecture Blog's "Exponential Backoff
// And Jitter"): attempt n waits a uniformly random time in [0, min(cap, base * 2^n)). Full jitter spreads a
// fleet's reconnections after a broker restart instead of bringing them back in waves.

export const DEFAULT_BACKOFF = Object.freeze({ base: 500, cap: 30000 });

/** The delay before reconnection attempt `attempt` (0 for the first), in milliseconds. */
export function backoffDelay(attempt, { base = DEFAULT_BACKOFF.base, cap = DEFAULT_BACKOFF.cap } = {}, random = Math.random) {
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * ceiling);
}
