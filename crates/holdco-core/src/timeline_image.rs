//! A replayed timeline compiled into a compact binary image, so that a fresh process answers
//! "what did the group look like on a date" by decoding a few arrays instead of building and
//! replaying every [`Change`](crate::model::Change) (issue 11 item 3: `structure --at` on a
//! store of 100k units and 1.1M changes).
//!
//! The image holds, per unit of [`Timeline::units`] (same indexes): its id, kind, creation and
//! end, and its histories of names, parents and stakes, each entry dated; plus the root, the
//! group's name and the date of the latest change. That is everything a structure on a date
//! shows ([`ImageStructure`], the same tree [`Timeline::structure_on`] builds). It is derived
//! from the timeline, never edited, and written by the store in the same transaction as the
//! changes it is compiled from; the changes stay the truth.
//!
//! Layout (all integers little-endian): the magic `HCTLIMG1`; `u32` root, `i32` latest change
//! day (days from the common era; `i32::MIN` when there is none), `u32` unit count `n`;
//! `u32` text length and the UTF-8 text every string points into; the group name as a
//! string reference (`u32` offset, `u32` length); per unit: id reference, kind reference,
//! `i32` creation day, `i32` end day (`i32::MAX` when it has not ended); then three
//! histories, each `n + 1` `u32` start offsets followed by its entries: names (`i32` day,
//! string reference), parents (`i32` day, `u32` parent index or `u32::MAX` for none), stakes
//! (`i32` day, `f64` share bit for bit, `u8` consolidation code). Decoding checks every
//! offset, index and code, so a damaged image is refused (an error), never a panic.

use crate::ids::UnitId;
use crate::model::{Consolidation, Group};
use crate::timeline::{Timeline, UnitIndex};
use chrono::{Datelike, NaiveDate};
use rustc_hash::FxHashMap as HashMap;

/// The first bytes of every image; the last digit is the format's version.
const MAGIC: &[u8; 8] = b"HCTLIMG1";
/// No parent (the root).
const NO_PARENT: u32 = u32::MAX;
/// Not ended.
const NOT_ENDED: i32 = i32::MAX;
/// No change at all.
const NO_DATE: i32 = i32::MIN;

/// Why bytes are not a timeline image this code can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable timeline image: {0}")]
pub struct ImageError(String);

fn damaged(what: impl Into<String>) -> ImageError {
    ImageError(what.into())
}

/// A string inside the image's text: (offset, length) in bytes.
type TextRef = (u32, u32);

/// A decoded timeline image (see the module's documentation).
#[derive(Debug, Clone, PartialEq)]
pub struct TimelineImage {
    root: UnitIndex,
    latest: i32,
    text: String,
    group_name: TextRef,
    ids: Vec<TextRef>,
    kinds: Vec<TextRef>,
    created: Vec<i32>,
    ended: Vec<i32>,
    name_start: Vec<u32>,
    names: Vec<(i32, TextRef)>,
    parent_start: Vec<u32>,
    parents: Vec<(i32, u32)>,
    stake_start: Vec<u32>,
    stakes: Vec<(i32, f64, Consolidation)>,
}

fn consolidation_code(consolidation: Consolidation) -> u8 {
    match consolidation {
        Consolidation::Full => 0,
        Consolidation::Share => 1,
        Consolidation::None => 2,
        Consolidation::Equity => 3,
        Consolidation::FairValue => 4,
    }
}

fn consolidation_of(code: u8) -> Option<Consolidation> {
    Some(match code {
        0 => Consolidation::Full,
        1 => Consolidation::Share,
        2 => Consolidation::None,
        3 => Consolidation::Equity,
        4 => Consolidation::FairValue,
        _ => return None,
    })
}

fn day(date: NaiveDate) -> i32 {
    date.num_days_from_ce()
}

/// Writes the image; strings go into one text, kinds once each.
struct Writer {
    text: String,
    kinds: HashMap<String, TextRef>,
}

impl Writer {
    fn string(&mut self, value: &str) -> TextRef {
        let at = (self.text.len() as u32, value.len() as u32);
        self.text.push_str(value);
        at
    }
    fn kind(&mut self, value: &str) -> TextRef {
        if let Some(at) = self.kinds.get(value) {
            return *at;
        }
        let at = self.string(value);
        self.kinds.insert(value.to_string(), at);
        at
    }
}

fn put_u32(out: &mut Vec<u8>, value: u32) {
    out.extend_from_slice(&value.to_le_bytes());
}
fn put_i32(out: &mut Vec<u8>, value: i32) {
    out.extend_from_slice(&value.to_le_bytes());
}
fn put_ref(out: &mut Vec<u8>, (offset, length): TextRef) {
    put_u32(out, offset);
    put_u32(out, length);
}

/// Compiles a replayed timeline of `group` into image bytes. `None` when the timeline is too
/// large for 32-bit offsets (4 GiB of text or entries), which no real group reaches.
pub fn compile(group: &Group, timeline: &Timeline<'_>) -> Option<Vec<u8>> {
    let units = &timeline.units;
    let n = u32::try_from(units.len()).ok()?;
    let mut writer = Writer {
        text: String::new(),
        kinds: HashMap::default(),
    };
    let group_name = writer.string(&group.name);
    let mut per_unit = Vec::with_capacity(units.len() * 24);
    let (mut name_start, mut parent_start, mut stake_start) = (vec![0u32], vec![0u32], vec![0u32]);
    let (mut names, mut parents, mut stakes) = (Vec::new(), Vec::new(), Vec::new());
    for record in units {
        let id = writer.string(record.id.as_str());
        let kind = writer.kind(&record.kind);
        put_ref(&mut per_unit, id);
        put_ref(&mut per_unit, kind);
        put_i32(&mut per_unit, day(record.created));
        put_i32(
            &mut per_unit,
            record.ended.map_or(NOT_ENDED, |(end, _)| day(end)),
        );
        for (date, name) in &record.names {
            let at = writer.string(name);
            put_i32(&mut names, day(*date));
            put_ref(&mut names, at);
        }
        name_start.push(u32::try_from(record.names.len()).ok()? + *name_start.last()?);
        for (date, parent) in &record.parents {
            put_i32(&mut parents, day(*date));
            put_u32(&mut parents, parent.unwrap_or(NO_PARENT));
        }
        parent_start.push(u32::try_from(record.parents.len()).ok()? + *parent_start.last()?);
        for (date, share, consolidation) in &record.stakes {
            put_i32(&mut stakes, day(*date));
            stakes.extend_from_slice(&share.to_le_bytes());
            stakes.push(consolidation_code(*consolidation));
        }
        stake_start.push(u32::try_from(record.stakes.len()).ok()? + *stake_start.last()?);
    }
    u32::try_from(writer.text.len()).ok()?;
    let latest = timeline
        .changes
        .iter()
        .map(|c| c.date)
        .max()
        .map_or(NO_DATE, day);
    let mut out = Vec::with_capacity(
        64 + writer.text.len() + per_unit.len() + names.len() + parents.len() + stakes.len(),
    );
    out.extend_from_slice(MAGIC);
    put_u32(&mut out, timeline.root);
    put_i32(&mut out, latest);
    put_u32(&mut out, n);
    put_u32(&mut out, writer.text.len() as u32);
    out.extend_from_slice(writer.text.as_bytes());
    put_ref(&mut out, group_name);
    out.extend_from_slice(&per_unit);
    for (starts, entries) in [
        (&name_start, &names),
        (&parent_start, &parents),
        (&stake_start, &stakes),
    ] {
        for start in starts {
            put_u32(&mut out, *start);
        }
        out.extend_from_slice(entries);
    }
    Some(out)
}

/// Reads the image's bytes in order, refusing to read past the end.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, length: usize, what: &str) -> Result<&'a [u8], ImageError> {
        let end = self
            .at
            .checked_add(length)
            .filter(|end| *end <= self.bytes.len())
            .ok_or_else(|| damaged(format!("cut short in {what}")))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u32(&mut self, what: &str) -> Result<u32, ImageError> {
        let bytes = self.take(4, what)?;
        Ok(u32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
    }
    fn i32(&mut self, what: &str) -> Result<i32, ImageError> {
        Ok(self.u32(what)? as i32)
    }
    /// `count` records of `size` bytes each.
    fn records(
        &mut self,
        count: usize,
        size: usize,
        what: &str,
    ) -> Result<std::slice::ChunksExact<'a, u8>, ImageError> {
        let length = count
            .checked_mul(size)
            .ok_or_else(|| damaged(format!("{what}: impossible count")))?;
        Ok(self.take(length, what)?.chunks_exact(size))
    }
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn i32_at(bytes: &[u8], at: usize) -> i32 {
    u32_at(bytes, at) as i32
}

impl TimelineImage {
    /// Decodes image bytes, checking every offset, index and code.
    pub fn decode(bytes: &[u8]) -> Result<TimelineImage, ImageError> {
        let mut reader = Reader { bytes, at: 0 };
        if reader.take(MAGIC.len(), "the header")? != MAGIC {
            return Err(damaged("unknown header (another format or version)"));
        }
        let root = reader.u32("the header")?;
        let latest = reader.i32("the header")?;
        let n = reader.u32("the header")? as usize;
        if root as usize >= n {
            return Err(damaged(format!("root {root} of {n} units")));
        }
        let text_length = reader.u32("the text")? as usize;
        let text = std::str::from_utf8(reader.take(text_length, "the text")?)
            .map_err(|_| damaged("the text is not UTF-8"))?
            .to_string();
        let checked = |(offset, length): TextRef| -> Result<TextRef, ImageError> {
            let (start, end) = (offset as usize, offset as usize + length as usize);
            if end <= text.len() && text.is_char_boundary(start) && text.is_char_boundary(end) {
                Ok((offset, length))
            } else {
                Err(damaged("a string outside the text"))
            }
        };
        let group_name = checked((reader.u32("the group")?, reader.u32("the group")?))?;
        let mut ids = Vec::with_capacity(n);
        let mut kinds = Vec::with_capacity(n);
        let mut created = Vec::with_capacity(n);
        let mut ended = Vec::with_capacity(n);
        for record in reader.records(n, 24, "the units")? {
            ids.push(checked((u32_at(record, 0), u32_at(record, 4)))?);
            kinds.push(checked((u32_at(record, 8), u32_at(record, 12)))?);
            created.push(i32_at(record, 16));
            ended.push(i32_at(record, 20));
        }
        let starts = |reader: &mut Reader<'_>, what: &str| -> Result<Vec<u32>, ImageError> {
            let starts: Vec<u32> = reader
                .records(n + 1, 4, what)?
                .map(|b| u32_at(b, 0))
                .collect();
            if starts[0] != 0 || starts.windows(2).any(|w| w[0] > w[1]) {
                return Err(damaged(format!("{what}: offsets out of order")));
            }
            Ok(starts)
        };
        let name_start = starts(&mut reader, "the names")?;
        let names = reader
            .records(name_start[n] as usize, 12, "the names")?
            .map(|b| Ok((i32_at(b, 0), checked((u32_at(b, 4), u32_at(b, 8)))?)))
            .collect::<Result<Vec<_>, ImageError>>()?;
        let parent_start = starts(&mut reader, "the parents")?;
        let parents = reader
            .records(parent_start[n] as usize, 8, "the parents")?
            .map(|b| {
                let parent = u32_at(b, 4);
                if parent == NO_PARENT || (parent as usize) < n {
                    Ok((i32_at(b, 0), parent))
                } else {
                    Err(damaged(format!("parent {parent} of {n} units")))
                }
            })
            .collect::<Result<Vec<_>, ImageError>>()?;
        let stake_start = starts(&mut reader, "the stakes")?;
        let stakes = reader
            .records(stake_start[n] as usize, 13, "the stakes")?
            .map(|b| {
                let share = f64::from_le_bytes(b[4..12].try_into().unwrap_or([0; 8]));
                let consolidation = consolidation_of(b[12])
                    .ok_or_else(|| damaged(format!("consolidation code {}", b[12])))?;
                Ok((i32_at(b, 0), share, consolidation))
            })
            .collect::<Result<Vec<_>, ImageError>>()?;
        if reader.at != bytes.len() {
            return Err(damaged("bytes after the end"));
        }
        // Only the root has no parent, and the root never has one: every tree walk from the
        // root then ends (a parent chain cannot loop through the root).
        for unit in 0..n {
            let own = &parents[parent_start[unit] as usize..parent_start[unit + 1] as usize];
            let is_root = unit == root as usize;
            if own.iter().any(|(_, p)| (*p == NO_PARENT) != is_root) {
                return Err(damaged(format!("unit {unit}: parent of the root")));
            }
        }
        let image = TimelineImage {
            root,
            latest,
            text,
            group_name,
            ids,
            kinds,
            created,
            ended,
            name_start,
            names,
            parent_start,
            parents,
            stake_start,
            stakes,
        };
        // The dates shown (the root's creation, the latest change) must be dates.
        image.date_of(image.created[root as usize])?;
        if latest != NO_DATE {
            image.date_of(latest)?;
        }
        Ok(image)
    }

    fn date_of(&self, day: i32) -> Result<NaiveDate, ImageError> {
        NaiveDate::from_num_days_from_ce_opt(day).ok_or_else(|| damaged(format!("day {day}")))
    }

    fn str(&self, (offset, length): TextRef) -> &str {
        // Checked when decoded: inside the text, on character boundaries.
        &self.text[offset as usize..(offset + length) as usize]
    }

    /// Units that ever existed (the timeline's unit indexes run below this).
    pub fn units(&self) -> usize {
        self.ids.len()
    }

    /// The root unit (the group).
    pub fn root(&self) -> UnitIndex {
        self.root
    }

    /// The group's name.
    pub fn group_name(&self) -> &str {
        self.str(self.group_name)
    }

    /// The date of the latest change ([`crate::rollup::Engine::latest_structure_date`]'s
    /// answer: `NaiveDate::MIN` when there is none).
    pub fn latest_structure_date(&self) -> NaiveDate {
        if self.latest == NO_DATE {
            return NaiveDate::MIN;
        }
        self.date_of(self.latest).unwrap_or(NaiveDate::MIN)
    }

    /// A unit's id.
    pub fn id(&self, unit: UnitIndex) -> &str {
        self.str(self.ids[unit as usize])
    }

    /// Finds a unit by id (a linear search: for the few tops a caller names).
    pub fn unit(&self, id: &UnitId) -> Option<UnitIndex> {
        (0..self.ids.len() as UnitIndex).find(|u| self.id(*u) == id.as_str())
    }

    /// A unit's kind.
    pub fn kind(&self, unit: UnitIndex) -> &str {
        self.str(self.kinds[unit as usize])
    }

    /// The day a unit came into being.
    pub fn created(&self, unit: UnitIndex) -> NaiveDate {
        self.date_of(self.created[unit as usize])
            .unwrap_or(NaiveDate::MIN)
    }

    /// Its name on `date` (the first name before it was created), as
    /// [`crate::timeline::UnitRecord::name_on`].
    pub fn name_on(&self, unit: UnitIndex, date: NaiveDate) -> &str {
        let u = unit as usize;
        let own = &self.names[self.name_start[u] as usize..self.name_start[u + 1] as usize];
        let d = day(date);
        own.iter()
            .rev()
            .find(|(at, _)| *at <= d)
            .or(own.first())
            .map(|(_, name)| self.str(*name))
            .unwrap_or("")
    }

    /// Its stake on `date`, as [`crate::timeline::UnitRecord::stake_on`].
    pub fn stake_on(&self, unit: UnitIndex, date: NaiveDate) -> (f64, Consolidation) {
        let u = unit as usize;
        let own = &self.stakes[self.stake_start[u] as usize..self.stake_start[u + 1] as usize];
        let d = day(date);
        own.iter()
            .rev()
            .find(|(at, _, _)| *at <= d)
            .map(|(_, share, consolidation)| (*share, *consolidation))
            .unwrap_or((1.0, Consolidation::Full))
    }

    /// Where a unit is on `day`: `None` when it does not exist then, `Some(None)` for the
    /// root, `Some(Some(parent))` otherwise (the timeline's parent steps up to the day).
    fn place_on(&self, unit: usize, day: i32) -> Option<Option<UnitIndex>> {
        if self.ended[unit] <= day {
            return None;
        }
        let own =
            &self.parents[self.parent_start[unit] as usize..self.parent_start[unit + 1] as usize];
        // Entries are in date order: the last one dated on or before the day.
        let applied = own.partition_point(|(at, _)| *at <= day);
        let (_, parent) = own.get(applied.checked_sub(1)?)?;
        Some((*parent != NO_PARENT).then_some(*parent))
    }

    /// The tree in force on `date`: what [`Timeline::structure_on`] gives, without
    /// the Euler tour.
    pub fn structure_on(&self, date: NaiveDate) -> ImageStructure {
        let n = self.units();
        let d = day(date);
        let mut parent = vec![None; n];
        let mut present = vec![false; n];
        for unit in 0..n {
            if let Some(place) = self.place_on(unit, d) {
                present[unit] = true;
                parent[unit] = place;
            }
        }
        // Children of each unit in index order, in one array (counting sort by parent).
        let mut start = vec![0u32; n + 1];
        for p in parent.iter().flatten() {
            start[*p as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut children = vec![0 as UnitIndex; start[n] as usize];
        for (unit, p) in parent.iter().enumerate() {
            if let Some(p) = p {
                children[fill[*p as usize] as usize] = unit as UnitIndex;
                fill[*p as usize] += 1;
            }
        }
        // Alive: reached from the root (in a replayed timeline every unit that exists is).
        let mut alive = vec![false; n];
        let mut depth = vec![0u32; n];
        let root = self.root as usize;
        if present[root] && parent[root].is_none() {
            alive[root] = true;
            let mut stack = vec![self.root];
            while let Some(unit) = stack.pop() {
                let u = unit as usize;
                for &child in &children[start[u] as usize..start[u + 1] as usize] {
                    let c = child as usize;
                    if !alive[c] {
                        alive[c] = true;
                        depth[c] = depth[u] + 1;
                        stack.push(child);
                    }
                }
            }
        }
        for unit in 0..n {
            if !alive[unit] {
                parent[unit] = None;
            }
        }
        ImageStructure {
            date,
            parent,
            alive,
            depth,
            start,
            children,
            root: self.root,
        }
    }
}

/// The tree of units in force on one date, read from a [`TimelineImage`]: the same parents,
/// liveness, depths and children order as [`crate::timeline::Structure`].
#[derive(Debug, Clone)]
pub struct ImageStructure {
    /// The date.
    pub date: NaiveDate,
    /// Per unit index: parent on the date (None for the root and units not alive).
    pub parent: Vec<Option<UnitIndex>>,
    /// Per unit index: whether it exists on the date.
    pub alive: Vec<bool>,
    /// Per unit index: depth below the root (root = 0).
    pub depth: Vec<u32>,
    /// Children of unit `u`: `children[start[u]..start[u + 1]]`, in index order.
    start: Vec<u32>,
    children: Vec<UnitIndex>,
    /// The root.
    pub root: UnitIndex,
}

impl ImageStructure {
    /// The children of `unit` on the date, in creation order.
    pub fn children(&self, unit: UnitIndex) -> &[UnitIndex] {
        let u = unit as usize;
        if !self.alive[u] {
            return &[];
        }
        &self.children[self.start[u] as usize..self.start[u + 1] as usize]
    }

    /// Nodes of the subtree of `node` down to `depth` levels below it, in tree order, as
    /// [`crate::timeline::Structure::descendants`] gives them.
    pub fn descendants(&self, node: UnitIndex, depth: u32) -> Vec<(UnitIndex, u32)> {
        let mut out = Vec::new();
        let mut stack = vec![(node, 0u32)];
        while let Some((unit, level)) = stack.pop() {
            out.push((unit, level));
            if level < depth {
                for child in self.children(unit).iter().rev() {
                    stack.push((*child, level + 1));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::synth::{Synth, SynthSpec};

    fn generated(seed: u64, units: usize, changes: usize) -> crate::Model {
        let spec = SynthSpec {
            units,
            facts: 100,
            changes,
            seed,
            months: Some(12),
            metrics: Some(2),
            ..SynthSpec::default()
        };
        Synth::generate(&spec).into_model()
    }

    /// Every unit's parent, liveness, depth, children, name and stake on every date asked
    /// agree with the replayed timeline's structure and records.
    #[test]
    fn the_image_answers_as_the_replayed_timeline() {
        for seed in 0..10 {
            let model = generated(seed, 30 + seed as usize * 11, 200 + seed as usize * 40);
            let (timeline, problems) =
                Timeline::replay(&model.group, &model.metrics, &model.timeline);
            assert!(problems.is_empty(), "{problems:?}");
            let bytes = compile(&model.group, &timeline).unwrap();
            let image = TimelineImage::decode(&bytes).unwrap();
            assert_eq!(image.units(), timeline.units.len());
            assert_eq!(image.root(), timeline.root);
            assert_eq!(image.group_name(), model.group.name);
            let first = model.timeline.iter().map(|c| c.date).min().unwrap();
            let last = model.timeline.iter().map(|c| c.date).max().unwrap();
            assert_eq!(image.latest_structure_date(), last);
            let mut dates: Vec<NaiveDate> = model.timeline.iter().map(|c| c.date).collect();
            dates.extend([first.pred_opt().unwrap(), last.succ_opt().unwrap()]);
            dates.extend(dates.clone().iter().filter_map(|d| d.pred_opt()));
            for date in dates {
                let expected = timeline.structure_on(date);
                let got = image.structure_on(date);
                assert_eq!(got.parent, expected.parent, "seed {seed}, {date}");
                assert_eq!(got.alive, expected.alive, "seed {seed}, {date}");
                for unit in 0..image.units() as UnitIndex {
                    let record = timeline.record(unit);
                    assert_eq!(image.id(unit), record.id.as_str());
                    assert_eq!(image.kind(unit), record.kind);
                    assert_eq!(image.created(unit), record.created);
                    assert_eq!(image.name_on(unit, date), record.name_on(date));
                    let (a, b) = (image.stake_on(unit, date), record.stake_on(date));
                    assert_eq!((a.0.to_bits(), a.1), (b.0.to_bits(), b.1));
                    if got.alive[unit as usize] {
                        assert_eq!(got.depth[unit as usize], expected.depth[unit as usize]);
                        assert_eq!(got.children(unit), expected.children[unit as usize]);
                    }
                }
                if expected.alive[timeline.root as usize] {
                    assert_eq!(
                        got.descendants(timeline.root, u32::MAX),
                        expected.descendants(timeline.root, u32::MAX)
                    );
                    assert_eq!(
                        got.descendants(timeline.root, 2),
                        expected.descendants(timeline.root, 2)
                    );
                }
            }
        }
    }

    /// Damaged bytes (cut anywhere, any byte changed) are refused or read as some image, and
    /// asking that image about any date never panics or loops.
    #[test]
    fn damaged_images_are_refused_without_panicking() {
        let model = generated(7, 40, 150);
        let (timeline, _) = Timeline::replay(&model.group, &model.metrics, &model.timeline);
        let bytes = compile(&model.group, &timeline).unwrap();
        let date = model.timeline.iter().map(|c| c.date).max().unwrap();
        let ask = |image: &TimelineImage| {
            let structure = image.structure_on(date);
            let rows = structure.descendants(image.root(), u32::MAX);
            for (unit, _) in rows {
                let _ = (image.name_on(unit, date), image.stake_on(unit, date));
            }
        };
        for cut in 0..bytes.len() {
            assert!(
                TimelineImage::decode(&bytes[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..4000 {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let mut damaged = bytes.clone();
            let at = (state >> 33) as usize % damaged.len();
            damaged[at] ^= 1 << ((state >> 20) % 8);
            if let Ok(image) = TimelineImage::decode(&damaged) {
                ask(&image);
            }
        }
        assert!(TimelineImage::decode(b"HCTLIMG9").is_err());
    }
}
