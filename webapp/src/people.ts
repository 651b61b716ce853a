/**
 * People: everyone in the gallery with their faces; enrol from uploads or webcam captures; rename,
 * merge, delete; name the groups of unknown faces the Live page saw.
 */
import { api, type Person, postJson, type StoredFace } from './api.js';
import { unknownSection } from './clusters.js';
import { el, guarded } from './ui.js';

async function thumbnail(face: StoredFace): Promise<HTMLImageElement> {
  const img = el('img', { alt: `face ${face.id}`, title: face.sourceFile ?? `face ${face.id}` });
  try {
    img.src = URL.createObjectURL(await api<Blob>(`/v1/faces/${face.id}/thumbnail`));
  } catch {
    // Faces enrolled as descriptors have no picture: the grey square says so.
    img.alt = 'no picture (a descriptor)';
  }
  return img;
}

export function peoplePage(root: HTMLElement): () => void {
  const name = el('input', { placeholder: 'Name', id: 'person-name', required: true });
  const files = el('input', { type: 'file', accept: 'image/*', multiple: true, id: 'person-files' });
  const captureButton = el('button', { type: 'button', className: 'secondary', id: 'capture', textContent: 'Capture from camera' });
  const enrolButton = el('button', { type: 'submit', id: 'enrol', textContent: 'Add person' });
  const captures = el('div', { className: 'thumbs captures', id: 'captures' });
  const video = el('video', { muted: true, playsInline: true, autoplay: true, hidden: true, width: 320 });
  const list = el('div', { className: 'people', id: 'people' });
  const status = el('p', { className: 'muted', id: 'people-status' });
  const shots: Blob[] = [];
  let stream: MediaStream | undefined;

  const form = el(
    'form',
    {},
    el('div', { className: 'row' }, name, files, captureButton, enrolButton),
    video,
    captures,
  );
  const unknown = unknownSection(() => refresh());
  root.replaceChildren(el('h2', {}, 'People'), form, status, list, unknown.root);

  captureButton.addEventListener('click', () =>
    guarded(async () => {
      if (!stream) {
        if (!navigator.mediaDevices?.getUserMedia) throw new Error('no camera access here: open the page over https or on localhost');
        stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } } });
        video.srcObject = stream;
        video.hidden = false;
        await video.play();
        captureButton.textContent = 'Take picture';
        return;
      }
      const canvas = el('canvas', { width: video.videoWidth, height: video.videoHeight });
      (canvas.getContext('2d') as CanvasRenderingContext2D).drawImage(video, 0, 0);
      const shot = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92));
      if (!shot) throw new Error('the camera picture could not be encoded');
      shots.push(shot);
      captures.append(el('img', { src: URL.createObjectURL(shot), alt: `capture ${shots.length}` }));
    }),
  );

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void guarded(async () => {
      if (name.value.trim() === '') throw new Error('give the person a name');
      const photos: Blob[] = [...(files.files ?? []), ...shots];
      if (photos.length === 0) throw new Error('add photos (upload or camera) with the person’s face');
      const body = new FormData();
      body.set('name', name.value.trim());
      body.set('largest', 'true');
      photos.forEach((p, i) => body.append('image', p, (p as File).name ?? `camera-${i + 1}.jpg`));
      enrolButton.disabled = true;
      status.textContent = 'enrolling…';
      try {
        const r = await api<{ person: Person; added: number[]; rejected: { index: number; message: string }[] }>('/v1/people', {
          method: 'POST',
          body,
        });
        status.textContent = `${r.person.name}: ${r.added.length} face(s) added${
          r.rejected.length ? `; turned down: ${r.rejected.map((x) => x.message).join('; ')}` : ''
        }`;
      } finally {
        enrolButton.disabled = false;
      }
      shots.length = 0;
      captures.replaceChildren();
      files.value = '';
      name.value = '';
      await refresh();
    });
  });

  async function card(person: Person, everyone: readonly Person[]): Promise<HTMLElement> {
    const detail = await api<{ person: Person; faces: StoredFace[] }>(`/v1/people/${person.id}`);
    const thumbs = el('div', { className: 'thumbs' });
    for (const face of detail.faces) {
      const remove = el('button', { className: 'danger', title: 'remove this face', textContent: '×' });
      remove.addEventListener('click', () =>
        guarded(async () => {
          await api(`/v1/faces/${face.id}`, { method: 'DELETE' });
          await refresh();
        }),
      );
      thumbs.append(el('figure', {}, await thumbnail(face), remove));
    }
    const rename = el('button', { className: 'secondary', textContent: 'Rename' });
    rename.addEventListener('click', () =>
      guarded(async () => {
        const next = prompt(`New name for ${person.name}`, person.name);
        if (next === null || next.trim() === '' || next === person.name) return;
        await postJson(`/v1/people/${person.id}`, { name: next.trim() }, 'PATCH');
        await refresh();
      }),
    );
    const into = el('select', {}, el('option', { value: '', textContent: 'Merge into…' }));
    for (const other of everyone) if (other.id !== person.id) into.append(el('option', { value: String(other.id), textContent: other.name }));
    into.addEventListener('change', () =>
      guarded(async () => {
        if (into.value === '') return;
        const target = everyone.find((p) => p.id === Number(into.value));
        if (!confirm(`Move every face of ${person.name} to ${target?.name} and remove ${person.name}?`)) {
          into.value = '';
          return;
        }
        await postJson(`/v1/people/${person.id}/merge`, { into: Number(into.value) });
        await refresh();
      }),
    );
    const remove = el('button', { className: 'danger', textContent: 'Delete' });
    remove.addEventListener('click', () =>
      guarded(async () => {
        if (!confirm(`Remove ${person.name} and all ${person.faces} face(s)?`)) return;
        await api(`/v1/people/${person.id}`, { method: 'DELETE' });
        await refresh();
      }),
    );
    return el(
      'article',
      { className: 'card' },
      el('h3', {}, person.name),
      el('p', { className: 'muted' }, `${person.faces} face(s)`),
      thumbs,
      el('div', { className: 'row' }, rename, into, remove),
    );
  }

  async function refresh(): Promise<void> {
    const { people } = await api<{ people: Person[] }>('/v1/people');
    list.replaceChildren(...(await Promise.all(people.map((p) => card(p, people)))));
    if (people.length === 0) list.replaceChildren(el('p', { className: 'muted' }, 'Nobody yet: add a person above.'));
  }
  void guarded(refresh);
  void guarded(unknown.refresh);
  return () => {
    for (const t of stream?.getTracks() ?? []) t.stop();
  };
}
