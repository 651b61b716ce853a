import { makeTestVideos } from './test/video/videos.js';
import { recordRtp, startRtspServer } from './test/video/rtsp-server.js';
import { openSource } from './src/video/source.js';
const dir = '/tmp/rtsp-scratch';
const v = await makeTestVideos(dir);
const clip = await recordRtp(v.ffmpeg, v.walk, dir);
for (const ff of [undefined, '/work/main/node_modules/@ffmpeg-installer/linux-x64/ffmpeg']) {
const server = await startRtspServer({ clip, path: '/cam', speed: 2, plans: [{ play: 'silent', at: 2 }, { play: 'missing' }] });
const t0 = performance.now();
const src = await openSource(server.url, { ffmpeg: ff, stallTimeoutMs: 800, reconnect: { attempts: 1, initialDelayMs: 20 } });
console.log('opened', (performance.now() - t0).toFixed(0));
let n = 0;
for await (const item of src.items()) { if (item.type === 'frame') { if (n++ === 0) console.log('first frame', (performance.now() - t0).toFixed(0)); } else console.log('gap', (performance.now() - t0).toFixed(0), item.gap); }
console.log('frames', n, 'end', (performance.now() - t0).toFixed(0));
await server.close();
}
