/**
 * MD5 in plain JavaScript (RFC 1321), incremental, for runtimes without node:crypto: WebCrypto has
 * no MD5, and S3's Content-MD5 is the one checksum every S3-compatible store verifies on a part.
 * Not for security: it only catches bytes that changed on the way.
 */

export interface Md5 {
  update(bytes: Uint8Array): Md5;
  /** The 16-byte digest; the hash cannot be updated afterwards. */
  digest(): Uint8Array;
}

/**
 * Self-contained on purpose (no module-level names, no helpers): the Web Worker hasher runs this
 * function's source text (`md5-worker.ts`), so it must keep working when copied out of the bundle.
 *
 * @example
 * const md5 = createMd5();
 * md5.update(new TextEncoder().encode('abc'));
 * toBase64(md5.digest()); // 'kAFQmDzST7DWlj99KOF/cg=='
 */
export function createMd5(): Md5 {
  // Per-round left rotations and the sine-derived constants of RFC 1321.
  const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
  const K = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);
  const state = new Int32Array([0x67452301, 0xefcdab89 | 0, 0x98badcfe | 0, 0x10325476]);
  const block = new Uint8Array(64);
  const words = new Int32Array(16);
  let buffered = 0;
  let length = 0; // bytes hashed so far; doubles are exact up to 2^53

  // A method rather than `const compress = () => …`: bundlers that keep function names (esbuild
  // `keepNames`) wrap named bindings in a helper the worker's copy of this code would not have.
  const rounds = {
    compress(view: Uint8Array, offset: number) {
      for (let i = 0; i < 16; i++) {
        const o = offset + i * 4;
        words[i] = (view[o] as number) | ((view[o + 1] as number) << 8) | ((view[o + 2] as number) << 16) | ((view[o + 3] as number) << 24);
      }
      let a = state[0] as number;
      let b = state[1] as number;
      let c = state[2] as number;
      let d = state[3] as number;
      for (let i = 0; i < 64; i++) {
        let f: number;
        let g: number;
        if (i < 16) {
          f = (b & c) | (~b & d);
          g = i;
        } else if (i < 32) {
          f = (d & b) | (~d & c);
          g = (5 * i + 1) & 15;
        } else if (i < 48) {
          f = b ^ c ^ d;
          g = (3 * i + 5) & 15;
        } else {
          f = c ^ (b | ~d);
          g = (7 * i) & 15;
        }
        const sum = (a + f + (K[i] as number) + (words[g] as number)) | 0;
        const s = SHIFTS[(i >> 4) * 4 + (i & 3)] as number;
        a = d;
        d = c;
        c = b;
        b = (b + ((sum << s) | (sum >>> (32 - s)))) | 0;
      }
      state[0] = ((state[0] as number) + a) | 0;
      state[1] = ((state[1] as number) + b) | 0;
      state[2] = ((state[2] as number) + c) | 0;
      state[3] = ((state[3] as number) + d) | 0;
    },
  };

  let finished = false;
  const md5: Md5 = {
    update(bytes) {
      if (finished) throw new Error('md5: update after digest');
      length += bytes.length;
      let at = 0;
      if (buffered > 0) {
        const take = Math.min(64 - buffered, bytes.length);
        block.set(bytes.subarray(0, take), buffered);
        buffered += take;
        at = take;
        if (buffered < 64) return md5;
        rounds.compress(block, 0);
        buffered = 0;
      }
      // Whole blocks straight from the input: no copy on the hot path.
      for (; at + 64 <= bytes.length; at += 64) rounds.compress(bytes, at);
      block.set(bytes.subarray(at), 0);
      buffered = bytes.length - at;
      return md5;
    },
    digest() {
      finished = true;
      const bits = length * 8;
      block[buffered++] = 0x80;
      if (buffered > 56) {
        block.fill(0, buffered);
        rounds.compress(block, 0);
        buffered = 0;
      }
      block.fill(0, buffered, 56);
      for (let i = 0; i < 8; i++) block[56 + i] = Math.floor(bits / 2 ** (8 * i)) & 0xff;
      rounds.compress(block, 0);
      const out = new Uint8Array(16);
      for (let i = 0; i < 16; i++) out[i] = ((state[i >> 2] as number) >>> ((i & 3) * 8)) & 0xff;
      return out;
    },
  };
  return md5;
}

/** Base64 of a few bytes (a digest), without Buffer, which browsers lack. Self-contained, like `createMd5`. */
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (const byte of bytes) text += String.fromCharCode(byte);
  return btoa(text);
}
