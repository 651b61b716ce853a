/**
 * Characters that change what a terminal shows rather than being shown: C0 controls (ESC starts
 * colour and cursor sequences; CR and LF split a `file: problem` line in two), DEL, C1 controls
 * (0x9b is a one-byte CSI), and the Unicode bidirectional overrides, embeddings and isolates
 * (U+202E turns "gpj.exe" into "exe.jpg" on screen). Tab is kept: it separates fields.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const UNSAFE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

function visible(ch: string): string {
  const code = ch.charCodeAt(0);
  if (ch === '\n') return '\\n';
  if (ch === '\r') return '\\r';
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every unsafe character written as a visible escape (`\x1b`, `\n`, `\u202e`). */
export function forTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

/**
 * A line for the terminal that may start with blank lines of its own (section breaks): those
 * are kept, every other unsafe character is escaped.
 */
export function lineForTerminal(line: string): string {
  const lead = /^\n*/.exec(line)?.[0] ?? '';
  return lead + forTerminal(line.slice(lead.length));
}
