// Writes brotli (.br) and gzip (.gz) copies of the console's built JS, WASM and CSS files at
// the highest levels, once per build, so that the server sends them without compressing.
// Usage: node scripts/precompress.mjs target/site/pkg
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, gzipSync, constants } from 'node:zlib';

const folder = process.argv[2];
if (!folder) throw new Error('usage: precompress.mjs <folder>');

for (const name of readdirSync(folder)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const path = join(folder, name);
  const source = statSync(path);
  const fresh = (copy) => {
    try {
      return statSync(copy).mtimeMs >= source.mtimeMs;
    } catch {
      return false;
    }
  };
  const bytes = readFileSync(path);
  if (!fresh(`${path}.br`)) {
    writeFileSync(`${path}.br`, brotliCompressSync(bytes, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
      },
    }));
  }
  if (!fresh(`${path}.gz`)) writeFileSync(`${path}.gz`, gzipSync(bytes, { level: 9 }));
}
