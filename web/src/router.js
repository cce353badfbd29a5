// Pages by path (the History API): links within the client change the page without reloading,
// the back button works, and every state worth sharing is in the URL.
import { useEffect, useState } from 'preact/hooks'
import { focusTarget } from './focus.js'

const listeners = new Set()

export function navigate (href, { replace = false } = {}) {
  if (href === location.pathname + location.search) return
  history[replace ? 'replaceState' : 'pushState'](null, '', href)
  listeners.forEach(listener => listener())
}

export function useLocation () {
  const [, setTick] = useState(0)
  useEffect(() => {
    const changed = () => setTick(tick => tick + 1)
    listeners.add(changed)
    addEventListener('popstate', changed)
    return () => { listeners.delete(changed); removeEventListener('popstate', changed) }
  }, [])
  return { path: location.pathname, params: new URLSearchParams(location.search) }
}

/** Same-origin link clicks become navigation (modifier keys and new tabs keep working). */
export function interceptLinks () {
  document.addEventListener('click', event => {
    const link = event.target.closest?.('a[href]')
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
        event.shiftKey || event.altKey || link.target || link.hasAttribute('download')) return
    const url = new URL(link.href)
    if (url.origin !== location.origin || url.pathname.startsWith('/api/')) return
    event.preventDefault()
    if (url.hash && url.pathname + url.search === location.pathname + location.search) {
      focusTarget(decodeURIComponent(url.hash.slice(1)))   // a link within the page (an error summary's)
      return
    }
    navigate(url.pathname + url.search)
    if (!url.hash) window.scrollTo(0, 0)
  })
}

