/**
 * Handler configuration: parsed once from the environment into one typed object, lazily on first use (never
 * at import time), then passed in. Nothing else in functions/ reads process.env.
 *
 * - RIPPLE_KUBECONFIG: path of a kubeconfig (local runs, the embedded cluster). When set it wins.
 * - RIPPLE_CLUSTERS: JSON `{ "<cluster>": { "endpoint"?, "caData"?, "region"?, "accountId"?, "roleArn"?,
 *   "externalId"? } }` (EKS); endpoint and CA come from eks:DescribeCluster when absent; the bearer token is the
 *   EKS presigned-STS token, signed with the function role's credentials or, with `roleArn`, with that role's
 *   (assumed with `externalId`).
 * - AWS_LAMBDA_FUNCTION_NAME: the role session name in other accounts' CloudTrail.
 * - RIPPLE_POLICY_DIR: directory of RipplePolicy YAML (default `policies` under LAMBDA_TASK_ROOT or cwd).
 * - RIPPLE_CLUSTER_NAME: cluster for events that carry none (schedule, CloudFormation custom resource).
 * - RIPPLE_REQUEST_TIMEOUT_MS (default 10000), RIPPLE_WRITE_CONCURRENCY (default 32).
 */
import { isAbsolute, join } from 'node:path';
import * as z from '../../core/zod.ts';
import { envInt, type Env } from '../../core/env.ts';
import { ValidationError } from '../../core/errors.ts';

export const ClusterEntry = z.strictObject({
  endpoint: z.optional(z.url()),
  /** base64 of the PEM CA bundle, as eks:DescribeCluster returns it. */
  caData: z.optional(z.string().check(z.minLength(1))),
  region: z.optional(z.string().check(z.minLength(1))),
  /** A cluster in another account: its account, and the role this function assumes there (infra/aws/spoke.yml). */
  accountId: z.optional(z.string().check(z.regex(/^\d{12}$/))),
  roleArn: z.optional(z.string().check(z.regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/.+$/))),
  /** sts:ExternalId that role's trust policy demands. */
  externalId: z.optional(z.string().check(z.minLength(2))),
});
export type ClusterEntry = z.infer<typeof ClusterEntry>;

export interface RuntimeConfig {
  kubeconfigPath: string | null;
  clusters: Record<string, ClusterEntry>;
  policyDir: string;
  defaultCluster: string;
  /** AWS region for STS/EKS when a cluster entry names none. */
  region: string | null;
  /** Role session name when assuming a cluster's role in another account (the function name). */
  sessionName: string;
  requestTimeoutMs: number;
  writeConcurrency: number;
  /** Client-side request rate limit per cluster and container (RIPPLE_KUBE_QPS, RIPPLE_KUBE_BURST; QPS 0 = off). */
  rateLimit: { perSecond: number; burst: number };
  /**
   * Whether the cluster's audit records reach protect (RIPPLE_AUDIT_RECORDS on|off, default on). Off: no record will
   * ever name who made a change (EKS audit logging disabled, or a local run against a cluster ripple did not start).
   */
  auditRecords: boolean;
}

function nonNegative(env: Env, name: string, dflt: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new ValidationError(`${name}: must be a number >= 0, got "${raw}"`);
  return n;
}

/** Pure: environment in, config out. Throws ValidationError naming the variable. */
export function parseRuntimeConfig(env: Env, cwd = process.cwd()): RuntimeConfig {
  const kubeconfigPath = env.RIPPLE_KUBECONFIG ? env.RIPPLE_KUBECONFIG : null;
  let clusters: Record<string, ClusterEntry> = {};
  if (env.RIPPLE_CLUSTERS) {
    let raw: unknown;
    try {
      raw = JSON.parse(env.RIPPLE_CLUSTERS);
    } catch (err) {
      throw new ValidationError(`RIPPLE_CLUSTERS: not valid JSON (${(err as Error).message}); expected {"<cluster>": {"endpoint"?, "caData"?, "region"?, "accountId"?, "roleArn"?, "externalId"?}}`);
    }
    const parsed = z.record(z.string().check(z.minLength(1)), ClusterEntry).safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new ValidationError(`RIPPLE_CLUSTERS.${issue.path.join('.')}: ${issue.message}`);
    }
    clusters = parsed.data;
  }
  if (!kubeconfigPath && Object.keys(clusters).length === 0 && !env.RIPPLE_CLUSTER_NAME) {
    throw new ValidationError('no cluster configured: set RIPPLE_KUBECONFIG (a kubeconfig path) or RIPPLE_CLUSTERS / RIPPLE_CLUSTER_NAME (EKS)');
  }
  const root = env.LAMBDA_TASK_ROOT || cwd;
  const dir = env.RIPPLE_POLICY_DIR || 'policies';
  return {
    kubeconfigPath,
    clusters,
    policyDir: isAbsolute(dir) ? dir : join(root, dir),
    defaultCluster: env.RIPPLE_CLUSTER_NAME || Object.keys(clusters)[0] || 'local',
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || null,
    sessionName: env.AWS_LAMBDA_FUNCTION_NAME || 'ripple',
    requestTimeoutMs: envInt(env, 'RIPPLE_REQUEST_TIMEOUT_MS', 10_000),
    writeConcurrency: envInt(env, 'RIPPLE_WRITE_CONCURRENCY', 32),
    rateLimit: rateLimitFrom(env),
    auditRecords: onOff(env, 'RIPPLE_AUDIT_RECORDS', true),
  };
}

/** RIPPLE_AUDIT_RECORDS alone (protect's default when given explicit cluster access, as in tests). */
export function auditRecordsFromEnv(env: Env = process.env): boolean {
  return onOff(env, 'RIPPLE_AUDIT_RECORDS', true);
}

function onOff(env: Env, name: string, dflt: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return dflt;
  if (raw === 'on' || raw === 'true') return true;
  if (raw === 'off' || raw === 'false') return false;
  throw new ValidationError(`${name}: must be "on" or "off", got "${env[name]}"`);
}

/** Defaults: 100 requests/s, bursts of 2 x that (see DEFAULT_RATE_LIMIT in kube/http.ts for why). */
function rateLimitFrom(env: Env): { perSecond: number; burst: number } {
  const perSecond = nonNegative(env, 'RIPPLE_KUBE_QPS', 100);
  return { perSecond, burst: env.RIPPLE_KUBE_BURST ? envInt(env, 'RIPPLE_KUBE_BURST', 1) : Math.max(1, Math.ceil(perSecond * 2)) };
}

let cached: RuntimeConfig | null = null;

/** The process's config, parsed on first call. */
export function runtimeConfig(): RuntimeConfig {
  cached ??= parseRuntimeConfig(process.env);
  return cached;
}

/**
 * RIPPLE_POLICY_DIR (default `policies`) under LAMBDA_TASK_ROOT or cwd, as `parseRuntimeConfig` resolves it, without
 * needing the cluster settings: the rollout handler reads the RippleConfig (ripple.config.yaml) from there.
 */
export function policyDirFrom(env: Env, cwd = process.cwd()): string {
  const root = env.LAMBDA_TASK_ROOT || cwd;
  const dir = env.RIPPLE_POLICY_DIR || 'policies';
  return isAbsolute(dir) ? dir : join(root, dir);
}
