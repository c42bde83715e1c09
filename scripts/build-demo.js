#!/usr/bin/env node
/**
 * Bundles the demo page's app (`demo/app.tsx`: React, `dropgate/react` and `dropgate/client` from
 * `src/`) into `dist/demo/app.js`, which the dev server serves at `/app.js`. Run by `npm run build`
 * after tsc.
 *
 * `demo/index.html` and `style.css` are served as they are; the app is bundled from the sources, so
 * the page exercises exactly the code a user of `dropgate/react` and `dropgate/client` runs.
 *
 * @example
 * node scripts/build-demo.js            // one build
 * import { buildDemo } from './scripts/build-demo.js'; await buildDemo();
 */
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const DEMO_ENTRY = join(root, 'demo/app.tsx');
export const DEMO_BUNDLE = join(root, 'dist/demo/app.js');

/** Builds the bundle; throws with a readable message when the entry is missing or does not compile. */
export async function buildDemo({ entry = DEMO_ENTRY, outfile = DEMO_BUNDLE } = {}) {
  if (!existsSync(entry)) {
    throw new Error(`build-demo: the demo app ${relative(root, entry)} does not exist, so the demo page has nothing to run.`);
  }
  // esbuild is a devDependency: imported lazily so `import { DEMO_BUNDLE }` works without it.
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    // The client is isomorphic; a Node built-in reaching the browser bundle is a layering bug
    // (STYLE.md: browser code imports only `shared`), and platform 'browser' makes it fail here.
    platform: 'browser',
    jsx: 'automatic',
    // React's production build: no development checks in the page users try first.
    define: { 'process.env.NODE_ENV': '"production"' },
    // The page is a plain ES module; browsers that run module scripts with top-level await.
    target: ['es2022'],
    minify: true,
    sourcemap: true,
    logLevel: 'silent',
    metafile: true,
    legalComments: 'none',
  });
  const bytes = Object.values(result.metafile.outputs).find((o) => o.entryPoint)?.bytes ?? 0;
  return { outfile, bytes, warnings: result.warnings };
}

async function main() {
  try {
    const { outfile, bytes, warnings } = await buildDemo();
    for (const w of warnings) console.warn(`build-demo: warning: ${w.text}`);
    console.log(`build-demo: ${relative(root, outfile)} (${(bytes / 1024).toFixed(1)} KiB)`);
  } catch (error) {
    // esbuild's errors carry locations; print them instead of a bare stack.
    const details = error?.errors?.map((e) => `  ${e.location ? `${e.location.file}:${e.location.line}: ` : ''}${e.text}`);
    console.error(details?.length ? `build-demo: bundling the demo app failed:\n${details.join('\n')}` : String(error?.message ?? error));
    process.exitCode = 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();
