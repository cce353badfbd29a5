// The editors' surveys (results at any time, CSV export) and newsletters (compose, preview as
// HTML and text, a test copy to oneself, sending with its progress).
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { download, get, send } from '../api.js'
import { focusFirstInvalid } from '../focus.js'
import { germanFields } from '../messages.js'
import { navigate } from '../router.js'
import { StaffProblem } from '../staff.js'
import { say } from '../survey/labels.js'
import { counted, dateText } from '../text.js'
import { ResultsView } from './results.js'

const SURVEY_STATUS = { draft: 'Entwurf', scheduled: 'geplant', published: 'offen', closed: 'beendet' }
const NEWSLETTER_STATUS = { draft: 'Entwurf', sending: 'wird versandt', sent: 'versandt' }

export function StaffSurveysPage ({ token }) {
  const [page, setPage] = useState(null)
  const [problem, setProblem] = useState(null)
  useEffect(() => { get('/surveys', { per_page: 100 }, { token }).then(setPage, setProblem) }, [token])
  return html`<section aria-labelledby="umfragen-titel">
    <h1 id="umfragen-titel">Umfragen</h1>
    ${problem && html`<${StaffProblem} problem=${problem} />`}
    ${!page && !problem && html`<p role="status">Wird geladen …</p>`}
    ${page && html`<table class="staff-table">
      <thead><tr><th scope="col">Titel</th><th scope="col">Status</th><th scope="col">Antworten</th><th scope="col">bis</th></tr></thead>
      <tbody>${page.items.map(survey => html`<tr key=${survey.id}>
        <td><a href=${`/redaktion/umfragen/${survey.id}`}>${say(survey.title)}</a></td>
        <td>${SURVEY_STATUS[survey.status] || survey.status}</td><td>${survey.response_count}</td>
        <td>${survey.closes_at ? dateText(survey.closes_at) : '–'}</td></tr>`)}</tbody></table>`}
  </section>`
}

export function StaffSurveyPage ({ token, id }) {
  const [survey, setSurvey] = useState(null)
  const [results, setResults] = useState(null)
  const [problem, setProblem] = useState(null)
  const [said, setSaid] = useState(null)
  useEffect(() => {
    Promise.all([get(`/surveys/${id}`, undefined, { token }), get(`/surveys/${id}/results`, undefined, { token })])
      .then(([found, summary]) => { setSurvey(found); setResults(summary) }, setProblem)
  }, [id, token])
  if (problem) return html`<${StaffProblem} problem=${problem} />`
  if (!results) return html`<p role="status">Wird geladen …</p>`
  const exportCsv = async () => {
    try {
      await download(`/surveys/${id}/responses.csv`, `umfrage-${id}.csv`, { token })
      setSaid('Die CSV-Datei ist heruntergeladen (Semikolon, UTF-8: öffnet sich in Tabellenprogrammen).')
    } catch (failed) { setSaid(`Export nicht möglich: ${failed.message}`) }
  }
  return html`<section aria-labelledby="umfrage-titel">
    <h1 id="umfrage-titel">${say(survey.title)}</h1>
    <p class="meta">${SURVEY_STATUS[survey.status]} · ${counted(survey.response_count, 'Antwort', 'Antworten')}${survey.results_public ? ' · Ergebnisse nach dem Ende öffentlich' : ' · Ergebnisse nur für die Redaktion'}</p>
    <p><button type="button" onClick=${exportCsv}>Antworten als CSV herunterladen</button>
      ${survey.status !== 'draft' && html` <a href=${`/umfragen/${survey.id}`}>öffentliche Seite</a>`}</p>
    ${said && html`<p role="status">${said}</p>`}
    <h2>Ergebnisse</h2>
    <${ResultsView} results=${results} staff />
  </section>`
}

// ------------------------------------------------------------------ newsletters

export function NewslettersPage ({ token }) {
  const [page, setPage] = useState(null)
  const [problem, setProblem] = useState(null)
  const [errors, setErrors] = useState({})
  useEffect(() => { get('/newsletters', { per_page: 50 }, { token }).then(setPage, setProblem) }, [token])
  const create = async event => {
    event.preventDefault()
    const form = new FormData(event.target)
    try {
      const made = await send('POST', '/newsletters', { subject: form.get('subject').trim(), intro: form.get('intro').trim() }, { token })
      navigate(`/redaktion/newsletter/${made.id}`)
    } catch (failed) {
      if (failed.status === 422) {
        setErrors(germanFields(failed.fields))
        focusFirstInvalid()
      } else setProblem(failed)
    }
  }
  return html`<section aria-labelledby="newsletter-titel">
    <h1 id="newsletter-titel">Newsletter</h1>
    ${problem && html`<${StaffProblem} problem=${problem} />`}
    <h2>Neuer Newsletter</h2>
    <p class="hint">Die Einträge, Artikel und Meldungen seit dem letzten Newsletter werden ausgewählt; Sie können sie danach ändern.</p>
    <form onSubmit=${create} noValidate>
      <div class=${errors.subject ? 'field invalid' : 'field'}>
        <label for="nl-subject">Betreff</label>
        <input id="nl-subject" name="subject" maxLength="200" aria-invalid=${errors.subject ? 'true' : undefined}
          aria-describedby=${errors.subject ? 'nl-subject-fehler' : undefined} />
        ${errors.subject && html`<p class="field-error" id="nl-subject-fehler">${errors.subject.join(' ')}</p>`}
      </div>
      <div class="field"><label for="nl-intro">Einleitung (Absätze durch Leerzeilen)</label>
        <textarea id="nl-intro" name="intro" rows="5" maxLength="20000"></textarea></div>
      <button type="submit">Entwurf anlegen</button>
    </form>
    <h2>Bisherige</h2>
    ${page && html`<table class="staff-table">
      <thead><tr><th scope="col">Betreff</th><th scope="col">Status</th><th scope="col">Versandt</th></tr></thead>
      <tbody>${page.items.map(letter => html`<tr key=${letter.id}>
        <td><a href=${`/redaktion/newsletter/${letter.id}`}>${letter.subject}</a></td>
        <td>${NEWSLETTER_STATUS[letter.status]}</td>
        <td>${letter.progress.sent} von ${letter.progress.recipients}</td></tr>`)}</tbody></table>`}
  </section>`
}

const segmentText = segment => [segment?.themes?.length && `der Themen ${segment.themes.join(', ')}`,
  segment?.regions?.length && `der Regionen ${segment.regions.join(', ')}`].filter(Boolean).map(part => ` ${part}`).join(' und')

export function NewsletterPage ({ token, id }) {
  const [letter, setLetter] = useState(null)
  const [preview, setPreview] = useState(null)
  const [problem, setProblem] = useState(null)
  const [said, setSaid] = useState(null)
  const [confirming, setConfirming] = useState(false)
  const load = () => get(`/newsletters/${id}`, undefined, { token }).then(setLetter, setProblem)
  useEffect(() => { load() }, [id, token])
  useEffect(() => {   // progress while it is being sent
    if (letter?.status !== 'sending') return
    const timer = setTimeout(load, 1000)
    return () => clearTimeout(timer)
  }, [letter])
  if (problem) return html`<${StaffProblem} problem=${problem} />`
  if (!letter) return html`<p role="status">Wird geladen …</p>`

  const act = async (what, call) => {
    try { await call(); setSaid(what) } catch (failed) {
      setSaid(failed.status === 409 ? 'Das ging nicht: Der Newsletter wurde inzwischen geändert oder wird schon versandt. Die Seite ist neu geladen.'
        : `Das ging nicht: ${failed.message}`)
      if (failed.status === 409) load()
    }
  }
  const removeItem = item => act('Entfernt.', async () => {
    setLetter(await send('PATCH', `/newsletters/${id}`, { version: letter.version,
      items: letter.items.filter(other => other !== item).map(({ type, id: itemId, title, summary, path }) => ({ type, id: itemId, title, summary, path })) }, { token }))
    setPreview(null)
  })
  const showPreview = () => act(null, async () => setPreview(await get(`/newsletters/${id}/preview`, undefined, { token })))
  const sendTest = event => {
    event.preventDefault()
    const address = new FormData(event.target).get('test_to').toString().trim()
    act(`Eine Testausgabe geht an ${address}.`, () => send('POST', `/newsletters/${id}/test`, { test_to: address }, { token }))
  }
  const sendAll = () => act('Der Versand läuft.', async () => {
    setLetter(await send('POST', `/newsletters/${id}/send`, {}, { token }))
    setConfirming(false)
  })
  const { progress } = letter
  return html`<section aria-labelledby="nl-titel">
    <h1 id="nl-titel">${letter.subject}</h1>
    <p class="meta">${NEWSLETTER_STATUS[letter.status]}${letter.created_by ? ` · angelegt von ${letter.created_by}` : ''}</p>
    ${said && html`<p role="status">${said}</p>`}
    ${letter.status !== 'draft' && html`<div class="progress">
      <label for="nl-progress">Versand: ${progress.sent} von ${progress.recipients} gesendet, ${progress.failed} fehlgeschlagen, ${progress.pending} ausstehend</label>
      <progress id="nl-progress" max=${Math.max(1, progress.recipients)} value=${progress.sent + progress.failed}></progress>
    </div>`}
    <h2>Inhalt (${letter.items.length})</h2>
    <ol class="nl-items">${letter.items.map((item, index) => html`<li key=${index}>
      <strong>${item.title}</strong>${item.summary ? ` – ${item.summary}` : ''}
      ${letter.status === 'draft' && html` <button type="button" class="link" onClick=${() => removeItem(item)}
        aria-label=${`${item.title} entfernen`}>entfernen</button>`}</li>`)}</ol>
    <p><button type="button" class="secondary" onClick=${showPreview}>Vorschau</button></p>
    ${preview && html`<div class="preview">
      <h2>Vorschau: ${preview.subject}</h2>
      <iframe title="Vorschau als HTML" sandbox="" srcdoc=${preview.html}></iframe>
      <details><summary>Als reiner Text</summary><pre>${preview.text}</pre></details></div>`}
    ${letter.status === 'draft' && html`
      <form onSubmit=${sendTest} class="inline-form">
        <label for="nl-test">Testausgabe an</label>
        <input id="nl-test" name="test_to" type="email" autocomplete="email" required />
        <button type="submit" class="secondary">Test senden</button>
      </form>
      ${confirming
        ? html`<p role="alert">„${letter.subject}“ jetzt an alle bestätigten Abonnentinnen und Abonnenten${segmentText(letter.segment)} senden?
            <button type="button" onClick=${sendAll}>Ja, jetzt senden</button>
            <button type="button" class="secondary" onClick=${() => setConfirming(false)}>Abbrechen</button></p>`
        : html`<p><button type="button" onClick=${() => setConfirming(true)} disabled=${!letter.items.length && !letter.intro}>An alle senden …</button></p>`}`}
  </section>`
}
