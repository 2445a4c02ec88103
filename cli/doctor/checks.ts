/**
 * `ripple doctor`: after a deploy, is a stage wired and working? Each check reads what is there (AWS APIs with
 * the user's credentials, the cluster through the user's kubeconfig) and answers ok or fail with what to do.
 * Nothing is written anywhere. The checks, in order (later ones skip when what they need failed):
 *
 *   stack          CloudFormation stack ripple-<stage>: a *_COMPLETE state that is not a rollback; its outputs and
 *                  resources (roles, function, associations: which clusters) for the other checks
 *   bus            the event bus and the three rules: enabled, each with its target
 *   Per cluster of the stage (the stack output StageClusters: local, another region, another account; docs/fleet.md):
 *   access         each handler role's access entry maps it to its group ripple:<handler> only, no access policy on
 *                  top (another region: read there; another account: its spoke's, not readable here); on every
 *                  cluster reached through the kubeconfig, the bindings of those groups
 *   pod identity   one association for ripple-system/ripple-forwarder, to this stage's forwarder role (another
 *                  region: its spoke's forwarder role; another account: skipped)
 *   forwarder      every cluster reached (the current context, and contexts named after the stage's clusters): the
 *                  forwarder's ConfigMap names this stage's bus (by ARN from another account), cluster and region
 *   credentials    every cluster reached: every forwarder pod was created after the association and carries the
 *                  Pod Identity environment (AWS_CONTAINER_CREDENTIALS_FULL_URI) EKS injects at pod creation
 *   events         the last ripple event that reached the bus (EventBridge MatchedEvents of the three rules), newer
 *                  than the forwarder pods (each forwarder start sends a resync): its last successful PutEvents
 *   audit          per local cluster: the protect function's subscription filter on /aws/eks/<cluster>/cluster;
 *                  another region: the filter to that region's audit destination (read there); another account: skip
 *   dead letters   the three dead-letter queues are empty (the SQS metric the DLQ alarms watch)
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { EKSClient } from '@aws-sdk/client-eks';
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import type { KubeconfigKube } from '../../kube/kubeconfig.ts';
import { accessCheck, associationCheck, auditCheck, busCheck, deadLetterCheck, eventsCheck, stackCheck } from './aws-checks.ts';
import { clusterFromContext, errText, type AssociationFacts, type Pod } from './facts.ts';
import { credentialsCheck, forwarderConfigCheck, forwarderPods } from './forwarder-checks.ts';

export type Status = 'ok' | 'fail' | 'skip';
export interface CheckResult {
  /** Short name, one word or two: `stack`, `access prod-eu`, ... */
  name: string;
  status: Status;
  detail: string;
  /** What to do about a failure. */
  fix?: string;
}

export interface DoctorClients {
  cfn: Pick<CloudFormationClient, 'send'>;
  events: Pick<EventBridgeClient, 'send'>;
  eks: Pick<EKSClient, 'send'>;
  /** EKS in another region (a cluster of the stage there; default: `eks`). */
  eksIn?: (region: string) => Pick<EKSClient, 'send'>;
  cloudwatch: Pick<CloudWatchClient, 'send'>;
  logs: Pick<CloudWatchLogsClient, 'send'>;
  /** CloudWatch Logs in another region (the audit subscription of a cluster there; default: `logs`). */
  logsIn?: (region: string) => Pick<CloudWatchLogsClient, 'send'>;
}

export interface DoctorInput {
  stage: string;
  clients: DoctorClients;
  /**
   * The kubeconfig: its API, context name, the context's cluster entry (an EKS ARN, eksctl's NAME.<region>.eksctl.io,
   * or a name) and `--cluster` when given. null: no kubeconfig (the in-cluster checks fail).
   */
  kube: { api: KubeconfigKube; context: string; contextCluster?: string; cluster?: string } | null;
  /**
   * The other clusters of the stage, each through the kubeconfig context named after it (or whose cluster entry
   * names it); null when there is none. Every cluster reached gets the in-cluster checks.
   */
  contextFor?: (cluster: string) => KubeconfigKube | null;
  /** Why there is no kube (shown on the checks that need it). */
  kubeProblem?: string;
  /** How far back to look for the forwarder's events (ms). */
  sinceMs?: number;
  now?: () => number;
}

const skip = (name: string, why: string): CheckResult => ({ name, status: 'skip', detail: why });

/** Runs every check; results in the order of the header. */
export async function runChecks(input: DoctorInput): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  const [stack, s] = await stackCheck(input);
  out.push(stack);
  if (!s) {
    for (const n of ['bus', 'access', 'pod identity', 'forwarder', 'credentials', 'events', 'audit', 'dead letters']) out.push(skip(n, 'needs the stack'));
    return out;
  }
  out.push(await busCheck(input, s));
  const kubeCluster = input.kube ? (input.kube.cluster ?? clusterFromContext(input.kube.contextCluster, s.clusters)) : null;
  // Each cluster of the stage through its own kubeconfig context: the current one (or --context/--cluster), and
  // every other context named after a cluster of the stage.
  const kubeOf = (c: string): KubeconfigKube | null => (input.kube && kubeCluster === c ? input.kube.api : (input.contextFor?.(c) ?? null));
  for (const c of s.clusters) out.push(await accessCheck(input, s, c, kubeOf(c)));
  const associations: Record<string, AssociationFacts> = {};
  for (const c of s.clusters) {
    const [r, a] = await associationCheck(input, s, c);
    out.push(r);
    if (a) associations[c] = a;
  }
  let pods: Pod[] | null = null;
  const reached = s.clusters.filter((c) => kubeOf(c));
  if (kubeCluster && !s.clusters.includes(kubeCluster)) {
    out.push({ name: `forwarder ${kubeCluster}`, status: 'fail', detail: `cluster ${kubeCluster} is not one of the stage's (${s.clusters.join(', ')})`, fix: 'pass --cluster with one of them, or add it to the `clusters` param and deploy' });
    out.push(skip('credentials', 'needs one of the stage\'s clusters'));
  } else if (!reached.length) {
    const why = input.kubeProblem ?? (input.kube ? `the kubeconfig context ${input.kube.context} (cluster ${input.kube.contextCluster ?? '?'}) is none of the stage's clusters (${s.clusters.join(', ')})` : 'no kubeconfig');
    out.push({ name: 'forwarder', status: 'fail', detail: why, fix: 'run with --kubeconfig FILE / --context NAME for the cluster (and --cluster NAME when the stage has several)' });
    out.push(skip('credentials', 'needs the cluster'));
  } else {
    for (const c of s.clusters) {
      const kube = kubeOf(c);
      if (!kube) {
        out.push(skip(`forwarder ${c}`, `no kubeconfig context for cluster ${c} (aws eks update-kubeconfig --name ${c} --region ${s.placement[c]?.region ?? s.region} --alias ${c}): its in-cluster checks did not run`));
        continue;
      }
      out.push(await forwarderConfigCheck(kube, s, c));
      let here: Pod[] | null = null;
      try {
        here = await forwarderPods(kube);
      } catch (err) {
        out.push({ name: `credentials ${c}`, status: 'fail', detail: `listing forwarder pods: ${errText(err)}`, fix: 'check your kubeconfig (pods list in ripple-system)' });
      }
      if (here) {
        pods = [...(pods ?? []), ...here];
        const a = associations[c];
        const spoke = s.placement[c]?.kind === 'account';
        out.push(a ? await credentialsCheck(input, c, a, here) : skip(`credentials ${c}`, spoke ? 'the association is in its account' : 'needs the pod identity association'));
      }
    }
  }
  out.push(await eventsCheck(input, s, pods));
  for (const c of s.clusters) out.push(await auditCheck(input, s, c));
  out.push(await deadLetterCheck(input, s));
  return out;
}

/** One line per check: mark, name, detail; a failure adds what to do on the same line. */
export function formatResult(r: CheckResult): string {
  const mark = r.status === 'ok' ? '✓' : r.status === 'fail' ? '✗' : '-';
  return `${mark} ${r.name.padEnd(22)} ${r.detail}${r.status === 'fail' && r.fix ? ` -> ${r.fix}` : ''}`;
}

/** The EKS cluster name a kubeconfig context points at (cli/doctor/facts.ts). */
export { clusterFromContext } from './facts.ts';
