// MQTT topic filter matching (MQTT 5 section 4.7): '+' one level, '#' the rest (and the parent level), and
// wildcards at the start never match topics starting with '$'. An SSE stream or a poll carries every filter
// of the client at once, so the client routes each message to the callbacks whose filter it matches.

export function matches(filter, topic) {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) {
    return false;
  }
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') {
      return true;
    }
    if (i >= t.length || (f[i] !== '+' && f[i] !== t[i])) {
      return false;
    }
  }
  return f.length === t.length;
}
