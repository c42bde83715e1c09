/**
 * A resume store in one JSON file, for Node (the CLI keeps `~/.dropgate/uploads.json`). Node
 * modules are imported on first use, so browser bundles of the client build without them.
 */
import type { ResumeState, ResumeStore } from './resume.js';

type Entries = Record<string, ResumeState>;

interface NodeFs {
  readFile(path: string, encoding: 'utf8'): Promise<string>;
  writeFile(path: string, data: string, options: { mode: number }): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  rm(path: string, options: { force: true }): Promise<void>;
}

// Entries older than this are dropped on write: the server forgets unfinished uploads far sooner.
const MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/**
 * @example
 * import { homedir } from 'node:os';
 * const resumeStore = createFileResumeStore(`${homedir()}/.dropgate/uploads.json`);
 * await createClient({ endpoint, resumeStore }).upload(blob, { fingerprint: `${path}|${mtimeMs}` });
 */
export function createFileResumeStore(path: string): ResumeStore {
  // One change at a time within this process; the file is replaced by rename, so a reader (or
  // another process) never sees it half-written. Two processes writing at once: the last wins.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const next = chain.then(fn, fn);
    chain = next.catch(() => undefined);
    return next;
  };

  const read = async (fs: NodeFs): Promise<Entries> => {
    let text: string;
    try {
      text = await fs.readFile(path, 'utf8');
    } catch (error) {
      if ((error as { code?: string }).code === 'ENOENT') return {};
      throw error;
    }
    try {
      const value: unknown = JSON.parse(text);
      return value && typeof value === 'object' && !Array.isArray(value) ? (value as Entries) : {};
    } catch {
      return {}; // A damaged file costs a resume, never an upload.
    }
  };

  const write = async (fs: NodeFs, entries: Entries): Promise<void> => {
    const dir = path.replace(/[\\/][^\\/]*$/, '');
    if (dir && dir !== path) await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const temp = `${path}.${Date.now()}-${Math.random().toString(36).slice(2)}.tmp`;
    try {
      await fs.writeFile(temp, `${JSON.stringify(entries, null, 2)}\n`, { mode: 0o600 });
      await fs.rename(temp, path);
    } catch (error) {
      await fs.rm(temp, { force: true });
      throw error;
    }
  };

  const update = (change: (entries: Entries) => boolean) =>
    serial(async () => {
      const fs = await nodeFs();
      const entries = await read(fs);
      if (change(entries)) await write(fs, entries);
    });

  return {
    get: (fingerprint) => serial(async () => (await read(await nodeFs()))[fingerprint]),
    set: (fingerprint, state) =>
      update((entries) => {
        const oldest = Date.now() - MAX_AGE_MS;
        for (const [key, entry] of Object.entries(entries)) if (!(Date.parse(entry.savedAt) > oldest)) delete entries[key];
        entries[fingerprint] = state;
        return true;
      }),
    delete: (fingerprint) =>
      update((entries) => {
        if (!(fingerprint in entries)) return false;
        delete entries[fingerprint];
        return true;
      }),
  };
}

function nodeFs(): Promise<NodeFs> {
  const specifier = 'node:fs/promises';
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<NodeFs>;
}
