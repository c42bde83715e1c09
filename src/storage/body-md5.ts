/**
 * The disk store's MD5 of a body as it arrives (its ETag, and the check of a signed Content-MD5).
 * Up to four bodies at once share the SIMD kernel (`shared/md5-lanes.ts`), a lane each, so the
 * parallel parts of a multipart upload cost the gateway about a third of node:crypto's CPU. A body
 * that finds every lane taken, or comes before the kernel has compiled, is hashed by node:crypto:
 * a body never waits for a lane.
 */
import { createHash } from 'node:crypto';
import { instantiateMd5Lanes, LANES, type Md5Lanes } from '../shared/md5-lanes.js';

export interface BodyMd5 {
  update(chunk: Uint8Array): void;
  /** The digest. The hash is over: its lane is free again. */
  digest(): Buffer;
  /** Ends the hash without a digest (the body failed); its lane is free again. */
  release(): void;
}

/**
 * Bytes a lane holds before its owner's next update runs the kernel over every lane. Bodies sent
 * side by side fill their lanes at about the same pace, so one pass does most of each.
 */
const LANE_BYTES = 256 * 1024;

let kernel: Md5Lanes | undefined;
let loading: Promise<boolean> | undefined;
const taken: boolean[] = new Array(LANES).fill(false);
const filled: number[] = new Array(LANES).fill(0);

/** Compiles the kernel once; resolves whether bodies can use it. */
export function bodyMd5Ready(): Promise<boolean> {
  loading ??= instantiateMd5Lanes(LANE_BYTES).then((instance) => {
    kernel = instance;
    return instance !== undefined;
  });
  return loading;
}

/** Lanes no body holds now (0 before the kernel has compiled). */
export function freeBodyMd5Lanes(): number {
  return kernel ? taken.filter((t) => !t).length : 0;
}

function nodeMd5(): BodyMd5 {
  const hash = createHash('md5');
  return {
    update: (chunk) => void hash.update(chunk),
    digest: () => hash.digest(),
    release: () => undefined,
  };
}

/**
 * @example
 * const md5 = openBodyMd5();
 * for await (const chunk of body) md5.update(chunk);
 * const etag = md5.digest().toString('hex');
 */
export function openBodyMd5(): BodyMd5 {
  void bodyMd5Ready();
  const k = kernel;
  const lane = taken.indexOf(false);
  if (!k || lane < 0) return nodeMd5();
  taken[lane] = true;
  filled[lane] = 0;
  k.reset(lane);
  let length = 0;
  let open = true;
  const end = () => {
    open = false;
    taken[lane] = false;
    filled[lane] = 0;
  };
  return {
    update(chunk) {
      if (!open) throw new Error('This MD5 is already finished.');
      const region = k.region(lane);
      for (let at = 0; at < chunk.length; ) {
        const take = Math.min(chunk.length - at, LANE_BYTES - (filled[lane] as number));
        region.set(chunk.subarray(at, at + take), filled[lane]);
        filled[lane] = (filled[lane] as number) + take;
        at += take;
        length += take;
        if (filled[lane] === LANE_BYTES) filled.splice(0, LANES, ...k.consume(filled));
      }
    },
    digest() {
      if (!open) throw new Error('This MD5 is already finished.');
      const digest = Buffer.from(k.finish(lane, filled[lane] as number, length));
      end();
      return digest;
    },
    release() {
      if (open) end();
    },
  };
}
