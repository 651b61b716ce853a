/**
 * The README cannot rot (issue 17): every TypeScript block is run as a program a user would write
 * (importing 'facekit' by its package name, reading the photos that ship with it, from a fresh
 * folder), and every command line is checked: `npx facekit …` lines name a real command and only
 * options that command has, `npm run …` lines a real script and only flags that benchmark reads.
 * No line may keep placeholder syntax (`[--flag X]`, `a|b`) that a shell would misread.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { isolatedCacheDir } from './helpers/photos.js';
import { tempDir } from './helpers/temp.js';
import { codeBlocks, facekitArgs, longOptions, npmRun, shellWords } from './readme/blocks.js';

const run = promisify(execFile);
const ROOT = resolve('.');
const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const blocks = codeBlocks(README);
const cacheDir = isolatedCacheDir();

/** A user's project folder: node_modules holding facekit (this checkout) and the package whose demo photos the README reads. */
function userFolder(): string {
  const dir = tempDir('facekit-readme-');
  mkdirSync(join(dir, 'node_modules', '@vladmandic'), { recursive: true });
  symlinkSync(ROOT, join(dir, 'node_modules', 'facekit'), 'dir');
  symlinkSync(
    join(ROOT, 'node_modules', '@vladmandic', 'face-api'),
    join(dir, 'node_modules', '@vladmandic', 'face-api'),
    'dir',
  );
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-user', private: true, type: 'module' }));
  return dir;
}

const tsx = import.meta.resolve('tsx');

test('the README has TypeScript blocks and command blocks to check', () => {
  assert.ok(blocks.filter((b) => b.lang === 'ts').length >= 4);
  assert.ok(blocks.filter((b) => b.lang === 'sh').length >= 4);
});

for (const block of blocks.filter((b) => b.lang === 'ts')) {
  test(`README line ${block.line}: the TypeScript block runs`, async () => {
    const dir = userFolder();
    const file = join(dir, `block-${block.line}.ts`);
    writeFileSync(file, block.code);
    const { stdout } = await run(process.execPath, ['--import', tsx, file], {
      cwd: dir,
      env: { ...process.env, FACEKIT_CACHE_DIR: cacheDir },
      maxBuffer: 16 << 20,
    });
    // Blocks that print show what they found: a block printing nothing useful would pass silently.
    if (block.code.includes('console.log'))
      assert.notEqual(stdout.trim(), '', `README line ${block.line} printed nothing`);
  });
}

const shellLines = blocks
  .filter((b) => b.lang === 'sh')
  .flatMap((b) => b.code.split('\n').map((text, i) => ({ text, line: b.line + 1 + i, words: shellWords(text) })))
  .filter((l) => l.words.length > 0);

test('no README command line keeps placeholder syntax a shell would misread', () => {
  for (const l of shellLines) {
    const code = l.text.split(' #')[0];
    assert.doesNotMatch(code, /\[--|\w\|\w|<\w+>/, `README line ${l.line}: ${l.text}`);
  }
});

/** `facekit <command> [subcommand] --help` text, cached per command path. */
const helpCache = new Map<string, Promise<string>>();
function helpOf(path: readonly string[]): Promise<string> {
  const key = path.join(' ');
  let h = helpCache.get(key);
  if (!h) {
    h = run(process.execPath, [join(ROOT, 'dist', 'cli', 'main.js'), ...path, '--help']).then((r) => r.stdout);
    helpCache.set(key, h);
  }
  return h;
}

test('every `npx facekit` line in the README names a real command and only its options', async () => {
  const top = await helpOf([]);
  const lines = shellLines.flatMap((l) => {
    const args = facekitArgs(l.words);
    return args ? [{ ...l, args }] : [];
  });
  assert.ok(lines.length >= 10);
  for (const l of lines) {
    const command = l.args[0];
    assert.match(top, new RegExp(`^  ${command}\\b`, 'm'), `README line ${l.line}: no command '${command}'`);
    const help = await helpOf([command]);
    // A second word may be a subcommand (people set, cluster name): its options are checked against its own help.
    const commands = help.split(/^Commands:$/m)[1] ?? '';
    const next = l.args[1];
    const sub =
      next !== undefined && /^[a-z]/.test(next) && new RegExp(`^  ${next}\\b`, 'm').test(commands) ? next : undefined;
    const options = sub ? await helpOf([command, sub]) : help;
    for (const option of longOptions(l.args))
      assert.ok(
        options.includes(option) || options.includes(`--no-${option.slice(2)}`),
        `README line ${l.line}: ${command}${sub ? ` ${sub}` : ''} has no option ${option}`,
      );
  }
});

test('every `npm run` line in the README names a script and only flags its benchmark reads', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const lines = shellLines.flatMap((l) => {
    const r = npmRun(l.words);
    return r ? [{ ...l, ...r }] : [];
  });
  assert.ok(lines.length >= 5);
  for (const l of lines) {
    const script = pkg.scripts[l.script];
    assert.ok(script, `README line ${l.line}: no npm script ${l.script}`);
    const file = /tsx (bench\/\S+\.ts)/.exec(script)?.[1];
    if (!file) continue;
    const source = readFileSync(join(ROOT, file), 'utf8');
    for (const flag of l.flags) {
      const key = flag.slice(2).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      assert.match(source, new RegExp(`\\b${key}:`), `README line ${l.line}: ${file} reads no flag ${flag}`);
    }
  }
});

test('the README test finds the photos the README points at', () => {
  for (const m of README.matchAll(/node_modules\/@vladmandic\/face-api\/demo\/(sample\d\.jpg)/g))
    assert.ok(readFileSync(join(ROOT, dirname(m[0]), m[1])).length > 0);
});
