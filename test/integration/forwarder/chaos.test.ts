/**
 * Seeded chaos: a few hundred random writes (create, data and label updates, no-op re-PUTs, deletes,
 * re-creations with a new uid, namespace create/delete) interleaved with faults at the network and bus level
 * (killed and refused watch connections, silent stalls the watchdog must end, compaction that forces 410 and a
 * relist, throttled and internally failed PutEvents entries). Then the faults stop, the forwarder drains, and the
 * property is checked on what the local EventBridge received:
 *
 * - for every key touched, the last event matches the cluster's final state (Deleted when gone; otherwise
 *   Created/Updated with the current uid, the keyed fingerprint of the current content, its labels and
 *   allow-listed annotations);
 * - a key's uid only changes after a Deleted of the old uid;
 * - no two consecutive events for a key are the same content + labels + annotations with the same detail-type
 *   (no-ops dropped);
 * - per uid, resourceVersions never go backwards;
 * - no canary value (Secret data, ConfigMap data, last-applied annotation) appears on the wire, in a log line or
 *   in the metrics.
 *
 * RIPPLE_CHAOS_SEED picks another (reproducible) sequence; RIPPLE_CHAOS_OPS the number of operations.
 */
import { join } from 'node:path';
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseRippleEvent } from '../../../events/schema.ts';
import { fingerprint } from '../../../core/fingerprint.ts';
import { startForwarder } from '../../../forwarder/index.ts';
import { jsonLog } from '../../../forwarder/log.ts';
import type { EmbeddedCluster } from '../../../infra/local/cluster/index.ts';
import { startCluster } from '../../../infra/local/cluster/index.ts';
import type { LocalEventBridge } from '../../../infra/local/eventbridge/index.ts';
import { startEventBridge } from '../../../infra/local/eventbridge/index.ts';
import type { BodyRecorder, TcpProxy } from './helpers.ts';
import { FORWARDER_SA, kubeConfigVia, kubectl, startBodyRecorder, startTcpProxy, until } from './helpers.ts';
import { prng } from '../../support/prng.ts';

const SEED = Number(process.env.RIPPLE_CHAOS_SEED ?? 20261125) >>> 0;
const OPS = Number(process.env.RIPPLE_CHAOS_OPS ?? 300);
const root = join(import.meta.dirname, '../../..');
const credentials = { accessKeyId: 'local', secretAccessKey: 'local' };


// The canary prefix is 15 characters (a multiple of 3), so its base64 is a prefix of every value's base64.
const CANARY = 'CHAOScanary-Zq9';
const CANARY_B64 = Buffer.from(CANARY).toString('base64');

type Kind = 'Namespace' | 'Secret' | 'ConfigMap';
type Ev = { 'detail-type': string; source: string; detail: any };
const keyOf = (kind: string, ns: string | undefined, name: string) => `${kind}/${ns ?? ''}/${name}`;
const short = (dt: string) => dt.replace('Kubernetes Object ', '');
const sortedJson = (m: Record<string, string> | undefined) => JSON.stringify(Object.entries(m ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const metric = (text: string, series: string) => Number(text.split('\n').find((l) => l.startsWith(series + ' '))?.split(' ')[1] ?? 0);
const statusOf = (err: unknown) => (err as { code?: number })?.code;
const sumOf = (text: string, re: RegExp) =>
  text
    .split('\n')
    .filter((l) => re.test(l))
    .reduce((a, l) => a + Number(l.split(' ')[1]), 0);
const WATCHDOG_RESTARTS = /^ripple_forwarder_watch_restarts_total\{.*reason="watchdog"/;

let cluster: EmbeddedCluster;
let bus: LocalEventBridge;
let recorder: BodyRecorder;
let proxy: TcpProxy;
let core: CoreV1Api;

beforeAll(async () => {
  // Bookmarks every 300 ms, so a short watchdog only fires on a stalled connection, not on a quiet resource.
  cluster = await startCluster({ watchHistory: 100_000, bookmarkIntervalMs: 300 });
  bus = await startEventBridge();
  recorder = await startBodyRecorder(bus.url);
  proxy = await startTcpProxy(cluster.url);
  core = cluster.kubeConfig().makeApiClient(CoreV1Api);
  await kubectl(cluster.kubeconfig(), ['apply', '-k', join(root, 'infra/k8s/forwarder')]);
  await kubectl(cluster.kubeconfig(), ['apply', '-f', join(root, 'infra/k8s/rbac/forwarder.yaml')]);
}, 60_000);

afterAll(async () => {
  await proxy?.close();
  await recorder?.close();
  await bus?.stop();
  await cluster?.stop();
});

describe('forwarder under seeded chaos', () => {
  it(`seed ${SEED} (RIPPLE_CHAOS_SEED), ${OPS} operations: the last event per key matches the final state; no-ops dropped; no secret data`, async () => {
    // Prepare: the forwarder as its ServiceAccount, through the faulty proxy, with short backoffs and watchdog.
    const rand = prng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
    const weighted = <T extends string>(table: Record<T, number>): T => {
      const total = Object.values<number>(table).reduce((a, b) => a + b, 0);
      let r = rand() * total;
      for (const [k, w] of Object.entries<number>(table)) if ((r -= w) < 0) return k as T;
      return Object.keys(table)[0] as T;
    };
    const logs: string[] = [];
    const fwd = await startForwarder(
      { cluster: 'chaos', kubeConfig: kubeConfigVia(cluster.kubeconfig(FORWARDER_SA), cluster.url, proxy.url), eventBusName: 'ripple', eventBridge: { endpoint: recorder.url, region: 'us-east-1', credentials }, httpPort: null, leaderElection: false },
      { log: jsonLog((l) => logs.push(l), 'debug'), watch: { backoffBaseMs: 20, backoffCapMs: 300, watchdogMs: 1_000 }, sender: { retryBaseMs: 20, retryCapMs: 200 } },
    );
    await fwd.synced;
    const keySecret = await core.readNamespacedSecret({ namespace: 'ripple-system', name: 'ripple-fingerprint-key' });
    const fpKey = Buffer.from(keySecret.data!.key, 'base64');

    const prefix = `chaos-${SEED}`;
    const fixedNs = ['a', 'b', 'c'].map((s) => `${prefix}-${s}`);
    const ephemeralNs = ['e0', 'e1'].map((s) => `${prefix}-${s}`);
    const allNs = [...fixedNs, ...ephemeralNs];
    const objectNames = ['o0', 'o1', 'o2', 'o3'];
    const touched = new Set<string>();
    for (const ns of allNs) touched.add(keyOf('Namespace', undefined, ns));
    for (const ns of fixedNs) await core.createNamespace({ body: { metadata: { name: ns } } });

    // Few distinct values, so an update often writes what is already there.
    const value = () => `${CANARY}-${pick(['v1', 'v2', 'v3'])}`;
    const content = (kind: 'Secret' | 'ConfigMap') => {
      const data: Record<string, string> = { value: value() };
      if (rand() < 0.3) data.extra = value();
      return kind === 'Secret' ? { data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])) } : { data };
    };
    const labels = () => (rand() < 0.2 ? {} : { app: pick(['x', 'y']), ...(rand() < 0.5 ? { tier: pick(['gold', 'silver']) } : {}) });
    const annotations = () => ({
      ...(rand() < 0.4 ? { 'ripple.dev/note': pick(['n1', 'n2']) } : {}),
      ...(rand() < 0.3 ? { 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify({ data: { value: value() } }) } : {}),
    });

    const api = {
      read: (kind: 'Secret' | 'ConfigMap', namespace: string, name: string) => (kind === 'Secret' ? core.readNamespacedSecret({ namespace, name }) : core.readNamespacedConfigMap({ namespace, name })),
      create: (kind: 'Secret' | 'ConfigMap', namespace: string, body: any) => (kind === 'Secret' ? core.createNamespacedSecret({ namespace, body }) : core.createNamespacedConfigMap({ namespace, body })),
      replace: (kind: 'Secret' | 'ConfigMap', namespace: string, name: string, body: any) =>
        kind === 'Secret' ? core.replaceNamespacedSecret({ namespace, name, body }) : core.replaceNamespacedConfigMap({ namespace, name, body }),
      patch: (kind: 'Secret' | 'ConfigMap', namespace: string, name: string, body: any) => (kind === 'Secret' ? core.patchNamespacedSecret({ namespace, name, body }) : core.patchNamespacedConfigMap({ namespace, name, body })),
      remove: (kind: 'Secret' | 'ConfigMap', namespace: string, name: string) => (kind === 'Secret' ? core.deleteNamespacedSecret({ namespace, name }) : core.deleteNamespacedConfigMap({ namespace, name })),
    };
    const freshObject = (kind: 'Secret' | 'ConfigMap', name: string) => ({ metadata: { name, labels: labels(), annotations: annotations() }, ...content(kind) });

    type Op = 'create' | 'data' | 'labels' | 'annotation' | 'reput' | 'otherAnnotation' | 'delete' | 'recreate' | 'nsLabels' | 'nsToggle';
    const opWeights: Record<Op, number> = { create: 20, data: 20, labels: 12, annotation: 6, reput: 10, otherAnnotation: 6, delete: 10, recreate: 8, nsLabels: 3, nsToggle: 4 };
    type Fault = 'kill' | 'refuse' | 'stall' | 'compact' | 'throttle' | 'internal';
    const faultWeights: Record<Fault, number> = { kill: 3, refuse: 2, stall: 2, compact: 2, throttle: 3, internal: 1 };
    const planned: Record<Fault, number> = { kill: 0, refuse: 0, stall: 0, compact: 0, throttle: 0, internal: 0 };
    const opCounts: Partial<Record<Op, number>> = {};
    let failedOps = 0;
    let refusingFor = 0;
    // A stall lasts a few operations, then the loop waits for the watchdog to end it (its restart count moves);
    // meanwhile no kill, refuse or compaction may end it instead.
    let stalledAt: number | null = null;
    let stallFor = 0;
    const watchdogRestarts = () => sumOf(fwd.metrics(), WATCHDOG_RESTARTS);
    const watchesUp = () => until('the three watches connected', () => proxy.connections() >= 3, 20_000, 10);

    async function runOp(op: Op): Promise<void> {
      if (op === 'nsLabels') {
        const ns = pick(allNs);
        await core.patchNamespace({ name: ns, body: [{ op: 'add', path: '/metadata/labels', value: { 'kubernetes.io/metadata.name': ns, ...labels() } }] });
        return;
      }
      if (op === 'nsToggle') {
        const ns = pick(ephemeralNs);
        const exists = await core.readNamespace({ name: ns }).then(
          (o) => !o.metadata?.deletionTimestamp,
          () => false,
        );
        if (exists) await core.deleteNamespace({ name: ns });
        else await core.createNamespace({ body: { metadata: { name: ns, labels: labels() } } });
        return;
      }
      const kind = pick(['Secret', 'ConfigMap'] as const);
      const ns = pick(allNs);
      const name = pick(objectNames);
      touched.add(keyOf(kind, ns, name));
      try {
        await objectOp(op, kind, ns, name);
      } catch (err) {
        // An update of an object that is not there creates it instead (more real changes per operation).
        if (statusOf(err) !== 404 || op === 'create' || op === 'delete') throw err;
        await api.create(kind, ns, freshObject(kind, name));
      }
    }

    async function objectOp(op: Op, kind: 'Secret' | 'ConfigMap', ns: string, name: string): Promise<void> {
      switch (op) {
        case 'create':
          await api.create(kind, ns, freshObject(kind, name));
          return;
        case 'data':
          await api.patch(kind, ns, name, [{ op: 'add', path: '/data', value: content(kind).data }]);
          return;
        case 'labels':
          await api.patch(kind, ns, name, [{ op: 'add', path: '/metadata/labels', value: labels() }]);
          return;
        case 'annotation':
          await api.patch(kind, ns, name, [{ op: 'add', path: '/metadata/annotations', value: { 'ripple.dev/note': pick(['n1', 'n2', 'n3']) } }]);
          return;
        case 'reput': {
          // Same content back: the server may or may not write; either way the forwarder must send nothing new.
          const cur: any = await api.read(kind, ns, name);
          await api.replace(kind, ns, name, cur);
          return;
        }
        case 'otherAnnotation': {
          // An annotation outside the allow-list: a write the forwarder drops as a no-op.
          const cur: any = await api.read(kind, ns, name);
          cur.metadata.annotations = { ...cur.metadata.annotations, 'example.com/touched': String(rand()) };
          await api.replace(kind, ns, name, cur);
          return;
        }
        case 'delete':
          await api.remove(kind, ns, name);
          return;
        case 'recreate':
          await api.remove(kind, ns, name);
          await api.create(kind, ns, freshObject(kind, name));
          return;
      }
    }

    async function runFault(f: Fault): Promise<void> {
      planned[f]++;
      switch (f) {
        case 'kill':
          proxy.killAll();
          return;
        case 'refuse':
          proxy.refuse();
          refusingFor = 2 + Math.floor(rand() * 10);
          return;
        case 'stall':
          await watchesUp();
          stalledAt = watchdogRestarts();
          stallFor = 2 + Math.floor(rand() * 10);
          proxy.stallAll();
          return;
        case 'compact':
          cluster.compact();
          proxy.killAll();
          return;
        case 'throttle':
          bus.injectFailures({ code: 'ThrottlingException', count: 1 + Math.floor(rand() * 5) });
          return;
        case 'internal':
          bus.injectFailures({ code: 'InternalFailure', count: 1 + Math.floor(rand() * 3) });
          return;
      }
    }

    // Act
    for (let i = 0; i < OPS; i++) {
      if (refusingFor > 0 && --refusingFor === 0) proxy.allow();
      if (stalledAt !== null && --stallFor <= 0) {
        const before = stalledAt;
        await until('the watchdog ending the stall', () => watchdogRestarts() > before, 20_000);
        stalledAt = null;
      }
      if (rand() < 0.12) {
        let f = weighted(faultWeights);
        if (refusingFor > 0 && (f === 'stall' || f === 'refuse')) f = 'kill';
        if (stalledAt !== null && (f === 'kill' || f === 'refuse' || f === 'compact' || f === 'stall')) f = 'throttle';
        await runFault(f);
      }
      const op = weighted(opWeights);
      opCounts[op] = (opCounts[op] ?? 0) + 1;
      try {
        await runOp(op);
      } catch (err) {
        // Absent, already there, or its namespace gone or terminating: the cluster says what happened.
        if (![403, 404, 409].includes(statusOf(err) ?? 0)) throw err;
        failedOps++;
      }
    }
    proxy.allow();

    // Quiescence: namespaces finished terminating, a marker per kind seen (each kind's watch is in order, so
    // everything before it was observed), the queue drained and nothing new for a while.
    await until('terminating namespaces gone', async () => (await core.listNamespace()).items.every((ns) => !allNs.includes(ns.metadata!.name!) || !ns.metadata?.deletionTimestamp), 20_000);
    const markerNs = `${prefix}-marker`;
    await core.createNamespace({ body: { metadata: { name: markerNs } } });
    await core.createNamespacedSecret({ namespace: markerNs, body: { metadata: { name: 'marker' }, data: {} } });
    await core.createNamespacedConfigMap({ namespace: markerNs, body: { metadata: { name: 'marker' }, data: {} } });
    const received = () => (bus.received() as Ev[]).filter((e) => e.source === 'ripple.kubernetes');
    const markersSeen = () => {
      const seen = new Set(received().map((e) => keyOf(e.detail.kind, e.detail.namespace, e.detail.name ?? '')));
      return [keyOf('Namespace', undefined, markerNs), keyOf('Secret', markerNs, 'marker'), keyOf('ConfigMap', markerNs, 'marker')].every((k) => seen.has(k));
    };
    await until('marker events', markersSeen, 30_000);
    let lastCount = -1;
    let stableSince = Date.now();
    await until(
      'queue empty and nothing new for 1 s',
      async () => {
        await bus.idle();
        const count = received().length;
        if (count !== lastCount) [lastCount, stableSince] = [count, Date.now()];
        return metric(fwd.metrics(), 'ripple_forwarder_queue_depth') === 0 && Date.now() - stableSince >= 1_000;
      },
      30_000,
      100,
    );
    const metricsText = fwd.metrics();
    const stopped = await fwd.stop(5_000);
    expect(stopped).toEqual({ unsent: 0 });

    // Assess
    const events = received();
    for (const e of events) expect(() => parseRippleEvent(e), `seed ${SEED}: event does not parse: ${JSON.stringify(e)}`).not.toThrow();
    const byKey = new Map<string, Ev[]>();
    for (const e of events) {
      if (e['detail-type'] === 'Ripple Resync Requested') continue;
      const k = keyOf(e.detail.kind, e.detail.namespace, e.detail.name);
      if (!touched.has(k)) continue;
      byKey.set(k, [...(byKey.get(k) ?? []), e]);
    }

    // The cluster's final state for every touched key.
    const final = new Map<string, any>();
    for (const ns of (await core.listNamespace()).items) if (allNs.includes(ns.metadata!.name!)) final.set(keyOf('Namespace', undefined, ns.metadata!.name!), { ...ns, kind: 'Namespace' });
    for (const ns of allNs) {
      for (const s of (await core.listNamespacedSecret({ namespace: ns })).items) final.set(keyOf('Secret', ns, s.metadata!.name!), { ...s, kind: 'Secret' });
      for (const c of (await core.listNamespacedConfigMap({ namespace: ns })).items) final.set(keyOf('ConfigMap', ns, c.metadata!.name!), { ...c, kind: 'ConfigMap' });
    }

    const violations: string[] = [];
    const show = (e: Ev) => `${short(e['detail-type'])} uid=${e.detail.uid.slice(0, 8)} rv=${e.detail.resourceVersion}`;
    for (const k of touched) {
      const evs = byKey.get(k) ?? [];
      const obj = final.get(k);
      const last = evs.at(-1);
      // 1. The last event is the final state.
      if (obj) {
        const kind = k.split('/')[0] as Kind;
        const fp = fingerprint(fpKey, { kind, type: obj.type, data: obj.data, binaryData: obj.binaryData, metadata: obj.metadata, status: obj.status });
        const allowed = Object.fromEntries(Object.entries<string>(obj.metadata.annotations ?? {}).filter(([a]) => a.startsWith('ripple.dev/')));
        if (!last) violations.push(`${k}: exists (uid ${obj.metadata.uid}) but no event was received`);
        else if (last['detail-type'] === 'Kubernetes Object Deleted') violations.push(`${k}: exists (uid ${obj.metadata.uid}) but the last event is ${show(last)}`);
        else {
          if (last.detail.uid !== obj.metadata.uid) violations.push(`${k}: last event ${show(last)} but the object's uid is ${obj.metadata.uid}`);
          if (last.detail.fingerprint !== fp) violations.push(`${k}: last event ${show(last)} has a stale fingerprint (object rv ${obj.metadata.resourceVersion})`);
          if (sortedJson(last.detail.labels) !== sortedJson(obj.metadata.labels)) violations.push(`${k}: last event labels ${sortedJson(last.detail.labels)} ≠ ${sortedJson(obj.metadata.labels)}`);
          if (sortedJson(last.detail.annotations) !== sortedJson(allowed)) violations.push(`${k}: last event annotations ${sortedJson(last.detail.annotations)} ≠ ${sortedJson(allowed)}`);
          if (Number(last.detail.resourceVersion) > Number(obj.metadata.resourceVersion)) violations.push(`${k}: last event rv ${last.detail.resourceVersion} is ahead of the object's ${obj.metadata.resourceVersion}`);
        }
      } else if (last && last['detail-type'] !== 'Kubernetes Object Deleted') {
        violations.push(`${k}: gone, but the last event is ${show(last)}`);
      }
      // 2. A uid ends with a Deleted before another uid appears; 3. no repeated no-op; 4. rv per uid never goes back.
      const maxRv = new Map<string, number>();
      evs.forEach((e, i) => {
        const rv = Number(e.detail.resourceVersion);
        if (rv < (maxRv.get(e.detail.uid) ?? 0)) violations.push(`${k}: event #${i} ${show(e)} goes back from rv ${maxRv.get(e.detail.uid)}`);
        maxRv.set(e.detail.uid, Math.max(rv, maxRv.get(e.detail.uid) ?? 0));
        const prev = evs[i - 1];
        if (!prev) return;
        if (prev.detail.uid !== e.detail.uid && prev['detail-type'] !== 'Kubernetes Object Deleted') violations.push(`${k}: event #${i} ${show(e)} follows ${show(prev)} of another uid without a Deleted`);
        const same = (x: Ev) => [x['detail-type'], x.detail.uid, x.detail.fingerprint, sortedJson(x.detail.labels), sortedJson(x.detail.annotations)].join('|');
        if (same(prev) === same(e)) violations.push(`${k}: event #${i} ${show(e)} repeats ${show(prev)} (a no-op was sent)`);
      });
    }
    const summary = `seed ${SEED}: ${OPS} ops ${JSON.stringify(opCounts)} (${failedOps} refused), faults ${JSON.stringify(planned)}, ${touched.size} keys, ${events.length} events`;
    if (process.env.RIPPLE_CHAOS_DEBUG) {
      // The fault counters, and each violating key's whole event history.
      console.log(summary, metricsText.split('\n').filter((l) => /^ripple_forwarder_(watch_restarts|relists|put_failures|events_dropped_noop)/.test(l)));
      for (const k of new Set(violations.map((v) => v.split(': ')[0]))) console.log(k, (byKey.get(k) ?? []).map((e) => `${show(e)} changes=${e.detail.changes} fp=…${e.detail.fingerprint.slice(-6)} at ${e.detail.observedAt}`));
    }
    expect(violations, summary).toEqual([]);

    // The run was not vacuous: changes and faults reached the forwarder.
    expect([...byKey.values()].flat().length, summary).toBeGreaterThan(OPS / 4);
    expect(final.size, summary).toBeGreaterThan(3);
    const sum = (re: RegExp) => sumOf(metricsText, re);
    if (planned.kill + planned.compact + planned.refuse > 0) expect(sum(/^ripple_forwarder_watch_restarts_total\{.*reason="(error|closed|expired)"/), summary).toBeGreaterThan(0);
    if (planned.compact > 0) expect(sum(/^ripple_forwarder_relists_total\{.*reason="expired"/), summary).toBeGreaterThan(0);
    if (planned.stall > 0) expect(sum(WATCHDOG_RESTARTS), summary).toBeGreaterThan(0);
    if (planned.throttle + planned.internal > 0) expect(sum(/^ripple_forwarder_put_failures_total\{.*retried="true"/), summary).toBeGreaterThan(0);
    expect(sum(/^ripple_forwarder_events_dropped_noop_total/), summary).toBeGreaterThan(0);

    // No secret data anywhere: not on the wire, not in the logs, not in the metrics.
    const wire = recorder.bodies.join('\n');
    expect(wire, summary).toContain(`${prefix}-a`);
    for (const needle of [CANARY, CANARY_B64, 'last-applied-configuration']) {
      expect(wire.includes(needle), `${summary}: ${needle} on the wire`).toBe(false);
      expect(logs.join('\n').includes(needle), `${summary}: ${needle} in a log line`).toBe(false);
      expect(metricsText.includes(needle), `${summary}: ${needle} in the metrics`).toBe(false);
    }
  }, 120_000);
});
