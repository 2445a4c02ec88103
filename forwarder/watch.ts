/**
 * Our own list+watch loop per kind (no EventBridge here, no informer cache).
 *
 * Why not client-node's makeInformer: it stops for good after any non-410 error, and its reconnect delay only
 * resets on an event, so on a quiet resource each reconnect waits longer (up to 30 s) — a change made in that
 * gap arrives late. Here:
 * - list (paginated) → watch from the list's resourceVersion with bookmarks; a clean server-side close resumes
 *   at once from the last resourceVersion seen;
 * - 410 Gone (on the watch or as an ERROR line) → relist, handed to the consumer to diff against what it knew;
 * - any other error → retry with exponential backoff and full jitter, reset once a watch connects;
 * - a watchdog aborts a watch that has delivered neither events nor bookmarks for `watchdogMs` (time spent
 *   waiting for the consumer — backpressure — does not count) and resumes it;
 * - a list page that has not answered within `watchdogMs` (a connection stalled mid-list) is abandoned and the
 *   list retried, so a stall during a relist cannot stop the kind for good either.
 */
import type { KindSpec } from './kinds.ts';
import { describePath, ExpiredError, translateKubeError } from '../kube/errors.ts';
import { KubeHttpError, type RawApi, type WatchLine } from '../kube/http.ts';
import type { Log } from './log.ts';
import { errorFields, silentLog } from './log.ts';
import { Metrics } from './metrics.ts';
import { backoffMs } from './send.ts';

export type ListReason = 'startup' | 'expired';

export interface ListWatchHandlers {
  listStart(reason: ListReason): void | Promise<void>;
  listItem(obj: any): void | Promise<void>;
  listEnd(reason: ListReason): void | Promise<void>;
  event(type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: any): void | Promise<void>;
}

export interface ListWatchOptions {
  spec: KindSpec;
  http: RawApi;
  handlers: ListWatchHandlers;
  labelSelector?: string;
  /** Replaces spec.fieldSelector when set. */
  fieldSelector?: string;
  pageSize?: number;
  watchdogMs?: number;
  /** Server-side watch timeout; a random value in [min, 2·min) per watch, as client-go does. */
  watchTimeoutSeconds?: number;
  backoffBaseMs?: number;
  backoffCapMs?: number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
  now?: () => number;
  metrics?: Metrics;
  log?: Log;
}

type WatchOutcome = 'closed' | 'expired' | 'watchdog' | 'stopped';

/** A list page abandoned by the watchdog. */
class ListPageTimeout extends Error {
  constructor(path: string, ms: number) {
    super(`list ${path}: no answer within ${ms} ms (stalled connection); retrying`);
    this.name = 'ListPageTimeout';
  }
}

export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class ListWatch {
  readonly spec: KindSpec;
  private readonly o: Required<Omit<ListWatchOptions, 'labelSelector' | 'fieldSelector'>> & Pick<ListWatchOptions, 'labelSelector' | 'fieldSelector'>;
  private readonly stopCtl = new AbortController();
  private current: AbortController | null = null;
  private loop: Promise<void> | null = null;
  private rv: string | undefined;
  private busy = false;
  /** Last time a line (event or bookmark) arrived or a list finished (ms since epoch). */
  lastActivity = 0;
  /** True once the first list is done and a watch is running or being resumed. */
  synced = false;

  constructor(opts: ListWatchOptions) {
    this.spec = opts.spec;
    this.o = {
      pageSize: 500,
      watchdogMs: 90_000,
      watchTimeoutSeconds: 300,
      backoffBaseMs: 500,
      backoffCapMs: 30_000,
      sleep: abortableSleep,
      random: Math.random,
      now: Date.now,
      metrics: new Metrics(),
      log: silentLog,
      ...opts,
    };
    this.lastActivity = this.o.now();
  }

  /** The resourceVersion the next watch resumes from. */
  resourceVersion(): string | undefined {
    return this.rv;
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  async stop(): Promise<void> {
    this.stopCtl.abort();
    this.current?.abort();
    await this.loop;
  }

  /** Abort the running watch as if the connection dropped (operators' "kick"; tests). It resumes by itself. */
  kick(): void {
    this.current?.abort(new Error('kicked'));
  }

  private get fieldSelector(): string | undefined {
    return this.o.fieldSelector ?? this.spec.fieldSelector;
  }

  private async run(): Promise<void> {
    const kind = this.spec.kind;
    let needList: ListReason | null = 'startup';
    let failures = 0;
    while (!this.stopCtl.signal.aborted) {
      try {
        if (needList) {
          await this.list(needList);
          needList = null;
          this.synced = true;
        }
        const started = this.o.now();
        const { outcome, lines } = await this.watchOnce();
        if (outcome === 'stopped') break;
        this.o.metrics.inc('watch_restarts_total', { kind, reason: outcome });
        if (outcome === 'expired') needList = 'expired';
        if (outcome === 'watchdog') this.o.log('warn', 'watch silent too long; restarted', { kind, watchdogMs: this.o.watchdogMs, resourceVersion: this.rv });
        if (outcome === 'closed' && lines === 0 && this.o.now() - started < 1000) {
          // Closed at once without a line: do not spin; back off as for an error.
          failures++;
          await this.o.sleep(backoffMs(failures, this.o.backoffBaseMs, this.o.backoffCapMs, this.o.random), this.stopCtl.signal);
        } else {
          failures = 0;
        }
      } catch (err) {
        if (this.stopCtl.signal.aborted) break;
        if (err instanceof ExpiredError) {
          needList = 'expired';
          this.o.metrics.inc('watch_restarts_total', { kind, reason: 'expired' });
          continue;
        }
        failures++;
        this.o.metrics.inc('watch_restarts_total', { kind, reason: err instanceof ListPageTimeout ? 'watchdog' : 'error' });
        const delay = backoffMs(failures, this.o.backoffBaseMs, this.o.backoffCapMs, this.o.random);
        this.o.log('warn', needList ? 'list failed; retrying' : 'watch failed; retrying', { kind, attempt: failures, delayMs: delay, ...errorFields(err) });
        await this.o.sleep(delay, this.stopCtl.signal);
      }
    }
  }

  private query(): Record<string, string | undefined> {
    return { labelSelector: this.o.labelSelector, fieldSelector: this.fieldSelector };
  }

  private async list(reason: ListReason): Promise<void> {
    const { metrics, handlers } = { metrics: this.o.metrics, handlers: this.o.handlers };
    await handlers.listStart(reason);
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.listPage(cont);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion;
      // Each listed object is let go once handled: nothing of a page is still referenced when the next one (or
      // listEnd) runs, so the forwarder never holds more than one page's objects beyond its own state.
      const items: any[] = page.items ?? [];
      page.items = null;
      for (let i = 0; i < items.length; i++) {
        const item = items[i];
        items[i] = undefined;
        metrics.inc('events_seen_total', { kind: this.spec.kind });
        await handlers.listItem(item);
      }
    } while (cont);
    await handlers.listEnd(reason);
    this.rv = rv;
    this.lastActivity = this.o.now();
    metrics.inc('relists_total', { kind: this.spec.kind, reason });
  }

  /** One list page, abandoned (ListPageTimeout) if it has not fully answered within watchdogMs. */
  private async listPage(cont: string | undefined): Promise<any> {
    const ctl = new AbortController();
    const onStop = () => ctl.abort();
    this.stopCtl.signal.addEventListener('abort', onStop, { once: true });
    if (this.stopCtl.signal.aborted) ctl.abort();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctl.abort(new Error('list page timeout'));
    }, this.o.watchdogMs);
    try {
      return await this.o.http.request('GET', this.spec.path, { query: { ...this.query(), limit: this.o.pageSize, continue: cont }, signal: ctl.signal });
    } catch (err) {
      if (timedOut && !this.stopCtl.signal.aborted) throw new ListPageTimeout(this.spec.path, this.o.watchdogMs);
      throw err;
    } finally {
      clearTimeout(timer);
      this.stopCtl.signal.removeEventListener('abort', onStop);
    }
  }

  private async watchOnce(): Promise<{ outcome: WatchOutcome; lines: number }> {
    const ctl = new AbortController();
    this.current = ctl;
    const onStop = () => ctl.abort();
    this.stopCtl.signal.addEventListener('abort', onStop, { once: true });
    if (this.stopCtl.signal.aborted) ctl.abort(); // stopped between the list and this watch
    let watchdogFired = false;
    let expired = false;
    this.lastActivity = this.o.now();
    const tick = Math.max(10, Math.min(1000, Math.floor(this.o.watchdogMs / 4)));
    const dog = setInterval(() => {
      if (!this.busy && this.o.now() - this.lastActivity > this.o.watchdogMs) {
        watchdogFired = true;
        ctl.abort(new Error('watchdog'));
      }
    }, tick);
    dog.unref();
    let lines = 0;
    const onLine = async (line: WatchLine) => {
      lines++;
      this.lastActivity = this.o.now();
      if (line.type === 'BOOKMARK') {
        this.rv = line.object?.metadata?.resourceVersion ?? this.rv;
        return;
      }
      if (line.type === 'ERROR') {
        const code = line.object?.code;
        if (code === 410) {
          expired = true;
          ctl.abort(new Error('expired'));
          return;
        }
        throw translateKubeError(new KubeHttpError(typeof code === 'number' ? code : 500, JSON.stringify(line.object ?? {})), { ...describePath('GET', this.spec.path), verb: 'watch' });
      }
      if (line.type !== 'ADDED' && line.type !== 'MODIFIED' && line.type !== 'DELETED') return;
      this.o.metrics.inc('events_seen_total', { kind: this.spec.kind });
      this.busy = true;
      try {
        await this.o.handlers.event(line.type, line.object);
      } finally {
        this.busy = false;
        this.lastActivity = this.o.now();
      }
      this.rv = line.object?.metadata?.resourceVersion ?? this.rv;
    };
    const timeoutSeconds = Math.floor(this.o.watchTimeoutSeconds * (1 + this.o.random()));
    try {
      await this.o.http.watch(this.spec.path, { ...this.query(), resourceVersion: this.rv, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) }, onLine, ctl.signal);
      return { outcome: expired ? 'expired' : 'closed', lines };
    } catch (err) {
      if (this.stopCtl.signal.aborted) return { outcome: 'stopped', lines };
      if (expired) return { outcome: 'expired', lines };
      if (watchdogFired) return { outcome: 'watchdog', lines };
      if (ctl.signal.aborted) return { outcome: 'closed', lines };
      throw err;
    } finally {
      clearInterval(dog);
      this.stopCtl.signal.removeEventListener('abort', onStop);
      if (this.current === ctl) this.current = null;
    }
  }
}
