/**
 * `--state FILE`: the store persisted as JSON (resourceVersion + every object), written shortly after each
 * change (debounced, atomically via rename) and on stop; loaded at start. The watch history is not persisted:
 * after a restart every older resourceVersion is 410 Expired, as after an etcd compaction.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Store } from './store.ts';

interface StateFile { version: 1; resourceVersion: number; objects: { key: string; obj: any }[] }

export function loadState(store: Store, path: string): boolean {
  if (!existsSync(path)) return false;
  let parsed: StateFile;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`state file ${path}: not valid JSON (${(err as Error).message}); delete it or pass another --state path`, { cause: err });
  }
  if (parsed?.version !== 1 || !Array.isArray(parsed.objects) || typeof parsed.resourceVersion !== 'number') {
    throw new Error(`state file ${path}: not a ripple cluster state file (expected {"version":1,"resourceVersion":N,"objects":[...]}); delete it or pass another --state path`);
  }
  store.load(parsed.resourceVersion, parsed.objects);
  return true;
}

export function saveState(store: Store, path: string): void {
  const data: StateFile = { version: 1, resourceVersion: store.resourceVersion, objects: [...store.all()] };
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(data), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Saves after changes (at most every `delayMs`); `flush()` writes now if anything is pending. */
export class StatePersister {
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private readonly unsubscribe: () => void;
  private readonly store: Store;
  private readonly path: string;
  private readonly delayMs: number;

  constructor(store: Store, path: string, delayMs = 250) {
    this.store = store;
    this.path = path;
    this.delayMs = delayMs;
    this.unsubscribe = store.subscribe(() => this.mark());
  }

  private mark(): void {
    this.dirty = true;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush();
    }, this.delayMs);
    this.timer.unref();
  }

  flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    try {
      saveState(this.store, this.path);
    } catch (err) {
      console.error(`cluster: could not write state file ${this.path}: ${(err as Error).message}`);
    }
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.unsubscribe();
    this.flush();
  }
}
