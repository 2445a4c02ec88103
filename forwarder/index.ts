/**
 * startForwarder: wires watch → diff → send for each configured kind, with Lease leader election (only the
 * leader sends), the fingerprint key, and the probe/metrics server.
 *
 * Every replica lists and watches (a hot standby keeps its memory current); only the leader enqueues events.
 * One `Ripple Resync Requested` is sent per leadership term once the initial list is done: reason `startup`
 * when the replica was already leading when its first list completed, `leader-elected` when it took over later.
 */
import { hostname } from 'node:os';
import { createSecretKey, randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { objectChangeEntry, resyncEntry } from '../events/schema.ts';
import type { ResyncDetail } from '../events/schema.ts';
import { RIPPLE_NAMESPACE } from '../core/constants.ts';
import { ensureFingerprintKey } from '../kube/fingerprint-key.ts';
import type { RawApi } from '../kube/http.ts';
import { kubeconfigRawApi } from '../kube/kubeconfig.ts';
import type { DiffContext, Emission } from './diff.ts';
import { DEFAULT_ANNOTATION_ALLOW_LIST, observe, observeDeleted, Relist, Store } from './diff.ts';
import { startProbeServer } from './probe.ts';
import type { ProbeServer } from './probe.ts';
import type { KindName } from './kinds.ts';
import { EXCLUDED_SECRET_TYPES, KIND_NAMES, KINDS, skipReason } from './kinds.ts';
import { LeaderElector } from './leader.ts';
import type { LeaderOptions } from './leader.ts';
import type { Log } from './log.ts';
import { jsonLog } from './log.ts';
import { Metrics } from './metrics.ts';
import type { PutEventsFn, SenderOptions } from './send.ts';
import { eventBridgePut, Sender } from './send.ts';
import type { ListWatchOptions } from './watch.ts';
import { ListWatch } from './watch.ts';

export interface ForwarderConfig {
  /** Cluster name put into every event (the EKS cluster name in AWS). */
  cluster: string;
  kubeConfig: KubeConfig;
  eventBusName: string;
  eventBridge: { endpoint?: string; region: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  /** ripple's namespace: Lease and fingerprint key. Default ripple-system. */
  namespace?: string;
  /** This replica's identity in the Lease (the pod name). */
  identity?: string;
  kinds?: KindName[];
  /** Namespace names or `*` globs whose objects are ignored (and Namespaces themselves). */
  excludeNamespaces?: string[];
  /** Label selector for Secrets and ConfigMaps (Namespaces are always watched in full). */
  labelSelector?: string;
  /** Extra annotation keys (exact or `prefix*`) allowed into events, on top of the defaults. */
  annotationAllowList?: string[];
  /** Probe/metrics port; null or absent = no server; 0 = any free port. */
  httpPort?: number | null;
  /** Default true. false = this process always sends (single replica). */
  leaderElection?: boolean;
}

export interface ForwarderDeps {
  kube?: RawApi;
  putEvents?: PutEventsFn;
  fingerprintKey?: Buffer | string;
  log?: Log;
  /** Secret types excluded (client-side check; the server-side field selector is part of the kind table). */
  excludedSecretTypes?: readonly string[];
  sender?: Omit<SenderOptions, 'put' | 'metrics' | 'log'>;
  watch?: Pick<ListWatchOptions, 'watchdogMs' | 'watchTimeoutSeconds' | 'backoffBaseMs' | 'backoffCapMs' | 'pageSize'>;
  leader?: Pick<LeaderOptions, 'leaseDurationSeconds' | 'retryMs' | 'renewDeadlineMs'>;
  /** Default grace period of stop(). */
  stopGraceMs?: number;
}

export interface Forwarder {
  stop(graceMs?: number): Promise<{ unsent: number }>;
  metrics(): string;
  isLeader(): boolean;
  ready(): boolean;
  /** Port of the probe server, when one runs. */
  httpPort: number | null;
  /** Resolves once every kind has been listed (and, when leading, the startup resync is queued). */
  synced: Promise<void>;
  /** Queue depth right now. */
  queueDepth(): number;
  /** Wait until everything queued so far has been sent. */
  flush(): Promise<void>;
}

/**
 * Leadership terms and the one `Ripple Resync Requested` per term: sent once the initial list is done, by the
 * replica leading then (reason `startup` on a first term that saw no other holder, else `leader-elected`).
 */
class Terms {
  leading: boolean;
  initialDone = false;
  private resyncSent = false;
  private reason: ResyncDetail['reason'] = 'startup';
  private count = 0;
  private readonly sendResync: (reason: ResyncDetail['reason']) => Promise<void>;
  private readonly log: Log;
  constructor(electing: boolean, sendResync: (reason: ResyncDetail['reason']) => Promise<void>, log: Log) {
    this.leading = !electing;
    this.sendResync = sendResync;
    this.log = log;
  }

  started(previousHolder: string): void {
    // First term of a process that never saw another holder: a start-up. Otherwise a takeover.
    this.reason = this.count === 0 && previousHolder === '' ? 'startup' : 'leader-elected';
    this.count++;
    this.leading = true;
    this.resyncSent = false;
    if (this.initialDone) void this.resync().catch((err) => this.log('warn', 'resync not queued', { error: String(err) }));
  }

  stopped(): void {
    this.leading = false;
  }

  async initialListDone(): Promise<void> {
    this.initialDone = true;
    if (this.leading && !this.resyncSent) await this.resync();
  }

  private async resync(): Promise<void> {
    this.resyncSent = true;
    await this.sendResync(this.reason);
  }
}

interface KindWiring {
  cfg: ForwarderConfig;
  deps: ForwarderDeps;
  kube: RawApi;
  metrics: Metrics;
  log: Log;
  ctx: DiffContext;
  skipCtx: Parameters<typeof skipReason>[2];
  emit(emissions: Emission[]): Promise<void>;
  /** Called once this kind's first list is done. */
  initialListDone(): Promise<void>;
}

/** One kind's list+watch feeding its store through the diff step. */
function watchKind(kindName: KindName, store: Store, w: KindWiring): ListWatch {
  const { metrics, log, ctx } = w;
  const spec = KINDS[kindName];
  let relist: Relist | null = null;
  const skipped = (obj: any): boolean => {
    const why = skipReason(spec, obj, w.skipCtx);
    if (why) metrics.inc('events_skipped_total', { kind: kindName });
    return why !== null;
  };
  return new ListWatch({
    ...w.deps.watch,
    spec,
    http: w.kube,
    labelSelector: kindName === 'Namespace' ? undefined : w.cfg.labelSelector,
    metrics,
    log,
    handlers: {
      listStart(reason) {
        relist = new Relist(store, spec, ctx, reason === 'startup');
        if (reason !== 'startup') log('info', 'relisting after the watch expired', { kind: kindName });
      },
      async listItem(obj) {
        if (skipped(obj)) return;
        const r = relist!.item(obj);
        if (r.noop === 'no-change') metrics.inc('events_dropped_noop_total', { kind: kindName });
        await w.emit(r.emissions);
      },
      async listEnd(reason) {
        const deletes = relist!.end();
        relist = null;
        await w.emit(deletes);
        if (reason === 'startup') await w.initialListDone();
      },
      async event(type, obj) {
        if (skipped(obj)) return;
        const r = type === 'DELETED' ? observeDeleted(store, spec, obj, ctx) : observe(store, spec, obj, ctx);
        if (r.noop) metrics.inc('events_dropped_noop_total', { kind: kindName });
        await w.emit(r.emissions);
      },
    },
  });
}

/** One list+watch per kind, each with its store; `synced` resolves once every kind's initial list is done. */
function watchKinds(kinds: KindName[], wiring: Omit<KindWiring, 'initialListDone'>, terms: Terms): { stores: Map<KindName, Store>; synced: Promise<void>; watchers: ListWatch[] } {
  const { log } = wiring;
  const stores = new Map<KindName, Store>(kinds.map((k) => [k, new Store()]));
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));
  const pendingInitial = new Set<KindName>(kinds);
  const watchers = kinds.map((kindName) =>
    watchKind(kindName, stores.get(kindName)!, {
      ...wiring,
      async initialListDone() {
        if (!pendingInitial.delete(kindName) || pendingInitial.size > 0) return;
        log('info', 'initial list done', { objects: Object.fromEntries([...stores].map(([k, s]) => [k, s.size])) });
        await terms.initialListDone();
        resolveSynced();
      },
    }),
  );
  return { stores, synced, watchers };
}

/** Gauges read at scrape time. */
function collectGauges(metrics: Metrics, watchers: ListWatch[], stores: Map<KindName, Store>, leading: () => boolean, ready: () => boolean): void {
  metrics.collect(() => {
    const now = Date.now();
    for (const lw of watchers) metrics.set('seconds_since_last_event', { kind: lw.spec.kind }, Math.round((now - lw.lastActivity) / 100) / 10);
    for (const [k, s] of stores) metrics.set('objects', { kind: k }, s.size);
    metrics.set('is_leader', undefined, leading() ? 1 : 0);
    metrics.set('ready', undefined, ready() ? 1 : 0);
  });
}

function eventBridgeClient(cfg: ForwarderConfig): EventBridgeClient {
  const eb = cfg.eventBridge;
  return new EventBridgeClient({ region: eb.region, ...(eb.endpoint ? { endpoint: eb.endpoint } : {}), ...(eb.credentials ? { credentials: eb.credentials } : {}) });
}

function validate(cfg: ForwarderConfig): KindName[] {
  if (!cfg.cluster) throw new Error('forwarder config: cluster is required (the name put into every event)');
  if (!cfg.eventBusName) throw new Error('forwarder config: eventBusName is required');
  const kinds = cfg.kinds ?? [...KIND_NAMES];
  for (const k of kinds) if (!KIND_NAMES.includes(k)) throw new Error(`forwarder config: kinds: "${k}" is not one of ${KIND_NAMES.join(', ')}`);
  return kinds;
}

export async function startForwarder(cfg: ForwarderConfig, deps: ForwarderDeps = {}): Promise<Forwarder> {
  const kinds = validate(cfg);
  const log = deps.log ?? jsonLog();
  const metrics = new Metrics();
  // Request timeout: above the list-page watchdog, so a stalled list page is the watchdog's (ListPageTimeout).
  const kube = deps.kube ?? kubeconfigRawApi(cfg.kubeConfig, { timeoutMs: Math.max(30_000, 2 * (deps.watch?.watchdogMs ?? 90_000)) });
  const namespace = cfg.namespace ?? RIPPLE_NAMESPACE;
  const identity = cfg.identity ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const rawKey = deps.fingerprintKey ?? (await ensureFingerprintKey(kube, namespace, log));
  const key = createSecretKey(typeof rawKey === 'string' ? Buffer.from(rawKey) : rawKey);
  const sender = new Sender({ ...deps.sender, put: deps.putEvents ?? eventBridgePut(eventBridgeClient(cfg)), metrics, log });
  const ctx: DiffContext = { cluster: cfg.cluster, key, annotationAllowList: [...DEFAULT_ANNOTATION_ALLOW_LIST, ...(cfg.annotationAllowList ?? [])], now: () => new Date().toISOString() };

  const electing = cfg.leaderElection !== false;
  let stopped = false;
  const terms = new Terms(electing, async (reason) => {
    await sender.enqueue(resyncEntry({ cluster: cfg.cluster, reason, observedAt: ctx.now() }, cfg.eventBusName));
    log('info', 'resync requested', { reason });
  }, log);
  const emit = async (emissions: Emission[]) => {
    for (const e of emissions) {
      if (stopped) return;
      if (!terms.leading) {
        metrics.inc('events_not_leader_total');
        continue;
      }
      await sender.enqueue(objectChangeEntry(e.detailType, e.detail, cfg.eventBusName));
    }
  };
  const elector = electing
    ? new LeaderElector({ ...deps.leader, http: kube, namespace, identity, log, onStartedLeading: (previous) => terms.started(previous), onStoppedLeading: () => terms.stopped() })
    : null;

  const wiring = { cfg, deps, kube, metrics, log, ctx, emit, skipCtx: { excludeNamespaces: cfg.excludeNamespaces ?? [], excludedSecretTypes: deps.excludedSecretTypes ?? EXCLUDED_SECRET_TYPES } };
  const { stores, synced, watchers } = watchKinds(kinds, wiring, terms);

  const ready = (): boolean => !stopped && terms.initialDone && watchers.every((w) => w.synced);
  collectGauges(metrics, watchers, stores, () => terms.leading, ready);

  elector?.start();
  for (const w of watchers) w.start();
  const server: ProbeServer | null =
    cfg.httpPort !== undefined && cfg.httpPort !== null ? await startProbeServer(cfg.httpPort, { healthy: () => !stopped, ready, metrics: () => metrics.render() }) : null;
  log('info', 'forwarder started', { cluster: cfg.cluster, identity, kinds, leaderElection: electing, httpPort: server?.port ?? null });

  return {
    httpPort: server?.port ?? null,
    synced,
    metrics: () => metrics.render(),
    isLeader: () => terms.leading,
    ready,
    queueDepth: () => sender.depth(),
    flush: () => sender.flush(),
    async stop(graceMs = deps.stopGraceMs ?? 20_000) {
      if (stopped) return { unsent: 0 };
      stopped = true;
      const started = Date.now();
      // Stop watching first; a watch blocked on a full queue is released by the sender stopping.
      const watchersDone = Promise.all(watchers.map((w) => w.stop()));
      const result = await sender.stop(Math.max(0, graceMs - (Date.now() - started)));
      await watchersDone;
      await elector?.stop();
      await server?.close();
      log('info', 'forwarder stopped', { unsent: result.unsent });
      return result;
    },
  };
}
