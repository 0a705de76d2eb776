//! The scans for the end of a string's plain run, eight bytes at a time
//! (SWAR): the lazy index's (`"`, `\`, a control character) and the
//! writer's (those, and every byte outside printable ASCII). A byte loop
//! spent about 10 instructions a byte here, on every cookie read and write.
//!
//! Each test flags a byte in its high bit. A flag can be false only above
//! a true one (a borrow or carry moves up from a flagged byte), so the
//! lowest flag is always exact, and that is the only one used.

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Flags the bytes of `x` equal to `b`.
#[inline]
const fn equal(x: u64, b: u8) -> u64 {
    let y = x ^ (ONES * b as u64);
    y.wrapping_sub(ONES) & !y & HIGHS
}

/// Flags the bytes of `x` below `n` (`n` at most 0x80).
#[inline]
const fn below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * n as u64) & !x & HIGHS
}

/// Flags the bytes of `x` above `~` (DEL, and every byte of a char
/// beyond ASCII).
#[inline]
const fn above_tilde(x: u64) -> u64 {
    (x.wrapping_add(ONES) | x) & HIGHS
}

/// The eight bytes at `at`, if there are eight.
#[inline]
fn word(b: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = b.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// The index of the first byte at or after `at` that ends a string's run as
/// the index reads it (`"`, `\`, or a control character), or `b.len()`.
#[inline]
pub(super) fn read_stop(b: &[u8], at: usize) -> usize {
    first_stop(
        b,
        at,
        |x| equal(x, b'"') | equal(x, b'\\') | below(x, 0x20),
        |c| matches!(c, b'"' | b'\\' | 0..=0x1f),
    )
}

/// The index of the first byte at or after `at` that the writer must
/// escape (anything but printable ASCII other than `"` and `\`), or
/// `b.len()`.
#[inline]
pub(super) fn write_stop(b: &[u8], at: usize) -> usize {
    first_stop(
        b,
        at,
        |x| equal(x, b'"') | equal(x, b'\\') | below(x, 0x20) | above_tilde(x),
        |c| !(b' '..=b'~').contains(&c) || c == b'"' || c == b'\\',
    )
}

/// The first byte at or after `at` that `stops` (one byte) and `flags`
/// (eight at a time, the same bytes) pick, or `b.len()`: words while
/// eight bytes remain, then the tail byte by byte.
#[inline(always)]
fn first_stop(
    b: &[u8],
    mut at: usize,
    flags: impl Fn(u64) -> u64,
    stops: impl Fn(u8) -> bool,
) -> usize {
    while let Some(x) = word(b, at) {
        let found = flags(x);
        if found != 0 {
            return at + (found.trailing_zeros() / 8) as usize;
        }
        at += 8;
    }
    while let Some(&c) = b.get(at) {
        if stops(c) {
            return at;
        }
        at += 1;
    }
    b.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_stop_by_bytes(b: &[u8], at: usize) -> usize {
        (at..b.len())
            .find(|&i| matches!(b[i], b'"' | b'\\' | 0..=0x1f))
            .unwrap_or(b.len())
    }

    fn write_stop_by_bytes(b: &[u8], at: usize) -> usize {
        (at..b.len())
            .find(|&i| !(b' '..=b'~').contains(&b[i]) || b[i] == b'"' || b[i] == b'\\')
            .unwrap_or(b.len())
    }

    /// Both scans stop where the byte loops stop, from every start in `b`.
    fn same_stops(b: &[u8]) {
        for at in 0..=b.len() {
            assert_eq!(
                read_stop(b, at),
                read_stop_by_bytes(b, at),
                "{b:?} from {at}"
            );
            assert_eq!(
                write_stop(b, at),
                write_stop_by_bytes(b, at),
                "{b:?} from {at}"
            );
        }
    }

    /// Every byte value at every place of a 20-byte run, over every
    /// background byte a borrow or carry could come from, from every start.
    #[test]
    fn the_word_scans_stop_where_the_byte_scans_stop() {
        let backgrounds = [
            b'a', b' ', b'~', 0x00, 0x1f, 0x20, 0x7f, 0x80, 0xff, b'"', b'\\', 0x21,
        ];
        for background in backgrounds {
            for special in 0..=255u8 {
                for place in 0..20 {
                    let mut b = vec![background; 20];
                    b[place] = special;
                    same_stops(&b);
                }
            }
        }
    }

    #[test]
    fn random_bytes_stop_where_the_byte_scans_stop() {
        // A fixed xorshift: the same bytes on every run.
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..20_000 {
            let len = (next() % 40) as usize;
            // Mostly plain bytes, so that runs are long enough to matter.
            let b: Vec<u8> = (0..len)
                .map(|_| match next() % 16 {
                    0 => (next() % 256) as u8,
                    _ => b'a' + (next() % 26) as u8,
                })
                .collect();
            same_stops(&b);
        }
    }
}
