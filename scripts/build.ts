// Builds what every user and every test runs: dist/cli.js, one bundle with precompiled
// bytecode that holds everything each command needs, blessed included.
//
// blessed is written for plain Node: it loads its widgets with a computed
// `require('./widgets/' + file)` that no bundler can follow, and its terminfo fallback
// reads files next to its own sources. Both are rewritten here, in the bundle only:
// the widgets become static requires, and the terminfo files are copied to
// dist/blessed-usr and found next to the bundle at run time.
import { cpSync, readFileSync, renameSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { BunPlugin } from "bun";

const root = join(import.meta.dir, "..");
const dist = join(root, "dist");
// built aside and swapped in: a command running from the old bundle meanwhile is not broken
const out = join(root, `.dist-build-${process.pid}`);

const blessedForBundles: BunPlugin = {
  name: "blessed-for-bundles",
  setup(build) {
    build.onLoad({ filter: /[\\/]blessed[\\/]lib[\\/]widget\.js$/ }, ({ path }) => {
      const src = readFileSync(path, "utf8");
      const names = [...src.matchAll(/^\s*'([A-Za-z]+)',?$/gm)].map((m) => m[1]!.toLowerCase());
      if (names.length < 20) throw new Error(`blessed's widget list was not found in ${path}: update scripts/build.ts`);
      const table = `{${names.map((n) => `${JSON.stringify(n)}: () => require(${JSON.stringify(`./widgets/${n}`)})`).join(",\n")}}`;
      const dynamic = "require('./widgets/' + file)";
      if (!src.includes(dynamic)) throw new Error(`blessed's widget loader changed in ${path}: update scripts/build.ts`);
      return { contents: src.replace(dynamic, `(${table})[file]()`), loader: "js" };
    });
    build.onLoad({ filter: /[\\/]blessed[\\/]lib[\\/](tput|widgets[\\/]bigtext)\.js$/ }, ({ path }) => {
      const src = readFileSync(path, "utf8");
      const usr = `require('path').join(require('path').dirname(Bun.main), 'blessed-usr') + '/`;
      const contents = src.replaceAll("__dirname + '/../usr/", usr).replaceAll("__dirname + '/../../usr/", usr);
      if (contents === src) throw new Error(`blessed's data paths changed in ${path}: update scripts/build.ts`);
      return { contents, loader: "js" };
    });
  },
};

rmSync(out, { recursive: true, force: true });
const result = await Bun.build({
  entrypoints: [join(root, "bin", "cli.ts")],
  outdir: out,
  target: "bun",
  format: "cjs",
  bytecode: true,
  plugins: [blessedForBundles],
  // optional peers of blessed's Terminal widget, which the console does not use
  external: ["term.js", "pty.js"],
});
if (!result.success) {
  for (const m of result.logs) console.error(m);
  process.exit(1);
}
cpSync(join(root, "node_modules", "blessed", "usr"), join(out, "blessed-usr"), { recursive: true });
const old = `${dist}.old-${process.pid}`;
try {
  renameSync(dist, old);
} catch {}
renameSync(out, dist);
rmSync(old, { recursive: true, force: true });
