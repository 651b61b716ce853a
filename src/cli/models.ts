import { forTerminal } from '../util/terminal-text.js';
import { stat } from 'node:fs/promises';
import { FaceKitError } from '../errors.js';
import {
  buildModel,
  defaultCacheDir,
  inspectModel,
  MODEL_IDS,
  type ModelId,
  MODELS,
  type ModelState,
} from '../entry/models.js';
// facekit/models provides the int8 builds' calibrator when it loads (see docs/ARCHITECTURE.md).
import { printJson, printLine } from './output.js';

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

interface ModelRow {
  id: ModelId;
  description: string;
  state: ModelState;
  /** Why a model is stale. */
  reason?: string;
  path: string;
  bytes: number | null;
}

async function describeModel(id: ModelId, deep = false): Promise<ModelRow> {
  const info = await inspectModel(id, defaultCacheDir(), { deep });
  let bytes: number | null = null;
  if (info.state !== 'missing')
    bytes = await stat(info.path).then(
      (s) => s.size,
      () => null,
    );
  return {
    id,
    description: MODELS[id].description,
    state: info.state,
    ...(info.reason ? { reason: info.reason } : {}),
    path: info.path,
    bytes,
  };
}

const ID_WIDTH = Math.max(...MODEL_IDS.map((id) => id.length));
const STATE_WIDTH = 'corrupt'.length;

function modelLine(row: ModelRow, state: string): string {
  const size = row.bytes === null ? '-' : formatBytes(row.bytes);
  return `${row.id.padEnd(ID_WIDTH)}  ${state.padEnd(STATE_WIDTH)}  ${size.padStart(8)}  ${row.path}`;
}

async function list(json: boolean): Promise<number> {
  const rows = await Promise.all(MODEL_IDS.map((id) => describeModel(id)));
  if (json) {
    printJson({ cacheDir: defaultCacheDir(), models: rows });
    return 0;
  }
  printLine(`model cache: ${defaultCacheDir()}`);
  for (const row of rows) {
    printLine(modelLine(row, row.state));
    printLine(`${''.padEnd(ID_WIDTH)}  ${row.description}`);
    if (row.reason) printLine(`${''.padEnd(ID_WIDTH)}  ${row.state}: ${row.reason}`);
  }
  return 0;
}

async function build(json: boolean, force: boolean): Promise<number> {
  const out: (ModelRow & { built: boolean; ms: number; error?: { code: string; message: string } })[] = [];
  let failed = false;
  for (const id of MODEL_IDS) {
    const before = await describeModel(id);
    if (before.state === 'ready' && !force) {
      out.push({ ...before, built: false, ms: 0 });
      if (!json) printLine(modelLine(before, 'ready'));
      continue;
    }
    const start = performance.now();
    try {
      await buildModel(id);
      const after = await describeModel(id);
      const ms = Math.round(performance.now() - start);
      out.push({ ...after, built: true, ms });
      if (!json) printLine(`${modelLine(after, 'built')}  (${ms} ms)`);
    } catch (cause) {
      // An unwritable cache fails every model alike: said once, by main, rather than once per model.
      if (!(cause instanceof FaceKitError) || cause.code === 'FILE_UNWRITABLE') throw cause;
      failed = true;
      out.push({ ...before, built: false, ms: 0, error: { code: cause.code, message: cause.message } });
      process.stderr.write(`facekit: ${forTerminal(cause.message)}\n`);
    }
  }
  if (json) printJson({ cacheDir: defaultCacheDir(), models: out });
  return failed ? 1 : 0;
}

const VERIFY_TEXT: Readonly<Record<ModelState, string>> = {
  ready: 'ok',
  missing: 'missing (built on first use)',
  stale: 'stale (rebuilt on first use)',
  corrupt: "CORRUPT: checksum mismatch (run 'facekit models build' to rebuild it)",
};

async function verify(json: boolean): Promise<number> {
  // Hashes the weights too: a stamp (version, sizes, times) that stayed while the bytes changed is caught here.
  const rows = await Promise.all(MODEL_IDS.map((id) => describeModel(id, true)));
  const ok = rows.every((r) => r.state !== 'corrupt');
  if (json) {
    printJson({
      cacheDir: defaultCacheDir(),
      ok,
      models: rows.map((r) => ({ id: r.id, state: r.state, ...(r.reason ? { reason: r.reason } : {}), path: r.path })),
    });
  } else {
    for (const r of rows)
      printLine(`${r.id.padEnd(ID_WIDTH)}  ${VERIFY_TEXT[r.state]}${r.reason ? `: ${r.reason}` : ''}`);
  }
  return ok ? 0 : 1;
}

export type ModelsAction = 'list' | 'build' | 'verify';

export interface ModelsCliOptions {
  force?: boolean;
  json?: boolean;
}

export function runModels(action: ModelsAction, opts: ModelsCliOptions): Promise<number> {
  const json = opts.json === true;
  if (action === 'build') return build(json, opts.force === true);
  if (action === 'verify') return verify(json);
  return list(json);
}
