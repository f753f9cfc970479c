// Settings: every setting in effect, its default and what it does; secrets are masked by the broker itself.
import { api } from './api.js';
import { field, h, status } from './dom.js';

export function settings(main) {
  const filter = h('input', { type: 'search', placeholder: 'part of a name or its help', autocomplete: 'off' });
  const rows = h('tbody');
  main.append(
    h('h2', {}, 'Settings'),
    h('p', { class: 'hint' }, 'The settings this broker runs with. Change them with flags or the --config file and restart.'),
    h('form', { class: 'filters', role: 'search', onsubmit: (e) => e.preventDefault() }, field('Find a setting', filter)),
    h('table', { class: 'settings' },
      h('caption', { class: 'visually-hidden' }, 'Settings in effect'),
      h('thead', {}, h('tr', {}, ['Setting', 'Value', 'Default', 'What it does'].map((t) => h('th', { scope: 'col' }, t)))),
      rows),
  );
  let all = [];
  const show = () => {
    const q = filter.value.trim().toLowerCase();
    rows.replaceChildren(...all.filter((s) => !q || s.name.includes(q) || s.help.toLowerCase().includes(q)).map((s) => {
      const changed = !s.masked && (s.value ?? '') !== (s.defaultValue ?? '');
      return h('tr', { class: changed ? 'changed' : '' },
        h('th', { scope: 'row' }, h('code', {}, `--${s.name}`)),
        h('td', {}, s.masked ? '(hidden)' : (s.value ?? '')),
        h('td', {}, s.masked ? '' : (s.defaultValue ?? '')),
        h('td', { class: 'help' }, s.help));
    }));
  };
  filter.addEventListener('input', show);
  api.get('settings').then((list) => { all = list; show(); }).catch((e) => status(e.message));
  return {};
}
