//! XCDR1 (plain CDR) primitives as ROS 2 uses them: a 4-byte encapsulation
//! header, then data aligned relative to the end of that header.

use super::CodecError;
use arrow::buffer::Buffer;

pub const HEADER_LEN: usize = 4;
const CDR_BE: [u8; 2] = [0x00, 0x00];
const CDR_LE: [u8; 2] = [0x00, 0x01];

/// Reads CDR data; every read checks bounds and fails instead of panicking.
pub struct CdrReader<'a> {
    payload: &'a [u8],
    pos: usize,
    pub little_endian: bool,
    /// The Arrow buffer `payload` lies in, when the caller hands the CDR
    /// over: large byte runs are then sliced from it instead of copied.
    source: Option<&'a Buffer>,
}

macro_rules! read_scalar {
    ($name:ident, $t:ty) => {
        pub fn $name(&mut self) -> Result<$t, CodecError> {
            const N: usize = std::mem::size_of::<$t>();
            let bytes = self.take_aligned(N, N)?;
            let array: [u8; N] = bytes.try_into().expect("length checked");
            Ok(if self.little_endian {
                <$t>::from_le_bytes(array)
            } else {
                <$t>::from_be_bytes(array)
            })
        }
    };
}

impl<'a> CdrReader<'a> {
    pub fn new(buffer: &'a [u8]) -> Result<Self, CodecError> {
        if buffer.len() < HEADER_LEN {
            return Err(CodecError::malformed(
                "",
                format!("{} bytes is too short for a CDR header", buffer.len()),
            ));
        }
        let little_endian = match [buffer[0], buffer[1]] {
            CDR_LE => true,
            CDR_BE => false,
            other => {
                return Err(CodecError::malformed(
                    "",
                    format!(
                        "unsupported CDR encapsulation {:02x} {:02x} (only plain CDR, XCDR1, is supported)",
                        other[0], other[1]
                    ),
                ));
            }
        };
        Ok(CdrReader {
            payload: &buffer[HEADER_LEN..],
            pos: 0,
            little_endian,
            source: None,
        })
    }

    /// A reader over CDR that `source` owns; see [`CdrReader::shared`].
    pub fn over_buffer(source: &'a Buffer) -> Result<Self, CodecError> {
        let mut reader = CdrReader::new(source.as_slice())?;
        reader.source = Some(source);
        Ok(reader)
    }

    /// `bytes` (returned by this reader) as a slice of the source buffer,
    /// sharing its memory; `None` when the reader has no source buffer.
    pub fn shared(&self, bytes: &[u8]) -> Option<Buffer> {
        let source = self.source?;
        let offset = (bytes.as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
        (offset + bytes.len() <= source.len())
            .then(|| source.slice_with_length(offset, bytes.len()))
    }

    pub fn remaining(&self) -> usize {
        self.payload.len() - self.pos
    }

    /// Skips padding up to `align` and returns the next `len` bytes.
    /// Nothing is aligned for zero bytes: Fast CDR writes no padding before
    /// an empty array.
    pub fn take_aligned(&mut self, len: usize, align: usize) -> Result<&'a [u8], CodecError> {
        if len == 0 {
            return Ok(&[]);
        }
        let start = self.pos.next_multiple_of(align);
        let end = start
            .checked_add(len)
            .filter(|&end| end <= self.payload.len())
            .ok_or_else(|| {
                CodecError::malformed(
                    "",
                    format!(
                        "buffer ends at byte {} but {len} more bytes are needed at byte {start}",
                        self.payload.len() + HEADER_LEN,
                        start = start + HEADER_LEN
                    ),
                )
            })?;
        self.pos = end;
        Ok(&self.payload[start..end])
    }

    read_scalar!(read_u32, u32);
    read_scalar!(read_i32, i32);
    read_scalar!(read_f64, f64);

    /// A CDR string (length with its NUL, bytes, NUL), lossily as UTF-8.
    pub fn read_string(&mut self) -> Result<String, CodecError> {
        let len = self.read_length(1)?;
        let bytes = self.take_aligned(len, 1)?;
        let text = bytes.strip_suffix(&[0]).unwrap_or(bytes);
        Ok(String::from_utf8_lossy(text).into_owned())
    }

    pub fn read_u8(&mut self) -> Result<u8, CodecError> {
        Ok(self.take_aligned(1, 1)?[0])
    }

    /// A sequence or string length, checked against what is left in the
    /// buffer so a forged length cannot trigger a huge allocation.
    pub fn read_length(&mut self, min_element_size: usize) -> Result<usize, CodecError> {
        let len = self.read_u32()? as usize;
        if len.saturating_mul(min_element_size.max(1)) > self.remaining() {
            return Err(CodecError::malformed(
                "",
                format!(
                    "length {len} at byte {} exceeds the {} bytes left in the buffer",
                    self.pos + HEADER_LEN - 4,
                    self.remaining()
                ),
            ));
        }
        Ok(len)
    }
}

/// Writes CDR with zeroed padding, so output is deterministic. The bridge
/// always writes little endian; big endian exists to test the decoder.
pub struct CdrWriter {
    buf: Vec<u8>,
    big_endian: bool,
}

impl Default for CdrWriter {
    fn default() -> Self {
        Self::with_capacity(256)
    }
}

impl CdrWriter {
    pub fn with_capacity(capacity: usize) -> Self {
        Self::reuse(Vec::with_capacity(capacity + HEADER_LEN))
    }

    /// Reuses an existing buffer's allocation.
    pub fn reuse(mut buf: Vec<u8>) -> Self {
        buf.clear();
        buf.extend_from_slice(&[CDR_LE[0], CDR_LE[1], 0, 0]);
        CdrWriter {
            buf,
            big_endian: false,
        }
    }

    pub fn big_endian() -> Self {
        CdrWriter {
            buf: vec![CDR_BE[0], CDR_BE[1], 0, 0],
            big_endian: true,
        }
    }

    /// Writes one scalar given as little-endian bytes, aligned to its size,
    /// in the writer's byte order.
    pub fn write_scalar(&mut self, le_bytes: &[u8]) {
        self.align(le_bytes.len());
        if self.big_endian {
            self.buf.extend(le_bytes.iter().rev());
        } else {
            self.buf.extend_from_slice(le_bytes);
        }
    }

    pub fn align(&mut self, align: usize) {
        let pos = self.buf.len() - HEADER_LEN;
        let padded = pos.next_multiple_of(align);
        self.buf.resize(HEADER_LEN + padded, 0);
    }

    pub fn write_bytes(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn write_u32(&mut self, value: u32) {
        self.write_scalar(&value.to_le_bytes());
    }

    /// A CDR string: length with the NUL, the bytes, the NUL.
    pub fn write_string(&mut self, text: &str) {
        self.write_u32(text.len() as u32 + 1);
        self.write_bytes(text.as_bytes());
        self.write_bytes(&[0]);
    }

    /// Room for `additional` more bytes, to avoid regrowing for bulk data.
    /// Room for `additional` more bytes plus some slack for the small
    /// fields that usually follow bulk data: without it, one more byte
    /// after a 16 MB array would regrow (and copy) the whole buffer.
    pub fn reserve(&mut self, additional: usize) {
        self.buf.reserve(additional + 256);
    }

    /// Writes bulk bytes, reserving first so the buffer grows at most once.
    pub fn write_bulk(&mut self, bytes: &[u8]) {
        if bytes.len() > 4096 {
            self.reserve(bytes.len());
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The finished message. Like Fast CDR, a payload shorter than 4 bytes
    /// is padded to 4, so every message is at least 8 bytes long.
    pub fn into_bytes(mut self) -> Vec<u8> {
        if self.buf.len() < HEADER_LEN + 4 {
            self.buf.resize(HEADER_LEN + 4, 0);
        }
        self.buf
    }
}
