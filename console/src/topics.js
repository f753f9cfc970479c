// The topic tree: each level lists its children with messages since start, the live rate of the whole subtree
// and the retained value, if any. Levels open and close with disclosure buttons; open levels refresh every
// two seconds. A retained message can be deleted from here.
import { api } from './api.js';
import { h, rate, status } from './dom.js';

export function topics(main) {
  const open = new Map(); // path -> the <ul> of its children, for every open level ('' is the root)
  const root = h('ul', { class: 'tree', 'aria-label': 'Topic tree' });
  const summary = h('p', { class: 'hint', 'aria-live': 'polite' });
  main.append(h('h2', {}, 'Topics'), summary, root);
  open.set('', root);

  function payloadText(r) {
    if (!r) return '';
    const text = r.payload != null ? r.payload : `base64 ${r.payloadBase64}`;
    return `${text}${r.truncated ? '…' : ''}`;
  }

  function item(node) {
    const toggle = node.hasChildren
      ? h('button', { type: 'button', class: 'toggle', 'aria-expanded': 'false', 'aria-label': `${node.name || '(empty level)'}, expand` }, '▸')
      : h('span', { class: 'toggle leaf', 'aria-hidden': 'true' }, '•');
    const stats = h('span', { class: 'stats' });
    const value = h('span', { class: 'retained' });
    const del = h('button', { type: 'button', class: 'danger small', hidden: true,
      'aria-label': `Delete the retained message of ${node.path}`, onclick: () => remove(node.path) }, 'Delete retained');
    const li = h('li', { dataset: { path: node.path } },
      h('div', { class: 'row' }, toggle, h('span', { class: 'name' }, node.name || '(empty level)'), stats, value, del));
    li.update = (n) => {
      stats.textContent = `${n.messages} msgs, ${rate(n.perSecond)}`;
      value.textContent = n.retained ? `retained: ${payloadText(n.retained)}` : '';
      del.hidden = !n.retained;
    };
    if (toggle.tagName === 'BUTTON') {
      toggle.addEventListener('click', async () => {
        const expanded = toggle.getAttribute('aria-expanded') === 'true';
        toggle.setAttribute('aria-expanded', String(!expanded));
        toggle.textContent = expanded ? '▸' : '▾';
        toggle.setAttribute('aria-label', `${node.name || '(empty level)'}, ${expanded ? 'expand' : 'collapse'}`);
        if (expanded) {
          for (const p of [...open.keys()]) {
            if (p === node.path || p.startsWith(`${node.path}/`)) open.delete(p);
          }
          li.querySelector('ul')?.remove();
        } else {
          const ul = h('ul', { role: 'group', 'aria-label': `Below ${node.path}` });
          li.append(ul);
          open.set(node.path, ul);
          await refreshLevel(node.path);
        }
      });
    }
    li.update(node);
    return li;
  }

  async function refreshLevel(path) {
    const ul = open.get(path);
    if (!ul) return;
    const level = await api.get('topics', { path });
    if (path === '') {
      summary.textContent = `${level.messages} messages since start, ${rate(level.perSecond)} now`
        + (level.otherTopicMessages ? ` (${level.otherTopicMessages} to topics beyond the rate table)` : '');
    }
    const existing = new Map([...ul.children].map((li) => [li.dataset.path, li]));
    const wanted = level.children.map((c) => {
      const old = existing.get(c.path);
      const li = old && old.hasChildren === c.hasChildren ? old : item(c);
      li.hasChildren = c.hasChildren;
      li.update(c);
      return li;
    });
    if (!wanted.length) {
      ul.replaceChildren(h('li', { class: 'hint' }, path ? 'nothing below' : 'No topic yet: publish something.'));
      return;
    }
    // keep the open children's elements (and focus) in place, in the order the API gives
    wanted.forEach((li, i) => {
      if (ul.children[i] !== li) ul.insertBefore(li, ul.children[i] || null);
    });
    while (ul.children.length > wanted.length) ul.lastChild.remove();
  }

  async function remove(topic) {
    try {
      await api.del('retained', { topic });
      status(`retained message of ${topic} deleted`);
      await refreshAll();
    } catch (e) {
      status(e.message);
    }
  }

  async function refreshAll() {
    try {
      for (const path of [...open.keys()]) await refreshLevel(path);
    } catch (e) {
      status(e.message);
    }
  }

  refreshAll();
  const timer = setInterval(refreshAll, 2000);
  return { stop: () => clearInterval(timer) };
}
