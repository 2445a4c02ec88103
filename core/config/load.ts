/**
 * Loading the cluster-wide RippleConfig (`ripple.config.yaml` in the policy directory) with errors that name
 * file:line:column and the field, as policies do:
 *   policies/ripple.config.yaml:4:20: reloader.reloadOnCreate: must be true or false, not string "yes"
 * A missing file is the defaults (every cluster-wide mode off). One document per file.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readYamlDocuments, schemaProblems } from '../policy/load.ts';
import { PolicyError, type PolicyProblem } from '../policy/problems.ts';
import { CONFIG_FILES, CONFIG_KIND, DEFAULT_CONFIG, RippleConfig } from './schema.ts';

/** Parse one config file's text; throws PolicyError (a ValidationError) listing every problem with file:line:col. */
export function parseConfig(text: string, file: string): RippleConfig {
  const { docs, problems } = readYamlDocuments(text, file);
  if (problems.length > 0) throw new PolicyError(problems);
  if (docs.length === 0) return DEFAULT_CONFIG;
  const out: PolicyProblem[] = [];
  if (docs.length > 1) {
    const { line, col } = docs[1].position([]);
    out.push({ file, line, col, path: '', message: `holds ${docs.length} documents; a ${CONFIG_KIND} file holds exactly one` });
  }
  const doc = docs[0];
  const data = doc.data;
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    const { line, col } = doc.position([]);
    throw new PolicyError([...out, { file, line, col, path: '', message: `must be a ${CONFIG_KIND} mapping (apiVersion, kind, reloader, reflector, replicator)` }]);
  }
  const res = RippleConfig.safeParse(data);
  if (!res.success) out.push(...schemaProblems(RippleConfig, res.error.issues, doc, file));
  if (out.length > 0) throw new PolicyError(out);
  return res.data!;
}

/**
 * Where the config file of a policy location is: `<dir>/ripple.config.yaml` (or .yml) for a directory, the
 * directory of the first file otherwise. Null when there is none.
 */
export function configFileFor(dirOrFiles: string | string[]): string | null {
  const first = Array.isArray(dirOrFiles) ? dirOrFiles[0] : dirOrFiles;
  if (first === undefined) return null;
  let dir = first;
  try {
    if (!statSync(first).isDirectory()) dir = dirname(first);
  } catch {
    return null;
  }
  for (const name of CONFIG_FILES) {
    const f = join(dir, name);
    if (existsSync(f)) return f;
  }
  return null;
}

/** The config next to the policies (`ripple.config.yaml` in the policy directory), or the defaults when there is none. */
export function loadConfig(dirOrFiles: string | string[], explicitFile?: string): RippleConfig {
  const file = explicitFile ?? configFileFor(dirOrFiles);
  if (!file) return DEFAULT_CONFIG;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new PolicyError([{ file, line: 1, col: 1, path: '', message: 'cannot be read (give a RippleConfig file)' }]);
  }
  return parseConfig(text, file);
}
