// Survey labels are German, optionally with English ({de, en}); the client shows German.
export const say = label => (typeof label === 'string' ? label : label?.de || label?.en || '')
