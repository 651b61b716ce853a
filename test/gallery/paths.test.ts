import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { defaultGalleryPath } from '../../src/gallery/paths.js';

test("the default gallery lives in each platform's per-user data folder; FACEKIT_DB overrides it", () => {
  const home = '/home/u';
  assert.equal(defaultGalleryPath({}, 'linux', home), join(home, '.local', 'share', 'facekit', 'gallery.db'));
  assert.equal(defaultGalleryPath({ XDG_DATA_HOME: '/data' }, 'linux', home), join('/data', 'facekit', 'gallery.db'));
  assert.equal(
    defaultGalleryPath({ XDG_DATA_HOME: 'relative' }, 'linux', home),
    join(home, '.local', 'share', 'facekit', 'gallery.db'),
  );
  assert.equal(
    defaultGalleryPath({}, 'darwin', home),
    join(home, 'Library', 'Application Support', 'facekit', 'gallery.db'),
  );
  assert.equal(
    defaultGalleryPath({ APPDATA: 'C:\\Users\\u\\AppData\\Roaming' }, 'win32', home),
    join('C:\\Users\\u\\AppData\\Roaming', 'facekit', 'gallery.db'),
  );
  assert.equal(defaultGalleryPath({ FACEKIT_DB: '/x/my.db', XDG_DATA_HOME: '/data' }, 'linux', home), '/x/my.db');
  assert.equal(
    defaultGalleryPath({ FACEKIT_DB: '' }, 'linux', home),
    join(home, '.local', 'share', 'facekit', 'gallery.db'),
  );
});
