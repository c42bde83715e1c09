/**
 * An HTTP proxy in front of the real RGW that answers chosen control-plane requests with a fault
 * (503 SlowDown, "200 with an Error body") and passes everything else through untouched, Host
 * header included, so signatures still verify. Faults a real store produces only under load.
 *
 * @example
 * const proxy = await startS3FaultProxy(env.S3_ENDPOINT);
 * proxy.inject((req) => req.method === 'HEAD', slowDown, 2); // the next two HEADs get 503 SlowDown
 * const storage = rgwStorage(env, { endpoint: proxy.url });
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface S3Fault {
  /** 0 with `reset`: no answer at all. */
  status: number;
  /** Hang up without answering, as a store that dropped the connection (the client sees a reset). */
  reset?: boolean;
  body?: string;
  headers?: Record<string, string>;
}

export interface S3FaultProxy {
  url: string;
  /** Requests seen, in order: `METHOD path?query`. */
  readonly seen: string[];
  /** The next `times` requests for which `match` holds get `fault` instead of reaching the store. */
  inject(match: (req: IncomingMessage) => boolean, fault: S3Fault, times?: number): void;
  /** Drops the faults not yet used. */
  clear(): void;
  /** Moves the `Date` of every answer passed through by `ms` (a store whose clock is off). */
  shiftDate(ms: number): void;
  close(): Promise<void>;
}

const xmlError = (code: string) => `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>injected</Message></Error>`;

export const slowDown: S3Fault = { status: 503, body: xmlError('SlowDown'), headers: { 'content-type': 'application/xml' } };

/** A connection reset instead of an answer. */
export const connectionReset: S3Fault = { status: 0, reset: true };

/** What S3 may answer to CompleteMultipartUpload: status 200, and an error in the body. */
export const ok200WithError = (code = 'InternalError', trailer = ''): S3Fault => ({
  status: 200,
  body: xmlError(code) + trailer,
  headers: { 'content-type': 'application/xml' },
});

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const rules: { match: (req: IncomingMessage) => boolean; fault: S3Fault; left: number }[] = [];
  const seen: string[] = [];
  let dateShift = 0;
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const rule = rules.find((r) => r.left > 0 && r.match(req));
    if (rule) {
      rule.left -= 1;
      if (rule.fault.reset) {
        req.socket.resetAndDestroy();
        return;
      }
      req.resume();
      res.writeHead(rule.fault.status, rule.fault.headers ?? {}).end(rule.fault.body ?? '');
      return;
    }
    const forward = httpRequest(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        const headers = { ...answer.headers };
        if (dateShift && headers.date) headers.date = new Date(Date.parse(headers.date) + dateShift).toUTCString();
        res.writeHead(answer.statusCode ?? 502, headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => res.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    inject(match, fault, times = 1) {
      rules.push({ match, fault, left: times });
    },
    clear() {
      rules.length = 0;
    },
    shiftDate(ms) {
      dateShift = ms;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
