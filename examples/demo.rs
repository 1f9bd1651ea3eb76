//! Placeholder for ringbolt's demo: the driver's public API (Session, queries, paging)
//! is still under construction, so this only says so. `scripts/demo` runs it.

fn main() {
    println!(
        "ringbolt demo: the driver API (Session, query, prepare, execute) is under construction."
    );
    println!("Today the crate has the sans-IO protocol primitives only; this demo will connect to");
    println!("127.0.0.1:9042 and run real queries once the session layer lands.");
}
