/**
 * Seeded random inputs for the signer's oracle test: awkward keys (unicode, reserved characters,
 * encoded-looking text, deep paths), tokens and dates. Named `.contract.ts` so the build leaves it out.
 */
// Fixed by default so a failure reproduces; SIGV4_ORACLE_SEED / SIGV4_ORACLE_KEYS fuzz further.
export const SEED = Number(process.env.SIGV4_ORACLE_SEED ?? 0x5eed_2024);

/** mulberry32: a seeded generator, so a failure names a key that reproduces. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const rand = random(SEED);
export const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)]!;
export const int = (min: number, max: number) => min + Math.floor(rand() * (max - min + 1));

export const PIECES = [
  ...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~',
  ...' +%~!*\'()=&?#@:$,;[]{}|\\^`"<>\t',
  '/',
  '/',
  '/',
  '%20',
  '%2F',
  '..',
  'é',
  'e\u0301',
  'ü',
  'ß',
  '日本語',
  'ファイル',
  '🎬',
  '\u00a0',
  'Ω',
  '\u200b',
];

export const FIXED_KEYS = [
  'plain.mp4',
  'with space.mp4',
  'plus+sign',
  'percent%',
  '%20already%2Fencoded',
  'tilde~ok',
  "!*'()",
  '=&?#',
  'a/b/c/d/e/f/g/h/i/j/k/l.bin',
  '/leading-slash',
  'trailing/',
  'double//slash',
  'dots/.hidden/..two/three.../',
  '日本語/ファイル.mp4',
  '🎬 clip.mp4',
  'caf\u00e9',
  'cafe\u0301',
  'tab\there',
  'new\nline',
  '[]{}|\\^`"<>',
  ':@$,;',
];

/** A random key; never one with a `.` or `..` segment, which the presigner refuses (see sigv4.ts). */
export function randomKey(): string {
  for (;;) {
    let key = '';
    const n = int(1, 40);
    for (let i = 0; i < n; i++) key += pick(PIECES);
    if (!/(?:^|\/)\.\.?(?:\/|$)/.test(key)) return key;
  }
}

export function randomToken(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=';
  let token = '';
  for (let i = int(20, 160); i > 0; i--) token += pick([...alphabet]);
  return token;
}

export function randomDate(): Date {
  return new Date(Date.UTC(2020, 0, 1) + Math.floor(rand() * 10 * 365 * 86_400_000));
}
