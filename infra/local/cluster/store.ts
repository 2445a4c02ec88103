/**
 * The object store: objects indexed by resource (storage key) -> namespace -> name, one monotonic
 * resourceVersion, a bounded history of changes for watch resumption (older resourceVersions answer
 * 410 Expired, like etcd compaction), and change listeners.
 *
 * Stored objects are never mutated after they are stored: writers build a new object. Each entry keeps its
 * JSON text, so lists and watch fan-out serialize each object once.
 */

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A stored object and its JSON text, serialized on first use (many writes, e.g. controller status updates, are never read). */
export class Entry {
  readonly obj: any;
  private text: string | undefined;
  constructor(obj: any) {
    this.obj = obj;
  }
  get json(): string {
    return (this.text ??= JSON.stringify(this.obj));
  }
  private bytes: Buffer | undefined;
  /** The JSON as UTF-8, encoded on first use and shared: lists concatenate these instead of re-encoding every item. */
  get buffer(): Buffer {
    return (this.bytes ??= Buffer.from(this.json, 'utf8'));
  }
}

export interface Change {
  type: ChangeType;
  rv: number;
  key: string;
  namespace: string;
  name: string;
  object: any;
  /** the object's JSON text (serialized once, on first use, and shared) */
  readonly json: string;
  /** the previous state (MODIFIED, DELETED) */
  old?: any;
}

function change(type: ChangeType, rv: number, key: string, namespace: string, name: string, entry: Entry, old: any): Change {
  return {
    type, rv, key, namespace, name, object: entry.obj, old,
    get json() {
      return entry.json;
    },
  };
}

interface Bucket { byName: Map<string, Entry>; sorted: string[] | null }

export class Store {
  private rv = 0;
  private readonly data = new Map<string, Map<string, Bucket>>();
  /** Per resource, its namespaces in order (for all-namespaces lists); dropped when one is added or emptied. */
  private readonly namespaceOrder = new Map<string, string[]>();
  private history: Change[] = [];
  private head = 0;
  private compacted = 0;
  private readonly listeners = new Set<(c: Change) => void>();
  historyLimit: number;

  constructor(opts: { historyLimit?: number } = {}) {
    this.historyLimit = Math.max(0, opts.historyLimit ?? 10_000);
  }

  get resourceVersion(): number {
    return this.rv;
  }

  /** Oldest resourceVersion a watch can resume from (anything older is 410 Expired). */
  get compactedRevision(): number {
    return this.compacted;
  }

  get(key: string, namespace: string, name: string): Entry | undefined {
    return this.data.get(key)?.get(namespace)?.byName.get(name);
  }

  has(key: string, namespace: string, name: string): boolean {
    return !!this.data.get(key)?.get(namespace)?.byName.has(name);
  }

  /** Objects of one resource, in one namespace ('' for cluster-scoped) or all (undefined), sorted by namespace/name. */
  list(key: string, namespace?: string): Entry[] {
    const byNs = this.data.get(key);
    if (!byNs) return [];
    if (namespace !== undefined) {
      const b = byNs.get(namespace);
      return b ? this.sortedEntries(b) : [];
    }
    let order = this.namespaceOrder.get(key);
    if (!order) this.namespaceOrder.set(key, (order = [...byNs.keys()].sort()));
    const out: Entry[] = [];
    for (const ns of order) for (const e of this.sortedEntries(byNs.get(ns)!)) out.push(e);
    return out;
  }

  /** The first `n` objects of list(key, namespace), without building the whole list. */
  first(key: string, namespace: string | undefined, n: number): Entry[] {
    const byNs = this.data.get(key);
    if (!byNs) return [];
    if (namespace !== undefined) {
      const b = byNs.get(namespace);
      return b ? this.sortedEntries(b).slice(0, n) : [];
    }
    let order = this.namespaceOrder.get(key);
    if (!order) this.namespaceOrder.set(key, (order = [...byNs.keys()].sort()));
    const out: Entry[] = [];
    for (const ns of order) {
      for (const e of this.sortedEntries(byNs.get(ns)!)) {
        if (out.length >= n) return out;
        out.push(e);
      }
    }
    return out;
  }

  count(key: string, namespace?: string): number {
    const byNs = this.data.get(key);
    if (!byNs) return 0;
    if (namespace !== undefined) return byNs.get(namespace)?.byName.size ?? 0;
    let n = 0;
    for (const b of byNs.values()) n += b.byName.size;
    return n;
  }

  /** The storage keys with at least one object in `namespace`. */
  keysIn(namespace: string): string[] {
    const out: string[] = [];
    for (const [key, byNs] of this.data) if (byNs.get(namespace)?.byName.size) out.push(key);
    return out;
  }

  private sortedEntries(b: Bucket): Entry[] {
    if (!b.sorted) b.sorted = [...b.byName.keys()].sort();
    const out: Entry[] = new Array(b.sorted.length);
    for (let i = 0; i < b.sorted.length; i++) out[i] = b.byName.get(b.sorted[i])!;
    return out;
  }

  private bucket(key: string, namespace: string): Bucket {
    let byNs = this.data.get(key);
    if (!byNs) this.data.set(key, (byNs = new Map()));
    let b = byNs.get(namespace);
    if (!b) {
      byNs.set(namespace, (b = { byName: new Map(), sorted: null }));
      this.namespaceOrder.delete(key);
    }
    return b;
  }

  /**
   * Stores `obj` (created or replaced) under the next resourceVersion, which it writes into
   * obj.metadata.resourceVersion. The caller hands over ownership of `obj`.
   */
  put(key: string, obj: any): Entry {
    const namespace: string = obj.metadata.namespace ?? '';
    const name: string = obj.metadata.name;
    const b = this.bucket(key, namespace);
    const old = b.byName.get(name);
    const rv = ++this.rv;
    obj.metadata.resourceVersion = String(rv);
    const entry = new Entry(obj);
    if (!old) b.sorted = null;
    b.byName.set(name, entry);
    this.emit(change(old ? 'MODIFIED' : 'ADDED', rv, key, namespace, name, entry, old?.obj));
    return entry;
  }

  /** Removes an object; the DELETED change carries its last state under a new resourceVersion. */
  remove(key: string, namespace: string, name: string): Entry | undefined {
    const b = this.data.get(key)?.get(namespace);
    const old = b?.byName.get(name);
    if (!b || !old) return undefined;
    b.byName.delete(name);
    b.sorted = null;
    if (b.byName.size === 0) {
      this.data.get(key)!.delete(namespace);
      this.namespaceOrder.delete(key);
    }
    const rv = ++this.rv;
    const last = { ...old.obj, metadata: { ...old.obj.metadata, resourceVersion: String(rv) } };
    const entry = new Entry(last);
    this.emit(change('DELETED', rv, key, namespace, name, entry, old.obj));
    return entry;
  }

  private emit(c: Change): void {
    if (this.historyLimit > 0) {
      this.history.push(c);
      if (this.history.length - this.head > this.historyLimit) {
        this.compacted = this.history[this.head].rv;
        this.history[this.head] = undefined as unknown as Change;
        this.head++;
        if (this.head > 1024 && this.head * 2 > this.history.length) {
          this.history = this.history.slice(this.head);
          this.head = 0;
        }
      }
    } else {
      this.compacted = c.rv;
    }
    for (const l of this.listeners) {
      try {
        l(c);
      } catch (err) {
        console.error('cluster: change listener failed:', err);
      }
    }
  }

  /**
   * The changes after `rv` (for one resource, optionally one namespace), or 'expired' when `rv` is older
   * than the retained history.
   */
  changesSince(rv: number, key: string, namespace?: string): Change[] | 'expired' {
    if (rv < this.compacted) return 'expired';
    let lo = this.head;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.history[mid].rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    const out: Change[] = [];
    for (let i = lo; i < this.history.length; i++) {
      const c = this.history[i];
      if (c.key === key && (namespace === undefined || c.namespace === namespace)) out.push(c);
    }
    return out;
  }

  /** Drops the whole change history: every resourceVersion before now becomes 410 Expired for watches. */
  compact(): void {
    this.history = [];
    this.head = 0;
    this.compacted = this.rv;
  }

  subscribe(fn: (c: Change) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Every stored object (for persistence). */
  *all(): Generator<{ key: string; obj: any }> {
    for (const [key, byNs] of this.data) for (const b of byNs.values()) for (const e of b.byName.values()) yield { key, obj: e.obj };
  }

  /** Loads persisted state: objects keep their resourceVersions; history starts empty at `rv`. */
  load(rv: number, objects: { key: string; obj: any }[]): void {
    for (const { key, obj } of objects) {
      const b = this.bucket(key, obj.metadata.namespace ?? '');
      b.byName.set(obj.metadata.name, new Entry(obj));
      b.sorted = null;
    }
    this.rv = Math.max(this.rv, rv);
    this.compacted = this.rv;
  }
}
