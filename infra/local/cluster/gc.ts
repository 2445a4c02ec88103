/**
 * The garbage collector, as kube-controller-manager's runs it over `metadata.ownerReferences` of every stored object:
 *
 * - Background (the default): once an owner is gone, each dependent that has no other live ("solid") owner is
 *   deleted; one that has is kept and loses the references to the owners that are gone or being deleted.
 * - Orphan: the owner carries the `orphan` finalizer (registry.delete adds it); its dependents lose their reference
 *   to it, then the finalizer is removed and the owner goes.
 * - Foreground: the owner carries the `foregroundDeletion` finalizer; its dependents are deleted (in the foreground
 *   themselves when their reference has `blockOwnerDeletion`), and the finalizer is removed once no dependent
 *   referencing it with `blockOwnerDeletion: true` is left.
 *
 * Owners are matched by uid, across namespaces (a namespaced object may be owned by a cluster-scoped one). A
 * dependent whose owner never existed is left alone (the real collector deletes it after checking the owner is
 * absent). Works on the store's change stream, batched with setImmediate; writes through the registry (validation,
 * resourceVersions, watch events), without admission, as controllers do.
 */
import { GC_FINALIZERS, type Registry } from './registry.ts';
import { RESOURCES, storageKey, type ResourceType } from './resources.ts';
import type { Change } from './store.ts';

const MANAGER = 'generic-garbage-collector';

interface Ref { key: string; namespace: string; name: string }

const refId = (r: Ref) => `${r.key}|${r.namespace}|${r.name}`;

function ownerUids(obj: any): string[] {
  const refs = obj?.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return [];
  return refs.map((o: any) => o?.uid).filter((u: unknown): u is string => typeof u === 'string' && u !== '');
}

function hasFinalizer(obj: any, f: string): boolean {
  return Array.isArray(obj?.metadata?.finalizers) && obj.metadata.finalizers.includes(f);
}

export class GarbageCollector {
  private readonly registry: Registry;
  /** every stored object by uid */
  private readonly byUid = new Map<string, Ref>();
  /** owner uid -> its dependents */
  private readonly dependents = new Map<string, Map<string, Ref>>();
  private readonly byKey = new Map<string, ResourceType>();
  /** owner uids whose deletion (gone, orphan or foreground) is to be carried out */
  private readonly pending = new Map<string, 'gone' | 'owner'>();
  private scheduled = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(registry: Registry) {
    this.registry = registry;
    for (const r of RESOURCES) if (!r.virtual && !this.byKey.has(storageKey(r))) this.byKey.set(storageKey(r), r);
    for (const { key, obj } of registry.store.all()) {
      this.index(key, obj, null);
      if (obj.metadata.deletionTimestamp) this.enqueue(obj.metadata.uid, 'owner');
    }
    this.unsubscribe = registry.store.subscribe((c) => this.changed(c));
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  /** The dependents of `uid` (for tests and the namespace controller). */
  dependentsOf(uid: string): Ref[] {
    return [...(this.dependents.get(uid)?.values() ?? [])];
  }

  private index(key: string, obj: any, old: any | null): void {
    // an update that keeps the owner references as they were (the same stored list) changes nothing here
    if (old && old.metadata.uid === obj.metadata.uid && old.metadata.ownerReferences === obj.metadata.ownerReferences) return;
    const ref: Ref = { key, namespace: obj.metadata.namespace ?? '', name: obj.metadata.name };
    if (obj.metadata.uid) this.byUid.set(obj.metadata.uid, ref);
    const before = old ? ownerUids(old) : [];
    const after = ownerUids(obj);
    for (const u of before) {
      if (after.includes(u)) continue;
      const m = this.dependents.get(u);
      m?.delete(refId(ref));
      if (m?.size === 0) this.dependents.delete(u);
      // a dependent let go of an owner being deleted in the foreground: the owner may be done
      this.enqueue(u, 'owner');
    }
    for (const u of after) {
      let m = this.dependents.get(u);
      if (!m) this.dependents.set(u, (m = new Map()));
      m.set(refId(ref), ref);
    }
  }

  private changed(c: Change): void {
    if (c.type === 'DELETED') {
      const uid = c.object.metadata.uid;
      if (uid && this.byUid.get(uid)?.name === c.name) this.byUid.delete(uid);
      for (const u of ownerUids(c.object)) {
        const m = this.dependents.get(u);
        m?.delete(refId({ key: c.key, namespace: c.namespace, name: c.name }));
        if (m?.size === 0) this.dependents.delete(u);
        this.enqueue(u, 'owner');
      }
      if (uid && this.dependents.has(uid)) this.enqueue(uid, 'gone');
      return;
    }
    this.index(c.key, c.object, c.old ?? null);
    if (c.object.metadata.deletionTimestamp && (hasFinalizer(c.object, GC_FINALIZERS.Orphan) || hasFinalizer(c.object, GC_FINALIZERS.Foreground))) {
      this.enqueue(c.object.metadata.uid, 'owner');
    }
  }

  private enqueue(uid: string, what: 'gone' | 'owner'): void {
    if (this.pending.get(uid) !== 'gone') this.pending.set(uid, what);
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (!this.stopped) this.run();
    });
  }

  private run(): void {
    const work = [...this.pending];
    this.pending.clear();
    for (const [uid, what] of work) {
      try {
        // only an owner seen deleted makes its dependents go: a reference to an owner that never existed is left alone
        if (what === 'gone') this.ownerGone(uid);
        else if (this.byUid.has(uid)) this.ownerDeleting(uid);
      } catch (err) {
        console.error(`cluster: garbage collection of the dependents of ${uid} failed: ${(err as Error).message}`);
      }
    }
  }

  private obj(ref: Ref): any | undefined {
    return this.registry.store.get(ref.key, ref.namespace, ref.name)?.obj;
  }

  /** An owner that is present and not waiting for its dependents to go. */
  private solid(uid: string): boolean {
    const ref = this.byUid.get(uid);
    const owner = ref && this.obj(ref);
    if (!owner || owner.metadata.uid !== uid) return false;
    return !(owner.metadata.deletionTimestamp && hasFinalizer(owner, GC_FINALIZERS.Foreground));
  }

  /** Background: the owner is gone; its dependents without another solid owner go too. */
  private ownerGone(uid: string): void {
    for (const ref of this.dependentsOf(uid)) {
      const dep = this.obj(ref);
      if (!dep) continue;
      const others = ownerUids(dep).filter((u) => u !== uid);
      if (others.some((u) => this.solid(u))) {
        this.dropOwners(ref, dep, (u) => !this.solid(u));
        continue;
      }
      const waiting = (dep.metadata.ownerReferences ?? []).some((o: any) => o.uid !== uid && o.blockOwnerDeletion && this.byUid.has(o.uid));
      this.deleteDependent(ref, dep, waiting ? 'Foreground' : 'Background');
    }
  }

  /** An owner with deletionTimestamp: orphan its dependents, or delete them in the foreground. */
  private ownerDeleting(uid: string): void {
    const ref = this.byUid.get(uid)!;
    const owner = this.obj(ref);
    if (!owner || !owner.metadata.deletionTimestamp) return;
    if (hasFinalizer(owner, GC_FINALIZERS.Orphan)) {
      for (const dref of this.dependentsOf(uid)) {
        const dep = this.obj(dref);
        if (dep) this.dropOwners(dref, dep, (u) => u === uid);
      }
      this.removeFinalizer(ref, owner, GC_FINALIZERS.Orphan);
      return;
    }
    if (!hasFinalizer(owner, GC_FINALIZERS.Foreground)) return;
    let blocking = 0;
    for (const dref of this.dependentsOf(uid)) {
      const dep = this.obj(dref);
      if (!dep) continue;
      const mine = (dep.metadata.ownerReferences ?? []).find((o: any) => o.uid === uid);
      const others = ownerUids(dep).filter((u) => u !== uid);
      if (others.some((u) => this.solid(u))) {
        this.dropOwners(dref, dep, (u) => !this.solid(u));
        continue;
      }
      if (mine?.blockOwnerDeletion) blocking++;
      if (!dep.metadata.deletionTimestamp) this.deleteDependent(dref, dep, mine?.blockOwnerDeletion ? 'Foreground' : 'Background');
    }
    if (blocking === 0) this.removeFinalizer(ref, owner, GC_FINALIZERS.Foreground);
  }

  private deleteDependent(ref: Ref, dep: any, policy: 'Foreground' | 'Background'): void {
    const rt = this.byKey.get(ref.key);
    if (!rt || dep.metadata.deletionTimestamp) return;
    try {
      this.registry.delete(rt, ref.namespace, ref.name, { propagationPolicy: policy, preconditions: { uid: dep.metadata.uid } });
    } catch (err) {
      if ((err as { code?: number }).code !== 404 && (err as { code?: number }).code !== 409) throw err;
    }
  }

  /** Removes the ownerReferences whose uid `drop` selects (the real collector's patch of a dependent). */
  private dropOwners(ref: Ref, dep: any, drop: (uid: string) => boolean): void {
    const refs: any[] = dep.metadata.ownerReferences ?? [];
    const keep = refs.filter((o) => !drop(o.uid));
    if (keep.length === refs.length) return;
    this.write(ref, (copy) => {
      if (keep.length) copy.metadata.ownerReferences = keep;
      else delete copy.metadata.ownerReferences;
    });
  }

  private removeFinalizer(ref: Ref, owner: any, finalizer: string): void {
    this.write(ref, (copy) => {
      const rest = (copy.metadata.finalizers ?? []).filter((f: string) => f !== finalizer);
      if (rest.length) copy.metadata.finalizers = rest;
      else delete copy.metadata.finalizers;
    });
  }

  /** Updates the stored object through `change` on a fresh copy; a conflicting concurrent write is retried on its result. */
  private write(ref: Ref, change: (copy: any) => void): void {
    const rt = this.byKey.get(ref.key);
    if (!rt) return;
    for (let attempt = 0; attempt < 3; attempt++) {
      const e = this.registry.store.get(ref.key, ref.namespace, ref.name);
      if (!e) return;
      const copy = JSON.parse(e.json);
      change(copy);
      try {
        this.registry.update(rt, ref.namespace, ref.name, copy, { manager: MANAGER, owned: true });
        return;
      } catch (err) {
        const code = (err as { code?: number }).code;
        if (code === 404) return;
        if (code !== 409) throw err;
      }
    }
  }
}
