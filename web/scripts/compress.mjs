// Precompressed copies (<file>.gz) of the build's text files, which the gateway sends to
// browsers that accept gzip (gateway/web_client.py): the bytes a slow connection has to carry.
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { gzipSync } from 'node:zlib'

const dist = join(dirname(new URL(import.meta.url).pathname), '..', 'dist')
const TEXT = /\.(js|css|svg|json|map|txt)$/
let before = 0
let after = 0
function walk (folder) {
  for (const name of readdirSync(folder)) {
    const path = join(folder, name)
    if (statSync(path).isDirectory()) walk(path)
    else if (TEXT.test(name)) {
      const data = readFileSync(path)
      const packed = gzipSync(data, { level: 9 })
      writeFileSync(path + '.gz', packed)
      before += data.length
      after += packed.length
    }
  }
}
walk(dist)
console.log(`compress: ${Math.round(before / 1024)} KB of text as ${Math.round(after / 1024)} KB gzip`)
