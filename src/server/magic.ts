/**
 * Magic-byte check at completion: the first bytes of the object must fit the declared type. This
 * is what stops a ".png" that is really HTML or an executable from being served as an image.
 */
import { essence } from '../shared/types.js';

/** How many leading bytes the check reads. */
export const SNIFF_BYTES = 64;

type Test = (b: Uint8Array) => boolean;

const at =
  (offset: number, ...sig: number[]): Test =>
  (b) =>
    sig.every((byte, i) => b[offset + i] === byte);
const ascii = (offset: number, text: string): Test => at(offset, ...Array.from(text, (c) => c.charCodeAt(0)));
const any =
  (...tests: Test[]): Test =>
  (b) =>
    tests.some((t) => t(b));
const all =
  (...tests: Test[]): Test =>
  (b) =>
    tests.every((t) => t(b));

const ftyp = ascii(4, 'ftyp');
const ebml = at(0, 0x1a, 0x45, 0xdf, 0xa3);
const ogg = ascii(0, 'OggS');
const riff = (form: string) => all(ascii(0, 'RIFF'), ascii(8, form));
const mp3 = any(ascii(0, 'ID3'), (b) => b[0] === 0xff && ((b[1] ?? 0) & 0xe0) === 0xe0);
const mpegPs = any(at(0, 0, 0, 1, 0xba), at(0, 0, 0, 1, 0xb3), (b) => b[0] === 0x47); // PS, ES, TS

/** Signatures by declared type. Types not listed get only the active-content check below. */
const SIGNATURES: Record<string, Test> = {
  'video/mp4': ftyp,
  'video/x-m4v': ftyp,
  'video/quicktime': any(ftyp, ascii(4, 'moov'), ascii(4, 'mdat'), ascii(4, 'wide'), ascii(4, 'free')),
  'video/3gpp': ftyp,
  'audio/mp4': ftyp,
  'audio/x-m4a': ftyp,
  'image/avif': ftyp,
  'image/heic': ftyp,
  'video/webm': ebml,
  'audio/webm': ebml,
  'video/x-matroska': ebml,
  'video/ogg': ogg,
  'audio/ogg': ogg,
  'audio/opus': ogg,
  'video/x-msvideo': riff('AVI '),
  'audio/wav': riff('WAVE'),
  'audio/x-wav': riff('WAVE'),
  'audio/wave': riff('WAVE'),
  'image/webp': riff('WEBP'),
  'video/mpeg': mpegPs,
  'video/mp2t': (b) => b[0] === 0x47,
  'audio/mpeg': mp3,
  'audio/flac': ascii(0, 'fLaC'),
  'audio/x-flac': ascii(0, 'fLaC'),
  'audio/aac': any(ascii(0, 'ID3'), (b) => b[0] === 0xff && ((b[1] ?? 0) & 0xf6) === 0xf0),
  'image/png': at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
  'image/jpeg': at(0, 0xff, 0xd8, 0xff),
  'image/gif': any(ascii(0, 'GIF87a'), ascii(0, 'GIF89a')),
  'image/bmp': ascii(0, 'BM'),
  'image/tiff': any(at(0, 0x49, 0x49, 0x2a, 0), at(0, 0x4d, 0x4d, 0, 0x2a)),
  'image/x-icon': at(0, 0, 0, 1, 0),
  'image/vnd.microsoft.icon': at(0, 0, 0, 1, 0),
  'application/pdf': ascii(0, '%PDF-'),
  'application/zip': at(0, 0x50, 0x4b),
};

/** Content that a browser or OS would run: markup, scripts, executables. */
const ACTIVE: Test = any(
  at(0, 0x7f, 0x45, 0x4c, 0x46), // ELF
  ascii(0, 'MZ'), // PE/EXE
  at(0, 0xcf, 0xfa, 0xed, 0xfe), // Mach-O
  ascii(0, '#!'),
  (b) => {
    const text = new TextDecoder('utf-8', { fatal: false })
      .decode(b)
      .replace(/^\uFEFF/, '')
      .trimStart()
      .toLowerCase();
    return /^<(!doctype|html|head|body|script|svg|\?xml|iframe|object|embed)/.test(text);
  },
);

/** Whether the head of an object may be of the declared type. */
export function bytesMatchType(head: Uint8Array, contentType: string): boolean {
  const type = essence(contentType);
  const signature = SIGNATURES[type];
  if (signature) return signature(head);
  return !ACTIVE(head);
}
