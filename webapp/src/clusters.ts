/**
 * The People page's "Unknown faces" section: faces the Live page could not name (unknowns.ts),
 * grouped by the server's /v1/cluster (the same clustering as `facekit cluster`), each group
 * shown as thumbnails with a name field. Naming a group enrols its descriptors under that name
 * (a new person, or more faces for someone already there).
 */
import { type Person, postJson } from './api.js';
import { el, guarded } from './ui.js';
import { forgetUnknown, type UnknownFace, unknownFaces } from './unknowns.js';

/** Thumbnails shown per group (the count says how many more). */
const SHOWN = 6;

export function unknownSection(afterEnrol: () => Promise<void>): { root: HTMLElement; refresh: () => Promise<void> } {
  const groups = el('div', { className: 'clusters', id: 'clusters' });
  const status = el('p', { className: 'muted', id: 'clusters-status' });
  const regroup = el('button', { type: 'button', className: 'secondary', id: 'group-unknown', textContent: 'Group again' });
  const root = el(
    'section',
    { className: 'unknown' },
    el('div', { className: 'row' }, el('h3', {}, 'Unknown faces seen live'), regroup),
    status,
    groups,
  );

  function groupCard(faces: UnknownFace[], n: number): HTMLElement {
    const name = el('input', { placeholder: 'Who is this?', className: 'cluster-name', required: true });
    const enrol = el('button', { type: 'submit', className: 'cluster-enrol', textContent: 'Name' });
    const discard = el('button', { type: 'button', className: 'secondary', textContent: 'Forget' });
    const form = el(
      'form',
      { className: 'card cluster' },
      el('p', { className: 'muted' }, `Group ${n}: ${faces.length} view(s)`),
      el(
        'div',
        { className: 'thumbs' },
        ...faces.slice(0, SHOWN).map((f) => el('img', { src: f.thumbnail, alt: 'unknown face' })),
      ),
      el('div', { className: 'row' }, name, enrol, discard),
    );
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      void guarded(async () => {
        const who = name.value.trim();
        if (who === '') throw new Error('give the group a name');
        enrol.disabled = true;
        try {
          const r = await postJson<{ person: Person; added: number[] }>('/v1/people', {
            name: who,
            descriptors: faces.map((f) => Array.from(f.descriptor)),
          });
          forgetUnknown(faces);
          status.textContent = `${r.person.name}: ${r.added.length} face(s) added from a live group`;
        } finally {
          enrol.disabled = false;
        }
        await afterEnrol();
        await refresh();
      });
    });
    discard.addEventListener('click', () =>
      guarded(async () => {
        forgetUnknown(faces);
        await refresh();
      }),
    );
    return form;
  }

  async function refresh(): Promise<void> {
    const faces = unknownFaces();
    if (faces.length === 0) {
      groups.replaceChildren(
        el('p', { className: 'muted' }, 'None yet: faces the Live page cannot name wait here (in this tab) to be named.'),
      );
      return;
    }
    const { clusters } = await postJson<{ clusters: { descriptor: number }[][] }>('/v1/cluster', {
      descriptors: faces.map((f) => Array.from(f.descriptor)),
    });
    groups.replaceChildren(...clusters.map((c, i) => groupCard(c.map((ref) => faces[ref.descriptor]), i + 1)));
  }
  regroup.addEventListener('click', () => guarded(refresh));
  return { root, refresh };
}
