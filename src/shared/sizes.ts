import { DropgateError } from './errors.js';

const UNITS: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
  tb: 1000 ** 4,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

export const KiB = 1024;
export const MiB = 1024 ** 2;
export const GiB = 1024 ** 3;

/**
 * Parses a byte count given as a number or with a unit; KB = 1000, KiB = 1024.
 * @example parseSize('200MiB') // 209715200
 */
export function parseSize(value: number | string): number {
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    throw new DropgateError('INVALID_REQUEST', `Size must be a whole number of bytes, got ${value}.`);
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = UNITS[(match?.[2] || 'b').toLowerCase()];
  if (!match || unit === undefined) {
    throw new DropgateError('INVALID_REQUEST', `Cannot read "${value}" as a size; use bytes or units like 200MiB or 2GB.`);
  }
  return Math.round(Number(match[1]) * unit);
}

/**
 * Human-readable size in binary units, for messages and pages.
 * @example formatBytes(209715200) // '200 MiB'
 */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '? B';
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  // 9.97 GiB reads as "10 GiB", not "10.0 GiB".
  return `${value.toFixed(value < 9.95 ? 1 : 0)} ${units[unit]}`;
}
