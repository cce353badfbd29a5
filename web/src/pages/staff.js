// /redaktion: the editors' pages, behind a token (staff.js). The review queue (publish, or
// reject with a reason the submitter is mailed), editing an entry with its version: when someone
// else saved first the API answers 409, and the page shows both versions and lets the editor
// carry their changes over onto the new one.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { get, send } from '../api.js'
import { KIND_LABELS, loadLabels, regionLabel, themeLabel } from '../labels.js'
import { focusFirstInvalid } from '../focus.js'
import { german, germanFields } from '../messages.js'
import { navigate } from '../router.js'
import { claimsOf, setStaffToken, StaffProblem, useStaffToken } from '../staff.js'
import { dateText } from '../text.js'
import { NewsletterPage, NewslettersPage, StaffSurveyPage, StaffSurveysPage } from './staff-work.js'

const STAFF_ROLES = ['editor', 'admin']
const ENTRY_STATUS = { submitted: 'eingereicht', published: 'veröffentlicht', rejected: 'abgelehnt', archived: 'archiviert',
  withdrawn: 'zurückgezogen', draft: 'Entwurf' }

export function StaffArea ({ path }) {
  const token = useStaffToken()
  useEffect(() => { document.title = 'Redaktion – Wissenslandkarte' }, [path])
  if (!token) return html`<${Login} />`
  const claims = claimsOf(token)
  const entry = path.match(/^\/redaktion\/eintraege\/([^/]+)$/)
  const survey = path.match(/^\/redaktion\/umfragen\/([^/]+)$/)
  const newsletter = path.match(/^\/redaktion\/newsletter\/([^/]+)$/)
  let page = html`<${ReviewQueue} token=${token} />`
  if (entry) page = html`<${EntryEditor} token=${token} id=${entry[1]} />`
  else if (path === '/redaktion/umfragen') page = html`<${StaffSurveysPage} token=${token} />`
  else if (survey) page = html`<${StaffSurveyPage} token=${token} id=${survey[1]} />`
  else if (path === '/redaktion/newsletter') page = html`<${NewslettersPage} token=${token} />`
  else if (newsletter) page = html`<${NewsletterPage} token=${token} id=${newsletter[1]} />`
  return html`<div class="page staff">
    <nav class="staff-nav" aria-label="Redaktion">
      <ul>
        <li><a href="/redaktion" aria-current=${path === '/redaktion' ? 'page' : undefined}>Prüfen</a></li>
        <li><a href="/redaktion/umfragen" aria-current=${path.startsWith('/redaktion/umfragen') ? 'page' : undefined}>Umfragen</a></li>
        <li><a href="/redaktion/newsletter" aria-current=${path.startsWith('/redaktion/newsletter') ? 'page' : undefined}>Newsletter</a></li>
      </ul>
      <p>Angemeldet: ${claims?.name || claims?.sub || 'unbekannt'} (${(claims?.roles || []).join(', ')})${' '}
        <button type="button" class="link" onClick=${() => { setStaffToken(null); navigate('/redaktion') }}>Abmelden</button></p>
    </nav>
    ${page}
  </div>`
}

function Login () {
  const [error, setError] = useState(null)
  const [busy, setBusy] = useState(false)
  const onSubmit = async event => {
    event.preventDefault()
    const token = new FormData(event.target).get('token').toString().trim()
    const claims = claimsOf(token)
    if (!claims) { setError('Das ist kein Token (drei durch Punkte getrennte Teile).'); return }
    if (!(claims.roles || []).some(role => STAFF_ROLES.includes(role))) { setError('Dieses Token hat keine Redaktionsrolle.'); return }
    setBusy(true)
    try {
      await get('/entries', { status: 'submitted', per_page: 1 }, { token })   // the gateway checks it
      setStaffToken(token)
    } catch (problem) {
      setError(problem.status === 401 ? 'Das Token wurde nicht angenommen (abgelaufen oder falsch signiert).'
        : problem.status === 403 ? 'Dieses Token darf nicht in die Redaktion.' : `Das ging nicht: ${problem.message}`)
    } finally { setBusy(false) }
  }
  return html`<div class="page"><h1>Redaktion: Anmeldung</h1>
    <p>Melden Sie sich mit Ihrem Zugangstoken an (vom Anmeldedienst des Zentrums, oder <code>kosi token --role editor</code>). Es bleibt nur in diesem Tab gespeichert.</p>
    <form onSubmit=${onSubmit} noValidate>
      <div class=${error ? 'field invalid' : 'field'}>
        <label for="zugangstoken">Zugangstoken</label>
        <textarea id="zugangstoken" name="token" rows="4" autocomplete="off" spellcheck="false"
          aria-invalid=${error ? 'true' : undefined} aria-describedby=${error ? 'zugangstoken-fehler' : undefined}></textarea>
        ${error && html`<p class="field-error" id="zugangstoken-fehler">${error}</p>`}
      </div>
      <button type="submit" disabled=${busy}>Anmelden</button>
    </form></div>`
}

// ------------------------------------------------------------------ the review queue

function ReviewQueue ({ token }) {
  const [page, setPage] = useState(null)
  const [labels, setLabels] = useState(null)
  const [problem, setProblem] = useState(null)
  const [said, setSaid] = useState(null)
  const load = () => get('/entries', { status: 'submitted', per_page: 50, sort: 'oldest' }, { token })   // first come, first
    .then(found => { setPage(found); setProblem(null) }, setProblem)
  useEffect(() => { load(); loadLabels().then(setLabels, () => {}) }, [token])

  const status = useRef()
  const decided = (entry, action, message) => { setSaid(`„${entry.title}“ ${message}.`); load(); status.current?.focus() }
  return html`<section aria-labelledby="pruefen-titel">
    <h1 id="pruefen-titel">Eingereichte Einträge prüfen</h1>
    <p role="status" tabindex="-1" ref=${status}>${said || (page ? (page.total === 1 ? 'Ein Eintrag wartet auf eine Entscheidung.'
      : `${page.total === 0 ? 'Keine' : page.total} Einträge warten auf eine Entscheidung.`) : 'Wird geladen …')}</p>
    ${problem && html`<${StaffProblem} problem=${problem} />`}
    <ol class="queue">${(page?.items || []).map(entry => html`<${QueueItem} key=${entry.id} entry=${entry} token=${token}
      labels=${labels} onDecided=${decided} onStale=${load} />`)}</ol>
  </section>`
}

function QueueItem ({ entry, token, labels, onDecided, onStale }) {
  const [rejecting, setRejecting] = useState(false)
  const [error, setError] = useState(null)
  const review = async (action, reason) => {
    try {
      await send('POST', `/entries/${entry.id}/review`, { action, version: entry.version, reason }, { token })
      onDecided(entry, action, action === 'publish' ? 'ist veröffentlicht' : 'ist abgelehnt; die Einreichenden erfahren den Grund')
    } catch (problem) {
      if (problem.status === 409) { setError('Jemand hat inzwischen darüber entschieden oder ihn geändert. Die Liste ist neu geladen.'); onStale() }
      else setError(problem.fields.reason ? german(problem.fields.reason[0]) : problem.message)
    }
  }
  const onReject = event => {
    event.preventDefault()
    const reason = new FormData(event.target).get('reason').toString().trim()
    if (!reason) { setError('Bitte einen Grund nennen: ihn erfahren die Einreichenden.'); return }
    review('reject', reason)
  }
  return html`<li class="queue-item">
    <p class="kind">${KIND_LABELS[entry.kind] || entry.kind} · eingereicht am ${dateText(entry.created_at)}
      ${entry.region ? ` · ${regionLabel(labels, entry.region)}` : ''}</p>
    <h2><a href=${`/redaktion/eintraege/${entry.id}`}>${entry.title}</a></h2>
    <p>${entry.summary}</p>
    <p class="meta">Themen: ${(entry.themes || []).map(slug => themeLabel(labels, slug)).join(', ') || '–'}
      ${entry.contact?.email ? ` · Kontakt: ${entry.contact.name || ''} <${entry.contact.email}>` : ' · ohne Kontaktadresse'}</p>
    ${error && html`<p class="field-error" role="alert">${error}</p>`}
    <div class="actions">
      <button type="button" onClick=${() => review('publish')}>Veröffentlichen</button>
      <button type="button" class="secondary" onClick=${() => setRejecting(!rejecting)} aria-expanded=${rejecting}>Ablehnen …</button>
      <a href=${`/redaktion/eintraege/${entry.id}`}>Bearbeiten</a>
    </div>
    ${rejecting && html`<form class="reject" onSubmit=${onReject}>
      <label for=${`grund-${entry.id}`}>Grund der Ablehnung (geht an die Einreichenden)</label>
      <textarea id=${`grund-${entry.id}`} name="reason" rows="3" maxLength="2000"></textarea>
      <button type="submit" class="danger">Ablehnen</button>
    </form>`}
  </li>`
}

// ------------------------------------------------------------------ editing, with conflicts

const EDITABLE = [['title', 'Titel', 1], ['summary', 'Kurzbeschreibung', 3], ['description', 'Beschreibung', 8]]

function EntryEditor ({ token, id }) {
  const [entry, setEntry] = useState(null)       // the version the edits are based on
  const [draft, setDraft] = useState({})         // the editor's changes
  const [conflict, setConflict] = useState(null) // the newer version someone else saved
  const [errors, setErrors] = useState({})
  const [problem, setProblem] = useState(null)
  const [said, setSaid] = useState(null)
  const box = useRef()
  const saidRef = useRef()
  useEffect(() => { get(`/entries/${id}`, undefined, { token }).then(setEntry, setProblem) }, [id, token])
  useEffect(() => { if (conflict) box.current?.focus() }, [conflict])
  if (problem) return html`<${StaffProblem} problem=${problem} />`
  if (!entry) return html`<p role="status">Wird geladen …</p>`

  const value = name => draft[name] ?? entry[name] ?? ''
  const changes = Object.fromEntries(Object.entries(draft).filter(([name, text]) => text !== (entry[name] ?? '')))
  const save = async event => {
    event?.preventDefault()
    try {
      const saved = await send('PATCH', `/entries/${id}`, { ...changes, version: entry.version }, { token })
      setEntry(saved); setDraft({}); setConflict(null); setErrors({}); setSaid(`Gespeichert (Version ${saved.version}).`)
    } catch (failed) {
      if (failed.status === 409) {
        setConflict(await get(`/entries/${id}`, undefined, { token }))
        setSaid(null)
      } else if (failed.status === 422) {
        setErrors(germanFields(failed.fields))
        focusFirstInvalid()
      } else setProblem(failed)
    }
  }
  // carry the editor's changes over onto the newer version (then save again), or drop them
  const resolved = text => { setConflict(null); setSaid(text); saidRef.current?.focus() }
  const keepMine = () => { setEntry(conflict); resolved('Ihre Änderungen liegen jetzt auf der neuen Fassung: bitte prüfen und speichern.') }
  const takeTheirs = () => { setEntry(conflict); setDraft({}); resolved('Die neue Fassung ist übernommen, Ihre Änderungen sind verworfen.') }
  return html`<section aria-labelledby="bearbeiten-titel">
    <h1 id="bearbeiten-titel">Bearbeiten: ${entry.title}</h1>
    <p class="meta">${KIND_LABELS[entry.kind] || entry.kind} · ${ENTRY_STATUS[entry.status] || entry.status} · Version ${entry.version}
      ${entry.status === 'published' ? html` · <a href=${`/eintrag/${entry.slug}`}>öffentliche Seite</a>` : ''}</p>
    ${conflict && html`<div class="conflict" role="alert" tabindex="-1" ref=${box}>
      <h2>Inzwischen geändert</h2>
      <p>Jemand hat diesen Eintrag gespeichert, während Sie ihn bearbeitet haben (jetzt Version ${conflict.version}).
        Nichts ist verloren:</p>
      <table><thead><tr><th scope="col">Feld</th><th scope="col">Neue Fassung</th><th scope="col">Ihre Änderung</th></tr></thead>
        <tbody>${EDITABLE.filter(([name]) => conflict[name] !== entry[name] || name in changes).map(([name, label]) => html`<tr key=${name}>
          <th scope="row">${label}</th><td>${conflict[name] || '–'}</td><td>${name in changes ? changes[name] : '(unverändert)'}</td></tr>`)}</tbody></table>
      <button type="button" onClick=${keepMine}>Meine Änderungen auf die neue Fassung übertragen</button>
      <button type="button" class="secondary" onClick=${takeTheirs}>Neue Fassung übernehmen</button>
    </div>`}
    <p role="status" tabindex="-1" ref=${saidRef}>${said}</p>
    <form onSubmit=${save} noValidate>
      ${EDITABLE.map(([name, label, rows]) => html`<div key=${name} class=${errors[name] ? 'field invalid' : 'field'}>
        <label for=${`bearbeiten-${name}`}>${label}</label>
        ${rows === 1
          ? html`<input id=${`bearbeiten-${name}`} value=${value(name)} onInput=${event => setDraft({ ...draft, [name]: event.target.value })}
              aria-invalid=${errors[name] ? 'true' : undefined} aria-describedby=${errors[name] ? `bearbeiten-${name}-fehler` : undefined} />`
          : html`<textarea id=${`bearbeiten-${name}`} rows=${rows} value=${value(name)} onInput=${event => setDraft({ ...draft, [name]: event.target.value })}
              aria-invalid=${errors[name] ? 'true' : undefined} aria-describedby=${errors[name] ? `bearbeiten-${name}-fehler` : undefined}></textarea>`}
        ${errors[name] && html`<p class="field-error" id=${`bearbeiten-${name}-fehler`}>${errors[name].join(' ')}</p>`}
      </div>`)}
      <button type="submit" disabled=${!Object.keys(changes).length || !!conflict}>Speichern</button>
    </form>
  </section>`
}
