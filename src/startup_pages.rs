//! `natter serve`, once started: hands back the program's own pages that only starting used.
//!
//! Owns [`hand_back`] and the choice of which mappings it may touch. Why: `natter serve` runs
//! from the same 44 MB program as the window. Starting it (arguments, the host identity, the
//! QR code, the TLS set-up) touches code and constant data all over that file, and the kernel
//! maps each touched page with its neighbours (fault-around, 64 KB): an idle host had 7.5 MB
//! of the program and 1.5 MB of libc resident, most of it never run again. Those pages are
//! clean copies of the files: letting go of them loses nothing; what the host runs later comes
//! back from the page cache on first use (a minor fault, no disk read). The pages stay in the
//! page cache, shared and reclaimable: what shrinks is this process's resident set, not a
//! private cost.
//!
//! Only mappings that are certainly unchanged copies of their file are let go of: private,
//! not writable, file-backed, and holding no page of their own (`Anonymous: 0 kB`; a page the
//! loader relocated would be lost). Linux with glibc only (elsewhere [`hand_back`] does nothing). Does not
//! touch the heap (see `io_thread`'s trim after a crowd) nor anything of the window's.

/// What [`hand_back`] let go of: mappings and their resident kB before.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct HandedBack {
    pub mappings: usize,
    pub kb: u64,
}

/// Lets go of the resident pages of every unchanged file mapping (see the module doc).
pub fn hand_back() -> HandedBack {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
            return HandedBack::default();
        };
        let mut done = HandedBack::default();
        for mapping in clean_file_mappings(&smaps) {
            // SAFETY: the range is a whole mapping of this process that holds only unchanged
            // copies of its file (see `clean_file_mappings`): MADV_DONTNEED drops them from
            // this process's page tables, and the next touch maps the same bytes again.
            let result = unsafe {
                libc::madvise(
                    mapping.start as *mut libc::c_void,
                    mapping.end - mapping.start,
                    libc::MADV_DONTNEED,
                )
            };
            if result == 0 {
                done.mappings += 1;
                done.kb += mapping.rss_kb;
            }
        }
        done
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    HandedBack::default()
}

/// One mapping of /proc/self/smaps that may be let go of.
#[derive(Debug, PartialEq, Eq)]
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
struct Mapping {
    start: usize,
    end: usize,
    rss_kb: u64,
}

/// The mappings of `smaps` (the text of /proc/PID/smaps) that are private, not writable,
/// backed by a file, resident, and hold no page of their own.
#[cfg_attr(not(all(target_os = "linux", target_env = "gnu")), allow(dead_code))]
fn clean_file_mappings(smaps: &str) -> Vec<Mapping> {
    let mut found = Vec::new();
    // The mapping being read: its range, whether it qualifies so far, and its resident kB.
    let mut current: Option<(Mapping, bool)> = None;
    let finish = |current: Option<(Mapping, bool)>, found: &mut Vec<Mapping>| {
        if let Some((mapping, true)) = current
            && mapping.rss_kb > 0
        {
            found.push(mapping);
        }
    };
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else {
            continue;
        };
        if let Some((start, end)) = first.split_once('-')
            && let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            )
        {
            // A mapping's header: range, permissions, offset, device, inode, path.
            finish(current.take(), &mut found);
            let perms = fields.next().unwrap_or("");
            let inode = fields.nth(2).unwrap_or("0");
            let path = fields.next().unwrap_or("");
            let qualifies = perms.len() == 4
                && perms.starts_with('r')
                && !perms.contains('w')
                && perms.ends_with('p')
                && inode != "0"
                && path.starts_with('/');
            current = Some((
                Mapping {
                    start,
                    end,
                    rss_kb: 0,
                },
                qualifies,
            ));
            continue;
        }
        let Some((mapping, qualifies)) = current.as_mut() else {
            continue;
        };
        let value = fields.next().and_then(|v| v.parse::<u64>().ok());
        match (first, value) {
            ("Rss:", Some(kb)) => mapping.rss_kb = kb,
            ("Anonymous:", Some(kb)) if kb > 0 => *qualifies = false,
            // A field that does not read as expected: leave the mapping alone.
            ("Rss:" | "Anonymous:", None) => *qualifies = false,
            _ => {}
        }
    }
    finish(current.take(), &mut found);
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMAPS: &str = "\
5580e06e4000-5580e14f4000 r--p 00000000 fe:00 5834749                    /opt/natter
Size:              14400 kB
Rss:                2352 kB
Anonymous:             0 kB
5580e14f4000-5580e289b000 r-xp 00e0f000 fe:00 5834749                    /opt/natter
Size:              20124 kB
Rss:                4124 kB
Anonymous:             0 kB
5580e289b000-5580e298e000 r--p 021b5000 fe:00 5834749                    /opt/natter
Size:                972 kB
Rss:                 972 kB
Anonymous:           972 kB
5580e298e000-5580e2995000 rw-p 022a7000 fe:00 5834749                    /opt/natter
Size:                 28 kB
Rss:                  24 kB
Anonymous:            24 kB
5580f5d0a000-5580f5d4d000 rw-p 00000000 00:00 0                          [heap]
Size:                268 kB
Rss:                 120 kB
Anonymous:           120 kB
7f4d8c2f8000-7f4d8c44e000 r-xp 00026000 fe:00 326279                     /usr/lib/x86_64-linux-gnu/libc.so.6
Size:               1368 kB
Rss:                1176 kB
Anonymous:             0 kB
7f4d8c4c4000-7f4d8c538000 r-xp 00010000 fe:00 326603                     /usr/lib/x86_64-linux-gnu/libm.so.6
Size:                464 kB
Rss:                   0 kB
Anonymous:             0 kB
7f4d8c5c7000-7f4d8c5c9000 r-xp 00000000 00:00 0                          [vdso]
Size:                  8 kB
Rss:                   4 kB
Anonymous:             0 kB
7f4d8c600000-7f4d8c601000 r--s 00000000 fe:00 4242                       /dev/shm/shared
Size:                  4 kB
Rss:                   4 kB
Anonymous:             0 kB
7f4d8c700000-7f4d8c701000 r--p 00000000 fe:00 4243                       /opt/odd
Size:                  4 kB
Rss:                   4 kB
Anonymous:           n/a kB
";

    #[test]
    fn only_resident_private_read_only_file_mappings_without_pages_of_their_own_are_chosen() {
        let chosen = clean_file_mappings(SMAPS);
        assert_eq!(
            chosen,
            [
                Mapping {
                    start: 0x5580e06e4000,
                    end: 0x5580e14f4000,
                    rss_kb: 2352,
                },
                Mapping {
                    start: 0x5580e14f4000,
                    end: 0x5580e289b000,
                    rss_kb: 4124,
                },
                Mapping {
                    start: 0x7f4d8c2f8000,
                    end: 0x7f4d8c44e000,
                    rss_kb: 1176,
                },
            ],
            "the relocated (anonymous) data, writable data, the heap, an empty mapping, the \
             vdso, a shared mapping and an unreadable field are all left alone"
        );
    }

    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    #[test]
    fn handing_back_leaves_the_program_running_its_code_and_reading_its_constants() {
        static TABLE: [u32; 4] = [3, 1, 4, 1];
        let before: u32 = TABLE.iter().sum();
        let done = hand_back();
        assert!(
            done.mappings > 0,
            "this test's own program has clean mappings"
        );
        let after: u32 = std::hint::black_box(&TABLE).iter().sum();
        assert_eq!(before, after);
        assert_eq!(format!("{}", 9 * 9), "81");
    }
}
