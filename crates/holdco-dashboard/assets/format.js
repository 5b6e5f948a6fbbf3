// Numbers, dates and provenance marks, written the way the CLI prints them.

const whole = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const precise = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });

/** A figure in its metric's scale: thousands separators, whole numbers except for percentages. */
export function number(value, metric) {
  if (value === null || value === undefined || Number.isNaN(value)) return '–';
  // -0 after rounding prints as 0.
  const rounded = metric && metric.measure === 'percent' ? value : Math.round(value);
  if (metric && metric.measure === 'percent') return oneDecimal.format(rounded);
  return whole.format(rounded === 0 ? 0 : rounded);
}

/** A weight, share or rate at full precision (0.625, 0.0806). */
export function exact(value) {
  if (value === null || value === undefined) return '–';
  return precise.format(value);
}

/** "CNY millions", "users millions", "%": the unit a metric's figures are written in. */
export function unitLabel(metric, currency) {
  if (!metric) return '';
  const scale = metric.scale ? ` ${metric.scale}` : '';
  switch (metric.measure) {
    case 'currency': return `${currency}${scale}`;
    case 'percent': return '%';
    case 'users': return `users${scale}`;
    default: return (metric.scale || 'count');
  }
}

/** The one-letter mark of a provenance, as in the CLI's tables. */
export function provenanceMark(provenance) {
  if (!provenance) return '';
  if (provenance === 'published') return 'P';
  if (provenance.startsWith('chained') && provenance.includes('+')) return 'M';
  if (provenance.startsWith('chained')) return 'C';
  return '';
}

export const PROVENANCE_LEGEND = [
  ['P', 'published by the group in this structure'],
  ['C', "the group's restatement into an earlier structure, carried on by lineage"],
  ['M', 'chained + computed (a published figure and figures computed below it)'],
  ['', 'unmarked: computed from reported figures by lineage'],
];

const EPOCH = Date.UTC(1970, 0, 1);
const DAY = 86400000;

/** "2023-04-01" → days since 1970-01-01. */
export function toDay(text) {
  const [y, m, d] = text.split('-').map(Number);
  return Math.round((Date.UTC(y, m - 1, d) - EPOCH) / DAY);
}

/** Days since 1970-01-01 → "2023-04-01". */
export function fromDay(day) {
  return new Date(EPOCH + day * DAY).toISOString().slice(0, 10);
}
