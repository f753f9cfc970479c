// The console: one page, four views chosen by the URL's hash, all fed by the admin API and its live feed.
import './style.css';
import 'uplot/dist/uPlot.min.css';
import { overview } from './overview.js';
import { clients } from './clients.js';
import { topics } from './topics.js';
import { tryIt } from './tryit.js';
import { settings } from './settings.js';
import { api } from './api.js';
import { duration, status } from './dom.js';

const views = { overview, clients, topics, try: tryIt, settings };
let current = null;

function route() {
  const name = (location.hash.match(/^#\/(\w+)/) || [])[1] || 'overview';
  const view = views[name] || overview;
  if (current?.stop) current.stop();
  const main = document.getElementById('main');
  main.replaceChildren();
  for (const a of document.querySelectorAll('nav a')) {
    if (a.getAttribute('href') === `#/${name}`) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  status('');
  current = view(main);
  document.title = `Sluice console: ${name === 'try' ? 'try it' : name}`;
}

async function header() {
  try {
    const s = await api.get('summary');
    const listeners = s.listeners.map((l) => `${l.name} :${l.port}`).join(', ');
    document.getElementById('broker').textContent = `version ${s.version}, up ${duration(s.uptimeSeconds)}, ${listeners}`;
  } catch (e) {
    document.getElementById('broker').textContent = `admin API: ${e.message}`;
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  route();
  header();
  setInterval(header, 10000);
});
