// Table downloads: CSV written in the browser (the CLI's --csv escaping: formula-leading
// text quoted) and XLSX written by the server with holdco-excel's table writer (POST
// /api/v1/dashboard/xlsx; formula-leading text quote-prefixed). Both hold the rows the API
// answered, as the page shows them.

import { h, download, announce, errorBox } from './dom.js';
import { postForFile } from './api.js';

/** One CSV cell, escaped as the CLI's --csv escapes it. */
export function csvCell(value) {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (typeof value !== 'number' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  if (/[",\n\r]/.test(text)) text = `"${text.replace(/"/g, '""')}"`;
  return text;
}

/**
 * "Download CSV" and "Download XLSX" buttons for a table: `table()` gives
 * { file, title, columns, rows (arrays of cells), unit, query } when clicked.
 */
export function downloadButtons(table, problemHolder) {
  const csv = h('button', { type: 'button', onclick: () => {
    const t = table();
    if (!t) return;
    const lines = [t.columns.join(',')].concat(t.rows.map((r) => r.map(csvCell).join(',')));
    download(`${t.file}.csv`, `${lines.join('\n')}\n`);
    announce('CSV downloaded');
  } }, 'Download CSV');
  const xlsx = h('button', { type: 'button', onclick: async () => {
    const t = table();
    if (!t) return;
    xlsx.disabled = true;
    try {
      const file = await postForFile('/api/v1/dashboard/xlsx', { title: t.title, columns: t.columns, rows: t.rows, unit: t.unit || null, query: t.query || [] });
      download(`${t.file}.xlsx`, file);
      announce('XLSX downloaded');
    } catch (error) {
      if (problemHolder) problemHolder.replaceChildren(errorBox(error));
    } finally {
      xlsx.disabled = false;
    }
  } }, 'Download XLSX');
  return [csv, xlsx];
}
