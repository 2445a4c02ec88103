'use strict';
/* global module */
/**
 * The `cluster` and `clusters` params of serverless.yml, parsed and checked (pure): infra/aws/clusters.cjs turns
 * the result into CloudFormation. Forms and fields: clusters.cjs's header and docs/fleet.md. Errors name the
 * param, the cluster and the field.
 *
 * Exports: clusterEntries (the `clusters` param as `{ name: fields }`), parseClusters (names, primary first),
 * stageClusters (each cluster resolved: kind local/region/account, region, its roles in another account),
 * refuseSharedClusters (one stage per cluster), spokeRoleName, partitionOf, LOCAL_STAGES, HANDLER_ROLES.
 * CommonJS on purpose: the framework `require()`s variable files.
 */

const CLUSTER_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d{1,2}$/;
const ACCOUNT = /^\d{12}$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::(\d{12}):role\/[\w+=,.@/-]{1,512}$/;
/** sts:ExternalId: 2-1224 characters of [\w+=,.@:/-]. */
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
const FIELDS = ['name', 'endpoint', 'caData', 'region', 'accountId', 'roleArn', 'roleArns', 'externalId', 'forwarderRoleArn'];

/** Stages that may leave `cluster` unset (they fall back to `ripple`, the local runner's name). */
const LOCAL_STAGES = ['dev'];

const HANDLER_ROLES = { clone: 'CloneRole', rollout: 'RolloutRole', protect: 'ProtectRole' };

/** One cluster's fields, checked; `where` names it in errors. */
function checkEntry(name, entry, where) {
  const e = entry && typeof entry === 'object' && !Array.isArray(entry) ? { ...entry } : {};
  delete e.name;
  for (const k of Object.keys(e)) {
    if (!FIELDS.includes(k)) throw new Error(`param "clusters": ${where}.${k}: unknown field (${FIELDS.filter((f) => f !== 'name').join(', ')})`);
  }
  if (Boolean(e.endpoint) !== Boolean(e.caData)) throw new Error(`param "clusters": ${where}: give both endpoint and caData (the cluster's API URL and base64 CA, \`aws eks describe-cluster\`), or neither`);
  if (e.endpoint && !/^https:\/\//.test(String(e.endpoint))) throw new Error(`param "clusters": ${where}.endpoint: must be an https:// URL`);
  if (e.region !== undefined && !REGION.test(String(e.region))) throw new Error(`param "clusters": ${where}.region: "${e.region}" is not an AWS region (e.g. eu-west-1)`);
  if (e.accountId !== undefined) {
    e.accountId = String(e.accountId);
    if (!ACCOUNT.test(e.accountId)) throw new Error(`param "clusters": ${where}.accountId: "${e.accountId}" is not an AWS account id (12 digits; quote it in YAML)`);
  }
  const crossAccountOnly = ['roleArn', 'roleArns', 'externalId', 'forwarderRoleArn'].filter((k) => e[k] !== undefined);
  if (crossAccountOnly.length && !e.accountId) {
    throw new Error(`param "clusters": ${where}.${crossAccountOnly[0]}: only for a cluster in another account; give its accountId (a cluster of the stack's account is reached with the function roles themselves)`);
  }
  if (e.roleArn !== undefined && e.roleArns !== undefined) throw new Error(`param "clusters": ${where}: give roleArn (one role for the three functions) or roleArns ({clone, protect, rollout}), not both`);
  const arns = e.roleArns !== undefined ? e.roleArns : e.roleArn !== undefined ? { arn: e.roleArn } : {};
  if (e.roleArns !== undefined) {
    if (!arns || typeof arns !== 'object' || Array.isArray(arns)) throw new Error(`param "clusters": ${where}.roleArns: an object {clone, protect, rollout} of role ARNs`);
    for (const h of Object.keys(HANDLER_ROLES)) if (!arns[h]) throw new Error(`param "clusters": ${where}.roleArns.${h}: missing (give the three, or use roleArn for one role)`);
    for (const k of Object.keys(arns)) if (!HANDLER_ROLES[k]) throw new Error(`param "clusters": ${where}.roleArns.${k}: unknown function (clone, protect, rollout)`);
  }
  const checked = Object.entries(arns).map(([k, arn]) => [e.roleArns !== undefined ? `roleArns.${k}` : 'roleArn', arn]);
  if (e.forwarderRoleArn !== undefined) checked.push(['forwarderRoleArn', e.forwarderRoleArn]);
  for (const [field, arn] of checked) {
    const m = ROLE_ARN.exec(String(arn));
    if (!m) throw new Error(`param "clusters": ${where}.${field}: "${arn}" is not an IAM role ARN`);
    if (m[1] !== e.accountId) throw new Error(`param "clusters": ${where}.${field}: the role is in account ${m[1]}, the cluster in ${e.accountId}`);
  }
  if (e.externalId !== undefined && !EXTERNAL_ID.test(String(e.externalId))) {
    throw new Error(`param "clusters": ${where}.externalId: 2 to 1224 characters of letters, digits and _+=,.@:/-`);
  }
  return e;
}

/**
 * The `clusters` param as an ordered object `{ name: fields }`: a comma/space separated list (empty entries),
 * a JSON object keyed by name, a JSON list of names or `{name, ...}` objects, or the same as a YAML value
 * (params in serverless.yml).
 */
function clusterEntries(clusters) {
  let value = clusters;
  if (typeof value === 'string' || value === undefined || value === null) {
    const raw = String(value ?? '').trim();
    if (!raw.startsWith('{') && !raw.startsWith('[')) {
      return Object.fromEntries(raw.split(/[\s,]+/).map((s) => s.trim()).filter(Boolean).map((n) => [n, {}]));
    }
    try {
      value = JSON.parse(raw);
    } catch (err) {
      throw new Error(`param "clusters": not valid JSON (${err.message}); give a comma separated list of cluster names, a list of {"name", "region"?, "accountId"?, …} objects or a RIPPLE_CLUSTERS object`, { cause: err });
    }
  }
  const out = {};
  if (Array.isArray(value)) {
    value.forEach((item, i) => {
      const name = typeof item === 'string' ? item : item && typeof item === 'object' ? item.name : undefined;
      if (typeof name !== 'string' || !name) throw new Error(`param "clusters": [${i}]: give the cluster's name (a string, or an object with "name")`);
      if (out[name]) throw new Error(`param "clusters": [${i}]: cluster "${name}" is listed twice`);
      out[name] = checkEntry(name, typeof item === 'string' ? {} : item, `[${i}] (${name})`);
    });
    return out;
  }
  if (!value || typeof value !== 'object') throw new Error('param "clusters": a JSON value must be a list [{"name", …}] or an object {"<cluster>": {"endpoint"?, "caData"?, "region"?, "accountId"?, …}}');
  for (const [name, entry] of Object.entries(value)) out[name] = checkEntry(name, entry, name);
  return out;
}

/**
 * `cluster` + optional `clusters` -> ordered unique names, primary first. `stage` (optional) names the stage in
 * the error when no cluster is given.
 */
function parseClusters(cluster, clusters, stage) {
  const list = Object.keys(clusterEntries(clusters));
  const primary = cluster ? String(cluster).trim() : list[0];
  if (!primary) {
    const forStage = stage ? ` for stage "${stage}"` : '';
    throw new Error(`param "cluster" is required${forStage}: deploy with --param="cluster=<EKS cluster name>" (or set RIPPLE_CLUSTER_NAME, or params.${stage || '<stage>'}.cluster in serverless.yml)`);
  }
  const names = [primary, ...list.filter((n) => n !== primary)];
  for (const n of names) {
    if (!CLUSTER_NAME.test(n)) {
      throw new Error(`param "clusters": "${n}" is not an EKS cluster name (letters, digits, - and _, at most 100, starting with a letter or digit)`);
    }
  }
  return [...new Set(names)];
}

/** The spoke roles' default names (infra/aws/spoke.yml): `ripple-<stage>-<cluster>-<role>`, at most 64 characters. */
function spokeRoleName(stage, cluster, role) {
  return `ripple-${stage}-${cluster}-${role}`;
}

/**
 * The stage's clusters, resolved: `[{ name, kind: 'local'|'region'|'account', region, accountId?, endpoint?,
 * caData?, roleArns?, externalId? }]`, primary first. `region` is the stack's when the cluster names none.
 */
function stageClusters({ cluster, clusters, stage, region }) {
  const names = parseClusters(cluster, clusters, stage);
  const entries = clusterEntries(clusters);
  return names.map((name, i) => {
    const e = entries[name] ?? {};
    const own = e.region ?? region;
    const kind = e.accountId ? 'account' : own !== region ? 'region' : 'local';
    const c = { name, kind, region: own, stage: stage ?? 'dev' };
    if (e.endpoint) Object.assign(c, { endpoint: e.endpoint, caData: e.caData });
    if (kind === 'account') {
      c.accountId = e.accountId;
      const roleArns = {};
      for (const h of Object.keys(HANDLER_ROLES)) {
        const given = e.roleArns?.[h] ?? e.roleArn;
        if (given) roleArns[h] = given;
        else {
          const roleName = spokeRoleName(stage ?? 'dev', name, h);
          if (spokeRoleName(stage ?? 'dev', name, 'forwarder').length > 64) {
            throw new Error(`param "clusters": ${name}: the spoke's default role names (${spokeRoleName(stage ?? 'dev', name, 'forwarder')}) are longer than IAM's 64 characters; deploy its spoke stack with a shorter RoleNamePrefix and give roleArns`);
          }
          roleArns[h] = `arn:${partitionOf(own)}:iam::${e.accountId}:role/${roleName}`;
        }
      }
      c.roleArns = roleArns;
      if (!e.externalId) {
        throw new Error(`param "clusters": ${name}.externalId: required for a cluster in another account (the ExternalId its spoke stack's roles demand, infra/aws/spoke.yml; not a secret, e.g. ripple-${stage ?? 'dev'}-${name})`);
      }
      c.externalId = String(e.externalId);
      if (e.forwarderRoleArn) c.forwarderRoleArn = e.forwarderRoleArn;
    }
    if (i === 0 && kind !== 'local') {
      throw new Error(`param "cluster": the primary cluster "${name}" must be in the stack's account and region (${region}): its audit log is subscribed by this stack; make a local cluster the primary, or deploy the stage in ${kind === 'region' ? own : 'that account'}`);
    }
    return c;
  });
}

function partitionOf(region) {
  if (String(region).startsWith('cn-')) return 'aws-cn';
  if (String(region).startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * One ripple stage per cluster: the forwarder's service account (ripple-system/ripple-forwarder) takes one Pod
 * Identity association, each stage would clone and protect the same objects, and each takes one of the audit
 * log group's two subscription-filter slots. Pure: throws when another stage under `params:` in serverless.yml
 * names one of `names` (as `cluster` or in `clusters`). Stages not written into serverless.yml cannot be seen
 * offline: the deploy then stops at the association (EKS allows one per service account) or at the
 * deploy-time reconcile (the cluster's forwarder sends to another stage's bus); `ripple doctor` reports both.
 */
function refuseSharedClusters(stage, names, paramsByStage) {
  for (const [other, p] of Object.entries(paramsByStage ?? {})) {
    if (other === 'default' || other === stage || LOCAL_STAGES.includes(other) || !p || typeof p !== 'object') continue;
    let theirs = [];
    try {
      theirs = p.cluster || p.clusters ? parseClusters(p.cluster, p.clusters, other) : [];
    } catch {
      continue; // that stage's own package reports its own mistakes
    }
    const shared = names.filter((n) => theirs.includes(n));
    if (shared.length) {
      throw new Error(
        `stage "${stage}" and stage "${other}" (params.${other} in serverless.yml) both use cluster ${shared.map((n) => `"${n}"`).join(', ')}: ` +
          'one ripple stage per cluster (the forwarder service account ripple-system/ripple-forwarder has one Pod Identity association, ' +
          'both stages would clone and protect the same objects, and each takes one of the audit log group\'s two subscription filters). ' +
          'Deploy the other stage to another cluster, or remove it first (docs/deploy.md, "Stages").',
      );
    }
  }
}

module.exports = { LOCAL_STAGES, HANDLER_ROLES, clusterEntries, parseClusters, stageClusters, refuseSharedClusters, spokeRoleName, partitionOf };
