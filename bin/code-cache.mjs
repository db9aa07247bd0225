// Runs the compiled CLI, one CommonJS bundle, with a V8 code cache. Most of a short command is compiling: V8 parses
// the whole bundle, then compiles each function the first time it is called. The cache holds the bytecode as it was
// at the end of a successful run of the same command, so the next run deserialises it instead. Node 22 does this
// itself (module.enableCompileCache); Node 20 does not, and only caches CommonJS (vm.Script), hence the bundle format.
//
// The cache is code, so it lives beside the bundle, exactly as trusted and as writable as it: a shared temporary
// directory would let another user plant bytecode. It is written whole under a temporary name and renamed into
// place; one V8 cannot use (another Node, other flags, a rebuilt bundle) is rejected by V8 and written again.
import { isAscii } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const PARAMETERS = ['exports', 'require', 'module', '__filename', '__dirname'];

/** Runs `bundleUrl` as Node would run a CommonJS main module, with the cache of the command in `argv`. */
export function runWithCodeCache(bundleUrl, argv = process.argv) {
  const file = fileURLToPath(bundleUrl);
  const dir = dirname(file);
  const cacheFile = join(dir, '.cache', cacheName(argv));
  const cachedData = readIfPresent(cacheFile);
  const bytes = readFileSync(file);
  // esbuild writes ASCII (test/cli/build.test.ts holds it to that), which reads as Latin-1 in a third of the time
  // UTF-8 decoding takes; anything else is still read right.
  const text = isAscii(bytes) ? bytes.toString('latin1') : bytes.toString('utf8');
  const source = `(function (${PARAMETERS.join(', ')}) {${text}\n})`;
  const script = new vm.Script(source, { filename: file, ...(cachedData ? { cachedData } : {}) });
  if (!cachedData || script.cachedDataRejected) {
    // At exit, when the command has compiled what it needs; a failed run compiled less than a successful one will.
    process.once('exit', (code) => {
      if (code === 0) save(cacheFile, () => script.createCachedData());
    });
  }
  const module = new Module(file);
  module.filename = file;
  module.loaded = true;
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, dir);
}

/** One cache per command (they compile different code) and per Node build and architecture (V8 checks both). */
function cacheName(argv) {
  const command = /^[a-z][a-z-]{0,31}$/.test(argv[2] ?? '') ? argv[2] : 'other';
  return `${command}-${process.version}-${process.arch}.bin`;
}

function readIfPresent(file) {
  try {
    return readFileSync(file);
  } catch {
    return undefined;
  }
}

const TEMP = /\.(\d+)-[0-9a-f]{8}\.tmp$/;

/** Best effort: a directory the user cannot write only means the next run compiles again. */
function save(file, data) {
  const dir = dirname(file);
  const temp = `${file}.${process.pid}-${randomBytes(4).toString('hex')}.tmp`;
  try {
    mkdirSync(dir, { recursive: true });
    removeOrphans(dir);
    writeFileSync(temp, data());
    renameSync(temp, file);
  } catch {
    rmSync(temp, { force: true });
  }
}

/** Temporary files of processes killed while writing a cache (several MB each); a live writer's are left alone. */
function removeOrphans(dir) {
  for (const name of readdirSync(dir)) {
    const pid = Number(TEMP.exec(name)?.[1]);
    if (pid > 0 && !alive(pid)) rmSync(join(dir, name), { force: true });
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}
