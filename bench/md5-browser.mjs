/**
 * md5-browser: the browser client's part MD5 in headless Chromium (Debian's, as the tests drive
 * it). `createWorkerHasher()` from `dist/` (bundled with esbuild) hashes --size bytes made in the
 * page (default 256 MiB) as parts of --part bytes (default 16 MiB), handed over
 * as the uploader hands them (`hasher.lanes` parts at once), in:
 *   lanes  a page whose CSP allows WebAssembly ('wasm-unsafe-eval'): one worker, the SIMD MD5 on
 *          four parts at once
 *   js     the same page with a CSP without it: the pool's JS MD5 workers (cores − 1, at most 4)
 * Each run is a fresh page, interleaved; the clock starts after a first small part has started the
 * worker. The two contenders' digests must agree.
 */
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { fmt, save, summary } from './stats.mjs';

const CSP = {
  lanes: "default-src 'none'; script-src 'unsafe-inline' 'wasm-unsafe-eval'; worker-src blob:",
  js: "default-src 'none'; script-src 'unsafe-inline'; worker-src blob:",
};
const ORIGIN = 'http://md5-bench.invalid/';

/** Runs in the page: makes the data, starts the worker, then times hashing every part. */
async function hashInPage({ size, part }) {
  // The same bytes in every page, so the contenders' digests can be compared (MD5's speed does not
  // depend on the bytes).
  const chunks = [];
  for (let at = 0, i = 0; at < size; at += 65536, i++) chunks.push(new Uint8Array(Math.min(65536, size - at)).fill(i % 251));
  const file = new Blob(chunks);
  const hasher = window.bench.createWorkerHasher();
  await hasher(file.slice(0, 1024));
  const count = Math.ceil(size / part);
  const started = performance.now();
  const digests = [];
  for (let i = 0; i < count; i += hasher.lanes) {
    const batch = Array.from({ length: Math.min(hasher.lanes, count - i) }, (_, j) =>
      hasher(file.slice((i + j) * part, (i + j + 1) * part)),
    );
    digests.push(...(await Promise.all(batch)));
  }
  const ms = performance.now() - started;
  hasher.terminate();
  return { ms, lanes: hasher.lanes, digests };
}

export async function run(flags) {
  const entry = new URL('../dist/client/md5-worker.js', import.meta.url).pathname;
  const bundle = await build({ entryPoints: [entry], bundle: true, format: 'iife', globalName: 'bench', write: false, minify: true });
  const script = bundle.outputFiles[0].text;
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const results = { lanes: [], js: [] };
  let lanesPerCall = {};
  try {
    console.log(`md5-browser: ${flags.runs} runs; ${flags.size} bytes as parts of ${flags.part} in Chromium ${browser.version()}`);
    for (let r = 0; r < flags.runs; r++) {
      const line = [];
      const digests = {};
      for (const name of Object.keys(CSP)) {
        const page = await browser.newPage();
        await page.route(ORIGIN, (route) =>
          route.fulfill({
            status: 200,
            headers: { 'content-type': 'text/html', 'content-security-policy': CSP[name] },
            body: `<script>${script}</script>`,
          }),
        );
        await page.goto(ORIGIN);
        const out = await page.evaluate(hashInPage, { size: flags.size, part: flags.part });
        await page.close();
        results[name].push(out.ms);
        digests[name] = out.digests.join();
        lanesPerCall = { ...lanesPerCall, [name]: out.lanes };
        line.push(`${name} ${fmt(out.ms)} ms (${fmt(flags.size / out.ms / 1000)} MB/s, ${out.lanes} parts at once)`);
      }
      if (digests.lanes !== digests.js) throw new Error('the SIMD and JS MD5 digests disagree');
      console.log(`run ${r + 1}: ${line.join('   ')}`);
    }
  } finally {
    await browser.close();
  }
  const summarized = Object.fromEntries(Object.entries(results).map(([name, ms]) => [name, { ms: summary(ms) }]));
  const mbps = (name) => flags.size / summarized[name].ms.median / 1000;
  for (const name of Object.keys(CSP)) {
    const s = summarized[name].ms;
    console.log(`${name.padEnd(6)} median ${fmt(s.median)} ms (min ${fmt(s.min)}, max ${fmt(s.max)}), ${fmt(mbps(name))} MB/s`);
  }
  const ratios = { 'md5-browser-lanes-vs-js': summarized.js.ms.median / summarized.lanes.ms.median };
  save('md5-browser', { flags, lanesPerCall, results: summarized, ratios });
  for (const [name, value] of Object.entries(ratios)) console.log(`RATIO ${name} ${value.toFixed(3)}`);
  console.log(`VALUE md5-browser-lanes ${mbps('lanes').toFixed(0)} MB/s`);
  console.log(`VALUE md5-browser-js ${mbps('js').toFixed(0)} MB/s`);
}
