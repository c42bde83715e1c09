import { describe, expect, it } from 'vitest';
import { createQueue } from './queue.js';

const tick = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('createQueue', () => {
  it('never runs more than the limit at once, first come first served', async () => {
    const queue = createQueue(2);
    const order: number[] = [];
    const releases: (() => void)[] = [];
    for (const n of [1, 2, 3, 4]) {
      void queue.acquire().then((release) => {
        order.push(n);
        releases.push(release);
      });
    }
    await tick();
    expect(order).toEqual([1, 2]);
    expect(queue.active).toBe(2);
    releases[0]?.();
    releases[0]?.(); // releasing twice frees one slot, not two
    await tick();
    expect(order).toEqual([1, 2, 3]);
    expect(queue.active).toBe(2);
  });

  it('a waiter whose signal fires leaves the line with UPLOAD_ABORTED', async () => {
    const queue = createQueue(1);
    const first = await queue.acquire();
    const controller = new AbortController();
    const waiting = queue.acquire(controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    const next = queue.acquire();
    first();
    await expect(next).resolves.toBeTypeOf('function');
  });

  it('a 429 holds every new start for the time asked and halves the limit; successes give slots back', async () => {
    let now = 0;
    const queue = createQueue(4, () => now);
    queue.rateLimited(50);
    expect(queue.limit).toBe(2);
    let started = 0;
    for (let i = 0; i < 3; i++) void queue.acquire().then(() => (started += 1));
    await tick();
    expect(started).toBe(0);
    now = 50;
    await new Promise((resolve) => setTimeout(resolve, 70));
    expect(started).toBe(2);
    queue.succeeded();
    await tick();
    expect(queue.limit).toBe(3);
    expect(started).toBe(3);
    for (let i = 0; i < 5; i++) queue.succeeded();
    expect(queue.limit).toBe(4);
  });

  it('refuses a limit below 1', () => {
    expect(() => createQueue(0)).toThrow(/at least 1/);
  });
});
