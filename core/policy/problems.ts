/** Problems found in policy files (file:line:col, field path, message) and where each loaded policy came from. */
import { ValidationError } from '../errors.ts';
import type { RipplePolicy } from './schema.ts';

/** One problem found in a policy file. */
export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  /** Dotted field path (`spec.sync.onSourceDelete`, `spec.sync.namespaces.include[0]`); empty for the document itself. */
  path: string;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.path ? `${p.path}: ` : ''}${p.message}`;
}

/** A ValidationError carrying every problem found (its message is one formatted problem per line). */
export class PolicyError extends ValidationError {
  readonly problems: PolicyProblem[];
  constructor(problems: PolicyProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'PolicyError';
    this.problems = problems;
  }
}

/** Where a loaded policy came from (its `metadata.name` position), for cross-policy messages and the CLI. */
export interface PolicyOrigin {
  file: string;
  line: number;
  col: number;
}
const origins = new WeakMap<RipplePolicy, PolicyOrigin>();
export function policyOrigin(p: RipplePolicy): PolicyOrigin | undefined {
  return origins.get(p);
}
export function setPolicyOrigin(p: RipplePolicy, o: PolicyOrigin): void {
  origins.set(p, o);
}
