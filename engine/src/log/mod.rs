//! The durable log: an append-only sequence of entries in segment files.
//!
//! Layout on disk, in the log directory:
//!
//! * one file per segment, named after the index of its first entry
//!   (`00000000000000000001.seg`), so listing the directory orders them;
//! * a segment starts with a 24-byte header: magic `AFLOG\0\0\0`, format version
//!   (`u32` LE), reserved `u32`, index of the first entry (`u64` LE);
//! * then entries, each `length: u32 LE`, `crc32(payload): u32 LE`, `payload`.
//!
//! A write that was cut short by a crash can only damage the end of the last segment:
//! on open, an entry there that is incomplete or fails its checksum *and reaches the end
//! of the file* is a torn tail and is cut off. A bad entry followed by more data, or any
//! bad entry in an older segment, is corruption and refuses to open, because cutting
//! there would drop entries that had been acknowledged.
//!
//! This module is synchronous; [`writer`] runs it on a thread of its own and adds group
//! commit.

pub mod writer;

use std::{
    fs::{self, File, OpenOptions},
    io::{self, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

pub use writer::LogWriter;

const MAGIC: &[u8; 8] = b"AFLOG\0\0\0";
const VERSION: u32 = 1;
const HEADER_LEN: u64 = 24;
const ENTRY_HEADER_LEN: u64 = 8;
/// Largest payload accepted, so a damaged length field cannot make us allocate wildly.
pub const MAX_ENTRY_LEN: u32 = 64 * 1024 * 1024;

/// What can go wrong with the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// The file system refused an operation.
    #[error("log I/O error on {path}: {source}")]
    Io {
        /// File or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// Data that was durable no longer reads back intact.
    #[error("log corrupted in {path} at byte {offset}: {reason}")]
    Corrupt {
        /// Segment file.
        path: PathBuf,
        /// Byte offset of the damaged entry or header.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// An entry is larger than [`MAX_ENTRY_LEN`].
    #[error("log entry of {0} bytes exceeds the limit")]
    TooLarge(usize),
    /// An entry could not be encoded; nothing of it was written.
    #[error("log entry could not be encoded: {0}")]
    Encode(String),
    /// An earlier write failed; the log accepts nothing more until reopened.
    #[error("log is closed after an earlier failure")]
    Closed,
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Tuning of the log.
#[derive(Debug, Clone)]
pub struct LogOptions {
    /// A segment is closed and a new one started once it grows past this size.
    pub max_segment_bytes: u64,
}

impl Default for LogOptions {
    fn default() -> Self {
        Self {
            max_segment_bytes: 64 * 1024 * 1024,
        }
    }
}

/// An open log, positioned to append after its last intact entry.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    options: LogOptions,
    active: File,
    active_path: PathBuf,
    active_len: u64,
    active_entries: u64,
    next_index: u64,
}

impl Log {
    /// Opens (or creates) the log in `dir`, calling `replay(index, payload)` for every
    /// intact entry in order, and cuts off a torn tail.
    ///
    /// # Errors
    /// [`LogError::Corrupt`] when acknowledged data is damaged, [`LogError::Io`] on
    /// file-system failures, or whatever `replay` returns.
    pub fn open(
        dir: &Path,
        options: LogOptions,
        mut replay: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<Self, LogError> {
        fs::create_dir_all(dir).map_err(io_err(dir))?;
        let segments = list_segments(dir)?;
        let mut next_index = 1;
        let count = segments.len();
        for (i, (first, path)) in segments.iter().enumerate() {
            if *first != next_index {
                return Err(LogError::Corrupt {
                    path: path.clone(),
                    offset: 0,
                    reason: format!("segment starts at entry {first}, expected {next_index}"),
                });
            }
            let last = i + 1 == count;
            let scanned = scan_segment(path, *first, last, true, &mut replay)?;
            next_index = first + scanned.entries;
            if last {
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .open(path)
                    .map_err(io_err(path))?;
                if scanned.valid_len < scanned.file_len {
                    tracing::warn!(
                        path = %path.display(),
                        cut = scanned.file_len - scanned.valid_len,
                        "cutting off a torn tail of the log"
                    );
                    file.set_len(scanned.valid_len).map_err(io_err(path))?;
                    file.sync_all().map_err(io_err(path))?;
                }
                let mut log = Self {
                    dir: dir.to_owned(),
                    options,
                    active: file,
                    active_path: path.clone(),
                    active_len: scanned.valid_len,
                    active_entries: scanned.entries,
                    next_index,
                };
                log.active
                    .seek(SeekFrom::Start(scanned.valid_len))
                    .map_err(io_err(path))?;
                return Ok(log);
            }
        }
        let (active, active_path) = create_segment(dir, next_index)?;
        Ok(Self {
            dir: dir.to_owned(),
            options,
            active,
            active_path,
            active_len: HEADER_LEN,
            active_entries: 0,
            next_index,
        })
    }

    /// Index the next appended entry will get (entries count from 1).
    #[must_use]
    pub fn next_index(&self) -> u64 {
        self.next_index
    }

    /// Writes entries (not yet durable; see [`Log::sync`]) and returns the index of the
    /// last one.
    ///
    /// # Errors
    /// [`LogError::TooLarge`] for an oversized entry (nothing is written), or I/O errors.
    pub fn append_all<'a>(
        &mut self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<u64, LogError> {
        let mut buf = Vec::new();
        for payload in payloads {
            let len = u32::try_from(payload.len())
                .ok()
                .filter(|&l| l <= MAX_ENTRY_LEN)
                .ok_or(LogError::TooLarge(payload.len()))?;
            let entry_len = ENTRY_HEADER_LEN + u64::from(len);
            if self.active_entries > 0
                && self.active_len + buf.len() as u64 + entry_len > self.options.max_segment_bytes
            {
                self.write_buf(&buf)?;
                buf.clear();
                self.roll()?;
            }
            buf.extend_from_slice(&len.to_le_bytes());
            buf.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
            buf.extend_from_slice(payload);
            self.active_entries += 1;
            self.next_index += 1;
        }
        self.write_buf(&buf)?;
        Ok(self.next_index - 1)
    }

    fn write_buf(&mut self, buf: &[u8]) -> Result<(), LogError> {
        if buf.is_empty() {
            return Ok(());
        }
        self.active
            .write_all(buf)
            .map_err(io_err(&self.active_path))?;
        self.active_len += buf.len() as u64;
        Ok(())
    }

    /// Makes everything appended so far durable.
    ///
    /// # Errors
    /// I/O errors from `fsync`.
    pub fn sync(&mut self) -> Result<(), LogError> {
        self.active.sync_data().map_err(io_err(&self.active_path))
    }

    /// A handle on the active segment for syncing it from another thread: `fsync` through
    /// it makes everything appended so far durable (earlier segments were synced when
    /// they were closed).
    ///
    /// # Errors
    /// When the file handle cannot be duplicated.
    pub fn sync_handle(&self) -> Result<File, LogError> {
        self.active.try_clone().map_err(io_err(&self.active_path))
    }

    fn roll(&mut self) -> Result<(), LogError> {
        self.sync()?;
        let (file, path) = create_segment(&self.dir, self.next_index)?;
        self.active = file;
        self.active_path = path;
        self.active_len = HEADER_LEN;
        self.active_entries = 0;
        Ok(())
    }

    /// Reads every intact entry of the log in `dir`, starting at `from` (inclusive),
    /// without opening it for writing. Used by readers that follow the log.
    ///
    /// # Errors
    /// As [`Log::open`].
    pub fn read(
        dir: &Path,
        from: u64,
        mut visit: impl FnMut(u64, &[u8]) -> Result<(), LogError>,
    ) -> Result<(), LogError> {
        let segments = list_segments(dir)?;
        let count = segments.len();
        for (i, (first, path)) in segments.iter().enumerate() {
            let next_first = segments.get(i + 1).map(|(f, _)| *f);
            if next_first.is_some_and(|n| n <= from) {
                continue;
            }
            scan_segment(
                path,
                *first,
                i + 1 == count,
                false,
                &mut |index, payload| {
                    if index >= from {
                        visit(index, payload)
                    } else {
                        Ok(())
                    }
                },
            )?;
        }
        Ok(())
    }
}

fn segment_name(first: u64) -> String {
    format!("{first:020}.seg")
}

fn list_segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, LogError> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name();
        let Some(stem) = name.to_str().and_then(|n| n.strip_suffix(".seg")) else {
            continue;
        };
        if let Ok(first) = stem.parse::<u64>() {
            out.push((first, entry.path()));
        }
    }
    out.sort();
    Ok(out)
}

fn create_segment(dir: &Path, first: u64) -> Result<(File, PathBuf), LogError> {
    let path = dir.join(segment_name(first));
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(&path)
        .map_err(io_err(&path))?;
    let mut header = Vec::with_capacity(HEADER_LEN as usize);
    header.extend_from_slice(MAGIC);
    header.extend_from_slice(&VERSION.to_le_bytes());
    header.extend_from_slice(&0u32.to_le_bytes());
    header.extend_from_slice(&first.to_le_bytes());
    file.write_all(&header).map_err(io_err(&path))?;
    file.sync_all().map_err(io_err(&path))?;
    // The new file name must be durable too, or a crash could lose the whole segment.
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir))?;
    Ok((file, path))
}

type Visitor<'a> = dyn FnMut(u64, &[u8]) -> Result<(), LogError> + 'a;

struct Scanned {
    entries: u64,
    valid_len: u64,
    file_len: u64,
}

fn scan_segment(
    path: &Path,
    first: u64,
    last: bool,
    repair: bool,
    visit: &mut Visitor<'_>,
) -> Result<Scanned, LogError> {
    let mut bytes = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut bytes))
        .map_err(io_err(path))?;
    let file_len = bytes.len() as u64;
    let corrupt = |offset: u64, reason: String| LogError::Corrupt {
        path: path.to_owned(),
        offset,
        reason,
    };
    if bytes.len() < HEADER_LEN as usize {
        // A crash while creating the newest segment can leave its header incomplete.
        if last && !repair {
            return Ok(Scanned {
                entries: 0,
                valid_len: file_len,
                file_len,
            });
        }
        if last {
            let mut file = OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(io_err(path))?;
            let mut header = Vec::new();
            header.extend_from_slice(MAGIC);
            header.extend_from_slice(&VERSION.to_le_bytes());
            header.extend_from_slice(&0u32.to_le_bytes());
            header.extend_from_slice(&first.to_le_bytes());
            file.set_len(0).map_err(io_err(path))?;
            file.write_all(&header).map_err(io_err(path))?;
            file.sync_all().map_err(io_err(path))?;
            return Ok(Scanned {
                entries: 0,
                valid_len: HEADER_LEN,
                file_len: HEADER_LEN,
            });
        }
        return Err(corrupt(0, "segment header is incomplete".into()));
    }
    if &bytes[..8] != MAGIC {
        return Err(corrupt(0, "not a log segment (bad magic)".into()));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().unwrap_or_default());
    if version != VERSION {
        return Err(corrupt(8, format!("unsupported segment version {version}")));
    }
    let header_first = u64::from_le_bytes(bytes[16..24].try_into().unwrap_or_default());
    if header_first != first {
        return Err(corrupt(16, "header disagrees with the file name".into()));
    }
    let mut offset = HEADER_LEN as usize;
    let mut entries = 0;
    while offset < bytes.len() {
        let rest = &bytes[offset..];
        let torn = |reason: &str| -> Result<Scanned, LogError> {
            if last {
                Ok(Scanned {
                    entries,
                    valid_len: offset as u64,
                    file_len,
                })
            } else {
                Err(corrupt(offset as u64, reason.to_owned()))
            }
        };
        if rest.len() < ENTRY_HEADER_LEN as usize {
            return torn("incomplete entry header");
        }
        let len = u32::from_le_bytes(rest[0..4].try_into().unwrap_or_default());
        let crc = u32::from_le_bytes(rest[4..8].try_into().unwrap_or_default());
        let end = ENTRY_HEADER_LEN as usize + len as usize;
        if len > MAX_ENTRY_LEN || rest.len() < end {
            return torn("entry runs past the end of the segment");
        }
        let payload = &rest[ENTRY_HEADER_LEN as usize..end];
        if crc32fast::hash(payload) != crc {
            if rest.len() == end {
                return torn("checksum mismatch in the last entry");
            }
            return Err(corrupt(offset as u64, "checksum mismatch".into()));
        }
        visit(first + entries, payload)?;
        entries += 1;
        offset += end;
    }
    Ok(Scanned {
        entries,
        valid_len: offset as u64,
        file_len,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type Entries = Vec<(u64, Vec<u8>)>;

    fn collect(dir: &Path) -> Result<(Log, Entries), LogError> {
        let mut seen = Vec::new();
        let log = Log::open(dir, LogOptions::default(), |i, p| {
            seen.push((i, p.to_vec()));
            Ok(())
        })?;
        Ok((log, seen))
    }

    fn only_segment(dir: &Path) -> PathBuf {
        list_segments(dir).unwrap().remove(0).1
    }

    #[test]
    fn entries_survive_reopen_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert!(seen.is_empty());
        assert_eq!(log.append_all([&b"one"[..], b"two"]).unwrap(), 2);
        log.sync().unwrap();
        drop(log);
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"one".to_vec()), (2, b"two".to_vec())]);
        assert_eq!(log.append_all([&b"three"[..]]).unwrap(), 3);
        log.sync().unwrap();
        drop(log);
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[2], (3, b"three".to_vec()));
    }

    #[test]
    fn segments_roll_and_read_back_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let options = LogOptions {
            max_segment_bytes: 64,
        };
        let mut log = Log::open(dir.path(), options.clone(), |_, _| Ok(())).unwrap();
        for i in 0..10u8 {
            log.append_all([&[i; 20][..]]).unwrap();
        }
        log.sync().unwrap();
        drop(log);
        assert!(list_segments(dir.path()).unwrap().len() > 1);
        let mut seen = Vec::new();
        let log = Log::open(dir.path(), options, |i, p| {
            seen.push((i, p[0]));
            Ok(())
        })
        .unwrap();
        assert_eq!(log.next_index(), 11);
        assert_eq!(
            seen,
            (0..10).map(|i| (u64::from(i) + 1, i)).collect::<Vec<_>>()
        );
        let mut from_seven = Vec::new();
        Log::read(dir.path(), 7, |i, _| {
            from_seven.push(i);
            Ok(())
        })
        .unwrap();
        assert_eq!(from_seven, vec![7, 8, 9, 10]);
    }

    #[test]
    fn torn_tail_is_cut_off_and_appending_continues() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path()).unwrap();
        log.append_all([&b"kept"[..], b"torn-entry"]).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = only_segment(dir.path());
        let len = fs::metadata(&path).unwrap().len();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(len - 3)
            .unwrap();
        let (mut log, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"kept".to_vec())]);
        assert_eq!(log.append_all([&b"next"[..]]).unwrap(), 2);
        log.sync().unwrap();
        drop(log);
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"kept".to_vec()), (2, b"next".to_vec())]);
    }

    #[test]
    fn damaged_last_entry_counts_as_torn() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path()).unwrap();
        log.append_all([&b"kept"[..], b"flipped"]).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0xff;
        fs::write(&path, bytes).unwrap();
        let (_, seen) = collect(dir.path()).unwrap();
        assert_eq!(seen, vec![(1, b"kept".to_vec())]);
    }

    #[test]
    fn checksum_corruption_before_the_tail_refuses_to_open() {
        let dir = tempfile::tempdir().unwrap();
        let (mut log, _) = collect(dir.path()).unwrap();
        log.append_all([&b"first"[..], b"second"]).unwrap();
        log.sync().unwrap();
        drop(log);
        let path = only_segment(dir.path());
        let mut bytes = fs::read(&path).unwrap();
        // First payload byte of the first entry.
        bytes[(HEADER_LEN + ENTRY_HEADER_LEN) as usize] ^= 0x01;
        fs::write(&path, bytes).unwrap();
        let err = collect(dir.path()).unwrap_err();
        assert!(
            matches!(err, LogError::Corrupt { offset, .. } if offset == HEADER_LEN),
            "{err}"
        );
    }
}
