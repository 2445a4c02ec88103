/**
 * Several embedded clusters, RBAC enforced, for the fleet clone tests: in each, the rendered clone ClusterRole bound
 * to the clone identity, ripple-system and its own fingerprint key (as that cluster's forwarder creates it), and a
 * write counter fed by that cluster's audit log; the policies' source namespaces exist in every cluster. One clone handler serves them all (`RIPPLE_CLUSTER_NAME` the first,
 * `RIPPLE_CLUSTERS` every one, as serverless.yml configures a multi-cluster stage). A cluster can be stopped (its
 * port refuses connections) and started again from its persisted state on the same port.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { makeHandler } from '../../../functions/clone/handler.ts';
import { detailOf } from '../../support/events.ts';
import { DETAIL_TYPES, FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { newFingerprintKey } from '../../../core/fingerprint.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { objectChangeEntry, resyncEntry, type PutEntry } from '../../../events/schema.ts';
import { applyRenderedRbac, handlerIdentity } from '../../support/rbac.ts';
import { makeHandler as makeProtectHandler } from '../../../functions/protect/handler.ts';
import { CLONE_IDENTITY, CLONE_USER, quietObservability, WRITE_VERBS } from './harness.ts';

export interface FleetMember {
  name: string;
  cluster: EmbeddedCluster;
  admin: Kube;
  /** The clone identity's client for this cluster (re-made on restart). */
  clone: Kube;
  /** The protect identity's client for this cluster. */
  protect: Kube;
  key: string;
  audit: AuditEvent[];
}

export interface Fleet {
  members: Record<string, FleetMember>;
  /** Writes by the clone identity per cluster since the last `resetWrites()`. */
  writes(cluster: string): AuditEvent[];
  resetWrites(): void;
  handler(logs?: string[]): (event: unknown) => Promise<any>;
  /** The protect handler for the stage (primary: the first cluster), as the protect identity in each cluster. */
  protectHandler(): (event: unknown) => Promise<any>;
  changeEvent(cluster: string, detailType: 'created' | 'updated' | 'deleted', obj: KubernetesObject & { data?: Record<string, string>; type?: string }, manager?: string): object;
  resyncEvent(cluster: string): object;
  stopCluster(name: string): Promise<void>;
  /** Start a stopped cluster again from its persisted state, on the same port. */
  startClusterAgain(name: string): Promise<void>;
  stop(): Promise<void>;
}

let seq = 0;

function delivered(entry: PutEntry): object {
  return { version: '0', id: `evt-${++seq}`, source: entry.Source, account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: entry.Resources ?? [], 'detail-type': entry.DetailType, detail: JSON.parse(entry.Detail) };
}

export async function startFleet(names: string[], policies: RipplePolicy[]): Promise<Fleet> {
  const dir = mkdtempSync(join(tmpdir(), 'ripple-fleet-'));
  const members: Record<string, FleetMember> = {};
  const marks: Record<string, number> = {};

  async function boot(name: string, port?: number, key?: string): Promise<FleetMember> {
    const cluster = await startCluster({ authorization: 'RBAC', statePath: join(dir, `${name}.json`), ...(port ? { port } : {}) });
    const admin = kubeFromKubeConfig(cluster.kubeConfig(), name);
    const audit: AuditEvent[] = [];
    cluster.onAudit((e) => audit.push(e));
    if (!key) {
      // the sources' namespaces first: protect's rendered RBAC has a RoleBinding in each
      for (const ns of new Set([RIPPLE_NAMESPACE, ...policies.map((p) => p.spec.source.namespace)])) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
      await applyRenderedRbac(admin, policies, 'clone', 'protect');
      key = newFingerprintKey();
      await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key } } });
    }
    return { name, cluster, admin, clone: kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), name), protect: kubeFromKubeConfig(cluster.kubeConfig(handlerIdentity('protect')), name), key, audit };
  }
  for (const n of names) {
    members[n] = await boot(n);
    marks[n] = 0;
  }
  const config = parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: names[0], RIPPLE_CLUSTERS: JSON.stringify(Object.fromEntries(names.map((n) => [n, {}]))), RIPPLE_WRITE_CONCURRENCY: '8', RIPPLE_REQUEST_TIMEOUT_MS: '2000' });

  return {
    members,
    writes: (c) => members[c]!.audit.slice(marks[c]).filter((e) => e.user.username === CLONE_USER && WRITE_VERBS.has(e.verb)),
    resetWrites: () => {
      for (const n of names) marks[n] = members[n]!.audit.length;
    },
    handler(logs) {
      const obs = quietObservability(logs);
      return makeHandler({
        config,
        kubeFor: async (c) => {
          const m = members[c];
          if (!m) throw new Error(`no cluster named ${c}`);
          return m.clone;
        },
        policies: () => policies,
        observability: () => obs,
        cfnRetryDelaysMs: [10, 10],
      }) as unknown as (event: unknown) => Promise<any>;
    },
    protectHandler() {
      const obs = quietObservability();
      return makeProtectHandler({
        kubeFor: async (c) => members[c]!.protect,
        policies: () => policies,
        observability: () => obs,
        defaultCluster: () => names[0]!,
        auditRecords: () => false,
      }) as unknown as (event: unknown) => Promise<any>;
    },
    changeEvent(cluster, dt, obj, manager) {
      return delivered(objectChangeEntry(DETAIL_TYPES[dt] as never, detailOf(cluster, dt, obj, Buffer.from(members[cluster]!.key, 'utf8'), manager)));
    },
    resyncEvent: (cluster) => delivered(resyncEntry({ cluster, reason: 'manual', observedAt: new Date().toISOString() })),
    async stopCluster(name) {
      await members[name]!.cluster.stop();
    },
    async startClusterAgain(name) {
      const old = members[name]!;
      const port = Number(new URL(old.cluster.url).port);
      members[name] = await boot(name, port, old.key);
      marks[name] = 0;
    },
    async stop() {
      await Promise.all(Object.values(members).map((m) => m.cluster.stop()));
    },
  };
}
