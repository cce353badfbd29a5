// Knowledge and news: the list (/wissen, ?art=news for news only) and one article (/wissen/<slug>).
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { get } from '../api.js'
import { KIND_LABELS, loadLabels, regionLabel, themeLabel } from '../labels.js'
import { Unavailable, dateText } from '../text.js'

const paragraphs = text => (text || '').split(/\n{2,}/).map(part => part.replace(/^#+\s*/, '').trim()).filter(Boolean)

export function KnowledgePage ({ params }) {
  const type = params.get('art') === 'news' ? 'news' : params.get('art') === 'article' ? 'article' : ''
  const [page, setPage] = useState(null)
  const [problem, setProblem] = useState(null)
  useEffect(() => {
    document.title = 'Wissen und Neuigkeiten – Wissenslandkarte'
    get('/articles', { type: type || undefined, per_page: 50 }).then(setPage, setProblem)
  }, [type])
  return html`<div class="page">
    <h1>Wissen und Neuigkeiten</h1>
    <nav aria-label="Art der Beiträge" class="tabs">
      <a href="/wissen" aria-current=${type === '' ? 'page' : undefined}>Alle</a>
      <a href="/wissen?art=article" aria-current=${type === 'article' ? 'page' : undefined}>Wissensartikel</a>
      <a href="/wissen?art=news" aria-current=${type === 'news' ? 'page' : undefined}>Meldungen</a>
    </nav>
    ${problem && html`<p class="error" role="alert">Gerade nicht erreichbar: ${problem.message}</p>`}
    ${!page && !problem && html`<p role="status">Lädt …</p>`}
    ${page && html`<ol class="hits">${page.items.map(article => html`<li class="hit" key=${article.id}>
      <p class="kind">${KIND_LABELS[article.type] || article.type} · ${dateText(article.published_at)}</p>
      <h2><a href=${`/wissen/${encodeURIComponent(article.slug)}`}>${article.title}</a></h2>
      ${article.summary && html`<p>${article.summary}</p>`}</li>`)}</ol>`}
  </div>`
}

export function ArticlePage ({ slug }) {
  const [article, setArticle] = useState(null)
  const [labels, setLabels] = useState(null)
  const [problem, setProblem] = useState(null)
  useEffect(() => { loadLabels().then(setLabels, () => {}) }, [])
  useEffect(() => {
    setArticle(null); setProblem(null)
    get(`/articles/${encodeURIComponent(slug)}`).then(found => {
      setArticle(found)
      document.title = `${found.title} – Wissenslandkarte`
    }, setProblem)
  }, [slug])
  if (problem) {
    return html`<${Unavailable} problem=${problem} gone="Diesen Beitrag gibt es nicht (mehr)." back="/wissen"
      backLabel="Zu Wissen und Neuigkeiten" />`
  }
  if (!article) return html`<div class="page"><p role="status">Lädt …</p></div>`
  return html`<article class="page entry">
    <p class="kind">${KIND_LABELS[article.type] || article.type} · ${dateText(article.published_at)}
      ${article.author ? ` · ${article.author}` : ''}</p>
    <h1>${article.title}</h1>
    ${article.summary && html`<p class="summary">${article.summary}</p>`}
    <div class="description">${paragraphs(article.body).map(text => html`<p>${text}</p>`)}</div>
    <dl class="facts">
      ${article.themes.length > 0 && html`<dt>Themen</dt><dd>${article.themes.map(theme => html`
        <a class="tag" href=${`/?theme=${encodeURIComponent(theme)}`}>${themeLabel(labels, theme)}</a> `)}</dd>`}
      ${article.regions.length > 0 && html`<dt>Regionen</dt><dd>${article.regions.map(ags => regionLabel(labels, ags)).join(', ')}</dd>`}
    </dl>
    <p><a href="/wissen">Zu Wissen und Neuigkeiten</a></p>
  </article>`
}

export function ThemesPage () {
  const [labels, setLabels] = useState(null)
  useEffect(() => { document.title = 'Themen – Wissenslandkarte'; loadLabels().then(setLabels, () => {}) }, [])
  if (!labels) return html`<div class="page"><p role="status">Lädt …</p></div>`
  const themes = Object.values(labels.themes)
  const groups = [['field', 'Handlungsfelder'], ['pioneering', 'Pionierthemen']]
  return html`<div class="page"><h1>Themen</h1>
    ${groups.map(([kind, title]) => html`<section key=${kind} aria-labelledby=${`themen-${kind}`}>
      <h2 id=${`themen-${kind}`}>${title}</h2>
      <ul class="theme-list">${themes.filter(theme => theme.kind === kind).map(theme => html`<li key=${theme.slug}>
        <a href=${`/?theme=${encodeURIComponent(theme.slug)}`}>${theme.label}</a>
        <span class="count"> (${theme.entry_count} ${theme.entry_count === 1 ? 'Eintrag' : 'Einträge'})</span>
        ${theme.description && html`<p>${theme.description}</p>`}</li>`)}</ul>
    </section>`)}
  </div>`
}
