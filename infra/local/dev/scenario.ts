/**
 * The article's scenario, driven through the Kubernetes API (client-node) and kubectl, narrated step by step.
 * Each step acts, then waits (with a timeout) until the cluster shows the expected state, and reports what did
 * not converge. Nothing here does ripple's work: copies, rollouts and denials come from the pipeline.
 *
 *   seed: namespace <source ns> with the base Secret, team namespaces, a Deployment consuming the Secret through
 *         env.valueFrom.secretKeyRef, and a user alice with broad rights (ClusterRole edit) but not cluster-admin
 *   1. a copy appears in every team namespace          4. the consuming Deployment rolls out (new revision)
 *   2. a namespace created later gets a copy too        5. a deleted copy is re-created
 *   3. the base is updated -> every copy is updated      6. a copy whose data someone removed is reverted
 *                                                        7. `kubectl --as=alice delete` of the base is denied
 *                                                        8. `kubectl --as=dora delete namespace` of the base's
 *                                                           namespace is denied (dora may delete namespaces)
 */
import { execFile } from 'node:child_process';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type KubeConfig, type V1Deployment, type V1Secret } from '@kubernetes/client-node';
import { ANN_RESTARTED_FOR, LABEL_MANAGED_BY, MANAGED_BY_VALUE } from '../../../core/constants.ts';
import { orNull } from '../../../kube/errors.ts';
import { errorText } from './manifests.ts';
import type { Output } from './output.ts';

export interface ScenarioConfig {
  kc: KubeConfig;
  /** kubeconfig file for kubectl (admin; alice is impersonated). */
  kubeconfigPath: string;
  source: { namespace: string; name: string };
  /** The protect message of the base's policy (what the denial must say), or null when it has no protect part. */
  protectMessage: string | null;
  teams?: string[];
  lateTeam?: string;
  stepTimeoutMs: number;
  out: Output;
  kubectl?: string | null;
  pollMs?: number;
  /** Called once the seed objects exist (e.g. to apply manifests into the new namespaces). */
  afterSeed?: () => Promise<void>;
}

export interface StepResult {
  title: string;
  converged: boolean;
  detail: string;
  ms: number;
}

const DEPLOYMENT = 'blog';
const SECRET_KEY = 'password';
const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64');

function sameData(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {}).sort();
  const kb = Object.keys(b ?? {}).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a?.[k] === b?.[k]);
}

/** Poll `check` until it returns null (converged) or the timeout passes; returns the last reason. */
export async function waitFor(check: () => Promise<string | null>, timeoutMs: number, pollMs = 200): Promise<string | null> {
  const deadline = Date.now() + timeoutMs;
  let reason: string | null;
  for (;;) {
    try {
      reason = await check();
    } catch (err) {
      reason = `error while checking: ${errorText(err)}`;
    }
    if (reason === null || Date.now() >= deadline) return reason;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0, stdout, stderr }));
  });
}

/** What every step uses: the clients, the scenario's names, the step runner and the copy checks. */
interface Scenario {
  cfg: ScenarioConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  rbac: RbacAuthorizationV1Api;
  srcNs: string;
  name: string;
  teams: string[];
  late: string;
  poll: number;
  results: StepResult[];
  step(title: string, body: () => Promise<{ reason: string | null; detail: string; more?: string }>): Promise<boolean>;
  ensureNamespace(ns: string): Promise<void>;
  readSource(): Promise<V1Secret | null>;
  /** null when every namespace has a copy equal to the base; else what is missing. */
  copyState(namespaces: string[]): Promise<string | null>;
}

function scenario(cfg: ScenarioConfig): Scenario {
  const core = cfg.kc.makeApiClient(CoreV1Api);
  const apps = cfg.kc.makeApiClient(AppsV1Api);
  const rbac = cfg.kc.makeApiClient(RbacAuthorizationV1Api);
  const { namespace: srcNs, name } = cfg.source;
  const teams = cfg.teams ?? ['team-a', 'team-b', 'team-c'];
  const late = cfg.lateTeam ?? 'team-d';
  const out = cfg.out;
  const results: StepResult[] = [];
  const poll = cfg.pollMs ?? 200;

  async function step(title: string, body: () => Promise<{ reason: string | null; detail: string; more?: string }>): Promise<boolean> {
    const start = Date.now();
    let r: { reason: string | null; detail: string; more?: string };
    try {
      r = await body();
    } catch (err) {
      r = { reason: errorText(err), detail: '' };
    }
    const ms = Date.now() - start;
    const secs = `${(ms / 1000).toFixed(1)}s`;
    if (r.reason === null) {
      out.ok(`${title}${r.detail ? `: ${r.detail}` : ''} (${secs})`);
      for (const l of r.more ? r.more.split('\n') : []) out.line(`      ${l}`);
    } else out.fail(`${title}: did not converge${ms >= cfg.stepTimeoutMs ? ` within ${(cfg.stepTimeoutMs / 1000).toFixed(0)}s` : ''}: ${r.reason}`);
    results.push({ title, converged: r.reason === null, detail: r.reason ?? r.detail, ms });
    return r.reason === null;
  }

  const ensureNamespace = async (ns: string) => {
    if (await orNull(core.readNamespace({ name: ns }))) return;
    await core.createNamespace({ body: { metadata: { name: ns, labels: { 'ripple.dev/scenario': 'article' } } } });
  };

  const readSource = () => orNull(core.readNamespacedSecret({ name, namespace: srcNs }));
  const copyState = async (namespaces: string[]): Promise<string | null> => {
    const src = await readSource();
    if (!src) return `the base ${srcNs}/${name} is gone`;
    const missing: string[] = [];
    const stale: string[] = [];
    for (const ns of namespaces) {
      const copy = await orNull(core.readNamespacedSecret({ name, namespace: ns }));
      if (!copy) missing.push(ns);
      else if (!sameData(copy.data, src.data)) stale.push(ns);
    }
    if (missing.length) return `no copy in ${missing.join(', ')}`;
    if (stale.length) return `copy in ${stale.join(', ')} differs from the base`;
    return null;
  };

  return { cfg, core, apps, rbac, srcNs, name, teams, late, poll, results, step, ensureNamespace, readSource, copyState };
}

const revisionOf = (d: V1Deployment | null) => Number(d?.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

/** The article's objects: namespaces, the base Secret, a Deployment reading it, user alice with ClusterRole edit. */
async function seed(sc: Scenario): Promise<void> {
  const { core, apps, rbac, srcNs, name, teams, ensureNamespace, readSource } = sc;
  const out = sc.cfg.out;
  out.step(`seed: namespaces ${srcNs}, ${teams.join(', ')}; Secret ${srcNs}/${name}; Deployment ${teams[0]}/${DEPLOYMENT} reading it through env.valueFrom.secretKeyRef; user alice (ClusterRole edit); user dora (may delete namespaces)`);
  for (const ns of [srcNs, ...teams]) await ensureNamespace(ns);
  const existing = await readSource();
  const base: V1Secret = { metadata: { name, namespace: srcNs, labels: { app: 'blog' } }, type: 'Opaque', data: { [SECRET_KEY]: enc('initial value') } };
  if (existing) await core.replaceNamespacedSecret({ name, namespace: srcNs, body: { ...base, metadata: { ...base.metadata, resourceVersion: existing.metadata?.resourceVersion } } });
  else await core.createNamespacedSecret({ namespace: srcNs, body: base });
  const deployment: V1Deployment = {
    metadata: { name: DEPLOYMENT, namespace: teams[0], labels: { app: DEPLOYMENT } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: DEPLOYMENT } },
      template: {
        metadata: { labels: { app: DEPLOYMENT } },
        spec: { containers: [{ name: 'blog', image: 'nginx:1.27', env: [{ name: 'BLOG_PASSWORD', valueFrom: { secretKeyRef: { name, key: SECRET_KEY } } }] }] },
      },
    },
  };
  if (!(await orNull(apps.readNamespacedDeployment({ name: DEPLOYMENT, namespace: teams[0] })))) await apps.createNamespacedDeployment({ namespace: teams[0], body: deployment });
  const binding = 'ripple-scenario-alice-edit';
  if (!(await orNull(rbac.readClusterRoleBinding({ name: binding })))) {
    await rbac.createClusterRoleBinding({ body: { metadata: { name: binding }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }] } });
  }
  const deleter = 'ripple-scenario-namespace-deleter';
  if (!(await orNull(rbac.readClusterRole({ name: deleter })))) {
    await rbac.createClusterRole({ body: { metadata: { name: deleter }, rules: [{ apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'list', 'delete'] }] } });
  }
  if (!(await orNull(rbac.readClusterRoleBinding({ name: deleter })))) {
    await rbac.createClusterRoleBinding({ body: { metadata: { name: deleter }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: deleter }, subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'dora' }] } });
  }
  await sc.cfg.afterSeed?.();
}

export async function runScenario(cfg: ScenarioConfig): Promise<StepResult[]> {
  const sc = scenario(cfg);
  const { core, apps, srcNs, name, teams, late, poll, step, readSource, copyState, ensureNamespace } = sc;
  await seed(sc);

  // ---- 1. copies everywhere
  await step(`copy created in ${teams.join(', ')}`, async () => ({ reason: await waitFor(() => copyState(teams), cfg.stepTimeoutMs, poll), detail: `${teams.length} copies equal to the base` }));

  // ---- 2. a new namespace
  await step(`namespace ${late} created later gets a copy`, async () => {
    await ensureNamespace(late);
    return { reason: await waitFor(() => copyState([late]), cfg.stepTimeoutMs, poll), detail: '' };
  });

  // ---- 3. source updated -> copies updated
  const before = await orNull(apps.readNamespacedDeployment({ name: DEPLOYMENT, namespace: teams[0] }));
  const revBefore = revisionOf(before);
  const templateBefore = JSON.stringify(before?.spec?.template?.metadata?.annotations ?? {});
  const all = [...teams, late];
  await step(`base ${srcNs}/${name} updated -> copies updated`, async () => {
    const src = await readSource();
    if (!src) return { reason: `the base ${srcNs}/${name} is gone`, detail: '' };
    await core.replaceNamespacedSecret({ name, namespace: srcNs, body: { ...src, data: { ...src.data, [SECRET_KEY]: enc(`rotated at ${new Date().toISOString()}`) } } });
    return { reason: await waitFor(() => copyState(all), cfg.stepTimeoutMs, poll), detail: `${all.length} copies carry the new content` };
  });

  await stepRolledOut(sc, revBefore, templateBefore);
  await stepCopyRecreated(sc);
  await stepCopyReverted(sc);
  await stepProtected(sc);
  await stepNamespaceProtected(sc);
  return sc.results;
}

async function stepRolledOut(sc: Scenario, revBefore: number, templateBefore: string): Promise<void> {
  const { cfg, apps, teams, poll, step } = sc;
  await step(`Deployment ${teams[0]}/${DEPLOYMENT} rolled out`, async () => {
    let detail = '';
    const reason = await waitFor(
      async () => {
        const d = await orNull(apps.readNamespacedDeployment({ name: DEPLOYMENT, namespace: teams[0] }));
        if (!d) return `Deployment ${teams[0]}/${DEPLOYMENT} is gone`;
        const ann = d.spec?.template?.metadata?.annotations ?? {};
        if (JSON.stringify(ann) === templateBefore) return 'pod template unchanged (no restart annotation written)';
        const rev = revisionOf(d);
        if (revBefore > 0 && rev <= revBefore) return `pod template changed but revision still ${rev} (no new ReplicaSet yet)`;
        const rs = await apps.listNamespacedReplicaSet({ namespace: teams[0] });
        const current = rs.items.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === String(rev));
        detail = revBefore > 0 ? `revision ${revBefore} -> ${rev}${current ? ` (ReplicaSet ${current.metadata?.name})` : ''}` : `pod template annotated (${Object.keys(ann).filter((k) => k.startsWith('ripple.dev/')).join(', ') || ANN_RESTARTED_FOR})`;
        return null;
      },
      cfg.stepTimeoutMs,
      poll,
    );
    return { reason, detail };
  });
}

async function stepCopyRecreated(sc: Scenario): Promise<void> {
  const { cfg, core, name, teams, poll, step, copyState } = sc;
  const victim = teams[1] ?? teams[0];
  await step(`copy ${victim}/${name} deleted -> re-created`, async () => {
    const copy = await orNull(core.readNamespacedSecret({ name, namespace: victim }));
    if (!copy) return { reason: `there is no copy in ${victim} to delete`, detail: '' };
    const uid = copy.metadata?.uid;
    await core.deleteNamespacedSecret({ name, namespace: victim });
    const reason = await waitFor(
      async () => {
        const again = await orNull(core.readNamespacedSecret({ name, namespace: victim }));
        if (!again || again.metadata?.uid === uid) return `no new copy in ${victim}`;
        if (again.metadata?.labels?.[LABEL_MANAGED_BY] !== MANAGED_BY_VALUE) return `${victim}/${name} exists but is not labelled ${LABEL_MANAGED_BY}=${MANAGED_BY_VALUE}`;
        return copyState([victim]);
      },
      cfg.stepTimeoutMs,
      poll,
    );
    return { reason, detail: 'new copy with the base content' };
  });
}

/** The edit only removes the key: the editor is left owning no field, so managedFields still names ripple as the last writer (the forwarder's `drifted` flag routes it all the same). */
async function stepCopyReverted(sc: Scenario): Promise<void> {
  const { cfg, core, name, teams, poll, step, copyState } = sc;
  const victim = teams[1] ?? teams[0];
  const edited = teams[2] ?? victim;
  await step(`copy ${edited}/${name} edited (key ${SECRET_KEY} removed) -> reverted`, async () => {
    const copy = await orNull(core.readNamespacedSecret({ name, namespace: edited }));
    if (!copy) return { reason: `there is no copy in ${edited} to edit`, detail: '' };
    const { [SECRET_KEY]: _removed, ...rest } = copy.data ?? {};
    await core.replaceNamespacedSecret({ name, namespace: edited, body: { ...copy, data: rest } });
    const reason = await waitFor(
      async () => {
        const now = await orNull(core.readNamespacedSecret({ name, namespace: edited }));
        if (!now) return `the copy in ${edited} is gone`;
        if (now.metadata?.uid !== copy.metadata?.uid) return `the copy in ${edited} was re-created instead of reverted`;
        return copyState([edited]);
      },
      cfg.stepTimeoutMs,
      poll,
    );
    return { reason, detail: 'the same copy, its content put back' };
  });
}

async function stepProtected(sc: Scenario): Promise<void> {
  const { cfg, srcNs, name, step, readSource } = sc;
  await step(`alice deletes the base ${srcNs}/${name} -> denied`, async () => {
    if (!cfg.protectMessage) return { reason: `the policy for ${srcNs}/${name} has no protect part`, detail: '' };
    // kubectl when it is installed (what a user types); otherwise the same request through the API with the
    // impersonation header kubectl --as sends, so the step never depends on a tool being on PATH.
    const r = cfg.kubectl
      ? await run(cfg.kubectl, ['--kubeconfig', cfg.kubeconfigPath, '--as=alice', '-n', srcNs, 'delete', 'secret', name])
      : await deleteAs(cfg.kc, 'alice', `/api/v1/namespaces/${srcNs}/secrets/${name}`);
    if (r.code === 0) return { reason: `delete as alice succeeded: ${r.stdout.trim()}`, detail: '' };
    const denied = r.stderr.trim();
    if (!denied.includes(cfg.protectMessage)) return { reason: `denied, but not by ripple's policy: ${denied}`, detail: '' };
    if (!(await readSource())) return { reason: `the base ${srcNs}/${name} is gone after the denied delete`, detail: '' };
    return { reason: null, detail: '', more: denied };
  });
}

async function stepNamespaceProtected(sc: Scenario): Promise<void> {
  const { cfg, core, srcNs, name, step, readSource } = sc;
  await step(`dora deletes the namespace ${srcNs} (to take the base with it) -> denied`, async () => {
    if (!cfg.protectMessage) return { reason: `the policy for ${srcNs}/${name} has no protect part`, detail: '' };
    const r = cfg.kubectl
      ? await run(cfg.kubectl, ['--kubeconfig', cfg.kubeconfigPath, '--as=dora', 'delete', 'namespace', srcNs, '--wait=false'])
      : await deleteAs(cfg.kc, 'dora', `/api/v1/namespaces/${srcNs}`);
    if (r.code === 0) return { reason: `namespace delete as dora succeeded: ${r.stdout.trim()}`, detail: '' };
    const denied = r.stderr.trim();
    if (!denied.includes('protected by ripple policy')) return { reason: `denied, but not by ripple's policy: ${denied}`, detail: '' };
    const ns = await orNull(core.readNamespace({ name: srcNs }));
    if (ns?.status?.phase !== 'Active') return { reason: `namespace ${srcNs} is ${ns ? ns.status?.phase : 'gone'} after the denied delete`, detail: '' };
    if (!(await readSource())) return { reason: `the base ${srcNs}/${name} is gone after the denied delete`, detail: '' };
    return { reason: null, detail: '', more: denied };
  });
}

/** DELETE `path` impersonating `user` (the `Impersonate-User` header kubectl --as sends); kubectl-like result. */
async function deleteAs(kc: KubeConfig, user: string, path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const server = new URL(kc.getCurrentCluster()?.server ?? '');
  const opts: RequestOptions = { method: 'DELETE', hostname: server.hostname, port: server.port, path, headers: {} };
  await kc.applyToHTTPSOptions(opts);
  opts.headers = { ...(opts.headers as Record<string, string>), 'Impersonate-User': user, Accept: 'application/json' };
  return new Promise((resolve, reject) => {
    const req = httpsRequest(opts, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        const ok = (res.statusCode ?? 500) < 300;
        let message = body;
        try {
          const status = JSON.parse(body) as { reason?: string; message?: string };
          message = `Error from server (${status.reason ?? res.statusCode}): ${status.message ?? body}`;
        } catch {}
        resolve(ok ? { code: 0, stdout: `deleted ${path}`, stderr: '' } : { code: 1, stdout: '', stderr: message });
      });
    });
    req.on('error', reject);
    req.end();
  });
}
