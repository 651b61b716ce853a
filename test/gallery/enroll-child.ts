/**
 * Child process of crash.test.ts: enrols people without end, one transaction each, and prints
 * `committed <name>` after each commit, until the parent kills it.
 */
import { openGallery } from '../../src/gallery/gallery.js';
import { Faces } from '../helpers/descriptors.js';
import { facesFor } from './crash-plan.js';

const [file, startArg] = process.argv.slice(2);
if (file === undefined || !/^\d+$/.test(startArg ?? ''))
  throw new Error('usage: enroll-child.ts <gallery file> <first person number>');
const start = Number(startArg);
const f = new Faces(1000 + start);
const g = await openGallery({ path: file, index: 'exact' });
for (let i = start; ; i++) {
  const centre = f.person();
  await g.enroll(
    `person-${i}`,
    Array.from({ length: facesFor(i) }, () => ({ descriptor: f.photo(centre) })),
    { i },
  );
  process.stdout.write(`committed person-${i}\n`);
}
