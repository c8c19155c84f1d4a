//! How long a cache miss takes on this machine, by buffer size: a
//! pointer chase through a random cycle over a buffer, so each load
//! depends on the one before and nothing overlaps. It gives the floor
//! under a get that cannot batch: a random get must read its index slot
//! and then its record, two such loads in a row once the index and the
//! data outgrow the cache. The second column chases 16 places of the
//! cycle at once, as a batch of 16 gets overlaps its misses: the floor
//! under each load of a batch.
//!
//! ```sh
//! cargo run --release --example memory-latency            # 1 MB to 256 MB
//! cargo run --release --example memory-latency -- 16 152  # chosen sizes, MB
//! ```

use std::time::Instant;

/// Bytes between the addresses the chase visits: one cache line each.
const LINE: usize = 64;

/// Loads timed per size.
const STEPS: usize = 4_000_000;

/// Chases run at once in the overlapped column.
const LANES: usize = 16;

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("sizes in MB"))
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1, 4, 8, 16, 32, 64, 152, 256]
    } else {
        sizes
    };
    println!("buffer   ns per load: one at a time   {LANES} at once");
    for mb in sizes {
        let (next, starts) = cycle(mb << 20);
        println!(
            "{mb:>4} MB  {:>28.1}   {:>10.1}",
            chase(&next),
            chase_lanes(&next, starts)
        );
    }
}

/// Every cache line of a buffer of `bytes`, in a random order linked into
/// one cycle: the first word of each line is the index of the next. Also
/// `LANES` places spaced evenly round the cycle, where the lanes start.
fn cycle(bytes: usize) -> (Vec<usize>, [usize; LANES]) {
    let lines = bytes / LINE;
    let stride = LINE / std::mem::size_of::<usize>();
    // A random order of every line (Fisher-Yates on a xorshift), linked
    // into one cycle: each line holds the index of the next.
    let mut order: Vec<usize> = (0..lines).collect();
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..lines).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        order.swap(i, (x % (i as u64 + 1)) as usize);
    }
    let mut next = vec![0usize; lines * stride];
    for (i, &line) in order.iter().enumerate() {
        next[line * stride] = order[(i + 1) % lines] * stride;
    }
    let starts = std::array::from_fn(|lane| order[lane * lines / LANES] * stride);
    (next, starts)
}

/// Nanoseconds per load of one chase round `next`.
fn chase(next: &[usize]) -> f64 {
    // Up to STEPS loads to warm the TLB and the cache as far as they
    // reach, then the timed loads.
    let mut at = 0;
    for _ in 0..STEPS {
        at = next[at];
    }
    let start = Instant::now();
    for _ in 0..STEPS {
        at = next[at];
    }
    let took = start.elapsed();
    // Keeps the chase from being optimised away.
    std::hint::black_box(at);
    took.as_nanos() as f64 / STEPS as f64
}

/// Nanoseconds per load of `LANES` chases round `next` at once, from
/// `starts` (far enough apart that no lane walks lines another has just
/// brought into the cache, in a buffer larger than the cache).
fn chase_lanes(next: &[usize], starts: [usize; LANES]) -> f64 {
    let mut at = starts;
    let rounds = STEPS / LANES;
    let start = Instant::now();
    for _ in 0..rounds {
        for lane in &mut at {
            *lane = next[*lane];
        }
    }
    let took = start.elapsed();
    std::hint::black_box(at);
    took.as_nanos() as f64 / (rounds * LANES) as f64
}
