//! A fast pass over each sheet's XML for what calamine does not report and the data must
//! not have: merged cells and hidden rows or columns holding data. It reads the zip's parts
//! directly (stream inflated, tags found by their first bytes), so it costs a fraction of a
//! full XML parse and runs beside the cell reader.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// What a sheet holds that the model's sheets must not.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) struct SheetFlags {
    /// Merged ranges as written (`A3:A4`).
    pub merged: Vec<String>,
    /// One-based numbers of hidden rows that hold cells.
    pub hidden_rows: Vec<u32>,
    /// Hidden column ranges (one-based, inclusive).
    pub hidden_columns: Vec<(u32, u32)>,
}

fn attribute<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = tag;
    while let Some(at) = rest.find(name) {
        let before = rest[..at].chars().last();
        let after = &rest[at + name.len()..];
        if matches!(before, Some(' ' | '\t' | '\n' | '\r' | ':')) && after.starts_with("=\"") {
            let value = &after[2..];
            return value.find('"').map(|end| &value[..end]);
        }
        rest = &rest[at + name.len()..];
    }
    None
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn tags<'a>(xml: &'a str, element: &str) -> Vec<&'a str> {
    let open = format!("<{element} ");
    xml.match_indices(open.as_str())
        .filter_map(|(at, _)| xml[at..].find('>').map(|end| &xml[at..at + end + 1]))
        .collect()
}

fn part(
    archive: &mut zip::ZipArchive<std::io::BufReader<std::fs::File>>,
    name: &str,
) -> Result<String, String> {
    let mut file = archive.by_name(name).map_err(|e| format!("{name}: {e}"))?;
    let mut text = String::new();
    file.read_to_string(&mut text)
        .map_err(|e| format!("{name}: {e}"))?;
    Ok(text)
}

/// Sheet names and the zip parts holding them, from the workbook and its relationships.
fn sheet_parts(
    archive: &mut zip::ZipArchive<std::io::BufReader<std::fs::File>>,
) -> Result<Vec<(String, String)>, String> {
    let workbook = part(archive, "xl/workbook.xml")?;
    let rels = part(archive, "xl/_rels/workbook.xml.rels")?;
    let targets: BTreeMap<String, String> = tags(&rels, "Relationship")
        .into_iter()
        .filter_map(|tag| {
            Some((
                attribute(tag, "Id")?.to_string(),
                attribute(tag, "Target")?.to_string(),
            ))
        })
        .collect();
    Ok(tags(&workbook, "sheet")
        .into_iter()
        .filter_map(|tag| {
            let name = unescape(attribute(tag, "name")?);
            let target = targets.get(attribute(tag, "id")?)?;
            let path = match target.strip_prefix('/') {
                Some(absolute) => absolute.to_string(),
                None => format!("xl/{target}"),
            };
            Some((name, path))
        })
        .collect())
}

/// Scans one sheet's XML, streamed: only complete tags are looked at, the rest of a chunk
/// waits for the next.
fn scan_sheet(reader: &mut impl Read) -> Result<SheetFlags, String> {
    let mut flags = SheetFlags::default();
    let mut buffer: Vec<u8> = Vec::with_capacity(1 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    let mut pending_hidden: Option<u32> = None;
    loop {
        let read = reader.read(&mut chunk).map_err(|e| e.to_string())?;
        buffer.extend_from_slice(&chunk[..read]);
        let usable = if read == 0 {
            buffer.len()
        } else {
            buffer
                .iter()
                .rposition(|b| *b == b'>')
                .map(|p| p + 1)
                .unwrap_or(0)
        };
        let mut at = 0;
        while let Some(offset) = buffer[at..usable].iter().position(|b| *b == b'<') {
            let start = at + offset;
            let Some(end) = buffer[start..usable].iter().position(|b| *b == b'>') else {
                break;
            };
            let tag = &buffer[start..start + end + 1];
            at = start + end + 1;
            if tag.starts_with(b"<c ") || tag.starts_with(b"<c>") {
                if let Some(row) = pending_hidden.take() {
                    flags.hidden_rows.push(row);
                }
            } else if tag.starts_with(b"<row ") {
                pending_hidden = None;
                let text = String::from_utf8_lossy(tag);
                let hidden = matches!(attribute(&text, "hidden"), Some("1" | "true"));
                if hidden && !text.ends_with("/>") {
                    pending_hidden = attribute(&text, "r").and_then(|r| r.parse().ok());
                }
            } else if tag.starts_with(b"</row") {
                pending_hidden = None;
            } else if tag.starts_with(b"<col ") {
                let text = String::from_utf8_lossy(tag);
                if matches!(attribute(&text, "hidden"), Some("1" | "true")) {
                    let min = attribute(&text, "min")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(0);
                    let max = attribute(&text, "max")
                        .and_then(|v| v.parse().ok())
                        .unwrap_or(min);
                    flags.hidden_columns.push((min, max));
                }
            } else if tag.starts_with(b"<mergeCell ") {
                let text = String::from_utf8_lossy(tag);
                if let Some(range) = attribute(&text, "ref") {
                    flags.merged.push(range.to_string());
                }
            }
        }
        buffer.drain(
            ..at.max(if read == 0 { buffer.len() } else { 0 })
                .min(buffer.len()),
        );
        if read == 0 {
            break;
        }
    }
    Ok(flags)
}

/// Flags of every sheet, by name.
pub(crate) fn scan(path: &Path) -> Result<BTreeMap<String, SheetFlags>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(std::io::BufReader::with_capacity(1 << 16, file))
        .map_err(|e| e.to_string())?;
    let mut out = BTreeMap::new();
    for (name, part) in sheet_parts(&mut archive)? {
        let mut entry = archive.by_name(&part).map_err(|e| format!("{part}: {e}"))?;
        out.insert(name, scan_sheet(&mut entry)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_found_across_chunks() {
        let xml = br#"<worksheet><cols><col min="3" max="4" hidden="1"/></cols><sheetData><row r="1"><c r="A1"/></row><row r="2" hidden="1"><c r="A2"><v>1</v></c></row><row r="3" hidden="1"/></sheetData><mergeCells><mergeCell ref="A5:B6"/></mergeCells></worksheet>"#;
        // A reader that hands out three bytes at a time splits every tag somewhere.
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(3).min(out.len());
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let flags = scan_sheet(&mut Slow(xml)).unwrap();
        assert_eq!(
            flags,
            SheetFlags {
                merged: vec!["A5:B6".into()],
                hidden_rows: vec![2],
                hidden_columns: vec![(3, 4)]
            }
        );
        assert_eq!(
            attribute(r#"<sheet name="Facts" sheetId="4" r:id="rId4"/>"#, "id"),
            Some("rId4")
        );
        assert_eq!(
            attribute(r#"<sheet name="Facts" sheetId="4" r:id="rId4"/>"#, "name"),
            Some("Facts")
        );
    }
}
