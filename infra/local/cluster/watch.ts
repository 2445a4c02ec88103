/**
 * Watch streams: chunked JSON lines (`{"type":"ADDED","object":{...}}\n`), each event written and flushed as
 * it happens. Resumes from a resourceVersion out of the store's history (410 Expired as an ERROR event when
 * it is older than the retained history), sends the initial state for rv "" / "0", periodic BOOKMARKs when
 * `allowWatchBookmarks=true`, ends after `timeoutSeconds`, filters by label and field selectors (an object
 * leaving the selector is a DELETED, entering it an ADDED, as the real server does).
 */
import type { ServerResponse } from 'node:http';
import { matchFields, matchLabels, type FieldRequirement, type LabelRequirement } from './selectors.ts';
import type { Change, Store } from './store.ts';

export interface WatchSpec {
  key: string;
  namespace?: string;
  kind: string;
  apiVersion: string;
  labels: LabelRequirement[];
  fields: FieldRequirement[];
  /** resourceVersion query parameter ('' when absent) */
  resourceVersion: string;
  allowBookmarks: boolean;
  /**
   * true: the current state as ADDED events whatever resourceVersion says, then the `k8s.io/initial-events-end`
   * bookmark (a watch-list request); false: no initial events, even for resourceVersion "" / "0"; absent: the legacy
   * rule (initial events for "" / "0", a replay after any other resourceVersion)
   */
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  /** converts a stored object for the requested version or form (events.k8s.io, Table); identity when absent */
  encode?: (obj: any) => any;
  /** response Content-Type (default application/json) */
  contentType?: string;
}

interface Watcher {
  spec: WatchSpec;
  res: ServerResponse;
  filtered: boolean;
  timer?: NodeJS.Timeout;
  closed: boolean;
}

/** A watcher that does not read and has this much unsent data is closed (as the real watch cache drops slow watchers). */
const MAX_BUFFERED = 32 * 1024 * 1024;

export class WatchHub {
  private readonly store: Store;
  /** watchers by storage key, then by namespace ('*' = all namespaces) */
  private readonly byKey = new Map<string, Map<string, Set<Watcher>>>();
  private readonly bookmarkTimer: NodeJS.Timeout | null;
  private readonly unsubscribe: () => void;
  private count = 0;

  constructor(store: Store, opts: { bookmarkIntervalMs?: number } = {}) {
    this.store = store;
    this.unsubscribe = store.subscribe((c) => this.dispatch(c));
    const every = opts.bookmarkIntervalMs ?? 5000;
    this.bookmarkTimer = every > 0 ? setInterval(() => this.bookmarks(), every) : null;
    this.bookmarkTimer?.unref();
  }

  get watchers(): number {
    return this.count;
  }

  /** Serves one watch request on `res` (headers not yet sent). */
  serve(res: ServerResponse, spec: WatchSpec): void {
    const w: Watcher = { spec, res, filtered: spec.labels.length > 0 || spec.fields.length > 0 || !!spec.encode, closed: false };
    let replay: Change[] | 'expired' | null = null;
    const rv = spec.resourceVersion;
    if (rv !== '' && rv !== '0' && spec.sendInitialEvents !== true) {
      const n = Number(rv);
      if (!/^\d+$/.test(rv)) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `invalid resource version: ${rv}`, reason: 'BadRequest', code: 400 }));
        return;
      }
      replay = this.store.changesSince(n, spec.key, spec.namespace);
    }
    res.writeHead(200, { 'Content-Type': spec.contentType ?? 'application/json', 'Cache-Control': 'no-cache, private', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    res.socket?.setNoDelay(true);
    if (replay === 'expired') {
      const status = {
        kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: `too old resource version: ${rv} (${this.store.compactedRevision})`, reason: 'Expired', code: 410,
      };
      res.end(`${JSON.stringify({ type: 'ERROR', object: status })}\n`);
      return;
    }
    let out = '';
    if (replay === null && spec.sendInitialEvents !== false) {
      for (const e of this.store.list(spec.key, spec.namespace)) {
        if (this.matches(spec, e.obj)) out += this.line(w, 'ADDED', e.obj, e.json);
      }
      if (spec.sendInitialEvents && spec.allowBookmarks) {
        out += this.bookmarkLine(spec, { 'k8s.io/initial-events-end': 'true' });
      }
    } else if (replay !== null) {
      for (const c of replay) out += this.eventFor(w, c, null) ?? '';
    }
    if (out) res.write(out);
    let byNs = this.byKey.get(spec.key);
    if (!byNs) this.byKey.set(spec.key, (byNs = new Map()));
    const nsKey = spec.namespace ?? '*';
    let set = byNs.get(nsKey);
    if (!set) byNs.set(nsKey, (set = new Set()));
    set.add(w);
    this.count++;
    const close = () => this.close(w);
    res.on('close', close);
    res.on('error', close);
    if (spec.timeoutSeconds !== undefined && spec.timeoutSeconds >= 0) {
      w.timer = setTimeout(() => {
        this.close(w);
        res.end();
      }, spec.timeoutSeconds * 1000);
      w.timer.unref();
    }
  }

  private close(w: Watcher): void {
    if (w.closed) return;
    w.closed = true;
    if (w.timer) clearTimeout(w.timer);
    const byNs = this.byKey.get(w.spec.key);
    const nsKey = w.spec.namespace ?? '*';
    const set = byNs?.get(nsKey);
    if (set?.delete(w)) {
      this.count--;
      if (set.size === 0) byNs!.delete(nsKey);
    }
  }

  /** Ends every watch (server shutdown). */
  stop(): void {
    this.unsubscribe();
    if (this.bookmarkTimer) clearInterval(this.bookmarkTimer);
    for (const byNs of this.byKey.values()) {
      for (const set of byNs.values()) {
        for (const w of [...set]) {
          this.close(w);
          w.res.end();
        }
      }
    }
  }

  private matches(spec: WatchSpec, obj: any): boolean {
    if (spec.labels.length && !matchLabels(spec.labels, obj?.metadata?.labels)) return false;
    if (spec.fields.length && !matchFields(spec.fields, obj)) return false;
    return true;
  }

  private line(w: Watcher, type: string, obj: any, json: string): string {
    if (w.spec.encode) return `${JSON.stringify({ type, object: w.spec.encode(obj) })}\n`;
    return `{"type":"${type}","object":${json}}\n`;
  }

  /** The line(s) a change produces for one watcher, or null. `shared` caches the unfiltered line. */
  private eventFor(w: Watcher, c: Change, shared: { line?: string } | null): string | null {
    const spec = w.spec;
    if (spec.namespace !== undefined && c.namespace !== spec.namespace) return null;
    if (!w.filtered) {
      if (shared) return (shared.line ??= `{"type":"${c.type}","object":${c.json}}\n`);
      return `{"type":"${c.type}","object":${c.json}}\n`;
    }
    const nowMatches = c.type !== 'DELETED' && this.matches(spec, c.object);
    const oldMatches = c.old !== undefined && this.matches(spec, c.old);
    if (c.type === 'ADDED') return nowMatches ? this.line(w, 'ADDED', c.object, c.json) : null;
    if (c.type === 'DELETED') return oldMatches ? this.line(w, 'DELETED', c.object, c.json) : null;
    if (nowMatches && oldMatches) return this.line(w, 'MODIFIED', c.object, c.json);
    if (nowMatches) return this.line(w, 'ADDED', c.object, c.json);
    if (oldMatches) return this.line(w, 'DELETED', c.object, c.json);
    return null;
  }

  private dispatch(c: Change): void {
    const byNs = this.byKey.get(c.key);
    if (!byNs) return;
    const shared: { line?: string } = {};
    for (const set of [byNs.get(c.namespace), byNs.get('*')]) {
      if (!set) continue;
      for (const w of set) {
        if (w.closed) continue;
        const line = this.eventFor(w, c, shared);
        if (!line) continue;
        w.res.write(line);
        if (w.res.writableLength > MAX_BUFFERED) {
          this.close(w);
          w.res.destroy();
        }
      }
    }
  }

  private bookmarkLine(spec: WatchSpec, annotations?: Record<string, string>): string {
    const metadata: Record<string, unknown> = { resourceVersion: String(this.store.resourceVersion), creationTimestamp: null };
    if (annotations) metadata.annotations = annotations;
    return `${JSON.stringify({ type: 'BOOKMARK', object: { kind: spec.kind, apiVersion: spec.apiVersion, metadata } })}\n`;
  }

  /** Sends a BOOKMARK to every watcher that asked for them. */
  bookmarks(): void {
    for (const byNs of this.byKey.values()) {
      for (const set of byNs.values()) {
        for (const w of set) if (!w.closed && w.spec.allowBookmarks) w.res.write(this.bookmarkLine(w.spec));
      }
    }
  }
}
