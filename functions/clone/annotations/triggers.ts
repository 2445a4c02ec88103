/**
 * What a clone invocation must look at for the copy modes (pure). Events are hints: they name an object or a
 * namespace; reconcile.ts re-reads it, and the annotations that decide are the ones read then, never the event's.
 *
 * - a Secret/ConfigMap of a mode's kind created, updated or deleted, whose event carries one of the modes'
 *   annotations (TRIGGER_KEYS: a source, a pull target, a copy) or reports an annotation change (an allow
 *   annotation removed): that object, as source, pull target and copy;
 * - a Namespace created, or relabelled: that namespace (push sources copy into it);
 * - the schedule, a resync request, a deploy: everything.
 * Anything else: nothing (no API call).
 */
import { DETAIL_TYPES, OBJECT_KINDS, type ObjectKind } from '../../../core/constants.ts';
import type { CopyModeConfig, CopyTool } from '../../../core/config/schema.ts';
import type { Trigger } from '../triggers.ts';
import { TRIGGER_KEYS } from './annotations.ts';

export type AnnotationWork =
  | {
      type: 'object';
      kind: ObjectKind;
      namespace: string;
      name: string;
      event: 'created' | 'updated' | 'deleted';
      /** The event reports an annotation change (or a creation): pull targets are looked for beyond the label. */
      annotationsChanged: boolean;
      /** The allow-listed annotations the event carried (for a deletion: what the object was). */
      annotations: Record<string, string>;
    }
  | { type: 'namespace'; name: string; cluster: string }
  | { type: 'all' };

const EVENT = { [DETAIL_TYPES.created]: 'created', [DETAIL_TYPES.updated]: 'updated', [DETAIL_TYPES.deleted]: 'deleted' } as const;

export function annotationWork(trigger: Trigger, modes: readonly { tool: CopyTool; cfg: CopyModeConfig }[]): AnnotationWork | null {
  if (modes.length === 0) return null;
  if (trigger.type === 'cloudformation') return trigger.event.RequestType === 'Delete' ? null : { type: 'all' };
  if (trigger.type === 'schedule') return { type: 'all' };
  const e = trigger.event;
  if (e['detail-type'] === DETAIL_TYPES.resync) return { type: 'all' };
  const d = e.detail as { kind: string; namespace?: string; name: string; annotations: Record<string, string>; changes: string[] };
  const event = EVENT[e['detail-type'] as keyof typeof EVENT];
  if (d.kind === 'Namespace') {
    if (event === 'created' || (event === 'updated' && d.changes.includes('labels'))) return { type: 'namespace', name: d.name, cluster: trigger.cluster };
    return null;
  }
  if (!(OBJECT_KINDS as readonly string[]).includes(d.kind) || !d.namespace) return null;
  const kind = d.kind as ObjectKind;
  const relevant = modes.filter((m) => m.cfg.objects.kinds.includes(kind));
  if (relevant.length === 0) return null;
  const marked = relevant.some((m) => TRIGGER_KEYS[m.tool].some((k) => k in (d.annotations ?? {})));
  const annotationsChanged = event === 'created' || (event === 'updated' && d.changes.includes('annotations'));
  if (!marked && !(event === 'updated' && annotationsChanged)) return null;
  return { type: 'object', kind, namespace: d.namespace, name: d.name, event, annotationsChanged, annotations: d.annotations ?? {} };
}
