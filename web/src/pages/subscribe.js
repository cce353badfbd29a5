// Subscriptions: /abo (subscribe: the newsletter, alerts for the search or map area the visitor
// came from), and the pages the mails link to (services/notify/site.py): /abo/bestaetigen (the
// double opt-in), /abo/einstellungen (preferences, erasure), /abo/abmelden (leaving). The signed
// token of the mail's link is the only key: no account, no password.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'
import { get, send } from '../api.js'
import { KIND_LABELS, loadLabels, regionLabel, themeLabel } from '../labels.js'
import { focusFirstInvalid } from '../focus.js'
import { germanFields } from '../messages.js'
import { Unavailable } from '../text.js'

// the consent text the person agrees to, and its version (recorded with the subscription)
export const CONSENT_VERSION = '2026-11'
const CONSENT = 'Ich möchte die gewählten E-Mails erhalten. Meine Adresse wird nur dafür verwendet, nie ' +
  'weitergegeben und mit der Abmeldung gelöscht; jede E-Mail enthält einen Abmeldelink.'
const FREQUENCIES = { immediately: 'sofort (höchstens eine E-Mail pro Minute)', daily: 'einmal am Tag', weekly: 'einmal in der Woche' }

/** Alert criteria from a page's URL (the map and search page's own parameters, plus bbox). */
export function criteriaFrom (params) {
  const list = name => params.getAll(name).flatMap(value => value.split(',')).filter(Boolean)
  const criteria = { themes: list('theme'), regions: list('region'), kinds: list('kind') }
  if (params.get('q')) criteria.q = params.get('q')
  if (params.get('bbox')) criteria.bbox = params.get('bbox')
  return criteria
}

function describe (criteria, labels) {
  if (!criteria) return 'keine Benachrichtigungen'
  const parts = []
  if (criteria.q) parts.push(`Suche „${criteria.q}“`)
  if (criteria.kinds?.length) parts.push(criteria.kinds.map(kind => KIND_LABELS[kind] || kind).join(' oder '))
  if (criteria.themes?.length) parts.push(`Themen: ${criteria.themes.map(slug => themeLabel(labels, slug)).join(', ')}`)
  if (criteria.regions?.length) parts.push(`in ${criteria.regions.map(ags => regionLabel(labels, ags)).join(', ')}`)
  if (criteria.bbox) parts.push('im gewählten Kartenausschnitt')
  return parts.length ? parts.join(' · ') : 'alles Neue'
}

// the fields the form shows errors beside; any other (alerts.q, alerts.themes …) goes in a summary
const SHOWN = ['email', 'alerts', 'newsletter', 'consent']
const FIELD_NAMES = { 'alerts.q': 'Suchbegriffe', 'alerts.themes': 'Themen', 'alerts.regions': 'Landkreise',
  'alerts.kinds': 'Arten', 'alerts.bbox': 'Kartenausschnitt', frequency: 'Wie oft', language: 'Sprache' }

export function SubscribePage ({ params }) {
  const criteria = criteriaFrom(params)
  const fromSearch = Object.values(criteria).some(value => value.length)
  const [labels, setLabels] = useState(null)
  const [errors, setErrors] = useState({})
  const [done, setDone] = useState(false)
  const [failure, setFailure] = useState(null)
  const [busy, setBusy] = useState(false)
  useEffect(() => { document.title = 'Benachrichtigungen – Wissenslandkarte'; loadLabels().then(setLabels, () => {}) }, [])

  const onSubmit = async event => {
    event.preventDefault()
    const form = new FormData(event.target)
    if (!form.get('consent')) {
      setErrors({ consent: ['Bitte stimmen Sie zu, sonst dürfen wir Ihnen nicht schreiben.'] })
      focusFirstInvalid()
      return
    }
    const alerts = { keine: null, suche: criteria, alles: {} }[form.get('alerts')]
    const body = { email: (form.get('email') || '').trim(), consent: CONSENT_VERSION, newsletter: !!form.get('newsletter'),
      alerts, frequency: form.get('frequency'), language: 'de' }
    if (alerts?.bbox) alerts.bbox = alerts.bbox.split(',').map(Number)
    setBusy(true); setFailure(null)
    try {
      await send('POST', '/subscriptions', body)
      setDone(true); setErrors({})
    } catch (problem) {
      if (problem.status === 422 || problem.status === 400) { setErrors(germanFields(problem.fields)); focusFirstInvalid() }
      else setFailure(problem)
    } finally { setBusy(false) }
  }

  if (done) {
    return html`<div class="page"><h1>Fast geschafft</h1>
      <p role="status">Wir haben Ihnen eine E-Mail geschickt. Bitte bestätigen Sie mit dem Link darin, dass Sie sie
        erhalten möchten; vorher schicken wir Ihnen nichts. Der Link gilt einige Tage.</p>
      <p>Keine E-Mail? Sehen Sie im Spam-Ordner nach. War die Adresse schon angemeldet, gelten Ihre neuen
        Wünsche, sobald Sie den Link bestätigt haben.</p>
      <p><a href="/">Zur Karte</a></p></div>`
  }
  const others = Object.keys(errors).filter(name => !SHOWN.includes(name))
  const error = name => errors[name] && html`<p class="field-error" id=${`abo-${name}-fehler`}>${errors[name].join(' ')}</p>`
  const invalid = name => errors[name] ? { 'aria-invalid': 'true', 'aria-describedby': `abo-${name}-fehler` } : {}
  return html`<div class="page">
    <h1>Benachrichtigungen und Newsletter</h1>
    <p>Erfahren Sie, wenn Neues erscheint: passend zu Ihrer Suche, Ihrem Kartenausschnitt oder alles. Abmelden geht mit
      einem Klick in jeder E-Mail.</p>
    ${failure && html`<p class="error" role="alert">${failure.status === 429 ? 'Gerade kamen sehr viele Anmeldungen von Ihrem Anschluss. Bitte später noch einmal.'
      : `Das hat nicht geklappt: ${failure.message}`}</p>`}
    <form onSubmit=${onSubmit} noValidate class="subscribe-form">
      <div class=${errors.email ? 'field invalid' : 'field'}>
        <label for="abo-email">Ihre E-Mail-Adresse *</label>
        <input id="abo-email" name="email" type="email" autocomplete="email" maxLength="254" required ...${invalid('email')} />
        ${error('email')}
      </div>
      <fieldset class="field">
        <legend>Benachrichtigungen über neue Einträge, Artikel und Umfragen</legend>
        ${fromSearch && html`<label class="check"><input type="radio" name="alerts" value="suche" checked />
          Zu dieser Auswahl: ${describe(criteria, labels)}</label>`}
        <label class="check"><input type="radio" name="alerts" value="alles" /> Zu allem Neuen</label>
        <label class="check"><input type="radio" name="alerts" value="keine" checked=${!fromSearch} /> Keine</label>
        ${error('alerts')}
        <label for="abo-frequency">Wie oft?</label>
        <select id="abo-frequency" name="frequency">
          ${Object.entries(FREQUENCIES).map(([value, text]) => html`<option value=${value} selected=${value === 'daily'}>${text}</option>`)}
        </select>
      </fieldset>
      <div class=${errors.newsletter ? 'field invalid' : 'field'}>
        <label class="check"><input type="checkbox" name="newsletter" ...${invalid('newsletter')} /> Den Newsletter des
          Kompetenzzentrums (etwa einmal im Monat)</label>
        ${errors.newsletter && html`<p class="field-error" id="abo-newsletter-fehler">Bitte wählen Sie den Newsletter, Benachrichtigungen oder beides.</p>`}
      </div>
      <div class=${errors.consent ? 'field invalid' : 'field'}>
        <label class="check"><input type="checkbox" name="consent" value=${CONSENT_VERSION} ...${invalid('consent')} /> ${CONSENT} *</label>
        ${error('consent')}
      </div>
      ${others.length > 0 && html`<div class="error-summary" role="alert"><p>Bitte prüfen Sie Ihre Auswahl:</p>
        <ul>${others.map(name => html`<li key=${name}>${FIELD_NAMES[name] || name}: ${errors[name].join(' ')}</li>`)}</ul></div>`}
      <button type="submit" disabled=${busy}>${busy ? 'Wird gesendet …' : 'Anmelden'}</button>
    </form></div>`
}

// ------------------------------------------------------------------ from the mails' links

const tokenOf = params => params.get('token') || ''

function LinkProblem ({ problem }) {
  if (problem.status === 404 || problem.status === 422) {
    return html`<div class="page"><h1>Dieser Link gilt nicht (mehr)</h1>
      <p role="alert">Er ist abgelaufen, wurde durch einen neueren ersetzt oder das Abo gibt es nicht mehr.</p>
      <p><a href="/abo">Neu anmelden</a></p></div>`
  }
  return html`<${Unavailable} problem=${problem} gone="" back="/" backLabel="Zur Karte" />`
}

export function ConfirmPage ({ params }) {
  const [subscription, setSubscription] = useState(null)
  const [problem, setProblem] = useState(null)
  useEffect(() => {
    document.title = 'Anmeldung bestätigen – Wissenslandkarte'
    get('/subscriptions/confirm', { token: tokenOf(params) }).then(setSubscription, setProblem)
  }, [])
  if (problem) return html`<${LinkProblem} problem=${problem} />`
  if (!subscription) return html`<div class="page"><p role="status">Wird bestätigt …</p></div>`
  return html`<div class="page"><h1>Danke, Ihre Anmeldung ist bestätigt</h1>
    <p role="status">${subscription.email} erhält ab jetzt ${[subscription.newsletter && 'den Newsletter',
      subscription.alerts && 'Benachrichtigungen'].filter(Boolean).join(' und ')}.</p>
    <p>Jede E-Mail enthält Links zu Ihren Einstellungen und zum Abmelden.</p>
    <p><a href="/">Zur Karte</a></p></div>`
}

export function PreferencesPage ({ params }) {
  const token = tokenOf(params)
  const [subscription, setSubscription] = useState(null)
  const [labels, setLabels] = useState(null)
  const [problem, setProblem] = useState(null)
  const [saved, setSaved] = useState(null)
  const [erased, setErased] = useState(false)
  const [erasing, setErasing] = useState(false)
  useEffect(() => {
    document.title = 'Ihre Einstellungen – Wissenslandkarte'
    get('/subscriptions/me', { token }).then(setSubscription, setProblem)
    loadLabels().then(setLabels, () => {})
  }, [])
  if (erased) {
    return html`<div class="page"><h1>Gelöscht</h1><p role="status">Ihre Adresse und Ihre Einstellungen sind gelöscht.
      Wir schreiben Ihnen nicht mehr.</p><p><a href="/">Zur Karte</a></p></div>`
  }
  if (problem) return html`<${LinkProblem} problem=${problem} />`
  if (!subscription) return html`<div class="page"><p role="status">Wird geladen …</p></div>`

  const onSubmit = async event => {
    event.preventDefault()
    const form = new FormData(event.target)
    const changes = { newsletter: !!form.get('newsletter'), frequency: form.get('frequency') }
    if (!form.get('alerts')) changes.alerts = null
    try {
      setSubscription(await send('PATCH', `/subscriptions/me?token=${encodeURIComponent(token)}`, changes))
      setSaved('Gespeichert.')
    } catch (failed) { setSaved(`Nicht gespeichert: ${failed.message}`) }
  }
  const erase = async () => {
    try {
      await send('DELETE', `/subscriptions/me?token=${encodeURIComponent(token)}`)
      setErased(true)
    } catch (failed) { setSaved(`Nicht gelöscht: ${failed.message}`) }
  }
  const active = subscription.status === 'confirmed'
  return html`<div class="page">
    <h1>Ihre Einstellungen</h1>
    <p>Für ${subscription.email}${active ? '' : subscription.status === 'pending' ? ' (noch nicht bestätigt)' : ' (abgemeldet)'}.</p>
    <form onSubmit=${onSubmit} class="subscribe-form">
      <label class="check"><input type="checkbox" name="newsletter" checked=${subscription.newsletter} /> Newsletter</label>
      <label class="check"><input type="checkbox" name="alerts" checked=${subscription.alerts != null}
        disabled=${subscription.alerts == null} />
        Benachrichtigungen: ${describe(subscription.alerts, labels)}</label>
      <p class="hint">Andere Benachrichtigungen wählen Sie auf der <a href="/">Karte</a> unter „Über Neues benachrichtigen“
        (sie ersetzen diese).</p>
      <label for="abo-frequency">Wie oft?</label>
      <select id="abo-frequency" name="frequency">
        ${Object.entries(FREQUENCIES).map(([value, text]) => html`<option value=${value} selected=${value === subscription.frequency}>${text}</option>`)}
      </select>
      <button type="submit">Speichern</button>
      ${saved && html`<p role="status">${saved}</p>`}
    </form>
    <h2>Abmelden und löschen</h2>
    <p><a href=${`/abo/abmelden?token=${encodeURIComponent(token)}`}>Abmelden</a> beendet alle E-Mails.
      Löschen entfernt außerdem Ihre Adresse und Einstellungen sofort.</p>
    ${erasing
      ? html`<p role="alert">Adresse und Einstellungen jetzt endgültig löschen?
          <button type="button" class="danger" onClick=${erase}>Ja, alles löschen</button>
          <button type="button" class="secondary" onClick=${() => setErasing(false)}>Abbrechen</button></p>`
      : html`<button type="button" class="danger" onClick=${() => setErasing(true)}>Alles löschen …</button>`}
  </div>`
}

export function UnsubscribePage ({ params }) {
  const token = tokenOf(params)
  const [subscription, setSubscription] = useState(null)
  const [problem, setProblem] = useState(null)
  const [left, setLeft] = useState(false)
  useEffect(() => {
    document.title = 'Abmelden – Wissenslandkarte'
    get('/subscriptions/unsubscribe', { token }).then(setSubscription, setProblem)   // changes nothing
  }, [])
  if (problem) return html`<${LinkProblem} problem=${problem} />`
  if (left || subscription?.status === 'unsubscribed') {
    return html`<div class="page"><h1>Abgemeldet</h1><p role="status">Sie erhalten keine E-Mails mehr von uns.</p>
      <p><a href="/abo">Wieder anmelden</a> · <a href="/">Zur Karte</a></p></div>`
  }
  if (!subscription) return html`<div class="page"><p role="status">Wird geladen …</p></div>`
  const leave = async () => {
    try { await send('POST', `/subscriptions/unsubscribe?token=${encodeURIComponent(token)}`, {}); setLeft(true) }
    catch (failed) { setProblem(failed) }
  }
  return html`<div class="page"><h1>Abmelden</h1>
    <p>Keine E-Mails mehr an ${subscription.email}: weder Newsletter noch Benachrichtigungen.</p>
    <button type="button" onClick=${leave}>Ja, abmelden</button>
    <p><a href=${`/abo/einstellungen?token=${encodeURIComponent(token)}`}>Lieber nur die Einstellungen ändern</a></p></div>`
}
