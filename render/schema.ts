/**
 * JSON Schema of RipplePolicy (schema/ripple-policy.schema.json), generated from the zod schema so editors
 * validate and complete policy files (yaml-language-server: `# yaml-language-server: $schema=…`).
 */
import * as z from '../core/zod.ts';
import { RipplePolicy } from '../core/policy/schema.ts';
import { RippleConfig } from '../core/config/schema.ts';

export const CONFIG_SCHEMA_ID = 'https://ripple.dev/schema/ripple-config.schema.json';

/** The schema of ripple.config.yaml (RippleConfig) as written. */
export function configJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(RippleConfig, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = s;
  return { $schema, $id: CONFIG_SCHEMA_ID, title: 'RippleConfig', ...rest };
}

export const POLICY_SCHEMA_ID = 'https://ripple.dev/schema/ripple-policy.schema.json';

/** The schema of a policy as written (defaults are optional, shown as `default`). */
export function policyJsonSchema(): Record<string, unknown> {
  const s = z.toJSONSchema(RipplePolicy, { target: 'draft-2020-12', io: 'input' }) as Record<string, unknown>;
  const { $schema, ...rest } = s;
  return { $schema, $id: POLICY_SCHEMA_ID, title: 'RipplePolicy', ...rest };
}
