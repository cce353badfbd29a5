// Numbers in answers, as people in Germany type them.

/** A number as people in Germany type it: a decimal comma, dots between thousands ("1.000,5");
 * a lone dot that groups no thousands ("2.5") is taken as a decimal point. */
export function germanNumber (typed) {
  const text = typed.trim().replace(/\s/g, '')
  const grouped = /^-?\d{1,3}(\.\d{3})+(,\d+)?$/.test(text)
  const plain = grouped ? text.replace(/\./g, '').replace(',', '.') : text.replace(',', '.')
  return /^-?(\d+(\.\d*)?|\.\d+)$/.test(plain) ? Number(plain) : null
}
