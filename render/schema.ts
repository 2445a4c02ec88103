/**
 * JSON Schema of RipplePolicy (schema/ripple-policy.schema.json), generated from the zod schema so editors
 * validate and complete policy files (yaml-language-server: `# yaml-language-server: $schema=…`).
 */
import * as z from '../core/zod.ts';
import { RipplePolicy } from '../core/policy/schema.ts';

export const POLICY_SCHEMA_ID = 'https://ripple.dev/schema/ripple-policy.schema.json';

/** The schema of a policy as written (defaults are optional, shown as `default`). */
export function policyJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(RipplePolicy, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = s;
  return { $schema, $id: POLICY_SCHEMA_ID, title: 'RipplePolicy', ...rest };
}
