/**
 * The worker hasher copies `createMd5`'s source text into a Blob-URL worker, so it must survive
 * what bundlers do to the client: esbuild minified, with `keepNames` (which wraps functions in a
 * `__name` helper defined outside them), and for old targets. Each bundle's worker script is run
 * in a bare V8 context, as a worker would run it, and must hash like node:crypto.
 */
import { createHash, randomBytes } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { type BuildOptions, build } from 'esbuild';
import { describe, expect, it, vi } from 'vitest';

const variants: { name: string; options: BuildOptions }[] = [
  { name: 'minified (the demo bundle)', options: { minify: true, target: 'es2022' } },
  { name: 'minified with keepNames', options: { minify: true, keepNames: true, target: 'es2022' } },
  { name: 'for es2017 browsers', options: { target: 'es2017' } },
  { name: 'unminified, keepNames', options: { keepNames: true, target: 'es2020' } },
];

describe.each(variants)('the worker script of an esbuild bundle, $name', ({ options }) => {
  it('runs on its own and hashes like node:crypto', async () => {
    const result = await build({
      entryPoints: ['src/client/md5-worker.ts'],
      bundle: true,
      format: 'iife',
      globalName: 'bundle',
      platform: 'browser',
      write: false,
      logLevel: 'error',
      ...options,
    });
    const scope: { bundle?: { md5WorkerSource(): string } } = {};
    runInNewContext(result.outputFiles?.[0]?.text ?? '', Object.assign(scope, { btoa }));
    const source = scope.bundle?.md5WorkerSource() ?? '';

    // Four parts handed over at once, as the pool hands them: with the SIMD kernel they share its
    // lanes; in a context without WebAssembly (as under a CSP that forbids it) the JS MD5 takes
    // them in turn.
    const parts = [5 * 1024 * 1024 + 11, 3 * 1024 * 1024, 100, 1024 * 1024 + 64].map((size) => randomBytes(size));
    for (const withKernel of [true, false]) {
      const worker: { onmessage?: (event: { data: unknown }) => void } = {};
      const replies: { id: number }[] = [];
      const globals = { atob, btoa, postMessage: (reply: { id: number }) => replies.push(reply) };
      runInNewContext(source, Object.assign(worker, globals, withKernel ? {} : { WebAssembly: undefined }));
      for (const [i, bytes] of parts.entries()) worker.onmessage?.({ data: { id: i + 1, part: new Blob([bytes]) } });
      await vi.waitFor(() => expect(replies).toHaveLength(parts.length), { timeout: 10_000 });
      const byId = [...replies].sort((a, b) => a.id - b.id);
      expect(byId).toEqual(
        parts.map((bytes, i) => ({ id: i + 1, md5: createHash('md5').update(bytes).digest('base64'), lanes: withKernel })),
      );
    }
  });
});
