/**
 * A small RTSP/1.0 server (RFC 2326) for the tests: it plays one recorded RTP stream to each
 * client that asks, over TCP (interleaved `$` frames on the RTSP connection) or UDP, paced by the
 * packets' RTP timestamps, and can misbehave on purpose (cut the connection, go silent, refuse).
 *
 * The RTP packets are made once by ffmpeg's RTP muxer (H.264, packetised as RFC 6184 says) and
 * caught on a local UDP port; the server only stores and replays them, so each session plays the
 * same known clip from its start.
 */
import { execFile } from 'node:child_process';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One RTP packet of the clip and when it is due, in seconds after the first. */
interface RtpPacket {
  readonly data: Buffer;
  readonly at: number;
}

export interface RtpClip {
  /** The SDP's media-level attributes ffmpeg wrote (rtpmap, fmtp with the H.264 parameter sets). */
  readonly mediaAttributes: readonly string[];
  readonly payloadType: number;
  readonly packets: readonly RtpPacket[];
  /** Seconds from the first packet to the last. */
  readonly duration: number;
}

/** The H.264 RTP clock (RFC 6184). */
const CLOCK_HZ = 90_000;
/** Below the usual 1500-byte MTU, with room for the 4-byte interleaved header. */
const RTP_PACKET_BYTES = 1200;

const udpSocket = (): Promise<UdpSocket> =>
  new Promise((done, fail) => {
    const socket = createSocket('udp4');
    socket.once('error', fail);
    socket.bind(0, '127.0.0.1', () => done(socket));
  });

/**
 * Encodes `video` as H.264 (a key frame every second, no B-frames: what a camera sends) and records
 * the RTP packets ffmpeg sends to a local UDP port. Throws when a packet went missing on the way.
 */
export async function recordRtp(ffmpeg: string, video: string, dir: string): Promise<RtpClip> {
  const rtp = await udpSocket();
  const rtcp = await udpSocket();
  const caught: Buffer[] = [];
  rtp.on('message', (packet) => caught.push(packet));
  rtcp.on('message', () => {
    // Sender reports: not replayed (ffmpeg as a client plays without them).
  });
  const sdpFile = join(dir, `rtp-${(rtp.address() as AddressInfo).port}.sdp`);
  try {
    await run(ffmpeg, [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-i',
      video,
      '-an',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-tune',
      'zerolatency',
      '-g',
      '10',
      '-bf',
      '0',
      '-pix_fmt',
      'yuv420p',
      '-f',
      'rtp',
      '-sdp_file',
      sdpFile,
      `rtp://127.0.0.1:${(rtp.address() as AddressInfo).port}?rtcpport=${(rtcp.address() as AddressInfo).port}&pkt_size=${RTP_PACKET_BYTES}`,
    ]);
    // The last datagrams may still be in the socket's queue when ffmpeg exits.
    await new Promise((r) => setTimeout(r, 100));
  } finally {
    rtp.close();
    rtcp.close();
  }
  if (caught.length === 0) throw new Error('ffmpeg sent no RTP packet');
  for (let i = 1; i < caught.length; i++) {
    const expected = (caught[i - 1].readUInt16BE(2) + 1) & 0xffff;
    if (caught[i].readUInt16BE(2) !== expected) throw new Error(`RTP packet ${i} lost or reordered on loopback`);
  }
  const sdp = readFileSync(sdpFile, 'utf8').split(/\r?\n/);
  const media = sdp.find((l) => l.startsWith('m=video'));
  if (!media) throw new Error(`no video in ffmpeg's SDP: ${sdp.join(' | ')}`);
  const first = caught[0].readUInt32BE(4);
  const packets = caught.map((data) => ({
    data,
    // Unsigned difference: RTP timestamps start at a random value and may wrap.
    at: ((data.readUInt32BE(4) - first) >>> 0) / CLOCK_HZ,
  }));
  return {
    mediaAttributes: sdp.filter((l) => /^a=(rtpmap|fmtp):/.test(l)),
    payloadType: Number(media.split(' ')[3]),
    packets,
    duration: packets[packets.length - 1].at,
  };
}

/** What the server does with one client's session, by the order of the DESCRIBE requests. */
export type SessionPlan =
  /** Play the whole clip, then close the connection (the camera went away). */
  | { readonly play: 'whole' }
  /** Play until `at` seconds of the clip, then drop the connection. */
  | { readonly play: 'cut'; readonly at: number }
  /** Play until `at` seconds, then send nothing more and keep the connection open. */
  | { readonly play: 'silent'; readonly at: number }
  /** Answer DESCRIBE with 404 Not Found. */
  | { readonly play: 'missing' };

export interface RtspServerOptions {
  readonly clip: RtpClip;
  /** The stream's path; other paths get 404. */
  readonly path: string;
  /** Which plan the n-th DESCRIBE (0-based) gets; the last one repeats. */
  readonly plans: readonly SessionPlan[];
  /** Clip seconds per wall second; default 1 (real time). */
  readonly speed?: number;
}

export interface RtspServer {
  readonly url: string;
  /** The requests received, as "METHOD transport" lines for SETUP and "METHOD" otherwise. */
  readonly requests: string[];
  close(): Promise<void>;
}

interface Request {
  readonly method: string;
  readonly uri: string;
  readonly headers: ReadonlyMap<string, string>;
}

/** Session timeout (s) announced in SETUP's reply. */
const SESSION_TIMEOUT_S = 60;
const TICK_MS = 5;

const REASONS: Readonly<Record<number, string>> = {
  200: 'OK',
  404: 'Not Found',
  454: 'Session Not Found',
  455: 'Method Not Valid in This State',
  461: 'Unsupported Transport',
  501: 'Not Implemented',
};

function reply(socket: Socket, status: number, cseq: string, headers: Record<string, string> = {}, body = ''): void {
  const lines = [`RTSP/1.0 ${status} ${REASONS[status]}`, `CSeq: ${cseq}`, 'Server: facekit-test'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  if (body !== '') lines.push(`Content-Length: ${Buffer.byteLength(body)}`);
  socket.write(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * Cuts the bytes a client sent into RTSP requests, skipping the interleaved `$` frames (RTCP
 * receiver reports) it may send on the same connection. Returns the bytes not yet complete.
 */
function parseRequests(buffer: Buffer, onRequest: (request: Request) => void): Buffer {
  let rest = buffer;
  for (;;) {
    if (rest.length === 0) return rest;
    if (rest[0] === 0x24) {
      if (rest.length < 4) return rest;
      const end = 4 + rest.readUInt16BE(2);
      if (rest.length < end) return rest;
      rest = rest.subarray(end);
      continue;
    }
    const headEnd = rest.indexOf('\r\n\r\n');
    if (headEnd < 0) return rest;
    const [line, ...fields] = rest.subarray(0, headEnd).toString('latin1').split('\r\n');
    const headers = new Map<string, string>();
    for (const field of fields) {
      const colon = field.indexOf(':');
      if (colon > 0) headers.set(field.slice(0, colon).trim().toLowerCase(), field.slice(colon + 1).trim());
    }
    const end = headEnd + 4 + Number(headers.get('content-length') ?? 0);
    if (rest.length < end) return rest;
    rest = rest.subarray(end);
    const [method = '', uri = ''] = line.split(' ');
    onRequest({ method, uri, headers });
  }
}

export async function startRtspServer(options: RtspServerOptions): Promise<RtspServer> {
  const { clip, path, plans } = options;
  const speed = options.speed ?? 1;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const udp = await udpSocket();
  let described = 0;
  let nextSession = 1;

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let pending: Buffer = Buffer.alloc(0);
    let plan: SessionPlan = plans[0];
    let session: string | undefined;
    /** Where RTP goes: an interleaved channel on this connection, or a UDP port of the client. */
    let target: { kind: 'tcp'; channel: number } | { kind: 'udp'; port: number } | undefined;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      if (timer) clearInterval(timer);
      if (timer) timers.delete(timer);
      timer = undefined;
    };
    socket.on('close', () => {
      stop();
      sockets.delete(socket);
    });
    socket.on('error', () => socket.destroy());

    const send = (packet: Buffer): void => {
      if (target?.kind === 'tcp') {
        const head = Buffer.from([0x24, target.channel, packet.length >> 8, packet.length & 0xff]);
        socket.write(Buffer.concat([head, packet]));
      } else if (target?.kind === 'udp') {
        udp.send(packet, target.port, '127.0.0.1');
      }
    };

    const play = (): void => {
      const until = plan.play === 'cut' || plan.play === 'silent' ? plan.at : Number.POSITIVE_INFINITY;
      const started = performance.now();
      let next = 0;
      timer = setInterval(() => {
        const clipTime = ((performance.now() - started) / 1000) * speed;
        while (next < clip.packets.length && clip.packets[next].at <= clipTime && clip.packets[next].at < until) {
          send(clip.packets[next].data);
          next++;
        }
        const done = next === clip.packets.length || clip.packets[next].at >= until;
        if (!done) return;
        stop();
        if (plan.play === 'whole') socket.end();
        else if (plan.play === 'cut') socket.destroy();
        // 'silent': the connection stays open and quiet until the client gives up.
      }, TICK_MS);
      timers.add(timer);
    };

    const handle = (request: Request): void => {
      const cseq = request.headers.get('cseq') ?? '0';
      const transport = request.headers.get('transport') ?? '';
      requests.push(request.method === 'SETUP' ? `SETUP ${transport}` : request.method);
      const base = `rtsp://127.0.0.1:${(server.address() as AddressInfo).port}${path}`;
      const sameSession = (): boolean => {
        if (session !== undefined && request.headers.get('session')?.split(';')[0] === session) return true;
        reply(socket, 454, cseq);
        return false;
      };
      switch (request.method) {
        case 'OPTIONS':
          reply(socket, 200, cseq, { Public: 'OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN, GET_PARAMETER' });
          return;
        case 'DESCRIBE': {
          plan = plans[Math.min(described++, plans.length - 1)];
          if (plan.play === 'missing' || !request.uri.endsWith(path)) {
            reply(socket, 404, cseq);
            return;
          }
          const sdp = [
            'v=0',
            'o=- 0 0 IN IP4 127.0.0.1',
            's=facekit test camera',
            't=0 0',
            'a=control:*',
            `m=video 0 RTP/AVP ${clip.payloadType}`,
            'c=IN IP4 0.0.0.0',
            ...clip.mediaAttributes,
            'a=control:track0',
            '',
          ].join('\r\n');
          reply(socket, 200, cseq, { 'Content-Base': `${base}/`, 'Content-Type': 'application/sdp' }, sdp);
          return;
        }
        case 'SETUP': {
          const interleaved = /interleaved=(\d+)/.exec(transport);
          const clientPort = /client_port=(\d+)/.exec(transport);
          if (/RTP\/AVP\/TCP/.test(transport)) {
            const channel = interleaved ? Number(interleaved[1]) : 0;
            target = { kind: 'tcp', channel };
          } else if (clientPort) {
            target = { kind: 'udp', port: Number(clientPort[1]) };
          } else {
            reply(socket, 461, cseq);
            return;
          }
          session ??= String(nextSession++).padStart(8, '0');
          const answer =
            target.kind === 'tcp'
              ? `RTP/AVP/TCP;unicast;interleaved=${target.channel}-${target.channel + 1}`
              : `RTP/AVP;unicast;client_port=${target.port}-${target.port + 1};server_port=${(udp.address() as AddressInfo).port}-${(udp.address() as AddressInfo).port + 1}`;
          reply(socket, 200, cseq, { Transport: answer, Session: `${session};timeout=${SESSION_TIMEOUT_S}` });
          return;
        }
        case 'PLAY': {
          if (!sameSession()) return;
          if (!target || timer) {
            reply(socket, 455, cseq);
            return;
          }
          const first = clip.packets[0].data;
          reply(socket, 200, cseq, {
            Session: session as string,
            Range: 'npt=0.000-',
            'RTP-Info': `url=${base}/track0;seq=${first.readUInt16BE(2)};rtptime=${first.readUInt32BE(4)}`,
          });
          play();
          return;
        }
        case 'GET_PARAMETER':
          if (sameSession()) reply(socket, 200, cseq, { Session: session as string });
          return;
        case 'TEARDOWN':
          if (!sameSession()) return;
          stop();
          reply(socket, 200, cseq, { Session: session as string });
          socket.end();
          return;
        default:
          reply(socket, 501, cseq);
      }
    };

    socket.on('data', (chunk: Buffer) => {
      pending = parseRequests(Buffer.concat([pending, chunk]), handle);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', () => done()));
  return {
    url: `rtsp://127.0.0.1:${(server.address() as AddressInfo).port}${path}`,
    requests,
    close: () =>
      new Promise<void>((done) => {
        for (const t of timers) clearInterval(t);
        for (const s of sockets) s.destroy();
        udp.close();
        server.close(() => done());
      }),
  };
}
