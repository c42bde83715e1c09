/**
 * Resume: a multipart upload's id and plan are kept under the file's fingerprint, so a later run
 * (a new process, a reloaded page) asks the server which parts the storage holds and sends only
 * the rest. The store only needs three methods; a file-backed one for Node is in `resume-file.ts`,
 * an IndexedDB one can be plugged in for browsers.
 */

/** What a later run needs to pick an upload up again. Plain JSON. */
export interface ResumeState {
  uploadId: string;
  /** The file size and part plan the server answered; a mismatch starts over. */
  size: number;
  partSize: number;
  partCount: number;
  /** When the state was written (ISO), so a store may forget very old entries. */
  savedAt: string;
}

export interface ResumeStore {
  get(fingerprint: string): Promise<ResumeState | undefined> | ResumeState | undefined;
  set(fingerprint: string, state: ResumeState): Promise<void> | void;
  delete(fingerprint: string): Promise<void> | void;
}

/**
 * A store that lives as long as the process (or page): resume after a pause, a dropped network or
 * a discarded uploader, not after a restart.
 * @example const client = createClient({ endpoint, resumeStore: createMemoryResumeStore() });
 */
export function createMemoryResumeStore(): ResumeStore & { readonly size: number } {
  const entries = new Map<string, ResumeState>();
  return {
    get: (fingerprint) => {
      const state = entries.get(fingerprint);
      return state && { ...state };
    },
    set: (fingerprint, state) => void entries.set(fingerprint, { ...state }),
    delete: (fingerprint) => void entries.delete(fingerprint),
    get size() {
      return entries.size;
    },
  };
}

/**
 * The key a file's upload is kept under: endpoint, route, name, size and lastModified. A plain
 * Blob (no name, no date) has no identity to resume by, unless the caller gives one.
 *
 * @example
 * fingerprintOf(file, { endpoint: '/api/upload' }); // 'dropgate1|/api/upload||clip.mp4|1048576|1732449600000'
 * fingerprintOf(blob, { endpoint, fingerprint: `${path}|${mtimeMs}` });
 */
export function fingerprintOf(file: Blob, options: { endpoint: string; route?: string; fingerprint?: string }): string | undefined {
  const scope = `dropgate1|${options.endpoint}|${options.route ?? ''}`;
  if (options.fingerprint !== undefined) return `${scope}|${options.fingerprint}|${file.size}`;
  const { name, lastModified } = file as Partial<File>;
  if (typeof name !== 'string' || name === '' || typeof lastModified !== 'number') return undefined;
  return `${scope}|${name}|${file.size}|${lastModified}`;
}
