// The web client in a real browser: Debian's Chromium (/usr/bin/chromium), driven by
// playwright-core (it never downloads a browser). Run by tests/web/test_browser.py against a
// `kosi run` with the demo data: KOSI_ORIGIN (http://127.0.0.1:PORT), KOSI_SCREENSHOTS (a folder).
// Each step saves a screenshot; axe-core checks each page for serious or critical violations.
// Prints one JSON line of what it measured; exits 1 on the first failed step.
import { mkdirSync, readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { chromium } from 'playwright-core'

const require = createRequire(import.meta.url)
const origin = process.env.KOSI_ORIGIN || 'http://127.0.0.1:8000'
const shots = process.env.KOSI_SCREENSHOTS || 'screenshots'
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium'
const mailFolder = process.env.KOSI_MAIL            // the local SMTP sink's .eml files (kosi run: var/mail)
const staffToken = process.env.KOSI_STAFF_TOKEN      // an editor's token (kosi token --role editor)
mkdirSync(shots, { recursive: true })

const measured = { steps: [] }
let page
const failures = []   // page errors and 5xx answers: any fails the run

function check (condition, message) {
  if (!condition) throw new Error(message)
}

async function step (name, action) {
  const started = Date.now()
  try {
    await action()
  } catch (error) {
    await page.screenshot({ path: join(shots, `failed-${name}.png`) }).catch(() => {})
    error.message += `\n(in step ${name}; browser console: ${JSON.stringify(measured.console || [])}; ${failures.join('; ')})`
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

/** The mails the sink got for `address`, oldest first: {subject, text (quoted-printable decoded), links}. */
function mailsTo (address) {
  const mails = []
  for (const name of readdirSync(mailFolder).filter(file => file.endsWith('.eml')).sort()) {
    const raw = readFileSync(join(mailFolder, name), 'latin1')   // bytes as they are: decoded below
    const headers = raw.slice(0, raw.search(/\r?\n\r?\n/))
    if (!new RegExp(`^To: .*${address.replace('.', '\\.')}`, 'mi').test(headers)) continue
    const text = Buffer.from(raw.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
      'latin1').toString('utf8')
    const subject = headers.replace(/\r?\n[ \t]+/g, ' ').match(/^Subject: (.*)$/mi)?.[1] || ''
    mails.push({ name, subject: decodeWords(subject), text,
      links: [...new Set(text.match(/https?:\/\/[^\s"<>]+/g) || [])] })
  }
  return mails
}

/** A header's RFC 2047 encoded words (=?utf-8?q?…?= and =?utf-8?b?…?=) as text. */
function decodeWords (header) {
  return header.replace(/=\?utf-8\?([qb])\?([^?]*)\?=\s*/gi, (_, encoding, data) => encoding.toLowerCase() === 'b'
    ? Buffer.from(data, 'base64').toString('utf8')
    : Buffer.from(data.replace(/_/g, ' ').replace(/=([0-9A-F]{2})/gi, (__, hex) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8'))
}

/** The first mail to `address` whose subject matches, waiting for it. */
async function mailTo (address, subject = /./, seconds = 90) {
  for (let waited = 0; waited < seconds * 2; waited++) {
    const mail = mailsTo(address).find(found => subject.test(found.subject))
    if (mail) return mail
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  throw new Error(`no mail to ${address} (${subject}) within ${seconds} s: ${mailsTo(address).map(mail => mail.subject)}`)
}

/** A mail's link to a page of the client, on this run's origin (the mail says PUBLIC_BASE_URL). */
function pageLink (mail, path) {
  const link = mail.links.find(url => new URL(url).pathname === path)
  check(link, `the mail "${mail.subject}" links to ${path}: ${mail.links.join(' ')}`)
  const url = new URL(link)
  return origin + url.pathname + url.search
}

const api = async (method, path, body) => {
  const response = await fetch(`${origin}/api/v1${path}`, { method, body: body && JSON.stringify(body),
    headers: { Authorization: `Bearer ${staffToken}`, 'Content-Type': 'application/json', Accept: 'application/json' } })
  check(response.ok, `${method} ${path}: ${response.status} ${await response.clone().text()}`)
  return response.json()
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

    await step('umfrage-fehler', async () => {
      await page.getByRole('navigation', { name: 'Hauptnavigation' }).getByRole('link', { name: 'Umfragen' }).click()
      await page.getByRole('link', { name: 'Wohnen im Alter auf dem Land' }).click()
      await page.getByRole('group', { name: /Wie möchten Sie im Alter/ }).getByLabel('In einer Senioren-WG').check()
      check(await page.getByRole('group', { name: /Was hält Sie vom Umbau ab/ }).count() === 0, 'the condition hides a question')
      await page.getByRole('group', { name: /ohne Umbau altersgerecht/ }).getByLabel('Nein').check()
      const obstacles = page.getByRole('group', { name: /Was hält Sie vom Umbau ab/ })
      await obstacles.waitFor()   // shown once its condition holds
      await obstacles.getByLabel('Kosten').check()
      await obstacles.getByLabel('Keine Beratung').check()
      check(await obstacles.getByLabel('Ich wohne zur Miete').isDisabled(), 'at most two obstacles')
      for (const [row, value] of [['eine Arztpraxis', '5'], ['ein Laden', '4'], ['ein Bus', '3']]) {
        await page.getByRole('radiogroup', { name: row }).getByLabel(new RegExp(`^${value}\\b`)).check()   // "5 (sehr wichtig)"
      }
      await page.getByRole('radiogroup', { name: /Wie zufrieden/ }).getByLabel('2', { exact: true }).check()
      await page.getByRole('button', { name: 'Fahrdienste nach oben' }).click()
      await page.getByRole('button', { name: 'Fahrdienste nach oben' }).click()
      await page.getByLabel(/Wie weit ist der nächste Laden/).fill('150')
      await page.getByLabel(/Ihre Idee/).fill('Ein Mittagstisch im Dorfgemeinschaftshaus.')
      await page.getByRole('button', { name: 'Antworten absenden' }).click()
      await page.locator('#frage-entfernung-fehler').waitFor()
      measured.survey_error = await page.locator('#frage-entfernung-fehler').innerText()
      check(/0 bis 100/.test(measured.survey_error), `the number's error in German: ${measured.survey_error}`)
    })
    await accessible('Umfrage mit Fehler')

    await step('umfrage-gesendet', async () => {
      await page.getByLabel(/Wie weit ist der nächste Laden/).fill('2,5')
      await page.getByRole('button', { name: 'Antworten absenden' }).click()
      await page.getByRole('heading', { name: 'Danke, Ihre Antwort ist gezählt.' }).waitFor()
      const stored = await page.evaluate(() => Object.entries(sessionStorage).filter(([key]) => key.startsWith('kosi-umfrage-')))
      check(stored.length === 1 && JSON.parse(stored[0][1]).receipt, 'the tab keeps the receipt (a reload shows it again)')
      await page.reload()
      await page.getByRole('heading', { name: 'Danke, Ihre Antwort ist gezählt.' }).waitFor()
    })

    await step('ergebnisse', async () => {
      await page.goto(origin + '/umfragen')
      await page.getByRole('link', { name: 'Wie kommen Sie zu Ihrer Hausarztpraxis?' }).click()
      await page.locator('.bars li').first().waitFor()
      measured.poll_bars = await page.locator('.bars li').allInnerTexts()
      check(measured.poll_bars.length === 4 && measured.poll_bars.some(text => /23/.test(text)), 'the poll as bars with its counts')
    })
    await accessible('Ergebnisse')

    await step('abonnieren', async () => {
      await page.goto(origin + '/?q=Pflege')
      await page.getByRole('link', { name: 'zu dieser Suche' }).click()
      await page.waitForURL(/\/abo\?q=Pflege/)
      check(await page.getByLabel(/Zu dieser Auswahl: Suche „Pflege“/).isChecked(), 'the search is what is offered')
      await page.getByLabel('Zu allem Neuen').check()   // so that the idea published below alerts
      await page.getByLabel('Wie oft?').selectOption('immediately')
      await page.getByLabel(/Newsletter des/).check()
      await page.getByLabel('Ihre E-Mail-Adresse *').fill('leserin@example.org')
      await page.getByRole('button', { name: 'Anmelden' }).click()
      await page.locator('#abo-consent-fehler').waitFor()   // consent first
      await page.getByLabel(/Ich möchte die gewählten E-Mails erhalten/).check()
      await page.getByRole('button', { name: 'Anmelden' }).click()
      await page.getByRole('heading', { name: 'Fast geschafft' }).waitFor()
    })
    await accessible('Abonnieren')

    await step('bestaetigt', async () => {
      const mail = await mailTo('leserin@example.org', /bestätigen/i)
      await page.goto(pageLink(mail, '/abo/bestaetigen'))
      await page.getByRole('heading', { name: 'Danke, Ihre Anmeldung ist bestätigt' }).waitFor()
    })

    await step('redaktion-anmeldung', async () => {
      await page.goto(origin + '/redaktion')
      await page.getByLabel('Zugangstoken').fill('kein.token')
      await page.getByRole('button', { name: 'Anmelden' }).click()
      await page.locator('#zugangstoken-fehler').waitFor()
      await page.getByLabel('Zugangstoken').fill(staffToken)
      await page.getByRole('button', { name: 'Anmelden' }).click()
      await page.getByRole('heading', { name: 'Eingereichte Einträge prüfen' }).waitFor()
      await page.locator('.queue-item').first().waitFor()
    })
    await accessible('Redaktion')

    await step('pruefen', async () => {
      measured.queue = await page.locator('.queue-item h2').allInnerTexts()
      check(measured.queue.includes('Repair-Café Dorfgemeinschaftshaus Wettin'), 'the submitted idea waits for review')
      const other = page.locator('.queue-item').filter({ hasNotText: 'Repair-Café Dorfgemeinschaftshaus Wettin' }).first()
      measured.rejected = (await other.locator('h2').innerText()).trim()
      await other.getByRole('button', { name: 'Ablehnen …' }).click()
      await other.getByRole('button', { name: 'Ablehnen', exact: true }).click()
      await other.locator('.field-error').waitFor()   // a reason first
      await other.getByLabel(/Grund der Ablehnung/).fill('Das Vorhaben liegt außerhalb Sachsen-Anhalts.')
      await other.getByRole('button', { name: 'Ablehnen', exact: true }).click()
      await page.getByText(`„${measured.rejected}“ ist abgelehnt`).waitFor()
      const idea = page.locator('.queue-item').filter({ hasText: 'Repair-Café Dorfgemeinschaftshaus Wettin' })
      await idea.getByRole('button', { name: 'Veröffentlichen' }).click()
      await page.getByText('„Repair-Café Dorfgemeinschaftshaus Wettin“ ist veröffentlicht').waitFor()
      await idea.waitFor({ state: 'detached' })   // a published entry leaves the queue
      const review = await mailTo('mitmachen@example.org', /Repair-Café/)   // the submitter hears of it
      measured.review_mail = review.subject
    })

    await step('bearbeiten-konflikt', async () => {
      const [entry] = (await api('GET', '/entries?status=published&sort=title&per_page=1')).items   // a demo entry
      await page.goto(`${origin}/redaktion/eintraege/${entry.id}`)
      await page.getByLabel('Kurzbeschreibung').fill(`${entry.summary} Jetzt auch samstags.`)
      await api('PATCH', `/entries/${entry.id}`, { version: entry.version, title: `${entry.title} (neu)` })   // someone else
      await page.getByRole('button', { name: 'Speichern' }).click()
      await page.getByRole('heading', { name: 'Inzwischen geändert' }).waitFor()
      measured.conflict_entry = entry
    })
    await accessible('Konflikt')

    await step('bearbeiten-gespeichert', async () => {
      const entry = measured.conflict_entry
      await page.getByRole('button', { name: 'Meine Änderungen auf die neue Fassung übertragen' }).click()
      check(await page.getByLabel('Titel').inputValue() === `${entry.title} (neu)`, 'the other editor\'s title is kept')
      await page.getByRole('button', { name: 'Speichern' }).click()
      await page.getByText(/Gespeichert \(Version/).waitFor()
      const saved = await api('GET', `/entries/${entry.id}`)
      check(saved.title === `${entry.title} (neu)` && saved.summary.endsWith('Jetzt auch samstags.'), 'both changes are saved')
      measured.conflict_entry = entry.slug
    })

    await step('umfrage-auswertung', async () => {
      await page.getByRole('navigation', { name: 'Redaktion' }).getByRole('link', { name: 'Umfragen' }).click()
      await page.getByRole('link', { name: 'Wohnen im Alter auf dem Land' }).click()
      await page.locator('.result').first().waitFor()
      const [download] = await Promise.all([page.waitForEvent('download'),
        page.getByRole('button', { name: 'Antworten als CSV herunterladen' }).click()])
      const csv = readFileSync(await download.path(), 'utf8')
      measured.csv_lines = csv.trim().split(/\r?\n/).length
      check(csv.startsWith('\ufeff') && csv.includes('wohnform') && measured.csv_lines >= 2, 'the CSV holds the response')
    })
    await accessible('Auswertung')

    await step('newsletter', async () => {
      await page.getByRole('navigation', { name: 'Redaktion' }).getByRole('link', { name: 'Newsletter' }).click()
      await page.getByLabel('Betreff').fill('Neues aus dem Kompetenzzentrum')
      await page.getByLabel(/Einleitung/).fill('Liebe Leserinnen und Leser,\n\nhier ist, was neu ist.')
      await page.getByRole('button', { name: 'Entwurf anlegen' }).click()
      await page.getByRole('heading', { name: 'Neues aus dem Kompetenzzentrum' }).waitFor()
      await page.getByRole('button', { name: 'Vorschau' }).click()
      await page.frameLocator('iframe[title="Vorschau als HTML"]').getByText('hier ist, was neu ist.').waitFor()
      const sendButton = page.getByRole('button', { name: 'An alle senden …' })
      await sendButton.scrollIntoViewIfNeeded()   // (below the preview: clicked while scrolling, it missed)
      await sendButton.click()
      await page.getByRole('button', { name: 'Ja, jetzt senden' }).click()
      await page.waitForFunction(() => /^versandt/.test(document.querySelector('.meta')?.textContent), null, { timeout: 60_000 })
      measured.newsletter = (await page.locator('.progress label').innerText()).replace(/\s+/g, ' ')
      const [, sent, recipients] = measured.newsletter.match(/(\d+) von (\d+) gesendet, 0 fehlgeschlagen, 0 ausstehend/) || []
      check(Number(recipients) >= 1 && sent === recipients, `every recipient mailed: ${measured.newsletter}`)
      measured.newsletter_mail = (await mailTo('leserin@example.org', /^Neues aus dem Kompetenzzentrum$/)).subject
    })

    await step('einstellungen', async () => {
      const alert = await mailTo('leserin@example.org', /Repair-Café/)   // the idea published above: "alles Neue"
      measured.alert_mail = alert.subject
      await page.goto(pageLink(alert, '/abo/einstellungen'))
      await page.getByRole('heading', { name: 'Ihre Einstellungen' }).waitFor()
      await page.getByLabel('Wie oft?').selectOption('weekly')
      await page.getByRole('button', { name: 'Speichern' }).click()
      await page.getByText('Gespeichert.').waitFor()
      await page.goto(pageLink(alert, '/abo/abmelden'))
      await page.getByRole('button', { name: 'Ja, abmelden' }).click()
      await page.getByRole('heading', { name: 'Abgemeldet' }).waitFor()
    })
    await accessible('Abmelden')

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
