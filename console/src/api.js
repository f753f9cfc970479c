// The admin API (docs/admin-api.yaml), as the console calls it: same origin, JSON both ways.

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

async function call(method, path, params) {
  const url = new URL(`/api/v1/${path}`, location.origin);
  for (const [k, v] of Object.entries(params || {})) {
    if (v != null && v !== '') url.searchParams.set(k, v);
  }
  const r = await fetch(url, { method, headers: { accept: 'application/json' } });
  const body = await r.json().catch(() => null);
  if (!r.ok) throw new ApiError(r.status, body?.error || `${method} ${path}: HTTP ${r.status}`);
  return body;
}

export const api = {
  get: (path, params) => call('GET', path, params),
  del: (path, params) => call('DELETE', path, params),
};
