/**
 * `ripple explain --copies Kind/namespace/name`: what Reflector's and Replicator's annotations on (or naming) that
 * Secret/ConfigMap would cause in the copy modes (ripple.config.yaml `reflector:` / `replicator:`): as a source,
 * its push copies in every namespace and the pull targets that name it; as a pull target, what its source allows;
 * as a copy, what its source wants there. Each line: the mode, the action, the object and the reason. The same plan
 * the clone handler makes (functions/clone/annotations); reads only, writes nothing.
 */
import { copyModes, type RippleConfig } from '../../core/config/schema.ts';
import type { Kube } from '../../functions/runtime/kube.ts';
import type { AnnotationAction } from '../../functions/clone/annotations/plan.ts';
import { planCopyModes } from '../../functions/clone/annotations/reconcile.ts';
import { parseObjectRef } from './reloader.ts';

export interface CopiesExplainRow {
  mode: string;
  action: AnnotationAction['action'];
  object: string;
  reason: string;
}
export interface CopiesExplain {
  object: string;
  /** Why nothing is explained (no mode on), or null. */
  off: string | null;
  rows: CopiesExplainRow[];
}

export async function explainCopies(kube: Pick<Kube, 'core' | 'raw'>, config: RippleConfig, ref: string): Promise<CopiesExplain> {
  const id = parseObjectRef(ref, '--copies');
  const object = `${id.kind}/${id.namespace}/${id.name}`;
  const modes = copyModes(config);
  if (modes.length === 0) return { object, off: 'no copy mode is on (ripple.config.yaml: reflector.enabled, replicator.enabled)', rows: [] };
  const actions = await planCopyModes(kube, modes, { type: 'object', ...id, event: 'updated', annotationsChanged: true, annotations: {} });
  const rows = actions
    .map((a) => ({ mode: a.tool, action: a.action, object: `${a.kind}/${a.namespace}/${a.name}`, reason: a.reason }))
    .sort((a, b) => a.mode.localeCompare(b.mode) || a.object.localeCompare(b.object));
  return { object, off: null, rows };
}

export function formatCopiesExplain(r: CopiesExplain): string {
  if (r.off) return `${r.object}: ${r.off}`;
  const w = (k: keyof CopiesExplainRow, title: string) => Math.max(title.length, ...r.rows.map((x) => String(x[k]).length));
  const [m, a, o] = [w('mode', 'MODE'), w('action', 'ACTION'), w('object', 'OBJECT')];
  const lines = [`${r.object}: what Reflector's and Replicator's annotations cause`, `${'MODE'.padEnd(m)}  ${'ACTION'.padEnd(a)}  ${'OBJECT'.padEnd(o)}  REASON`];
  for (const x of r.rows) lines.push(`${x.mode.padEnd(m)}  ${x.action.padEnd(a)}  ${x.object.padEnd(o)}  ${x.reason}`);
  const writes = r.rows.filter((x) => x.action === 'create' || x.action === 'update' || x.action === 'delete').length;
  const refused = r.rows.filter((x) => x.action === 'refuse').length;
  lines.push('', `${writes} write(s), ${refused} pull(s) refused, ${r.rows.length - writes - refused} other; nothing was written.`);
  return lines.join('\n');
}
