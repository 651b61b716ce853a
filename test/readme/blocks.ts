/** README code blocks and command lines, for test/readme.test.ts. */

export interface CodeBlock {
  readonly lang: string;
  readonly code: string;
  /** 1-based line of the opening fence, for messages. */
  readonly line: number;
}

/** Every fenced block (```lang … ```) in a markdown text. */
export function codeBlocks(markdown: string): CodeBlock[] {
  const out: CodeBlock[] = [];
  const lines = markdown.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    out.push({ lang: open[1], code: body.join('\n'), line: start + 1 });
  }
  return out;
}

/** The words of one shell command line: comments dropped, quotes honoured (no expansions). */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | null = null;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      else word += ch;
      continue;
    }
    if (ch === '#' && !inWord) break;
    if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unclosed ${quote} in: ${line}`);
  if (inWord) words.push(word);
  return words;
}

/** A `npx facekit …` line: the command path (e.g. ['people', 'set']) is found by the caller; here the words after `facekit`. */
export function facekitArgs(words: readonly string[]): string[] | null {
  const at = words[0] === 'npx' && words[1] === 'facekit' ? 2 : words[0] === 'facekit' ? 1 : -1;
  return at < 0 ? null : words.slice(at);
}

/** The long options (`--name`, without `=value`) among `words`. */
export function longOptions(words: readonly string[]): string[] {
  return words.filter((w) => /^--[a-z]/.test(w)).map((w) => w.split('=')[0]);
}

/** `npm run <script> -- flags`: the script and the flags after `--`, or null for another line. */
export function npmRun(words: readonly string[]): { script: string; flags: string[] } | null {
  if (words[0] !== 'npm' || words[1] !== 'run' || words[2] === undefined) return null;
  const dash = words.indexOf('--');
  return { script: words[2], flags: dash < 0 ? [] : longOptions(words.slice(dash + 1)) };
}
