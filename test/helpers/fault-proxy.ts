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
  /**
   * The status the client got, or 'cut' when the connection closed before an answer reached it
   * (a cut fault, or the client hanging up).
   */
  status: number | 'cut' | 'pending';
  /**
   * The status the storage answered, also when the client had hung up by then: a body that went
   * through whole is the storage's to keep, as on a real network, so the proxy waits for its
   * answer. Undefined when the storage never answered (a body cut short, a status the proxy made).
   */
  storageStatus: number | undefined;
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
   * Resolves once no exchange is open on either side: every client has its answer or was cut, and
   * the storage has answered every body that reached it whole. From then on the log says what the
   * storage holds. Rejects after `timeoutMs`. A stalled request hears of its client hanging up
   * only when the stall ends, which may be after the upload is done.
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
  // Exchanges open on either side, and who waits for there to be none.
  const open = new Set<Exchange>();
  const waiters = new Set<() => void>();

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const part = method === 'PUT' ? partOf(path) : undefined;
    const key = part ? `part ${part.multipartId} ${part.partNumber}` : `${method} ${path.replace(/\/_disk\/.*/, '/_disk')}`;
    const attempt = (attempts.get(key) ?? 0) + 1;
    attempts.set(key, attempt);
    const info: ProxiedRequest = { method, path, partNumber: part?.partNumber, multipartId: part?.multipartId, attempt };
    const fault = decide?.(info);
    const entry: Exchange = {
      ...info,
      status: 'pending',
      storageStatus: undefined,
      fault: fault?.kind,
      bytes: 0,
      startedAt: performance.now(),
      endedAt: undefined,
    };
    log.push(entry);
    open.add(entry);
    // The client's side, and the storage's unless the proxy answers itself.
    let sides = fault?.kind === 'status' ? 1 : 2;
    const sideClosed = () => {
      sides -= 1;
      if (sides > 0) return;
      open.delete(entry);
      if (open.size === 0) for (const wake of waiters) wake();
    };
    const finish = (status: Exchange['status']) => {
      if (entry.endedAt !== undefined) return;
      entry.status = status;
      entry.endedAt = performance.now();
      sideClosed();
    };
    let storageClosed = false;
    const closeStorage = () => {
      if (storageClosed) return;
      storageClosed = true;
      sideClosed();
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
      req.on('close', () => {
        if (!req.complete) finish('cut');
      });
      return;
    }

    const upstream = httpRequest({ host: '127.0.0.1', port: target, method, path, headers: req.headers });
    let clientGone = false;
    upstream.on('response', (answer) => {
      const status = answer.statusCode ?? 502;
      entry.storageStatus = status;
      answer.on('end', () => finish(status));
      answer.on('close', () => (answer.complete ? closeStorage() : hangUp()));
      if (clientGone) {
        answer.resume();
        return;
      }
      res.writeHead(status, answer.headers);
      answer.pipe(res);
    });
    const hangUp = () => {
      finish('cut');
      closeStorage();
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
      if (res.writableFinished) return;
      // Gone before the storage answered, but after its whole body went through: the storage
      // keeps what it got, and answers into the void. Wait for that answer rather than cut it off.
      if (req.complete && entry.storageStatus === undefined) {
        clientGone = true;
        finish('cut');
      } else {
        hangUp();
      }
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
    settled(timeoutMs = 10_000) {
      if (open.size === 0) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const wake = () => {
          waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(wake);
          const still = [...open].map((e) => `${e.method} ${e.partNumber === undefined ? e.path : `part ${e.partNumber}`} (${e.status})`);
          reject(new Error(`The fault proxy still has ${open.size} exchanges open after ${timeoutMs} ms: ${still.join(', ')}`));
        }, timeoutMs);
        waiters.add(wake);
      });
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
