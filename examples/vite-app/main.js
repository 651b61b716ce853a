import { createFaceKit, euclideanDistance } from 'facekit/browser';

// The same pipeline as Node: tiny detector, 68 landmarks, dlib alignment, 128-d descriptors.
// Models are fetched from /models/ (served by `npx facekit serve`) and kept in Cache Storage.
const kit = createFaceKit({ detector: 'tiny' });
const out = document.getElementById('out');
const canvas = document.getElementById('canvas');
let first;

document.getElementById('photo').addEventListener('change', async (event) => {
  const file = event.target.files[0];
  if (!file) return;
  try {
    const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
    canvas.width = bitmap.width;
    canvas.height = bitmap.height;
    const g = canvas.getContext('2d');
    g.drawImage(bitmap, 0, 0);
    const faces = await kit.analyze(bitmap);
    g.strokeStyle = '#0a84ff';
    g.lineWidth = 3;
    for (const f of faces) g.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
    if (faces.length === 0) {
      out.textContent = 'no face found';
    } else if (!first) {
      first = faces[0].descriptor;
      out.textContent = `${faces.length} face(s); the first is remembered: pick another photo to compare`;
    } else {
      const d = euclideanDistance(first, faces[0].descriptor);
      out.textContent = `distance to the first face: ${d.toFixed(3)} (${d < 0.6 ? 'same person' : 'different people'})`;
    }
  } catch (e) {
    out.textContent = `${e.code ?? 'error'}: ${e.message}`;
  }
});
