//! Real faults on the local test cluster, undone on drop even when a test fails:
//! SIGSTOP/SIGCONT (a hung node), SIGKILL + restart (a crash), and iptables DROP or
//! REJECT rules on a node's client port (silence or reset). Runs `scripts/cassandra`,
//! which finds the nodes through `RINGBOLT_CASSANDRA_DIR` like every other command.
//! Hold `harness::exclusive()` while a fault is active.

use std::process::Command;

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/cassandra")
}

fn run(args: &[&str]) {
    let out = Command::new(script())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run scripts/cassandra {args:?}: {e}"));
    assert!(
        out.status.success(),
        "scripts/cassandra {args:?} failed (is the local cluster from scripts/cassandra up \
         running, with the same RINGBOLT_CASSANDRA_DIR?): {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// An active fault; dropping it undoes the fault.
#[must_use = "the fault is undone when this guard is dropped"]
pub struct Fault {
    undo: Vec<String>,
}

impl Drop for Fault {
    fn drop(&mut self) {
        let args: Vec<&str> = self.undo.iter().map(String::as_str).collect();
        let out = Command::new(script()).args(&args).output();
        if !matches!(&out, Ok(o) if o.status.success()) {
            eprintln!("WARNING: undoing a fault failed: scripts/cassandra {args:?}: {out:?}");
        }
    }
}

fn fault(apply: &[&str], undo: &[&str]) -> Fault {
    // Arm the undo first, so a half-applied fault is still cleaned up.
    let guard = Fault {
        undo: undo.iter().map(|s| (*s).to_owned()).collect(),
    };
    run(apply);
    guard
}

/// Freezes node `n`'s JVM (SIGSTOP): connections stay open but nothing answers.
#[allow(dead_code)]
pub fn pause(n: u8) -> Fault {
    let n = n.to_string();
    fault(&["pause", &n], &["resume", &n])
}

/// Kills node `n` (SIGKILL); dropping the guard starts it again and waits for CQL.
#[allow(dead_code)]
pub fn kill(n: u8) -> Fault {
    let n = n.to_string();
    fault(&["kill", &n], &["start", &n])
}

/// Drops every packet to node `n`'s client port (silence, like a dead network).
#[allow(dead_code)]
pub fn block_drop(n: u8) -> Fault {
    let n = n.to_string();
    fault(&["block", &n, "drop"], &["unblock", &n])
}

/// Answers node `n`'s client port with TCP resets (connection refused / reset).
#[allow(dead_code)]
pub fn block_reject(n: u8) -> Fault {
    let n = n.to_string();
    fault(&["block", &n, "reject"], &["unblock", &n])
}

/// Starts node `n` again (after an explicit kill whose guard was forgotten).
#[allow(dead_code)]
pub fn start(n: u8) {
    run(&["start", &n.to_string()]);
}
