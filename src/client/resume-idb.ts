/**
 * A resume store in IndexedDB, the browser default: a multipart upload's id and plan outlive a page
 * reload or a browser restart, so picking the same file again sends only the parts the storage does
 * not hold. One database (`dropgate`), one object store (`uploads`) keyed by fingerprint. Where
 * IndexedDB is missing or refuses (private modes, sandboxed frames, a full disk), every call rejects
 * quickly and the uploader carries on without resume: a store never fails an upload.
 */
import type { ResumeState, ResumeStore } from './resume.js';

export interface IndexedDbResumeStoreOptions {
  /** Database name. Default `dropgate`. */
  name?: string;
  /**
   * Entries saved longer ago than this are forgotten. Default 7 days: far past the server's upload
   * lifetime (24 h by default, extended while parts are signed), after which there is nothing to resume.
   */
  maxAgeMs?: number;
  /** The IndexedDB to use. Default `globalThis.indexedDB`. */
  indexedDB?: IDBFactory;
  /** How long opening the database may take before resume is given up for this page. Default 3000 ms. */
  openTimeoutMs?: number;
}

const STORE = 'uploads';
const DAY_MS = 24 * 3600 * 1000;

const request = <T>(req: IDBRequest<T>) =>
  new Promise<T>((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });

/** Resolves when the transaction commits (a write is durable only then), rejects when it aborts. */
const committed = (tx: IDBTransaction) =>
  new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onabort = tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
  });

function isState(value: unknown): value is ResumeState {
  const v = value as Partial<ResumeState> | null;
  return (
    typeof v === 'object' &&
    v !== null &&
    typeof v.uploadId === 'string' &&
    typeof v.size === 'number' &&
    typeof v.partSize === 'number' &&
    typeof v.partCount === 'number' &&
    typeof v.savedAt === 'string'
  );
}

/** The page's IndexedDB, or undefined where there is none or reading it throws (some sandboxed frames). */
export function pageIndexedDb(): IDBFactory | undefined {
  try {
    const factory = (globalThis as { indexedDB?: IDBFactory | null }).indexedDB;
    return factory && typeof factory.open === 'function' ? factory : undefined;
  } catch {
    return undefined;
  }
}

/**
 * @example
 * const resumeStore = createIndexedDbResumeStore({ maxAgeMs: 2 * 24 * 3600 * 1000 });
 * const client = createClient({ endpoint: '/api/upload', resumeStore }); // the browser default anyway
 */
export function createIndexedDbResumeStore(options: IndexedDbResumeStoreOptions = {}): ResumeStore {
  const name = options.name ?? 'dropgate';
  const maxAgeMs = options.maxAgeMs ?? 7 * DAY_MS;
  const openTimeoutMs = options.openTimeoutMs ?? 3000;
  let opening: Promise<IDBDatabase> | undefined;

  const open = (): Promise<IDBDatabase> => {
    opening ??= new Promise<IDBDatabase>((resolve, reject) => {
      const factory = options.indexedDB ?? pageIndexedDb();
      if (!factory) throw new Error('IndexedDB is not available here');
      // A failed open stays failed for this store: no later upload waits on it again.
      const req = factory.open(name, 1);
      const timer = setTimeout(() => reject(new Error(`IndexedDB did not open within ${openTimeoutMs} ms`)), openTimeoutMs);
      req.onupgradeneeded = () => {
        if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE);
      };
      req.onsuccess = () => {
        clearTimeout(timer);
        const db = req.result;
        // Another tab upgrading, or the browser clearing site data: let go, reopen on next use.
        const forget = () => {
          db.close();
          if (opening === ready) opening = undefined;
        };
        db.onversionchange = forget;
        db.onclose = () => {
          if (opening === ready) opening = undefined;
        };
        resolve(db);
      };
      req.onerror = () => {
        clearTimeout(timer);
        reject(req.error ?? new Error('IndexedDB refused to open'));
      };
    });
    const ready = opening;
    return ready;
  };

  const expired = (state: ResumeState, now: number) => !(Date.parse(state.savedAt) > now - maxAgeMs);

  return {
    async get(fingerprint) {
      const db = await open();
      const value: unknown = await request(db.transaction(STORE, 'readonly').objectStore(STORE).get(fingerprint));
      if (value === undefined) return undefined;
      if (isState(value) && !expired(value, Date.now())) return value;
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).delete(fingerprint);
      await committed(tx).catch(() => {});
      return undefined;
    },
    async set(fingerprint, state) {
      const db = await open();
      const tx = db.transaction(STORE, 'readwrite');
      const store = tx.objectStore(STORE);
      store.put({ ...state }, fingerprint);
      // Sweep what is too old to resume, so abandoned uploads do not pile up.
      const now = Date.now();
      const cursor = store.openCursor();
      cursor.onsuccess = () => {
        const at = cursor.result;
        if (!at) return;
        if (at.key !== fingerprint && (!isState(at.value) || expired(at.value, now))) at.delete();
        at.continue();
      };
      await committed(tx);
    },
    async delete(fingerprint) {
      const db = await open();
      const tx = db.transaction(STORE, 'readwrite');
      tx.objectStore(STORE).delete(fingerprint);
      await committed(tx);
    },
  };
}

let shared: ResumeStore | undefined;

/**
 * The resume store an uploader uses when given none: IndexedDB in browsers, none elsewhere (Node
 * keeps its state where the caller says, e.g. `createFileResumeStore`).
 * @example const store = options.resumeStore === false ? undefined : (options.resumeStore ?? defaultResumeStore());
 */
export function defaultResumeStore(): ResumeStore | undefined {
  if (!pageIndexedDb()) return undefined;
  shared ??= createIndexedDbResumeStore();
  return shared;
}
