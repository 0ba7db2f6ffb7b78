'use strict';
// Serverless Framework v3 local plugin: precompiles the packaged Lambda code (infra/bytecode.py) once the
// requirements are in the zip, so that cold starts run bytecode instead of compiling source on a read-only disk.
// Listed after serverless-python-requirements in serverless.yml: hooks of one event run in plugin order.
const path = require('path');
const { execFileSync } = require('child_process');

class BytecodePlugin {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'after:package:createDeploymentArtifacts': () => this.precompile() };
  }

  precompile() {
    const service = this.serverless.service;
    if (service.package.individually) {
      throw new Error('infra/bytecode_plugin.js precompiles one service artifact; package.individually must be false.');
    }
    const runtime = service.provider.runtime || '';
    const version = (runtime.match(/^python(\d+\.\d+)$/) || [])[1];
    if (!version) throw new Error(`infra/bytecode_plugin.js: runtime ${runtime} is not a Python runtime.`);
    const python = (service.custom.pythonRequirements || {}).pythonBin || `python${version}`;
    const dir = this.serverless.serviceDir;
    const artifact = service.package.artifact || path.join('.serverless', `${service.service}.zip`);
    execFileSync(python, [path.join(dir, 'infra', 'bytecode.py'), path.resolve(dir, artifact), '--python-version', version],
      { cwd: dir, stdio: 'inherit' });
  }
}

module.exports = BytecodePlugin;
