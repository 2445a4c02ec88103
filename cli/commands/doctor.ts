/**
 * `ripple doctor --stage prod`: after a deploy, checks that the stage is wired and working, with your AWS
 * credentials (the SDK chain: AWS_PROFILE, AWS_REGION, ...) and your kubeconfig (its current context, or
 * --context). One line per check; a failed one says what to do; exit code 1 when any check failed.
 * What each check reads: cli/doctor/checks.ts. Nothing is written.
 *
 *   ripple doctor --stage prod                          the stage, and the cluster of the current context
 *   ripple doctor --stage prod --context prod-eu-2 --cluster prod-eu-2     another of the stage's clusters
 * Every cluster of the stage (the stack output StageClusters, including other regions and accounts) is checked;
 * the in-cluster checks run for each one the kubeconfig reaches (a context named after it, or whose cluster
 * entry names it).
 */
import { KubeConfig } from '@kubernetes/client-node';
import type { Command } from 'commander';
import { kubeFromKubeConfig, type KubeconfigKube } from '../../kube/kubeconfig.ts';
import type { CheckResult, DoctorClients, DoctorInput } from '../doctor/checks.ts';
import { clusterFromContext } from '../doctor/facts.ts';
import { parseSince } from '../logs/queries.ts';

export interface DoctorOptions {
  stage?: string;
  region?: string;
  /** One endpoint for every AWS client (tests; a proxy). */
  endpoint?: string;
  kubeconfig?: string;
  context?: string;
  cluster?: string;
  since?: string;
  json?: boolean;
}

/** The five SDK clients, loaded when doctor runs (cli/ripple.ts loads every command file for every command). */
async function clients(opts: DoctorOptions): Promise<DoctorClients> {
  const cfg = { ...(opts.region ? { region: opts.region } : {}), ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), maxAttempts: 2 };
  const [cfn, cw, logs, eks, events] = await Promise.all([
    import('@aws-sdk/client-cloudformation'),
    import('@aws-sdk/client-cloudwatch'),
    import('@aws-sdk/client-cloudwatch-logs'),
    import('@aws-sdk/client-eks'),
    import('@aws-sdk/client-eventbridge'),
  ]);
  const regional = new Map<string, InstanceType<typeof eks.EKSClient>>();
  const eksIn = (region: string) => {
    let c = regional.get(region);
    if (!c) regional.set(region, (c = new eks.EKSClient({ ...cfg, region })));
    return c;
  };
  const regionalLogs = new Map<string, InstanceType<typeof logs.CloudWatchLogsClient>>();
  const logsIn = (region: string) => {
    let c = regionalLogs.get(region);
    if (!c) regionalLogs.set(region, (c = new logs.CloudWatchLogsClient({ ...cfg, region })));
    return c;
  };
  return { cfn: new cfn.CloudFormationClient(cfg), events: new events.EventBridgeClient(cfg), eks: new eks.EKSClient(cfg), eksIn, cloudwatch: new cw.CloudWatchClient(cfg), logs: new logs.CloudWatchLogsClient(cfg), logsIn };
}

/** The kubeconfig context of a cluster of the stage: named after it, or whose cluster entry names it (EKS ARN, eksctl). */
function contextsOf(opts: DoctorOptions): DoctorInput['contextFor'] {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
  } catch {
    return () => null;
  }
  const made = new Map<string, KubeconfigKube | null>();
  return (cluster) => {
    if (made.has(cluster)) return made.get(cluster)!;
    const ctx = kc.getContexts().find((c) => c.name === cluster) ?? kc.getContexts().find((c) => clusterFromContext(c.cluster, [cluster]) === cluster);
    let kube: KubeconfigKube | null = null;
    if (ctx) {
      const one = new KubeConfig();
      one.loadFromString(kc.exportConfig());
      one.setCurrentContext(ctx.name);
      kube = kubeFromKubeConfig(one, cluster);
    }
    made.set(cluster, kube);
    return kube;
  };
}

function kubeOf(opts: DoctorOptions): { kube: DoctorInput['kube']; problem?: string } {
  const kc = new KubeConfig();
  try {
    if (opts.kubeconfig) kc.loadFromFile(opts.kubeconfig);
    else kc.loadFromDefault();
    if (opts.context) {
      if (!kc.getContexts().some((c) => c.name === opts.context)) return { kube: null, problem: `--context ${opts.context}: no such context in the kubeconfig` };
      kc.setCurrentContext(opts.context);
    }
  } catch (err) {
    return { kube: null, problem: `kubeconfig ${opts.kubeconfig ?? '(default)'}: ${(err as Error).message}` };
  }
  const context = kc.getCurrentContext();
  if (!context || !kc.getCurrentCluster()) return { kube: null, problem: `no current context in the kubeconfig ${opts.kubeconfig ?? '(default)'}` };
  return { kube: { api: kubeFromKubeConfig(kc), context, contextCluster: kc.getCurrentCluster()?.name, ...(opts.cluster ? { cluster: opts.cluster } : {}) } };
}

export interface DoctorDeps {
  clients?: DoctorClients;
  print?: (line: string) => void;
  now?: () => number;
}

/** Runs the checks and prints them; returns the results (the exit code is 1 when one failed). */
export async function runDoctor(opts: DoctorOptions, deps: DoctorDeps = {}): Promise<CheckResult[]> {
  const stage = opts.stage ?? 'dev';
  if (!/^[a-zA-Z0-9-]+$/.test(stage)) throw new Error(`--stage "${stage}": letters, digits and - only`);
  const sinceMs = parseSince(opts.since ?? '24h');
  const print = deps.print ?? ((l: string) => console.log(l));
  const { kube, problem } = kubeOf(opts);
  if (!opts.json) print(`ripple doctor: stage ${stage} (stack ripple-${stage}${opts.region ? `, ${opts.region}` : ''}); kubeconfig context ${kube?.context ?? '-'}`);
  const { runChecks, formatResult } = await import('../doctor/checks.ts');
  const results = await runChecks({ stage, clients: deps.clients ?? (await clients(opts)), kube, contextFor: contextsOf(opts), ...(problem ? { kubeProblem: problem } : {}), sinceMs, ...(deps.now ? { now: deps.now } : {}) });
  for (const r of results) print(opts.json ? JSON.stringify(r) : formatResult(r));
  const failed = results.filter((r) => r.status === 'fail').length;
  if (!opts.json) print(failed ? `${failed} check(s) failed` : 'all checks passed');
  return results;
}

export function register(program: Command): void {
  program
    .command('doctor')
    .description('check a deployed stage end to end: stack, bus and rules, EKS access, Pod Identity, the forwarder, audit subscription, dead letters')
    .option('--stage <stage>', 'deployed stage', 'dev')
    .option('--region <region>', 'AWS region (default: the SDK chain, e.g. AWS_REGION)')
    .option('--kubeconfig <file>', 'kubeconfig (default: KUBECONFIG or ~/.kube/config)')
    .option('--context <name>', 'kubeconfig context (default: the current one)')
    .option('--cluster <name>', "which of the stage's clusters the context reaches (default: read from the context's EKS cluster ARN)")
    .option('--since <duration>', 'how far back to look for the forwarder\'s events: 30m, 6h, 2d', '24h')
    .option('--json', 'one JSON object per check')
    .option('--endpoint <url>', 'one endpoint for every AWS API (tests, a proxy)')
    .action(async (opts: DoctorOptions) => {
      const results = await runDoctor(opts);
      if (results.some((r) => r.status === 'fail')) process.exitCode = 1;
    });
}
