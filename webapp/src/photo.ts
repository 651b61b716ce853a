/** Photo: every face of an uploaded photo, found in the browser, boxed and named with its distance. */
import { identifyDescriptors } from './api.js';
import { drawFaces, el, guarded, labelOf, photoKit } from './ui.js';

export function photoPage(root: HTMLElement): () => void {
  const input = el('input', { type: 'file', accept: 'image/*', id: 'photo-file' });
  const picture = el('canvas', { className: 'photo' });
  const overlay = el('canvas', { className: 'overlay' });
  const status = el('p', { className: 'muted', id: 'photo-status' });
  const stage = el('div', { className: 'stage' }, picture, overlay);
  stage.hidden = true;
  root.replaceChildren(el('h2', {}, 'Photo'), el('div', { className: 'row' }, input), status, stage);
  input.addEventListener('change', () =>
    guarded(async () => {
      const file = input.files?.[0];
      if (!file) return;
      status.textContent = 'finding faces…';
      let bitmap: ImageBitmap;
      try {
        // EXIF rotation applied, as the server's decoder does.
        bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
      } catch {
        throw new Error(`${file.name} is not an image this browser can read`);
      }
      picture.width = bitmap.width;
      picture.height = bitmap.height;
      (picture.getContext('2d') as CanvasRenderingContext2D).drawImage(bitmap, 0, 0);
      stage.hidden = false;
      const faces = await photoKit().analyze(bitmap);
      const ids = await identifyDescriptors(faces.map((f) => f.descriptor));
      drawFaces(
        overlay,
        bitmap.width,
        bitmap.height,
        faces.map((f, i) => ({ box: f.box, label: labelOf(ids[i].person, ids[i].distance), known: ids[i].person !== null })),
      );
      status.textContent =
        faces.length === 0
          ? 'no face found'
          : faces.map((f, i) => `${ids[i].person ?? 'unknown'} (distance ${ids[i].distance.toFixed(3)})`).join(', ');
    }),
  );
  return () => undefined;
}
