/**
 * `dropgate serve`'s structured logs: one JSON object per line, each stamped with the time and,
 * for an entry made while serving a request, that request's id, so the gateway's own entries line
 * up with the request line. Presigned URLs, disk tokens, API keys and JWTs are bearer secrets and
 * never reach a line.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../server/config.js';

/** What is known about a request being served, for every log entry made while serving it. */
export interface RequestScope {
  requestId: string;
  userId?: string;
}

// Keyed by the runtime's request object (an IncomingMessage), which the gateway hands the logger
// with each entry, and `authenticate` as `raw`. Not AsyncLocalStorage: on Node 20 that hooks every
// promise the process makes; without it a sign request costs `serve` 14% less CPU (BENCHMARKS.md,
// endpoint).
const scopes = new WeakMap<object, RequestScope>();

/** Ties `scope` to the request object `raw` for as long as that object lives. */
export function setRequestScope(raw: object, scope: RequestScope): void {
  scopes.set(raw, scope);
}

/** The scope set for a request (a gateway request, or what `authenticate` sees), if any. */
export function requestScopeOf(request: { raw: unknown } | undefined): RequestScope | undefined {
  const raw = request?.raw;
  return typeof raw === 'object' && raw !== null ? scopes.get(raw) : undefined;
}

// An id a client or proxy sent us: kept when it is short and plain, so logs stay greppable and
// one line per request stays one line.
const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The incoming `x-request-id` when sane, else a fresh UUID.
 * @example requestIdOf(req.headers['x-request-id']) // 'a1b2…' or a new UUID
 */
export function requestIdOf(incoming: string | string[] | undefined): string {
  return typeof incoming === 'string' && SANE_ID.test(incoming) ? incoming : randomUUID();
}

// Last line of defence: whatever a message or an error string carries, these shapes are cut.
const SECRETS: [RegExp, string][] = [
  [/\/_disk\/[^\s"?]+/g, '/_disk/…'],
  [/([?&](?:X-Amz-Signature|X-Amz-Credential|X-Amz-Security-Token|Signature|sig|token)=)[^&\s"]+/gi, '$1…'],
  [/(Bearer\s+)[^\s"]+/gi, '$1…'],
  [/eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g, '…jwt…'],
];

/** A log line with every secret shape cut out. */
export function redactSecrets(line: string): string {
  let out = line;
  for (const [pattern, replacement] of SECRETS) out = out.replace(pattern, replacement);
  return out;
}

/**
 * A logger writing one redacted JSON line per entry.
 * @example const log = createJsonLogger((line) => process.stdout.write(line)); log({ level: 'info', msg: 'listening', port });
 */
export function createJsonLogger(write: (line: string) => void, secrets: readonly string[] = []): Logger {
  // Configured secrets (API keys) are cut by value too, whatever shape they have: one pass over
  // the line for all of them (a `serve` with many API keys logs a line per request), longest
  // first so that a secret holding another is cut whole.
  const literal = secrets
    .filter((s) => s.length >= 8)
    .sort((a, b) => b.length - a.length)
    .map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const cut = literal.length > 0 ? new RegExp(literal.join('|'), 'g') : undefined;
  return (entry, request) => {
    const current = requestScopeOf(request);
    // Key order is reading order: when, how bad, what, which request, then the details.
    const { level, msg, ...details } = entry;
    const stamped = { time: new Date().toISOString(), level, msg, ...(current ? { requestId: current.requestId } : {}), ...details };
    let line = redactSecrets(JSON.stringify(stamped));
    if (cut) line = line.replace(cut, '…');
    write(`${line}\n`);
  };
}
