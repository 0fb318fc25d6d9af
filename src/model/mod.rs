//! Plain results that several layers share: what `run` and `compare` measured,
//! which the lab writes and the charts and reports draw.
//!
//! Pure: values only. The lab's observers (tracefs, netlink) turn what the kernel
//! said into a [`kernel::KernelRecord`], and [`kernel::compare_kernel`] puts it
//! beside the inferred states; `compare`'s measurements are a [`compare::CompareReport`].

pub mod compare;
pub mod kernel;
pub mod tcp_dynamics;
