/** A process's CPU time and peak RSS from /proc (Linux), read from outside the process. */
import { execSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export const TICK_MS = 1000 / Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim());

/** User + system CPU milliseconds the process has used so far (its own threads, not its children). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may hold spaces: count fields after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS; // utime, stime: fields 14 and 15 of stat(5)
}

/** Peak and current resident set size in MB (VmHWM, VmRSS). */
export function memoryMB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? Number.NaN);
  return { peak: (kb('VmHWM') * 1024) / 1e6, rss: (kb('VmRSS') * 1024) / 1e6 };
}
