//! Opening a workbook someone sent: refuse, with a message naming the file, what is not a
//! plain .xlsx (an encrypted or old-format file, a corrupted zip, a zip bomb) before a cell
//! is parsed, so a bad file costs neither a panic nor unbounded memory.

use calamine::{Reader, Xlsx};
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Bounds on what a workbook may expand to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest total uncompressed size of the parts of the zip, in bytes.
    pub max_uncompressed: u64,
    /// Largest ratio of uncompressed to compressed size for a part above 1 MiB. Workbooks
    /// compress 5 to 50 times; a zip bomb, hundreds to millions of times.
    pub max_ratio: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_uncompressed: 4 << 30,
            max_ratio: 1_000,
        }
    }
}

impl Limits {
    /// The default limits, or `HOLDCO_XLSX_MAX_BYTES` (bytes) for the size.
    pub fn from_env() -> Limits {
        let mut limits = Limits::default();
        if let Some(bytes) = std::env::var("HOLDCO_XLSX_MAX_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
        {
            limits.max_uncompressed = bytes;
        }
        limits
    }
}

/// Why a file can't be opened as a workbook.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The file can't be read at all.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// A compound (OLE) file: what Excel writes for a password-protected workbook, or an old .xls.
    #[error("{0}: the file is encrypted (password-protected) or an old .xls workbook; holdco reads .xlsx files without a password: in Excel, File > Info > Protect Workbook > Encrypt with Password, clear the password, and save as .xlsx")]
    Encrypted(PathBuf),
    /// Not a zip at all.
    #[error("{0}: not an .xlsx workbook (an .xlsx file is a zip archive; this one does not start like one)")]
    NotAWorkbook(PathBuf),
    /// A zip that can't be read.
    #[error("{path}: corrupted .xlsx (the zip archive can't be read: {reason}); save the workbook again from Excel or LibreOffice")]
    Corrupted {
        /// The file.
        path: PathBuf,
        /// What the zip reader said.
        reason: String,
    },
    /// A zip that expands beyond the limits.
    #[error("{path}: refused: {reason} (a zip bomb, or a workbook larger than holdco accepts; HOLDCO_XLSX_MAX_BYTES raises the size limit)")]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Which limit, and by how much.
        reason: String,
    },
}

/// Checks `path` and opens it for calamine.
pub fn open(path: &Path, limits: Limits) -> Result<Xlsx<BufReader<File>>, OpenError> {
    let io = |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = File::open(path).map_err(io)?;
    let mut magic = [0u8; 8];
    let read = file.read(&mut magic).map_err(io)?;
    if read >= 8 && magic == [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1] {
        return Err(OpenError::Encrypted(path.to_path_buf()));
    }
    if read < 4 || &magic[..4] != b"PK\x03\x04" {
        return Err(OpenError::NotAWorkbook(path.to_path_buf()));
    }
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let corrupted = |reason: String| OpenError::Corrupted {
        path: path.to_path_buf(),
        reason,
    };
    let mut archive =
        zip::ZipArchive::new(BufReader::new(file)).map_err(|e| corrupted(e.to_string()))?;
    let mut total: u64 = 0;
    for index in 0..archive.len() {
        let entry = archive
            .by_index_raw(index)
            .map_err(|e| corrupted(e.to_string()))?;
        if entry.encrypted() {
            return Err(OpenError::Encrypted(path.to_path_buf()));
        }
        let size = entry.size();
        let compressed = entry.compressed_size().max(1);
        if size > 1 << 20 && size / compressed > limits.max_ratio {
            return Err(OpenError::TooLarge {
                path: path.to_path_buf(),
                reason: format!("its part {} expands {} times ({} bytes to {} bytes; at most {} times is accepted)", entry.name().unwrap_or_default(), size / compressed, compressed, size, limits.max_ratio),
            });
        }
        total = total.saturating_add(size);
    }
    if total > limits.max_uncompressed {
        return Err(OpenError::TooLarge {
            path: path.to_path_buf(),
            reason: format!(
                "it expands to {total} bytes, more than the {} accepted",
                limits.max_uncompressed
            ),
        });
    }
    // The zip reader stops any part at its declared size (and checks its checksum), so the
    // declared sizes checked above bound what calamine can inflate.
    let file = File::open(path).map_err(io)?;
    Xlsx::new(BufReader::with_capacity(1 << 16, file)).map_err(|e| corrupted(e.to_string()))
}

/// The total uncompressed size of a workbook's parts (for memory budgets in benchmarks).
pub fn uncompressed_size(path: &Path) -> std::io::Result<u64> {
    let file = File::open(path)?;
    let mut archive = zip::ZipArchive::new(BufReader::new(file)).map_err(std::io::Error::other)?;
    let mut total = 0;
    for index in 0..archive.len() {
        total += archive
            .by_index_raw(index)
            .map_err(std::io::Error::other)?
            .size();
    }
    Ok(total)
}
