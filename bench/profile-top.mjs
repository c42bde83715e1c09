/** `node bench/profile-top.mjs file.cpuprofile [N]`: the N functions with the most self time. */
import { readFileSync } from 'node:fs';

const [file, n = '25'] = process.argv.slice(2);
const prof = JSON.parse(readFileSync(file, 'utf8'));
const self = new Map();
const byId = new Map(prof.nodes.map((node) => [node.id, node]));
const dt = prof.timeDeltas;
const counts = new Map();
for (let i = 0; i < prof.samples.length; i++) counts.set(prof.samples[i], (counts.get(prof.samples[i]) ?? 0) + (dt[i] ?? 0));
let total = 0;
for (const [id, us] of counts) {
  const { functionName, url, lineNumber } = byId.get(id).callFrame;
  const name = `${functionName || '(anonymous)'} ${url.replace(/^.*\/(node_modules\/|dist\/)/, '$1')}:${lineNumber + 1}`;
  self.set(name, (self.get(name) ?? 0) + us);
  total += us;
}
for (const [name, us] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
  console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
}
