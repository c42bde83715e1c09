/**
 * What the browser sent to the storage, seen from Playwright: every PUT with the part number it
 * carried (read from the `POST {base}/{id}/parts` answers that signed its URL), the page load it
 * belongs to, how it ended, and the most PUTs in flight at once. Works the same for the disk
 * store's `/_disk/{token}` URLs and S3's.
 *
 * @example
 * const puts = trackPartPuts(page);
 * await page.locator('#picker').setInputFiles(path);
 * … await puts.settled(); expect(puts.maxInFlight()).toBeGreaterThan(1);
 */
import type { Page, Request } from 'playwright-core';

export interface PartPut {
  url: string;
  /** The part the URL was signed for; undefined for a PUT no parts answer signed (a single PUT). */
  partNumber: number | undefined;
  /** 1 for the first page load, 2 after the first reload, … */
  load: number;
  /** `done` once the storage answered 200; `failed` when cut (a reload) or refused. */
  outcome: 'pending' | 'done' | 'failed';
  /** Why it failed: the status, or the browser's network error. */
  failure?: string;
}

export interface PartPuts {
  all(): PartPut[];
  /** PUTs in flight right now. */
  inFlight(): number;
  maxInFlight(): number;
  /** Sign calls (`POST {base}`) per page load. */
  signs(load: number): number;
  /** Waits until every `parts` answer and PUT outcome has been read. */
  settled(): Promise<void>;
}

export function trackPartPuts(page: Page, base = '/api/upload'): PartPuts {
  const partOf = new Map<string, number>();
  const reads: Promise<void>[] = [];
  const puts = new Map<Request, Omit<PartPut, 'partNumber'>>();
  const signs = new Map<number, number>();
  let load = 0;
  let inFlight = 0;
  let maxInFlight = 0;

  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) load += 1;
  });
  page.on('request', (request) => {
    const { pathname } = new URL(request.url());
    if (request.method() === 'POST' && pathname === base) signs.set(load, (signs.get(load) ?? 0) + 1);
    if (request.method() !== 'PUT') return;
    puts.set(request, { url: request.url(), load, outcome: 'pending' });
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
  });
  const ended = new Set<Request>();
  /** Counted out of flight at once (so `maxInFlight` never overstates), its outcome set when known. */
  const end = (request: Request, failure: Promise<string | undefined>) => {
    const put = puts.get(request);
    if (!put || ended.has(request)) return;
    ended.add(request);
    inFlight -= 1;
    reads.push(
      failure.then((why) => {
        put.outcome = why === undefined ? 'done' : 'failed';
        if (why !== undefined) put.failure = why;
      }),
    );
  };
  page.on('requestfinished', (request) => {
    if (request.method() !== 'PUT') return;
    end(
      request,
      request.response().then((response) => (response?.status() === 200 ? undefined : `status ${response?.status()}`)),
    );
  });
  page.on('requestfailed', (request) => end(request, Promise.resolve(request.failure()?.errorText ?? 'failed')));
  page.on('response', (response) => {
    const request = response.request();
    if (request.method() !== 'POST' || !/\/parts$/.test(new URL(response.url()).pathname)) return;
    reads.push(
      response
        .json()
        .then((body: { parts?: { partNumber: number; url: string }[] }) => {
          for (const part of body.parts ?? []) partOf.set(new URL(part.url, response.url()).href, part.partNumber);
        })
        .catch(() => {}),
    );
  });

  return {
    all: () => [...puts.values()].map((put) => ({ ...put, partNumber: partOf.get(put.url) })),
    inFlight: () => inFlight,
    maxInFlight: () => maxInFlight,
    signs: (n) => signs.get(n) ?? 0,
    settled: async () => {
      await Promise.all(reads);
    },
  };
}
