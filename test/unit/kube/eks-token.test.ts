import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { eksToken, eksTokenCache, TOKEN_PREFIX, TOKEN_REUSE_MS } from '../../../kube/eks-token.ts';

const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', sessionToken: 'session/token+with=specials' };
const now = new Date('2026-11-25T10:00:00Z');

function decode(token: string): URL {
  expect(token.startsWith(TOKEN_PREFIX)).toBe(true);
  const b64 = token.slice(TOKEN_PREFIX.length);
  expect(b64).toMatch(/^[A-Za-z0-9_-]+$/); // base64url, no padding
  return new URL(Buffer.from(b64, 'base64url').toString('utf8'));
}

/** Independent SigV4 (AWS docs, query-string auth) over the decoded URL: proves the signature, not just the shape. */
function expectedSignature(url: URL, cluster: string, secret: string): string {
  const q = [...url.searchParams.entries()].filter(([k]) => k !== 'X-Amz-Signature');
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const canonicalQuery = q.map(([k, v]) => [enc(k), enc(v)]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('&');
  const canonicalRequest = ['GET', '/', canonicalQuery, `host:${url.host}`, `x-k8s-aws-id:${cluster}`, '', 'host;x-k8s-aws-id', createHash('sha256').update('').digest('hex')].join('\n');
  const date = url.searchParams.get('X-Amz-Date')!;
  const scope = url.searchParams.get('X-Amz-Credential')!.split('/').slice(1).join('/');
  const toSign = ['AWS4-HMAC-SHA256', date, scope, createHash('sha256').update(canonicalRequest).digest('hex')].join('\n');
  const [day, region, service] = scope.split('/');
  let k: Buffer = createHmac('sha256', `AWS4${secret}`).update(day).digest();
  for (const part of [region, service, 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
  return createHmac('sha256', k).update(toSign).digest('hex');
}

describe('EKS token', () => {
  it('is k8s-aws-v1. + base64url of a presigned STS GetCallerIdentity URL with x-k8s-aws-id signed', async () => {
    // Act
    const token = await eksToken({ cluster: 'prod-eu', region: 'eu-west-1', credentials, now });
    // Assess
    const url = decode(token);
    expect(url.protocol).toBe('https:');
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    expect(url.pathname).toBe('/');
    const q = url.searchParams;
    expect(q.get('Action')).toBe('GetCallerIdentity');
    expect(q.get('Version')).toBe('2011-06-15');
    expect(q.get('X-Amz-Expires')).toBe('60');
    expect(q.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256');
    expect(q.get('X-Amz-Date')).toBe('20261125T100000Z');
    expect(q.get('X-Amz-Credential')).toBe('AKIDEXAMPLE/20261125/eu-west-1/sts/aws4_request');
    expect(q.get('X-Amz-SignedHeaders')!.split(';')).toEqual(['host', 'x-k8s-aws-id']);
    expect(q.get('X-Amz-Security-Token')).toBe(credentials.sessionToken);
    expect(q.get('X-Amz-Signature')).toBe(expectedSignature(url, 'prod-eu', credentials.secretAccessKey));
  });

  it('binds the cluster name into the signature', async () => {
    const a = decode(await eksToken({ cluster: 'a', region: 'us-east-1', credentials, now }));
    const b = decode(await eksToken({ cluster: 'b', region: 'us-east-1', credentials, now }));
    expect(a.searchParams.get('X-Amz-Signature')).not.toBe(b.searchParams.get('X-Amz-Signature'));
    expect(a.searchParams.get('X-Amz-Signature')).toBe(expectedSignature(a, 'a', credentials.secretAccessKey));
    expect(a.searchParams.get('X-Amz-Signature')).not.toBe(expectedSignature(a, 'b', credentials.secretAccessKey));
  });

  it.each([
    ['us-east-1', 'sts.us-east-1.amazonaws.com'],
    ['cn-north-1', 'sts.cn-north-1.amazonaws.com.cn'],
  ])('region %s signs for %s', async (region, host) => {
    expect(decode(await eksToken({ cluster: 'c', region, credentials, now })).host).toBe(host);
  });

  it('is cached per cluster for 14 minutes, then re-signed', async () => {
    // Prepare
    let t = now.getTime();
    let calls = 0;
    const cache = eksTokenCache({ region: () => 'eu-west-1', credentials: async () => (calls++, credentials), now: () => t });
    // Act
    const first = await cache.get('x');
    t += TOKEN_REUSE_MS - 1000;
    const second = await cache.get('x');
    const other = await cache.get('y');
    t += 2000;
    const third = await cache.get('x');
    // Assess
    expect(second).toBe(first);
    expect(other).not.toBe(first);
    expect(third).not.toBe(first);
    expect(decode(third).searchParams.get('X-Amz-Date')).toBe('20261125T101401Z');
    expect(calls).toBe(3);
  });
});
