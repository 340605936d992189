// Runs a wasm32-wasip1 command module in this Node's V8 with `node:wasi` (WASI preview1).
// usage: node run-wasi.mjs <module.wasm> <host dir to preopen as /corpus> [args for the module...]
// The module sees its first argument as /corpus; it reads the files itself, one at a time (std::fs).
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import process from 'node:process';

const [wasmPath, hostDir, ...rest] = process.argv.slice(2);
if (!wasmPath || !hostDir) {
  console.error('usage: node run-wasi.mjs <module.wasm> <dir> [args...]');
  process.exit(2);
}
const wasi = new WASI({
  version: 'preview1',
  args: [wasmPath, '/corpus', ...rest],
  env: {},
  preopens: { '/corpus': hostDir },
  returnOnExit: true,
});
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exitCode = wasi.start(instance);
