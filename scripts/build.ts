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

// imapflow loads its MIME decoders (libmime with its charset tables, mailsplit, libqp,
// libbase64) at start for download() and ENVELOPE/BODYSTRUCTURE parsing, which a migration
// never uses: about 25 ms of every command's start-up. Likewise pino, for the default logger
// of a connection given none (ours are given `logger: false`), and socks, for a SOCKS proxy
// (none is configured). Here they load on first use instead.
const imapflowLazyModules: BunPlugin = {
  name: "imapflow-lazy-modules",
  setup(build) {
    const edit = (path: string, from: string, to: string, src = readFileSync(path, "utf8")) => {
      if (!src.includes(from)) throw new Error(`imapflow changed in ${path} (no "${from}"): update scripts/build.ts`);
      return src.replace(from, to);
    };
    build.onLoad({ filter: /[\\/]imapflow[\\/]dist[\\/]esm[\\/]imap-flow\.js$/ }, ({ path }) => ({
      contents: edit(
        path,
        "import { downloadMessage, downloadMessageParts } from './download.js';",
        "const downloadMessage = (...a) => require('./download.js').downloadMessage(...a);\nconst downloadMessageParts = (...a) => require('./download.js').downloadMessageParts(...a);",
      ),
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]imapflow[\\/]dist[\\/]esm[\\/]logger\.js$/ }, ({ path }) => ({
      contents: edit(path, "import pino from 'pino';", "const pino = (...a) => { const m = require('pino'); return (m.default ?? m)(...a); };"),
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]imapflow[\\/]dist[\\/]esm[\\/]proxy-connection\.js$/ }, ({ path }) => ({
      contents: edit(path, "import { SocksClient } from 'socks';", "const SocksClient = { createConnection: (...a) => require('socks').SocksClient.createConnection(...a) };"),
      loader: "js",
    }));
    build.onLoad({ filter: /[\\/]imapflow[\\/]dist[\\/]esm[\\/]tools\.js$/ }, ({ path }) => ({
      contents: edit(
        path,
        "import libmime from 'libmime';",
        "let libmimeLoaded;\nconst libmimeReal = () => { if (!libmimeLoaded) { const m = require('libmime'); libmimeLoaded = m && m.__esModule ? m.default : m; } return libmimeLoaded; };\nconst libmime = new Proxy({}, { get(_, k) { const m = libmimeReal(); const v = m[k]; return typeof v === 'function' ? v.bind(m) : v; } });",
      ),
      loader: "js",
    }));
  },
};

rmSync(out, { recursive: true, force: true });
const result = await Bun.build({
  entrypoints: [join(root, "bin", "cli.ts")],
  outdir: out,
  target: "bun",
  format: "cjs",
  bytecode: true,
  plugins: [blessedForBundles, imapflowLazyModules],
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
