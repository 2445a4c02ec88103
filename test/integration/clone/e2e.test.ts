/**
 * End to end: embedded cluster (RBAC enforced) -> forwarder (as its ServiceAccount, rendered RBAC; it creates the
 * fingerprint key) -> local EventBridge (PutEvents over HTTP with @aws-sdk/client-eventbridge) -> a rule with
 * the rendered clone pattern -> the clone handler (as group ripple:clone, rendered ClusterRole), invoked as
 * Lambda would be with the delivered event.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { Forwarder } from '../../../forwarder/index.ts';
import { forwardToBus, stopPipeline } from '../../support/forwarder.ts';
import { LABEL_MANAGED_BY, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { clonePattern } from '../../../render/patterns.ts';
import { b64, routeToClone, policiesFrom, poller, secretIn } from './harness.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY } from '../../support/rbac.ts';

const POLICIES = policiesFrom(`apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: blog }
spec:
  source: { kind: Secret, namespace: platform, name: blogsecret }
  sync:
    namespaces: { selector: { matchLabels: { blog: "yes" } } }
`);

let cluster: EmbeddedCluster;
let bus: LocalEventBridge;
let forwarder: Forwarder;
let admin: Kube;
const handled: { id: string; result: unknown }[] = [];
const targetErrors: unknown[] = [];

const eventually = poller(() => `handled ${handled.length} events, target errors: ${targetErrors.map(String).join('; ')}`);

beforeAll(async () => {
  cluster = await startCluster({ authorization: 'RBAC' });
  admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
  await admin.core.createNamespace({ body: { metadata: { name: RIPPLE_NAMESPACE } } });
  await admin.core.createNamespace({ body: { metadata: { name: 'platform' } } });
  await applyRenderedRbac(admin, POLICIES, 'forwarder', 'clone');

  bus = await startEventBridge();
  routeToClone(bus, cluster, POLICIES, clonePattern(POLICIES), targetErrors, (event, result) => handled.push({ id: (event as { id: string }).id, result }));

  forwarder = await forwardToBus(cluster.kubeConfig(FORWARDER_IDENTITY), bus);
});
afterAll(async () => {
  await stopPipeline({ forwarder, bus, cluster });
});

describe('end to end: cluster -> forwarder -> EventBridge -> clone handler', () => {
  it('clones into a new labelled namespace, propagates a source edit, restores a deleted copy', async () => {
    // Prepare: the source exists; a namespace arrives
    await admin.core.createNamespacedSecret({ namespace: 'platform', body: { metadata: { name: 'blogsecret' }, stringData: { password: 'one' } } });
    await admin.core.createNamespace({ body: { metadata: { name: 'blog-team', labels: { blog: 'yes' } } } });
    await admin.core.createNamespace({ body: { metadata: { name: 'other-team' } } });
    // Assess: the copy appears through the whole chain
    const copy = await eventually('copy in blog-team', () => secretIn(admin.core, 'blog-team', 'blogsecret'));
    expect(copy.data).toEqual({ password: b64('one') });
    expect(copy.metadata?.labels?.[LABEL_MANAGED_BY]).toBe('ripple');

    // Act: edit the source
    const src = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'blogsecret' });
    await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'blogsecret', body: { ...src, data: { password: b64('two') } } });
    // Assess
    await eventually('copy updated', async () => (await secretIn(admin.core, 'blog-team', 'blogsecret'))?.data?.password === b64('two'));

    // Act: delete the copy
    const before = await admin.core.readNamespacedSecret({ namespace: 'blog-team', name: 'blogsecret' });
    await admin.core.deleteNamespacedSecret({ namespace: 'blog-team', name: 'blogsecret' });
    // Assess: re-created (a new uid), with the current data
    const back = await eventually('copy re-created', async () => {
      const s = await secretIn(admin.core, 'blog-team', 'blogsecret');
      return s && s.metadata?.uid !== before.metadata?.uid ? s : null;
    });
    expect(back.data).toEqual({ password: b64('two') });
    expect(await secretIn(admin.core, 'other-team', 'blogsecret')).toBeNull();
    expect(targetErrors).toEqual([]);
    // every event the clone rule delivered was handled without a failure
    expect(handled.length).toBeGreaterThanOrEqual(3);
    expect(handled.every((h) => (h.result as { failures?: unknown[] }).failures?.length === 0)).toBe(true);
  });
});
