/** The facekit serve API as the pages use it: the key from this tab's session, errors as people read them. */

const KEY = 'facekit-api-key';

export function apiKey(): string | null {
  return sessionStorage.getItem(KEY);
}

export function setApiKey(key: string): void {
  if (key.trim() === '') sessionStorage.removeItem(KEY);
  else sessionStorage.setItem(KEY, key.trim());
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Calls the API with the session's key; non-2xx answers become an ApiError carrying the server's code and message. */
export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const key = apiKey();
  if (!key) throw new ApiError(401, 'NO_KEY', 'enter an API key first (facekit keys create --role admin)');
  let response: Response;
  try {
    response = await fetch(path, { ...init, headers: { ...(init.headers ?? {}), authorization: `Bearer ${key}` } });
  } catch (e) {
    throw new ApiError(0, 'NETWORK', `the server cannot be reached: ${(e as Error).message}`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    throw new ApiError(
      response.status,
      body?.error?.code ?? String(response.status),
      body?.error?.message ?? `${response.status} ${response.statusText}`,
    );
  }
  const type = response.headers.get('content-type') ?? '';
  return (type.includes('json') ? await response.json() : await response.blob()) as T;
}

export const postJson = <T>(path: string, body: unknown, method = 'POST'): Promise<T> =>
  api<T>(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

export interface Person {
  id: number;
  name: string;
  faces: number;
  metadata: Record<string, unknown>;
}

export interface StoredFace {
  id: number;
  personId: number;
  sourceFile: string | null;
}

export interface Identification {
  box: { x: number; y: number; width: number; height: number } | null;
  person: string | null;
  distance: number;
  nearest: string;
  threshold: number;
}

/** Who each descriptor is: only the 128 numbers leave the browser. */
export async function identifyDescriptors(descriptors: readonly Float32Array[]): Promise<Identification[]> {
  if (descriptors.length === 0) return [];
  const r = await postJson<{ faces: Identification[] }>('/v1/identify', {
    descriptors: descriptors.map((d) => Array.from(d)),
  });
  return r.faces;
}

/** Who is in a photo, found by the server (the Live page's "send frames" switch). */
export async function identifyPhoto(photo: Blob): Promise<Identification[]> {
  const r = await api<{ faces: Identification[] }>('/v1/identify', {
    method: 'POST',
    headers: { 'content-type': photo.type || 'image/jpeg' },
    body: photo,
  });
  return r.faces;
}
