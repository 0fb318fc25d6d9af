//! The live lab: runs a scenario end to end while capturing, with the kernel's own
//! records of socket states beside the inferred ones, on loopback or in two
//! namespaces joined by the userspace bridge.
//!
//! - [`run`] orchestrates one run (capture and observers first, then sockets).
//! - [`kernel`] reads the kernel: the `inet_sock_set_state` tracepoint, sock_diag, /proc.
//! - [`observers`] starts and stops the kernel sources for a run, with fallbacks.
//! - [`bridge`] the userspace link between the namespaces: impairments and the capture.
//! - [`compare`] TCP vs UDP through the same bridge at several loss levels.
//! - [`netns`] the two-namespace lab network (veth pairs for the bridge) and `lab clean`.
//! - [`expect_check`] checks a scenario's expectations against the flows (pure).
//! - [`summary`] renders what `run` prints.

pub mod bridge;
pub mod compare;
pub mod expect_check;
pub mod impair;
pub mod kernel;
pub mod netns;
pub mod observers;
pub mod run;
pub mod summary;
