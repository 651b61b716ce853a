/** Streams: the live views of `facekit watch --serve` (each one serves its own viewer on loopback). */
import { el } from './ui.js';

const KEY = 'facekit-streams';

export function streamsPage(root: HTMLElement): () => void {
  const url = el('input', { placeholder: 'http://127.0.0.1:8090', id: 'stream-url', size: 30 });
  const add = el('button', { textContent: 'Add viewer', id: 'streams-add' });
  const list = el('div', { className: 'streams' });
  const saved = (): string[] => JSON.parse(localStorage.getItem(KEY) ?? '[]') as string[];
  function render(): void {
    list.replaceChildren(
      ...saved().map((u) => {
        const remove = el('button', { className: 'secondary', textContent: 'Remove' });
        remove.addEventListener('click', () => {
          localStorage.setItem(KEY, JSON.stringify(saved().filter((x) => x !== u)));
          render();
        });
        return el(
          'section',
          {},
          el('h3', {}, el('a', { href: u, target: '_blank', rel: 'noopener', textContent: u }), ' ', remove),
          el('img', { src: new URL('/stream.mjpg', u).href, alt: `annotated stream from ${u}` }),
        );
      }),
    );
  }
  add.addEventListener('click', () => {
    let parsed: URL;
    try {
      parsed = new URL(url.value.trim());
    } catch {
      url.setCustomValidity('give the viewer address that `facekit watch --serve` printed, e.g. http://127.0.0.1:8090');
      url.reportValidity();
      return;
    }
    url.setCustomValidity('');
    localStorage.setItem(KEY, JSON.stringify([...new Set([...saved(), parsed.origin])]));
    render();
  });
  root.replaceChildren(
    el('h2', {}, 'Streams'),
    el('p', { className: 'muted' }, 'Run `facekit watch <source> --serve` and add the viewer address it prints.'),
    el('div', { className: 'row' }, url, add),
    list,
  );
  render();
  return () => undefined;
}
