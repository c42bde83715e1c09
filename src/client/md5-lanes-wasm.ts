/**
 * Four MD5s at once: a WebAssembly SIMD kernel whose 128-bit vectors hold one 32-bit MD5 word of
 * four independent messages, one per lane. MD5 is a chain of dependent steps, so one message keeps
 * a core's adders mostly waiting; four messages in one vector do four times the work per step. The
 * parts of a multipart upload are independent messages, so the client hashes four at a time.
 *
 * The module is built here, byte by byte, rather than shipped as a binary: it is 64 unrolled RFC
 * 1321 steps and a block loop, and writing it out keeps every constant and opcode readable.
 *
 * Memory layout (the caller's contract):
 * - bytes 0..63: the state, as vectors A, B, C, D (lane j of each is message j's word);
 * - bytes 64..79: the lane mask, 0xffffffff for a lane whose state the call may change, 0 for one
 *   it must leave alone (a lane with no blocks in this call reads another lane's bytes);
 * - from `LANE_DATA_OFFSET`: the blocks, wherever the caller puts them.
 *
 * Export `compress(p0, p1, p2, p3, blocks)`: runs `blocks` 64-byte blocks of each lane, lane j's
 * starting at byte offset pj, and updates the state of the lanes the mask allows.
 */

/** Vectors of four lanes the kernel runs side by side: two, so that one chain runs while the other waits. */
export const GROUPS = 1;
export const LANES = 4 * GROUPS;
export const STATE_OFFSET = 0;
const WORK_OFFSET = STATE_OFFSET + 64 * GROUPS;
export const MASK_OFFSET = WORK_OFFSET + 64 * GROUPS;
const SCRATCH_OFFSET = MASK_OFFSET + 16 * GROUPS;
export const LANE_DATA_OFFSET = SCRATCH_OFFSET + 256 * GROUPS;

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

/** The body of `compress`: params 0..LANES-1 are the lane offsets, LANES the block count. */
function compressBody(): number[] {
  const BLOCKS = LANES;
  // v128 locals after the params: each group's a, b, c, d, then a scratch vector t.
  const S = (group: number, word: number) => LANES + 1 + group * 4 + word;
  const T = LANES + 1 + GROUPS * 4;
  const get = (local: number) => [op.localGet, local];
  const set = (local: number) => [op.localSet, local];
  const at = (offset: number) => [op.i32Const, 0, ...v(simd.load, ...memarg(4, offset))];
  const stateAt = (base: number, group: number, word: number) => base + (word * GROUPS + group) * 16;
  const xAt = (group: number, k: number) => SCRATCH_OFFSET + (group * 16 + k) * 16;
  const code: number[] = [];
  const emit = (...parts: number[][]) => {
    for (const part of parts) code.push(...part);
  };
  const eachState = (fn: (group: number, word: number) => void) => {
    for (let group = 0; group < GROUPS; group++) for (let word = 0; word < 4; word++) fn(group, word);
  };

  eachState((g, w) => emit(at(stateAt(STATE_OFFSET, g, w)), set(S(g, w))));
  emit([op.block, 0x40, op.loop, 0x40]);
  emit(get(BLOCKS), [op.i32Eqz, op.brIf, 1]);
  // The state at the block's start, added back at its end.
  eachState((g, w) => emit([op.i32Const, 0], get(S(g, w)), v(simd.store, ...memarg(4, stateAt(WORK_OFFSET, g, w)))));
  // The block's 16 words, gathered across each group's four lanes.
  for (let g = 0; g < GROUPS; g++) {
    for (let k = 0; k < 16; k++) {
      emit(get(4 * g), v(simd.load32Zero, ...memarg(2, 4 * k)));
      // load32_lane takes the address first, then the vector it changes.
      for (let j = 1; j < 4; j++) emit(set(T), get(4 * g + j), get(T), v(simd.load32Lane, ...memarg(2, 4 * k), j));
      emit(set(T), [op.i32Const, 0], get(T), v(simd.store, ...memarg(4, xAt(g, k))));
    }
  }
  // The 64 steps of RFC 1321, each group's step after the other's so the CPU overlaps the chains.
  const order = [0, 1, 2, 3];
  for (let i = 0; i < 64; i++) {
    const round = i >> 4;
    const k = [i, (5 * i + 1) & 15, (3 * i + 5) & 15, (7 * i) & 15][round] as number;
    const shift = SHIFTS[round * 4 + (i & 3)] as number;
    for (let g = 0; g < GROUPS; g++) {
      const [a, b, c, d] = order.map((w) => S(g, w)) as [number, number, number, number];
      if (round === 0)
        emit(get(c), get(d), get(b), v(simd.bitselect)); // (b & c) | (~b & d)
      else if (round === 1)
        emit(get(b), get(c), get(d), v(simd.bitselect)); // (d & b) | (~d & c)
      else if (round === 2) emit(get(b), get(c), v(simd.xor), get(d), v(simd.xor));
      else emit(get(c), get(b), get(d), v(simd.not), v(simd.or), v(simd.xor)); // c ^ (b | ~d)
      emit(get(a), v(simd.add), at(xAt(g, k)), v(simd.add), splat(SINES[i] as number), v(simd.add));
      emit(
        [op.localTee, T],
        [op.i32Const, ...sleb(shift)],
        v(simd.shl),
        get(T),
        [op.i32Const, ...sleb(32 - shift)],
        v(simd.shrU),
        v(simd.or),
      );
      emit(get(b), v(simd.add), set(a));
    }
    order.unshift(order.pop() as number);
  }
  eachState((g, w) => emit(get(S(g, w)), at(stateAt(WORK_OFFSET, g, w)), v(simd.add), set(S(g, w))));
  for (let lane = 0; lane < LANES; lane++) emit(get(lane), [op.i32Const, ...sleb(64), op.i32Add], set(lane));
  emit(get(BLOCKS), [op.i32Const, 1, op.i32Sub], set(BLOCKS), [op.br, 0, op.end, op.end]);
  // Keep the lanes the mask excludes: state = bitselect(new, old, mask).
  eachState((g, w) => {
    emit([op.i32Const, 0], get(S(g, w)), at(stateAt(STATE_OFFSET, g, w)), at(MASK_OFFSET + 16 * g));
    emit(v(simd.bitselect), v(simd.store, ...memarg(4, stateAt(STATE_OFFSET, g, w))));
  });
  emit([op.end]);
  const locals = vector([[...leb(GROUPS * 4 + 1), V128]]);
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
