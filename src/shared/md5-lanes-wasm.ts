/**
 * Four MD5s at once: a WebAssembly SIMD kernel whose 128-bit vectors hold one 32-bit MD5 word of
 * four independent messages, one per lane. The parts of a multipart upload are independent
 * messages, so the client hashes four at a time: 2.2 GB/s on one core here, where node:crypto's
 * MD5 of one message runs at 0.74 (BENCHMARKS.md, datapath).
 *
 * The module is built here, byte by byte, rather than shipped as a binary: it is 64 unrolled RFC
 * 1321 steps and a block loop, and writing it out keeps every constant and opcode readable.
 *
 * Memory layout (the caller's contract):
 * - `STATE_OFFSET`: the state, as vectors A, B, C, D (lane j of each is message j's word);
 * - `MASK_OFFSET`: the lane mask, 0xffffffff for a lane whose state the call may change, 0 for one
 *   it must leave alone (a lane with no blocks in this call reads another lane's bytes);
 * - the kernel's own scratch: the state at a block's start and the block's words, by lane;
 * - from `LANE_DATA_OFFSET`: the blocks, wherever the caller puts them.
 *
 * Export `compress(p0, p1, p2, p3, blocks)`: runs `blocks` 64-byte blocks of each lane, lane j's
 * starting at byte offset pj, and updates the state of the lanes the mask allows.
 */

export const LANES = 4;
export const STATE_OFFSET = 0;
export const MASK_OFFSET = STATE_OFFSET + 64;
const START_OFFSET = MASK_OFFSET + 16;
const WORDS_OFFSET = START_OFFSET + 64;
export const LANE_DATA_OFFSET = WORDS_OFFSET + 16 * 16;

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
  const: 0x0c,
  not: 0x4d,
  and: 0x4e,
  andnot: 0x4f,
  or: 0x50,
  xor: 0x51,
  bitselect: 0x52,
  load32Lane: 0x56,
  load32Zero: 0x5c,
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

/** The body of `compress`: params 0..3 are the lane offsets, 4 the block count. */
function compressBody(): number[] {
  const BLOCKS = LANES;
  // v128 locals after the params: the state a, b, c, d, then a scratch vector t.
  const STATE = [LANES + 1, LANES + 2, LANES + 3, LANES + 4];
  const T = LANES + 5;
  const get = (local: number) => [op.localGet, local];
  const set = (local: number) => [op.localSet, local];
  const at = (offset: number) => [op.i32Const, 0, ...v(simd.load, ...memarg(4, offset))];
  const store = (offset: number, value: number[]) => [op.i32Const, 0, ...value, ...v(simd.store, ...memarg(4, offset))];
  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const part of parts) code.push(...part);
  };

  for (const [w, local] of STATE.entries()) emit(at(STATE_OFFSET + 16 * w), set(local));
  emit([op.block, 0x40, op.loop, 0x40]);
  emit(get(BLOCKS), [op.i32Eqz, op.brIf, 1]);
  // The state at the block's start, added back at its end.
  for (const [w, local] of STATE.entries()) emit(store(START_OFFSET + 16 * w, get(local)));
  // The block's 16 words, each gathered across the four lanes into one vector.
  for (let k = 0; k < 16; k++) {
    emit(get(0), v(simd.load32Zero, ...memarg(2, 4 * k)));
    // load32_lane takes the address first, then the vector it changes.
    for (let lane = 1; lane < LANES; lane++) emit(set(T), get(lane), get(T), v(simd.load32Lane, ...memarg(2, 4 * k), lane));
    emit(set(T), store(WORDS_OFFSET + 16 * k, get(T)));
  }
  const order = [...STATE];
  for (let i = 0; i < 64; i++) {
    const [a, b, c, d] = order as [number, number, number, number];
    const round = i >> 4;
    const k = [i, (5 * i + 1) & 15, (3 * i + 5) & 15, (7 * i) & 15][round] as number;
    const shift = SHIFTS[round * 4 + (i & 3)] as number;
    // a + X[k] + T[i] first: none of it waits for the step before. The round function, which
    // does (b is that step's result), is added last, each written so that b goes through as few
    // instructions as it can: 1.6 -> 2.2 GB/s here.
    emit(get(a), at(WORDS_OFFSET + 16 * k), v(simd.add), splat(SINES[i] as number), v(simd.add));
    if (round === 0)
      emit(get(c), get(d), get(b), v(simd.bitselect), v(simd.add)); // (b & c) | (~b & d)
    else if (round === 1) {
      // (d & b) | (~d & c): the two terms share no bits, so each is added on its own.
      emit(get(c), get(d), v(simd.andnot), v(simd.add), get(d), get(b), v(simd.and), v(simd.add));
    } else if (round === 2) emit(get(c), get(d), v(simd.xor), get(b), v(simd.xor), v(simd.add));
    else emit(get(c), get(b), get(d), v(simd.not), v(simd.or), v(simd.xor), v(simd.add)); // c ^ (b | ~d)
    // Rotate left by `shift`, then add b.
    emit([op.localTee, T], [op.i32Const, ...sleb(shift)], v(simd.shl));
    emit(get(T), [op.i32Const, ...sleb(32 - shift)], v(simd.shrU), v(simd.or), get(b), v(simd.add), set(a));
    order.unshift(order.pop() as number);
  }
  for (const [w, local] of STATE.entries()) emit(get(local), at(START_OFFSET + 16 * w), v(simd.add), set(local));
  for (let lane = 0; lane < LANES; lane++) emit(get(lane), [op.i32Const, ...sleb(64), op.i32Add], set(lane));
  emit(get(BLOCKS), [op.i32Const, 1, op.i32Sub], set(BLOCKS), [op.br, 0, op.end, op.end]);
  // Keep the lanes the mask excludes: state = bitselect(new, old, mask).
  for (const [w, local] of STATE.entries()) {
    emit(store(STATE_OFFSET + 16 * w, [...get(local), ...at(STATE_OFFSET + 16 * w), ...at(MASK_OFFSET), ...v(simd.bitselect)]));
  }
  emit([op.end]);
  const locals = vector([[...leb(STATE.length + 1), V128]]);
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
