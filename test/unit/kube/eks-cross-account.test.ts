/**
 * kubeFor for a fleet across regions and accounts, through the real protocols: the AWS SDK's STS client
 * (fromTemporaryCredentials) and EKSClient talk to a local STS/EKS stand-in (test/support/sts-stub.ts) with only
 * their endpoint changed, and each cluster's HTTPS API server authenticates the bearer token the way EKS does
 * (GetCallerIdentity through the token's presigned URL, with its own cluster name in x-k8s-aws-id; the
 * stand-in verifies the SigV4 signature with the key's secret).
 *
 *   hub   the function's account (111111111111), eu-west-1
 *   us    the function's account, us-east-1: reached directly, described and signed for in us-east-1
 *   edge  another account (222222222222), eu-west-1: the function assumes ripple-prod-edge-clone there
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../../../core/errors.ts';
import { parseRuntimeConfig } from '../../../functions/runtime/config.ts';
import { createKubeProvider } from '../../../functions/runtime/kube.ts';
import { StsStub } from '../../support/sts-stub.ts';

const HUB = '111111111111';
const EDGE = '222222222222';
const FUNCTION_ROLE = `arn:aws:iam::${HUB}:role/ripple-prod-CloneRole-ABC`;
const EDGE_ROLE = `arn:aws:iam::${EDGE}:role/ripple-prod-edge-clone`;
const EXTERNAL_ID = 'ripple-prod-edge';

let dir = '';
let cert: Buffer;
let key: Buffer;
const sts = new StsStub();
/** per cluster: the identities its API server authenticated (null: refused) */
const seen: Record<string, (string | null)[]> = {};
const servers: Server[] = [];
const endpoints: Record<string, string> = {};

async function apiServer(cluster: string): Promise<string> {
  const server = createServer({ key, cert }, (req, res) => {
    const token = String(req.headers.authorization ?? '').replace(/^Bearer /, '');
    void sts.identityOf(token, cluster).then((arn) => {
      (seen[cluster] ??= []).push(arn);
      if (!arn) {
        res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: 'Unauthorized', reason: 'Unauthorized', code: 401 }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default', annotations: { who: arn } } }));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ripple-xacct-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  cert = readFileSync(join(dir, 'cert.pem'));
  key = readFileSync(join(dir, 'key.pem'));
  await sts.start();
  const caData = cert.toString('base64');
  for (const [name, account, region] of [['hub', HUB, 'eu-west-1'], ['us', HUB, 'us-east-1'], ['edge', EDGE, 'eu-west-1']] as const) {
    endpoints[name] = await apiServer(name);
    sts.clusters.set(name, { name, account, region, endpoint: endpoints[name]!, caData });
  }
  // The function role's own credentials, and the spoke role trusting exactly it, with the ExternalId.
  sts.addPrincipal('AKIDHUBCLONE', { arn: FUNCTION_ROLE, account: HUB, secret: 'hub-secret' });
  sts.roles.set(EDGE_ROLE, { arn: EDGE_ROLE, trusted: [FUNCTION_ROLE], externalId: EXTERNAL_ID });
});
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise<void>((r) => s.close(() => r()));
  }
  await sts.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  sts.calls.length = 0;
  for (const k of Object.keys(seen)) delete seen[k];
});

const credentials = async () => ({ accessKeyId: 'AKIDHUBCLONE', secretAccessKey: 'hub-secret' });

function provider(clusters: Record<string, unknown>) {
  return createKubeProvider({
    config: parseRuntimeConfig({ RIPPLE_CLUSTER_NAME: 'hub', RIPPLE_CLUSTERS: JSON.stringify(clusters), AWS_REGION: 'eu-west-1', AWS_LAMBDA_FUNCTION_NAME: 'ripple-prod-clone' }),
    credentials,
    endpoints: { sts: sts.url, eks: sts.url },
  });
}

const FLEET = {
  hub: { region: 'eu-west-1' },
  us: { region: 'us-east-1' },
  edge: { region: 'eu-west-1', accountId: EDGE, roleArn: EDGE_ROLE, externalId: EXTERNAL_ID },
};

describe('kubeFor across accounts and regions (AWS SDK against a local STS/EKS, EKS token checked as EKS does)', () => {
  it('another account: assumes its role once (ExternalId, session name), describes and authenticates as that role', async () => {
    // Prepare
    const kubeFor = provider(FLEET);
    // Act
    const kube = await kubeFor('edge');
    const who = [];
    for (let i = 0; i < 3; i++) who.push((await kube.core.readNamespace({ name: 'default' })).metadata?.annotations?.who);
    // Assess
    const assumed = sts.calls.filter((c) => c.operation === 'AssumeRole');
    expect(assumed).toEqual([
      { operation: 'AssumeRole', accessKey: 'AKIDHUBCLONE', region: 'eu-west-1', service: 'sts', status: 200, detail: { roleArn: EDGE_ROLE, externalId: EXTERNAL_ID, sessionName: 'ripple-prod-clone', duration: '3600' } },
    ]);
    const described = sts.calls.filter((c) => c.operation === 'DescribeCluster');
    expect(described).toHaveLength(1);
    expect(described[0]).toMatchObject({ region: 'eu-west-1', service: 'eks', status: 200 });
    expect(described[0]!.accessKey).toMatch(/^ASIASTUB/); // the assumed role's, not the function role's
    expect(who).toEqual(Array(3).fill(`arn:aws:sts::${EDGE}:assumed-role/ripple-prod-edge-clone/ripple-prod-clone`));
    expect(seen.edge).toHaveLength(3);
  });

  it('the same account in another region: no role to assume; described and signed for in that region with the function role', async () => {
    const kube = await provider(FLEET)('us');
    const ns = await kube.core.readNamespace({ name: 'default' });
    expect(ns.metadata?.annotations?.who).toBe(FUNCTION_ROLE);
    expect(sts.calls.filter((c) => c.operation === 'AssumeRole')).toEqual([]);
    expect(sts.calls.find((c) => c.operation === 'DescribeCluster')).toMatchObject({ accessKey: 'AKIDHUBCLONE', region: 'us-east-1', status: 200 });
    expect(sts.calls.find((c) => c.operation === 'GetCallerIdentity')).toMatchObject({ accessKey: 'AKIDHUBCLONE', region: 'us-east-1', status: 200 });
  });

  it('without its role, a cluster of another account cannot even be described (EKS has no cross-account DescribeCluster)', async () => {
    const { roleArn: _r, externalId: _e, ...noRole } = FLEET.edge;
    const err = await provider({ ...FLEET, edge: noRole })('edge').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/eks:DescribeCluster edge in eu-west-1: access denied/);
  });

  it('a wrong ExternalId is refused by the role trust: a permanent error naming the role, no secret in it', async () => {
    const err = await provider({ ...FLEET, edge: { ...FLEET.edge, externalId: 'guessed' } })('edge').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(`sts:AssumeRole ${EDGE_ROLE}: access denied`);
    expect((err as Error).message).not.toMatch(/hub-secret|guessed/);
    expect(sts.calls.map((c) => `${c.operation} ${c.status}`)).toEqual(['AssumeRole 403']);
    expect(seen.edge).toBeUndefined();
  });

  it('a token is bound to its cluster: the edge token presented to the hub API server is refused', async () => {
    // The cluster named "edge" in the config, but its endpoint is the hub's API server (which checks x-k8s-aws-id: hub).
    const kube = await provider({ ...FLEET, edge: { ...FLEET.edge, endpoint: endpoints.hub, caData: cert.toString('base64') } })('edge');
    await expect(kube.core.readNamespace({ name: 'default' })).rejects.toThrow(/401|Unauthorized|unauthori/i);
    expect(seen.hub).toEqual([null]);
    expect(sts.calls.find((c) => c.operation === 'GetCallerIdentity')).toMatchObject({ status: 403, detail: { why: 'signature' } });
  });
});
