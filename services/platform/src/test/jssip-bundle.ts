import { readFile, realpath, stat } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

/**
 * JsSIP for a browser page, as one classic script that sets `window.JsSIP`.
 *
 * The `jssip` npm package (3.13) ships only CommonJS under `lib/` (no `dist/` bundle any more), so
 * this joins `lib/JsSIP.js` and everything it requires into one script with a tiny module table,
 * the way a bundler would. A bare specifier resolves through `node_modules` with the package's
 * `browser` entry when it has one (the `debug` package: its Node entry needs `tty` and `util`).
 * Only the plain `require('literal')` calls JsSIP and its three dependencies (debug, events,
 * sdp-transform) use are understood; anything else fails here, not in the page.
 */
export async function jssipBrowserBundle(): Promise<string> {
  const entry = await realpath(createRequire(import.meta.url).resolve("jssip"));
  const ids = new Map<string, number>();
  const modules: string[] = [];
  const load = async (file: string): Promise<number> => {
    const known = ids.get(file);
    if (known !== undefined) return known;
    const id = ids.size;
    ids.set(file, id);
    const source = await readFile(file, "utf8");
    if (file.endsWith(".json")) {
      modules[id] = `${id}: [function (module) { module.exports = ${source.trim()}; }, {}]`;
      return id;
    }
    const deps: Record<string, number> = {};
    for (const m of source.matchAll(/\brequire\(\s*(['"])([^'"]+)\1\s*\)/g)) {
      const spec = m[2]!;
      if (!(spec in deps)) deps[spec] = await load(await resolveSpecifier(spec, dirname(file)));
    }
    modules[id] = `${id}: [function (module, exports, require) {\n${source}\n}, ${JSON.stringify(deps)}]`;
    return id;
  };
  const root = await load(entry);
  return [
    "(function () {",
    `  var defs = {\n${modules.join(",\n")}\n  };`,
    "  var cache = {};",
    "  function load(id) {",
    "    if (cache[id]) return cache[id].exports;",
    "    var module = (cache[id] = { exports: {} });",
    "    var deps = defs[id][1];",
    "    defs[id][0](module, module.exports, function (spec) {",
    '      if (!(spec in deps)) throw new Error("not bundled: " + spec);',
    "      return load(deps[spec]);",
    "    });",
    "    return module.exports;",
    "  }",
    `  window.JsSIP = load(${root});`,
    "})();",
    "",
  ].join("\n");
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/** A file path as CommonJS resolves it: itself, with `.js` or `.json`, or its `index.js`. */
async function resolveFile(path: string): Promise<string | undefined> {
  for (const candidate of [path, `${path}.js`, `${path}.json`, join(path, "index.js")])
    if (await isFile(candidate)) return realpath(candidate);
  return undefined;
}

async function resolveSpecifier(spec: string, fromDir: string): Promise<string> {
  if (spec.startsWith("./") || spec.startsWith("../")) {
    const file = await resolveFile(resolve(fromDir, spec));
    if (file) return file;
  } else {
    // A bare package name: the nearest node_modules/<name>, at its browser (or main) entry.
    for (let dir = fromDir; ; dir = dirname(dir)) {
      const pkgDir = join(dir, "node_modules", spec);
      if (await isFile(join(pkgDir, "package.json"))) {
        const pkg = JSON.parse(await readFile(join(pkgDir, "package.json"), "utf8")) as {
          browser?: unknown;
          main?: string;
        };
        const main = typeof pkg.browser === "string" ? pkg.browser : (pkg.main ?? "index.js");
        const file = await resolveFile(resolve(pkgDir, main));
        if (file) return file;
        break;
      }
      if (dirname(dir) === dir) break;
    }
  }
  throw new Error(`jssip bundle: cannot resolve ${JSON.stringify(spec)} from ${fromDir}`);
}
