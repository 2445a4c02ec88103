/**
 * The forwarder against the embedded cluster (RBAC enforced, the forwarder running as its ServiceAccount with
 * exactly the RBAC rendered into infra/k8s/rbac/forwarder.yaml, applied with kubectl next to infra/k8s/forwarder) and the local EventBridge through
 * the real SDK. Network faults are made at the TCP level (tests/helpers.ts), not by reaching into the code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRippleEvent } from '../../../events/schema.ts';
import { fingerprint } from '../../../core/fingerprint.ts';
import type { ForwarderConfig, ForwarderDeps } from '../../../forwarder/index.ts';
import { startForwarder } from '../../../forwarder/index.ts';
import { jsonLog } from '../../../forwarder/log.ts';
import type { EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startCluster } from '../../../infra/local/cluster/index.ts';
import type { LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import { startEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { BodyRecorder, TcpProxy } from './helpers.ts';
import { FORWARDER_SA, kubeConfigVia, kubectl, startBodyRecorder, startTcpProxy, until } from './helpers.ts';

const root = join(import.meta.dirname, '../../..');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };

let cluster: EmbeddedCluster;
let bus: LocalEventBridge;
let recorder: BodyRecorder;
let core: CoreV1Api;
let seq = 0;

type Ev = { 'detail-type': string; resources: string[]; detail: any };
const received = () => bus.received() as Ev[];
const since = (mark: number) => received().slice(mark);
const about = (evs: Ev[], ns: string) => evs.filter((e) => e.detail.namespace === ns || (e.detail.kind === 'Namespace' && e.detail.name === ns));
const names = (evs: Ev[]) => evs.map((e) => `${e['detail-type'].replace('Kubernetes Object ', '')} ${e.detail.kind ?? ''}/${e.detail.name ?? e.detail.reason}`);

interface Running {
  fwd: Awaited<ReturnType<typeof startForwarder>>;
  proxy: TcpProxy;
  logs: string[];
}
const running: Running[] = [];

async function forwarder(over: Partial<ForwarderConfig> = {}, deps: ForwarderDeps = {}): Promise<Running> {
  const proxy = await startTcpProxy(cluster.url);
  const kc = kubeConfigVia(cluster.kubeconfig(FORWARDER_SA), cluster.url, proxy.url);
  const logs: string[] = [];
  const fwd = await startForwarder(
    { cluster: 'it', kubeConfig: kc, eventBusName: 'ripple', eventBridge: { endpoint: recorder.url, region: 'us-east-1', credentials }, httpPort: 0, leaderElection: false, ...over },
    { log: jsonLog((l) => logs.push(l), 'debug'), watch: { backoffBaseMs: 50, backoffCapMs: 500, watchdogMs: 60_000 }, sender: { retryBaseMs: 20, retryCapMs: 200 }, ...deps },
  );
  const r = { fwd, proxy, logs };
  running.push(r);
  await fwd.synced;
  return r;
}

async function stopAll(): Promise<void> {
  for (const r of running.splice(0)) {
    await r.fwd.stop(5_000);
    await r.proxy.close();
  }
}

async function namespace(prefix: string): Promise<string> {
  const name = `${prefix}-${++seq}`;
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

const metric = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1] ?? 0);

beforeAll(async () => {
  cluster = await startCluster({ watchHistory: 100_000 });
  bus = await startEventBridge();
  recorder = await startBodyRecorder(bus.url);
  core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  // The forwarder's own manifests and its rendered RBAC, exactly as shipped.
  await kubectl(cluster.kubeconfig(), ['apply', '-k', join(root, 'infra/k8s/forwarder')]);
  await kubectl(cluster.kubeconfig(), ['apply', '-f', join(root, 'infra/k8s/rbac/forwarder.yaml')]);
}, 60_000);

// A failed test must not leave forwarders sending into the next one.
afterEach(stopAll);

afterAll(async () => {
  await stopAll();
  await recorder?.close();
  await bus?.stop();
  await cluster?.stop();
});

describe('forwarder on the embedded cluster', () => {
  it('runs with exactly its ClusterRole: creates its key, lists and watches, and is refused without the binding', async () => {
    // Prepare: an identity with no RBAC at all.
    const kc = cluster.kubeConfig({ user: 'system:serviceaccount:ripple-system:nobody', groups: ['system:serviceaccounts', 'system:authenticated'] });
    // Act + Assess
    await expect(startForwarder({ cluster: 'it', kubeConfig: kc, eventBusName: 'ripple', eventBridge: { endpoint: recorder.url, region: 'us-east-1', credentials } }, { log: () => {} })).rejects.toThrow(
      /get secrets ripple-system\/ripple-fingerprint-key: forbidden: .*\(grant "get" on "secrets"/,
    );
    const denied: string[] = [];
    const off = cluster.onAudit((e) => {
      if (e.user.username === FORWARDER_SA.user && e.responseStatus.code >= 400 && e.responseStatus.code !== 404 && e.responseStatus.code !== 409) denied.push(`${e.verb} ${e.requestURI} ${e.responseStatus.code}`);
    });
    const { fwd } = await forwarder({ leaderElection: true, identity: 'rbac-check' });
    await until('leadership', () => fwd.isLeader());
    off();
    expect(denied).toEqual([]);
    const key = await core.readNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-fingerprint-key' });
    expect(Buffer.from(key.data!.key, 'base64').length).toBeGreaterThanOrEqual(16);
    await stopAll();
  });

  it('emits every event kind once per real change, with keyed fingerprints; the initial list is silent and followed by one startup resync', async () => {
    // Prepare: an object that exists before the forwarder starts.
    const ns = await namespace('kinds');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'pre' }, stringData: { a: '1' } } });
    const mark = received().length;
    const { fwd } = await forwarder();
    await until('startup resync', () => since(mark).some((e) => e.detail.reason === 'startup'));

    // Act
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'db', labels: { app: 'db' }, annotations: { 'ripple.dev/policy': 'p1', 'example.com/other': 'x' } }, type: 'Opaque', stringData: { password: 'one' } },
    });
    await core.patchNamespacedSecret({ namespace: ns, name: 'db', body: [{ op: 'replace', path: '/data/password', value: Buffer.from('two').toString('base64') }] });
    await core.patchNamespacedSecret({ namespace: ns, name: 'db', body: [{ op: 'add', path: '/metadata/labels/tier', value: 'gold' }] });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cfg' }, data: { k: 'v' } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'cfg' });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'helm-release' }, type: 'helm.sh/release.v1', stringData: { release: 'x' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'last' }, stringData: { a: '1' } } });
    await until('last event', () => about(since(mark), ns).some((e) => e.detail.name === 'last'));
    await fwd.flush();

    // Assess
    const evs = about(since(mark), ns);
    // In order per object (the sender keeps each object's events in order; another object's event may go out
    // while one of db's waits for the call before it, and kinds have their own watches).
    const of = (kind: string, name: string) => evs.filter((e) => e.detail.kind === kind && e.detail.name === name);
    expect(names(of('Secret', 'db'))).toEqual(['Created Secret/db', 'Updated Secret/db', 'Updated Secret/db']);
    expect(names(of('Secret', 'last'))).toEqual(['Created Secret/last']);
    expect(names(evs.filter((e) => e.detail.kind === 'Secret')).sort()).toEqual(['Created Secret/db', 'Created Secret/last', 'Updated Secret/db', 'Updated Secret/db']);
    expect(names(evs.filter((e) => e.detail.kind === 'ConfigMap'))).toEqual(['Created ConfigMap/cfg', 'Deleted ConfigMap/cfg']);
    for (const e of since(mark)) expect(() => parseRippleEvent(e)).not.toThrow();
    expect(since(mark).filter((e) => e['detail-type'] === 'Ripple Resync Requested').map((e) => e.detail.reason)).toEqual(['startup']);
    const [created, dataChange, labelChange] = of('Secret', 'db');
    expect(created.detail).toMatchObject({ cluster: 'it', kind: 'Secret', namespace: ns, type: 'Opaque', labels: { app: 'db' }, annotations: { 'ripple.dev/policy': 'p1' }, changes: [] });
    expect(created.resources).toEqual([`k8s://it/Secret/${ns}/db`]);
    expect(dataChange.detail.changes).toEqual(['data']);
    expect(dataChange.detail.previousFingerprint).toBe(created.detail.fingerprint);
    expect(labelChange.detail.changes).toEqual(['labels']);
    expect(labelChange.detail.previousFingerprint).toBeUndefined();
    // Keyed with the cluster's key Secret, over the current content.
    const keySecret = await core.readNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-fingerprint-key' });
    const now = await core.readNamespacedSecret({ namespace: ns, name: 'db' });
    expect(labelChange.detail.fingerprint).toBe(fingerprint(Buffer.from(keySecret.data!.key, 'base64'), { kind: 'Secret', type: now.type, data: now.data }));
    expect(dataChange.detail.manager).toBeTruthy();

    // Namespace deletion reaches the bus as well.
    const mark2 = received().length;
    await core.deleteNamespace({ name: ns });
    await until('namespace deleted', () => since(mark2).some((e) => e['detail-type'] === 'Kubernetes Object Deleted' && e.detail.kind === 'Namespace' && e.detail.name === ns));
    await stopAll();
  });

  it('drops no-op updates (managedFields churn, non-allow-listed annotations)', async () => {
    // Prepare
    const ns = await namespace('noop');
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 's' }, stringData: { a: '1' } } });
    const { fwd } = await forwarder();
    const mark = received().length;
    const before = metric(fwd.metrics(), 'ripple_forwarder_events_dropped_noop_total{kind="Secret"}');
    // Act: three updates that change nothing an event carries, then a real change elsewhere.
    for (const v of ['x', 'y', 'z']) await core.patchNamespacedSecret({ namespace: ns, name: 's', body: [{ op: 'add', path: '/metadata/annotations', value: { 'example.com/touched': v } }] });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'marker' }, stringData: { a: '1' } } });
    await until('marker', () => about(since(mark), ns).some((e) => e.detail.name === 'marker'));
    await fwd.flush();
    // Assess
    expect(names(about(since(mark), ns))).toEqual(['Created Secret/marker']);
    expect(metric(fwd.metrics(), 'ripple_forwarder_events_dropped_noop_total{kind="Secret"}') - before).toBe(3);
    await stopAll();
  });

  it('after 410 Gone, relists and emits only the real differences (deletions included)', async () => {
    // Prepare
    const ns = await namespace('relist');
    for (const n of ['same', 'noop', 'changed', 'gone']) await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: n }, data: { k: 'v' } } });
    const { fwd, proxy } = await forwarder();
    // Act: cut the forwarder off, change things, drop the watch history, let it back in.
    proxy.refuse();
    const mark = received().length;
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'noop', body: [{ op: 'add', path: '/metadata/annotations', value: { 'example.com/x': '1' } }] });
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'changed', body: [{ op: 'replace', path: '/data/k', value: 'w' }] });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'gone' });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'new' }, data: { k: 'v' } } });
    cluster.compact();
    proxy.allow();
    await until('relist after 410', () => metric(fwd.metrics(), 'ripple_forwarder_relists_total{kind="ConfigMap",reason="expired"}') >= 1);
    await until('relist events', () => about(since(mark), ns).length >= 3);
    await fwd.flush();
    // Assess
    expect(names(about(since(mark), ns)).sort()).toEqual(['Created ConfigMap/new', 'Deleted ConfigMap/gone', 'Updated ConfigMap/changed']);
    expect(about(since(mark), ns).find((e) => e.detail.name === 'changed')!.detail.changes).toEqual(['data']);
    await stopAll();
  });

  it('recovers from killed watch connections with nothing lost and nothing doubled', async () => {
    // Prepare
    const ns = await namespace('kill');
    const { fwd, proxy } = await forwarder();
    const mark = received().length;
    // Act: 40 creations while the connections are reset every few writes.
    for (let i = 0; i < 40; i++) {
      await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: `s${i}` }, stringData: { i: String(i) } } });
      if (i % 5 === 4) proxy.killAll();
    }
    await until('40 events', () => about(since(mark), ns).length >= 40);
    await fwd.flush();
    // Assess
    const got = about(since(mark), ns).map((e) => e.detail.name);
    expect(got.slice().sort()).toEqual(Array.from({ length: 40 }, (_, i) => `s${i}`).sort());
    expect(metric(fwd.metrics(), 'ripple_forwarder_watch_restarts_total{kind="Secret",reason="error"}') + metric(fwd.metrics(), 'ripple_forwarder_watch_restarts_total{kind="Secret",reason="closed"}')).toBeGreaterThanOrEqual(1);
    await stopAll();
  });

  it('a watchdog restarts a silently stalled watch, so a change made during the stall still arrives', async () => {
    // Prepare: bookmarks come every 5 s; the watchdog allows 2 s of silence.
    const ns = await namespace('stall');
    const { fwd, proxy } = await forwarder({}, { watch: { watchdogMs: 2_000, backoffBaseMs: 50, backoffCapMs: 500 } });
    const mark = received().length;
    // Act
    proxy.stallAll();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'during-stall' }, stringData: { a: '1' } } });
    // Assess
    await until('event after the stall', () => about(since(mark), ns).some((e) => e.detail.name === 'during-stall'), 20_000);
    expect(metric(fwd.metrics(), 'ripple_forwarder_watch_restarts_total{kind="Secret",reason="watchdog"}')).toBeGreaterThanOrEqual(1);
    await stopAll();
  });

  it('retries throttled and internally failed entries until delivered; counts and drops non-retryable ones', async () => {
    // Prepare
    const ns = await namespace('throttle');
    const { fwd } = await forwarder();
    const mark = received().length;
    // Act
    bus.injectFailures({ code: 'ThrottlingException', count: 3 });
    for (const n of ['a', 'b', 'c']) await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: n }, stringData: { a: '1' } } });
    await until('3 throttled events delivered', () => about(since(mark), ns).length >= 3);
    bus.injectFailures({ code: 'InternalFailure', count: 1 });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'd' }, stringData: { a: '1' } } });
    await until('d delivered', () => about(since(mark), ns).some((e) => e.detail.name === 'd'));
    bus.injectFailures({ code: 'AccessDeniedException', count: 1 });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'e' }, stringData: { a: '1' } } });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'f' }, stringData: { a: '1' } } });
    await until('f delivered', () => about(since(mark), ns).some((e) => e.detail.name === 'f'));
    await fwd.flush();
    // Assess
    expect(names(about(since(mark), ns)).sort()).toEqual(['Created Secret/a', 'Created Secret/b', 'Created Secret/c', 'Created Secret/d', 'Created Secret/f']);
    const m = fwd.metrics();
    expect(metric(m, 'ripple_forwarder_put_failures_total{code="ThrottlingException",retried="true"}')).toBe(3);
    expect(metric(m, 'ripple_forwarder_put_failures_total{code="InternalFailure",retried="true"}')).toBe(1);
    expect(metric(m, 'ripple_forwarder_put_failures_total{code="AccessDeniedException",retried="false"}')).toBe(1);
    await stopAll();
  });

  it('HA: only the leader sends; graceful and crash failovers each resync and keep forwarding', async () => {
    // Prepare: two replicas.
    const ns = await namespace('ha');
    const leaderTimings = { leader: { leaseDurationSeconds: 3, retryMs: 300, renewDeadlineMs: 2_000 } };
    const a = await forwarder({ leaderElection: true, identity: 'replica-a' }, leaderTimings);
    const b = await forwarder({ leaderElection: true, identity: 'replica-b' }, leaderTimings);
    await until('one leader', () => a.fwd.isLeader() !== b.fwd.isLeader());
    const [leader, standby] = a.fwd.isLeader() ? [a, b] : [b, a];
    let mark = received().length;
    // Act 1: a change while both run.
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'one' }, stringData: { a: '1' } } });
    await until('one', () => about(since(mark), ns).length >= 1);
    await leader.fwd.flush();
    await until('standby saw it', () => metric(standby.fwd.metrics(), 'ripple_forwarder_events_not_leader_total') >= 1);
    // Assess 1: sent exactly once, by the leader.
    expect(names(about(since(mark), ns))).toEqual(['Created Secret/one']);

    // Act 2: graceful stop of the leader (SIGTERM path: flush, release the Lease).
    mark = received().length;
    await leader.fwd.stop(5_000);
    await until('standby leads', () => standby.fwd.isLeader());
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'two' }, stringData: { a: '1' } } });
    await until('two', () => about(since(mark), ns).length >= 1);
    // Assess 2
    expect(since(mark).filter((e) => e['detail-type'] === 'Ripple Resync Requested').map((e) => e.detail.reason)).toEqual(['leader-elected']);
    expect(names(about(since(mark), ns))).toEqual(['Created Secret/two']);

    // Act 3: a crash of the new leader — its network is cut, it cannot renew or release.
    const c = await forwarder({ leaderElection: true, identity: 'replica-c' }, leaderTimings);
    mark = received().length;
    standby.proxy.refuse();
    await until('replica-c takes over', () => c.fwd.isLeader(), 20_000);
    await until('cut-off leader steps down', () => !standby.fwd.isLeader(), 20_000);
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'three' }, stringData: { a: '1' } } });
    await until('three', () => about(since(mark), ns).length >= 1);
    // Assess 3
    expect(since(mark).filter((e) => e['detail-type'] === 'Ripple Resync Requested').map((e) => e.detail.reason)).toEqual(['leader-elected']);
    expect(names(about(since(mark), ns))).toEqual(['Created Secret/three']);
    standby.proxy.allow();
    await stopAll();
  }, 60_000);

  it('stop() flushes queued events within the grace period', async () => {
    // Prepare: events linger in the queue for a minute unless flushed.
    const ns = await namespace('stop');
    const { fwd } = await forwarder({}, { sender: { lingerMs: 60_000 } });
    const mark = received().length;
    const seen = () => metric(fwd.metrics(), 'ripple_forwarder_events_seen_total{kind="Secret"}');
    const seenBefore = seen();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'queued' }, stringData: { a: '1' } } });
    await until('the change seen (and so queued)', () => seen() > seenBefore);
    expect(about(since(mark), ns)).toEqual([]);
    // Act
    const res = await fwd.stop(5_000);
    // Assess
    expect(res).toEqual({ unsent: 0 });
    expect(names(about(since(mark), ns))).toEqual(['Created Secret/queued']);
    running.splice(0);
  });

  it('SIGTERM: the container entry point flushes and exits 0', async () => {
    // Prepare: the real entry point as a process, events lingering for a minute.
    const ns = await namespace('sigterm');
    const dir = mkdtempSync(join(tmpdir(), 'ripple-fwd-'));
    writeFileSync(join(dir, 'kubeconfig'), cluster.kubeconfig(FORWARDER_SA), { mode: 0o600 });
    const child = spawn(process.execPath, [join(root, 'forwarder/main.ts')], {
      env: {
        PATH: process.env.PATH,
        RIPPLE_KUBECONFIG: join(dir, 'kubeconfig'),
        RIPPLE_CLUSTER_NAME: 'it',
        RIPPLE_EVENT_BUS_NAME: 'ripple',
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        RIPPLE_EVENTBRIDGE_ENDPOINT: recorder.url,
        RIPPLE_HTTP_PORT: '0',
        RIPPLE_LEADER_ELECTION: 'false',
        RIPPLE_BATCH_LINGER_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: any[] = [];
    let buf = '';
    child.stdout.on('data', (c) => {
      buf += c;
      const parts = buf.split('\n');
      buf = parts.pop()!;
      for (const p of parts) if (p.trim()) lines.push(JSON.parse(p));
    });
    const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const port = (await until('started', () => lines.find((l) => l.msg === 'forwarder started'))).httpPort;
    await until('ready', async () => (await fetch(`http://127.0.0.1:${port}/readyz`)).status === 200);
    const mark = received().length;
    const seen = async () => metric(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), 'ripple_forwarder_events_seen_total{kind="Secret"}');
    const seenBefore = await seen();
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'at-sigterm' }, stringData: { a: '1' } } });
    await until('the change seen (and so queued)', async () => (await seen()) > seenBefore);
    expect(about(since(mark), ns)).toEqual([]);
    // Act
    child.kill('SIGTERM');
    // Assess
    expect(await exited).toBe(0);
    expect(names(about(since(mark), ns))).toEqual(['Created Secret/at-sigterm']);
    expect(lines.some((l) => l.msg === 'forwarder stopped' && l.unsent === 0)).toBe(true);
  });

  it('canary: a Secret value never appears in any PutEvents body, log line or metric', async () => {
    // Prepare
    const CANARY = 'canary-7f3Kq9-Zx-correct-horse';
    const B64 = Buffer.from(CANARY).toString('base64');
    const lastApplied = JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'canary' }, stringData: { password: CANARY }, data: { token: B64 } });
    const ns = await namespace('canary');
    const bodiesBefore = recorder.bodies.length;
    const { fwd, logs } = await forwarder();
    const mark = received().length;
    // Act: create, change, annotate and delete a Secret and a ConfigMap carrying the canary.
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'canary', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied, 'ripple.dev/note': 'harmless' } }, stringData: { password: CANARY }, data: { token: B64 } },
    });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'canary-cm', annotations: { 'kubectl.kubernetes.io/last-applied-configuration': lastApplied } }, data: { value: CANARY } } });
    await core.patchNamespacedSecret({ namespace: ns, name: 'canary', body: [{ op: 'replace', path: '/data/password', value: Buffer.from(CANARY + '-2').toString('base64') }] });
    await core.deleteNamespacedSecret({ namespace: ns, name: 'canary' });
    await until('canary events', () => about(since(mark), ns).length >= 4);
    await fwd.flush();
    const metricsText = fwd.metrics();
    await stopAll();
    // Assess: the events were sent (the check is not vacuous) …
    expect(names(about(since(mark), ns)).sort()).toEqual(['Created ConfigMap/canary-cm', 'Created Secret/canary', 'Deleted Secret/canary', 'Updated Secret/canary']);
    const wire = recorder.bodies.slice(bodiesBefore).join('\n');
    expect(wire).toContain('canary-cm');
    expect(logs.length).toBeGreaterThan(0);
    // … and the value is nowhere: not in clear, not base64, not the annotation.
    for (const needle of [CANARY, B64, Buffer.from(CANARY + '-2').toString('base64'), 'last-applied-configuration']) {
      expect(wire).not.toContain(needle);
      expect(JSON.stringify(received().slice(mark))).not.toContain(needle);
      expect(logs.join('\n')).not.toContain(needle);
      expect(metricsText).not.toContain(needle);
    }
  });
});
