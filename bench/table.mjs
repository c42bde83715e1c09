/** `node bench/table.mjs`: the Markdown results tables of BENCHMARKS.md, from bench/results/*.json. */
import { existsSync, readFileSync } from 'node:fs';
import { DATAPATH_LABELS } from './datapath-labels.mjs';

const load = (name) => {
  const url = new URL(`./results/${name}.json`, import.meta.url);
  return existsSync(url) ? JSON.parse(readFileSync(url, 'utf8')) : undefined;
};
const n = (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1));

const presign = load('presign');
if (presign) {
  const ours = presign.results.dropgate.median;
  console.log(
    `### presign (${presign.machine.at}, commit ${presign.machine.commit}, ${presign.flags.runs} runs × ${presign.flags.ms} ms each)\n`,
  );
  console.log('| signer | median URLs/s | min | max | dropgate ÷ this |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, s] of Object.entries(presign.results)) {
    console.log(`| ${name} | ${n(s.median)} | ${n(s.min)} | ${n(s.max)} | ${(ours / s.median).toFixed(2)}× |`);
  }
  console.log();
}
for (const name of ['endpoint', 'endpoint-baseline', 'endpoint-1user']) {
  const e = load(name);
  if (!e) continue;
  const bare = e.results.bare?.rps.median;
  const seed = e.results['seed-next']?.rps.median;
  console.log(
    `### ${name} (${e.machine.at}, commit ${e.machine.commit}, ${e.flags.runs} runs × ${e.flags.duration} s, ${e.flags.connections} connections, ${e.flags.users} users)\n`,
  );
  console.log('| configuration | median req/s | min | max | p50 ms (min–max) | p99 ms (min–max) | non-2xx | ÷ bare | ÷ seed-next |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [config, r] of Object.entries(e.results)) {
    const ratio = bare ? `${((100 * r.rps.median) / bare).toFixed(1)}%` : '—';
    const vsSeed = seed ? `${(r.rps.median / seed).toFixed(2)}×` : '—';
    console.log(
      `| ${config} | ${n(r.rps.median)} | ${n(r.rps.min)} | ${n(r.rps.max)} | ${r.p50.median} (${r.p50.min}–${r.p50.max}) | ${r.p99.median} (${r.p99.min}–${r.p99.max}) | ${r.non2xx} | ${ratio} | ${vsSeed} |`,
    );
  }
  console.log();
  const groups = ['server', 'load', 'postgres', 'redis', 'ceph', 'rest'];
  if (Object.values(e.results).every((r) => r.cpuMsPerRequest)) {
    console.log(`| CPU ms per request (median) | ${groups.join(' | ')} | machine busy |`);
    console.log(`|---|${groups.map(() => '---:').join('|')}|---:|`);
    for (const [config, r] of Object.entries(e.results)) {
      const cells = groups.map((g) => r.cpuMsPerRequest[g].median.toFixed(3));
      console.log(`| ${config} | ${cells.join(' | ')} | ${(100 * r.machineBusy.median).toFixed(0)}% |`);
    }
    console.log();
  }
}
const reserve = load('reserve');
if (reserve) {
  console.log(
    `### reserve (${reserve.machine.at}, commit ${reserve.machine.commit}, ${reserve.flags.runs} runs × ${reserve.flags.count} reservations, ${reserve.flags.users} users)\n`,
  );
  console.log('| contender | median reservations/s | min | max | µs each (median) | ÷ ledger |');
  console.log('|---|---:|---:|---:|---:|---:|');
  const base = reserve.results.ledger.perSecond.median;
  for (const [name, r] of Object.entries(reserve.results)) {
    console.log(
      `| ${name} | ${n(r.perSecond.median)} | ${n(r.perSecond.min)} | ${n(r.perSecond.max)} | ${r.usPerReserve.median.toFixed(0)} | ${(r.perSecond.median / base).toFixed(2)}× |`,
    );
  }
  console.log();
}
const datapath = load('datapath');
if (datapath) {
  for (const [target, byWho] of Object.entries(datapath.results)) {
    const curl = byWho.curl?.mbps.median;
    console.log(
      `### datapath, ${target} (${datapath.machine.at}, commit ${datapath.machine.commit}, ${datapath.flags.runs} runs of ${datapath.flags.size} bytes)\n`,
    );
    console.log('| uploader | median MB/s | min | max | ÷ curl | gateway CPU ms (median) | uploader CPU ms (median) | box idle |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const [who, r] of Object.entries(byWho)) {
      const ratio = curl ? `${((100 * r.mbps.median) / curl).toFixed(1)}%` : '—';
      const clientCpu = r.clientCpuMs ? n(r.clientCpuMs.median) : '—';
      const idle = r.boxIdle ? `${(100 * r.boxIdle.median).toFixed(0)}%` : '—';
      console.log(
        `| ${DATAPATH_LABELS[who] ?? who} | ${n(r.mbps.median)} | ${n(r.mbps.min)} | ${n(r.mbps.max)} | ${ratio} | ${n(r.serverCpuMs.median)} | ${clientCpu} | ${idle} |`,
      );
    }
    console.log();
  }
}
const loadResults = load('load');
if (loadResults) {
  const { clients, total, runs } = loadResults.flags;
  const proxy = loadResults.results.proxy;
  console.log(
    `### load (${loadResults.machine.at}, commit ${loadResults.machine.commit}, ${runs} runs; ${clients} uploaders × ${total / clients} bytes at once)\n`,
  );
  console.log('| server | CPU-ms/GiB median | min | max | + PostgreSQL | proxy ÷ this | peak RSS MB (min–max) | RSS before MB | MB/s |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, r] of Object.entries(loadResults.results)) {
    const c = r.cpuMsPerGiB;
    const db = r.dbCpuMsPerGiB ? n(r.dbCpuMsPerGiB.median) : '—';
    console.log(
      `| ${name} | ${n(c.median)} | ${n(c.min)} | ${n(c.max)} | ${db} | ${(proxy.cpuMsPerGiB.median / c.median).toFixed(1)}× | ${n(r.peakMB.median)} (${n(r.peakMB.min)}–${n(r.peakMB.max)}) | ${n(r.beforeMB.median)} | ${n(r.mbps.median)} |`,
    );
  }
  console.log();
}
const memory = load('memory');
if (memory) {
  const r = memory.results;
  console.log(
    `### memory (${memory.machine.at}, commit ${memory.machine.commit}, ${memory.flags.runs} uploads of ${memory.flags.size} bytes)\n`,
  );
  console.log('| measure | median | min | max |');
  console.log('|---|---:|---:|---:|');
  for (const [label, key] of [
    ['client RSS growth, MB', 'growthMB'],
    ['client peak RSS, MB', 'peakMB'],
    ['client RSS before, MB', 'baselineMB'],
    ['throughput, MB/s', 'throughputMBps'],
  ]) {
    console.log(`| ${label} | ${n(r[key].median)} | ${n(r[key].min)} | ${n(r[key].max)} |`);
  }
  console.log();
}
