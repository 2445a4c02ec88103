/**
 * `ripple dev` (`npm start`): the whole pipeline on one machine, wired by serverless.yml itself.
 *
 *   embedded cluster (or --kubeconfig) --watch--> forwarder --PutEvents--> local EventBridge
 *     rules from serverless.yml --> clone / protect (async invoke, Lambda retries, dead-letter file)
 *                                --> RolloutQueue (SQS: batching window, batch size, partial failures, redrive)
 *                                      --> rollout
 *     schedule events            --> clone, on a timer (--rate-scale shortens it)
 *     cluster audit log          --> subscription filter --> protect ({ awslogs: { data } })
 *
 * The cluster and the forwarder are ripple's own (imported); the service's parts (the handler files serverless.yml
 * names, infra/k8s manifests) are loaded from its directory, and a missing one is reported by name with what will
 * not happen, never imitated. The wiring steps live in ./wire.ts.
 */
import { existsSync, readdirSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join, relative, resolve } from 'node:path';
import { resyncEntry } from '../../../events/schema.ts';
import { loadPolicies } from '../../../core/policy/load.ts';
import { loadConfig } from '../../../core/config/load.ts';
import { copyModes, describeCopyMode, describeReloader, reloaderMode } from '../../../core/config/schema.ts';
import type { RipplePolicy } from '../../../core/policy/schema.ts';
import { baseName, isSet } from '../../../core/policy/select.ts';
import { checkRendered, renderFiles, writeRendered } from '../../../render/index.ts';
import { parsePatternLimit } from '../../../render/patterns.ts';
import type { LocalEventBridge } from '../eventbridge/index.ts';
import { createOutput, type Output } from './output.ts';
import { runScenario, type StepResult } from './scenario.ts';
import { runFleetScenario } from './fleet-scenario.ts';
import { isFleetPolicy, unknownClusters } from '../../../core/policy/fleet.ts';
import { policyOrigin } from '../../../core/policy/problems.ts';
import { loadServerless, type LocalApp } from './serverless.ts';
import { newDev, type Dev, type DevOptions } from './session.ts';
import { wireAuditLog, wireBus, wireCluster, wireFleet, wireForwarder, wireFunctions, wireManifests, wireQueues, wireRules, wireSchedules, type ClusterAccess } from './wire.ts';

export type { DevOptions } from './session.ts';

export interface DevSession {
  app: LocalApp;
  bus: LocalEventBridge;
  kubeconfigPath: string;
  /** The clusters served (a fleet: every --clusters name, the first the primary). */
  clusters: string[];
  missing: string[];
  results: StepResult[];
  /** Invocations so far: function -> source (rule, queue, schedule, log subscription) -> outcomes. */
  invocations(): Record<string, Record<string, { ok: number; failed: number }>>;
  stop(): Promise<void>;
}

/**
 * Validates policies/ and re-renders what derives from it (patterns, admission, RBAC, audit filter, schema) when the
 * checked-in files differ, so the pipeline never runs on files rendered from other policies. An invalid policy
 * throws `ripple validate`'s error (file:line:column and the path), and ripple dev does not start.
 */
function renderFromPolicies(cwd: string, out: Output): RipplePolicy[] {
  const dir = join(cwd, 'policies');
  if (!existsSync(dir)) {
    const patternsDir = join(cwd, 'events', 'patterns');
    if (!existsSync(patternsDir) || readdirSync(patternsDir).filter((f) => f.endsWith('.json')).length === 0) {
      throw new Error('neither policies/ nor rendered events/patterns/ exist: there is nothing to route; add a policy (docs/policy.md)');
    }
    return [];
  }
  const policies = loadPolicies(dir);
  // ripple.config.yaml (the Reloader mode) next to the policies; an invalid one stops ripple dev like an invalid policy
  const config = loadConfig(dir);
  const reloader = reloaderMode(config);
  if (reloader) out.item('reloader', `Reloader mode on (policies/ripple.config.yaml): ${describeReloader(reloader)}`);
  for (const { tool, cfg } of copyModes(config)) out.item(tool, `${tool} annotations on (policies/ripple.config.yaml): ${describeCopyMode(cfg)}`);
  const files = renderFiles('all', policies, { patternLimit: parsePatternLimit(process.env.RIPPLE_PATTERN_LIMIT, 'RIPPLE_PATTERN_LIMIT'), config });
  const stale = checkRendered('all', files, cwd);
  if (stale.length === 0) return policies;
  out.step(`policies/ changed since the last render: re-rendering (\`ripple render all\`): ${stale.map((d) => d.split(':')[0]).join(', ')}`);
  writeRendered('all', files, cwd);
  return policies;
}

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Start the pipeline (and the scenario); with `once`, stop afterwards. Resolves to the exit code. */
export async function runDev(o: DevOptions = {}): Promise<number> {
  const write = o.write ?? ((s: string) => void process.stdout.write(s));
  const out = createOutput(write, { color: o.color ?? Boolean(process.stdout.isTTY), logs: o.logs ?? (process.stdout.isTTY ? 'pretty' : 'json') });
  let session: DevSession;
  try {
    session = await startDev(o, out);
  } catch (err) {
    out.fail(err instanceof Error ? err.message : String(err));
    return 2;
  }
  if (o.once) {
    await session.stop();
    const failed = session.results.filter((r) => !r.converged);
    if (session.missing.length) out.warn(`missing: ${session.missing.join('; ')}`);
    if (failed.length || session.results.length === 0) {
      out.fail(session.results.length === 0 ? 'the scenario did not run' : `${failed.length} of ${session.results.length} steps did not converge: ${failed.map((f) => f.title).join('; ')}`);
      return 1;
    }
    out.ok(`all ${session.results.length} steps converged`);
    return 0;
  }
  const relPath = relative(process.cwd(), session.kubeconfigPath);
  const rel = !relPath || relPath.startsWith('..') ? session.kubeconfigPath : relPath;
  const busName = String(session.app.params.busName ?? session.app.buses[0] ?? 'default');
  const resync = JSON.stringify([resyncEntry({ cluster: session.clusters[0] ?? 'local', reason: 'manual', observedAt: '2026-01-01T00:00:00Z' }, busName)]);
  out.heading('\nripple is running. Try:');
  out.line(`  export KUBECONFIG=${rel}`);
  out.line('  kubectl get secrets -A -l app.kubernetes.io/managed-by=ripple');
  for (const c of session.clusters.slice(1)) out.line(`  kubectl --context ${c} get secrets -A -l app.kubernetes.io/managed-by=ripple`);
  out.line(`  kubectl -n platform patch secret blogsecret -p '{"stringData":{"password":"changed"}}'`);
  out.line('  kubectl -n team-a get rs -l app=blog; kubectl -n team-a get deployment blog -o jsonpath="{.spec.template.metadata.annotations}"');
  out.line('  kubectl create namespace team-x && kubectl -n team-x get secret blogsecret');
  out.line('  kubectl --as=alice -n platform delete secret blogsecret');
  out.line(`  AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local aws events put-events --region ${session.app.region} --endpoint-url ${session.bus.url} --entries '${resync}'`);
  out.line('Ctrl-C stops.');
  await (o.until ??
    new Promise<void>((r) => {
      process.once('SIGINT', () => r());
      process.once('SIGTERM', () => r());
    }));
  await session.stop();
  out.line('stopped.');
  return 0;
}

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;

/** `--clusters` checked: names as EKS and policies write them, each once, and no --kubeconfig beside it. */
export function checkFleetNames(o: DevOptions): string[] | null {
  if (o.clusters === undefined) return null;
  const names = o.clusters.map((c) => c.trim()).filter(Boolean);
  if (names.length === 0) throw new Error('--clusters: give one or more cluster names, comma separated (e.g. hub,edge)');
  if (o.kubeconfig) throw new Error('--clusters starts one embedded cluster per name; it cannot be combined with --kubeconfig');
  for (const n of names) if (!CLUSTER_NAME.test(n)) throw new Error(`--clusters: "${n}" is not a cluster name (letters, digits, "-" and "_", starting with a letter or digit)`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`--clusters: "${dup}" is given twice`);
  return names;
}

export async function startDev(o: DevOptions, out: Output): Promise<DevSession> {
  const fleet = checkFleetNames(o);
  if (fleet) return startFleetDev(o, out, fleet);
  const d = newDev(o, out);
  try {
    // policies/ checked first (file:line:col, as `ripple validate` does); rendered files brought up to date
    const policies = renderFromPolicies(d.cwd, out);
    const slsFile = resolve(d.cwd, o.serverlessFile ?? 'serverless.yml');
    const app = await loadServerless(slsFile, { options: o.stage ? { stage: o.stage } : {}, params: o.params ?? {} });
    out.heading(`ripple dev: ${relative(d.cwd, slsFile)} (service ${app.service}, stage ${app.stage}, region ${app.region})`);
    const clusterName = String(app.params.cluster ?? 'local');
    const busName = String(app.params.busName ?? app.buses[0] ?? 'default');

    const access = await wireCluster(d);
    const applyWaiting = await wireManifests(d, access.adminKc);
    const bus = await wireBus(d, app);
    const fns = wireFunctions(d, app, access, clusterName);
    const { queues, mappings } = wireQueues(d, app, fns);
    wireRules(d, app, bus, fns, queues);
    wireSchedules(d, app, fns);
    wireAuditLog(d, app, access.cluster, fns);
    for (const n of app.notes) out.note(n);
    await wireForwarder(d, app, access, bus, clusterName, busName);
    // the deploy-time reconcile a `serverless deploy` runs (its custom resource): sync.mode once backfills only then
    if (policies.some((p) => p.spec.sync?.mode === 'once')) {
      bus.putEvents([{ ...resyncEntry({ cluster: clusterName, reason: 'deploy', observedAt: new Date().toISOString() }), EventBusName: busName }]);
    }

    let results: StepResult[] = [];
    if (o.scenario === false) await applyWaiting();
    else {
      results = await scenario(d, policies, access, applyWaiting);
      await bus.idle();
      for (const m of mappings) await m.idle();
    }
    const dlqFiles = readdirSync(d.dlqDir).filter((f) => f.endsWith('.jsonl'));
    if (dlqFiles.length) out.note(`dead-letter files: ${dlqFiles.map((f) => relative(d.cwd, join(d.dlqDir, f))).join(', ')}`);
    const summary = Object.entries(fns.stats).map(([fn, bySource]) => `${fn} (${Object.entries(bySource).map(([src, n]) => `${src}: ${n.ok} ok${n.failed ? `, ${n.failed} failed` : ''}`).join('; ')})`);
    if (o.scenario !== false) out.item('invocations', summary.join(', ') || 'none');
    return { app, bus, kubeconfigPath: access.kubeconfigPath, clusters: [clusterName], missing: d.missing, results, stop: () => d.stop(), invocations: () => structuredClone(fns.stats) };
  } catch (err) {
    await d.stop();
    throw err;
  }
}

/**
 * `--clusters a,b,...`: one embedded cluster per name, each with infra/k8s applied, its own forwarder (events carry
 * its name) and its audit log to protect as `/aws/eks/<name>/cluster`; one bus; the functions get every cluster
 * (RIPPLE_CLUSTERS, the first as RIPPLE_CLUSTER_NAME) and a kubeconfig with a context per cluster. The scenario:
 * the fleet one (./fleet-scenario.ts) for a Secret policy that names clusters, else the article's in the first cluster.
 */
async function startFleetDev(o: DevOptions, out: Output, names: string[]): Promise<DevSession> {
  const d = newDev(o, out);
  try {
    const policies = renderFromPolicies(d.cwd, out);
    // as `ripple validate --clusters`: a policy naming a cluster the fleet does not have is refused
    const strays = policies.flatMap((p) => unknownClusters(p, names).map((u) => `${policyOrigin(p)?.file ?? p.metadata.name}: policy ${p.metadata.name}: ${u.path.join('.')}: cluster "${u.cluster}" is not one of --clusters (${names.join(', ')})`));
    if (strays.length) throw new Error(strays.join('\n'));
    const slsFile = resolve(d.cwd, o.serverlessFile ?? 'serverless.yml');
    const app = await loadServerless(slsFile, { options: o.stage ? { stage: o.stage } : {}, params: { ...(o.params ?? {}), cluster: names[0]!, clusters: names.join(',') } });
    out.heading(`ripple dev: ${relative(d.cwd, slsFile)} (service ${app.service}, stage ${app.stage}, region ${app.region}; fleet ${names.join(', ')})`);
    const busName = String(app.params.busName ?? app.buses[0] ?? 'default');
    const fleet = await wireFleet(d, names);
    const waiting: (() => Promise<void>)[] = [];
    for (const m of fleet.members) waiting.push(await wireManifests(d, m.access.adminKc));
    const applyWaiting = async () => {
      for (const w of waiting) await w();
    };
    const bus = await wireBus(d, app);
    const first = fleet.members[0]!.access;
    const fns = wireFunctions(d, app, { ...first, kubeconfigPath: fleet.kubeconfigPath, kubeconfigFor: fleet.kubeconfigFor }, names[0]!, names);
    const { queues, mappings } = wireQueues(d, app, fns);
    wireRules(d, app, bus, fns, queues);
    wireSchedules(d, app, fns);
    for (const m of fleet.members) wireAuditLog(d, app, m.access.cluster, fns, m.name);
    for (const n of app.notes) out.note(n);
    for (const m of fleet.members) await wireForwarder(d, app, m.access, bus, m.name, busName);

    let results: StepResult[] = [];
    // a Secret policy naming clusters: the fleet scenario; otherwise the article's, in the first cluster
    const fleetPolicy = policies.find((p) => p.spec.source.kind === 'Secret' && !isSet(p) && p.spec.sync && isFleetPolicy(p));
    if (o.scenario === false) await applyWaiting();
    else if (fleetPolicy) {
      results = await runFleetScenario({ kubeconfigPath: fleet.kubeconfigPath, clusters: names, policy: fleetPolicy, stepTimeoutMs: o.stepTimeoutMs ?? 30_000, out, afterSeed: applyWaiting });
      await bus.idle();
      for (const m of mappings) await m.idle();
    } else {
      out.note('no Secret policy in policies/ names clusters (spec.source.cluster, spec.sync.clusters): the article\'s scenario runs in the first cluster');
      results = await scenario(d, policies, { ...first, kubeconfigPath: fleet.kubeconfigPath }, applyWaiting);
      await bus.idle();
      for (const m of mappings) await m.idle();
    }
    const summary = Object.entries(fns.stats).map(([fn, bySource]) => `${fn} (${Object.entries(bySource).map(([src, n]) => `${src}: ${n.ok} ok${n.failed ? `, ${n.failed} failed` : ''}`).join('; ')})`);
    if (o.scenario !== false) out.item('invocations', summary.join(', ') || 'none');
    return { app, bus, kubeconfigPath: fleet.kubeconfigPath, clusters: names, missing: d.missing, results, stop: () => d.stop(), invocations: () => structuredClone(fns.stats) };
  } catch (err) {
    await d.stop();
    throw err;
  }
}

/** The article's scenario against the base Secret policy (policies/blogsecret.yaml, else the first Secret policy). */
async function scenario(d: Dev, policies: RipplePolicy[], access: ClusterAccess, applyWaiting: () => Promise<void>): Promise<StepResult[]> {
  const { out, o } = d;
  out.item('policies', `${policies.length} from policies/ (${policies.map((p) => `${p.spec.source.kind} ${p.spec.source.namespace}/${p.spec.source.name ?? '(selected by label)'}`).join(', ') || 'none'})`);
  const base = policies.find((p) => p.spec.source.kind === 'Secret' && p.spec.source.name === 'blogsecret') ?? policies.find((p) => p.spec.source.kind === 'Secret' && !isSet(p));
  out.heading('\nscenario (the article: protect, clone and sync, reload)');
  if (!base) {
    await applyWaiting();
    out.fail('no Secret policy in policies/: the scenario needs one (policies/blogsecret.yaml)');
    return [];
  }
  return runScenario({
    kc: access.adminKc,
    kubeconfigPath: access.kubeconfigPath,
    source: { namespace: base.spec.source.namespace, name: baseName(base) },
    protectMessage: base.spec.protect?.message ?? null,
    stepTimeoutMs: o.stepTimeoutMs ?? 30_000,
    out,
    kubectl: which('kubectl'),
    afterSeed: applyWaiting,
  });
}
