/**
 * A tiny Prometheus registry: counters and gauges with string labels, rendered as text exposition format
 * 0.0.4. Label values are kinds, codes and reasons — never object content.
 */
export const METRICS = {
  events_seen_total: { type: 'counter', help: 'Watch events and relist items seen, by kind.' },
  events_sent_total: { type: 'counter', help: 'Events accepted by EventBridge, by detail type.' },
  events_dropped_noop_total: { type: 'counter', help: 'Updates dropped because fingerprint, labels, annotations and owners were unchanged, by kind.' },
  events_skipped_total: { type: 'counter', help: 'Objects ignored (excluded namespace or Secret type), by kind.' },
  events_not_leader_total: { type: 'counter', help: 'Changes observed while not the leader (not sent; the next leader resyncs).' },
  events_unsent_on_stop_total: { type: 'counter', help: 'Events still queued when the shutdown grace period ran out.' },
  put_calls_total: { type: 'counter', help: 'PutEvents calls made.' },
  put_entries_total: { type: 'counter', help: 'Entries sent in PutEvents calls (entries per call = put_entries_total / put_calls_total).' },
  put_failures_total: { type: 'counter', help: 'Failed PutEvents entries, by error code and whether they are retried.' },
  queue_depth: { type: 'gauge', help: 'Events waiting to be sent (including those waiting to be retried).' },
  watch_restarts_total: { type: 'counter', help: 'Watch restarts, by kind and reason (closed, error, watchdog, expired).' },
  relists_total: { type: 'counter', help: 'Full lists, by kind and reason (startup, expired).' },
  objects: { type: 'gauge', help: 'Objects remembered, by kind.' },
  seconds_since_last_event: { type: 'gauge', help: 'Seconds since the last watch event or bookmark, by kind.' },
  is_leader: { type: 'gauge', help: '1 while this replica holds the Lease and sends events.' },
  ready: { type: 'gauge', help: '1 once every kind has been listed and is being watched.' },
} as const;
export type MetricName = keyof typeof METRICS;
export type Labels = Record<string, string>;

const PREFIX = 'ripple_forwarder_';
/** Series without labels: rendered as 0 before their first update. */
const UNLABELED = new Set<MetricName>(['events_not_leader_total', 'events_unsent_on_stop_total', 'put_calls_total', 'put_entries_total', 'queue_depth', 'is_leader', 'ready']);

function labelKey(labels: Labels | undefined): string {
  if (!labels) return '';
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}="${String(labels[k]).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

export class Metrics {
  private readonly values = new Map<MetricName, Map<string, number>>();
  private readonly collectors: (() => void)[] = [];

  inc(name: MetricName, labels?: Labels, by = 1): void {
    const m = this.series(name);
    const k = labelKey(labels);
    m.set(k, (m.get(k) ?? 0) + by);
  }

  set(name: MetricName, labels: Labels | undefined, value: number): void {
    this.series(name).set(labelKey(labels), value);
  }

  get(name: MetricName, labels?: Labels): number {
    return this.values.get(name)?.get(labelKey(labels)) ?? 0;
  }

  /** Sum over all label sets. */
  total(name: MetricName): number {
    let t = 0;
    for (const v of this.values.get(name)?.values() ?? []) t += v;
    return t;
  }

  /** Run before each render (gauges computed at scrape time). */
  collect(fn: () => void): void {
    this.collectors.push(fn);
  }

  render(): string {
    for (const c of this.collectors) c();
    const out: string[] = [];
    for (const name of Object.keys(METRICS) as MetricName[]) {
      const def = METRICS[name];
      out.push(`# HELP ${PREFIX}${name} ${def.help}`, `# TYPE ${PREFIX}${name} ${def.type}`);
      const series = this.values.get(name);
      if (!series || series.size === 0) {
        if (UNLABELED.has(name)) out.push(`${PREFIX}${name} 0`);
        continue;
      }
      for (const [k, v] of series) out.push(`${PREFIX}${name}${k} ${Number.isFinite(v) ? v : 0}`);
    }
    return out.join('\n') + '\n';
  }

  private series(name: MetricName): Map<string, number> {
    let m = this.values.get(name);
    if (!m) this.values.set(name, (m = new Map()));
    return m;
  }
}
