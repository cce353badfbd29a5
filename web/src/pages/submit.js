// /mitmachen: submit a project, an idea, an initiative or an event. The answer's field errors
// (problem+json, `errors` by dotted path) appear next to their fields and in a summary that
// links to them; the 202 receipt says what happens next.
import { html } from 'htm/preact'
import { useEffect, useRef, useState } from 'preact/hooks'
import { send } from '../api.js'
import { KIND_LABELS, loadLabels } from '../labels.js'
import { germanFields } from '../messages.js'

const TEXT = [
  ['title', 'Titel', { required: true, minLength: 3, maxLength: 200 }],
  ['summary', 'Kurzbeschreibung (ein, zwei Sätze)', { required: true, maxLength: 500, rows: 3 }],
  ['description', 'Ausführliche Beschreibung', { maxLength: 20000, rows: 8 }],
]
// the API's field names → what the form calls them (for the error summary)
const NAMES = { kind: 'Art', title: 'Titel', summary: 'Kurzbeschreibung', description: 'Beschreibung',
  themes: 'Themen', region: 'Landkreis', 'address.postal_code': 'Postleitzahl', 'address.locality': 'Ort',
  'contact.name': 'Ihr Name', 'contact.email': 'Ihre E-Mail-Adresse' }

function Field ({ name, label, errors, children, hint }) {
  const id = `feld-${name.replace('.', '-')}`
  const messages = errors[name] || []
  return html`<div class=${messages.length ? 'field invalid' : 'field'}>
    <label for=${id}>${label}</label>
    ${hint && html`<p class="hint" id=${`${id}-hinweis`}>${hint}</p>`}
    ${children({ id, 'aria-invalid': messages.length ? 'true' : undefined,
      'aria-describedby': [hint && `${id}-hinweis`, messages.length && `${id}-fehler`].filter(Boolean).join(' ') || undefined })}
    ${messages.length > 0 && html`<p class="field-error" id=${`${id}-fehler`}>${messages.join(' ')}</p>`}
  </div>`
}

export function SubmitPage () {
  const [labels, setLabels] = useState(null)
  const [errors, setErrors] = useState({})
  const [receipt, setReceipt] = useState(null)
  const [failure, setFailure] = useState(null)
  const [busy, setBusy] = useState(false)
  const summary = useRef()
  useEffect(() => { document.title = 'Mitmachen – Wissenslandkarte'; loadLabels().then(setLabels, setFailure) }, [])
  useEffect(() => { if (Object.keys(errors).length) summary.current?.focus() }, [errors])

  const onSubmit = async event => {
    event.preventDefault()
    const form = new FormData(event.target)
    const value = name => (form.get(name) || '').toString().trim()
    const entry = { kind: value('kind'), title: value('title'), summary: value('summary'), themes: form.getAll('themes') }
    if (value('description')) entry.description = value('description')
    if (value('region')) entry.region = value('region')
    if (value('postal_code') || value('locality')) {
      entry.address = { postal_code: value('postal_code') || null, locality: value('locality') || null }
    }
    if (value('contact_email') || value('contact_name')) {
      entry.contact = { name: value('contact_name') || null, email: value('contact_email') || null }
    }
    setBusy(true); setFailure(null)
    try {
      setReceipt(await send('POST', '/entries', entry))
      setErrors({})
      window.scrollTo(0, 0)
    } catch (problem) {
      if (problem.status === 422 || problem.status === 400) {
        setErrors(germanFields(problem.fields))
      }
      else setFailure(problem)
    } finally {
      setBusy(false)
    }
  }

  if (receipt) {
    return html`<div class="page"><h1>Danke für Ihren Beitrag!</h1>
      <p role="status">Ihr Eintrag ist eingegangen. Die Redaktion sieht ihn sich an und veröffentlicht ihn
        danach auf der Karte; bis dahin ist er nicht öffentlich sichtbar.</p>
      <p>Wenn Sie eine E-Mail-Adresse angegeben haben, schreiben wir Ihnen, sobald er veröffentlicht ist
        (oder warum nicht). Die Adresse sieht nur die Redaktion; sie wird nach der Entscheidung nicht
        veröffentlicht und nach den Fristen der Datenschutzerklärung gelöscht.</p>
      <p>Eingangsnummer: <code>${receipt.id}</code></p>
      <p><a href="/">Zur Karte</a> · <a href="/mitmachen" onClick=${() => setReceipt(null)}>Noch etwas einreichen</a></p>
    </div>`
  }
  const errorNames = Object.keys(errors)
  const themes = labels ? Object.values(labels.themes) : []
  return html`<div class="page">
    <h1>Mitmachen: ein Projekt, eine Idee oder eine Initiative eintragen</h1>
    <p>Was Sie hier eintragen, sieht zuerst die Redaktion des Kompetenzzentrums. Felder mit * sind nötig.</p>
    ${errorNames.length > 0 && html`<div class="error-summary" role="alert" tabindex="-1" ref=${summary}>
      <h2>Bitte prüfen Sie ${errorNames.length === 1 ? 'ein Feld' : `${errorNames.length} Felder`}:</h2>
      <ul>${errorNames.map(name => html`<li key=${name}><a href=${`#feld-${name.replace('.', '-')}`}>
        ${NAMES[name] || name}</a>: ${errors[name].join(' ')}</li>`)}</ul></div>`}
    ${failure && html`<p class="error" role="alert">${failure.status === 429
      ? 'Von Ihrem Anschluss kamen gerade sehr viele Einreichungen. Bitte versuchen Sie es später noch einmal.'
      : `Das hat nicht geklappt: ${failure.message}`}</p>`}
    <form onSubmit=${onSubmit} noValidate class="submit-form">
      <${Field} name="kind" label="Art *" errors=${errors}>${attributes => html`
        <select name="kind" ...${attributes} required>
          ${['project', 'idea', 'initiative', 'event'].map(kind => html`<option value=${kind}>${KIND_LABELS[kind]}</option>`)}
        </select>`}<//>
      ${TEXT.map(([name, label, { rows, ...limits }]) => html`<${Field} key=${name} name=${name}
        label=${label + (limits.required ? ' *' : '')} errors=${errors}>${attributes => rows
          ? html`<textarea name=${name} rows=${rows} ...${limits} ...${attributes}></textarea>`
          : html`<input name=${name} ...${limits} ...${attributes} />`}<//>`)}
      <fieldset class=${errors.themes ? 'field invalid' : 'field'} aria-describedby=${errors.themes ? 'feld-themes-fehler' : undefined}>
        <legend>Themen * (eins bis fünf)</legend>
        <div class="theme-choices" id="feld-themes">
          ${themes.map(theme => html`<label class="check" key=${theme.slug}>
            <input type="checkbox" name="themes" value=${theme.slug} /> ${theme.label}</label>`)}
        </div>
        ${errors.themes && html`<p class="field-error" id="feld-themes-fehler">${errors.themes.join(' ')}</p>`}
      </fieldset>
      <${Field} name="region" label="Landkreis oder kreisfreie Stadt" errors=${errors}>${attributes => html`
        <select name="region" ...${attributes}>
          <option value="">– bitte wählen –</option>
          ${(labels?.regionList || []).map(region => html`<option value=${region.ags} key=${region.ags}>${region.name}</option>`)}
        </select>`}<//>
      <div class="field-row">
        <${Field} name="address.postal_code" label="Postleitzahl" errors=${errors}>${attributes => html`
          <input name="postal_code" inputmode="numeric" maxLength="5" autocomplete="postal-code" ...${attributes} />`}<//>
        <${Field} name="address.locality" label="Ort" errors=${errors}>${attributes => html`
          <input name="locality" maxLength="100" autocomplete="address-level2" ...${attributes} />`}<//>
      </div>
      <fieldset class="field">
        <legend>Ihre Kontaktdaten (freiwillig)</legend>
        <p class="hint">Nur für die Redaktion: für Rückfragen und damit wir Ihnen sagen können, ob Ihr Eintrag
          veröffentlicht wurde. Nie öffentlich.</p>
        <${Field} name="contact.name" label="Ihr Name" errors=${errors}>${attributes => html`
          <input name="contact_name" maxLength="200" autocomplete="name" ...${attributes} />`}<//>
        <${Field} name="contact.email" label="Ihre E-Mail-Adresse" errors=${errors}>${attributes => html`
          <input name="contact_email" type="email" maxLength="254" autocomplete="email" ...${attributes} />`}<//>
      </fieldset>
      <button type="submit" disabled=${busy}>${busy ? 'Wird gesendet …' : 'Einreichen'}</button>
    </form>
  </div>`
}
