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
    runInNewContext(result.outputFiles?.[0]?.text ?? '', scope);
    const source = scope.bundle?.md5WorkerSource() ?? '';

    const worker: { onmessage?: (event: { data: unknown }) => void } = {};
    const replies: unknown[] = [];
    runInNewContext(source, Object.assign(worker, { btoa, postMessage: (reply: unknown) => replies.push(reply) }));
    const bytes = randomBytes(5 * 1024 * 1024 + 11);
    worker.onmessage?.({ data: { id: 1, part: new Blob([bytes]) } });
    await vi.waitFor(() => expect(replies).toHaveLength(1));
    expect(replies[0]).toEqual({ id: 1, md5: createHash('md5').update(bytes).digest('base64') });
  });
});
