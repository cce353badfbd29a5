// Labels for what the API answers as keys: themes by slug, districts by AGS (from /themes and
// /regions, fetched once, with /regions.geojson), kinds in German.
import { get } from './api.js'

export const KIND_LABELS = {
  project: 'Projekt', idea: 'Idee', initiative: 'Initiative', event: 'Veranstaltung',
  article: 'Wissensartikel', news: 'Meldung', survey: 'Umfrage',
}
// how an entry is linked to another entry or an organisation (seen from the link's source), and
// the same link seen from its target
export const LINK_TYPE_LABELS = { related: 'verwandt', part_of: 'Teil von', follows_up: 'folgt auf', inspired_by: 'angeregt durch',
  partner: 'Partner', funded_by: 'gefördert von', run_by: 'getragen von', member_of: 'Mitglied von' }
export const INCOMING_LINK_LABELS = { related: 'verwandt', part_of: 'umfasst', follows_up: 'wird fortgesetzt von',
  inspired_by: 'hat angeregt', partner: 'Partner', funded_by: 'fördert', run_by: 'trägt', member_of: 'hat als Mitglied' }
/** The label of a link as the entry on this side of it sees it. */
export const linkLabel = ({ link_type: type, direction }) =>
  (direction === 'incoming' ? INCOMING_LINK_LABELS : LINK_TYPE_LABELS)[type] || type
// colour-blind-safe (Okabe–Ito), each with 4.5:1 contrast on white for text
export const KIND_COLOURS = { project: '#0060a8', idea: '#a34800', initiative: '#00745a', event: '#8a3b8f' }

let loaded
/** Themes and districts (and the districts' outlines, without which the map shows counts only). */
export function loadLabels () {
  loaded ??= Promise.all([get('/themes'), get('/regions'), get('/regions.geojson').catch(() => null)]).then(([themes, regions, boundaries]) => ({
    boundaries,
    themes: Object.fromEntries(themes.items.map(theme => [theme.slug, theme])),
    regions: Object.fromEntries(regions.items.map(region => [region.ags, region])),
    regionList: regions.items,
  }))
  return loaded
}

export const themeLabel = (labels, slug) => labels?.themes[slug]?.label || slug
export const regionLabel = (labels, ags) => labels?.regions[ags]?.name || ags
