/**
 * The fleet scenario of `ripple dev --clusters a,b`, for a Secret policy that names clusters (docs/fleet.md): the base
 * in its cluster, copies in `team-a` and `team-b` of every target cluster, a consuming Deployment in a target cluster
 * other than the source's. Steps, each waiting for convergence through the forwarders, the bus and the handlers:
 *   1. every target cluster holds a copy equal to the base in each team namespace
 *   2. the base updated -> every copy in every cluster follows
 *   3. a copy deleted in the far cluster -> re-created there
 *   4. the consuming Deployment in the far cluster rolled out (new revision)
 */
import { AppsV1Api, CoreV1Api, KubeConfig, type V1Deployment } from '@kubernetes/client-node';
import { orNull } from '../../../kube/errors.ts';
import { targetClustersOf, sourceClusterOf } from '../../../core/policy/fleet.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { baseName } from '../../../core/policy/select.ts';
import type { Output } from './output.ts';
import { waitFor, type StepResult } from './scenario.ts';

export interface FleetScenarioConfig {
  /** A kubeconfig with one context per cluster, named after it. */
  kubeconfigPath: string;
  clusters: string[];
  policy: RipplePolicy;
  stepTimeoutMs: number;
  out: Output;
  /** Runs after the seed (objects waiting for the source namespace). */
  afterSeed(): Promise<void>;
}

const TEAMS = ['team-a', 'team-b'];
const DEPLOYMENT = 'blog';
const KEY = 'password';
const enc = (s: string) => Buffer.from(s, 'utf8').toString('base64');

export async function runFleetScenario(cfg: FleetScenarioConfig): Promise<StepResult[]> {
  const { out, policy } = cfg;
  const source = sourceClusterOf(policy, cfg.clusters)!;
  const targets = targetClustersOf(policy, cfg.clusters);
  const far = targets.find((c) => c !== source) ?? targets[0]!;
  const { namespace: srcNs } = policy.spec.source;
  const srcName = baseName(policy);
  const copyName = policy.spec.sync?.targetName ?? srcName;
  const api = (cluster: string) => {
    const kc = new KubeConfig();
    kc.loadFromFile(cfg.kubeconfigPath);
    kc.setCurrentContext(cluster);
    return { core: kc.makeApiClient(CoreV1Api), apps: kc.makeApiClient(AppsV1Api) };
  };
  const apis = Object.fromEntries(cfg.clusters.map((c) => [c, api(c)]));
  const src = apis[source]!;
  const results: StepResult[] = [];
  const step = async (title: string, check: () => Promise<string | null>, detail = '') => {
    const start = Date.now();
    const reason = await waitFor(check, cfg.stepTimeoutMs);
    const ms = Date.now() - start;
    if (reason === null) out.ok(`${title}${detail ? `: ${detail}` : ''} (${(ms / 1000).toFixed(1)}s)`);
    else out.fail(`${title}: did not converge within ${(cfg.stepTimeoutMs / 1000).toFixed(0)}s: ${reason}`);
    results.push({ title, converged: reason === null, detail: reason ?? detail, ms });
    return reason === null;
  };
  const copiesEqualBase = async (): Promise<string | null> => {
    const base = await orNull(src.core.readNamespacedSecret({ namespace: srcNs, name: srcName }));
    if (!base) return `the base ${source}/${srcNs}/${srcName} is gone`;
    const off: string[] = [];
    for (const c of targets) {
      for (const ns of TEAMS) {
        const copy = await orNull(apis[c]!.core.readNamespacedSecret({ namespace: ns, name: copyName }));
        if (!copy) off.push(`${c}/${ns}: no copy`);
        else if (copy.data?.[KEY] !== base.data?.[KEY]) off.push(`${c}/${ns}: differs from the base`);
      }
    }
    return off.length ? off.join(', ') : null;
  };
  const revision = async () => Number((await orNull(apis[far]!.apps.readNamespacedDeployment({ namespace: TEAMS[0]!, name: DEPLOYMENT })))?.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? 0);

  await seed({ cfg, source, targets, far, srcNs, srcName, copyName, apis });
  await cfg.afterSeed();

  await step(`copies in ${TEAMS.join(', ')} of ${targets.join(', ')}`, copiesEqualBase, `${targets.length * TEAMS.length} copies equal to the base`);
  await waitFor(async () => ((await revision()) > 0 ? null : 'no revision yet'), cfg.stepTimeoutMs);
  const revBefore = await revision();

  const base = (await src.core.readNamespacedSecret({ namespace: srcNs, name: srcName }))!;
  await src.core.replaceNamespacedSecret({ namespace: srcNs, name: srcName, body: { ...base, data: { ...base.data, [KEY]: enc(`fleet-${Date.now()}`) } } });
  await step(`base ${source}/${srcNs}/${srcName} updated -> copies updated in every cluster`, copiesEqualBase);

  const gone = await orNull(apis[far]!.core.readNamespacedSecret({ namespace: TEAMS[1]!, name: copyName }));
  await apis[far]!.core.deleteNamespacedSecret({ namespace: TEAMS[1]!, name: copyName }).catch(() => undefined);
  await step(`copy ${far}/${TEAMS[1]}/${copyName} deleted -> re-created`, async () => {
    const c = await orNull(apis[far]!.core.readNamespacedSecret({ namespace: TEAMS[1]!, name: copyName }));
    if (!c) return 'no copy yet';
    if (c.metadata?.uid === gone?.metadata?.uid) return 'still the deleted copy';
    return copiesEqualBase();
  });

  await step(
    `Deployment ${far}/${TEAMS[0]}/${DEPLOYMENT} rolled out`,
    async () => {
      const rev = await revision();
      return rev > revBefore ? null : `revision still ${rev}`;
    },
    `revision ${revBefore} -> newer`,
  );
  return results;
}

type Apis = Record<string, { core: CoreV1Api; apps: AppsV1Api }>;

/** Team namespaces in every target cluster, the base in its cluster, a consuming Deployment in the far cluster. */
async function seed(x: { cfg: FleetScenarioConfig; source: string; targets: string[]; far: string; srcNs: string; srcName: string; copyName: string; apis: Apis }): Promise<void> {
  const { cfg, source, targets, far, srcNs, srcName, copyName, apis } = x;
  const { out } = cfg;
  const src = apis[source]!;
  const ensureNamespace = async (cluster: string, ns: string) => {
    const { core } = apis[cluster]!;
    if (!(await orNull(core.readNamespace({ name: ns })))) await core.createNamespace({ body: { metadata: { name: ns, labels: { 'ripple.dev/scenario': 'fleet' } } } });
  };
  out.heading(`\nscenario (fleet: ${source}/${srcNs}/${srcName} -> ${targets.join(', ')})`);
  out.step(`seed: namespaces ${TEAMS.join(', ')} in ${targets.join(', ')}; Secret ${srcNs}/${srcName} in ${source}; Deployment ${TEAMS[0]}/${DEPLOYMENT} in ${far} reading its copy through env.valueFrom.secretKeyRef`);
  for (const c of targets) for (const ns of TEAMS) await ensureNamespace(c, ns);
  await ensureNamespace(source, srcNs);
  const deployment: V1Deployment = {
    metadata: { name: DEPLOYMENT },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: DEPLOYMENT } },
      template: { metadata: { labels: { app: DEPLOYMENT } }, spec: { containers: [{ name: DEPLOYMENT, image: 'nginx', env: [{ name: 'PASSWORD', valueFrom: { secretKeyRef: { name: copyName, key: KEY } } }] }] } },
    },
  };
  if (!(await orNull(apis[far]!.apps.readNamespacedDeployment({ namespace: TEAMS[0]!, name: DEPLOYMENT })))) await apis[far]!.apps.createNamespacedDeployment({ namespace: TEAMS[0]!, body: deployment });
  if (!(await orNull(src.core.readNamespacedSecret({ namespace: srcNs, name: srcName })))) {
    await src.core.createNamespacedSecret({ namespace: srcNs, body: { metadata: { name: srcName }, data: { [KEY]: enc('fleet-v1') } } });
  }
}
