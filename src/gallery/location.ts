/** What a --db value names: a gallery file, or a PostgreSQL server (without loading pg to tell). */

/** Whether a --db value names a PostgreSQL server rather than a gallery file. */
export function isPostgresUrl(location: string): boolean {
  return typeof location === 'string' && /^postgres(ql)?:\/\//i.test(location);
}

/** The URL without its password, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
  }
}
