/** Defaults, as a fresh `create-next-app` has them, with this folder as the app's root (the repository's lockfile is not its). */
const root = new URL('.', import.meta.url).pathname;
export default { outputFileTracingRoot: root, turbopack: { root } };
