//! Archive expansion on arbitrary bytes (as an archive, and wrapped in each container
//! format): never a panic, and never more than the caps: each member at most `entry_bytes`,
//! all members together at most `total_bytes`, nesting at most `depth` (member names may
//! hold `!` themselves, so depth is counted, not read from the path).
#![no_main]

use std::time::Duration;

use leakhound::source::archive::{expand, Limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        depth: 3,
        entry_bytes: 64 << 10,
        total_bytes: 256 << 10,
        entries: 64,
        time: Duration::from_secs(2),
    };
    let mut total = 0u64;
    let mut count = 0u64;
    let _ = expand(data, &limits, &mut |m| {
        assert!(m.bytes.len() as u64 <= limits.entry_bytes || m.raw);
        assert!(m.depth <= limits.depth, "{}", m.depth);
        if !m.raw {
            total += m.bytes.len() as u64;
            count += 1;
        }
    });
    assert!(total <= limits.total_bytes, "{total}");
    assert!(count <= limits.entries, "{count}");
});
