/**
 * `ripple explain --reloader Kind/namespace/name`: what a change of that Secret/ConfigMap would cause in the
 * Reloader mode (ripple.config.yaml), per workload of its namespace: restart or not, and which Reloader rule
 * decided. The same decision the rollout handler takes (functions/rollout/reloader.ts); reads only.
 */
import type { V1ConfigMap, V1Secret } from '@kubernetes/client-node';
import type { ObjectKind } from '../../core/constants.ts';
import { reloaderMode, type RippleConfig } from '../../core/config/schema.ts';
import { ValidationError } from '../../core/errors.ts';
import { matchesSelector } from '../../core/policy/select.ts';
import { orNull, type Kube } from '../../functions/runtime/kube.ts';
import { countedEvent, namespaceOutOfScope, objectOutOfScope } from '../../functions/rollout/reloader-mode.ts';
import { lastWriteAt, reloaderDecision, type ChangeEvent } from '../../functions/rollout/reloader.ts';
import { listWorkloads } from '../../functions/rollout/workloads.ts';

export interface ReloaderExplainRow {
  workload: string;
  restart: boolean;
  reason: string;
}
export interface ReloaderExplain {
  object: string;
  event: ChangeEvent;
  /** Why the object is no trigger at all (mode off, out of scope, event not reloaded), or null. */
  notATrigger: string | null;
  rows: ReloaderExplainRow[];
}

/** `Secret/ns/name` or `ConfigMap/ns/name` (`cm`, `secret`, `configmap` accepted). */
export function parseObjectRef(ref: string, flag = '--reloader'): { kind: ObjectKind; namespace: string; name: string } {
  const m = /^([A-Za-z]+)\/([a-z0-9-]+)\/([a-z0-9.-]+)$/.exec(ref);
  const kinds: Record<string, ObjectKind> = { secret: 'Secret', secrets: 'Secret', configmap: 'ConfigMap', configmaps: 'ConfigMap', cm: 'ConfigMap' };
  const kind = m ? kinds[m[1].toLowerCase()] : undefined;
  if (!m || !kind) throw new ValidationError(`${flag}: "${ref}" is not Secret/<namespace>/<name> or ConfigMap/<namespace>/<name>`);
  return { kind, namespace: m[2], name: m[3] };
}

export async function explainReloader(kube: Pick<Kube, 'raw'>, config: RippleConfig, ref: string, event: ChangeEvent = 'updated'): Promise<ReloaderExplain> {
  const id = parseObjectRef(ref);
  const object = `${id.kind}/${id.namespace}/${id.name}`;
  const out: ReloaderExplain = { object, event, notATrigger: null, rows: [] };
  const cfg = reloaderMode(config);
  if (!cfg) return { ...out, notATrigger: 'the Reloader mode is off (ripple.config.yaml: reloader.enabled)' };
  const resource = id.kind === 'Secret' ? 'secrets' : 'configmaps';
  const obj = await orNull(kube.raw.request<V1Secret | V1ConfigMap>('GET', `/api/v1/namespaces/${encodeURIComponent(id.namespace)}/${resource}/${encodeURIComponent(id.name)}`));
  const present = event !== 'deleted';
  if (present && !obj) return { ...out, notATrigger: `${object} does not exist (explain a deletion with --event deleted)` };
  const scope = namespaceOutOfScope(cfg, id.namespace) ?? objectOutOfScope(cfg, id.kind, obj?.metadata?.labels);
  const counted = countedEvent(cfg, new Set([event]), present);
  const notATrigger = scope ?? ('skip' in counted ? counted.skip : null);
  if (!notATrigger && cfg.namespaces.selector) {
    const ns = await orNull(kube.raw.request<{ metadata?: { labels?: Record<string, string> } }>('GET', `/api/v1/namespaces/${encodeURIComponent(id.namespace)}`));
    if (!matchesSelector(cfg.namespaces.selector, ns?.metadata?.labels)) out.notATrigger = `namespace ${id.namespace} labels do not match reloader.namespaces.selector`;
  }
  out.notATrigger ??= notATrigger;
  const workloads = await listWorkloads(kube.raw, id.namespace, cfg.kinds);
  const change = { ...id, annotations: obj?.metadata?.annotations ?? {}, event, ...(obj && event === 'created' ? { lastWriteAt: lastWriteAt(obj.metadata) } : {}) };
  for (const w of workloads) {
    const d = reloaderDecision(change, w, cfg);
    out.rows.push({ workload: `${w.kind}/${w.name}`, restart: d.restart && !out.notATrigger, reason: d.reason + (w.paused && d.restart ? ' (paused: template patched, rolls out on resume)' : '') });
  }
  return out;
}

export function formatReloaderExplain(r: ReloaderExplain): string {
  const lines = [`${r.object} ${r.event}:${r.notATrigger ? ` not a reload trigger: ${r.notATrigger}` : ''}`];
  const width = Math.max('WORKLOAD'.length, ...r.rows.map((x) => x.workload.length));
  lines.push(`${'WORKLOAD'.padEnd(width)}  RESTART  REASON`);
  for (const x of r.rows) lines.push(`${x.workload.padEnd(width)}  ${(x.restart ? 'yes' : 'no').padEnd(7)}  ${x.reason}`);
  lines.push('', `${r.rows.filter((x) => x.restart).length} of ${r.rows.length} workloads would restart (unless already restarted for this content); nothing was written.`);
  return lines.join('\n');
}
