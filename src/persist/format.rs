//! The persistence file format, version 1: a header, then records, each framed with its length
//! and a CRC-32 of its body so a torn or corrupted file is found, never trusted.
//!
//! ```text
//! header  = "MQSIMDB" 0x00 | version u16 LE | kind u8 (1 snapshot, 2 log) | 0 u8 (12 bytes)
//! record  = body length u32 LE | CRC-32 of body u32 LE | body                   (8 + n bytes)
//! body    = postcard encoding of `Record`
//! snapshot = header, `Record::Image` (the broker's `Image`), `Record::End`
//! log      = header, `Record::Commit`... (the durable mode's, one per group commit)
//! ```
//!
//! Each commit has a sequence number, and a snapshot names the last commit it holds, so a log
//! left behind by a crash during compaction is replayed only from where the snapshot ends.
//!
//! A snapshot is written whole to a new file and renamed over the old one, so a crash leaves the
//! old one or the new one. Reading one checks everything and names the byte offset of the first
//! thing wrong: a file of another program or version, a record cut short, a checksum that does
//! not match, a body that does not decode, or a missing end. It never panics on any input.

use serde::{Deserialize, Serialize};

use crate::broker::Image;

pub const MAGIC: &[u8; 8] = b"MQSIMDB\0";
pub const VERSION: u16 = 1;
const HEADER_LEN: usize = 12;
const FRAME_LEN: usize = 8;
/// No record is larger (a bound against a corrupted length asking for gigabytes).
pub const MAX_RECORD: usize = 1 << 30;

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum FileKind {
    Snapshot = 1,
    Log = 2,
}

/// One record's body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Record {
    /// The broker's lasting state, the wall-clock time it was taken at, and the last log commit
    /// it holds (0: none).
    Image { saved_at_ms: u64, seq: u64, image: Image },
    /// One group commit of the durable mode's log: what changed.
    Commit { seq: u64, changes: crate::persist::delta::Changes },
    /// The last record of a snapshot: how many came before it.
    End { records: u64 },
}

/// What is wrong with a file, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at byte {offset}: {problem}")]
pub struct FormatError {
    pub offset: usize,
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("not an mqtt-sim persistence file (it does not start with {:?})", "MQSIMDB")]
    NotOurs,
    #[error("format version {0}, this build reads version {VERSION}")]
    Version(u16),
    #[error("file kind {0}, expected {1}")]
    Kind(u8, u8),
    #[error("the file ends inside a record ({0} bytes of it are missing)")]
    Truncated(usize),
    #[error("a record claims {0} bytes, more than any record has")]
    TooLarge(usize),
    #[error("the record's checksum does not match its bytes")]
    Checksum,
    #[error("the record does not decode: {0}")]
    Record(String),
    #[error("the snapshot has no end record")]
    NoEnd,
    #[error("the end record counts {0} records, {1} came before it")]
    Count(u64, u64),
    #[error("a snapshot holds one image, this one {0}")]
    Images(usize),
}

fn header(kind: FileKind) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..10].copy_from_slice(&VERSION.to_le_bytes());
    h[10] = kind as u8;
    h
}

/// Appends one framed record.
pub fn put_record(out: &mut Vec<u8>, record: &Record) {
    let body = postcard::to_stdvec(record).expect("a record always serialises");
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
}

/// A whole snapshot file.
pub fn encode_snapshot(image: &Image, saved_at_ms: u64) -> Vec<u8> {
    encode_snapshot_at(image, saved_at_ms, 0)
}

/// A whole snapshot file holding the log's commits up to `seq`.
pub fn encode_snapshot_at(image: &Image, saved_at_ms: u64, seq: u64) -> Vec<u8> {
    let mut out = header(FileKind::Snapshot).to_vec();
    // Cloning the image to wrap it costs a copy; saves are rare (mosquitto's default: every
    // 30 minutes and at exit).
    put_record(&mut out, &Record::Image { saved_at_ms, seq, image: image.clone() });
    put_record(&mut out, &Record::End { records: 1 });
    out
}

/// Checks the header of `bytes` for `kind`.
pub fn check_header(bytes: &[u8], kind: FileKind) -> Result<(), FormatError> {
    let at = |offset, problem| FormatError { offset, problem };
    if bytes.len() < 8 || &bytes[..8] != MAGIC {
        // A file too short for the magic, or with other bytes there, is not ours.
        return Err(at(0, Problem::NotOurs));
    }
    if bytes.len() < HEADER_LEN {
        return Err(at(bytes.len(), Problem::Truncated(HEADER_LEN - bytes.len())));
    }
    let version = u16::from_le_bytes([bytes[8], bytes[9]]);
    if version != VERSION {
        return Err(at(8, Problem::Version(version)));
    }
    if bytes[10] != kind as u8 {
        return Err(at(10, Problem::Kind(bytes[10], kind as u8)));
    }
    Ok(())
}

/// Reads the records after the header: each `(offset, record)`, then the first problem, if any
/// (what a log's recovery cuts back to; a snapshot refuses it).
pub fn records(bytes: &[u8]) -> (Vec<(usize, Record)>, Option<FormatError>) {
    let mut out = Vec::new();
    let mut offset = HEADER_LEN.min(bytes.len());
    while offset < bytes.len() {
        let at = |problem| FormatError { offset, problem };
        let rest = &bytes[offset..];
        if rest.len() < FRAME_LEN {
            return (out, Some(at(Problem::Truncated(FRAME_LEN - rest.len()))));
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > MAX_RECORD {
            return (out, Some(at(Problem::TooLarge(len))));
        }
        let Some(body) = rest.get(FRAME_LEN..FRAME_LEN + len) else {
            return (out, Some(at(Problem::Truncated(FRAME_LEN + len - rest.len()))));
        };
        if crc32fast::hash(body) != crc {
            return (out, Some(at(Problem::Checksum)));
        }
        match postcard::from_bytes::<Record>(body) {
            Ok(record) => out.push((offset, record)),
            Err(e) => return (out, Some(at(Problem::Record(e.to_string())))),
        }
        offset += FRAME_LEN + len;
    }
    (out, None)
}

/// An empty log file: its header.
pub fn log_header() -> Vec<u8> {
    header(FileKind::Log).to_vec()
}

/// The length of a file's header.
pub const fn header_len() -> usize {
    HEADER_LEN
}

/// Reads a whole snapshot: its image and the wall-clock time it was saved at.
pub fn decode_snapshot(bytes: &[u8]) -> Result<(Image, u64), FormatError> {
    decode_snapshot_at(bytes).map(|(image, saved_at, _)| (image, saved_at))
}

/// Reads a whole snapshot: its image, the wall-clock time it was saved at, and the last log
/// commit it holds.
pub fn decode_snapshot_at(bytes: &[u8]) -> Result<(Image, u64, u64), FormatError> {
    check_header(bytes, FileKind::Snapshot)?;
    let (records, problem) = records(bytes);
    if let Some(problem) = problem {
        return Err(problem);
    }
    let Some((end_at, Record::End { records: counted })) = records.last().cloned() else {
        return Err(FormatError { offset: bytes.len(), problem: Problem::NoEnd });
    };
    let before = records.len() as u64 - 1;
    if counted != before {
        return Err(FormatError { offset: end_at, problem: Problem::Count(counted, before) });
    }
    let mut images = records.into_iter().filter_map(|(offset, r)| match r {
        Record::Image { saved_at_ms, seq, image } => Some((offset, image, saved_at_ms, seq)),
        Record::End { .. } | Record::Commit { .. } => None,
    });
    match (images.next(), images.count()) {
        (Some((_, image, saved_at_ms, seq)), 0) => Ok((image, saved_at_ms, seq)),
        (None, _) => Err(FormatError { offset: HEADER_LEN, problem: Problem::Images(0) }),
        (Some((offset, ..)), more) => Err(FormatError { offset, problem: Problem::Images(more + 1) }),
    }
}

#[cfg(test)]
mod tests;
