/**
 * The imported cases of the Kyverno corpus (test/fixtures/kyverno/), run as their chainsaw tests run them, on the
 * embedded cluster (RBAC enforced) -> forwarder -> local EventBridge (rule with the rendered clone pattern) -> clone
 * handler, with the RipplePolicies `ripple import kyverno` made of the case's files. Each case applies what its file
 * ships besides the policy (the base, its Namespace) as kubectl would, creates the base where the chainsaw test
 * creates it in another step, and asserts the chainsaw assertions (copy exists with the data; source edits followed;
 * a deleted copy re-created; an edited copy reverted; a deleted source takes its copies; removing the policy leaves
 * them; with synchronize: false, made once and then left alone; a namespaced Policy's copy next to its base). A protect case (deny conditions on the operation, imported) runs through the rendered admission policy
 * with kubectl as a user RBAC allows everything: UPDATE and DELETE denied, the exempt actor allowed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject, V1Secret } from '@kubernetes/client-node';
import { parseAllDocuments, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import { startCluster, type EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startEventBridge, type LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { Forwarder } from '../../../forwarder/index.ts';
import { forwardToBus, stopPipeline } from '../../support/forwarder.ts';
import { LABEL_MANAGED_BY, RIPPLE_NAMESPACE } from '../../../core/constants.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { clonePattern } from '../../../render/patterns.ts';
import { renderAdmission } from '../../../render/admission.ts';
import { resyncEntry } from '../../../events/schema.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { importKyverno, importKyvernoFiles } from '../../../cli/import/kyverno.ts';
import { routeToClone, poller, secretIn } from '../clone/harness.ts';
import { applyRenderedRbac, FORWARDER_IDENTITY } from '../../support/rbac.ts';

const ROOT = 'test/fixtures/kyverno';
const FOO = Buffer.from('bar').toString('base64'); // the corpus's `foo: YmFy`

interface Env {
  admin: Kube;
  policies: RipplePolicy[];
  eventually: ReturnType<typeof poller>;
  /** What the case's file(s) ship besides the policy, created as `kubectl apply` would (Namespaces first). */
  applyShipped(): Promise<void>;
  /** Remove the RipplePolicies (as a deploy without them would) and run a full resync. */
  removePolicies(): Promise<void>;
  handled(): { failures?: unknown[] }[];
}

/** One case: its imported policies on a fresh cluster with the whole pipeline; `run` is the chainsaw test. */
async function withPipeline(name: string, run: (env: Env) => Promise<void>): Promise<void> {
  const files = readdirSync(join(ROOT, name)).map((f) => join(ROOT, name, f));
  const { policies } = importKyvernoFiles(files);
  const shipped = files
    .flatMap((f) => parseAllDocuments(readFileSync(f, 'utf8')).map((d) => d.toJS() as KubernetesObject | null))
    .filter((o): o is KubernetesObject => !!o && !String(o.apiVersion).includes('kyverno.io'))
    .sort((a, b) => Number(b.kind === 'Namespace') - Number(a.kind === 'Namespace'));
  let cluster: EmbeddedCluster | undefined;
  let bus: LocalEventBridge | undefined;
  let forwarder: Forwarder | undefined;
  const handled: { failures?: unknown[] }[] = [];
  const targetErrors: unknown[] = [];
  try {
    cluster = await startCluster({ authorization: 'RBAC' });
    const admin = kubeFromKubeConfig(cluster.kubeConfig(), 'local');
    await admin.core.createNamespace({ body: { metadata: { name: RIPPLE_NAMESPACE } } });
    await admin.core.createNamespace({ body: { metadata: { name: 'default' } } }).catch(() => {});
    await applyRenderedRbac(admin, policies, 'forwarder', 'clone');
    bus = await startEventBridge();
    const live = [...policies];
    routeToClone(bus, cluster, live, clonePattern(policies), targetErrors, (_event, result) => handled.push(result as { failures?: unknown[] }));
    forwarder = await forwardToBus(cluster.kubeConfig(FORWARDER_IDENTITY), bus);
    const b = bus;
    await run({
      admin,
      policies,
      eventually: poller(() => `${name}: handled ${handled.length} events (${handled.map((h) => JSON.stringify(h)).join(' ')}), target errors: ${targetErrors.map(String).join('; ')}`),
      async applyShipped() {
        for (const o of shipped) await admin.objects.create(o).catch((e: Error) => (e.name === 'ConflictError' ? undefined : Promise.reject(e)));
      },
      async removePolicies() {
        live.splice(0);
        b.putEvents([{ ...resyncEntry({ cluster: 'local', reason: 'manual', observedAt: new Date().toISOString() }), EventBusName: 'ripple' }]);
        await b.idle();
      },
      handled: () => handled,
    });
    expect(targetErrors).toEqual([]);
    expect(handled.every((h) => (h.failures ?? []).length === 0)).toBe(true);
  } finally {
    await stopPipeline({ forwarder, bus, cluster });
  }
}

const secret = (namespace: string, name: string, data: Record<string, string> = { foo: FOO }, extra: Partial<V1Secret> = {}): V1Secret => ({
  ...extra,
  metadata: { name, namespace, ...extra.metadata },
  data,
});
const ns = (admin: Kube, name: string, labels?: Record<string, string>) => admin.core.createNamespace({ body: { metadata: { name, labels } } });
const gone = (admin: Kube, namespace: string, name: string) => async () => (await secretIn(admin.core, namespace, name)) === null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('imported Kyverno conformance cases, run on the embedded cluster with the handlers', { timeout: 60_000 }, () => {
  it('cpol-clone-sync-create: a new Namespace gets the copy', () =>
    withPipeline('cpol-clone-sync-create', async ({ admin, eventually }) => {
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'regcred') });
      await ns(admin, 'cpol-clone-sync-create-ns');
      const copy = await eventually('copy in cpol-clone-sync-create-ns', () => secretIn(admin.core, 'cpol-clone-sync-create-ns', 'regcred'));
      expect(copy.data).toEqual({ foo: FOO });
    }));

  it('cpol-clone-sync-create-source-after-policy: a source created after the policy is copied into a new Namespace', () =>
    withPipeline('cpol-clone-sync-create-source-after-policy', async ({ admin, eventually }) => {
      await ns(admin, 'cpol-clone-sync-create-source-after-policy-ns');
      await sleep(300); // the policy is live and the namespace handled before the source exists
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'regcred') });
      await eventually('copy once the source exists', () => secretIn(admin.core, 'cpol-clone-sync-create-source-after-policy-ns', 'regcred'));
    }));

  it('cpol-clone-sync-delete-downstream: a deleted copy is re-created', () =>
    withPipeline('cpol-clone-sync-delete-downstream', async ({ admin, eventually }) => {
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'regcred') });
      await ns(admin, 'cpol-clone-sync-delete-downstream-ns');
      const first = await eventually('copy', () => secretIn(admin.core, 'cpol-clone-sync-delete-downstream-ns', 'regcred'));
      await admin.core.deleteNamespacedSecret({ namespace: 'cpol-clone-sync-delete-downstream-ns', name: 'regcred' });
      const back = await eventually('copy re-created', async () => {
        const s = await secretIn(admin.core, 'cpol-clone-sync-delete-downstream-ns', 'regcred');
        return s && s.metadata?.uid !== first.metadata?.uid ? s : null;
      });
      expect(back.data).toEqual({ foo: FOO });
    }));

  it('cpol-clone-sync-delete-policy: the copy stays when the policy is removed (the file\'s base applied with kubectl)', () =>
    withPipeline('cpol-clone-sync-delete-policy', async ({ admin, eventually, applyShipped, removePolicies }) => {
      await applyShipped();
      await ns(admin, 'cpol-clone-sync-delete-policy-ns');
      await eventually('copy', () => secretIn(admin.core, 'cpol-clone-sync-delete-policy-ns', 'regcred'));
      await removePolicies();
      await sleep(300);
      expect((await secretIn(admin.core, 'cpol-clone-sync-delete-policy-ns', 'regcred'))?.data).toEqual({ foo: FOO });
    }));

  it('cpol-clone-sync-delete-rule: both bases copied (context variable inlined); the copies stay when the rules go', () =>
    withPipeline('cpol-clone-sync-delete-rule', async ({ admin, eventually, applyShipped, removePolicies }) => {
      await applyShipped();
      await ns(admin, 'cpol-clone-sync-delete-rule-ns');
      await eventually('Secret copy', () => secretIn(admin.core, 'cpol-clone-sync-delete-rule-ns', 'regcred'));
      const cm = await eventually('ConfigMap copy', () => admin.core.readNamespacedConfigMap({ namespace: 'cpol-clone-sync-delete-rule-ns', name: 'mytestcm' }).catch(() => null));
      expect(cm.data).toEqual({ color: 'yellow' });
      await removePolicies();
      await sleep(300);
      expect(await secretIn(admin.core, 'cpol-clone-sync-delete-rule-ns', 'regcred')).not.toBeNull();
    }));

  it('cpol-clone-sync-delete-source: deleting the source deletes the copies', () =>
    withPipeline('cpol-clone-sync-delete-source', async ({ admin, eventually, applyShipped }) => {
      await applyShipped();
      await ns(admin, 'cpol-clone-sync-delete-source-trigger-ns');
      await eventually('copy', () => secretIn(admin.core, 'cpol-clone-sync-delete-source-trigger-ns', 'regcred'));
      await admin.core.deleteNamespacedSecret({ namespace: 'cpol-clone-sync-delete-source-ns', name: 'regcred' });
      await eventually('copy deleted with its source', gone(admin, 'cpol-clone-sync-delete-source-trigger-ns', 'regcred'));
    }));

  it('cpol-clone-sync-modify-downstream: an edited copy is reverted (context variable inlined)', () =>
    withPipeline('cpol-clone-sync-modify-downstream', async ({ admin, eventually, applyShipped }) => {
      await applyShipped();
      await ns(admin, 'myfoons');
      const copy = await eventually('copy', () => secretIn(admin.core, 'myfoons', 'regcred'));
      await admin.core.replaceNamespacedSecret({ namespace: 'myfoons', name: 'regcred', body: { ...copy, data: { foo: Buffer.from('edited').toString('base64') } } });
      await eventually('copy reverted to the base', async () => (await secretIn(admin.core, 'myfoons', 'regcred'))?.data?.foo === FOO);
    }));

  it('cpol-clone-sync-modify-source: a source edit reaches the copy (context variable inlined)', () =>
    withPipeline('cpol-clone-sync-modify-source', async ({ admin, eventually, applyShipped }) => {
      await applyShipped();
      await ns(admin, 'cpol-clone-sync-modify-source-trigger-ns');
      const copy = await eventually('copy', () => secretIn(admin.core, 'cpol-clone-sync-modify-source-trigger-ns', 'regcred'));
      expect(copy.data).toEqual({ foo: FOO });
      const src = await admin.core.readNamespacedSecret({ namespace: 'cpol-clone-sync-modify-source-ns', name: 'regcred' });
      await admin.core.replaceNamespacedSecret({ namespace: 'cpol-clone-sync-modify-source-ns', name: 'regcred', body: { ...src, data: { foo: 'aGVyZWFyZXNvbWVjb29sY2hhbmdlcw==' } } });
      await eventually('copy updated', async () => (await secretIn(admin.core, 'cpol-clone-sync-modify-source-trigger-ns', 'regcred'))?.data?.foo === 'aGVyZWFyZXNvbWVjb29sY2hhbmdlcw==');
    }));

  /** The cloneList cases' bases (source-manifests.yaml of the orphan case): a labelled Secret and ConfigMap in default. */
  const cloneListBases = async (admin: Kube) => {
    const labels = { allowedToBeCloned: 'true' };
    await admin.core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'image-secret', namespace: 'default', labels }, type: 'kubernetes.io/basic-auth', stringData: { username: 'admin', password: 't0p-Secret-super' } } });
    await admin.core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'bootstrap-config', namespace: 'default', labels }, data: { initial_lives: '15' } } });
    await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'not-shared') });
  };
  const cloneListCopies = async (admin: Kube, eventually: Env['eventually'], namespace: string) => {
    const s = await eventually(`Secret copy in ${namespace}`, () => secretIn(admin.core, namespace, 'image-secret'));
    expect(s.type).toBe('kubernetes.io/basic-auth');
    expect(s.metadata?.labels?.allowedToBeCloned).toBe('true');
    const cm = await eventually(`ConfigMap copy in ${namespace}`, () => admin.core.readNamespacedConfigMap({ namespace, name: 'bootstrap-config' }).catch(() => null));
    expect(cm.data).toEqual({ initial_lives: '15' });
    expect(await secretIn(admin.core, namespace, 'not-shared')).toBeNull();
  };

  for (const c of ['cpol-clone-list-sync-create', 'cpol-clone-list-sync-create-deprecated']) {
    it(`${c}: every labelled Secret/ConfigMap of default is copied, under its own name, into a new Namespace`, () =>
      withPipeline(c, async ({ admin, eventually }) => {
        await cloneListBases(admin);
        await ns(admin, `${c}-ns`);
        await cloneListCopies(admin, eventually, `${c}-ns`);
      }));
  }

  it('cpol-clone-list-sync-update-source: an edit of a labelled base reaches its copy', () =>
    withPipeline('cpol-clone-list-sync-update-source', async ({ admin, eventually }) => {
      await cloneListBases(admin);
      await ns(admin, 'prod');
      await cloneListCopies(admin, eventually, 'prod');
      const cm = await admin.core.readNamespacedConfigMap({ namespace: 'default', name: 'bootstrap-config' });
      await admin.core.replaceNamespacedConfigMap({ namespace: 'default', name: 'bootstrap-config', body: { ...cm, data: { initial_lives: '50' } } });
      await eventually('ConfigMap copy updated', async () => (await admin.core.readNamespacedConfigMap({ namespace: 'prod', name: 'bootstrap-config' })).data?.initial_lives === '50');
    }));

  it('cpol-clone-list-sync-orphan-downstream-delete-policy: copies made; they stay when the policy is removed (noted: Kyverno deletes them)', () =>
    withPipeline('cpol-clone-list-sync-orphan-downstream-delete-policy', async ({ admin, eventually, removePolicies }) => {
      await cloneListBases(admin);
      await ns(admin, 'cpol-clone-list-sync-orphan-delete-policy-ns');
      await cloneListCopies(admin, eventually, 'cpol-clone-list-sync-orphan-delete-policy-ns');
      await removePolicies();
      await sleep(300);
      expect(await secretIn(admin.core, 'cpol-clone-list-sync-orphan-delete-policy-ns', 'image-secret')).not.toBeNull();
    }));

  it('clone-source-managed-by-label-helm: a Helm-managed source is copied into the labelled Namespace only, then deleted with it', () =>
    withPipeline('clone-source-managed-by-label-helm', async ({ admin, eventually }) => {
      const dockerconfig = Buffer.from('{"auths":{}}').toString('base64');
      await ns(admin, 'platform');
      await admin.core.createNamespacedSecret({
        namespace: 'platform',
        body: secret('platform', 'harbor-external', { '.dockerconfigjson': dockerconfig }, { type: 'kubernetes.io/dockerconfigjson', metadata: { labels: { 'app.kubernetes.io/managed-by': 'Helm' }, annotations: { 'meta.helm.sh/release-name': 'bootstrap' } } }),
      });
      await ns(admin, 'unlabelled');
      await ns(admin, 'my-app', { 'sync-image-pull-secrets': 'true', 'app.kubernetes.io/managed-by': 'Helm' });
      const copy = await eventually('copy in my-app', () => secretIn(admin.core, 'my-app', 'harbor-external'));
      expect(copy.type).toBe('kubernetes.io/dockerconfigjson');
      expect(copy.data).toEqual({ '.dockerconfigjson': dockerconfig });
      expect(copy.metadata?.labels?.[LABEL_MANAGED_BY]).toBe('ripple'); // Kyverno's copy says kyverno
      expect(await secretIn(admin.core, 'unlabelled', 'harbor-external')).toBeNull();
      await admin.core.deleteNamespacedSecret({ namespace: 'platform', name: 'harbor-external' });
      await eventually('copy deleted with its source', gone(admin, 'my-app', 'harbor-external'));
    }));

  it('clone-source-name-exceeds-63-characters: a long-named source is copied under its target name', () =>
    withPipeline('clone-source-name-exceeds-63-characters', async ({ admin, eventually }) => {
      const long = 'regcred'.repeat(14); // 98 characters, as in the case's file
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', long) });
      await ns(admin, 'production');
      const copy = await eventually('copy regcred in production', () => secretIn(admin.core, 'production', 'regcred'));
      expect(copy.data).toEqual({ foo: FOO });
    }));

  // synchronize: false -> sync.mode once: made when the namespace appears, then left to it (the chainsaw assertions)
  const nosync = (name: string) => `${name}-ns`;
  it.each([
    ['cpol-clone-nosync-create', 'the copy is made in a new Namespace'],
    ['cpol-clone-nosync-delete-downstream', 'a deleted copy is not re-created'],
    ['cpol-clone-nosync-modify-downstream', 'an edited copy is kept as edited'],
    ['cpol-clone-nosync-modify-source', 'a source edit does not reach the copy'],
    ['cpol-clone-nosync-delete-source', 'the copy stays when the source is deleted'],
    ['cpol-clone-nosync-delete-policy', 'the copy stays when the policy is removed'],
  ])('%s: %s (synchronize: false -> sync.mode once)', (name) =>
    withPipeline(name, async ({ admin, eventually, applyShipped, removePolicies }) => {
      await applyShipped();
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'regcred') }).catch(() => undefined);
      await ns(admin, nosync(name));
      const copy = await eventually('copy', () => secretIn(admin.core, nosync(name), 'regcred'));
      expect(copy.data).toEqual({ foo: FOO });
      const edited = Buffer.from('edited').toString('base64');
      if (name.endsWith('delete-downstream')) {
        await admin.core.deleteNamespacedSecret({ namespace: nosync(name), name: 'regcred' });
        await sleep(1_500); // chainsaw sleeps 3 s, then asserts it is absent
        expect(await secretIn(admin.core, nosync(name), 'regcred')).toBeNull();
      } else if (name.endsWith('modify-downstream')) {
        await admin.core.replaceNamespacedSecret({ namespace: nosync(name), name: 'regcred', body: { ...copy, data: { foo: edited } } });
        await sleep(1_500);
        expect((await secretIn(admin.core, nosync(name), 'regcred'))?.data).toEqual({ foo: edited });
      } else if (name.endsWith('modify-source')) {
        const src = await admin.core.readNamespacedSecret({ namespace: 'default', name: 'regcred' });
        await admin.core.replaceNamespacedSecret({ namespace: 'default', name: 'regcred', body: { ...src, data: { foo: edited } } });
        await sleep(1_500);
        expect((await secretIn(admin.core, nosync(name), 'regcred'))?.data).toEqual({ foo: FOO });
      } else if (name.endsWith('delete-source')) {
        await admin.core.deleteNamespacedSecret({ namespace: 'default', name: 'regcred' });
        await sleep(1_500);
        expect((await secretIn(admin.core, nosync(name), 'regcred'))?.data).toEqual({ foo: FOO });
      } else if (name.endsWith('delete-policy')) {
        await removePolicies();
        await sleep(300);
        expect((await secretIn(admin.core, nosync(name), 'regcred'))?.data).toEqual({ foo: FOO });
      }
    }),
  );

  it('cpol-clone-nosync-delete-rule: both bases copied once into a new Namespace; they stay when the rules go', () =>
    withPipeline('cpol-clone-nosync-delete-rule', async ({ admin, eventually, applyShipped, removePolicies }) => {
      await applyShipped();
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'regcred') }).catch(() => undefined);
      await ns(admin, 'cpol-clone-nosync-delete-rule-ns');
      await eventually('Secret copy', () => secretIn(admin.core, 'cpol-clone-nosync-delete-rule-ns', 'regcred'));
      await eventually('ConfigMap copy', () => admin.core.readNamespacedConfigMap({ namespace: 'cpol-clone-nosync-delete-rule-ns', name: 'mytestcm' }).catch(() => null));
      await removePolicies();
      await sleep(300);
      expect(await secretIn(admin.core, 'cpol-clone-nosync-delete-rule-ns', 'regcred')).not.toBeNull();
    }));

  // a namespaced Policy: a second object next to the base, under another name, in the Policy's own namespace
  const beside = async (admin: Kube, namespace: string, applyShipped: () => Promise<void>) => {
    await ns(admin, namespace).catch(() => undefined);
    await applyShipped();
    await admin.core.createNamespacedSecret({ namespace, body: secret(namespace, 'regcred') }).catch(() => undefined);
  };
  it.each([
    ['pol-clone-sync-create-source-after-policy', 'pol-clone-sync-create-source-after-policy-ns', 'mynewsecret', 'create'],
    ['pol-clone-sync-delete-downstream', 'pol-sync-clone-delete-downstream', 'myclonedsecret', 'delete-downstream'],
    ['pol-clone-sync-modify-downstream', 'pol-clone-sync-modify-downstream-ns', 'myclonedsecret', 'modify-downstream'],
    ['pol-clone-sync-modify-source', 'poltest', 'myclonedsecret', 'modify-source'],
    ['pol-clone-sync-delete-source', 'pol-clone-sync-delete-source', 'newsecret', 'delete-source'],
    ['pol-clone-sync-delete-policy', 'default', 'newsecret', 'delete-policy'],
    ['pol-clone-nosync-create', 'default', 'newsecret', 'create'],
  ])('%s: the copy %s/%s next to the base follows the chainsaw test (%s)', (name, namespace, copyName, step) =>
    withPipeline(name, async ({ admin, eventually, applyShipped, removePolicies }) => {
      await beside(admin, namespace, applyShipped);
      const copy = await eventually('copy next to the base', () => secretIn(admin.core, namespace, copyName));
      expect(copy.data).toEqual({ foo: FOO });
      const edited = Buffer.from('edited').toString('base64');
      if (step === 'delete-downstream') {
        await admin.core.deleteNamespacedSecret({ namespace, name: copyName });
        await eventually('copy re-created', async () => {
          const s = await secretIn(admin.core, namespace, copyName);
          return s && s.metadata?.uid !== copy.metadata?.uid ? s : null;
        });
      } else if (step === 'modify-downstream') {
        await admin.core.replaceNamespacedSecret({ namespace, name: copyName, body: { ...copy, data: { foo: edited } } });
        await eventually('copy reverted', async () => (await secretIn(admin.core, namespace, copyName))?.data?.foo === FOO);
      } else if (step === 'modify-source') {
        const src = await admin.core.readNamespacedSecret({ namespace, name: 'regcred' });
        await admin.core.replaceNamespacedSecret({ namespace, name: 'regcred', body: { ...src, data: { foo: edited } } });
        await eventually('copy updated', async () => (await secretIn(admin.core, namespace, copyName))?.data?.foo === edited);
      } else if (step === 'delete-source') {
        await admin.core.deleteNamespacedSecret({ namespace, name: 'regcred' });
        await eventually('copy deleted with its source', gone(admin, namespace, copyName));
      } else if (step === 'delete-policy') {
        await removePolicies();
        await sleep(300);
        expect(await secretIn(admin.core, namespace, copyName)).not.toBeNull();
      }
      // the base itself is never written
      if (step !== 'delete-source') expect((await admin.core.readNamespacedSecret({ namespace, name: 'regcred' })).metadata?.labels?.[LABEL_MANAGED_BY]).toBeUndefined();
    }),
  );

  it('policies-sync-secrets: regcred is copied into a new Namespace with its data', () =>
    withPipeline('policies-sync-secrets', async ({ admin, eventually }) => {
      await admin.core.createNamespacedSecret({ namespace: 'default', body: secret('default', 'regcred') });
      await ns(admin, 'sync-secrets-ns01');
      const copy = await eventually('copy', () => secretIn(admin.core, 'sync-secrets-ns01', 'regcred'));
      expect(copy.data).toEqual({ foo: FOO });
    }));
});

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

/** Kyverno's usual way to name the operations (deny conditions on {{request.operation}}), with a cluster-admin exemption. */
const PROTECT = `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: protect-regcred
spec:
  validationFailureAction: Enforce
  background: false
  rules:
  - name: block-updates-deletes
    match:
      any:
      - resources:
          kinds: [Secret]
          names: [regcred]
          namespaces: [platform]
    exclude:
      any:
      - clusterRoles: [cluster-admin]
    validate:
      message: "regcred is protected; ask a cluster-admin."
      deny:
        conditions:
          any:
          - key: "{{request.operation || 'BACKGROUND'}}"
            operator: AnyIn
            value: [DELETE, UPDATE]
`;

describe.skipIf(!hasKubectl)('an imported protect rule (deny conditions on the operation) on the embedded cluster', { timeout: 60_000 }, () => {
  it('denies UPDATE and DELETE of the base to a user RBAC allows, lets the cluster admin through', async () => {
    const { policies } = importKyverno([{ file: 'protect.yaml', text: PROTECT }]);
    expect(policies[0].spec.protect?.operations).toEqual(['UPDATE', 'DELETE']);
    const cluster = await startCluster();
    const dir = mkdtempSync(join(tmpdir(), 'ripple-kyverno-protect-'));
    try {
      writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(), { mode: 0o600 });
      const env = { PATH: process.env.PATH, HOME: dir, KUBECONFIG: join(dir, 'kubeconfig'), KUBECACHEDIR: join(dir, 'cache') };
      const kubectl = (args: string[], input?: string) =>
        new Promise<{ code: number; out: string }>((done) => {
          const child = execFile('kubectl', args, { env, timeout: 20_000 }, (err, stdout, stderr) => done({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr }));
          if (input !== undefined) child.stdin?.end(input);
        });
      const ok = async (args: string[], input?: string) => {
        const r = await kubectl(args, input);
        if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${r.out}`);
        return r.out;
      };
      // Prepare: the base, the rendered admission policy, alice with ClusterRole edit
      await ok(['create', 'namespace', 'platform']);
      await ok(['create', 'secret', 'generic', 'regcred', '-n', 'platform', '--from-literal=foo=bar']);
      await ok(['apply', '-f', '-'], renderAdmission(policies[0])!.map((o) => stringify(o)).join('---\n'));
      await ok(['create', 'clusterrolebinding', 'alice-edit', '--clusterrole=edit', '--user=alice']);
      // Act + Assess: alice is denied UPDATE and DELETE, with the policy's message
      const update = await kubectl(['label', 'secret', 'regcred', '-n', 'platform', 'x=y', '--as', 'alice']);
      expect(update.code).not.toBe(0);
      expect(update.out).toContain('regcred is protected; ask a cluster-admin.');
      const del = await kubectl(['delete', 'secret', 'regcred', '-n', 'platform', '--as', 'alice']);
      expect(del.code).not.toBe(0);
      expect(del.out).toContain('regcred is protected; ask a cluster-admin.');
      // other Secrets are hers, and the cluster admin (system:masters, what cluster-admin is bound to) may change the base
      await ok(['create', 'secret', 'generic', 'other', '-n', 'platform', '--from-literal=a=b', '--as', 'alice']);
      await ok(['label', 'secret', 'regcred', '-n', 'platform', 'x=y']);
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
