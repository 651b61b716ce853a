/** `facekit keys create|list|revoke`: the HTTP service's API keys, kept hashed in the gallery file. */
import { Argument, Command, Option } from 'commander';
import { type ApiKeyRecord, defaultGalleryPath, KEY_ROLES, type KeyRole, type KeyStore } from '../entry/gallery.js';
import { dbOption, parsePositiveInt, withJsonErrors, type DbCliOptions } from './gallery-options.js';
import { jsonOption, printJson, printLine } from './output.js';

interface KeysCliOptions extends DbCliOptions {
  role?: KeyRole;
  name?: string;
  json?: boolean;
}

async function withKeys<T>(opts: KeysCliOptions, run: (keys: KeyStore) => Promise<T>): Promise<T> {
  const { openStore } = await import('../entry/gallery.js');
  const store = await openStore(opts.db ?? defaultGalleryPath());
  try {
    return await run(store.keys);
  } finally {
    await store.close();
  }
}

const keyLine = (k: ApiKeyRecord): string =>
  [k.id, k.role, `${k.shown}…`, k.revokedAt === null ? 'valid' : `revoked ${k.revokedAt}`, k.createdAt, k.name].join(
    '\t',
  );

export async function runKeys(
  action: 'create' | 'list' | 'revoke',
  id: number | undefined,
  opts: KeysCliOptions,
): Promise<number> {
  return withKeys(opts, async (keys) => {
    if (action === 'create') {
      const { key, record } = await keys.create(opts.role as KeyRole, opts.name ?? '');
      if (opts.json) printJson({ key, record });
      else {
        printLine(key);
        process.stderr.write(`facekit: key ${record.id} (${record.role}) created; it is shown only this once\n`);
      }
    } else if (action === 'list') {
      const all = await keys.list();
      if (opts.json) printJson({ keys: all });
      else for (const k of all) printLine(keyLine(k));
    } else {
      const record = await keys.revoke(id as number);
      if (opts.json) printJson({ revoked: record });
      else printLine(keyLine(record));
    }
    return 0;
  });
}

export function keysCommand(): Command {
  return new Command('keys')
    .summary("API keys of 'facekit serve': create, list, revoke")
    .description(
      "API keys of 'facekit serve', stored hashed (SHA-256) in the gallery file. Roles: admin (gallery writes and keys, and everything else), recognize (recognition and reads). 'create' prints the key once.",
    )
    .addArgument(new Argument('<action>', 'what to do').choices(['create', 'list', 'revoke']))
    .addArgument(new Argument('[id]', 'revoke: the key id (from list)').argParser(parsePositiveInt))
    .addOption(new Option('--role <role>', 'create: the key’s role').choices(KEY_ROLES))
    .option('--name <label>', 'create: a label to tell keys apart (who or what uses it)')
    .addOption(dbOption())
    .addOption(jsonOption())
    .action(
      async (action: 'create' | 'list' | 'revoke', id: number | undefined, opts: KeysCliOptions, cmd: Command) => {
        if (action === 'create' && opts.role === undefined)
          cmd.error('facekit: keys create needs --role admin|recognize');
        if (action === 'revoke' && id === undefined)
          cmd.error('facekit: keys revoke needs the key id (facekit keys list)');
        process.exitCode = await withJsonErrors(opts.json, () => runKeys(action, id, opts));
      },
    );
}
