// The web client in a real browser: Debian's Chromium (/usr/bin/chromium), driven by
// playwright-core (it never downloads a browser). Run by tests/web/test_browser.py against a
// `kosi run` with the demo data: KOSI_ORIGIN (http://127.0.0.1:PORT), KOSI_SCREENSHOTS (a folder).
// Each step saves a screenshot; axe-core checks each page for serious or critical violations.
// Prints one JSON line of what it measured; exits 1 on the first failed step.
import { mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
const origin = process.env.KOSI_ORIGIN || 'http://127.0.0.1:8000'
const shots = process.env.KOSI_SCREENSHOTS || 'screenshots'
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'
mkdirSync(shots, { recursive: true })

const measured = { steps: [] }
let page

function check (condition, message) {
  if (!condition) throw new Error(message)
}

async function step (name, action) {
  const started = Date.now()
  try {
    await action()
  } catch (error) {
    await page.screenshot({ path: join(shots, `failed-${name}.png`) }).catch(() => {})
    error.message += `\n(in step ${name}; browser console: ${JSON.stringify(measured.console || [])})`
    throw error
  }
  await page.screenshot({ path: join(shots, `${String(measured.steps.length + 1).padStart(2, '0')}-${name}.png`) })
  measured.steps.push({ name, ms: Date.now() - started })
}

async function accessible (what) {
  await page.addScriptTag({ path: require.resolve('axe-core/axe.min.js') })
  const violations = await page.evaluate(async () => {
    const found = await window.axe.run(document, { resultTypes: ['violations'] })
    return found.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
      nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')) }))
  })
  const serious = violations.filter(v => v.impact === 'serious' || v.impact === 'critical')
  measured[`axe ${what}`] = violations.map(v => `${v.impact}: ${v.id}`)
  check(serious.length === 0, `accessibility (${what}): ${JSON.stringify(serious, null, 1)}`)
}

const mapZoom = () => Number(new URL(page.url()).searchParams.get('karte')?.split(',')[2])

/** The pages work under their Content-Security-Policy (the main run bypasses it for axe-core). */
async function underItsOwnPolicy (browser) {
  const strict = await browser.newContext({ viewport: { width: 1280, height: 860 } })
  const refused = []
  const probe = await strict.newPage()
  probe.on('console', message => { if (/Content Security Policy/i.test(message.text())) refused.push(message.text()) })
  await probe.goto(origin + '/', { waitUntil: 'networkidle' })
  await probe.locator('.kosi-cluster, .kosi-marker').first().waitFor()
  await probe.goto(origin + '/api/v1/docs', { waitUntil: 'networkidle' })
  await probe.locator('.opblock-tag').first().waitFor()
  await strict.close()
  check(refused.length === 0, `the pages' policy refused: ${refused.join('; ')}`)
  measured.own_policy = 'ok'
}

async function main () {
  const browser = await chromium.launch({
    executablePath, headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  })
  // bypassCSP: axe-core is injected as a script, which the page's policy (rightly) refuses
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'de-DE', bypassCSP: true })
  await underItsOwnPolicy(browser)
  page = await context.newPage()
  const failures = []
  page.on('pageerror', error => failures.push(`page error: ${error.message}`))
  page.on('console', message => {
    if (message.type() === 'error' || message.type() === 'warning') (measured.console ??= []).push(message.text())
  })
  page.on('response', response => {
    if (response.status() >= 500) failures.push(`${response.status()} ${response.url()}`)
    else if (response.status() >= 400) (measured.client_errors ??= []).push(`${response.status()} ${response.url()}`)
  })
  try {
    await step('karte', async () => {
      const cdp = await context.newCDPSession(page)
      await cdp.send('Network.enable')
      let transferred = 0
      cdp.on('Network.loadingFinished', event => { transferred += event.encodedDataLength })
      await page.goto(origin + '/', { waitUntil: 'networkidle' })
      await page.locator('.kosi-cluster, .kosi-marker').first().waitFor()
      measured.first_load_bytes = transferred
      check(await page.locator('h1').innerText() === 'Wissenslandkarte soziale Innovation', 'the start page')
      check(await page.locator('.hit').count() > 0, 'the start page lists entries')
    })
    await accessible('Karte')

    await step('suche', async () => {
      await page.getByLabel('Suchen', { exact: true }).fill('Pflege')
      await page.getByRole('button', { name: 'Suchen', exact: true }).click()
      await page.waitForURL(/q=Pflege/)
      await page.locator('.hit mark').first().waitFor()
      measured.hits_pflege = Number((await page.locator('.total').innerText()).split(' ')[0])
      check(measured.hits_pflege > 0, 'a search for Pflege finds entries')
    })

    await step('filter', async () => {
      const facets = page.locator('.facets details').filter({ hasText: 'Landkreise' })
      await facets.locator('summary').click()
      const facet = facets.locator('label').first()
      measured.filtered_by = (await facet.innerText()).replace(/\s+/g, ' ').trim()
      const expected = Number(measured.filtered_by.match(/\((\d+)\)$/)[1])   // the facet's count
      await facet.locator('input').check()
      await page.waitForURL(/region=/)
      await page.waitForFunction(count => Number(document.querySelector('.total')?.innerText.split(' ')[0]) === count,
        expected)
      measured.hits_filtered = expected
      check(expected > 0 && expected < measured.hits_pflege, 'the filter narrows to its count')
      await facet.locator('input').uncheck()
      await page.waitForURL(url => !url.searchParams.has('region'))
    })

    await step('karte-verschoben', async () => {
      const before = new URL(page.url()).searchParams.get('karte')
      const map = page.locator('.map')
      const box = await map.boundingBox()
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2)
      await page.mouse.down()
      await page.mouse.move(box.x + box.width / 2 - 160, box.y + box.height / 2 + 90, { steps: 8 })
      await page.mouse.up()
      await page.waitForFunction(previous => new URLSearchParams(location.search).get('karte') !== previous, before)
      measured.panned_from = before
    })

    await step('cluster', async () => {
      await page.locator('.leaflet-control-zoom-out').click()   // back over the whole state
      await page.waitForTimeout(400)
      const zoom = mapZoom()
      const cluster = page.locator('.kosi-cluster').first()
      await cluster.waitFor()
      await cluster.click()
      await page.waitForFunction(previous => Number(new URLSearchParams(location.search).get('karte')?.split(',')[2]) > previous, zoom)
      measured.cluster_zoom = [zoom, mapZoom()]
    })

    await step('markierung', async () => {
      for (let attempt = 0; attempt < 6 && await page.locator('.kosi-marker').count() === 0; attempt++) {
        await page.locator('.kosi-cluster').first().click()
        await page.waitForTimeout(500)
      }
      const marker = page.locator('.kosi-marker').first()
      measured.marker = await marker.getAttribute('aria-label')
      await marker.click()
      await page.locator('aside.selected h2 a').waitFor()
    })

    await step('eintrag', async () => {
      const title = (await page.locator('aside.selected h2 a').innerText()).trim()
      await page.locator('aside.selected h2 a').click()
      await page.waitForURL(/\/eintrag\//)
      await page.locator('article.entry h1').waitFor()
      check((await page.locator('article.entry h1').innerText()).trim() === title, `the entry page of ${title}`)
      measured.entry = title
    })
    await accessible('Eintrag')

    await step('zurueck', async () => {
      await page.goBack()
      await page.locator('.search-panel').waitFor()
      check(await page.getByLabel('Suchen', { exact: true }).inputValue() === 'Pflege', 'back to the search')
    })

    await step('themen', async () => {
      await page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Themen' }).click()
      await page.getByRole('heading', { name: 'Handlungsfelder' }).waitFor()
      measured.themes = await page.locator('.theme-list li').count()
      check(measured.themes > 5, 'the themes are listed')
    })

    await step('wissen', async () => {
      await page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Wissen' }).click()
      await page.locator('.hit h2 a').first().waitFor()
      const title = (await page.locator('.hit h2 a').first().innerText()).trim()
      await page.locator('.hit h2 a').first().click()
      await page.waitForURL(/\/wissen\/.+/)
      check((await page.locator('article h1').innerText()).trim() === title, `the article ${title}`)
      measured.article = title
    })
    await accessible('Wissen')

    await step('einreichen-fehler', async () => {
      await page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Mitmachen' }).click()
      await page.getByLabel('Titel *').fill('Ab')
      await page.getByLabel('Kurzbeschreibung (ein, zwei Sätze) *').fill('Ein Repair-Café im Dorfgemeinschaftshaus.')
      await page.getByRole('button', { name: 'Einreichen' }).click()
      await page.locator('.error-summary').waitFor()
      const titleError = page.locator('#feld-title-fehler')
      check(await titleError.isVisible(), 'the title\'s error stands next to the title')
      check(await page.getByLabel('Titel *').getAttribute('aria-invalid') === 'true', 'the title is marked invalid')
      check(await page.locator('#feld-themes-fehler').isVisible(), 'the missing themes are said')
      measured.field_errors = await page.locator('.error-summary li').allInnerTexts()
    })
    await accessible('Mitmachen mit Fehlern')

    await step('einreichen', async () => {
      await page.getByLabel('Titel *').fill('Repair-Café Dorfgemeinschaftshaus Wettin')
      await page.getByLabel('Art *').selectOption('idea')
      await page.locator('input[name=themes]').first().check()
      await page.getByLabel('Ihre E-Mail-Adresse').fill('mitmachen@example.org')
      await page.getByRole('button', { name: 'Einreichen' }).click()
      await page.getByRole('heading', { name: 'Danke für Ihren Beitrag!' }).waitFor()
      measured.receipt = (await page.locator('code').innerText()).trim()
      check(/^[0-9a-f-]{36}$/.test(measured.receipt), 'the receipt names the submission')
    })

    await step('api-dokumentation', async () => {
      await page.goto(origin + '/api/v1/docs')
      await page.locator('.opblock-tag').first().waitFor()
      measured.api_doc_tags = await page.locator('.opblock-tag').count()
    })

    await step('handy', async () => {
      await page.setViewportSize({ width: 390, height: 844 })
      await page.goto(origin + '/?q=Genossenschaft')
      await page.locator('.hit').first().waitFor()
      const width = await page.evaluate(() => document.documentElement.scrollWidth)
      check(width <= 390, `no sideways scrolling on a phone (page ${width}px wide)`)
    })
    await accessible('Handy')
    check(failures.length === 0, failures.join('\n'))
  } finally {
    console.log(JSON.stringify(measured))
    await browser.close()
  }
}

main().catch(error => {
  console.error(error.stack || String(error))
  process.exit(1)
})
