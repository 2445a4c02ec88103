/**
 * What a clone write's answer carries over the wire. The copies' creates, replaces and deletes go through
 * kube/http.ts with their answers discarded, so they ask for the written object's metadata only: a recording HTTP
 * proxy between the clone identity's client and the embedded cluster sees every answer, and a Secret copy's data is
 * written but never sent back. Error answers are still read and translated (a 409 is re-planned).
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { applyClonePlan } from '../../../functions/clone/apply.ts';
import { planClone, type CloneAction } from '../../../functions/clone/plan.ts';
import { readCurrent } from '../../../functions/clone/read.ts';
import { METADATA_ONLY_ACCEPT } from '../../../kube/http.ts';
import { kubeFromKubeConfig, type KubeconfigKube as Kube } from '../../../kube/kubeconfig.ts';
import { b64, CLONE_IDENTITY, policiesFrom, startCloneEnv, type CloneEnv } from './harness.ts';

const [POLICY] = policiesFrom(`apiVersion: ripple.dev/v1alpha1
kind: RipplePolicy
metadata: { name: wire }
spec:
  source: { kind: Secret, namespace: base, name: wiresecret }
  sync:
    namespaces: { selector: { matchLabels: { tier: wire } } }
`);
const KEY = Buffer.from('k');
/** The base's value as the copies carry it (base64): never in an answer to a clone write. */
const VALUE = b64('the-secret-value');

interface Exchange { method: string; path: string; accept?: string; code: number; contentType?: string; answer: string }

let env: CloneEnv;
let kube: Kube;
let proxy: Server;
const exchanges: Exchange[] = [];

/** A plain-HTTP proxy in front of the cluster's HTTPS port, recording each request and its whole answer. */
function recordingProxy(target: URL, ca: string): Server {
  return createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const up = httpsRequest({ hostname: target.hostname, port: target.port, path: req.url, method: req.method, headers: { ...req.headers, host: target.host }, ca }, (answer: IncomingMessage) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const text = Buffer.concat(chunks);
          exchanges.push({ method: req.method!, path: req.url!.split('?')[0]!, accept: req.headers.accept, code: answer.statusCode!, contentType: answer.headers['content-type'], answer: text.toString('utf8') });
          const { 'transfer-encoding': _te, 'content-length': _cl, ...headers } = answer.headers;
          res.writeHead(answer.statusCode!, { ...headers, 'content-length': text.length });
          res.end(text);
        });
      });
      up.on('error', (err) => res.destroy(err));
      up.end(Buffer.concat(body));
    });
  });
}

beforeAll(async () => {
  env = await startCloneEnv([POLICY]);
  await env.admin.core.createNamespace({ body: { metadata: { name: 'base' } } });
  await env.admin.core.createNamespacedSecret({ namespace: 'base', body: { metadata: { name: 'wiresecret' }, data: { v: VALUE } } });
  proxy = recordingProxy(new URL(env.cluster.url), env.cluster.caCert);
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  // the clone identity's credentials, sent to the proxy (plain HTTP: client-node wants skipTLSVerify for that)
  const token = env.cluster.kubeConfig(CLONE_IDENTITY).getCurrentUser()!.token!;
  const kc = new KubeConfig();
  const server = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  kc.loadFromOptions({ clusters: [{ name: 'p', server, skipTLSVerify: true }], users: [{ name: 'clone', token }], contexts: [{ name: 'p', cluster: 'p', user: 'clone' }], currentContext: 'p' });
  kube = kubeFromKubeConfig(kc, 'local');
});
afterAll(async () => {
  proxy?.closeAllConnections();
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()));
  await env?.stop();
});
beforeEach(() => {
  exchanges.length = 0;
});

async function plan(namespace: string): Promise<CloneAction[]> {
  return planClone({ ...(await readCurrent(kube, POLICY, { kind: 'namespace', namespace })), fingerprintKey: KEY });
}
const replan = async (a: CloneAction) => (await plan(a.namespace))[0];
const copyIn = (namespace: string) => env.admin.core.readNamespacedSecret({ namespace, name: 'wiresecret' });
/** The answers to the writes sent to one copy. */
const writes = (namespace: string) => exchanges.filter((e) => e.method !== 'GET' && e.path.startsWith(`/api/v1/namespaces/${namespace}/secrets`));

/** An answer to a write of a copy: its metadata only, the stored resourceVersion, no data. */
function expectMetadataOnly(e: Exchange, resourceVersion: string | undefined): void {
  expect(e.accept).toBe(METADATA_ONLY_ACCEPT);
  expect(e.contentType).toBe('application/json');
  const answer = JSON.parse(e.answer);
  expect(Object.keys(answer)).toEqual(['kind', 'apiVersion', 'metadata']);
  expect(answer).toMatchObject({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { name: 'wiresecret', resourceVersion } });
  expect(e.answer).not.toContain(VALUE);
}

describe('clone writes of a Secret copy answer its metadata only', () => {
  it('create: the copy is written with its data; the answer carries none', async () => {
    // Prepare
    await env.admin.core.createNamespace({ body: { metadata: { name: 'wire-create', labels: { tier: 'wire' } } } });
    // Act
    const summary = await applyClonePlan(await plan('wire-create'), { kube, concurrency: 4, replan });
    // Assess
    expect(summary.done.create).toBe(1);
    const copy = await copyIn('wire-create');
    expect(copy.data).toEqual({ v: VALUE });
    const [create] = writes('wire-create');
    expect([create!.method, create!.code]).toEqual(['POST', 201]);
    expectMetadataOnly(create!, copy.metadata?.resourceVersion);
  });

  it('replace of a drifted copy, and a 409 on a stale one read, translated and re-planned: every answer is metadata only', async () => {
    // Prepare: a copy, drifted; the plan to revert it goes stale before it is applied
    await env.admin.core.createNamespace({ body: { metadata: { name: 'wire-update', labels: { tier: 'wire' } } } });
    await applyClonePlan(await plan('wire-update'), { kube, concurrency: 4, replan });
    const copy = await copyIn('wire-update');
    const drifted = await env.admin.core.replaceNamespacedSecret({ namespace: 'wire-update', name: 'wiresecret', body: { ...copy, data: { v: b64('drift-1') } } });
    const stale = await plan('wire-update');
    expect(stale[0]!.action).toBe('update');
    await env.admin.core.replaceNamespacedSecret({ namespace: 'wire-update', name: 'wiresecret', body: { ...drifted, data: { v: b64('drift-2') } } });
    exchanges.length = 0;
    // Act
    const summary = await applyClonePlan(stale, { kube, concurrency: 4, replan });
    // Assess
    expect(summary.conflicts).toBe(1);
    expect(summary.failures).toEqual([]);
    const after = await copyIn('wire-update');
    expect(after.data).toEqual({ v: VALUE });
    const [conflict, replaced] = writes('wire-update');
    expect([conflict!.method, conflict!.code, JSON.parse(conflict!.answer).reason]).toEqual(['PUT', 409, 'Conflict']);
    expect([replaced!.method, replaced!.code]).toEqual(['PUT', 200]);
    expectMetadataOnly(replaced!, after.metadata?.resourceVersion);
  });

  it('delete of a copy: the Status answer passes through', async () => {
    // Prepare: a copy in a namespace then deselected
    await env.admin.core.createNamespace({ body: { metadata: { name: 'wire-delete', labels: { tier: 'wire' } } } });
    await applyClonePlan(await plan('wire-delete'), { kube, concurrency: 4, replan });
    const ns = await env.admin.core.readNamespace({ name: 'wire-delete' });
    await env.admin.core.replaceNamespace({ name: 'wire-delete', body: { ...ns, metadata: { ...ns.metadata, labels: {} } } });
    exchanges.length = 0;
    // Act
    const summary = await applyClonePlan(await plan('wire-delete'), { kube, concurrency: 4, replan });
    // Assess
    expect(summary.done.delete).toBe(1);
    const [del] = writes('wire-delete');
    expect([del!.method, del!.code, del!.accept]).toEqual(['DELETE', 200, METADATA_ONLY_ACCEPT]);
    expect(JSON.parse(del!.answer)).toMatchObject({ kind: 'Status', status: 'Success', details: { name: 'wiresecret' } });
    expect(del!.answer).not.toContain(VALUE);
  });
});

// the proxy itself, so a passing test above means the answers were seen: a plain read answers the whole Secret
describe('the recording proxy', () => {
  it('sees a read of a copy whole, data included', async () => {
    await env.admin.core.createNamespace({ body: { metadata: { name: 'wire-read', labels: { tier: 'wire' } } } });
    await applyClonePlan(await plan('wire-read'), { kube, concurrency: 4, replan });
    exchanges.length = 0;
    await kube.raw.request('GET', '/api/v1/namespaces/wire-read/secrets/wiresecret');
    expect(exchanges).toHaveLength(1);
    expect(exchanges[0]!.answer).toContain(VALUE);
  });
});
