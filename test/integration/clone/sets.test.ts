/**
 * Sets of bases chosen by label (source.selector), through the whole pipeline: the embedded cluster with RBAC
 * enforced (the forwarder as its ServiceAccount, the clone handler as `ripple:clone` bound to exactly the rendered
 * role, and the rendered `ripple-clone-identity` admission policy), the forwarder, the local EventBridge with the
 * rendered clone pattern. Labels added and removed, a new namespace, a base deleted, a copy deleted and edited,
 * a same-named unmanaged object left alone; one named base copied under two names (sync.targetNames: both made,
 * both follow it, a deleted one re-made, both go with it; the base is never a member of the set it matches, being
 * another policy's); and the rendered role, tried as the clone identity, is what a set needs
 * and no more (no write of unmarked objects, no other kinds, no namespaces).
 */
import type { KubernetesObject, V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { Forwarder } from '../../../forwarder/index.ts';
import { forwardToBus, stopPipeline } from '../../support/forwarder.ts';
import { RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { clonePattern } from '../../../render/patterns.ts';
import { renderIdentityAdmission } from '../../../render/admission.ts';
import { resyncEntry } from '../../../events/schema.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY } from '../../support/rbac.ts';
import { explainClone } from '../../../cli/explain/explain.ts';
import { b64, CLONE_IDENTITY, poller, policiesFrom, routeToClone, secretIn } from './harness.ts';

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
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: shared-config }
spec:
  source:
    kind: ConfigMap
    namespace: platform
    selector:
      matchExpressions: [{ key: share, operator: In, values: ["yes"] }]
  sync:
    onSourceDelete: keep
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: registry }
spec:
  source: { kind: Secret, namespace: platform, name: regcred }
  sync:
    targetNames: [regcred, regcred-legacy]
    namespaces: { include: [team-a, team-b] }
---
apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: handed-out }
spec:
  source:
    kind: Secret
    namespace: tools
    selector: { matchLabels: { once: "yes" } }
  sync:
    mode: once
    onSourceDelete: keep
    namespaces: { include: [team-a] }
`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a set of bases chosen by label, on the embedded cluster with the pipeline and RBAC', { timeout: 120_000 }, () => {
  it('copies each labelled base under its own name, follows labels, namespaces and deletions, and touches nothing else', async () => {
    let cluster: EmbeddedCluster | undefined;
    let bus: LocalEventBridge | undefined;
    let forwarder: Forwarder | undefined;
    const handled: unknown[] = [];
    const targetErrors: unknown[] = [];
    try {
      cluster = await startCluster({ authorization: 'RBAC' });
      const admin: Kube = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
      for (const ns of [RIPPLE_NAMESPACE, 'platform', 'tools', 'team-a', 'team-b', 'quiet']) await admin.core.createNamespace({ body: { metadata: { name: ns } } });
      await applyRenderedRbac(admin, POLICIES, 'forwarder', 'clone');
      for (const o of renderIdentityAdmission(POLICIES)) await admin.objects.create(o as KubernetesObject);
      // Prepare: two labelled Secrets, one unlabelled, one labelled ConfigMap; a same-named unmanaged Secret in team-b
      const secret = (name: string, labels: Record<string, string> | undefined, v: string): V1Secret => ({ metadata: { name, namespace: 'platform', labels }, data: { v: b64(v) } });
      await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('tls-a', { share: 'yes' }, 'a1') });
      await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('tls-b', { share: 'yes', tier: 'gold' }, 'b1') });
      await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('private', undefined, 'p1') });
      await admin.core.createNamespacedSecret({ namespace: 'team-b', body: { metadata: { name: 'tls-b' }, data: { v: b64('theirs') } } });
      const cm: V1ConfigMap = { metadata: { name: 'app-config', namespace: 'platform', labels: { share: 'yes' } }, data: { mode: 'x' } };
      await admin.core.createNamespacedConfigMap({ namespace: 'platform', body: cm });
      // a named base labelled like the set's members: the named policy owns it, the set leaves it alone
      await admin.core.createNamespacedSecret({ namespace: 'platform', body: secret('regcred', { share: 'yes' }, 'r1') });

      bus = await startEventBridge();
      const live = [...POLICIES];
      routeToClone(bus, cluster, live, clonePattern(POLICIES), targetErrors, (_e, r) => handled.push(r));
      forwarder = await forwardToBus(cluster.kubeConfig(FORWARDER_IDENTITY), bus);
      const b = bus;
      const resync = async () => {
        b.putEvents([{ ...resyncEntry({ cluster: 'local', reason: 'manual', observedAt: new Date().toISOString() }), EventBusName: 'ripple' }]);
        await b.idle();
      };
      const eventually = poller(() => `handled ${handled.length} (${JSON.stringify(handled.slice(-3))}); target errors: ${targetErrors.map(String).join('; ')}`);
      const value = async (ns: string, name: string) => {
        const s = await secretIn(admin.core, ns, name);
        return s ? Buffer.from(s.data?.v ?? '', 'base64').toString() : null;
      };
      const copyIs = (ns: string, name: string, want: string | null) => eventually(`${ns}/${name} = ${want}`, async () => ((await value(ns, name)) === want ? true : null));

      // Act + Assess: the startup resync copies both labelled Secrets and the ConfigMap, under their own names
      await resync();
      await copyIs('team-a', 'tls-a', 'a1');
      await copyIs('team-a', 'tls-b', 'b1');
      const copy = (await secretIn(admin.core, 'team-a', 'tls-a'))!;
      expect(copy.metadata?.labels).toMatchObject({ share: 'yes', 'ripple.dev/set': 'shared-certs', 'app.kubernetes.io/managed-by': 'ripple' });
      expect(copy.metadata?.annotations).toMatchObject({ 'ripple.dev/source': 'Secret/platform/tls-a', 'ripple.dev/policy': 'shared-certs' });
      expect((await admin.core.readNamespacedConfigMap({ namespace: 'team-b', name: 'app-config' })).data).toEqual({ mode: 'x' });
      expect(await value('team-a', 'private')).toBeNull(); // not labelled
      expect(await value('quiet', 'tls-a')).toBeNull(); // excluded
      expect(await value('platform', 'tls-a')).toBe('a1'); // the base itself, untouched
      expect(await value('team-b', 'tls-b')).toBe('theirs'); // same-named, not ripple's: left alone
      // one base, two names, only where the named policy says
      await copyIs('team-a', 'regcred', 'r1');
      await copyIs('team-a', 'regcred-legacy', 'r1');
      await copyIs('team-b', 'regcred-legacy', 'r1');
      expect((await secretIn(admin.core, 'team-a', 'regcred-legacy'))!.metadata?.annotations).toMatchObject({ 'ripple.dev/source': 'Secret/platform/regcred', 'ripple.dev/policy': 'registry' });
      expect((await secretIn(admin.core, 'team-a', 'regcred'))!.metadata?.labels?.['ripple.dev/set']).toBeUndefined(); // not the set's
      expect(await value('quiet', 'regcred')).toBeNull();
      const r = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'regcred' });
      await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'regcred', body: { ...r, data: { v: b64('r2') } } });
      await copyIs('team-a', 'regcred', 'r2');
      await copyIs('team-b', 'regcred-legacy', 'r2');
      await admin.core.deleteNamespacedSecret({ namespace: 'team-b', name: 'regcred-legacy' });
      await copyIs('team-b', 'regcred-legacy', 'r2');

      // sync.mode once (Kyverno's cloneList with synchronize: false): a base that appears is copied once, then the
      // copy is the namespace's: an edit is kept, the base leaving the set (or changing) reaches nothing
      await admin.core.createNamespacedSecret({ namespace: 'tools', body: { metadata: { name: 'starter', namespace: 'tools', labels: { once: 'yes' } }, data: { v: b64('s1') } } });
      await copyIs('team-a', 'starter', 's1');
      const handedOut = (await secretIn(admin.core, 'team-a', 'starter'))!;
      await admin.core.replaceNamespacedSecret({ namespace: 'team-a', name: 'starter', body: { ...handedOut, data: { v: b64('mine now') } } });
      await sleep(1000);
      await b.idle();
      expect(await value('team-a', 'starter')).toBe('mine now'); // the edit is kept while the base is still a member
      const st = await admin.core.readNamespacedSecret({ namespace: 'tools', name: 'starter' });
      await admin.core.replaceNamespacedSecret({ namespace: 'tools', name: 'starter', body: { ...st, metadata: { ...st.metadata, labels: {} }, data: { v: b64('s2') } } });
      await sleep(1000);
      await b.idle();
      expect(await value('team-a', 'starter')).toBe('mine now');
      expect(await value('team-b', 'starter')).toBeNull(); // not in include

      // a Secret labelled later joins the set
      const priv = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'private' });
      await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'private', body: { ...priv, metadata: { ...priv.metadata, labels: { share: 'yes' } } } });
      await copyIs('team-a', 'private', 'p1');
      await copyIs('team-b', 'private', 'p1');

      // a base's content changes: its copies follow
      const a = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'tls-a' });
      await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'tls-a', body: { ...a, data: { v: b64('a2') } } });
      await copyIs('team-a', 'tls-a', 'a2');
      await copyIs('team-b', 'tls-a', 'a2');

      // a new namespace gets every member
      await admin.core.createNamespace({ body: { metadata: { name: 'team-c' } } });
      await copyIs('team-c', 'tls-a', 'a2');
      await copyIs('team-c', 'tls-b', 'b1');
      await copyIs('team-c', 'private', 'p1');
      await eventually('ConfigMap copy in team-c', () => admin.core.readNamespacedConfigMap({ namespace: 'team-c', name: 'app-config' }).catch(() => null));
      expect(await value('team-c', 'regcred')).toBeNull(); // labelled like a member, but policy registry's base

      // a copy deleted is re-created; a copy edited is reverted
      await admin.core.deleteNamespacedSecret({ namespace: 'team-a', name: 'tls-b' });
      await copyIs('team-a', 'tls-b', 'b1');
      const edited = (await secretIn(admin.core, 'team-c', 'tls-b'))!;
      await admin.core.replaceNamespacedSecret({ namespace: 'team-c', name: 'tls-b', body: { ...edited, data: { v: b64('tampered') } } });
      await copyIs('team-c', 'tls-b', 'b1');

      // a base loses the label: it left the set, its copies go (sync.onSourceDelete: delete, the default)
      const b2 = await admin.core.readNamespacedSecret({ namespace: 'platform', name: 'tls-b' });
      await admin.core.replaceNamespacedSecret({ namespace: 'platform', name: 'tls-b', body: { ...b2, metadata: { ...b2.metadata, labels: { tier: 'gold' } } } });
      await copyIs('team-a', 'tls-b', null);
      await copyIs('team-c', 'tls-b', null);
      expect(await value('platform', 'tls-b')).toBe('b1'); // the object itself stays
      expect(await value('team-b', 'tls-b')).toBe('theirs'); // never ripple's

      // the named base deleted: both names go
      await admin.core.deleteNamespacedSecret({ namespace: 'platform', name: 'regcred' });
      await copyIs('team-a', 'regcred', null);
      await copyIs('team-a', 'regcred-legacy', null);
      await copyIs('team-b', 'regcred-legacy', null);

      // a base deleted: its copies go; the others stay
      await admin.core.deleteNamespacedSecret({ namespace: 'platform', name: 'private' });
      await copyIs('team-a', 'private', null);
      await copyIs('team-b', 'private', null);
      expect(await value('team-a', 'tls-a')).toBe('a2');

      // onSourceDelete: keep (the ConfigMap set): a base that leaves keeps its copies
      const c2 = await admin.core.readNamespacedConfigMap({ namespace: 'platform', name: 'app-config' });
      await admin.core.replaceNamespacedConfigMap({ namespace: 'platform', name: 'app-config', body: { ...c2, metadata: { ...c2.metadata, labels: {} }, data: { mode: 'y' } } });
      await sleep(1500);
      await b.idle();
      expect((await admin.core.readNamespacedConfigMap({ namespace: 'team-a', name: 'app-config' })).data).toEqual({ mode: 'x' });

      // a full resync converges to the same state (the base that left has no copy re-made)
      await resync();
      expect(await value('team-a', 'tls-b')).toBeNull();
      expect(await value('team-c', 'tls-a')).toBe('a2');
      expect(targetErrors).toEqual([]);
      expect(handled.every((h) => ((h as { failures?: unknown[] }).failures ?? []).length === 0)).toBe(true);

      // ripple explain expands the set into its members (and a base's several names), writing nothing
      const explained = await explainClone(admin, POLICIES);
      const rows = (policy: string, name: string) => explained.rows.filter((r) => r.policy === policy && r.name === name);
      expect(rows('shared-certs', 'tls-a').find((r) => r.namespace === 'team-a')).toMatchObject({ kind: 'Secret', action: 'skip', reason: 'up to date' });
      expect(rows('shared-certs', 'tls-b').filter((r) => r.action !== 'skip')).toEqual([]); // left the set, copies gone
      expect(rows('shared-config', 'app-config').length).toBeGreaterThan(0); // left the set with copies kept: still looked at
      expect(rows('registry', 'regcred-legacy').find((r) => r.namespace === 'team-a')).toMatchObject({ action: 'skip' });
      expect(explained.notes).toContain('policy registry: source Secret platform/regcred is absent');

      // The rendered role, as the clone identity: what a set costs (any Secret/ConfigMap, read and written in every
      // namespace), narrowed by admission to ripple's own objects; nothing else
      const clone = kubeFromKubeConfig(cluster.kubeConfig(CLONE_IDENTITY), 'local');
      await expect(clone.core.readNamespacedSecret({ namespace: 'team-b', name: 'tls-b' })).resolves.toBeTruthy();
      await expect(clone.core.replaceNamespacedSecret({ namespace: 'team-b', name: 'tls-b', body: { metadata: { name: 'tls-b', namespace: 'team-b' }, data: { v: b64('x') } } })).rejects.toThrow(
        /ripple-clone-identity|only objects that carry/,
      );
      await expect(clone.core.deleteNamespacedSecret({ namespace: 'platform', name: 'tls-a' })).rejects.toThrow(/ripple-clone-identity|only objects that carry/);
      await expect(clone.core.createNamespace({ body: { metadata: { name: 'x' } } })).rejects.toMatchObject({ name: 'ForbiddenError' });
      await expect(clone.core.deleteNamespace({ name: 'team-a' })).rejects.toMatchObject({ name: 'ForbiddenError' });
      await expect(clone.apps.listNamespacedDeployment({ namespace: 'team-a' })).rejects.toMatchObject({ name: 'ForbiddenError' });
      await expect(clone.core.createNamespacedSecret({ namespace: 'kube-system', body: { metadata: { name: 'y', labels: { 'app.kubernetes.io/managed-by': 'ripple' } } } })).rejects.toThrow(/never writes in kube-\*/);
    } finally {
      await stopPipeline({ forwarder, bus, cluster });
    }
  });
});
