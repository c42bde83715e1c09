/**
 * Generators for the fuzz, and its oracle: DESIGN.md's rules restated from scratch, as the
 * conditions a request must meet before the server may sign it. The oracle does not copy the
 * server's code, so a server that drifts from DESIGN fails the property instead of agreeing with it.
 */
import fc from 'fast-check';

export type Headers = Partial<Record<'content-type' | 'origin' | 'sec-fetch-site' | 'x-test-user', string>>;

const OWN_ORIGIN = 'http://localhost:3000';
const KNOWN_FIELDS = new Set(['size', 'contentType', 'name', 'route', 'checksum', 'metadata', 'multipart']);
const HOSTILE_NAMES = [
  '"><img src=x onerror=alert(1)>.png',
  'a.php%00.jpg',
  'a.php\u0000.jpg',
  'a.jpg.php',
  'evil\u202Egnp.exe',
  'a\nb.png',
  '../../etc/passwd',
  'x'.repeat(300),
  'ok.png',
  'clip.mp4',
];
const TYPES = [
  'image/png',
  'image/jpeg',
  'video/mp4',
  'application/pdf',
  'IMAGE/PNG',
  'image/png; charset=utf-8',
  'image/svg+xml',
  'text/html',
  'application/xhtml+xml',
  'image/png\r\nx-evil: 1',
  'application/octet-stream',
  'video/webm',
  'image/',
  'image/*',
  '*/*',
  '',
];

const json = fc.jsonValue({ maxDepth: 3 });

/** Mostly what a genuine same-origin client sends (so requests get through), else anything. */
export function arbitraryHeaders(): fc.Arbitrary<Headers> {
  const genuine = fc
    .tuple(
      fc.constantFrom('application/json', 'application/json; charset=utf-8'),
      fc.constantFrom('alice', 'bob'),
      fc.constantFrom<Headers>(
        {},
        { origin: OWN_ORIGIN },
        { 'sec-fetch-site': 'same-origin' },
        { origin: OWN_ORIGIN, 'sec-fetch-site': 'same-origin' },
      ),
    )
    .map(([type, user, site]): Headers => ({ 'content-type': type, 'x-test-user': user, ...site }));
  const anything = fc.record(
    {
      'content-type': fc.constantFrom(
        'application/json',
        'application/json; charset=utf-8',
        'text/plain',
        'application/x-www-form-urlencoded',
        '',
      ),
      origin: fc.constantFrom(OWN_ORIGIN, 'https://evil.example', 'null', `${OWN_ORIGIN}.evil.example`, ''),
      'sec-fetch-site': fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', 'bogus'),
      'x-test-user': fc.constantFrom('alice', 'bob', 'mallory'),
    },
    { requiredKeys: [] },
  );
  return fc.oneof({ weight: 3, arbitrary: genuine }, { weight: 2, arbitrary: anything });
}

/** A sign body: mostly near-valid objects with fields gone wrong, sometimes broken JSON or junk. */
export function arbitrarySignBody(): fc.Arbitrary<{ body: Record<string, unknown> | undefined; raw: string }> {
  const valid = fc.record({
    size: fc.integer({ min: 1, max: 10_000 }),
    contentType: fc.constantFrom('image/png', 'image/jpeg', 'video/mp4', 'application/pdf', 'IMAGE/PNG', 'image/png; charset=utf-8'),
  });
  // One field at a time goes wrong (or stays right: many of these values are valid too).
  const perturbation = fc.oneof(
    { weight: 6, arbitrary: fc.constant({}) },
    fc.record({ size: fc.oneof(fc.integer({ min: -5, max: 30_000 }), fc.constantFrom(0, 10_000, 10_001, 1.5, 2 ** 53), json) }),
    fc.record({ contentType: fc.oneof(fc.constantFrom(...TYPES), fc.string()) }),
    fc.record({ name: fc.oneof(fc.constantFrom(...HOSTILE_NAMES), fc.string({ unit: 'binary', maxLength: 40 }), json) }),
    fc.record({ route: fc.oneof(fc.constantFrom('default', 'other', '__proto__', '../default'), json) }),
    fc.record({ checksum: fc.oneof(fc.record({ algorithm: fc.constantFrom('md5', 'sha256', 'crc32'), value: fc.string() }), json) }),
    fc.record({
      metadata: fc.oneof(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string(), fc.integer(), fc.constant(null))), json),
    }),
    fc.record({ multipart: fc.oneof(fc.boolean(), json) }),
  );
  const extra = fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom('key', 'path', 'prefix', 'bucket', 'location', 'admin', '__proto__'), json) },
  );
  const body = fc.tuple(valid, perturbation, perturbation, extra).map(([v, p1, p2, e]) => {
    const out: Record<string, unknown> = { ...v, ...p1, ...p2 };
    // defineProperty: a plain assignment to "__proto__" would set the prototype, not send the field.
    if (e) Object.defineProperty(out, e[0], { value: e[1], enumerable: true, configurable: true, writable: true });
    return out;
  });
  return fc.oneof(
    { weight: 8, arbitrary: body.map((b) => ({ body: b, raw: JSON.stringify(b) })) },
    {
      weight: 1,
      arbitrary: fc.tuple(body, fc.nat()).map(([b, n]) => ({ body: undefined, raw: JSON.stringify(b).slice(0, -1 - (n % 5)) })),
    },
    { weight: 1, arbitrary: fc.string().map((raw) => ({ body: undefined, raw })) },
  );
}

/** Bodies for complete: nothing, parts lists right and wrong, any JSON, junk. */
export function completeBodies(): fc.Arbitrary<string> {
  const part = fc.record(
    { partNumber: fc.oneof(fc.integer({ min: -1, max: 10_001 }), json), etag: fc.oneof(fc.string(), json) },
    { requiredKeys: [] },
  );
  return fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom('{}', '') },
    { weight: 2, arbitrary: fc.array(part, { maxLength: 4 }).map((parts) => JSON.stringify({ parts })) },
    { weight: 1, arbitrary: json.map((value) => JSON.stringify(value)) },
    { weight: 1, arbitrary: fc.string() },
  );
}

const essence = (type: string) => (type.split(';')[0] ?? '').trim().toLowerCase();

/** DESIGN 2: refusals a cross-site request must meet; true when none applies. */
export function csrfAllows(h: Headers): boolean {
  const site = h['sec-fetch-site'];
  // A real Origin decides (pages cannot forge it); an opaque one leaves it to Sec-Fetch-Site.
  if (h.origin !== undefined && h.origin !== 'null') return h.origin === OWN_ORIGIN;
  if (site === 'cross-site' || site === 'same-site') return false;
  if (h.origin === 'null' && site === undefined) return false;
  if (h.origin === undefined && site === undefined && essence(h['content-type'] ?? '') !== 'application/json') return false;
  return true;
}

/** DESIGN 3–6 for the fuzz route (image/*, video/mp4, application/pdf; max `maxSize`). */
export function signIsValid(body: Record<string, unknown>, maxSize: number): boolean {
  if (Object.keys(body).some((k) => !KNOWN_FIELDS.has(k))) return false;
  const { size, contentType, name, route, multipart, metadata } = body;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size <= 0 || size > maxSize) return false;
  if (typeof contentType !== 'string') return false;
  const type = essence(contentType);
  if (/html|svg|xml|script/.test(type)) return false;
  if (!(/^image\/[a-z0-9.+-]+$/.test(type) || type === 'video/mp4' || type === 'application/pdf')) return false;
  if (route !== undefined && route !== 'default') return false;
  if (multipart !== undefined && typeof multipart !== 'boolean') return false;
  if (metadata !== undefined && (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata))) return false;
  if (name !== undefined) {
    if (typeof name !== 'string') return false;
    const bytes = new TextEncoder().encode(name).length;
    if (bytes === 0 || bytes > 255) return false;
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what a name may not hold
    if (/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069/\\]/.test(name)) return false;
    if (/\.(html?|svg|xml|php|js|exe)$/i.test(name)) return false;
  }
  return true;
}
