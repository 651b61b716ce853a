/**
 * Shared tail of the *-wat.ts generators: writes src/detect/<folder>/<name>.wat, assembles it with
 * wabt's wat2wasm (path given on the command line; a dev-time tool, not a dependency) and writes
 * src/detect/<folder>/<name>-wasm.ts holding the bytes as base64 (plus `extra` lines).
 */
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface Wabt {
  parseWat(
    name: string,
    text: string,
    features: Record<string, boolean>,
  ): {
    toBinary(options: Record<string, boolean>): { buffer: Uint8Array };
  };
}

export async function assemble(
  name: string,
  constant: string,
  wat: string,
  features: Record<string, boolean> = {},
  extra = '',
  folder = 'hog',
): Promise<void> {
  const wabtPath = process.argv[2];
  if (wabtPath === undefined) throw new Error(`usage: ${folder}-${name}-wat.ts <path to the wabt package>`);
  const out = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'detect', folder);
  writeFileSync(join(out, `${name}.wat`), wat);
  const wabt = await (createRequire(import.meta.url)(wabtPath) as () => Promise<Wabt>)();
  const binary = wabt.parseWat(`${name}.wat`, wat, features).toBinary({}).buffer;
  writeFileSync(
    join(out, `${name}-wasm.ts`),
    `/** ${name}.wat assembled (${binary.length} bytes) by tools/wasm/${folder}-${name}-wat.ts. Generated: do not edit. */\nexport const ${constant} =\n  '${Buffer.from(binary).toString('base64')}';\n${extra}`,
  );
  console.log(`${name}.wat → ${binary.length} bytes`);
}
