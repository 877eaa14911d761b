//! Wire primitives shared by every packet family: the fixed header, the remaining-length
//! varint, and length-prefixed strings and binary data (spec sections 1.5 and 2.2).
//! Reading works on a `Bytes` that already holds one whole packet body, so a short field is a
//! malformed packet, never "need more bytes".

use bytes::{Buf, BufMut, Bytes, BytesMut};

use super::{DecodeError, EncodeError, PacketId, PacketType};

/// The largest remaining length four varint bytes can express (spec section 2.2.3).
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// A decoded fixed header: the first byte and the remaining length.
#[derive(Debug, Clone, Copy)]
pub struct FixedHeader {
    pub byte1: u8,
    /// Bytes taken by the fixed header itself (2 to 5).
    pub header_len: usize,
    pub remaining_len: usize,
}

impl FixedHeader {
    /// Parses a fixed header from the front of `buf` without consuming it.
    /// `Ok(None)` means the header itself is not complete yet.
    pub fn parse(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
        let Some(&byte1) = buf.first() else {
            return Ok(None);
        };
        let mut remaining_len = 0usize;
        for i in 0..4 {
            let Some(&b) = buf.get(1 + i) else {
                return Ok(None);
            };
            remaining_len |= ((b & 0x7f) as usize) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(Some(FixedHeader { byte1, header_len: 2 + i, remaining_len }));
            }
        }
        Err(DecodeError::MalformedRemainingLength)
    }
}

/// Writes a remaining length as a varint of one to four bytes.
pub fn put_remaining_length(out: &mut BytesMut, len: usize) -> Result<(), EncodeError> {
    if len > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge(len));
    }
    put_var_int(out, len as u32); // fits: MAX_REMAINING_LENGTH < u32::MAX
    Ok(())
}

/// Writes a variable byte integer (5.0 section 1.5.5) in the fewest bytes [MQTT5-1.5.5-1].
/// Values above 268,435,455 do not fit four bytes; callers check them first.
pub fn put_var_int(out: &mut BytesMut, value: u32) {
    let mut len = value as usize;
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if len == 0 {
            return;
        }
    }
}

/// How many bytes `put_remaining_length` (or `put_var_int`) writes for `len`.
pub fn remaining_length_len(len: usize) -> usize {
    match len {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// A cursor over one packet's body that turns short reads into `Truncated`.
pub struct Reader {
    body: Bytes,
    packet: PacketType,
}

impl Reader {
    pub fn new(body: Bytes, packet: PacketType) -> Reader {
        Reader { body, packet }
    }

    fn need(&self, n: usize, field: &'static str) -> Result<(), DecodeError> {
        if self.body.remaining() < n {
            return Err(DecodeError::Truncated { packet: self.packet, field });
        }
        Ok(())
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.need(1, field)?;
        Ok(self.body.get_u8())
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.need(2, field)?;
        Ok(self.body.get_u16())
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.need(4, field)?;
        Ok(self.body.get_u32())
    }

    /// A variable byte integer of one to four bytes (5.0 section 1.5.5). A fifth byte is
    /// malformed. A longer form than needed is accepted, as the remaining length's is: the
    /// minimum-bytes rule [MQTT5-1.5.5-1] binds the sender, and our encoder keeps it.
    pub fn var_int(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let mut value = 0u32;
        for i in 0..4 {
            let b = self.u8(field)?;
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::MalformedVarInt { field })
    }

    /// How many bytes are left in the body.
    pub fn remaining(&self) -> usize {
        self.body.remaining()
    }

    /// Splits off the next `len` bytes as a reader of their own (a property list, say).
    pub fn sub(&mut self, len: usize, field: &'static str) -> Result<Reader, DecodeError> {
        self.need(len, field)?;
        Ok(Reader { body: self.body.split_to(len), packet: self.packet })
    }

    pub fn packet(&self) -> PacketType {
        self.packet
    }

    /// A non-zero packet identifier [MQTT-2.3.1-1].
    pub fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        let raw = self.u16("packet identifier")?;
        PacketId::new(raw).ok_or(DecodeError::ZeroPacketId { packet: self.packet })
    }

    /// Two-byte length then that many bytes (spec section 1.5.4).
    pub fn binary(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        let len = self.u16(field)? as usize;
        self.need(len, field)?;
        Ok(self.body.split_to(len))
    }

    /// A UTF-8 encoded string (spec section 1.5.3): well formed, no surrogates
    /// [MQTT-1.5.3-1], no U+0000 [MQTT-1.5.3-2]. A BOM is kept as is [MQTT-1.5.3-3].
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let raw = self.binary(field)?;
        // `from_utf8` rejects overlong forms and encoded surrogates (U+D800..U+DFFF).
        let s = std::str::from_utf8(&raw).map_err(|_| DecodeError::InvalidUtf8 { field })?;
        if s.contains('\0') {
            return Err(DecodeError::NullCharacter { field });
        }
        Ok(s.to_owned())
    }

    pub fn is_empty(&self) -> bool {
        !self.body.has_remaining()
    }

    /// Everything left in the body, e.g. a PUBLISH payload.
    pub fn rest(&mut self) -> Bytes {
        self.body.split_to(self.body.len())
    }

    /// Fails unless the whole body was consumed.
    pub fn finish(self) -> Result<(), DecodeError> {
        match self.body.remaining() {
            0 => Ok(()),
            extra => Err(DecodeError::TrailingBytes { packet: self.packet, extra }),
        }
    }
}

/// Length of a length-prefixed field on the wire.
pub fn field_len(bytes: &[u8]) -> usize {
    2 + bytes.len()
}

/// Writes a two-byte length then the bytes.
pub fn put_binary(out: &mut BytesMut, field: &'static str, bytes: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(bytes.len()).map_err(|_| EncodeError::FieldTooLong { field, len: bytes.len() })?;
    out.put_u16(len);
    out.put_slice(bytes);
    Ok(())
}

/// Writes a string field, refusing U+0000 [MQTT-1.5.3-2]; `&str` is well-formed by construction.
pub fn put_string(out: &mut BytesMut, field: &'static str, s: &str) -> Result<(), EncodeError> {
    if s.contains('\0') {
        return Err(EncodeError::NullCharacter { field });
    }
    put_binary(out, field, s.as_bytes())
}
