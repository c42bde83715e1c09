import { DropgateError } from './errors.js';

/** Types refused even when a wildcard would match: browsers may run them as documents. */
const ACTIVE_CONTENT =
  /^(text\/html|application\/xhtml\+xml|image\/svg\+xml|text\/xml|application\/xml|[^/]+\/[^;]*\+xml|text\/javascript|application\/javascript|application\/x-httpd-php)$/;

const EXTENSIONS: Record<string, readonly string[]> = {
  mp4: ['video/mp4'],
  m4v: ['video/mp4', 'video/x-m4v'],
  mov: ['video/quicktime'],
  webm: ['video/webm', 'audio/webm'],
  mkv: ['video/x-matroska'],
  avi: ['video/x-msvideo'],
  ogv: ['video/ogg'],
  mpeg: ['video/mpeg'],
  mpg: ['video/mpeg'],
  jpg: ['image/jpeg'],
  jpeg: ['image/jpeg'],
  png: ['image/png'],
  gif: ['image/gif'],
  webp: ['image/webp'],
  avif: ['image/avif'],
  heic: ['image/heic'],
  bmp: ['image/bmp'],
  tif: ['image/tiff'],
  tiff: ['image/tiff'],
  ico: ['image/x-icon', 'image/vnd.microsoft.icon'],
  mp3: ['audio/mpeg'],
  m4a: ['audio/mp4', 'audio/x-m4a'],
  wav: ['audio/wav', 'audio/x-wav', 'audio/wave'],
  ogg: ['audio/ogg', 'video/ogg'],
  oga: ['audio/ogg'],
  flac: ['audio/flac', 'audio/x-flac'],
  aac: ['audio/aac'],
  opus: ['audio/opus', 'audio/ogg'],
  pdf: ['application/pdf'],
  txt: ['text/plain'],
  csv: ['text/csv'],
  json: ['application/json'],
  zip: ['application/zip'],
  bin: ['application/octet-stream'],
  svg: ['image/svg+xml'],
  html: ['text/html'],
  htm: ['text/html'],
  xml: ['application/xml', 'text/xml'],
};

/** Canonical extension for a type, used for storage keys (`.../uuid.mp4`). */
const PREFERRED_EXTENSION: Record<string, string> = {
  'video/mp4': 'mp4',
  'video/quicktime': 'mov',
  'video/webm': 'webm',
  'audio/webm': 'webm',
  'video/x-matroska': 'mkv',
  'image/jpeg': 'jpg',
  'audio/mpeg': 'mp3',
  'audio/mp4': 'm4a',
  'audio/wav': 'wav',
  'audio/ogg': 'ogg',
  'video/ogg': 'ogv',
};

/** Characters that `essence` keeps as they are: no upper case, no space, no `;`. */
const ESSENCE_ALREADY = /^[a-z0-9!#$&^_.+*/-]*$/;

/** Lower-cased media type without parameters (`Video/MP4; codecs=x` → `video/mp4`). */
export function essence(contentType: string): string {
  // Most types arrive in this form already; a sign request asks for an essence about four times.
  if (ESSENCE_ALREADY.test(contentType)) return contentType;
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function matches(pattern: string, type: string): boolean {
  const p = essence(pattern);
  if (p === '*/*' || p === '*') return true;
  if (p.endsWith('/*')) return type.startsWith(p.slice(0, -1));
  return p === type;
}

/**
 * Whether a declared type is allowed by a route's list (`video/*` style). Active content (HTML,
 * SVG, XML, scripts) passes only when the list names it exactly, never through a wildcard.
 */
export function isTypeAllowed(allowed: readonly string[], contentType: string): boolean {
  const type = essence(contentType);
  if (!/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/.test(type)) return false;
  if (ACTIVE_CONTENT.test(type)) return allowed.some((p) => essence(p) === type);
  return allowed.some((p) => matches(p, type));
}

export function extensionOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : undefined;
}

/** The extension a key gets for a type, or '' when there is no well-known one. */
export function extensionForType(contentType: string): string {
  const type = essence(contentType);
  const preferred = PREFERRED_EXTENSION[type];
  if (preferred) return preferred;
  for (const [ext, types] of Object.entries(EXTENSIONS)) if (types.includes(type)) return ext;
  return '';
}

/**
 * The usual type for a file name's extension, for callers that have no declared type (the CLI).
 * @example typeForName('clips/Intro.MP4') // 'video/mp4'
 */
export function typeForName(name: string): string | undefined {
  const ext = extensionOf(name);
  return ext === undefined ? undefined : EXTENSIONS[ext]?.[0];
}

/** Refuses a file name whose extension says another type than the declared one. */
export function assertNameMatchesType(name: string, contentType: string): void {
  const ext = extensionOf(name);
  if (ext === undefined) return;
  const type = essence(contentType);
  const types = EXTENSIONS[ext];
  if (!types?.includes(type)) {
    throw new DropgateError('FILE_TYPE_NOT_ALLOWED', `The file name ends in .${ext}, which does not match the declared type ${type}.`, {
      contentType: type,
      extension: ext,
    });
  }
}

// C0/C1 controls, DEL, and the bidi controls that make "exe.mp4" read as "4pm.exe".
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are exactly what we refuse
const UNSAFE_NAME = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069/\\]/;

/**
 * Bytes of `text` in UTF-8, as TextEncoder writes it (a lone surrogate becomes U+FFFD, 3 bytes),
 * without encoding it: ~1 µs less per sign request.
 * @example utf8Length('é.mp4') // 6
 */
export function utf8Length(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i += 1;
    } else bytes += 3;
  }
  return bytes;
}

/** File names are display metadata: ≤255 UTF-8 bytes, no controls, no bidi overrides, no slashes. */
export function assertSafeFileName(name: string): void {
  const bytes = utf8Length(name);
  if (bytes === 0 || bytes > 255) {
    throw new DropgateError('INVALID_REQUEST', 'The file name must be 1 to 255 bytes long.', { field: 'name' });
  }
  if (UNSAFE_NAME.test(name) || name === '.' || name === '..') {
    throw new DropgateError('INVALID_REQUEST', 'The file name has control characters, direction overrides or slashes.', {
      field: 'name',
    });
  }
}

/** `Content-Disposition` value for a display name (RFC 6266 with an ASCII fallback). */
export function contentDisposition(name: string, disposition: 'inline' | 'attachment' = 'inline'): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `${disposition}; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}
