/**
 * Leader election on a coordination.k8s.io/v1 Lease (the client-go algorithm, small):
 * - a candidate polls the Lease every `retryMs`; it takes it when it is free, or when the holder's record has
 *   not changed for `leaseDurationSeconds` as observed on the candidate's own clock (no clock-skew trust);
 * - the leader renews every `retryMs` with optimistic concurrency (resourceVersion), and steps down when it
 *   could not renew for `renewDeadlineMs`;
 * - `stop()` releases a held Lease (empty holder), so a graceful shutdown fails over within one poll.
 * Worst-case failover after a crash: leaseDuration + retry (10 s + 2 s by default).
 */
import { ConflictError } from '../core/errors.ts';
import { isNotFound } from '../kube/errors.ts';
import type { RawApi } from '../kube/http.ts';
import type { Log } from './log.ts';
import { errorFields, silentLog } from './log.ts';
import { abortableSleep } from './watch.ts';

export const LEASE_NAME = 'ripple-forwarder';

export interface LeaderOptions {
  http: RawApi;
  namespace: string;
  identity: string;
  name?: string;
  leaseDurationSeconds?: number;
  retryMs?: number;
  renewDeadlineMs?: number;
  /** `previousHolder`: the last other replica seen holding the Lease ('' if none ever was: a fresh start). */
  onStartedLeading?: (previousHolder: string) => void;
  onStoppedLeading?: () => void;
  now?: () => number;
  log?: Log;
}

/** Kubernetes MicroTime: RFC 3339 with exactly six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec: { holderIdentity?: string | null; leaseDurationSeconds?: number; acquireTime?: string; renewTime?: string; leaseTransitions?: number };
}

export class LeaderElector {
  private readonly o: Required<LeaderOptions>;
  private leader = false;
  private readonly stopCtl = new AbortController();
  private loop: Promise<void> | null = null;
  private observed = '';
  private observedAt = 0;
  private lastRenew = 0;
  private lease: Lease | null = null;
  private lastOtherHolder = '';

  constructor(opts: LeaderOptions) {
    this.o = {
      name: LEASE_NAME,
      leaseDurationSeconds: 10,
      retryMs: 2000,
      renewDeadlineMs: 7000,
      onStartedLeading: () => {},
      onStoppedLeading: () => {},
      now: Date.now,
      log: silentLog,
      ...opts,
    };
  }

  isLeader(): boolean {
    return this.leader;
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Stop campaigning; release the Lease if held. */
  async stop(): Promise<void> {
    this.stopCtl.abort();
    await this.loop;
    if (this.leader && this.lease) {
      try {
        await this.put({ ...this.lease, spec: { ...this.lease.spec, holderIdentity: null, leaseDurationSeconds: 1, renewTime: microTime(this.o.now()) } });
        this.o.log('info', 'lease released', { lease: this.o.name, identity: this.o.identity });
      } catch (err) {
        this.o.log('warn', 'lease release failed; the standby takes over when it expires', { lease: this.o.name, ...errorFields(err) });
      }
    }
    this.setLeader(false);
  }

  private get path(): string {
    return `/apis/coordination.k8s.io/v1/namespaces/${this.o.namespace}/leases`;
  }

  private put(lease: Lease): Promise<Lease> {
    return this.o.http.request<Lease>('PUT', `${this.path}/${this.o.name}`, { body: lease });
  }

  private setLeader(v: boolean, previousHolder = ''): void {
    if (v === this.leader) return;
    this.leader = v;
    this.o.log('info', v ? 'became leader' : 'stopped leading', { lease: this.o.name, identity: this.o.identity, ...(v && previousHolder ? { previousHolder } : {}) });
    if (v) this.o.onStartedLeading(previousHolder);
    else this.o.onStoppedLeading();
  }

  private async run(): Promise<void> {
    while (!this.stopCtl.signal.aborted) {
      try {
        await this.tryAcquireOrRenew();
      } catch (err) {
        this.o.log('warn', 'lease update failed', { lease: this.o.name, ...errorFields(err) });
      }
      if (this.leader && this.o.now() - this.lastRenew > this.o.renewDeadlineMs) {
        this.o.log('warn', 'could not renew the lease in time; stepping down', { lease: this.o.name, renewDeadlineMs: this.o.renewDeadlineMs });
        this.setLeader(false);
      }
      await abortableSleep(this.o.retryMs, this.stopCtl.signal);
    }
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const now = this.o.now();
    const me = this.o.identity;
    let cur: Lease | null = null;
    try {
      cur = await this.o.http.request<Lease>('GET', `${this.path}/${this.o.name}`);
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (!cur) {
      const created = await this.o.http.request<Lease>('POST', this.path, {
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.o.name, namespace: this.o.namespace },
          spec: { holderIdentity: me, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 },
        },
      }).catch((err) => {
        if (err instanceof ConflictError) return null; // another candidate was faster
        throw err;
      });
      if (created) this.won(created, now, this.lastOtherHolder);
      return;
    }
    const spec = cur.spec ?? {};
    const record = `${spec.holderIdentity ?? ''}|${spec.renewTime ?? ''}|${spec.leaseTransitions ?? 0}`;
    if (record !== this.observed) {
      this.observed = record;
      this.observedAt = now;
    }
    const holder = spec.holderIdentity ?? '';
    if (holder && holder !== me) this.lastOtherHolder = holder;
    const duration = (spec.leaseDurationSeconds ?? this.o.leaseDurationSeconds) * 1000;
    if (holder === me) {
      const renewed = await this.put({ ...cur, spec: { ...spec, renewTime: microTime(now), leaseDurationSeconds: this.o.leaseDurationSeconds } });
      this.won(renewed, now, this.lastOtherHolder);
      return;
    }
    if (this.leader) this.setLeader(false); // someone else holds it now
    if (holder !== '' && now - this.observedAt < duration) return;
    const taken = await this.put({
      ...cur,
      spec: { holderIdentity: me, leaseDurationSeconds: this.o.leaseDurationSeconds, acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: (spec.leaseTransitions ?? 0) + 1 },
    }).catch((err) => {
      if (err instanceof ConflictError) return null;
      throw err;
    });
    if (taken) this.won(taken, now, this.lastOtherHolder);
  }

  private won(lease: Lease, now: number, previousHolder: string): void {
    this.lease = lease;
    this.lastRenew = now;
    const s = lease.spec ?? {};
    this.observed = `${s.holderIdentity ?? ''}|${s.renewTime ?? ''}|${s.leaseTransitions ?? 0}`;
    this.observedAt = now;
    this.setLeader(true, previousHolder);
  }
}
