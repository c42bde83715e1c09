/**
 * Twelve MD5s at once: a WebAssembly SIMD kernel whose 128-bit vectors hold one 32-bit MD5 word of
 * four independent messages, one per lane, in three groups of four. The parts of a multipart
 * upload are independent messages, so the client hashes twelve at a time: 3.7 GB/s on one core
 * here, where node:crypto's MD5 of one message runs at 0.94 (BENCHMARKS.md, md5).
 *
 * Why three groups: an MD5 step waits for the step before (about six instructions in a row), so
 * one group of four lanes keeps a core mostly waiting; the groups' steps are independent, and the
 * core runs them side by side. That only happens if the compiled code interleaves them: V8 orders
 * the arithmetic as it likes and put one group's 64 steps after the other's. So each step stores
 * its result (`SINK_OFFSET`): stores keep their order, so each pins its step between the other
 * groups' steps of the same index. Measured here (an ad hoc script, 1 GiB from memory): one group
 * 1.4 GB/s; two 1.6 without the stores, 2.7 with them; three 3.3, and 3.6 with a block's words
 * loaded four at a time and transposed; four spill registers (2.8).
 *
 * The module is built here, byte by byte, rather than shipped as a binary: it is 64 unrolled RFC
 * 1321 steps per group and a block loop, and writing it out keeps every constant and opcode
 * readable.
 *
 * Memory layout (the caller's contract), lane `l` being lane `l % 4` of group `l >> 2`:
 * - `STATE_OFFSET`: the state, word by word, each word the `LANES` lanes' 32-bit values in order;
 * - `MASK_OFFSET`: the lane mask, 0xffffffff for a lane whose state the call may change, 0 for one
 *   it must leave alone (a lane with no blocks in this call reads another lane's bytes);
 * - the kernel's own scratch: the state at a block's start, the block's words by lane, the sink;
 * - from `LANE_DATA_OFFSET`: the blocks, wherever the caller puts them.
 *
 * Export `compress(p0, …, p11, blocks)`: runs `blocks` 64-byte blocks of each lane, lane j's
 * starting at byte offset pj, and updates the state of the lanes the mask allows.
 */

const GROUPS = 3;
export const LANES = 4 * GROUPS;
export const STATE_OFFSET = 0;
export const MASK_OFFSET = STATE_OFFSET + 16 * LANES;
const START_OFFSET = MASK_OFFSET + 4 * LANES;
const WORDS_OFFSET = START_OFFSET + 16 * LANES;
const SINK_OFFSET = WORDS_OFFSET + 64 * LANES;
export const LANE_DATA_OFFSET = SINK_OFFSET + 16 * GROUPS;

const SHIFTS = [7, 12, 17, 22, 5, 9, 14, 20, 4, 11, 16, 23, 6, 10, 15, 21];
const SINES = Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) >>> 0);

const I32 = 0x7f;
const V128 = 0x7b;
const op = {
  block: 0x02,
  loop: 0x03,
  br: 0x0c,
  brIf: 0x0d,
  end: 0x0b,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32Add: 0x6a,
  i32Sub: 0x6b,
} as const;
// SIMD instructions: 0xfd, then the opcode as a LEB128 u32.
const simd = {
  load: 0x00,
  store: 0x0b,
  shuffle: 0x0d,
  const: 0x0c,
  not: 0x4d,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  shl: 0xab,
  shrU: 0xad,
  add: 0xae,
} as const;

function leb(value: number): number[] {
  const out: number[] = [];
  let rest = value >>> 0;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return out;
}

function sleb(value: number): number[] {
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

const v = (code: number, ...immediates: number[]) => [0xfd, ...leb(code), ...immediates];
const memarg = (alignLog2: number, offset: number) => [alignLog2, ...leb(offset)];
const section = (id: number, bytes: number[]) => [id, ...leb(bytes.length), ...bytes];
const vector = (items: number[][]) => [...leb(items.length), ...items.flat()];
const name = (text: string) => vector([...text].map((c) => [c.charCodeAt(0)]));

function splat(word: number): number[] {
  const bytes = [word & 0xff, (word >>> 8) & 0xff, (word >>> 16) & 0xff, word >>> 24];
  return v(simd.const, ...bytes, ...bytes, ...bytes, ...bytes);
}

// i8x16.shuffle lane choices (bytes 0–15 from the first vector, 16–31 from the second) that
// transpose four lanes' four words: 32-bit interleaves, then 64-bit ones.
const LOW_WORDS = [0, 1, 2, 3, 16, 17, 18, 19, 4, 5, 6, 7, 20, 21, 22, 23];
const HIGH_WORDS = [8, 9, 10, 11, 24, 25, 26, 27, 12, 13, 14, 15, 28, 29, 30, 31];
const LOW_HALVES = [0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23];
const HIGH_HALVES = [8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31];

/** The body of `compress`: params 0..LANES-1 are the lane offsets, LANES the block count. */
function compressBody(): number[] {
  const BLOCKS = LANES;
  // v128 locals after the params: each group's state a, b, c, d, then eight scratch vectors.
  const STATES = Array.from({ length: GROUPS }, (_, g) => [0, 1, 2, 3].map((w) => LANES + 1 + 4 * g + w));
  const SCRATCH = Array.from({ length: 8 }, (_, i) => LANES + 1 + 4 * GROUPS + i);
  const [x0, x1, x2, x3, y0, y1, y2, y3] = SCRATCH as [number, number, number, number, number, number, number, number];
  const get = (local: number) => [op.localGet, local];
  const set = (local: number) => [op.localSet, local];
  const at = (offset: number) => [op.i32Const, 0, ...v(simd.load, ...memarg(4, offset))];
  const store = (offset: number, value: number[]) => [op.i32Const, 0, ...value, ...v(simd.store, ...memarg(4, offset))];
  const shuffle = (x: number, y: number, lanes: number[]) => [...get(x), ...get(y), ...v(simd.shuffle, ...lanes)];
  const stateAt = (g: number, w: number) => STATE_OFFSET + 16 * (GROUPS * w + g);
  const startAt = (g: number, w: number) => START_OFFSET + 16 * (4 * g + w);
  const wordAt = (g: number, k: number) => WORDS_OFFSET + 16 * (16 * g + k);
  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const part of parts) code.push(...part);
  };

  for (const [g, state] of STATES.entries()) for (const [w, local] of state.entries()) emit(at(stateAt(g, w)), set(local));
  emit([op.block, 0x40, op.loop, 0x40]);
  emit(get(BLOCKS), [op.i32Eqz, op.brIf, 1]);
  for (const [g, state] of STATES.entries()) {
    // The state at the block's start, added back at its end.
    for (const [w, local] of state.entries()) emit(store(startAt(g, w), get(local)));
    // The block's 16 words, each as one vector across the group's four lanes: four words of
    // each lane loaded at once, then transposed.
    for (let q = 0; q < 4; q++) {
      for (const [j, x] of [x0, x1, x2, x3].entries()) emit(get(4 * g + j), v(simd.load, ...memarg(0, 16 * q)), set(x));
      emit(shuffle(x0, x1, LOW_WORDS), set(y0), shuffle(x2, x3, LOW_WORDS), set(y1));
      emit(shuffle(x0, x1, HIGH_WORDS), set(y2), shuffle(x2, x3, HIGH_WORDS), set(y3));
      emit(store(wordAt(g, 4 * q), shuffle(y0, y1, LOW_HALVES)), store(wordAt(g, 4 * q + 1), shuffle(y0, y1, HIGH_HALVES)));
      emit(store(wordAt(g, 4 * q + 2), shuffle(y2, y3, LOW_HALVES)), store(wordAt(g, 4 * q + 3), shuffle(y2, y3, HIGH_HALVES)));
    }
  }
  const orders = STATES.map((state) => [...state]);
  for (let i = 0; i < 64; i++) {
    for (const [g, order] of orders.entries()) {
      const [a, b, c, d] = order as [number, number, number, number];
      const round = i >> 4;
      const k = [i, (5 * i + 1) & 15, (3 * i + 5) & 15, (7 * i) & 15][round] as number;
      const shift = SHIFTS[round * 4 + (i & 3)] as number;
      // a + X[k] + T[i] first: none of it waits for the step before. The round function, which
      // does (b is that step's result), is added last, each written so that b goes through as
      // few instructions as it can: 1.6 -> 2.2 GB/s with one group.
      emit(get(a), at(wordAt(g, k)), v(simd.add), splat(SINES[i] as number), v(simd.add));
      if (round === 0)
        emit(get(c), get(d), get(b), v(simd.bitselect), v(simd.add)); // (b & c) | (~b & d)
      else if (round === 1) {
        // (d & b) | (~d & c): the two terms share no bits, so each is added on its own.
        emit(get(c), get(d), v(simd.andnot), v(simd.add), get(d), get(b), v(simd.and), v(simd.add));
      } else if (round === 2) emit(get(c), get(d), v(simd.xor), get(b), v(simd.xor), v(simd.add));
      else emit(get(c), get(b), get(d), v(simd.not), v(simd.or), v(simd.xor), v(simd.add)); // c ^ (b | ~d)
      // Rotate left by `shift`, then add b; the store pins the step in place (see the top).
      emit([op.localTee, x0], [op.i32Const, ...sleb(shift)], v(simd.shl));
      emit(get(x0), [op.i32Const, ...sleb(32 - shift)], v(simd.shrU), v(simd.or), get(b), v(simd.add), set(a));
      emit(store(SINK_OFFSET + 16 * g, get(a)));
      order.unshift(order.pop() as number);
    }
  }
  for (const [g, state] of STATES.entries())
    for (const [w, local] of state.entries()) emit(get(local), at(startAt(g, w)), v(simd.add), set(local));
  for (let lane = 0; lane < LANES; lane++) emit(get(lane), [op.i32Const, ...sleb(64), op.i32Add], set(lane));
  emit(get(BLOCKS), [op.i32Const, 1, op.i32Sub], set(BLOCKS), [op.br, 0, op.end, op.end]);
  // Keep the lanes the mask excludes: state = bitselect(new, old, mask).
  for (const [g, state] of STATES.entries()) {
    for (const [w, local] of state.entries()) {
      emit(store(stateAt(g, w), [...get(local), ...at(stateAt(g, w)), ...at(MASK_OFFSET + 16 * g), ...v(simd.bitselect)]));
    }
  }
  emit([op.end]);
  const locals = vector([[...leb(4 * GROUPS + SCRATCH.length), V128]]);
  return [...locals, ...code];
}

/** The module's bytes: one exported memory of `pages` 64 KiB pages and the `compress` function. */
export function md5LanesModule(pages: number): Uint8Array<ArrayBuffer> {
  const params = Array.from({ length: LANES + 1 }, () => [I32]);
  const type = section(1, vector([[0x60, ...vector(params), ...vector([])]]));
  const func = section(3, vector([[0]]));
  const memory = section(5, vector([[0x00, ...leb(pages)]]));
  const exports = section(
    7,
    vector([
      [...name('memory'), 0x02, 0],
      [...name('compress'), 0x00, 0],
    ]),
  );
  const body = compressBody();
  const codeSection = section(10, vector([[...leb(body.length), ...body]]));
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...type, ...func, ...memory, ...exports, ...codeSection]);
}
