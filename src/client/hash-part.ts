/**
 * The MD5 of a part, signed into its URL as Content-MD5 so the storage refuses a part that changed
 * on the way. Injectable (`hashPart` option): a browser app can hand the work to a Web Worker.
 */
import { createMd5, toBase64 } from './md5.js';
import { readerOf } from './node-file.js';

/**
 * Base64 MD5 of a part's bytes. Must read the Blob as a stream, never whole: parts are 16 MiB and
 * more, and several are hashed at once. `lanes`: how many parts the hasher works on best at once
 * (the uploader hands it that many); one when absent.
 */
export type PartHasher = ((part: Blob) => Promise<string>) & { readonly lanes?: number };

interface NodeHash {
  update(bytes: Uint8Array): unknown;
  digest(encoding: 'base64'): string;
}
type NodeCrypto = { createHash(algorithm: 'md5'): NodeHash };

let nodeCrypto: Promise<NodeCrypto | undefined> | undefined;

/**
 * node:crypto where the runtime is Node (about 5× faster than the JS MD5), loaded on first use:
 * the client has no top-level `node:` import, so browser bundles build without shims. The
 * specifier is a variable so that bundlers leave the import alone.
 */
function loadNodeCrypto(): Promise<NodeCrypto | undefined> {
  nodeCrypto ??= (async () => {
    const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
    if (!isNode) return undefined;
    const specifier = 'node:crypto';
    try {
      return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as NodeCrypto;
    } catch {
      return undefined;
    }
  })();
  return nodeCrypto;
}

async function eachChunk(blob: Blob, fn: (chunk: Uint8Array) => void): Promise<void> {
  // A reader loop rather than `for await`: Safari's ReadableStream is not async-iterable.
  // A Blob from `openFile` is read through node:fs, 1 MiB at a time (node-file.ts).
  const reader = await readerOf(blob);
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    fn(value);
  }
}

/**
 * The default `hashPart`: node:crypto in Node, the pure-JS MD5 elsewhere, both streaming.
 *
 * @example
 * await md5Base64(new Blob(['abc'])); // 'kAFQmDzST7DWlj99KOF/cg=='
 */
export const md5Base64: PartHasher = async (part) => {
  const crypto = await loadNodeCrypto();
  if (crypto) {
    const hash = crypto.createHash('md5');
    await eachChunk(part, (chunk) => hash.update(chunk));
    return hash.digest('base64');
  }
  return jsMd5Base64(part);
};

/**
 * The pure-JS path on its own, for a Web Worker (`hashPart` posting parts to it) or for tests.
 * @example await jsMd5Base64(file.slice(0, 16 * 1024 * 1024));
 */
export async function jsMd5Base64(part: Blob): Promise<string> {
  const md5 = createMd5();
  await eachChunk(part, (chunk) => md5.update(chunk));
  return toBase64(md5.digest());
}
