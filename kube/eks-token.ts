/**
 * EKS bearer tokens, as aws-iam-authenticator and `aws eks get-token` make them: a presigned STS
 * GetCallerIdentity URL (GET, signed header `x-k8s-aws-id: <cluster>`, X-Amz-Expires=60), base64url without
 * padding, prefixed `k8s-aws-v1.`. EKS accepts it for 15 minutes after X-Amz-Date; we reuse it for 14.
 */
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

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

/** Caches one token per cluster for TOKEN_REUSE_MS; concurrent callers share one signing. */
export function eksTokenCache(opts: { region: (cluster: string) => string; credentials: CredentialProvider; now?: () => number }) {
  const now = opts.now ?? Date.now;
  const cache = new Map<string, { token: Promise<string>; until: number }>();
  return {
    async get(cluster: string): Promise<string> {
      const hit = cache.get(cluster);
      if (hit && hit.until > now()) return hit.token;
      const token = eksToken({ cluster, region: opts.region(cluster), credentials: opts.credentials, now: new Date(now()) });
      cache.set(cluster, { token, until: now() + TOKEN_REUSE_MS });
      token.catch(() => cache.delete(cluster));
      return token;
    },
    invalidate(cluster: string): void {
      cache.delete(cluster);
    },
  };
}
