/**
 * The cluster-wide RippleConfig (ripple.config.yaml in the policy directory, RIPPLE_POLICY_DIR) as the handlers
 * read it: loaded on first use, once per container; none = every cluster-wide mode off.
 */
import { loadConfig } from '../../core/config/load.ts';
import type { RippleConfig } from '../../core/config/schema.ts';
import { policyDirFrom } from './config.ts';

export function lazyRippleConfig(): () => RippleConfig {
  let config: RippleConfig | null = null;
  return () => (config ??= loadConfig(policyDirFrom(process.env)));
}
