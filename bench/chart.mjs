/**
 * `node bench/chart.mjs`: bench/results/chart.svg from the saved results of the last
 * `npm run bench -- presign|endpoint|datapath|memory|load`: horizontal bars on a log scale, medians with
 * min–max whiskers. No dependencies: the SVG is written by hand.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { DATAPATH_LABELS } from './datapath-labels.mjs';

const dir = new URL('./results/', import.meta.url);
const load = (name) =>
  existsSync(new URL(`${name}.json`, dir)) ? JSON.parse(readFileSync(new URL(`${name}.json`, dir), 'utf8')) : undefined;
const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;');
const num = (n) => (n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1));

const panels = [];
const presign = load('presign');
if (presign) {
  panels.push({
    title: `presign: URLs/s on one core (median of ${presign.flags.runs}, min–max)`,
    unit: 'URLs/s',
    rows: Object.entries(presign.results).map(([name, s]) => ({ name, ...s, ours: name === 'dropgate' })),
  });
}
const endpoint = load('endpoint');
if (endpoint) {
  panels.push({
    title: `endpoint: POST /api/upload req/s, ${endpoint.flags.connections} connections (median of ${endpoint.flags.runs} × ${endpoint.flags.duration} s)`,
    unit: 'req/s',
    rows: Object.entries(endpoint.results).map(([name, r]) => ({
      name,
      ...r.rps,
      ours: name !== 'bare' && name !== 'seed-next',
      note: `p50 ${r.p50.median} ms, p99 ${r.p99.median} ms`,
    })),
  });
}
const datapath = load('datapath');
if (datapath) {
  for (const [target, byWho] of Object.entries(datapath.results)) {
    const store = target === 'rgw' ? 'RGW (S3)' : 'the disk store';
    panels.push({
      title: `datapath: ${(datapath.flags.size / 2 ** 30).toFixed(0)} GiB into ${store}, MB/s (median of ${datapath.flags.runs})`,
      unit: 'MB/s',
      rows: Object.entries(byWho).map(([who, r]) => ({ name: DATAPATH_LABELS[who] ?? who, ...r.mbps, ours: who !== 'curl' })),
    });
  }
}
const loadResults = load('load');
if (loadResults) {
  const label = { pg: 'gateway (PostgreSQL)', pglite: 'gateway (PGlite)', proxy: 'streaming proxy' };
  const rows = (key) =>
    Object.entries(loadResults.results).map(([name, r]) => ({ name: label[name] ?? name, ...r[key], ours: name !== 'proxy' }));
  const { clients, total, runs } = loadResults.flags;
  panels.push({
    title: `load: server CPU-ms per GiB, ${clients} uploaders × ${total / clients / 2 ** 20} MiB to RGW (median of ${runs})`,
    unit: 'CPU-ms/GiB',
    rows: rows('cpuMsPerGiB'),
  });
  panels.push({ title: 'load: server peak RSS (VmHWM), same runs', unit: 'MB', rows: rows('peakMB') });
}
const memory = load('memory');
if (memory) {
  const g = memory.results.growthMB;
  panels.push({
    title: `memory: client RSS growth, ${memory.flags.size / 1e9} GB upload (median of ${memory.flags.runs}); bar 100 MB`,
    unit: 'MB',
    rows: [
      { name: 'dropgate/client', ...g, ours: true },
      { name: 'bar', median: 100, min: 100, max: 100 },
    ],
  });
}

const W = 900;
const LEFT = 190;
const RIGHT = 200;
const ROW = 26;
let y = 20;
const parts = [];
for (const panel of panels) {
  parts.push(`<text x="10" y="${y + 14}" font-weight="bold">${esc(panel.title)}</text>`);
  y += 26;
  const top = Math.max(...panel.rows.map((r) => r.max));
  const bottom = Math.min(...panel.rows.map((r) => r.min)) / 2;
  const lo = Math.log10(Math.max(bottom, 1e-3));
  const hi = Math.log10(top) + 0.05;
  const x = (v) => LEFT + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * (W - LEFT - RIGHT);
  for (const r of panel.rows) {
    const fill = r.ours ? '#2b6cb0' : '#a0aec0';
    parts.push(`<text x="${LEFT - 8}" y="${y + 15}" text-anchor="end">${esc(r.name)}</text>`);
    parts.push(`<rect x="${LEFT}" y="${y + 3}" width="${(x(r.median) - LEFT).toFixed(1)}" height="${ROW - 8}" fill="${fill}"/>`);
    parts.push(`<line x1="${x(r.min).toFixed(1)}" x2="${x(r.max).toFixed(1)}" y1="${y + 12}" y2="${y + 12}" stroke="#1a202c"/>`);
    parts.push(
      `<text x="${(x(r.max) + 6).toFixed(1)}" y="${y + 15}">${esc(`${num(r.median)} ${panel.unit}${r.note ? ` (${r.note})` : ''}`)}</text>`,
    );
    y += ROW;
  }
  parts.push(`<text x="${LEFT}" y="${y + 12}" fill="#718096" font-size="11">log scale</text>`);
  y += 30;
}
const m = (presign ?? endpoint ?? memory)?.machine;
if (m) {
  parts.push(
    `<text x="10" y="${y + 6}" fill="#718096" font-size="11">${esc(`${m.cpu}, ${m.cores} cores, Node ${m.node}, commit ${m.commit}`)}</text>`,
  );
  y += 20;
}
const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif" font-size="13" role="img" aria-label="dropgate benchmark results">\n<title>dropgate benchmark results</title>\n<rect width="100%" height="100%" fill="white"/>\n${parts.join('\n')}\n</svg>\n`;
writeFileSync(new URL('chart.svg', dir), svg);
console.log(`wrote bench/results/chart.svg (${panels.length} panels)`);
