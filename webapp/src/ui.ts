/** Small DOM helpers shared by the pages. */
import { createFaceKit, type BrowserFaceKit } from 'facekit/browser';

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> & Record<string, unknown> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  Object.assign(node, props);
  node.append(...children);
  return node;
}

export function showError(e: unknown): void {
  const box = document.getElementById('error') as HTMLElement;
  if (e === null) {
    box.hidden = true;
    return;
  }
  const code = (e as { code?: string }).code;
  box.textContent = `${code ? `${code}: ` : ''}${(e as Error).message ?? String(e)}`;
  box.hidden = false;
}

/** Runs an action, showing its error (and clearing an old one) instead of failing silently. */
export async function guarded(action: () => Promise<void>): Promise<void> {
  try {
    showError(null);
    await action();
  } catch (e) {
    showError(e);
  }
}

let photo: BrowserFaceKit | undefined;

/** The Photo page's kit: MTCNN with Node's defaults (Node's default detector; close-ups and small faces alike). */
export function photoKit(): BrowserFaceKit {
  photo ??= createFaceKit({ detector: 'mtcnn' });
  return photo;
}

export interface Labelled {
  box: { x: number; y: number; width: number; height: number };
  label: string;
  known: boolean;
}

/** Boxes with names (or "unknown") and distances, scaled from image pixels to the canvas. */
export function drawFaces(canvas: HTMLCanvasElement, width: number, height: number, faces: readonly Labelled[]): void {
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const g = canvas.getContext('2d') as CanvasRenderingContext2D;
  g.clearRect(0, 0, width, height);
  const line = Math.max(2, Math.round(width / 320));
  g.lineWidth = line;
  g.font = `${Math.max(12, Math.round(width / 40))}px system-ui, sans-serif`;
  for (const f of faces) {
    const colour = f.known ? '#30d158' : '#ff9f0a';
    g.strokeStyle = colour;
    g.strokeRect(f.box.x, f.box.y, f.box.width, f.box.height);
    const text = f.label;
    const w = g.measureText(text).width + 8;
    const h = parseInt(g.font, 10) + 6;
    const y = f.box.y > h ? f.box.y - h : f.box.y + f.box.height;
    g.fillStyle = colour;
    g.fillRect(f.box.x - line / 2, y, w, h);
    g.fillStyle = '#000';
    g.fillText(text, f.box.x + 4, y + h - 6);
  }
}

export function labelOf(person: string | null, distance: number): string {
  return `${person ?? 'unknown'} ${distance.toFixed(2)}`;
}
