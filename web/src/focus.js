// Where the keyboard focus goes when a page changes under it: to the field a link names, or to
// the first field an answer said is wrong.

/** The element a link within the page points to, scrolled to, with the focus on its first field
 * (a fieldset or a question's box cannot take the focus itself). */
export function focusTarget (id) {
  const target = document.getElementById(id)
  if (!target) return
  const field = target.matches('input, select, textarea, button') ? target : target.querySelector('input, select, textarea, button')
  target.scrollIntoView({ block: 'center' })
  ;(field || target).focus({ preventScroll: true })
}

/** After a failed submit: the first field marked invalid, so a screen reader says its error. */
export function focusFirstInvalid () {
  requestAnimationFrame(() => document.querySelector('[aria-invalid="true"]')?.focus())
}
