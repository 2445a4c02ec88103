/**
 * The config's scope for a copy mode (RippleConfig `reflector:` / `replicator:`), pure: whichever annotations say,
 * no source outside it counts and no copy is made or pulled outside it. kube-* and ripple-system are in scope only
 * when included by exact name (and the clone identity's admission never lets it write there anyway).
 */
import { DEFAULT_EXCLUDED_NAMESPACES, type ObjectKind } from '../../../core/constants.ts';
import type { CopyModeConfig, CopyTool } from '../../../core/config/schema.ts';
import { globMatch, matchesSelector } from '../../../core/policy/select.ts';

/** Why a namespace is out of the mode's scope (null = in scope). `labels` are needed only with a namespace selector. */
export function namespaceOutOfScope(tool: CopyTool, cfg: CopyModeConfig, namespace: string, labels?: Record<string, string>): string | null {
  const { include, exclude, selector } = cfg.namespaces;
  const excluded = exclude.find((g) => globMatch(g, namespace));
  if (excluded !== undefined) return `namespace ${namespace} is excluded by ${tool}.namespaces.exclude "${excluded}"`;
  if (!include.includes(namespace)) {
    const byDefault = DEFAULT_EXCLUDED_NAMESPACES.find((g) => globMatch(g, namespace));
    if (byDefault !== undefined) return `namespace ${namespace} is excluded by default ("${byDefault}"); list it by exact name in ${tool}.namespaces.include`;
    if (!include.some((g) => globMatch(g, namespace))) return `namespace ${namespace} matches no ${tool}.namespaces.include pattern`;
  }
  if (selector && !matchesSelector(selector, labels)) return `namespace ${namespace} labels do not match ${tool}.namespaces.selector`;
  return null;
}

/** Why a source does not count for the mode (its namespace, kind or labels), or null. */
export function sourceOutOfScope(tool: CopyTool, cfg: CopyModeConfig, namespace: string, labels: Record<string, string> | undefined, namespaceLabels?: Record<string, string>, kind?: ObjectKind): string | null {
  if (kind && !cfg.objects.kinds.includes(kind)) return `${kind} is not in ${tool}.objects.kinds`;
  const ns = namespaceOutOfScope(tool, cfg, namespace, namespaceLabels);
  if (ns) return `source ${ns}`;
  if (!matchesSelector(cfg.objects.selector, labels)) return `source labels do not match ${tool}.objects.selector`;
  return null;
}

/** Whether the namespace selector is set (the namespaces' labels must then be read). */
export function needsNamespaceLabels(cfg: CopyModeConfig): boolean {
  return cfg.namespaces.selector !== undefined;
}
