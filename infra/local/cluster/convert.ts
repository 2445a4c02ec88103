/**
 * events.k8s.io/v1 Events share storage with core/v1 Events, as in kube-apiserver: stored in the core form,
 * converted field by field on the way in and out. Pure.
 */

const PAIRS: [string, string][] = [
  // [events.k8s.io/v1, core/v1]
  ['regarding', 'involvedObject'],
  ['note', 'message'],
  ['reportingController', 'reportingComponent'],
  ['deprecatedSource', 'source'],
  ['deprecatedFirstTimestamp', 'firstTimestamp'],
  ['deprecatedLastTimestamp', 'lastTimestamp'],
  ['deprecatedCount', 'count'],
];
const SAME = ['metadata', 'reason', 'type', 'action', 'related', 'reportingInstance', 'eventTime', 'series'];

/** events.k8s.io/v1 Event -> core/v1 Event */
export function eventToCore(e: any): any {
  if (!e || typeof e !== 'object') return e;
  const out: any = { apiVersion: 'v1', kind: 'Event' };
  for (const k of SAME) if (e[k] !== undefined) out[k] = e[k];
  for (const [ev, core] of PAIRS) if (e[ev] !== undefined) out[core] = e[ev];
  if (e.series) out.series = { count: e.series.count, lastObservedTime: e.series.lastObservedTime };
  return out;
}

/** core/v1 Event -> events.k8s.io/v1 Event */
export function eventFromCore(e: any): any {
  if (!e || typeof e !== 'object') return e;
  const out: any = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };
  for (const k of SAME) if (e[k] !== undefined) out[k] = e[k];
  for (const [ev, core] of PAIRS) if (e[core] !== undefined) out[ev] = e[core];
  if (!out.eventTime) out.eventTime = null;
  return out;
}
