/**
 * A small tmpfs to fill or freeze, for disk-fault tests. Mounting needs root (CI runs as root);
 * elsewhere `mountTmpfs` answers false and the suite says why it skips.
 */
import { execFileSync } from 'node:child_process';

/** @example mountTmpfs(dir, 'size=2m') */
export function mountTmpfs(dir: string, options: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
