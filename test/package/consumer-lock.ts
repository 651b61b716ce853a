/**
 * A lockfile for an empty project that depends on facekit's packed tarball: facekit's own
 * dependencies exactly as facekit's package-lock.json pins them (same versions, same integrity),
 * so `npm ci --offline` installs them from the npm cache that `npm install` in facekit filled, and
 * the test needs no registry. (A plain `npm install --offline <tarball>` needs the registry's
 * package documents to resolve version ranges, which `npm install` from a lockfile never caches.)
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

interface LockEntry {
  readonly version?: string;
  readonly dev?: boolean;
  readonly devOptional?: boolean;
  readonly dependencies?: Record<string, string>;
  readonly [key: string]: unknown;
}

interface Lock {
  readonly packages: Record<string, LockEntry>;
}

export interface ConsumerFiles {
  readonly packageJson: object;
  readonly lock: object;
}

/** package.json and package-lock.json of a project whose one dependency is `tarball` (a path relative to it). */
export function consumerFiles(
  facekitLockFile: string,
  facekitPackageFile: string,
  tarballFile: string,
  tarballSpec: string,
): ConsumerFiles {
  const lock = JSON.parse(readFileSync(facekitLockFile, 'utf8')) as Lock;
  const pkg = JSON.parse(readFileSync(facekitPackageFile, 'utf8')) as {
    name: string;
    version: string;
    dependencies: Record<string, string>;
    bin?: Record<string, string>;
    engines?: Record<string, string>;
    license?: string;
  };
  const integrity = `sha512-${createHash('sha512').update(readFileSync(tarballFile)).digest('base64')}`;
  const packages: Record<string, LockEntry> = {
    '': { name: 'consumer', dependencies: { [pkg.name]: tarballSpec } },
    [`node_modules/${pkg.name}`]: {
      version: pkg.version,
      resolved: tarballSpec,
      integrity,
      license: pkg.license,
      dependencies: pkg.dependencies,
      ...(pkg.bin ? { bin: pkg.bin } : {}),
      ...(pkg.engines ? { engines: pkg.engines } : {}),
    },
  };
  for (const [path, entry] of Object.entries(lock.packages)) {
    if (path === '' || entry.dev === true || entry.devOptional === true) continue;
    // facekit's lockfile leaves out registry URLs; without one npm asks the registry where the tarball is.
    packages[path] = { resolved: registryTarball(path, entry.version as string), ...entry };
  }
  return {
    packageJson: { name: 'consumer', private: true, type: 'module', dependencies: { [pkg.name]: tarballSpec } },
    lock: { name: 'consumer', lockfileVersion: 3, requires: true, packages },
  };
}

/** The npm registry's tarball URL of the package installed at `path` (…/node_modules/[@scope/]name). */
export function registryTarball(path: string, version: string): string {
  const name = path.slice(path.lastIndexOf('node_modules/') + 'node_modules/'.length);
  const base = name.slice(name.lastIndexOf('/') + 1);
  return `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`;
}
