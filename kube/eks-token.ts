/**
 * EKS bearer tokens, as aws-iam-authenticator and `aws eks get-token` make them: a presigned STS
 * GetCallerIdentity URL (GET, signed header `x-k8s-aws-id: <cluster>`, X-Amz-Expires=60), base64url without
 * padding, prefixed `k8s-aws-v1.`. EKS accepts it for 15 minutes after X-Amz-Date; we reuse it for 14.
 */
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { PermanentError, RetryableError } from '../core/errors.ts';

/** SHA-256 for the signer from Node's own crypto (@smithy/hash-node): 5 KB less per bundle than a JavaScript implementation. */
const Sha256 = Hash.bind(null, 'sha256');

export const TOKEN_PREFIX = 'k8s-aws-v1.';
export const CLUSTER_ID_HEADER = 'x-k8s-aws-id';
/** The presign expiry aws-iam-authenticator uses (the server enforces its own 15 min from X-Amz-Date). */
export const PRESIGN_EXPIRES_SECONDS = 60;
/** How long a token is reused: 1 minute short of EKS's 15. */
export const TOKEN_REUSE_MS = 14 * 60_000;

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  expiration?: Date;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

export function stsHostname(region: string): string {
  return region.startsWith('cn-') ? `sts.${region}.amazonaws.com.cn` : `sts.${region}.amazonaws.com`;
}

/** One token for `cluster`, signed now (or at `now`). */
export async function eksToken(opts: { cluster: string; region: string; credentials: AwsCredentials | CredentialProvider; now?: Date }): Promise<string> {
  const hostname = stsHostname(opts.region);
  const signer = new SignatureV4({ credentials: opts.credentials, region: opts.region, service: 'sts', sha256: Sha256, applyChecksum: false });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { host: hostname, [CLUSTER_ID_HEADER]: opts.cluster },
  });
  const signed = await signer.presign(request, { expiresIn: PRESIGN_EXPIRES_SECONDS, signingDate: opts.now ?? new Date() });
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(signed.query ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) if (one !== null && one !== undefined) query.append(k, one);
  }
  const url = `https://${hostname}/?${query.toString()}`;
  return TOKEN_PREFIX + Buffer.from(url, 'utf8').toString('base64url');
}

/**
 * Caches one token per cluster for TOKEN_REUSE_MS; concurrent callers share one signing. `credentials` is the
 * signer's identity; `credentialsFor(cluster)`, when given, overrides it per cluster (a cluster in another
 * account: the role assumed there).
 */
export function eksTokenCache(opts: { region: (cluster: string) => string; credentials: CredentialProvider; credentialsFor?: (cluster: string) => CredentialProvider; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { token: Promise<string>; until: number }>();
  return {
    async get(cluster: string): Promise<string> {
      const hit = cache.get(cluster);
      if (hit && hit.until > now()) return hit.token;
      const credentials = opts.credentialsFor?.(cluster) ?? opts.credentials;
      const token = eksToken({ cluster, region: opts.region(cluster), credentials, now: new Date(now()) });
      cache.set(cluster, { token, until: now() + TOKEN_REUSE_MS });
      token.catch(() => cache.delete(cluster));
      return token;
    },
    invalidate(cluster: string): void {
      cache.delete(cluster);
    },
  };
}

/**
 * Credentials of `base` reused until `refreshBeforeMs` before they expire (default 15 min, so a token signed
 * with them stays valid for its whole reuse period); concurrent callers share one fetch; a failure is not kept.
 */
export function memoCredentials(base: CredentialProvider, opts: { refreshBeforeMs?: number; now?: () => number } = {}): CredentialProvider {
  const now = opts.now ?? Date.now;
  const margin = opts.refreshBeforeMs ?? 15 * 60_000;
  let hit: Promise<AwsCredentials> | null = null;
  let until = 0;
  return () => {
    if (hit && until > now()) return hit;
    const p = base().then((c) => {
      until = c.expiration ? c.expiration.getTime() - margin : Number.POSITIVE_INFINITY;
      return c;
    });
    hit = p;
    until = Number.POSITIVE_INFINITY; // while in flight
    p.catch(() => {
      if (hit === p) hit = null;
    });
    return p;
  };
}

export interface AssumeRoleOptions {
  roleArn: string;
  /** sts:ExternalId the role's trust policy demands (infra/aws/spoke.yml). */
  externalId?: string;
  /** Shown in the other account's CloudTrail (the function's name). */
  sessionName: string;
  /** The cluster's region: STS is called at its regional endpoint (sts.<region>.amazonaws.com). */
  region: string;
  /** The caller's own credentials (the function role). */
  base: CredentialProvider;
  /** Another STS endpoint (a VPC endpoint; tests). */
  endpoint?: string;
  /** Session length (default 3600 s, the role's MaxSessionDuration in spoke.yml). */
  durationSeconds?: number;
}

/** STS role session names: 2-64 characters of [\w+=,.@-]. */
export function roleSessionName(raw: string | undefined): string {
  const s = (raw ?? '').replace(/[^\w+=,.@-]/g, '-').slice(0, 64);
  return s.length >= 2 ? s : 'ripple';
}

/**
 * Credentials of `roleArn`, assumed with `base` (sts:AssumeRole at the cluster region's STS endpoint, with the
 * ExternalId), memoised as above: one AssumeRole per ~45 minutes per role and container. Errors become
 * RippleErrors naming the role: AccessDenied (trust policy, ExternalId, the caller's sts:AssumeRole) is
 * permanent, the rest (throttling, 5xx, network) retryable. No secret is in any message.
 */
export function assumedRoleCredentials(opts: AssumeRoleOptions): CredentialProvider {
  let provider: CredentialProvider | null = null;
  const fetch: CredentialProvider = async () => {
    if (!provider) {
      const { fromTemporaryCredentials } = await import('@aws-sdk/credential-providers');
      provider = fromTemporaryCredentials({
        params: { RoleArn: opts.roleArn, RoleSessionName: opts.sessionName, DurationSeconds: opts.durationSeconds ?? 3600, ...(opts.externalId ? { ExternalId: opts.externalId } : {}) },
        masterCredentials: opts.base,
        clientConfig: { region: opts.region, ...(opts.endpoint ? { endpoint: opts.endpoint } : {}), maxAttempts: 2 },
      }) as CredentialProvider;
    }
    try {
      return await provider();
    } catch (err) {
      const e = err as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
      const code = e.name ?? e.Code ?? 'error';
      const status = e.$metadata?.httpStatusCode ?? 0;
      if (code === 'AccessDenied' || code === 'AccessDeniedException' || status === 403) {
        throw new PermanentError(
          `sts:AssumeRole ${opts.roleArn}: access denied (the role's trust policy must allow this function's role${opts.externalId ? ' with this ExternalId' : ''}, and the function role needs sts:AssumeRole on it: deploy the cluster's spoke stack, infra/aws/spoke.yml)`,
          { cause: err },
        );
      }
      if (code === 'ValidationError' || code === 'MalformedPolicyDocument' || status === 400) {
        throw new PermanentError(`sts:AssumeRole ${opts.roleArn}: ${code} (check the cluster's roleArn and externalId in RIPPLE_CLUSTERS)`, { cause: err });
      }
      throw new RetryableError(`sts:AssumeRole ${opts.roleArn}: ${code}`, { cause: err });
    }
  };
  return memoCredentials(fetch);
}
