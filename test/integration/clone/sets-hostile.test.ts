/**
 * Sets of bases (source.selector) on a bad day and against a hostile user, on the embedded cluster with RBAC
 * enforced and the clone handler as its own identity:
 * - a namespace admin of a target namespace (ClusterRole `admin` bound in team-a) labels their own Secret like
 *   the set's members, forges a "copy" of a Secret of the source namespace that is not a member, rewrites a real
 *   copy's source annotation, and a forged event on the bus claims the non-member carries the set's label. No
 *   Secret of the source namespace that is not a member reaches any namespace; the forged copy is deleted or left
 *   unfilled; the re-pointed copy is no longer this policy's (it names another source): reported, not written.
 * - the API server answers 429 (a request-rate limit) while a set fans out: every copy converges, each written
 *   exactly once, with no failed invocation.
 */
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import type { AuditEvent } from '../../../infra/local/cluster/audit.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { Forwarder } from '../../../forwarder/index.ts';
import { FINGERPRINT_KEY_SECRET, RIPPLE_NAMESPACE, DETAIL_TYPES } from '../../../core/constants.ts';
import { newFingerprintKey } from '../../../core/fingerprint.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { clonePattern } from '../../../render/patterns.ts';
import { renderIdentityAdmission } from '../../../render/admission.ts';
import { objectChangeEntry, resyncEntry } from '../../../events/schema.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY, handlerIdentity } from '../../support/rbac.ts';
import { forwardToBus, stopPipeline } from '../../support/forwarder.ts';
import { detailOf } from '../../support/events.ts';
import { b64, cloneHandlerOn, lambdaContext, poller, policiesFrom, routeToClone, secretIn } from './harness.ts';

const POLICIES = policiesFrom(`
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: shared-certs }
spec:
  source:
    kind: Secret
    namespace: platform
    selector:
      matchLabels: { share: "yes" }
  sync:
    namespaces: { exclude: [quiet] }
`);

const secret = (namespace: string, name: string, v: string, meta: Partial<V1Secret['metadata']> = {}): V1Secret => ({ metadata: { name, namespace, ...meta }, data: { v: b64(v) } });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a set of bases against a hostile namespace admin', { timeout: 120_000 }, () => {
  it('never copies a Secret that is not a member, whatever a target namespace labels, forges or sends', async () => {
    let cluster: EmbeddedCluster | undefined;
    let bus: LocalEventBridge | undefined;
    let forwarder: Forwarder | undefined;
    const targetErrors: unknown[] = [];
    const handled: unknown[] = [];
    try {
      cluster = await startCluster({ authorization: 'RBAC' });
      const admin: Kube = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
      for (const ns of [RIPPLE_NAMESPACE, 'platform', 'team-a', 'team-b', 'quiet']) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
      await applyRenderedRbac(admin, POLICIES, 'forwarder', 'clone');
      for (const o of renderIdentityAdmission(POLICIES)) await admin.objects.create(o as KubernetesObject);
      // mallory administers team-a (the built-in `admin` role: every Secret there, RoleBindings, ...)
      await admin.objects.create({
        apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name: 'mallory-admin', namespace: 'team-a' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
        subjects: [{ kind: 'User', name: 'mallory', apiGroup: 'rbac.authorization.k8s.io' }],
      } as KubernetesObject);
      await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('platform', 'tls-a', 'a1', { labels: { share: 'yes' } }) });
      await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('platform', 'private', 'p1') }); // not a member

      bus = await startEventBridge();
      routeToClone(bus, cluster, POLICIES, clonePattern(POLICIES), targetErrors, (_e, r) => handled.push(r));
      forwarder = await forwardToBus(cluster.kubeConfig(FORWARDER_IDENTITY), bus);
      const b = bus;
      const resync = async () => {
        b.putEvents([{ ...resyncEntry({ cluster: 'local', reason: 'manual', observedAt: new Date().toISOString() }), EventBusName: 'ripple' }]);
        await b.idle();
      };
      const eventually = poller(() => `handled ${handled.length}; target errors: ${targetErrors.map(String).join('; ')}`);
      const value = async (ns: string, name: string) => {
        const s = await secretIn(admin.core, ns, name);
        return s ? Buffer.from(s.data?.v ?? '', 'base64').toString() : null;
      };
      await resync();
      await eventually('the member copied', async () => (await value('team-a', 'tls-a')) === 'a1' && (await value('team-b', 'tls-a')) === 'a1');

      // Act: mallory, as team-a's admin
      const mallory = kubeFromKubeConfig(cluster.kubeConfig({ user: 'mallory' }), 'local');
      // 1. their own Secret labelled like the members (in a target namespace, not the source namespace)
      await mallory.core.createNamespacedSecret({ namespace: 'team-a', body: secret('team-a', 'mine', 'm1', { labels: { share: 'yes' } }) });
      // 2. a forged copy of the source namespace's non-member, marked as ripple's and as the set's
      const marks = { labels: { 'app.kubernetes.io/managed-by': 'ripple', 'ripple.dev/set': 'shared-certs', share: 'yes' }, annotations: { 'ripple.dev/source': 'Secret/platform/private', 'ripple.dev/policy': 'shared-certs' } };
      await mallory.core.createNamespacedSecret({ namespace: 'team-a', body: secret('team-a', 'private', 'forged', marks) });
      // 3. the real copy re-pointed at the non-member
      const copy = await mallory.core.readNamespacedSecret({ namespace: 'team-a', name: 'tls-a' });
      await mallory.core.replaceNamespacedSecret({
        namespace: 'team-a', name: 'tls-a',
        body: { ...copy, metadata: { ...copy.metadata, annotations: { ...copy.metadata?.annotations, 'ripple.dev/source': 'Secret/platform/private' } }, data: { v: b64('x') } },
      });
      // 4. a forged event: the non-member "now carries the set's label"
      const key = Buffer.from((await admin.core.readNamespacedSecret({ namespace: RIPPLE_NAMESPACE, name: FINGERPRINT_KEY_SECRET })).data!.key!, 'base64');
      const priv = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'private' });
      const lie = { ...detailOf('local', 'updated', { ...priv, kind: 'Secret', apiVersion: 'v1' }, key), labels: { share: 'yes' } };
      b.putEvents([{ ...objectChangeEntry(DETAIL_TYPES.updated, lie), EventBusName: 'ripple' }]);
      await b.idle();
      await resync();
      await sleep(500);
      await resync();

      // Assess: the real copy is put back (content and source), nothing of the non-member left the source namespace
      // Assess: the re-pointed copy names another source now, so it is no longer this policy's copy: reported on the
      // object (Warning UnmanagedObject) and left as mallory made it (what deleting it and creating their own would
      // give them anyway), never filled with the non-member's content
      const eventsOn = async (ns: string, name: string) => (await admin.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.name === name);
      await eventually('the re-pointed copy reported', async () => (await eventsOn('team-a', 'tls-a')).some((e) => e.reason === 'UnmanagedObject' && e.type === 'Warning'));
      expect(await value('team-a', 'tls-a')).toBe('x');
      expect(await value('team-b', 'tls-a')).toBe('a1'); // the other namespaces' copies untouched
      expect(await value('team-b', 'mine')).toBeNull(); // a label outside the source namespace makes no member
      expect(await value('team-a', 'mine')).toBe('m1'); // and their own object is theirs
      expect(await value('team-b', 'private')).toBeNull();
      expect(await value('team-a', 'private')).not.toBe('p1'); // the forged copy was deleted or left as it was: never filled
      const everywhere = (await admin.core.listSecretForAllNamespaces()).items;
      const leaked = everywhere.filter((s) => s.metadata?.namespace !== 'platform' && Buffer.from(s.data?.v ?? '', 'base64').toString() === 'p1');
      expect(leaked.map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`)).toEqual([]);
      expect(await value('quiet', 'tls-a')).toBeNull();
      expect(targetErrors).toEqual([]);
    } finally {
      await stopPipeline({ forwarder, bus, cluster });
    }
  });
});

describe('a set of bases on a bad day', { timeout: 120_000 }, () => {
  it('converges through 429s from a rate-limited API server, each copy written once', async () => {
    // Prepare: 3 members x 30 namespaces; the API server admits 40 requests/s (Retry-After on the rest), the
    // clone handler's client keeps its default (100/s): it must wait the 429s out, not fail or write twice
    const cluster = await startCluster({ authorization: 'RBAC', maxRequestsPerSecond: 40 });
    try {
      const audit: AuditEvent[] = [];
      cluster.onAudit((e) => audit.push(e));
      const admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
      const teams = Array.from({ length: 30 }, (_, i) => `team-${String(i).padStart(2, '0')}`);
      for (const ns of [RIPPLE_NAMESPACE, 'platform', 'quiet', ...teams]) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
      await applyRenderedRbac(admin, POLICIES, 'clone');
      await admin.core.createNamespacedSecret({ namespace: RIPPLE_NAMESPACE, body: { metadata: { name: FINGERPRINT_KEY_SECRET }, stringData: { key: newFingerprintKey() } } });
      const members = ['tls-a', 'tls-b', 'tls-c'];
      for (const m of members) await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('platform', m, `${m}-1`, { labels: { share: 'yes' } }) });
      const clone = cloneHandlerOn(cluster, POLICIES);
      const mark = audit.length;

      // Act: the startup resync, as one invocation
      const result = (await clone({ version: '0', id: 'evt-resync', source: 'ripple.kubernetes', account: '123456789012', time: new Date().toISOString(), region: 'eu-west-1', resources: [], 'detail-type': DETAIL_TYPES.resync, detail: { cluster: 'local', reason: 'startup', observedAt: new Date().toISOString() } }, lambdaContext)) as { failures?: unknown[] };

      // Assess
      expect(result.failures ?? []).toEqual([]);
      for (const ns of teams) for (const m of members) expect(await secretIn(admin.core, ns, m), `${ns}/${m}`).toMatchObject({ data: { v: b64(`${m}-1`) } });
      expect(await secretIn(admin.core, 'quiet', 'tls-a')).toBeNull();
      const cloneUser = handlerIdentity('clone').user;
      const mine = audit.slice(mark).filter((e) => e.user.username === cloneUser);
      const throttled = mine.filter((e) => e.responseStatus.code === 429).length;
      const targets = (await admin.core.listNamespace()).items.map((n) => n.metadata!.name!).filter((n) => !['quiet', 'platform', RIPPLE_NAMESPACE].includes(n) && !n.startsWith('kube-'));
      expect(targets).toEqual(expect.arrayContaining(teams));
      const creates = mine.filter((e) => e.verb === 'create' && e.objectRef?.resource === 'secrets' && e.responseStatus.code === 201).length;
      const otherWrites = mine.filter((e) => ['update', 'patch', 'delete'].includes(e.verb) && e.responseStatus.code < 300).length;
      expect(throttled).toBeGreaterThan(0); // the bad day happened
      expect(creates).toBe(targets.length * members.length); // each copy written exactly once
      expect(otherWrites).toBe(0);
    } finally {
      await cluster.stop();
    }
  });
});
