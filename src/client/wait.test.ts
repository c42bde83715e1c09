import { describe, expect, it } from 'vitest';
import { childSignal, isOffline, sleep, untilAborted, waitForOnline } from './wait.js';

/** A browser-like global: `navigator.onLine` and `online` events. */
function fakeBrowser(onLine: boolean) {
  const events = new EventTarget();
  return {
    navigator: { onLine },
    addEventListener: (type: 'online', listener: () => void) => events.addEventListener(type, listener),
    removeEventListener: (type: 'online', listener: () => void) => events.removeEventListener(type, listener),
    goOnline() {
      this.navigator.onLine = true;
      events.dispatchEvent(new Event('online'));
    },
  };
}

describe('waiting', () => {
  it('waits offline until the browser fires online; Node is never offline', async () => {
    expect(isOffline()).toBe(false);
    const browser = fakeBrowser(false);
    expect(isOffline(browser)).toBe(true);
    let done = false;
    const waiting = waitForOnline(undefined, browser).then(() => (done = true));
    await sleep(20);
    expect(done).toBe(false);
    browser.goOnline();
    await waiting;
    expect(done).toBe(true);
  });

  it('an abort ends a wait for the network, a sleep, and a child signal, with UPLOAD_ABORTED', async () => {
    const controller = new AbortController();
    const offline = waitForOnline(controller.signal, fakeBrowser(false));
    const sleeping = sleep(60_000, controller.signal);
    const child = childSignal(controller.signal);
    controller.abort();
    await expect(offline).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    await expect(sleeping).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    expect(child.signal.aborted).toBe(true);
  });

  it('a child signal can be aborted alone, leaving its parent running', () => {
    const parent = new AbortController();
    const child = childSignal(parent.signal);
    child.abort();
    expect(child.signal.aborted).toBe(true);
    expect(parent.signal.aborted).toBe(false);
    child.dispose();
  });

  it('untilAborted rejects at once and hands the late result to abandon', async () => {
    const controller = new AbortController();
    let resolveLate!: (value: string) => void;
    const late = new Promise<string>((resolve) => (resolveLate = resolve));
    const abandoned: string[] = [];
    const racing = untilAborted(late, controller.signal, () => void late.then((v) => abandoned.push(v)));
    controller.abort();
    await expect(racing).rejects.toMatchObject({ code: 'UPLOAD_ABORTED' });
    resolveLate('upload-1');
    await sleep(0);
    expect(abandoned).toEqual(['upload-1']);
  });
});
