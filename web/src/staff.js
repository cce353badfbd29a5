// The staff's token for this tab (sessionStorage: gone with the tab). It is pasted on the login
// page (`kosi token --role editor`, or one from the identity provider) and sent as a bearer token;
// the gateway checks it on every call, the client only shows who it names.
import { html } from 'htm/preact'
import { useEffect, useState } from 'preact/hooks'

const KEY = 'kosi-redaktion-token'
const listeners = new Set()

export const staffToken = () => sessionStorage.getItem(KEY)

export function setStaffToken (token) {
  if (token) sessionStorage.setItem(KEY, token)
  else sessionStorage.removeItem(KEY)
  listeners.forEach(listener => listener(token))
}

export function useStaffToken () {
  const [token, setToken] = useState(staffToken)
  useEffect(() => { listeners.add(setToken); return () => listeners.delete(setToken) }, [])
  return token
}

/** The claims a token carries (unchecked: for display only). */
export function claimsOf (token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')
    return JSON.parse(decodeURIComponent(escape(atob(part))))
  } catch {
    return null
  }
}

/** What a staff page shows when its call failed: a refused token sends the editor back to log in. */
export function StaffProblem ({ problem }) {
  if (problem.status === 401 || problem.status === 403) {
    return html`<div role="alert" class="error"><p>${problem.status === 401 ? 'Ihre Anmeldung ist abgelaufen oder ungültig.'
      : 'Dafür fehlt Ihrer Anmeldung die Rolle.'}</p>
      <button type="button" onClick=${() => setStaffToken(null)}>Neu anmelden</button></div>`
  }
  return html`<p role="alert" class="error">Das ging nicht: ${problem.message}</p>`
}
