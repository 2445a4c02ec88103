/**
 * Cluster access for the handlers: `kubeFor(cluster)` -> `{ core, apps, raw }`, one per cluster, cached for
 * the life of the Lambda container.
 *
 * - RIPPLE_KUBECONFIG (local runs): that kubeconfig; the context named like the cluster if there is one,
 *   otherwise the current context. Parsed and authenticated by @kubernetes/client-node, loaded lazily
 *   (./kubeconfig-kube.ts): only this branch loads it, and the Lambda bundles do not contain it.
 * - Otherwise EKS: endpoint + CA from RIPPLE_CLUSTERS or eks:DescribeCluster (cached, in the cluster's region),
 *   bearer token `k8s-aws-v1.…` from a presigned STS GetCallerIdentity URL for the cluster's region
 *   (./eks-token.ts), re-signed every 14 minutes, over node:https with one keep-alive Agent per cluster
 *   (./http.ts). A cluster in another account (`roleArn` in RIPPLE_CLUSTERS) is described and signed for with the
 *   role this function assumes there (sts:AssumeRole with the cluster's ExternalId, memoised ~45 minutes).
 *
 * Every request has a timeout, every write uses field manager `ripple`, errors arrive as RippleErrors
 * (./errors.ts). `retryOnConflict` re-runs a read-modify-write after a 409.
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { ConflictError, PermanentError, RetryableError } from '../../core/errors.ts';
import { runtimeConfig, type ClusterEntry, type RuntimeConfig } from './config.ts';
import { kubeOverHttp, type Kube } from '../../kube/client.ts';
import { assumedRoleCredentials, eksTokenCache, roleSessionName, type CredentialProvider } from '../../kube/eks-token.ts';
import { kubeFromKubeconfigFile, type ClientNode } from '../../kube/kubeconfig-kube.ts';

export { kubeOverHttp, type Kube, type RawApi, type CoreApi, type AppsApi } from '../../kube/client.ts';
export { NotFoundError, ForbiddenError, isNotFound, orNull, translateKubeError } from '../../kube/errors.ts';
export { listAll, listAllRaw, PAGE, pageAfter } from '../../kube/paging.ts';

export type KubeFor = (cluster: string) => Promise<Kube>;

export interface ClusterEndpoint {
  endpoint: string;
  caData: string;
}

export interface KubeProviderDeps {
  config: RuntimeConfig;
  /**
   * eks:DescribeCluster (default: @aws-sdk/client-eks, loaded on first use, in the cluster's region, with the
   * cluster's credentials: the function role's, or the role assumed in the cluster's account).
   */
  describeCluster?: (name: string, region: string, credentials: CredentialProvider) => Promise<ClusterEndpoint>;
  /** AWS credentials (default: the SDK's node provider chain, i.e. the Lambda role). */
  credentials?: CredentialProvider;
  /** Other STS / EKS API endpoints than AWS's regional ones (VPC endpoints; tests). */
  endpoints?: { sts?: string; eks?: string };
}

async function defaultDescribeCluster(name: string, region: string, credentials: CredentialProvider, apiEndpoint?: string): Promise<ClusterEndpoint> {
  const { EKSClient, DescribeClusterCommand } = await import('@aws-sdk/client-eks');
  try {
    const out = await new EKSClient({ region, credentials, ...(apiEndpoint ? { endpoint: apiEndpoint } : {}) }).send(new DescribeClusterCommand({ name }));
    const endpoint = out.cluster?.endpoint;
    const caData = out.cluster?.certificateAuthority?.data;
    if (!endpoint || !caData) throw new PermanentError(`eks:DescribeCluster ${name}: no endpoint or certificate authority in the answer (is the cluster ACTIVE?)`);
    return { endpoint, caData };
  } catch (err) {
    if (err instanceof PermanentError) throw err;
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number }; message?: string };
    const status = e.$metadata?.httpStatusCode ?? 0;
    if (e.name === 'ResourceNotFoundException') throw new PermanentError(`eks:DescribeCluster ${name} in ${region}: cluster not found`, { cause: err });
    if (status === 403 || e.name === 'AccessDeniedException') throw new PermanentError(`eks:DescribeCluster ${name} in ${region}: access denied (grant eks:DescribeCluster on it to the function role, or to the role assumed in its account, or set endpoint and caData in RIPPLE_CLUSTERS)`, { cause: err });
    throw new RetryableError(`eks:DescribeCluster ${name}: ${e.name ?? 'error'}`, { cause: err });
  }
}

async function defaultCredentials(): Promise<CredentialProvider> {
  const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
  return fromNodeProviderChain();
}

/** Build a `kubeFor` over explicit dependencies (tests, CLI); the handlers use the default `kubeFor` below. */
export function createKubeProvider(deps: KubeProviderDeps): KubeFor {
  const { config } = deps;
  const clients = new Map<string, Promise<Kube>>();
  let credentials: CredentialProvider | null = deps.credentials ?? null;
  const regionOf = (cluster: string): string => {
    const r = config.clusters[cluster]?.region ?? config.region;
    if (!r) throw new PermanentError(`cluster ${cluster}: no AWS region (set "region" in RIPPLE_CLUSTERS or AWS_REGION)`);
    return r;
  };
  const own: CredentialProvider = async () => {
    credentials ??= await defaultCredentials();
    return credentials();
  };
  // A cluster in another account: the role this function assumes there (one provider per cluster, memoised).
  const assumed = new Map<string, CredentialProvider>();
  const credentialsOf = (cluster: string): CredentialProvider => {
    const entry = config.clusters[cluster];
    if (!entry?.roleArn) return own;
    let p = assumed.get(cluster);
    if (!p) {
      p = assumedRoleCredentials({ roleArn: entry.roleArn, externalId: entry.externalId, sessionName: roleSessionName(config.sessionName), region: regionOf(cluster), base: own, endpoint: deps.endpoints?.sts });
      assumed.set(cluster, p);
    }
    return p;
  };
  const tokens = eksTokenCache({ region: regionOf, credentials: own, credentialsFor: credentialsOf });

  const fileCache: { file?: KubeConfig } = {};
  async function fromFile(cluster: string): Promise<Kube> {
    let cn: ClientNode;
    try {
      cn = await import('@kubernetes/client-node');
    } catch (err) {
      throw new PermanentError(`RIPPLE_KUBECONFIG ${config.kubeconfigPath}: @kubernetes/client-node cannot be loaded (kubeconfigs are for local runs; the Lambda package does not contain it): ${(err as Error).message}`, { cause: err });
    }
    try {
      return kubeFromKubeconfigFile(cn, config.kubeconfigPath!, cluster, { timeoutMs: config.requestTimeoutMs, rateLimit: config.rateLimit }, fileCache);
    } catch (err) {
      if (fileCache.file) throw err;
      throw new PermanentError(`RIPPLE_KUBECONFIG ${config.kubeconfigPath}: cannot be read (${(err as Error).message})`, { cause: err });
    }
  }

  async function fromEks(cluster: string): Promise<Kube> {
    const known = Object.keys(config.clusters);
    const entry: ClusterEntry | undefined = config.clusters[cluster];
    if (!entry && !(known.length === 0 && cluster === config.defaultCluster)) {
      throw new PermanentError(`cluster ${cluster}: not configured (RIPPLE_CLUSTERS names ${known.length ? known.join(', ') : 'none'}; RIPPLE_CLUSTER_NAME is ${config.defaultCluster})`);
    }
    const region = regionOf(cluster);
    const { endpoint, caData } =
      entry?.endpoint && entry.caData
        ? { endpoint: entry.endpoint, caData: entry.caData }
        : deps.describeCluster
          ? await deps.describeCluster(cluster, region, credentialsOf(cluster))
          : await defaultDescribeCluster(cluster, region, credentialsOf(cluster), deps.endpoints?.eks);
    return kubeOverHttp(
      cluster,
      {
        server: endpoint,
        ca: Buffer.from(caData, 'base64'),
        prepare: async (ro) => {
          ro.headers.Authorization = `Bearer ${await tokens.get(cluster)}`;
        },
      },
      { timeoutMs: config.requestTimeoutMs, rateLimit: config.rateLimit },
    );
  }

  return (cluster: string) => {
    let hit = clients.get(cluster);
    if (!hit) {
      hit = config.kubeconfigPath ? fromFile(cluster) : fromEks(cluster);
      clients.set(cluster, hit);
      hit.catch(() => clients.delete(cluster));
    }
    return hit;
  };
}

let defaultProvider: KubeFor | null = null;

/** The process-wide provider over runtimeConfig(), built on first call. */
export function kubeFor(cluster: string): Promise<Kube> {
  defaultProvider ??= createKubeProvider({ config: runtimeConfig() });
  return defaultProvider(cluster);
}

/**
 * Run a read-modify-write; on ConflictError (409) run it again (it must re-read), up to `attempts` times.
 * The last conflict is rethrown (retryable).
 */
export async function retryOnConflict<T>(fn: (attempt: number) => Promise<T>, opts: { attempts?: number; delayMs?: number } = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof ConflictError) || attempt >= attempts) throw err;
      const delay = (opts.delayMs ?? 20) * attempt;
      if (delay > 0) await new Promise((r) => setTimeout(r, delay * (0.5 + Math.random())));
    }
  }
}
