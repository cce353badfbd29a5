// Swagger UI for /api/v1/docs, from the registry package (no CDN at run time): its files are
// copied into dist/api-docs/, which the gateway serves beside the client.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
const source = dirname(require.resolve('swagger-ui-dist/package.json'))
const target = join(dirname(new URL(import.meta.url).pathname), '..', 'dist', 'api-docs')
mkdirSync(target, { recursive: true })
for (const name of ['swagger-ui.css', 'swagger-ui-bundle.js', 'swagger-ui-standalone-preset.js', 'LICENSE']) {
  cpSync(join(source, name), join(target, name))
}
// the page's own script (the gateway's pages allow no inline script)
writeFileSync(join(target, 'init.js'), `window.ui = SwaggerUIBundle({
  url: '/api/v1/openapi.json', dom_id: '#swagger-ui', deepLinking: true, tryItOutEnabled: true,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset], layout: 'StandaloneLayout',
})
`)
console.log(`api-docs: Swagger UI ${require('swagger-ui-dist/package.json').version} copied to dist/api-docs`)
