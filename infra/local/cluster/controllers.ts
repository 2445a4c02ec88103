/**
 * Workload controllers, doing what the real ones do to the API objects (there are no pods here: every
 * replica counts as ready at once):
 * - Deployment: one ReplicaSet per pod-template revision (`<name>-<pod-template-hash>`, label
 *   pod-template-hash, annotation deployment.kubernetes.io/revision), the newest scaled to spec.replicas and
 *   older ones to 0, `deployment.kubernetes.io/revision` on the Deployment, status with observedGeneration,
 *   replica counts and Available/Progressing conditions; old ReplicaSets beyond revisionHistoryLimit removed.
 * - StatefulSet and DaemonSet: one ControllerRevision per template revision (`<name>-<hash>`, label
 *   controller.kubernetes.io/hash); StatefulSet status.currentRevision/updateRevision; DaemonSet annotation
 *   deprecated.daemonset.template.generation; status with observedGeneration.
 * Reconciles run asynchronously after the triggering write (setImmediate), as controllers do.
 */
import { deepEqual } from './fields.ts';
import { nowSeconds, type Registry } from './registry.ts';
import { lookupResource, type ResourceType } from './resources.ts';
import type { Change } from './store.ts';

const MANAGER = 'kube-controller-manager';

/** A ReplicaSet's status with `n` replicas, every one ready at once (no pods here). */
function rsStatus(n: number, observedGeneration: number): Record<string, number> {
  return n ? { replicas: n, fullyLabeledReplicas: n, readyReplicas: n, availableReplicas: n, observedGeneration } : { replicas: 0, observedGeneration };
}
const REVISION = 'deployment.kubernetes.io/revision';
const RT = {
  deployments: lookupResource('apps', 'v1', 'deployments')!,
  replicasets: lookupResource('apps', 'v1', 'replicasets')!,
  statefulsets: lookupResource('apps', 'v1', 'statefulsets')!,
  daemonsets: lookupResource('apps', 'v1', 'daemonsets')!,
  controllerrevisions: lookupResource('apps', 'v1', 'controllerrevisions')!,
};
const WATCHED: Record<string, ResourceType> = {
  'deployments.apps': RT.deployments,
  'statefulsets.apps': RT.statefulsets,
  'daemonsets.apps': RT.daemonsets,
};

/** FNV-1a 32-bit. */
function fnv32a(s: string): number {
  let h = 0x811c9dc5;
  const bytes = Buffer.from(s, 'utf8');
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SAFE = 'bcdfghjklmnpqrstvwxz2456789';
/** kube's rand.SafeEncodeString over the decimal hash, as pod-template-hash values look. */
export function templateHash(template: unknown, collisionCount = 0): string {
  const n = fnv32a(canonical(template) + (collisionCount ? String(collisionCount) : ''));
  return [...String(n)].map((c) => SAFE[c.charCodeAt(0) % SAFE.length]).join('');
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as any)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

function ownerRef(kind: string, obj: any): any {
  return { apiVersion: 'apps/v1', kind, name: obj.metadata.name, uid: obj.metadata.uid, controller: true, blockOwnerDeletion: true };
}

function ownedBy(obj: any, uid: string): boolean {
  return (obj.metadata.ownerReferences ?? []).some((o: any) => o.uid === uid && o.controller);
}

/** Pod templates equal apart from the `label` (pod-template-hash) in one of them. */
function sameTemplate(a: any, b: any, label: string): boolean {
  const ta = a ?? {};
  const tb = b ?? {};
  const keys = new Set([...Object.keys(ta), ...Object.keys(tb)]);
  for (const k of keys) {
    if (k !== 'metadata') {
      if (!deepEqual(ta[k], tb[k])) return false;
      continue;
    }
    const ma = ta.metadata ?? {};
    const mb = tb.metadata ?? {};
    for (const mk of new Set([...Object.keys(ma), ...Object.keys(mb)])) {
      if (mk !== 'labels') {
        if (!deepEqual(ma[mk], mb[mk])) return false;
        continue;
      }
      const la = { ...(ma.labels ?? {}) };
      const lb = { ...(mb.labels ?? {}) };
      delete la[label];
      delete lb[label];
      if (!deepEqual(la, lb)) return false;
    }
  }
  return true;
}

/**
 * Keeps condition timestamps when nothing about the condition changed (so reconciles converge), and keeps the
 * conditions of other types someone else set (the real controllers set only their own types).
 */
function mergeConditions(old: any[] | undefined, next: any[]): any[] {
  const mine = next.map((c) => {
    const prev = (old ?? []).find((o) => o.type === c.type);
    if (prev && prev.status === c.status && prev.reason === c.reason && prev.message === c.message) return prev;
    if (prev && prev.status === c.status) return { ...c, lastTransitionTime: prev.lastTransitionTime ?? c.lastTransitionTime };
    return c;
  });
  const types = new Set(next.map((c) => c.type));
  return [...mine, ...(Array.isArray(old) ? old.filter((o) => !types.has(o?.type)) : [])];
}

export class Controllers {
  private readonly registry: Registry;
  private readonly queue = new Map<string, { rt: ResourceType; namespace: string; name: string }>();
  /**
   * Deployments at the resourceVersion the controller's own last pass left them (its last write, or the version
   * it found nothing to do for): a pass over an unchanged Deployment is skipped. Its own writes re-enqueue it, and
   * that second pass would only re-check what the first just wrote (a ReplicaSet list, template and status
   * comparisons per rollout). Forgotten when an owned ReplicaSet is deleted (the pass must put it back).
   */
  private readonly settled = new Map<string, string>();
  private scheduled = false;
  private stopped = false;
  private readonly unsubscribe: () => void;

  constructor(registry: Registry) {
    this.registry = registry;
    this.unsubscribe = registry.store.subscribe((c) => this.changed(c));
    for (const [key, rt] of Object.entries(WATCHED)) {
      for (const e of registry.store.list(key)) this.enqueue(rt, e.obj.metadata.namespace, e.obj.metadata.name);
    }
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe();
  }

  private changed(c: Change): void {
    const rt = WATCHED[c.key];
    if (rt && c.type !== 'DELETED') this.enqueue(rt, c.namespace, c.name);
    if (c.type === 'DELETED' && c.key === 'deployments.apps') this.settled.delete(`${c.namespace}/${c.name}`);
    // a ReplicaSet or ControllerRevision deleted under its owner: the owner's controller puts it back
    if (c.type === 'DELETED' && (c.key === 'replicasets.apps' || c.key === 'controllerrevisions.apps')) {
      const owner = (c.object.metadata.ownerReferences ?? []).find((o: any) => o.controller);
      const ownerRt = owner && Object.values(WATCHED).find((r) => r.kind === owner.kind);
      if (ownerRt) {
        this.settled.delete(`${c.namespace}/${owner.name}`);
        this.enqueue(ownerRt, c.namespace, owner.name);
      }
    }
  }

  private enqueue(rt: ResourceType, namespace: string, name: string): void {
    this.queue.set(`${rt.plural}/${namespace}/${name}`, { rt, namespace, name });
    if (this.scheduled || this.stopped) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.scheduled = false;
    if (this.stopped) return;
    const items = [...this.queue.values()];
    this.queue.clear();
    for (const it of items) {
      try {
        if (it.rt === RT.deployments) this.deployment(it.namespace, it.name);
        else if (it.rt === RT.statefulsets) this.revisioned('StatefulSet', it.namespace, it.name);
        else if (it.rt === RT.daemonsets) this.revisioned('DaemonSet', it.namespace, it.name);
      } catch (err) {
        // a concurrent user write wins; the resulting change event brings the object back here
        if ((err as { code?: number }).code !== 409 && (err as { code?: number }).code !== 404) {
          console.error(`cluster: ${it.rt.kind} controller failed for ${it.namespace}/${it.name}: ${(err as Error).message}`);
        }
      }
    }
  }

  private update(rt: ResourceType, obj: any, subresource?: string): any {
    return this.registry.update(rt, obj.metadata.namespace, obj.metadata.name, obj, { manager: MANAGER, ...(subresource ? { subresource } : {}) });
  }

  /**
   * Updates a stored object through `change` applied to a copy of it. Stored objects are never mutated
   * (store.ts), so the copy is shallow (top level, metadata and spec are new; `change` replaces whatever it
   * changes below them) and shares every unchanged part with the stored version: the write's managedFields
   * and generation comparisons see identical parts at once instead of walking a deep copy.
   */
  private modify(rt: ResourceType, stored: any, change: (copy: any) => void, withStatus = false): any {
    const { namespace = '', name } = stored.metadata;
    const copy = { ...stored, metadata: { ...stored.metadata }, ...(stored.spec ? { spec: { ...stored.spec } } : {}) };
    change(copy);
    return this.registry.update(rt, namespace, name, copy, { manager: MANAGER, owned: true, withStatus });
  }

  private deployment(namespace: string, name: string): void {
    const key = `${namespace}/${name}`;
    const cur = this.registry.get(RT.deployments, namespace, name)?.obj;
    if (!cur || cur.metadata.deletionTimestamp) return;
    if (this.settled.get(key) === cur.metadata.resourceVersion) return;
    this.deploymentPass(namespace, name, cur);
    const after = this.registry.get(RT.deployments, namespace, name)?.obj;
    if (after) this.settled.set(key, after.metadata.resourceVersion);
  }

  private deploymentPass(namespace: string, name: string, cur: any): void {
    const reg = this.registry;
    const replicas: number = cur.spec.replicas ?? 1;
    const owned = reg.store.list('replicasets.apps', namespace).map((e) => e.obj).filter((rs) => ownedBy(rs, cur.metadata.uid));
    const rev = (rs: any) => Number(rs.metadata.annotations?.[REVISION] ?? 0);
    const maxRev = owned.reduce((m, rs) => Math.max(m, rev(rs)), 0);
    const template = cur.spec.template;
    let newRs = owned.find((rs) => sameTemplate(rs.spec.template, template, 'pod-template-hash'));
    if (!newRs && cur.spec.paused) {
      // a paused Deployment does not roll out a changed template (kubectl rollout pause/resume)
      this.pausedStatus(cur, owned.sort((a, b) => rev(b) - rev(a))[0]);
      return;
    }
    if (!newRs) {
      newRs = this.createReplicaSet(cur, namespace, name, replicas, maxRev);
      if (!newRs) return;
    } else if (rev(newRs) < maxRev) {
      // rollback to an older template: it becomes the newest revision again
      newRs = this.modify(RT.replicasets, newRs, (c) => { c.metadata.annotations = { ...c.metadata.annotations, [REVISION]: String(maxRev + 1) }; });
    }
    // scale: the new ReplicaSet to spec.replicas, the others to 0
    for (const rs of owned) {
      if (rs.metadata.uid === newRs.metadata.uid) continue;
      // scaled to 0 with its status in the same write (no pods here to wait for)
      if ((rs.spec.replicas ?? 0) !== 0) this.modify(RT.replicasets, rs, (c) => { c.spec.replicas = 0; c.status = rsStatus(0, (rs.metadata.generation ?? 1) + 1); }, true);
    }
    if (newRs.spec.replicas !== replicas || newRs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'] !== String(replicas)) {
      newRs = this.modify(RT.replicasets, newRs, (c) => {
        c.metadata.annotations = { ...c.metadata.annotations, 'deployment.kubernetes.io/desired-replicas': String(replicas), 'deployment.kubernetes.io/max-replicas': String(replicas + 1) };
        c.spec.replicas = replicas;
      });
    }
    // ReplicaSet status (every replica "ready" at once)
    for (const e of reg.store.list('replicasets.apps', namespace)) {
      const rs = e.obj;
      if (!ownedBy(rs, cur.metadata.uid)) continue;
      const status = rsStatus(rs.spec.replicas ?? 0, rs.metadata.generation);
      if (!deepEqual(rs.status, status)) this.update(RT.replicasets, { ...rs, status }, 'status');
    }
    // history limit
    const limit = cur.spec.revisionHistoryLimit ?? 10;
    const old = reg.store.list('replicasets.apps', namespace).map((e) => e.obj)
      .filter((rs) => ownedBy(rs, cur.metadata.uid) && rs.metadata.uid !== newRs.metadata.uid && !rs.spec.replicas)
      .sort((a, b) => rev(a) - rev(b));
    for (const rs of old.slice(0, Math.max(0, old.length - limit))) {
      try {
        reg.delete(RT.replicasets, namespace, rs.metadata.name, {});
      } catch {
        // gone already
      }
    }
    this.deploymentStatus(namespace, name, String(rev(newRs)), newRs.metadata.name, replicas);
  }

  /** The ReplicaSet of a Deployment's current template, revision maxRev + 1; an existing one of that name on a conflict (undefined if it is gone). */
  private createReplicaSet(cur: any, namespace: string, name: string, replicas: number, maxRev: number): any {
    const reg = this.registry;
    const template = cur.spec.template;
    const hash = templateHash(template, cur.status?.collisionCount ?? 0);
    const labels = { ...(template.metadata?.labels ?? {}), 'pod-template-hash': hash };
    const body = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: `${name}-${hash}`,
        namespace,
        labels,
        annotations: {
          'deployment.kubernetes.io/desired-replicas': String(replicas),
          'deployment.kubernetes.io/max-replicas': String(replicas + 1),
          [REVISION]: String(maxRev + 1),
        },
        ownerReferences: [ownerRef('Deployment', cur)],
      },
      spec: {
        replicas,
        selector: { ...cur.spec.selector, matchLabels: { ...(cur.spec.selector?.matchLabels ?? {}), 'pod-template-hash': hash } },
        // shares the Deployment's stored pod spec (never mutated, store.ts; already defaulted)
        template: { ...template, metadata: { ...(template.metadata ?? {}), labels } },
      },
    };
    try {
      // created with its status (every replica ready at once: no pods here), in one write
      return reg.create(RT.replicasets, namespace, { ...body, status: rsStatus(replicas, 1) }, { manager: MANAGER, owned: true, withStatus: true });
    } catch (err) {
      if ((err as { code?: number }).code !== 409) throw err;
      return reg.get(RT.replicasets, namespace, body.metadata.name)?.obj;
    }
  }

  /** The Deployment's revision annotation (its newest ReplicaSet's), then its status: every replica available. */
  private deploymentStatus(namespace: string, name: string, revision: string, newRsName: string, replicas: number): void {
    const reg = this.registry;
    // the Deployment: revision annotation and status (one write when both change)
    const dep = reg.get(RT.deployments, namespace, name)!.obj;
    const now = nowSeconds();
    const conditions = mergeConditions(dep.status?.conditions, [
      { type: 'Available', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      { type: 'Progressing', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'NewReplicaSetAvailable', message: `ReplicaSet "${newRsName}" has successfully progressed.` },
    ]);
    const status: any = {
      observedGeneration: dep.metadata.generation,
      replicas,
      updatedReplicas: replicas,
      readyReplicas: replicas,
      availableReplicas: replicas,
      conditions,
    };
    if (!replicas) {
      delete status.readyReplicas;
      delete status.availableReplicas;
      delete status.updatedReplicas;
      delete status.replicas;
    }
    if (dep.metadata.annotations?.[REVISION] !== revision) {
      this.modify(RT.deployments, dep, (c) => {
        c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [REVISION]: revision };
        c.status = status;
      }, true);
    } else if (!deepEqual(dep.status, status)) this.update(RT.deployments, { ...dep, status }, 'status');
  }

  private pausedStatus(dep: any, current: any | undefined): void {
    const n = current?.spec?.replicas ?? 0;
    const now = nowSeconds();
    const status = {
      observedGeneration: dep.metadata.generation,
      ...(n ? { replicas: n, readyReplicas: n, availableReplicas: n } : {}),
      conditions: mergeConditions(dep.status?.conditions, [
        { type: 'Available', status: 'True', lastUpdateTime: now, lastTransitionTime: now, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
        { type: 'Progressing', status: 'Unknown', lastUpdateTime: now, lastTransitionTime: now, reason: 'DeploymentPaused', message: 'Deployment is paused' },
      ]),
    };
    if (!deepEqual(dep.status, status)) this.update(RT.deployments, { ...dep, status }, 'status');
  }

  private revisioned(kind: 'StatefulSet' | 'DaemonSet', namespace: string, name: string): void {
    const reg = this.registry;
    const rt = kind === 'StatefulSet' ? RT.statefulsets : RT.daemonsets;
    let cur = reg.get(rt, namespace, name)?.obj;
    if (!cur || cur.metadata.deletionTimestamp) return;
    const owned = reg.store.list('controllerrevisions.apps', namespace).map((e) => e.obj).filter((r) => ownedBy(r, cur.metadata.uid));
    const maxRev = owned.reduce((m, r) => Math.max(m, Number(r.revision ?? 0)), 0);
    const data = { spec: { template: { ...structuredClone(cur.spec.template), $patch: 'replace' } } };
    let revision = owned.find((r) => deepEqual(r.data, data));
    if (!revision) {
      const hash = templateHash(data);
      const body = {
        apiVersion: 'apps/v1',
        kind: 'ControllerRevision',
        metadata: {
          name: `${name}-${hash}`,
          namespace,
          labels: { ...(cur.spec.template?.metadata?.labels ?? {}), 'controller.kubernetes.io/hash': hash },
          ownerReferences: [ownerRef(kind, cur)],
        },
        data,
        revision: maxRev + 1,
      };
      try {
        revision = reg.create(RT.controllerrevisions, namespace, body, { manager: MANAGER });
      } catch (err) {
        if ((err as { code?: number }).code !== 409) throw err;
        revision = reg.get(RT.controllerrevisions, namespace, body.metadata.name)?.obj;
        if (!revision) return;
      }
    } else if (Number(revision.revision) < maxRev) {
      revision = this.modify(RT.controllerrevisions, revision, (c) => { c.revision = maxRev + 1; });
    }
    const limit = cur.spec.revisionHistoryLimit ?? 10;
    const old = reg.store.list('controllerrevisions.apps', namespace).map((e) => e.obj)
      .filter((r) => ownedBy(r, cur.metadata.uid) && r.metadata.uid !== revision.metadata.uid)
      .sort((a, b) => Number(a.revision) - Number(b.revision));
    for (const r of old.slice(0, Math.max(0, old.length - limit))) {
      try {
        reg.delete(RT.controllerrevisions, namespace, r.metadata.name, {});
      } catch {
        // gone already
      }
    }
    let status: any;
    if (kind === 'StatefulSet') {
      const replicas = cur.spec.replicas ?? 1;
      status = {
        observedGeneration: cur.metadata.generation,
        replicas,
        readyReplicas: replicas,
        currentReplicas: replicas,
        updatedReplicas: replicas,
        availableReplicas: replicas,
        currentRevision: revision.metadata.name,
        updateRevision: revision.metadata.name,
        collisionCount: 0,
      };
    } else {
      const gen = String(cur.metadata.generation ?? 1);
      if (cur.metadata.annotations?.['deprecated.daemonset.template.generation'] !== gen) {
        cur = this.modify(rt, cur, (c) => { c.metadata.annotations = { ...(c.metadata.annotations ?? {}), 'deprecated.daemonset.template.generation': gen }; });
      }
      status = {
        currentNumberScheduled: 1,
        numberMisscheduled: 0,
        desiredNumberScheduled: 1,
        numberReady: 1,
        observedGeneration: cur.metadata.generation,
        updatedNumberScheduled: 1,
        numberAvailable: 1,
      };
    }
    // conditions are not this controller's: whoever set them keeps them
    if (Array.isArray(cur.status?.conditions)) status.conditions = cur.status.conditions;
    if (!deepEqual(cur.status, status)) this.update(rt, { ...cur, status }, 'status');
  }
}
