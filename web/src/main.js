// The reference web client of the KoSI platform (web/README.md): pages by path, rendered with
// Preact (htm templates, no build-time JSX).
import { html } from 'htm/preact'
import { render } from 'preact'
import { EntryPage } from './pages/entry.js'
import { HomePage } from './pages/home.js'
import { ArticlePage, KnowledgePage, ThemesPage } from './pages/knowledge.js'
import { ResultsPage } from './pages/results.js'
import { StaffArea } from './pages/staff.js'
import { SubmitPage } from './pages/submit.js'
import { ConfirmPage, PreferencesPage, SubscribePage, UnsubscribePage } from './pages/subscribe.js'
import { SurveyPage, SurveysPage } from './pages/surveys.js'
import { interceptLinks, useLocation } from './router.js'
import './styles.css'

function NotFound () {
  return html`<div class="page"><h1>Seite nicht gefunden</h1><p><a href="/">Zur Karte</a></p></div>`
}

function Page () {
  const { path, params } = useLocation()
  const entry = path.match(/^\/eintrag\/([^/]+)$/)
  const article = path.match(/^\/wissen\/([^/]+)$/)
  if (path === '/') return html`<${HomePage} params=${params} />`
  if (entry) return html`<${EntryPage} slug=${decodeURIComponent(entry[1])} />`
  if (article) return html`<${ArticlePage} slug=${decodeURIComponent(article[1])} />`
  if (path === '/wissen') return html`<${KnowledgePage} params=${params} />`
  if (path === '/themen') return html`<${ThemesPage} />`
  if (path === '/mitmachen') return html`<${SubmitPage} />`
  const survey = path.match(/^\/umfragen\/([^/]+)(\/ergebnisse)?$/)
  if (path === '/umfragen') return html`<${SurveysPage} />`
  if (survey) return survey[2] ? html`<${ResultsPage} key=${survey[1]} id=${survey[1]} />`   // (key: a new page, new state)
    : html`<${SurveyPage} key=${survey[1]} id=${survey[1]} />`
  const subscription = { '/abo': SubscribePage, '/abo/bestaetigen': ConfirmPage, '/abo/einstellungen': PreferencesPage,
    '/abo/abmelden': UnsubscribePage }[path]
  if (subscription) return html`<${subscription} params=${params} />`
  if (path === '/redaktion' || path.startsWith('/redaktion/')) return html`<${StaffArea} path=${path} />`
  return html`<${NotFound} />`
}

function App () {
  return html`
    <header class="site-header">
      <a class="brand" href="/">KoSI <span>Kompetenzzentrum Soziale Innovation Sachsen-Anhalt</span></a>
      <nav aria-label="Hauptnavigation">
        <ul>
          <li><a href="/">Karte und Suche</a></li>
          <li><a href="/themen">Themen</a></li>
          <li><a href="/wissen">Wissen</a></li>
          <li><a href="/mitmachen">Mitmachen</a></li>
          <li><a href="/umfragen">Umfragen</a></li>
          <li><a href="/abo">Abonnieren</a></li>
          <li><a href="/api/v1/docs">Offene Daten (API)</a></li>
        </ul>
      </nav>
    </header>
    <main id="inhalt" tabindex="-1"><${Page} /></main>
    <footer class="site-footer">
      <p>Kompetenzzentrum Soziale Innovation Sachsen-Anhalt · Daten unter offener Lizenz: <a href="/api/v1/open-data">Open Data</a> · <a href="/redaktion">Redaktion</a></p>
    </footer>`
}

interceptLinks()
render(html`<${App} />`, document.getElementById('app'))
