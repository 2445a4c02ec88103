/**
 * The EKS path of kubeFor, over real HTTPS: endpoint + CA from eks:DescribeCluster (a seam), the presigned-STS
 * bearer token on every request, TLS verified against the cluster CA, one connection reused across requests.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../core/errors.ts';
import { createKubeProvider } from '../../../functions/runtime/kube.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';

let server: Server;
let endpoint = '';
let caData = '';
let dir = '';
let connections = 0;
const auth: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ripple-eks-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  const cert = readFileSync(join(dir, 'cert.pem'));
  caData = cert.toString('base64');
  server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert }, (req, res) => {
    auth.push(req.headers.authorization ?? '');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }));
  });
  server.on('secureConnection', () => connections++);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(dir, { recursive: true, force: true });
});

const credentials = async () => ({ accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' });

describe('kubeFor on EKS', () => {
  it('describes the cluster once, sends the k8s-aws-v1 token, verifies the CA and reuses its connections', async () => {
    // Prepare
    const described: string[] = [];
    const kubeFor = createKubeProvider({
      config: parseRuntimeConfig({ RIPPLE_CLUSTERS: JSON.stringify({ prod: { region: 'eu-west-1' } }) }),
      describeCluster: async (name, region) => (described.push(`${name}@${region}`), { endpoint, caData }),
      credentials,
    });
    auth.length = 0;
    connections = 0;
    // Act
    const kube = await kubeFor('prod');
    for (let i = 0; i < 10; i++) await kube.core.readNamespace({ name: 'default' });
    const again = await kubeFor('prod');
    // Assess
    expect(again).toBe(kube);
    expect(described).toEqual(['prod@eu-west-1']);
    expect(auth).toHaveLength(10);
    expect(new Set(auth).size).toBe(1); // cached token
    expect(auth[0]).toMatch(/^Bearer k8s-aws-v1\.[A-Za-z0-9_-]+$/);
    const url = new URL(Buffer.from(auth[0].slice('Bearer k8s-aws-v1.'.length), 'base64url').toString());
    expect(url.host).toBe('sts.eu-west-1.amazonaws.com');
    // client-node alone opens one TLS connection per request here (10); ripple keeps its dispatcher
    expect(connections).toBeLessThanOrEqual(2);
  });

  it('uses endpoint and CA from RIPPLE_CLUSTERS without calling eks:DescribeCluster', async () => {
    const kubeFor = createKubeProvider({
      config: parseRuntimeConfig({ RIPPLE_CLUSTERS: JSON.stringify({ prod: { region: 'eu-west-1', endpoint, caData } }) }),
      describeCluster: async () => {
        throw new Error('must not be called');
      },
      credentials,
    });
    expect((await (await kubeFor('prod')).core.readNamespace({ name: 'default' })).metadata?.name).toBe('default');
  });

  it('refuses a server whose certificate is not signed by the cluster CA', async () => {
    const other = execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', '/dev/null', '-days', '1', '-subj', '/CN=other'], { stdio: ['ignore', 'pipe', 'ignore'] });
    const kubeFor = createKubeProvider({
      config: parseRuntimeConfig({ RIPPLE_CLUSTERS: JSON.stringify({ prod: { region: 'eu-west-1', endpoint, caData: other.toString('base64') } }) }),
      credentials,
    });
    await expect((await kubeFor('prod')).core.readNamespace({ name: 'default' })).rejects.toThrow(/get namespaces default/);
  });

  it.each([
    [{ RIPPLE_CLUSTERS: JSON.stringify({ prod: { region: 'eu-west-1' } }) }, 'staging', /cluster staging: not configured \(RIPPLE_CLUSTERS names prod/],
    [{ RIPPLE_CLUSTER_NAME: 'prod' }, 'prod', /cluster prod: no AWS region/],
  ])('names what is missing: %j asked for %s', async (env, cluster, message) => {
    const kubeFor = createKubeProvider({ config: parseRuntimeConfig(env), credentials });
    const err = await kubeFor(cluster).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(message);
  });
});

describe('parseRuntimeConfig', () => {
  it.each([
    [{}, /no cluster configured/],
    [{ RIPPLE_CLUSTERS: '{nope' }, /RIPPLE_CLUSTERS: not valid JSON/],
    [{ RIPPLE_CLUSTERS: '{"a":{"endpoint":"not a url"}}' }, /RIPPLE_CLUSTERS\.a\.endpoint/],
    [{ RIPPLE_KUBECONFIG: '/k', RIPPLE_WRITE_CONCURRENCY: '0' }, /RIPPLE_WRITE_CONCURRENCY: "0" is not an integer of at least 1/],
  ])('%j -> %s', (env, message) => {
    expect(() => parseRuntimeConfig(env)).toThrow(message);
  });

  it('defaults: policies under LAMBDA_TASK_ROOT, first configured cluster', () => {
    const c = parseRuntimeConfig({ RIPPLE_CLUSTERS: '{"a":{},"b":{}}', LAMBDA_TASK_ROOT: '/var/task', AWS_REGION: 'eu-west-1' });
    expect(c).toMatchObject({ policyDir: '/var/task/policies', defaultCluster: 'a', region: 'eu-west-1', requestTimeoutMs: 10_000, kubeconfigPath: null });
  });
});
