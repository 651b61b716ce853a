/**
 * A value made on its first use and kept. The modules that wrap a native package (pg,
 * better-sqlite3, usearch, sharp, onnxruntime-node) load it through this, so a process that only
 * imports them (`facekit --help`, a CLI command that never opens that kind of gallery) does not pay
 * the package's start-up time and memory (issue 9: --help had grown to 90 MB from ~80).
 */
export function lazy<T>(make: () => T): () => T {
  let made = false;
  let value: T | undefined;
  return () => {
    if (!made) {
      value = make();
      made = true;
    }
    return value as T;
  };
}
