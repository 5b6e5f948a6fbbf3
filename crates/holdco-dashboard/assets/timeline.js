// The group's timeline in the browser: the tree on any date and the differences between
// two dates, computed here from one document (GET /api/v1/dashboard/timeline) so that
// moving the date slider never waits for the server. Dates are day numbers.

const NONE = -1; // no parent: a top of the tree
const DEAD = -2; // not alive on the date

export class Timeline {
  constructor(doc) {
    const n = doc.units.length;
    this.count = n;
    this.ids = new Array(n);
    this.kinds = new Array(n);
    this.created = new Int32Array(n);
    this.ended = new Int32Array(n);
    this.names = new Array(n);
    this.parents = new Array(n);
    this.index = new Map();
    for (let u = 0; u < n; u++) {
      const [id, kind, created, ended, names, parents] = doc.units[u];
      this.ids[u] = id;
      this.kinds[u] = kind;
      this.created[u] = created;
      this.ended[u] = ended === null ? 2147483647 : ended;
      this.names[u] = names;
      this.parents[u] = parents;
      this.index.set(id, u);
    }
    this.root = doc.root;
    // Many changes share a date (a generated group creates 100,000 units on one day).
    const days = new Map();
    this.changes = doc.changes;
    this.changeById = new Map();
    for (const change of this.changes) {
      let day = days.get(change.date);
      if (day === undefined) { day = dayOf(change.date); days.set(change.date, day); }
      change.day = day;
      if (change.id) this.changeById.set(change.id, change);
    }
    this.byUnit = null;
  }

  /** The changes that name a unit (indexed on first use: only a unit's history needs it). */
  changesOf(id) {
    if (!this.byUnit) {
      this.byUnit = new Map();
      for (const change of this.changes) {
        for (const unit of change.units) {
          const list = this.byUnit.get(unit);
          if (list) list.push(change);
          else this.byUnit.set(unit, [change]);
        }
      }
    }
    return this.byUnit.get(id) || [];
  }

  alive(u, day) {
    return this.created[u] <= day && day < this.ended[u];
  }

  /** The unit's parent on `day` (NONE for a top), or DEAD. */
  parentOn(u, day) {
    if (!this.alive(u, day)) return DEAD;
    const steps = this.parents[u];
    for (let i = steps.length - 1; i >= 0; i--) {
      if (steps[i][0] <= day) return steps[i][1] === null ? NONE : steps[i][1];
    }
    return NONE;
  }

  nameOn(u, day) {
    const names = this.names[u];
    for (let i = names.length - 1; i >= 0; i--) if (names[i][0] <= day) return names[i][1];
    return names.length ? names[0][1] : this.ids[u];
  }

  /**
   * The tree on `day`: parent per unit, children in compressed rows (children of u are
   * childList[childStart[u] .. childStart[u+1]], in creation order), and the tops.
   */
  structureOn(day) {
    const n = this.count;
    const parent = new Int32Array(n);
    const counts = new Int32Array(n + 1);
    const tops = [];
    let alive = 0;
    for (let u = 0; u < n; u++) {
      const p = this.parentOn(u, day);
      parent[u] = p;
      if (p >= 0 && this.alive(p, day)) counts[p + 1]++;
      else if (p !== DEAD) { parent[u] = NONE; tops.push(u); }
      if (p !== DEAD) alive++;
    }
    for (let u = 0; u < n; u++) counts[u + 1] += counts[u];
    const childStart = counts;
    const fill = childStart.slice(0, n);
    const childList = new Int32Array(childStart[n]);
    for (let u = 0; u < n; u++) {
      const p = parent[u];
      if (p >= 0) childList[fill[p]++] = u;
    }
    return { day, parent, childStart, childList, tops, alive };
  }

  /**
   * What changed from the tree on `from` to the tree on `to`, per unit of the later tree
   * (and the units that left): new, gone, moved, merged, split, renamed. Each entry holds
   * the statuses and a sentence saying why.
   */
  diff(fromStructure, toStructure) {
    const a = fromStructure.day;
    const b = toStructure.day;
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    const result = new Map();
    const mark = (u, status, why) => {
      if (u === undefined || u < 0) return;
      if (!result.has(u)) result.set(u, { statuses: new Set(), reasons: [] });
      const entry = result.get(u);
      entry.statuses.add(status);
      if (why && !entry.reasons.includes(why)) entry.reasons.push(why);
    };
    if (a === b) return result;
    // Merges and splits: read from the changes between the two dates.
    for (const change of this.changes) {
      if (change.day <= lo || change.day > hi) continue;
      const d = change.detail;
      if (change.kind === 'merge') {
        const into = this.index.get(d.into);
        mark(into, 'merged', `${d.units.join(', ')} merged into it on ${change.date}`);
        for (const id of d.units) mark(this.index.get(id), 'merged', `merged into ${d.into} on ${change.date}`);
      } else if (change.kind === 'split') {
        const parts = d.parts.map((p) => `${p.unit}${p.shares && p.shares.default != null ? ` ${p.shares.default}` : ''}`);
        mark(this.index.get(d.unit), 'split', `split on ${change.date} into ${parts.join(', ')}`);
        for (const p of d.parts) if (p.unit !== d.unit) mark(this.index.get(p.unit), 'split', `takes part of ${d.unit}'s history (split on ${change.date})`);
      }
    }
    const earlier = a <= b ? fromStructure : toStructure;
    const later = a <= b ? toStructure : fromStructure;
    for (let u = 0; u < this.count; u++) {
      const was = earlier.parent[u] !== DEAD;
      const is = later.parent[u] !== DEAD;
      if (!was && is) mark(u, 'new', `created ${this.describeDay(this.created[u])}`);
      else if (was && !is) mark(u, 'gone', `ended ${this.describeDay(this.ended[u])}`);
      else if (was && is) {
        if (earlier.parent[u] !== later.parent[u]) {
          const from = earlier.parent[u] >= 0 ? this.ids[earlier.parent[u]] : 'the top';
          const to = later.parent[u] >= 0 ? this.ids[later.parent[u]] : 'the top';
          mark(u, 'moved', `moved from ${from} to ${to}`);
        }
        const oldName = this.nameOn(u, earlier.day);
        const newName = this.nameOn(u, later.day);
        if (oldName !== newName) mark(u, 'renamed', `was "${oldName}"`);
      }
    }
    // Only the statuses that tell something about the later tree stay on the units.
    return result;
  }

  describeDay(day) {
    return day >= 2147483647 ? '' : `on ${new Date(day * 86400000).toISOString().slice(0, 10)}`;
  }
}

export function dayOf(text) {
  const [y, m, d] = text.split('-').map(Number);
  return Math.round(Date.UTC(y, m - 1, d) / 86400000);
}

export { NONE, DEAD };
