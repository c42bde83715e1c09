import { describe, expect, it } from 'vitest';
import { periodKeyOf, periodOf } from './config.js';

describe('allowance periods', () => {
  it('names the UTC day and month of each moment, also when moments cross midnight back and forth', () => {
    const moments = [
      ['2026-11-24T23:59:59.999Z', '2026-11-24', '2026-11'],
      ['2026-11-25T00:00:00.000Z', '2026-11-25', '2026-11'],
      ['2026-11-24T12:00:00.000Z', '2026-11-24', '2026-11'],
      ['2026-11-30T23:59:59.999Z', '2026-11-30', '2026-11'],
      ['2026-12-01T00:00:00.000Z', '2026-12-01', '2026-12'],
      ['2025-12-31T23:00:00.000+01:00', '2025-12-31', '2025-12'],
    ] as const;
    for (const [at, day, month] of moments) {
      const now = new Date(at);
      expect(periodKeyOf('day', now), at).toBe(day);
      expect(periodKeyOf('month', now), at).toBe(month);
      expect(periodKeyOf('total', now)).toBe('total');
    }
  });

  it('says when a period resets', () => {
    const now = new Date('2026-11-30T18:00:00Z');
    expect(periodOf('day', now)).toEqual({ key: '2026-11-30', resetsAt: new Date('2026-12-01T00:00:00Z') });
    expect(periodOf('month', now)).toEqual({ key: '2026-11', resetsAt: new Date('2026-12-01T00:00:00Z') });
    expect(periodOf('total', now)).toEqual({ key: 'total', resetsAt: null });
  });
});
