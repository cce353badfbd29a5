// The platform's HTTP API (/api/v1): JSON in, JSON or problem+json (RFC 9457) out.
export const API = '/api/v1'

/** An answer that is not 2xx: `fields` holds the problem's field messages ({field: [message]}). */
export class Problem extends Error {
  constructor (status, body) {
    super(body?.detail || body?.title || `HTTP ${status}`)
    this.status = status
    this.title = body?.title
    this.fields = body?.errors || {}
  }
}

function query (params) {
  const search = new URLSearchParams()
  for (const [key, value] of Object.entries(params || {})) {
    if (value === undefined || value === null || value === '') continue
    for (const one of Array.isArray(value) ? value : [value]) search.append(key, one)
  }
  const text = search.toString()
  return text ? `?${text}` : ''
}

async function answer (response) {
  const type = response.headers.get('Content-Type') || ''
  const body = type.includes('json') ? await response.json() : await response.text()
  if (!response.ok) throw new Problem(response.status, typeof body === 'object' ? body : { detail: body })
  return body
}

export async function get (path, params, { signal, token } = {}) {
  const headers = { Accept: 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  return answer(await fetch(`${API}${path}${query(params)}`, { headers, signal }))
}

export async function send (method, path, body, { token, idempotencyKey } = {}) {
  const headers = { Accept: 'application/json', 'Content-Type': 'application/json' }
  if (token) headers.Authorization = `Bearer ${token}`
  if (idempotencyKey) headers['Idempotency-Key'] = idempotencyKey
  return answer(await fetch(`${API}${path}`, { method, headers, body: JSON.stringify(body) }))
}

/** A file of the API (a CSV export) saved by the browser under `filename`. */
export async function download (path, filename, { token } = {}) {
  const response = await fetch(`${API}${path}`, { headers: token ? { Authorization: `Bearer ${token}` } : {} })
  if (!response.ok) await answer(response)
  const link = document.createElement('a')
  link.href = URL.createObjectURL(await response.blob())
  link.download = filename
  document.body.append(link)
  link.click()
  link.remove()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}
