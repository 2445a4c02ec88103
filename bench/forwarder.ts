/**
 * `npm run bench -- forwarder`
 *
 * 1. Throughput: N Secret changes through the forwarder's diff + send path (keyed fingerprints, schema
 *    validation, PutEvents over HTTP with the real SDK) into the local EventBridge: events/s and entries/call.
 * 2. End to end: Secrets written to the embedded cluster while the forwarder watches it; delivered events/s
 *    (bounded by the embedded cluster's write rate, printed for context).
 * 3. Memory: retained data (JS heap data spaces + ArrayBuffers) per object with 10k and 100k Secrets held, the
 *    forwarder side by side with a plain client-node makeInformer on the same cluster, each in its own process
 *    (--expose-gc); the growth of V8's code spaces (fixed, not per object) and the all-in figure are printed too.
 * 4. Failover: time from cutting the leader's network to the standby leading, with the default Lease timings.
 * Figures are printed and written into docs/forwarder.md between the bench markers.
 */
import { execFile } from 'node:child_process';
import { createSecretKey, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { objectChangeEntry } from '../events/schema.ts';
import { DEFAULT_ANNOTATION_ALLOW_LIST, observe, Store } from '../forwarder/diff.ts';
import type { DiffContext } from '../forwarder/diff.ts';
import { startForwarder } from '../forwarder/index.ts';
import { KINDS } from '../forwarder/kinds.ts';
import { Metrics } from '../forwarder/metrics.ts';
import { eventBridgePut, Sender } from '../forwarder/send.ts';
import { startCluster } from '../infra/local/cluster/index.ts';
import { startEventBridge } from '../infra/local/eventbridge/index.ts';
import { kubeConfigVia, startTcpProxy, until } from '../test/integration/forwarder/helpers.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

/** `kubectl apply` adds the whole object (data included) as an annotation: common, and an informer keeps it. */
function applied(obj: any) {
  const { apiVersion, kind, type, data } = obj;
  obj.metadata.annotations = { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ apiVersion, kind, type, data, metadata: { name: obj.metadata.name, namespace: obj.metadata.namespace, labels: obj.metadata.labels } }) + '\n' };
  return obj;
}

function secret(ns: string, name: string, rv: number) {
  const now = '2026-11-25T10:00:00Z';
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: {
      name,
      namespace: ns,
      uid: randomUUID(),
      resourceVersion: String(rv),
      creationTimestamp: now,
      labels: { app: name.slice(0, 12), team: ns },
      managedFields: [{ manager: 'kubectl-create', operation: 'Update', apiVersion: 'v1', time: now, fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { '.': {}, 'f:password': {}, 'f:username': {} }, 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {}, 'f:team': {} } }, 'f:type': {} } }],
    },
    data: { username: Buffer.from(`user-${rv}`).toString('base64'), password: Buffer.from(randomUUID()).toString('base64') },
  };
}

async function throughput(n: number): Promise<{ events: number; seconds: number; perSecond: number; entriesPerCall: number }> {
  const bus = await startEventBridge();
  const metrics = new Metrics();
  const put = eventBridgePut(new EventBridgeClient({ endpoint: bus.url, region: 'us-east-1', credentials }));
  const sender = new Sender({ put, metrics });
  const ctx: DiffContext = { cluster: 'bench', key: createSecretKey(Buffer.alloc(32, 1)), annotationAllowList: DEFAULT_ANNOTATION_ALLOW_LIST, now: () => new Date().toISOString() };
  const store = new Store();
  const objs = Array.from({ length: n }, (_, i) => secret(`ns-${i % 50}`, `s-${i}`, i + 1));
  // warm-up
  for (const o of objs.slice(0, 200)) for (const e of observe(new Store(), KINDS.Secret, o, ctx).emissions) await sender.enqueue(objectChangeEntry(e.detailType, e.detail, 'ripple'));
  await sender.flush();
  const calls0 = metrics.get('put_calls_total');
  const entries0 = metrics.get('put_entries_total');
  const t0 = performance.now();
  for (const o of objs) for (const e of observe(store, KINDS.Secret, o, ctx).emissions) await sender.enqueue(objectChangeEntry(e.detailType, e.detail, 'ripple'));
  await sender.flush();
  const seconds = (performance.now() - t0) / 1000;
  const calls = metrics.get('put_calls_total') - calls0;
  const entries = metrics.get('put_entries_total') - entries0;
  await sender.stop();
  const accepted = bus.received().length;
  await bus.stop();
  if (accepted < n) throw new Error(`throughput: bus accepted ${accepted} of ${n}`);
  return { events: n, seconds, perSecond: Math.round(n / seconds), entriesPerCall: Math.round((entries / calls) * 100) / 100 };
}

async function endToEnd(n: number): Promise<{ events: number; seconds: number; perSecond: number; entriesPerCall: number }> {
  const cluster = await startCluster();
  const bus = await startEventBridge();
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'ripple-system' } } });
  await core.createNamespace({ body: { metadata: { name: 'load' } } });
  const fwd = await startForwarder(
    { cluster: 'bench', kubeConfig: cluster.kubeConfig(), eventBusName: 'ripple', eventBridge: { endpoint: bus.url, region: 'us-east-1', credentials }, kinds: ['Secret'], leaderElection: false, httpPort: null },
    { log: () => {} },
  );
  await fwd.synced;
  const seen = () => (bus.received() as any[]).filter((e) => e.detail?.namespace === 'load').length;
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        await core.createNamespacedSecret({ namespace: 'load', body: { metadata: { name: `s-${i}` }, stringData: { v: String(i) } } });
      }
    }),
  );
  await until('all events', () => seen() >= n, 120_000, 20);
  const seconds = (performance.now() - t0) / 1000;
  const m = fwd.metrics();
  const val = (s: string) => Number(new RegExp(`^${s} (\\S+)$`, 'm').exec(m)?.[1] ?? 0);
  await fwd.stop();
  await bus.stop();
  await cluster.stop();
  return { events: n, seconds, perSecond: Math.round(n / seconds), entriesPerCall: Math.round((val('ripple_forwarder_put_entries_total') / val('ripple_forwarder_put_calls_total')) * 100) / 100 };
}

interface HolderMemory {
  /** Retained data bytes per object (JS heap data spaces + ArrayBuffers). */
  bytesPerObject: number;
  /** Growth of V8's code spaces while the objects flowed in (compiled code; fixed, not per object). */
  codeGrowthBytes: number;
  /** (data + code growth) / objects: everything the process gained, spread over the objects. */
  allInBytesPerObject: number;
}

async function memory(n: number, kubectlApplied = false): Promise<{ objects: number; ripple: HolderMemory; informer: HolderMemory; ratio: number; allInRatio: number; jsonBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'ripple-bench-'));
  try {
    // The cluster state is written as a state file, so 100k objects load in seconds instead of 100k API calls.
    const statePath = join(dir, 'state.json');
    const nsCount = Math.max(1, Math.round(n / 1000));
    const objects: { key: string; obj: any }[] = [];
    let rv = 10;
    for (let i = 0; i < nsCount; i++) objects.push({ key: 'namespaces', obj: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${i}`, uid: randomUUID(), resourceVersion: String(rv++) }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } } });
    let jsonBytes = 0;
    for (let i = 0; i < n; i++) {
      const base = secret(`team-${i % nsCount}`, `app-${i}-credentials`, rv++);
      const obj = kubectlApplied ? applied(base) : base;
      jsonBytes += JSON.stringify(obj).length;
      objects.push({ key: 'secrets', obj });
    }
    writeFileSync(statePath, JSON.stringify({ version: 1, resourceVersion: rv, objects }));
    const t0 = Date.now();
    const cluster = await startCluster({ statePath, authorization: 'AlwaysAllow', controllers: false });
    if (process.env.FORWARDER_BENCH_VERBOSE) console.error(`cluster with ${n} objects up in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    try {
      const kcFile = join(dir, 'kubeconfig');
      writeFileSync(kcFile, cluster.kubeconfig(), { mode: 0o600 });
      const child = async (mode: string) => {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--expose-gc', '--max-old-space-size=4096', join(root, 'bench/_forwarder-memory.ts'), mode, kcFile, String(n)], { maxBuffer: 1 << 20 });
        if (process.env.FORWARDER_BENCH_VERBOSE) process.stderr.write(stderr);
        return JSON.parse(stdout.trim().split('\n').pop()!) as HolderMemory;
      };
      const ripple = await child('ripple');
      const informer = await child('informer');
      const ratio = (a: number, b: number) => Math.round((a / b) * 10) / 10;
      return { objects: n, ripple, informer, ratio: ratio(informer.bytesPerObject, ripple.bytesPerObject), allInRatio: ratio(informer.allInBytesPerObject, ripple.allInBytesPerObject), jsonBytes: Math.round(jsonBytes / n) };
    } finally {
      await cluster.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function failover(): Promise<{ crashSeconds: number; gracefulSeconds: number }> {
  const cluster = await startCluster();
  const bus = await startEventBridge();
  const core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'ripple-system' } } });
  const start = async (identity: string) => {
    const proxy = await startTcpProxy(cluster.url);
    const kc = kubeConfigVia(cluster.kubeconfig({ user: 'admin-' + identity, groups: ['system:masters'] }), cluster.url, proxy.url);
    const fwd = await startForwarder({ cluster: 'bench', kubeConfig: kc, eventBusName: 'ripple', eventBridge: { endpoint: bus.url, region: 'us-east-1', credentials }, identity, httpPort: null }, { log: () => {} });
    await fwd.synced;
    return { fwd, proxy };
  };
  const a = await start('a');
  const b = await start('b');
  await until('a leader', () => a.fwd.isLeader() || b.fwd.isLeader(), 30_000);
  let [leader, standby] = a.fwd.isLeader() ? [a, b] : [b, a];
  // Crash: the leader's network is cut; it can neither renew nor release.
  let t0 = performance.now();
  leader.proxy.refuse();
  await until('takeover after crash', () => standby.fwd.isLeader(), 30_000, 20);
  const crashSeconds = (performance.now() - t0) / 1000;
  await leader.fwd.stop(1_000);
  await leader.proxy.close();
  // Graceful: SIGTERM path, the Lease is released.
  const c = await start('c');
  [leader, standby] = [standby, c];
  t0 = performance.now();
  await leader.fwd.stop(1_000);
  await until('takeover after release', () => standby.fwd.isLeader(), 30_000, 20);
  const gracefulSeconds = (performance.now() - t0) / 1000;
  await standby.fwd.stop(1_000);
  await leader.proxy.close();
  await standby.proxy.close();
  await bus.stop();
  await cluster.stop();
  return { crashSeconds: Math.round(crashSeconds * 10) / 10, gracefulSeconds: Math.round(gracefulSeconds * 10) / 10 };
}

function writeDocs(block: string): void {
  const file = join(root, 'docs/forwarder.md');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  const begin = '<!-- bench:forwarder:begin -->';
  const end = '<!-- bench:forwarder:end -->';
  const i = text.indexOf(begin);
  const j = text.indexOf(end);
  if (i < 0 || j < 0) return;
  writeFileSync(file, text.slice(0, i + begin.length) + '\n' + block + '\n' + text.slice(j));
}

export async function run(): Promise<void> {
  const lines: string[] = [];
  const say = (s: string) => {
    console.log(s);
    lines.push(s);
  };
  // FORWARDER_BENCH=throughput,e2e,memory,failover runs a subset (and then leaves the docs alone).
  const only = process.env.FORWARDER_BENCH?.split(',');
  const want = (part: string) => !only || only.includes(part);
  if (want('throughput')) {
    const tp = await throughput(20_000);
    say(`| diff + send → local EventBridge (real SDK, HTTP) | ${tp.events} events in ${tp.seconds.toFixed(2)} s | **${tp.perSecond} events/s** | **${tp.entriesPerCall} entries/PutEvents** | goal ≥ 5,000/s, ≥ 9/call |`);
  }
  if (want('e2e')) {
    const e2e = await endToEnd(3_000);
    say(`| end to end: kube writes → watch → bus | ${e2e.events} Secrets in ${e2e.seconds.toFixed(2)} s | ${e2e.perSecond} events/s | ${e2e.entriesPerCall} entries/PutEvents | bounded by the embedded cluster's write rate |`);
  }
  if (want('memory')) {
    const sizes = process.env.FORWARDER_BENCH_SIZES ? process.env.FORWARDER_BENCH_SIZES.split(',').map(Number) : [10_000, 100_000];
    for (const [n, kubectlApplied] of [...sizes.map((n) => [n, false] as const), [sizes[sizes.length - 1], true] as const]) {
      const m = await memory(n, kubectlApplied);
      const what = kubectlApplied ? 'Secrets applied with kubectl (last-applied annotation)' : 'Secrets';
      const kb = (b: number) => `${b < 0 ? '−' : '+'}${Math.round(Math.abs(b) / 1024).toLocaleString('en')} KB`;
      say(
        `| memory, ${n.toLocaleString('en')} ${what}, ≈${m.jsonBytes} B JSON each | forwarder **${m.ripple.bytesPerObject} B/object** (all-in ${m.ripple.allInBytesPerObject}; code ${kb(m.ripple.codeGrowthBytes)}) | informer ${m.informer.bytesPerObject} B/object (all-in ${m.informer.allInBytesPerObject}; code ${kb(m.informer.codeGrowthBytes)}) | **${m.ratio}× less** (all-in ${m.allInRatio}×) | goal ≤ 300 B, ≥ 10× |`,
      );
    }
  }
  if (want('failover')) {
    const fo = await failover();
    say(`| failover (default Lease timings) | leader crash: **${fo.crashSeconds} s** | graceful stop: ${fo.gracefulSeconds} s | | goal < 15 s |`);
  }
  if (only) return;
  writeDocs(['| measurement | figure | | | |', '|---|---|---|---|---|', ...lines, '', `Measured ${new Date().toISOString().slice(0, 16)}Z on the development machine (2 shared cores), \`npm run bench -- forwarder\`.`].join('\n'));
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await run();
