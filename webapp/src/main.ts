/** The web app: one page per hash (#live, #people, #photo, #streams), the API key kept for this tab only. */
import { apiKey, setApiKey } from './api.js';
import { livePage } from './live.js';
import { peoplePage } from './people.js';
import { photoPage } from './photo.js';
import { streamsPage } from './streams.js';
import { showError } from './ui.js';

const PAGES: Record<string, (root: HTMLElement) => () => void> = {
  live: livePage,
  people: peoplePage,
  photo: photoPage,
  streams: streamsPage,
};

const main = document.getElementById('main') as HTMLElement;
const keyInput = document.getElementById('key') as HTMLInputElement;
let leave: () => void = () => undefined;

function route(): void {
  const name = location.hash.slice(1) in PAGES ? location.hash.slice(1) : 'live';
  leave();
  showError(null);
  for (const a of document.querySelectorAll<HTMLAnchorElement>('nav a')) a.classList.toggle('on', a.dataset.page === name);
  leave = PAGES[name](main);
}

(document.getElementById('key-form') as HTMLFormElement).addEventListener('submit', (event) => {
  event.preventDefault();
  setApiKey(keyInput.value);
  keyInput.value = '';
  keyInput.placeholder = apiKey() ? 'key set for this tab' : 'API key';
  route();
});
keyInput.placeholder = apiKey() ? 'key set for this tab' : 'API key';
window.addEventListener('hashchange', route);
route();
if (!apiKey()) showError(new Error('enter an API key (facekit keys create --role admin) to use the gallery'));
