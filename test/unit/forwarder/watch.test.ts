/**
 * ListWatch's state machine through its transport seam (a scripted RawApi). The same paths run against
 * the embedded cluster in test/integration/forwarder/forwarder.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { KINDS } from '../../../forwarder/kinds.ts';
import type { RawApi, WatchLine } from '../../../kube/http.ts';
import { Metrics } from '../../../forwarder/metrics.ts';
import type { ListWatchHandlers } from '../../../forwarder/watch.ts';
import { ListWatch } from '../../../forwarder/watch.ts';

type WatchScript = (query: Record<string, unknown>, onLine: (l: WatchLine) => unknown, signal: AbortSignal) => Promise<void>;

/** Resolves when `signal` aborts, rejecting like a destroyed request. */
const hangUntilAborted = (signal: AbortSignal) =>
  new Promise<void>((_, reject) => {
    if (signal.aborted) return reject(new Error('aborted'));
    signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
  });

function scripted(lists: any[][], watches: WatchScript[]) {
  const calls: string[] = [];
  let l = 0;
  let w = 0;
  const http: RawApi = {
    async request<T>(_m: string, _p: string, opts?: { query?: Record<string, unknown> }): Promise<T> {
      const items = lists[Math.min(l++, lists.length - 1)];
      calls.push(`list ${opts?.query?.continue ?? ''}`.trim());
      return { metadata: { resourceVersion: String(100 + l) }, items } as T;
    },
    async watch(_p, query, onLine, signal) {
      calls.push(`watch rv=${query?.resourceVersion}`);
      const script = watches[Math.min(w++, watches.length - 1)];
      return script(query ?? {}, onLine, signal);
    },
  };
  return { http, calls };
}

function recorder() {
  const seen: string[] = [];
  const handlers: ListWatchHandlers = {
    listStart: (r) => void seen.push(`listStart ${r}`),
    listItem: (o) => void seen.push(`item ${o.metadata.name}`),
    listEnd: (r) => void seen.push(`listEnd ${r}`),
    event: (t, o) => void seen.push(`${t} ${o.metadata.name}`),
  };
  return { seen, handlers };
}

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};
const obj = (name: string, rv: string) => ({ metadata: { name, namespace: 'n', resourceVersion: rv } });

describe('ListWatch', () => {
  it('lists, watches from the list resourceVersion, follows bookmarks, and relists after a 410 ERROR line', async () => {
    // Prepare
    const { http, calls } = scripted(
      [[obj('a', '1')], [obj('a', '1'), obj('b', '5')]],
      [
        async (_q, onLine) => {
          await onLine({ type: 'ADDED', object: obj('c', '102') });
          await onLine({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '150' } } });
        },
        async (_q, onLine) => {
          await onLine({ type: 'ERROR', object: { kind: 'Status', code: 410, reason: 'Expired' } });
        },
        (_q, _o, signal) => hangUntilAborted(signal),
      ],
    );
    const { seen, handlers } = recorder();
    const metrics = new Metrics();
    const lw = new ListWatch({ spec: KINDS.ConfigMap, http, handlers, metrics, random: () => 0 }).start();
    // Act
    await until(() => calls.length >= 5);
    await lw.stop();
    // Assess
    expect(calls).toEqual(['list', 'watch rv=101', 'watch rv=150', 'list', 'watch rv=102']);
    expect(seen).toEqual(['listStart startup', 'item a', 'listEnd startup', 'ADDED c', 'listStart expired', 'item a', 'item b', 'listEnd expired']);
    expect(metrics.get('watch_restarts_total', { kind: 'ConfigMap', reason: 'expired' })).toBe(1);
    expect(metrics.get('relists_total', { kind: 'ConfigMap', reason: 'expired' })).toBe(1);
  });

  it('stop() right after the initial list ends the watch that has not started yet', async () => {
    const { http } = scripted([[obj('a', '1')]], [(_q, _o, signal) => hangUntilAborted(signal)]);
    const ref: { lw?: ListWatch } = {};
    const handlers: ListWatchHandlers = { listStart() {}, listItem() {}, listEnd: () => void ref.lw!.stop(), event() {} };
    ref.lw = new ListWatch({ spec: KINDS.ConfigMap, http, handlers }).start();
    await expect(ref.lw.stop()).resolves.toBeUndefined();
  });

  it('retries a failing watch with backoff (through the sleep seam) and resumes from the same resourceVersion', async () => {
    const sleeps: number[] = [];
    const fail = async () => {
      throw Object.assign(new Error('boom'), { code: 500 });
    };
    const { http, calls } = scripted([[obj('a', '1')]], [fail, fail, fail, (_q, _o, signal) => hangUntilAborted(signal)]);
    const lw = new ListWatch({ spec: KINDS.ConfigMap, http, handlers: recorder().handlers, random: () => 1, backoffBaseMs: 100, backoffCapMs: 250, sleep: async (ms) => void sleeps.push(ms) }).start();
    await until(() => calls.length >= 5);
    await lw.stop();
    expect(sleeps).toEqual([200, 250, 250]);
    expect(calls).toEqual(['list', 'watch rv=101', 'watch rv=101', 'watch rv=101', 'watch rv=101']);
  });

  it('a list page that never answers (a stalled connection) is abandoned after the watchdog time and retried', async () => {
    // Prepare: the first list request hangs until its signal aborts — a connection stalled mid-list. Regression:
    // the list had no deadline (only the watch had a watchdog), so the kind stopped for good, silently.
    let lists = 0;
    const calls: string[] = [];
    const http: RawApi = {
      async request<T>(_m: string, _p: string, opts?: { signal?: AbortSignal }): Promise<T> {
        calls.push('list');
        if (++lists === 1) await hangUntilAborted(opts!.signal!);
        return { metadata: { resourceVersion: '7' }, items: [obj('a', '7')] } as T;
      },
      async watch(_p, query, _onLine, signal) {
        calls.push(`watch rv=${query?.resourceVersion}`);
        return hangUntilAborted(signal);
      },
    };
    const { seen, handlers } = recorder();
    const metrics = new Metrics();
    const lw = new ListWatch({ spec: KINDS.ConfigMap, http, handlers, metrics, watchdogMs: 40, backoffBaseMs: 1, backoffCapMs: 1 }).start();
    // Act
    await until(() => calls.length >= 3);
    await lw.stop();
    // Assess
    expect(calls).toEqual(['list', 'list', 'watch rv=7']);
    expect(seen).toEqual(['listStart startup', 'listStart startup', 'item a', 'listEnd startup']);
    expect(metrics.get('watch_restarts_total', { kind: 'ConfigMap', reason: 'watchdog' })).toBe(1);
  });

  it('the watchdog restarts a watch that delivers nothing, not one waiting on a slow consumer', async () => {
    // Prepare: the first watch goes silent; the second delivers an event whose handler is slow.
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    const { http, calls } = scripted(
      [[]],
      [
        (_q, _o, signal) => hangUntilAborted(signal),
        async (_q, onLine, signal) => {
          await onLine({ type: 'ADDED', object: obj('x', '200') });
          await hangUntilAborted(signal);
        },
      ],
    );
    const metrics = new Metrics();
    const handlers: ListWatchHandlers = { listStart() {}, listItem() {}, listEnd() {}, event: () => slow };
    const lw = new ListWatch({ spec: KINDS.ConfigMap, http, handlers, metrics, watchdogMs: 40 }).start();
    // Act + Assess: one watchdog restart for the silent watch …
    await until(() => calls.length >= 3); // list, silent watch, resumed watch
    expect(metrics.get('watch_restarts_total', { kind: 'ConfigMap', reason: 'watchdog' })).toBe(1);
    // … none while the consumer holds the event for 5× the watchdog time.
    await new Promise((r) => setTimeout(r, 200));
    expect(metrics.get('watch_restarts_total', { kind: 'ConfigMap', reason: 'watchdog' })).toBe(1);
    release();
    await lw.stop();
  });
});
