/** The copy modes' actions: what the planner (plan.ts) decides for one object, with its reason. */
import type { ObjectKind } from '../../../core/constants.ts';
import type { CopyTool } from '../../../core/config/schema.ts';
import type { ClonedObject } from '../plan.ts';

export interface At {
  tool: CopyTool;
  kind: ObjectKind;
  namespace: string;
  name: string;
  reason: string;
}

/** Why a pull was not performed: the Warning Event's reason on the target. */
export type RefusalReason = 'PullRefused' | 'PullSourceMissing' | 'PullInvalid';

export type AnnotationAction =
  | (At & { action: 'create'; object: ClonedObject })
  | (At & { action: 'update'; object: ClonedObject; differs: string[] })
  | (At & { action: 'delete'; uid: string; resourceVersion: string })
  | (At & { action: 'skip' })
  /** A pull the source does not allow, or cannot serve: not performed, reported on the target. */
  | (At & { action: 'refuse'; uid?: string; why: RefusalReason })
  /** A push that would overwrite an object that is not its copy: left alone, reported on that object. */
  | (At & { action: 'report-unmanaged'; uid?: string });
export type AnnotationActionType = AnnotationAction['action'];

export const ANNOTATION_ACTIONS: readonly AnnotationActionType[] = ['create', 'update', 'delete', 'skip', 'refuse', 'report-unmanaged'];

export function isAnnotationWrite(a: AnnotationAction): a is Extract<AnnotationAction, { action: 'create' | 'update' | 'delete' }> {
  return a.action === 'create' || a.action === 'update' || a.action === 'delete';
}

export const ref = (o: { namespace: string; name: string }) => `${o.namespace}/${o.name}`;
export const md = (o: ClonedObject | null | undefined) => o?.metadata ?? {};
