/**
 * A loopback HTTP proxy in front of the dev stack that injects the faults a flaky link or a busy
 * storage produces: connections cut mid-body, 503 and 429 answers (with Retry-After), stalls, and
 * a byte flipped on the way. It logs every exchange, so tests count PUTs per part.
 *
 * Start it first and give its URL to the stack as `publicUrl`: then the API and the disk store's
 * part URLs both point at it. In front of RGW (`setTarget(7480)`), give its URL to the S3 store as
 * its endpoint instead: the Host header passes through, so the presigned URLs still verify.
 *
 * @example
 * const proxy = await startFaultProxy();
 * const stack = await startEmbedded({ dataDir, port: 0, publicUrl: proxy.url });
 * proxy.setTarget(stackPort);
 * proxy.rule((req) => (req.partNumber === 2 && req.attempt === 1 ? { kind: 'cut', afterBytes: 5 * MiB } : undefined));
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Fault =
  /** Forward, then cut both connections once this many body bytes went through. */
  | { kind: 'cut'; afterBytes: number }
  /** Answer this status without forwarding (the body is read off first, as a real server would). */
  | { kind: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Stop reading the body for `ms` once `afterBytes` went through, then carry on. */
  | { kind: 'stall'; afterBytes: number; ms: number }
  /** Forward with the byte at offset `at` of the body changed. */
  | { kind: 'flip'; at: number };

export interface ProxiedRequest {
  method: string;
  path: string;
  /** For a disk-store part PUT: its part number, decoded from the token. */
  partNumber: number | undefined;
  /** …and the storage's id of its multipart upload. */
  multipartId: string | undefined;
  /** 1 for the first request for this part (or this method and path), 2 for its first retry, … */
  attempt: number;
}

export interface Exchange extends ProxiedRequest {
  /** The status the client got, or 'cut' when the proxy hung up. */
  status: number | 'cut' | 'pending';
  fault: Fault['kind'] | undefined;
  /** Request body bytes that went through. */
  bytes: number;
  startedAt: number;
  endedAt: number | undefined;
}

export interface FaultProxy {
  url: string;
  setTarget(port: number): void;
  /** Decides a fault per request; `undefined` forwards it untouched. Replaces the previous rule. */
  rule(decide: ((request: ProxiedRequest) => Fault | undefined) | undefined): void;
  readonly log: Exchange[];
  /** Part PUTs in the log, optionally only those that got `status`. */
  partPuts(status?: number): Exchange[];
  /**
   * Waits (up to `timeoutMs`) until no stalled exchange is pending: a paused request hears of the
   * client hanging up only when its stall ends, which may be after the upload is done.
   */
  settled(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * Which part a part URL is for, if it is one: the disk store's (`…/_disk/{base64url JSON}.{mac}`)
 * or S3's (`…/key?partNumber=N&uploadId=…`, when the proxy stands in front of RGW).
 */
export function partOf(path: string): { multipartId: string; partNumber: number } | undefined {
  const query = new URLSearchParams(path.split('?')[1] ?? '');
  const [s3Part, s3Upload] = [Number(query.get('partNumber')), query.get('uploadId')];
  if (s3Part > 0 && s3Upload) return { multipartId: s3Upload, partNumber: s3Part };
  const token = /\/_disk\/([A-Za-z0-9_-]+)\./.exec(path)?.[1];
  if (!token) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as {
      op?: string;
      partNumber?: number;
      multipartId?: string;
    };
    return claims.op === 'part' && claims.partNumber && claims.multipartId
      ? { multipartId: claims.multipartId, partNumber: claims.partNumber }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function startFaultProxy(): Promise<FaultProxy> {
  let target = 0;
  let decide: ((request: ProxiedRequest) => Fault | undefined) | undefined;
  const log: Exchange[] = [];
  const attempts = new Map<string, number>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const part = method === 'PUT' ? partOf(path) : undefined;
    const key = part ? `part ${part.multipartId} ${part.partNumber}` : `${method} ${path.replace(/\/_disk\/.*/, '/_disk')}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const info: ProxiedRequest = { method, path, partNumber: part?.partNumber, multipartId: part?.multipartId, attempt };
    const fault = decide?.(info);
    const entry: Exchange = { ...info, status: 'pending', fault: fault?.kind, bytes: 0, startedAt: performance.now(), endedAt: undefined };
    log.push(entry);
    const finish = (status: Exchange['status']) => {
      if (entry.endedAt !== undefined) return;
      entry.status = status;
      entry.endedAt = performance.now();
    };

    if (fault?.kind === 'status') {
      req.on('data', (chunk: Buffer) => (entry.bytes += chunk.length));
      req.on('end', () => {
        // A store answers its errors with the CORS headers of a matching rule too; without them a
        // cross-origin page (S3) would see a network error instead of the status.
        const cors = req.headers.origin ? { 'access-control-allow-origin': req.headers.origin } : {};
        res.writeHead(fault.status, { 'content-type': 'text/plain', ...cors, ...fault.headers }).end(fault.body ?? '');
        finish(fault.status);
      });
      return;
    }

    const upstream = httpRequest({ host: '127.0.0.1', port: target, method, path, headers: req.headers });
    upstream.on('response', (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
      answer.on('end', () => finish(answer.statusCode ?? 502));
    });
    const hangUp = () => {
      finish('cut');
      upstream.destroy();
      req.socket.destroy();
    };
    upstream.on('error', hangUp);
    req.on('close', () => {
      if (!req.complete) hangUp();
    });
    // A paused request (a stall) hears of the client hanging up only through its response, which
    // watches the socket (a listener on the kept-alive socket itself would pile up per request).
    res.on('close', () => {
      if (!res.writableFinished) hangUp();
    });

    // Reading is paused for two reasons at once (a stall, or upstream backpressure): resume only
    // when neither holds.
    let stalled = false;
    let draining = false;
    const maybeResume = () => !stalled && !draining && req.resume();
    req.on('data', (data: Buffer) => {
      let chunk = data;
      const from = entry.bytes;
      if (fault?.kind === 'cut' && from + chunk.length >= fault.afterBytes) {
        upstream.write(chunk.subarray(0, Math.max(0, fault.afterBytes - from)));
        entry.bytes = fault.afterBytes;
        hangUp();
        return;
      }
      if (fault?.kind === 'flip' && fault.at >= from && fault.at < from + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[fault.at - from] = (chunk[fault.at - from] ?? 0) ^ 0xff;
      }
      entry.bytes += chunk.length;
      if (!upstream.write(chunk)) {
        draining = true;
        req.pause();
        upstream.once('drain', () => {
          draining = false;
          maybeResume();
        });
      }
      if (fault?.kind === 'stall' && from < fault.afterBytes && entry.bytes >= fault.afterBytes) {
        stalled = true;
        req.pause();
        setTimeout(() => {
          stalled = false;
          maybeResume();
        }, fault.ms);
      }
    });
    req.on('end', () => upstream.end());
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    setTarget(port) {
      target = port;
    },
    rule(next) {
      decide = next;
    },
    log,
    partPuts(status) {
      return log.filter((e) => e.partNumber !== undefined && (status === undefined || e.status === status));
    },
    async settled(timeoutMs = 10_000) {
      for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
        if (!log.some((e) => e.fault === 'stall' && e.status === 'pending')) return;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
