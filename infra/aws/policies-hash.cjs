'use strict';
/* global require, module, __dirname */
/* eslint-disable @typescript-eslint/no-require-imports */
/**
 * `${file(./infra/aws/policies-hash.cjs):hash}` in serverless.yml: a sha256 over the RipplePolicy files that are
 * packaged with the functions (policies/*.yaml|yml, name + content, sorted). It is the `PoliciesHash` property of
 * the `Custom::RippleReconcile` resource, so CloudFormation sends the clone function an Update (= a full
 * reconcile) exactly when a deploy changes the policies.
 *
 * CommonJS on purpose: the framework `require()`s variable files.
 */
const { createHash } = require('node:crypto');
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { join, resolve } = require('node:path');

const DEFAULT_DIR = resolve(__dirname, '..', '..', 'policies');

/** @param {string} [dir] @returns {string} `sha256:<hex>` */
function policiesHash(dir = DEFAULT_DIR) {
  const h = createHash('sha256');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  for (const f of files) {
    const body = readFileSync(join(dir, f));
    h.update(`${f}\0${body.length}\0`);
    h.update(body);
  }
  return `sha256:${h.digest('hex')}`;
}

module.exports = { hash: () => policiesHash(), policiesHash };
