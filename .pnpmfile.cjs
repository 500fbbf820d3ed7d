// pnpm 12 reads neither npm's global config nor an exported-by-habit `nodedir`, so a native addon
// without a prebuilt binary for this platform (better-sqlite3 on a machine that cannot reach its
// download host) would make node-gyp fetch Node's headers from nodejs.org. Point node-gyp at the
// headers of the Node that runs the install instead: official tarballs, nvm, Homebrew and Debian's
// nodejs package all keep them in <prefix>/include/node. prebuild-install still runs first, so a
// machine with internet gets the prebuilt binary and never compiles.
const fs = require('node:fs');
const path = require('node:path');

function runningNodeHeaders() {
  const prefix = path.dirname(path.dirname(fs.realpathSync(process.execPath)));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function updateConfig(config) {
  const extraEnv = { ...(config.extraEnv ?? {}) };
  // An explicit choice (environment or an earlier hook) wins.
  if (!process.env.npm_config_nodedir && !extraEnv.npm_config_nodedir) {
    const nodedir = runningNodeHeaders();
    if (nodedir) extraEnv.npm_config_nodedir = nodedir;
  }
  return { ...config, extraEnv };
}

module.exports = { hooks: { updateConfig } };
